/* Declarations shared by /Bulk's files only: bulk_parse.c (the BulkRequest
 * and its bulkId references as plain data: no h2o request, unit-tested and
 * fuzzed), bulk.c (the handler running the operations) and the batch entry
 * of resource.c (POST /Users operations created by one statement). */
#ifndef REGAIN_SCIM_BULK_H
#define REGAIN_SCIM_BULK_H

#include <stdbool.h>
#include <stdint.h>

#include "scim/internal.h"

#define SCIM_BULK_REF_PREFIX     "bulkId:"
#define SCIM_BULK_REF_PREFIX_LEN (sizeof(SCIM_BULK_REF_PREFIX) - 1)
#define SCIM_BULK_MAX_ID_LEN     256  /* a bulkId, and a resolved resource id */
#define SCIM_BULK_MAX_PATH_LEN   1024 /* an operation's path */

/* The largest BulkRequest body we read (bulk.c): SCIM_BULK_MAX_PAYLOAD, or
 * the server's server.max_request_body_bytes when smaller, since h2o refuses
 * a bigger body before /Bulk sees it. ServiceProviderConfig advertises this
 * as bulk.maxPayloadSize (RFC 7643 §5), so what it says holds. */
size_t scim_bulk_max_payload(void);

/* ---- the request (bulk_parse.c) — RFC 7644 §3.7 ------------------------------ */

typedef enum {
    SCIM_BULK_PENDING, /* not started */
    SCIM_BULK_STACKED, /* waiting for the POSTs it references */
    SCIM_BULK_RUNNING,
    SCIM_BULK_OK,
    SCIM_BULK_FAILED
} scim_bulk_state_t;

typedef struct {
    const char *method;     /* "POST", "PUT", "PATCH", "DELETE", or NULL when malformed */
    const char *path;       /* as sent (NULL when malformed before it was read) */
    const char *bulk_id;    /* as sent, or NULL */
    const char *version;    /* as sent (If-Match), or NULL */
    yajl_val data;          /* in the request's tree; NULL for none */
    gw_err_kind_t bad_kind; /* when method is NULL: why, in the operation's place */
    const char *bad_detail;
    /* The run (bulk.c): */
    const char *run_path; /* path with its bulkId references resolved, once it ran */
    scim_bulk_state_t state;
    bool reported; /* has an entry in the BulkResponse */
    int status;
    const char *location;
    const char *out_version;
    const char *response; /* the error body, for status >= 400 */
    size_t response_len;
    const char *id; /* the created resource's id (a POST that succeeded) */
} scim_bulk_op_t;

typedef struct {
    scim_bulk_op_t *ops;
    size_t n;
    int64_t fail_on_errors; /* 0: no limit */
    /* bulkId -> index of the POST defining it (open addressing, -1 empty). */
    long *slots;
    size_t nslots;
} scim_bulk_req_t;

/* Reads a parsed BulkRequest body into `out` (pool memory; the strings and
 * `data` stay in `body`'s tree). Request-level errors, when nothing may run:
 * invalidSyntax (schemas without the BulkRequest URN, Operations not an
 * array), GW_E_PAYLOAD_TOO_LARGE (more than SCIM_BULK_MAX_OPERATIONS; the
 * message names the limit, RFC 7644 §3.7.4), invalidValue (failOnErrors not
 * an integer >= 1, two POSTs with one bulkId). A malformed operation is no
 * error here: it is kept with method NULL and bad_kind/bad_detail, to be
 * reported in its place (RFC 7644 §3.7: the others still run). */
int scim_bulk_parse(h2o_mem_pool_t *pool, yajl_val body, scim_bulk_req_t *out, gw_err_t *err);

/* The POST defining bulkId `id` (n bytes, not NUL-terminated), or -1. */
long scim_bulk_lookup(const scim_bulk_req_t *b, const char *id, size_t n);

/* The next "bulkId:" segment of `path` at or after `from`: its start (the
 * "b"), with the length of the id after the prefix in *n; NULL when none. */
const char *scim_bulk_path_ref(const char *path, const char *from, size_t *n);

/* Whether operation `op` names any bulkId (in its path or anywhere in data). */
bool scim_bulk_has_refs(const scim_bulk_op_t *op);

typedef enum { SCIM_BULK_REFS_READY, SCIM_BULK_REFS_WAIT, SCIM_BULK_REFS_FAILED } scim_bulk_refs_t;

/* Looks at the references of operation `i` in order, from the states of the
 * POSTs they name: READY when all have succeeded; WAIT with *target set to
 * the first one still PENDING (the caller runs it first); FAILED with `err`
 * (invalidValue for a bulkId no POST defines, conflict 409 for one whose
 * POST failed or that is on the caller's stack: a cycle, RFC 7644 §3.7.1). */
scim_bulk_refs_t scim_bulk_refs(const scim_bulk_req_t *b, size_t i, size_t *target, gw_err_t *err);

/* After READY: the path with every reference replaced by the created id
 * (pool memory, or `path` itself when it has none), and the same in place in
 * `data`, whose strings are malloc'ed as yajl's tree wants them. */
const char *scim_bulk_resolve_path(h2o_mem_pool_t *pool, const scim_bulk_req_t *b, const char *path);
void scim_bulk_resolve_data(const scim_bulk_req_t *b, yajl_val data);

/* ---- POST /Users in one statement (resource.c) ------------------------------- */

/* One User to create: `body` in, the outcome out, in the shape a single
 * POST gives scim_op_execute's callback (status 201, Location, W/"n"; or the
 * error status and its RFC 7644 §3.12 body). Strings in the request's pool. */
typedef struct {
    yajl_val body;
    int status;
    const char *json; /* the error body; NULL on success */
    size_t len;
    const char *location, *version, *id;
} scim_user_create_t;

typedef void (*scim_users_create_cb)(gw_req_t *r, void *data);

/* Creates the users of `items` as n POST /Users would, one after the other:
 * each body checked by scim_resource_check (failures answered in place),
 * new passwords hashed in parallel on the worker pool, then one call of
 * scim_users_create_many for the rest, whose rows are each one user's
 * outcome (23505: 409 uniqueness; RG400: 400 invalidValue). `cb` runs once
 * every item has its outcome, only while the request lives (possibly before
 * this returns). */
void scim_users_create_batch(gw_req_t *r, scim_user_create_t *items, size_t n, scim_users_create_cb cb,
                             void *data);

#endif
