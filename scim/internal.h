/* Declarations shared by scim/ files only: the contract between its parts.
 *
 *   parsers   scim/filter_parse.c, scim/path_parse.c            (pure)
 *   schema    scim/schema_defs.c (the attribute tables), scim/filter_sql.c
 *             (filter -> SQL), schema/007_scim.sql (tables + SQL functions)
 *   resources scim/users.c, scim/groups.c, scim/list.c, scim/patch.c (pure),
 *             scim/resource_json.c (validation/normalisation, pure),
 *             scim/project.c (attributes/excludedAttributes, pure),
 *             scim/errors.c, scim/users_db.c, scim/groups_db.c
 *   service   scim/service.c (ServiceProviderConfig, ResourceTypes, Schemas),
 *             scim/bulk.c, scim/bulk_parse.c (pure; scim/bulk.h)
 *
 * RFC 7643 (schema), RFC 7644 (protocol), RFC 9865 (cursor pagination). */
#ifndef REGAIN_SCIM_INTERNAL_H
#define REGAIN_SCIM_INTERNAL_H

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "gateway/config.h"
#include "gateway/err.h"
#include "gateway/http.h"
#include "gateway/json.h"

#define SCIM_BASE       "/scim/v2"
#define SCIM_MEDIA_TYPE "application/scim+json"

#define SCIM_URN_USER          "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_URN_GROUP         "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_URN_ENTERPRISE    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_URN_RECOVERY      "urn:regain:scim:schemas:extension:recovery:2.0:User"
#define SCIM_URN_LIST          "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_URN_SEARCH        "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
#define SCIM_URN_PATCH         "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_URN_BULK_REQUEST  "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
#define SCIM_URN_BULK_RESPONSE "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
#define SCIM_URN_ERROR         "urn:ietf:params:scim:api:messages:2.0:Error"

/* Limits, advertised in ServiceProviderConfig. */
#define SCIM_MAX_PAGE            1000 /* filter.maxResults and the largest count */
#define SCIM_DEFAULT_PAGE        100  /* count when the client gives none */
#define SCIM_BULK_MAX_OPERATIONS 1000
#define SCIM_BULK_MAX_PAYLOAD    (4 * 1024 * 1024)
#define SCIM_MAX_FILTER_LEN      4096
/* Values of one multi-valued attribute of a User (emails, phoneNumbers,
 * roles, entitlements, ...). Directories send a handful; the bound keeps
 * every PATCH, projection and list page of a user proportionate, since each
 * walks these arrays on the event loop. A Group's members are not bounded. */
#define SCIM_USER_MAX_VALUES 1000

extern const gw_config_t *scim_cfg;

/* ---- attribute definitions (schema_defs.c) -------------------------------- */

typedef enum {
    SCIM_T_STRING,
    SCIM_T_BOOLEAN,
    SCIM_T_DECIMAL,
    SCIM_T_INTEGER,
    SCIM_T_DATETIME,
    SCIM_T_BINARY,
    SCIM_T_REFERENCE,
    SCIM_T_COMPLEX
} scim_type_t;

typedef enum {
    SCIM_MUT_READ_WRITE,
    SCIM_MUT_READ_ONLY,
    SCIM_MUT_IMMUTABLE,
    SCIM_MUT_WRITE_ONLY
} scim_mutability_t;
typedef enum { SCIM_RET_DEFAULT, SCIM_RET_ALWAYS, SCIM_RET_NEVER, SCIM_RET_REQUEST } scim_returned_t;
typedef enum { SCIM_UNIQ_NONE, SCIM_UNIQ_SERVER, SCIM_UNIQ_GLOBAL } scim_uniqueness_t;

/* How an attribute is stored, so filters and sorting become SQL:
 *   column   a column of the resource's table (u.<column> / g.<column>);
 *   child    for multi-valued attributes kept in the child table
 *            (user_values: attr = `child`, with columns value, type,
 *            "primary", display, and data jsonb for other sub-attributes);
 *   none     not filterable (e.g. password, x509 binaries): a filter on it is
 *            invalidFilter. */
