/* SQL of the Groups endpoint: one call of a schema/007_scim.sql function per
 * statement (see the storage contract in scim/internal.h). Every write asks
 * for the document (p_return_doc true): resource.c answers with it, and a
 * group's document leaves its members out unless they were just replaced or
 * the response shows them (p_doc_members). */
#include "scim/endpoints.h"

store_stmt_t scim_stmt_group_doc = {"scim_group_doc", "SELECT scim_group_doc($1::uuid, $2::boolean)::text", 2,
                                    0};

/* $5: whether the document shows the members (NULL: when $4 replaced them;
 * schema/039_scim_review_fixes.sql). */
store_stmt_t scim_stmt_group_write = {
    "scim_group_write",
    "SELECT w.id, w.version, w.doc::text "
    "FROM scim_group_write($1::uuid, $2::jsonb, $3::bigint, $4::boolean, true, $5::boolean) w",
    5, 0};

/* RFC 7644 §3.5.2: a PATCH is atomic. The member changes and the rest of the
 * document go in one statement, so one transaction: an unknown member id
 * (RG400), a version race (RG412) or a member filter that matches nobody
 * (RG4NT, RFC 7644 §3.12 noTarget) leaves the group as it was. The write
 * is conditional on the version the member change produced. */
store_stmt_t scim_stmt_group_patch = {
    "scim_group_patch",
    "SELECT w.id, w.version, w.doc::text "
    "FROM scim_group_members_change($1::uuid, $3::jsonb, $4::jsonb, $5::boolean, $6::bigint, $8::jsonb) m, "
    "LATERAL scim_group_write($1::uuid, $2::jsonb, m.version, false, true, $7::boolean) w",
    8, 0};

/* $2 as for scim_stmt_user_delete. */
store_stmt_t scim_stmt_group_delete = {"scim_group_delete", "SELECT scim_group_delete($1::uuid, $2::bigint)",
                                       2, 0};

void scim_groups_db_register(void)
{
    store_stmt_register(&scim_stmt_group_doc);
    store_stmt_register(&scim_stmt_group_write);
    store_stmt_register(&scim_stmt_group_patch);
    store_stmt_register(&scim_stmt_group_delete);
}
