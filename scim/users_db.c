/* SQL of the Users endpoint: one call of a schema/007_scim.sql function per
 * statement (see the storage contract in scim/internal.h). Documents travel
 * as text so the C side parses them once with its own strict parser. */
#include "scim/endpoints.h"

store_stmt_t scim_stmt_user_doc = {"scim_user_doc", "SELECT scim_user_doc($1::uuid)::text", 1, 0};

/* The response of POST and PUT (and of their /Bulk operations) carries the
 * stored document: p_return_doc true. */
store_stmt_t scim_stmt_user_write = {
    "scim_user_write",
    "SELECT w.id, w.version, w.doc::text "
    "FROM scim_user_write($1::uuid, $2::jsonb, $3::text, $4::bigint, true) w",
    4, 0};

/* A run of creations in one statement; no documents (see internal.h). */
store_stmt_t scim_stmt_users_create_many = {"scim_users_create_many",
                                            "SELECT c.ord, c.id, c.version, c.sqlstate, c.message "
                                            "FROM scim_users_create_many($1::jsonb) c",
                                            1, 0};

/* $2: the version If-Match named, or NULL (RFC 9110 §13.1.1: checked in the
 * delete itself, RG412 when the user changed since). */
store_stmt_t scim_stmt_user_delete = {"scim_user_delete", "SELECT scim_user_delete($1::uuid, $2::bigint)", 2,
                                      0};

void scim_users_db_register(void)
{
    store_stmt_register(&scim_stmt_user_doc);
    store_stmt_register(&scim_stmt_user_write);
    store_stmt_register(&scim_stmt_users_create_many);
    store_stmt_register(&scim_stmt_user_delete);
}