typedef struct scim_attr {
    const char *name;
    scim_type_t type;
    bool multi_valued;
    bool required;
    bool case_exact;
    scim_mutability_t mutability;
    scim_returned_t returned;
    scim_uniqueness_t uniqueness;
    const char *description;
    const char *const *canonical_values; /* NULL-terminated, or NULL */
    const char *const *reference_types;  /* NULL-terminated, or NULL */
    const struct scim_attr *sub_attrs;
    size_t sub_count;
    const char *column; /* SQL expression of a single-valued stored attribute */
    const char *child;  /* user_values.attr of a multi-valued attribute */
} scim_attr_t;

typedef struct {
    const char *id; /* the schema URN */
    const char *name;
    const char *description;
    const scim_attr_t *attrs;
    size_t count;
} scim_schema_t;

typedef struct {
    const char *id;       /* "User" */
    const char *name;     /* "User" */
    const char *endpoint; /* "/Users" */
    const char *description;
    const scim_schema_t *core;
    const scim_schema_t *const *extensions; /* NULL-terminated */
    const char *table;                      /* "users u" / "groups g" */
} scim_resource_type_t;

extern const scim_schema_t SCIM_SCHEMA_USER, SCIM_SCHEMA_ENTERPRISE, SCIM_SCHEMA_RECOVERY, SCIM_SCHEMA_GROUP;
extern const scim_resource_type_t SCIM_RT_USER, SCIM_RT_GROUP;
/* Common attributes (id, externalId, meta) of every resource (RFC 7643 §3.1). */
extern const scim_attr_t SCIM_COMMON_ATTRS[];
extern const size_t SCIM_COMMON_ATTR_COUNT;

/* A resolved attribute reference. `sub` is NULL for a whole attribute. */
typedef struct {
    const scim_schema_t *schema; /* NULL for the common attributes */
    const scim_attr_t *attr;
    const scim_attr_t *sub;
} scim_attr_ref_t;

/* Resolves `uri` (may be NULL: the core schema or, failing that, an
 * extension or the common attributes), `attr` and `sub` (may be NULL)
 * case-insensitively (RFC 7643 §2.1). Returns -1 with GW_E_SCIM_INVALID_PATH
 * / GW_E_SCIM_INVALID_FILTER (per `kind`) for an unknown attribute. */
int scim_attr_resolve(const scim_resource_type_t *rt, const char *uri, const char *attr, const char *sub,
                      gw_err_kind_t kind, scim_attr_ref_t *out, gw_err_t *err);

/* ---- filters (filter_parse.c) — RFC 7644 §3.4.2.2 and its ABNF ------------- */

typedef enum {
    SCIM_CMP_EQ,
    SCIM_CMP_NE,
    SCIM_CMP_CO,
    SCIM_CMP_SW,
    SCIM_CMP_EW,
    SCIM_CMP_PR,
    SCIM_CMP_GT,
    SCIM_CMP_GE,
    SCIM_CMP_LT,
    SCIM_CMP_LE
} scim_cmp_t;

typedef enum { SCIM_V_STRING, SCIM_V_NUMBER, SCIM_V_TRUE, SCIM_V_FALSE, SCIM_V_NULL } scim_value_kind_t;

/* An attribute path as written: [uri:]attr[.sub]. */
typedef struct {
    char *uri; /* NULL when absent */
    char *attr;
    char *sub; /* NULL when absent */
} scim_attr_path_t;

typedef enum { SCIM_F_CMP, SCIM_F_AND, SCIM_F_OR, SCIM_F_NOT, SCIM_F_VALUE_PATH } scim_filter_kind_t;

