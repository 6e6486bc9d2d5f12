/* POST /scim/v2/Bulk (RFC 7644 §3.7).
 *
 * The body is a BulkRequest, read by bulk_parse.c; its operations run in
 * request order, each waiting for the one before: a later operation may
 * name a resource an earlier POST created through its `bulkId`
 * ("bulkId:qwerty" in `path` or anywhere in `data`, RFC 7644 §3.7.2), and
 * the outcome of a series of writes must not depend on timing.
 *
 * One by one, through scim_op_execute, as if each came over HTTP; except a
 * run of consecutive POST /Users operations without references, which is
 * one statement (scim_users_create_batch): one round trip and one
 * transaction's overhead for up to 1,000 users instead of 1,000 of each.
 * The run gives the same outcome as one by one: its users are created in
 * request order by that statement (a userName taken by an earlier row is
 * 23505 for the later one, as it would be), none of them names another
 * operation, and any operation naming one of them comes after the run in
 * request order (it waits for the whole run) or came before it (then it
 * already ran that POST by itself, below, and the run skips it). The run
 * stops at the first operation that is not such a POST: a DELETE between
 * two POSTs may free the userName the second one takes.
 *
 * An operation whose data references a POST further down the request runs
 * that POST first (a small explicit stack, so the loop never recurses per
 * operation). A reference back to an operation still on that stack is a
 * cycle: RFC 7644 §3.7.1 lets the service provider answer 409 for it
 * instead of creating and patching, and so do we; so does every operation
 * referencing a failed POST. A bulkId no POST in the request defines is
 * invalidValue.
 *
 * Bulk is not atomic (RFC 7644 §3.7: "continue performing as many changes
 * as possible and disregard partial failures"): each operation commits on
 * its own; `failOnErrors` N stops after the Nth failure and the
 * BulkResponse lists what ran. A run therefore never holds more operations
 * than errors are still allowed: were they all to fail, the last would be
 * the Nth, so nothing after the stopping point is ever created. The
 * response is 200 whatever the operations did; only a request we cannot
 * read at all gets an error status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/alloc.h"
#include "scim/bulk.h"

typedef struct {
    gw_req_t *r;
    scim_bulk_req_t req;
    size_t *stack;
    size_t depth;
    size_t next; /* first operation in request order not yet started */
    size_t current;
    int64_t errors;
    /* The run in flight: operations batch[0..nbatch) as items. */
    size_t *batch;
    size_t nbatch;
    scim_user_create_t *items;
    bool in_loop;
    bool waiting;
} bulk_t;

size_t scim_bulk_max_payload(void)
{
    size_t limit = SCIM_BULK_MAX_PAYLOAD;
    if (scim_cfg != NULL && scim_cfg->server.max_request_body_bytes < limit)
        limit = scim_cfg->server.max_request_body_bytes;
    return limit;
}

static const char *pool_strndup(bulk_t *b, const char *s, size_t n)
{
    return gw_req_strdup(b->r, s, n).base;
}

/* An error body in the RFC 7644 §3.12 shape, for an operation we fail
 * ourselves (the resource handlers write their own). */
static void op_error(bulk_t *b, size_t i, gw_err_kind_t kind, const char *detail)
{
    scim_bulk_op_t *op = &b->req.ops[i];
    int status = gw_err_status(kind);
    char st[8];
    snprintf(st, sizeof(st), "%d", status);
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "schemas");
    gw_jw_arr_open(w);
    gw_jw_str(w, SCIM_URN_ERROR);
    gw_jw_arr_close(w);
    gw_jw_kv_str(w, "status", st);
    const char *type = gw_err_scim_type(kind);
    if (type != NULL)
        gw_jw_kv_str(w, "scimType", type);
    gw_jw_kv_str(w, "detail", detail);
    gw_jw_obj_close(w);
    size_t len;
    const char *buf = gw_jw_buf(w, &len);
    op->status = status;
    op->response = buf ? pool_strndup(b, buf, len) : NULL;
    op->response_len = buf ? len : 0;
    gw_jw_free(w);
    op->state = SCIM_BULK_FAILED;
    op->reported = true;
    b->errors++;
}

static void pop(bulk_t *b)
{
    if (b->depth > 0)
        b->depth--;
}

/* ---- running the operations ------------------------------------------------------ */

static void reply(bulk_t *b);
static void drive(bulk_t *b);

