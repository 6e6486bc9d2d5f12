/* Declarations shared by the resource endpoints only (users.c, groups.c,
 * resource.c, list.c, errors.c, auth.c, users_db.c, groups_db.c). The
 * contract with the other SCIM parts is scim/internal.h; nothing here changes
 * it. */
#ifndef REGAIN_SCIM_ENDPOINTS_H
#define REGAIN_SCIM_ENDPOINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/store.h"
#include "scim/internal.h"

/* Largest resource body (POST/PUT/PATCH, /.search) parsed here; bigger
 * bodies get 413 in the SCIM format. The server's own limit
 * (server.max_request_body_bytes) may be smaller, and h2o answers first. */
#define SCIM_MAX_BODY_BYTES (1024 * 1024)

/* How long a cursor (RFC 9865) stays valid. */
#define SCIM_CURSOR_TTL_S 3600

/* What differs between Users and Groups for the shared flow (resource.c). */
typedef struct {
    const scim_resource_type_t *rt;
    bool is_group;
    const store_stmt_t *doc;   /* $1 id [, $2 with_members] -> doc text */
    const store_stmt_t *write; /* -> id, version, doc text */
    const store_stmt_t *del;   /* $1 id, $2 if_version -> boolean */
} scim_kind_t;

extern const scim_kind_t SCIM_KIND_USER, SCIM_KIND_GROUP;

/* The /scim/v2/Groups route (groups.c), registered by users.c. */
void scim_groups_route(gw_route_t **route);

/* ---- statements (users_db.c, groups_db.c) --------------------------------- */

/* SELECT scim_user_doc($1::uuid)::text */
extern store_stmt_t scim_stmt_user_doc;
/* scim_user_write($1 id, $2 doc, $3 password hash, $4 if_version, true): id, version, doc */
extern store_stmt_t scim_stmt_user_write;
/* scim_users_create_many($1 items jsonb): ord, id, version, sqlstate,
 * message, one row per item in order (storage contract in internal.h). */
extern store_stmt_t scim_stmt_users_create_many;
/* SELECT scim_user_delete($1::uuid, $2 if_version) */
extern store_stmt_t scim_stmt_user_delete;
/* SELECT scim_group_doc($1::uuid, $2::boolean)::text */
extern store_stmt_t scim_stmt_group_doc;
/* scim_group_write($1 id, $2 doc, $3 if_version, $4 replace_members, true,
 * $5 doc_members): id, version, doc */
extern store_stmt_t scim_stmt_group_write;
/* Member changes and the other attributes of a PATCH in one statement (one
 * transaction): scim_group_members_change($1, $3 add, $4 remove, $5
 * remove_all, $6 if_version, $8 must), then scim_group_write($1, $2 doc, <its
 * version>, false, true, $7 doc_members): id, version, doc. */
extern store_stmt_t scim_stmt_group_patch;
/* SELECT scim_group_delete($1::uuid, $2 if_version) */
extern store_stmt_t scim_stmt_group_delete;

void scim_users_db_register(void);
void scim_groups_db_register(void);

/* ---- errors (errors.c) ------------------------------------------------------ */

/* The RFC 7644 §3.12 error document into `w`; scim_type may be NULL. */
void scim_error_write(gw_jw_t *w, int status, const char *scim_type, const char *detail);

/* An error with an explicit status and scimType (RFC 9865's invalidCursor,
 * expiredCursor have no gw_err_kind_t). */
void scim_reply_status(gw_req_t *r, int status, const char *scim_type, const char *detail);

/* ---- requests (resource.c) -------------------------------------------------- */

/* The request body as JSON (RFC 7644 §3.1, §8.1: application/scim+json or
 * application/json), strictly parsed with a size limit, in r's pool. NULL
 * after replying 400/413/415 in the SCIM format. */
yajl_val scim_body_or_reply(gw_req_t *r);

/* Everything under /scim/v2/Users or /scim/v2/Groups: `rest` is the path
 * after the endpoint ("", "/.search", "/{id}"). */
void scim_endpoint_handle(gw_req_t *r, const scim_kind_t *k, const char *rest, size_t rest_len);

/* 1 when `list` (comma-separated attribute names, NULL for none) names
 * `attr` or one of its sub-attributes, case-insensitively. */
int scim_attr_list_has(const char *list, const char *attr);

/* Rewrites meta.version of a stored document (a bare number from the
 * database) as the weak entity tag W/"n" of RFC 7644 §3.14, in place. */
void scim_doc_weak_version(yajl_val doc);

/* Whether a Group representation needs its members loaded for the
 * `attributes`/`excludedAttributes` of the request (RFC 7644 §3.9). */
bool scim_group_wants_members(const char *attributes, const char *excluded);

/* ---- lists (list.c) — RFC 7644 §3.4.2, §3.4.3, RFC 9865 --------------------- */

/* GET on a resource endpoint (search == NULL) or POST /.search with the
 * SearchRequest `search`. Replies itself. */
void scim_list_handle(gw_req_t *r, const scim_kind_t *k, yajl_val search);

/* Users in list pages (user_doc.c): scim_user_rows (schema 012) returns a
 * user's columns, and the canonical document is written here, equal to what
 * scim_user_docs builds in SQL at a fraction of the cost. */
#define SCIM_USER_ROW_FIELDS 34
typedef struct {
    int col[SCIM_USER_ROW_FIELDS];
} scim_user_row_cols_t;

/* Finds scim_user_rows' columns in `res` by name; -1 when one is missing. */
int scim_user_row_cols(const PGresult *res, scim_user_row_cols_t *c);

/* The document of row `row` as the tree gw_json_parse would make of its JSON
 * text, with meta.version already a weak entity tag (scim_doc_weak_version),
 * built without writing and parsing that text. Its nodes and strings live in
 * `pool` and go with it: never yajl_tree_free it. NULL when the row has no
 * user (deleted meanwhile); -1 with GW_E_INTERNAL when the row cannot be
 * read. */
int scim_user_row_tree(h2o_mem_pool_t *pool, const PGresult *res, int row, const scim_user_row_cols_t *c,
                       yajl_val *out, gw_err_t *err);

#endif