typedef struct scim_filter {
    scim_filter_kind_t kind;
    /* CMP: `path` op `value` (no value for pr). VALUE_PATH: `path` (no sub)
     * and the inner filter in `left`, whose paths are sub-attributes of it:
     * emails[type eq "work" and value co "@x"]. */
    scim_attr_path_t path;
    scim_cmp_t op;
    scim_value_kind_t value_kind;
    char *value;                      /* decoded string, or the number's text; NULL otherwise */
    struct scim_filter *left, *right; /* AND/OR: both; NOT: left */
} scim_filter_t;

/* Parses a filter into pool memory. Errors: GW_E_SCIM_INVALID_FILTER with a
 * short message naming the position ("unexpected ')' at 14"). Bounded: at
 * most SCIM_MAX_FILTER_LEN bytes and a nesting depth of 32. Operators and
 * true/false/null are case-insensitive (RFC 7644 §3.4.2.2). */
int scim_filter_parse(h2o_mem_pool_t *pool, const char *s, size_t len, scim_filter_t **out, gw_err_t *err);

/* Parses a whole `[uri:]attr[.sub]` (RFC 7644 §3.4.2.2 attrPath; the URI ends
 * at the last colon) into pool strings, as used by filters, PATCH paths,
 * sortBy and attributes/excludedAttributes. Returns 0, or -1 when `s` is not
 * an attrPath (the caller picks the error kind). */
int scim_attr_path_parse(h2o_mem_pool_t *pool, const char *s, size_t len, scim_attr_path_t *out);

/* For path_parse.c: the valFilter of a value path, starting at s[*pos] just
 * after its "["; on success *pos is at the closing "]". Errors of `kind`
 * with positions counted in `s`. */
int scim_filter_parse_valfilter(h2o_mem_pool_t *pool, const char *s, size_t len, size_t *pos,
                                gw_err_kind_t kind, scim_filter_t **out, gw_err_t *err);

/* A filter as text, NUL-terminated in pool memory: scim_filter_format gives
 * SCIM syntax that parses back to the same tree (operators lower case, an
 * and/or operand in parentheses only where precedence or grouping needs
 * them); scim_filter_sexpr a canonical S-expression for
 * tests and logs: (and (eq userName "bjensen") (vp emails (pr type))), a URI
 * prefix shown as {urn:...}attr. */
char *scim_filter_format(h2o_mem_pool_t *pool, const scim_filter_t *f);
char *scim_filter_sexpr(h2o_mem_pool_t *pool, const scim_filter_t *f);

/* ---- PATCH paths (path_parse.c) — RFC 7644 §3.5.2 ------------------------------ */

/* attrPath / valuePath [ "." subAttr ]: emails[type eq "work"].value */
typedef struct {
    scim_attr_path_t path;       /* the attribute (and sub-attribute when no filter) */
    scim_filter_t *value_filter; /* NULL when there is none */
    char *filter_sub;            /* sub-attribute after the filter, or NULL */
} scim_patch_path_t;

/* Errors: GW_E_SCIM_INVALID_PATH. */
int scim_path_parse(h2o_mem_pool_t *pool, const char *s, size_t len, scim_patch_path_t *out, gw_err_t *err);
/* The same two printers for PATCH paths: (path emails (eq type "work") .value) */
char *scim_path_format(h2o_mem_pool_t *pool, const scim_patch_path_t *path);
char *scim_path_sexpr(h2o_mem_pool_t *pool, const scim_patch_path_t *path);

/* ---- filter -> SQL (filter_sql.c) --------------------------------------------- */

/* Appends n bytes of `s` to a NUL-terminated text growing in pool memory
 * (*buf, *len, *cap start NULL/0/0). Shared by the SQL builder and the
 * filter printers. */
void scim_text_append(h2o_mem_pool_t *pool, char **buf, size_t *len, size_t *cap, const char *s, size_t n);

/* A growing SQL text with its parameters ($1..$n, text format). */
typedef struct {
    h2o_mem_pool_t *pool;
    char *sql;
    size_t len, cap;
    const char *params[64];
    int nparams;
} scim_sql_t;