/* The precondition of the operation's `version` travels as the If-Match
 * header scim_op_execute reads, as for a request of its own. */
static void set_if_match(bulk_t *b, const char *version)
{
    h2o_req_t *req = b->r->req;
    ssize_t i;
    while ((i = h2o_find_header(&req->headers, H2O_TOKEN_IF_MATCH, -1)) >= 0)
        h2o_delete_header(&req->headers, i);
    if (version != NULL)
        h2o_add_header(&req->pool, &req->headers, H2O_TOKEN_IF_MATCH, NULL, version, strlen(version));
}

/* The id a successful POST created: the last segment of its Location, or
 * the "id" of the resource. */
static const char *created_id(bulk_t *b, const char *json, size_t len, const char *location)
{
    if (location != NULL) {
        const char *slash = strrchr(location, '/');
        if (slash != NULL && slash[1] != '\0' && strlen(slash + 1) <= SCIM_BULK_MAX_ID_LEN)
            return pool_strndup(b, slash + 1, strlen(slash + 1));
    }
    if (json == NULL || len == 0)
        return NULL;
    gw_err_t err;
    yajl_val doc = gw_json_parse_pool(&b->r->req->pool, json, len, NULL, &err);
    const char *id = gw_json_str(doc, "id");
    return id != NULL && strlen(id) <= SCIM_BULK_MAX_ID_LEN ? id : NULL;
}

/* Records the outcome of operation `i`, from a single run or a batch. */
static void op_done(bulk_t *b, size_t i, int status, const char *json, size_t len, const char *location,
                    const char *version, const char *id)
{
    scim_bulk_op_t *op = &b->req.ops[i];
    op->status = status;
    op->reported = true;
    op->location = location ? pool_strndup(b, location, strlen(location)) : NULL;
    op->out_version = version ? pool_strndup(b, version, strlen(version)) : NULL;
    if (status >= 400) {
        op->state = SCIM_BULK_FAILED;
        op->response = json && len ? pool_strndup(b, json, len) : NULL;
        op->response_len = json ? len : 0;
        b->errors++;
        return;
    }
    op->state = SCIM_BULK_OK;
    if (strcmp(op->method, "POST") == 0 && op->bulk_id != NULL) {
        op->id = id != NULL ? pool_strndup(b, id, strlen(id)) : created_id(b, json, len, location);
        if (op->id == NULL) { /* a created resource without an id: keep references from dangling */
            op->state = SCIM_BULK_FAILED;
            b->errors++;
        }
    }
}

static void on_op_done(gw_req_t *r, void *data, int status, const char *json, size_t len,
                       const char *location, const char *version)
{
    (void)r;
    bulk_t *b = data;
    if (b->req.ops[b->current].version != NULL)
        set_if_match(b, NULL);
    op_done(b, b->current, status, json, len, location, version, NULL);
    pop(b);
    b->waiting = false;
    drive(b);
}

/* ---- runs of POST /Users ---------------------------------------------------------- */

/* A POST /Users naming no other operation: it can join a run. */
static bool batchable(const scim_bulk_op_t *op)
{
    return op->state == SCIM_BULK_PENDING && op->method != NULL && strcmp(op->method, "POST") == 0 &&
           strcasecmp(op->path, "/Users") == 0 && !scim_bulk_has_refs(op);
}

static void on_batch_done(gw_req_t *r, void *data)
{
    (void)r;
    bulk_t *b = data;
    /* In request order, so failOnErrors counts as one by one would. */
    for (size_t k = 0; k < b->nbatch; k++) {
        scim_user_create_t *it = &b->items[k];
        op_done(b, b->batch[k], it->status, it->json, it->len, it->location, it->version, it->id);
    }
    b->nbatch = 0;
    b->waiting = false;
    drive(b);
}

/* Starts the run beginning at b->next (a batchable operation): the
 * consecutive batchable operations, skipping those a forward reference has
 * already run, at most as many as errors are still allowed. */
static void run_batch(bulk_t *b)
{
    size_t limit = SCIM_BULK_MAX_OPERATIONS;
    if (b->req.fail_on_errors > 0 && (uint64_t)(b->req.fail_on_errors - b->errors) < limit)
        limit = (size_t)(b->req.fail_on_errors - b->errors);
    size_t n = 0;
    for (size_t j = b->next; j < b->req.n && n < limit; j++) {
        scim_bulk_op_t *op = &b->req.ops[j];
        if (op->state == SCIM_BULK_OK || op->state == SCIM_BULK_FAILED)
            continue;
        if (!batchable(op))
            break;
        b->batch[n] = j;
        b->items[n] = (scim_user_create_t){.body = op->data};
        op->state = SCIM_BULK_RUNNING;
        n++;
    }
    b->nbatch = n;
    b->waiting = true;
    scim_users_create_batch(b->r, b->items, n, on_batch_done, b);
}

/* Runs operations until one is in flight, the list is done or failOnErrors
 * is reached. Completions that arrive synchronously continue the same loop
 * (the in_loop flag), so 1,000 of them never nest 1,000 calls deep. */
static void drive(bulk_t *b)
{
    if (b->in_loop)
        return;
    b->in_loop = true;
    scim_bulk_op_t *ops = b->req.ops;
    while (!b->waiting) {
        /* RFC 7644 §3.7.3: failOnErrors is the number of errors accepted
         * before the service provider stops and returns what it has. */
        if (b->req.fail_on_errors > 0 && b->errors >= b->req.fail_on_errors)
            break;
        if (b->depth == 0) {
            while (b->next < b->req.n && ops[b->next].state != SCIM_BULK_PENDING)
                b->next++;
            if (b->next == b->req.n)
                break;
            if (batchable(&ops[b->next])) {
                run_batch(b);
                continue;
            }
            ops[b->next].state = SCIM_BULK_STACKED;
            b->stack[b->depth++] = b->next;
        }
        size_t i = b->stack[b->depth - 1];
        scim_bulk_op_t *op = &ops[i];
        if (op->method == NULL) {
            op_error(b, i, op->bad_kind, op->bad_detail);
            pop(b);
            continue;
        }
        size_t target = 0;
        gw_err_t err;
        scim_bulk_refs_t rc = scim_bulk_refs(&b->req, i, &target, &err);
        if (rc == SCIM_BULK_REFS_WAIT) {
            ops[target].state = SCIM_BULK_STACKED;
            b->stack[b->depth++] = target;
            continue;
        }
        if (rc == SCIM_BULK_REFS_FAILED) {
            op_error(b, i, err.kind, err.public);
            pop(b);
            continue;
        }
        const char *path = scim_bulk_resolve_path(&b->r->req->pool, &b->req, op->path);
        op->run_path = path;
        scim_bulk_resolve_data(&b->req, op->data);
        op->state = SCIM_BULK_RUNNING;
        b->current = i;
        b->waiting = true;
        if (op->version != NULL)
            set_if_match(b, op->version);
        scim_op_execute(b->r, op->method, path, strcmp(op->method, "DELETE") == 0 ? NULL : op->data,
                        on_op_done, b);
    }
    b->in_loop = false;
    if (!b->waiting)
        reply(b);
}

/* RFC 7644 §3.7: "location" is required except for a failed POST: the
 * resource's URL, from the path as it ran (its bulkId references resolved),
 * without a query. */
static const char *op_location(bulk_t *b, scim_bulk_op_t *op)
{
    if (op->location != NULL || op->method == NULL || strcmp(op->method, "POST") == 0 || op->path == NULL)
        return op->location;
    const char *path = op->run_path != NULL ? op->run_path : op->path;
    if (scim_bulk_path_ref(path, path, &(size_t){0}) != NULL)
        return NULL; /* an unresolved reference names no resource */
    int plen = (int)strcspn(path, "?");
    size_t n = strlen(scim_cfg->issuer) + sizeof(SCIM_BASE) + (size_t)plen + 1;
    char *loc = gw_req_alloc(b->r, n);
    snprintf(loc, n, "%s" SCIM_BASE "%.*s", scim_cfg->issuer, plen, path);
    return loc;
}