void scim_sql_init(scim_sql_t *q, h2o_mem_pool_t *pool);
void scim_sql_add(scim_sql_t *q, const char *text);
/* Appends "$n" for a new parameter holding `value`; -1 when there are too many. */
int scim_sql_param(scim_sql_t *q, const char *value, gw_err_t *err);

/* Appends a boolean SQL expression equivalent to `f` for resources of `rt`
 * (table alias as in rt->table). caseExact=false attributes compare without
 * regard to case; co/sw/ew escape LIKE wildcards; gt/ge/lt/le on booleans or
 * complex attributes are invalidFilter (RFC 7644 §3.4.2.2). */
int scim_filter_sql(const scim_resource_type_t *rt, const scim_filter_t *f, scim_sql_t *q, gw_err_t *err);

/* Appends the ORDER BY expression for `sortBy` (default: created, id). */
int scim_sort_sql(const scim_resource_type_t *rt, const char *sort_by, bool descending, scim_sql_t *q,
                  gw_err_t *err);

/* The key `sortBy` orders by (before the id tie-break, which a unique key
 * such as userName does not need and does not get), for keyset cursors
 * (RFC 9865): an SQL expression over the resource table's alias, without
 * parameters, into pool memory (*expr), and whether it can be NULL. 1 when
 * the key is such an expression; 0 when it is not (a multi-valued attribute
 * sorts by a subquery: cursors then carry offsets); -1 with invalidValue as
 * scim_sort_sql. */
int scim_sort_key(const scim_resource_type_t *rt, const char *sort_by, h2o_mem_pool_t *pool,
                  const char **expr, bool *nullable, gw_err_t *err);

/* Orders whose row counts are kept per range of sort keys
 * (schema/018_scim_user_ranks.sql), so a startIndex page finds its place
 * without walking the rows before it: the default order (meta.created, id)
 * and userName, of Users. Any other sort key pages with OFFSET. */
typedef enum { SCIM_RANK_NONE, SCIM_RANK_CREATED, SCIM_RANK_USER_NAME } scim_rank_t;

/* The kept order that `sortBy` (NULL: the default order) sorts in, or
 * SCIM_RANK_NONE (also for a sortBy that is not valid: scim_sort_sql says why). */
scim_rank_t scim_sort_rank(const scim_resource_type_t *rt, const char *sort_by, h2o_mem_pool_t *pool);

/* ---- resources as JSON (resource_json.c, patch.c, project.c; all pure) ------- */

typedef enum { SCIM_WRITE_CREATE, SCIM_WRITE_REPLACE } scim_write_mode_t;

/* Whether `s` is an xsd:dateTime naming an instant (RFC 7643 §2.3.5): the
 * shape, and a month, day, time and zone offset that exist. For values of
 * resources and of filters alike. */
bool scim_datetime_ok(const char *s);

/* Checks a client's resource document against `rt`'s schemas and produces
 * the canonical document the database stores (see schema/007_scim.sql): only
 * known attributes (unknown → invalidSyntax... per RFC 7644 §3.12 "invalidValue"
 * or "invalidSyntax" as fits), types checked, read-only attributes ignored
 * (RFC 7644 §3.5.1: ignored, not an error, on PUT; id/meta dropped), immutable
 * ones compared with `existing` (mutability error when changed), required ones
 * present, canonical attribute-name case, and the leniency real provisioning
 * clients need (booleans as "True"/"False" strings, Entra ID's and Okta's
 * documented shapes). `password` is taken out into *password (NULL when
 * absent) and never stored in the document. Returns a tree the caller frees
 * with yajl_tree_free. */
int scim_resource_check(const scim_resource_type_t *rt, yajl_val in, scim_write_mode_t mode,
                        yajl_val existing, yajl_val *out, char **password, gw_err_t *err);

/* Applies a PatchOp request (RFC 7644 §3.5.2: add/replace/remove, op names
 * case-insensitive, with and without path, value paths, sub-attributes) to
 * the canonical document `doc`, giving a new document to pass through
 * scim_resource_check(..., SCIM_WRITE_REPLACE, doc, ...). Errors: noTarget,
 * invalidPath, invalidValue, mutability, invalidSyntax. For Groups the
 * members of a large group are not in `doc`: `members_ops` (may be NULL)
 * receives the member additions/removals instead, to apply incrementally. */
typedef struct {
    yajl_val add;    /* JSON array of {"value", "type"} to add, or NULL */
    yajl_val remove; /* JSON array of {"value"} to remove, or NULL */
    bool remove_all; /* remove every member first */
    /* RFC 7644 §3.12 noTarget: JSON array of arrays of ids, or NULL; of
     * each array at least one id must be a member before the PATCH (the
     * ids a members[value eq ...] filter named whose membership the
     * operations before it do not decide). */
    yajl_val must;
} scim_members_ops_t;
int scim_patch_apply(const scim_resource_type_t *rt, yajl_val doc, yajl_val patch, yajl_val *out,
                     char **password, scim_members_ops_t *members_ops, gw_err_t *err);

/* Writes `doc` as the response representation: `attributes` or
 * `excludedAttributes` (comma-separated, RFC 7644 §3.9; NULL for none),
 * returned=never dropped, returned=request only when asked, meta.location
 * set from `base_url`. */
int scim_project(const scim_resource_type_t *rt, yajl_val doc, const char *attributes,
                 const char *excluded_attributes, const char *base_url, gw_jw_t *w, gw_err_t *err);

/* Checks a request's `attributes` / `excludedAttributes` (either NULL) once,
 * before scim_project reads them for each resource: both given (RFC 7644
 * §3.9: mutually exclusive), or more than 256 names or 64 kB in one, is
 * invalidValue. */
int scim_project_lists_check(const char *attributes, const char *excluded_attributes, gw_err_t *err);

/* ---- storage contract (schema/007_scim.sql) -----------------------------------
 *
 * Users live in `users` (issue 3's table, extended) and a child table
 * `user_values` for multi-valued attributes; groups in `groups` and
 * `group_members`. The C side speaks to them through SQL functions, one
 * round trip per operation:
 *   scim_user_doc(id uuid) -> jsonb        canonical document incl. meta
 *                                           (created, lastModified, version,
 *                                           resourceType; no location) and
 *                                           groups; never password.
 *   scim_user_write(id uuid, doc jsonb, password_hash text, if_version bigint,
 *                   return_doc boolean DEFAULT true)
 *        -> TABLE(id uuid, version bigint, doc jsonb)
 *        id NULL creates; otherwise replaces every writable attribute.
 *        doc is the stored document when return_doc, else NULL (building
 *        it costs about half of a write: ask only when a response shows it).
 *        if_version not NULL and different: SQLSTATE 'RG412'. userName
 *        taken (case-insensitively): 23505. Setting active false ends the
 *        user's sessions and revokes their refresh tokens.
 *   scim_user_delete(id uuid, if_version bigint DEFAULT NULL) -> boolean
 *        credentials, sessions, tokens and memberships go with the user.
 *        if_version not NULL and different: SQLSTATE 'RG412', nothing
 *        deleted.
 *   scim_group_doc(id uuid, with_members boolean) -> jsonb
 *   scim_group_write(id uuid, doc jsonb, if_version bigint, replace_members boolean,
 *                    return_doc boolean DEFAULT true, doc_members boolean DEFAULT NULL)
 *        -> TABLE(id uuid, version bigint, doc jsonb)   (members from doc
 *        when replace_members; unknown member ids: SQLSTATE 'RG400'; doc
 *        NULL unless return_doc; members in doc when doc_members, NULL:
 *        when replace_members)
 *   scim_group_members_change(id uuid, add jsonb, remove jsonb, remove_all boolean,
 *                             if_version bigint, must jsonb DEFAULT NULL)
 *        -> TABLE(version bigint)   (must: scim_members_ops_t's; a list
 *        of it without a member: SQLSTATE 'RG4NT', nothing changed)
 *   scim_group_delete(id uuid, if_version bigint DEFAULT NULL) -> boolean
 *        (RG412 as scim_user_delete)
 * Listing is a SELECT built by filter_sql.c/list.c over `users u` /
 * `groups g`: the page's ids first (one row past the page says whether more
 * follow), then the users' columns together from scim_user_rows(ids uuid[])
 * (schema/012_scim_user_rows.sql, in the order given; user_doc.c writes the
 * documents scim_user_docs would) or scim_group_doc per row (groups);
 * totalResults from the page itself on the last page, from scim_counts for
 * unfiltered lists, or from a separate filtered count(*).
 *
 * Appended for the write and read paths at a million users:
 *   scim_users_create_many(items jsonb)
 *        -> TABLE(ord integer, id uuid, version bigint, sqlstate text, message text)
 *        items: a JSON array of {"doc": <canonical user document>,
 *        "password_hash": text or null}. Creates each as
 *        scim_user_write(NULL, doc, password_hash, NULL, false) would, in one
 *        statement (about 0.06 ms a user in batches of 1,000). One row per
 *        item, in order, ord from 1: id and version, or sqlstate 'RG400'
 *        (message from the schema checks, safe to show) or '23505' (userName
 *        taken, also by an earlier item of the same call); a failing item
 *        leaves the others alone. Any other sqlstate (message NULL) is a
 *        fault of ours. Raises RG400 only when items is not an array.
 *   scim_counts(resource text 'User'|'Group', n bigint)   the exact number of
 *        rows of users / groups, kept by statement triggers: totalResults of
 *        an unfiltered list without counting a million rows.
 * list.c no longer uses count(*) OVER (): a page of fewer rows than asked
 * for gives its total from the offset; otherwise unfiltered lists read
 * scim_counts in the page query and filtered ones run a separate count(*)
 * over the filter (indexed). Cursors (RFC 9865) carry the last row's sort
 * key and id, so a cursor page is an index range scan (keyset), not an
 * OFFSET. */