static void reply(bulk_t *b)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "schemas");
    gw_jw_arr_open(w);
    gw_jw_str(w, SCIM_URN_BULK_RESPONSE);
    gw_jw_arr_close(w);
    gw_jw_key(w, "Operations");
    gw_jw_arr_open(w);
    for (size_t i = 0; i < b->req.n; i++) {
        scim_bulk_op_t *op = &b->req.ops[i];
        if (!op->reported)
            continue; /* not reached before failOnErrors stopped the run */
        char st[8];
        snprintf(st, sizeof(st), "%d", op->status);
        gw_jw_obj_open(w);
        if (op->method != NULL)
            gw_jw_kv_str(w, "method", op->method);
        if (op->bulk_id != NULL)
            gw_jw_kv_str(w, "bulkId", op->bulk_id);
        if (op->out_version != NULL && op->status < 400)
            gw_jw_kv_str(w, "version", op->out_version);
        const char *loc = op_location(b, op);
        if (loc != NULL)
            gw_jw_kv_str(w, "location", loc);
        /* Status is a string in BulkResponse (RFC 7644 §3.7.3 examples). */
        gw_jw_kv_str(w, "status", st);
        /* RFC 7644 §3.7: the body is required for a non-2xx status and
         * may be left out otherwise; leaving it out keeps a response to
         * 1,000 creations small. The error bodies are our own JSON. */
        if (op->status >= 300 && op->response != NULL && op->response_len > 0)
            gw_jw_kv_raw(w, "response", op->response, op->response_len);
        gw_jw_obj_close(w);
    }
    gw_jw_arr_close(w);
    gw_jw_obj_close(w);
    size_t len;
    const char *buf = gw_jw_buf(w, &len);
    if (buf == NULL) {
        gw_err_t err;
        gw_jw_error(w, &err);
        scim_reply_error(b->r, &err);
    } else {
        scim_reply_json(b->r, 200, buf, len);
    }
    gw_jw_free(w);
}

/* ---- the request ----------------------------------------------------------------- */

static bool json_media_type(h2o_iovec_t ct)
{
    static const char *const TYPES[] = {SCIM_MEDIA_TYPE, "application/json"};
    if (ct.base == NULL)
        return true; /* curl -d without a type, say; the body decides */
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(TYPES[i]);
        if (ct.len >= n && h2o_lcstris(ct.base, n, TYPES[i], n) &&
            (ct.len == n || ct.base[n] == ';' || ct.base[n] == ' '))
            return true;
    }
    return false;
}

static void on_authorized(gw_req_t *r, bool can_write)
{
    if (!can_write) {
        scim_reply_fail(r, GW_E_INSUFFICIENT_SCOPE, "Bulk requires the scope \"scim\"");
        return;
    }
    h2o_req_t *req = r->req;
    if (!json_media_type(gw_req_header(r, "content-type"))) {
        scim_reply_fail(r, GW_E_UNSUPPORTED_MEDIA_TYPE, "the body must be application/scim+json");
        return;
    }
    size_t max_payload = scim_bulk_max_payload();
    if (req->entity.len > max_payload) {
        /* RFC 7644 §3.7.4: 413 and the body names the limit exceeded. */
        char detail[160];
        snprintf(detail, sizeof(detail), "The size of the bulk operation exceeds the maxPayloadSize (%zu).",
                 max_payload);
        scim_reply_fail(r, GW_E_PAYLOAD_TOO_LARGE, detail);
        return;
    }
    gw_err_t err;
    gw_json_limits_t lim = {.max_bytes = max_payload, .require_object = true, .unique_keys_ci = true};
    yajl_val body =
        gw_json_parse_pool(&req->pool, req->entity.base ? req->entity.base : "", req->entity.len, &lim, &err);
    if (body == NULL) {
        scim_reply_error(r, &err);
        return;
    }
    bulk_t *b = gw_req_alloc(r, sizeof(*b));
    memset(b, 0, sizeof(*b));
    b->r = r;
    if (scim_bulk_parse(&req->pool, body, &b->req, &err) != 0) {
        scim_reply_error(r, &err);
        return;
    }
    size_t n = b->req.n ? b->req.n : 1;
    b->stack = gw_req_alloc(r, sizeof(*b->stack) * n);
    b->batch = gw_req_alloc(r, sizeof(*b->batch) * n);
    b->items = gw_req_alloc(r, sizeof(*b->items) * n);
    /* A precondition on the Bulk request itself means nothing to its
     * operations, which carry their own `version`. */
    set_if_match(b, NULL);
    ssize_t h;
    while ((h = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1)) >= 0)
        h2o_delete_header(&req->headers, h);
    drive(b);
}

static void on_bulk(gw_req_t *r)
{
    scim_authorize(r, true, on_authorized);
}

static gw_route_t BULK_ROUTE = {
    .path = SCIM_BASE "/Bulk",
    .methods = GW_POST,
    .flags = GW_ROUTE_NO_STORE,
    .handler = on_bulk,
    .name = "scim bulk",
};

void scim_bulk_register(void)
{
    gw_route_register(&BULK_ROUTE);
}