/* ---- errors (errors.c) — RFC 7644 §3.12 --------------------------------------- */

/* {"schemas":[Error URN], "status":"400", "scimType":..., "detail":...} with
 * Content-Type application/scim+json; logs 5xx details. */
void scim_reply_error(gw_req_t *r, const gw_err_t *err);
void scim_reply_fail(gw_req_t *r, gw_err_kind_t kind, const char *detail);

/* A SCIM resource or list body with the SCIM media type. */
void scim_reply_json(gw_req_t *r, int status, const char *json, size_t len);

/* ---- access (auth.c) ---------------------------------------------------------- */

/* Bearer token with scope `scim` (or `scim.read` for reads); replies 401/403
 * in the SCIM error format otherwise. */
typedef void (*scim_auth_cb)(gw_req_t *r, bool can_write);
void scim_authorize(gw_req_t *r, bool write, scim_auth_cb cb);

/* ---- operations without HTTP (for /Bulk) ------------------------------------- */

/* One SCIM operation on a resource endpoint, as if it arrived over HTTP:
 * method "POST|PUT|PATCH|DELETE", path "/Users" or "/Users/{id}", an
 * optional JSON body (already parsed; bulkId references resolved by the
 * caller). The callback gets the HTTP status, the resource JSON (or the
 * error JSON) and the Location/version for BulkResponse. */
typedef void (*scim_op_cb)(gw_req_t *r, void *data, int status, const char *json, size_t len,
                           const char *location, const char *version);
void scim_op_execute(gw_req_t *r, const char *method, const char *path, yajl_val body, scim_op_cb cb,
                     void *data);

/* ---- registration ------------------------------------------------------------- */

void scim_service_register(void);      /* ServiceProviderConfig, ResourceTypes, Schemas */
void scim_resources_register(void);    /* Users, Groups, /.search */
void scim_bulk_register(void);         /* /Bulk */
void scim_service_register_last(void); /* everything else under /scim/v2 (SCIM errors) */

#endif
