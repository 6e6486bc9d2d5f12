/* POST /scim/v2/Bulk (RFC 7644 §3.7).
 *
 * The body is a BulkRequest; its operations run one at a time through
 * scim_op_execute, in request order, each waiting for the one before: a
 * later operation may name a resource an earlier POST created through its
 * `bulkId` ("bulkId:qwerty" in `path` or anywhere in `data`, RFC 7644
 * §3.7.2), and the outcome of a series of writes must not depend on timing.
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
 * BulkResponse lists what ran. The response is 200 whatever the operations
 * did; only a request we cannot read at all gets an error status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/alloc.h"
#include "scim/internal.h"

#define BULK_REF_PREFIX     "bulkId:"
#define BULK_REF_PREFIX_LEN (sizeof(BULK_REF_PREFIX) - 1)
#define BULK_MAX_ID_LEN     256  /* a bulkId, and a resolved resource id */
#define BULK_MAX_PATH_LEN   1024 /* an operation's path */

typedef enum { OP_PENDING, OP_STACKED, OP_RUNNING, OP_OK, OP_FAILED } op_state_t;

typedef struct {
    const char *method;  /* upper case, or NULL when the operation is malformed */
    const char *path;    /* as sent */
    const char *bulk_id; /* as sent, or NULL */
    const char *version; /* as sent (If-Match), or NULL */
    yajl_val data;
    gw_err_kind_t bad_kind; /* set when the operation is malformed */
    const char *bad_detail;
    op_state_t state;
    bool reported; /* has an entry in the BulkResponse */
    int status;
    const char *location;
    const char *out_version;
    const char *response; /* the error body, for status >= 400 */
    size_t response_len;
    const char *id; /* the created resource's id (POST that succeeded) */
} bulk_op_t;

typedef struct {
    gw_req_t *r;
    bulk_op_t *ops;
    size_t n;
    /* bulkId -> index of the POST defining it (open addressing, -1 empty). */
    long *slots;
    size_t nslots;
    size_t *stack;
    size_t depth;
    size_t next; /* first operation in request order not yet started */
    size_t current;
    int64_t fail_on_errors; /* 0: no limit */
    int64_t errors;
    bool in_loop;
    bool waiting;
} bulk_t;

/* ---- helpers ------------------------------------------------------------------ */

static const char *pool_strndup(bulk_t *b, const char *s, size_t n)
{
    return gw_req_strdup(b->r, s, n).base;
}

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The POST defining `id` (length n), or -1. */
static long lookup(bulk_t *b, const char *id, size_t n)
{
    if (b->nslots == 0 || n > BULK_MAX_ID_LEN)
        return -1;
    char key[BULK_MAX_ID_LEN + 1];
    memcpy(key, id, n);
    key[n] = '\0';
    for (size_t i = hash_str(key) & (b->nslots - 1);; i = (i + 1) & (b->nslots - 1)) {
        long k = b->slots[i];
        if (k < 0)
            return -1;
        if (strcmp(b->ops[k].bulk_id, key) == 0)
            return k;
    }
}

/* Adds op `k` under its bulkId; -1 when another POST already uses it. */
static int define(bulk_t *b, size_t k)
{
    const char *key = b->ops[k].bulk_id;
    for (size_t i = hash_str(key) & (b->nslots - 1);; i = (i + 1) & (b->nslots - 1)) {
        long o = b->slots[i];
        if (o < 0) {
            b->slots[i] = (long)k;
            return 0;
        }
        if (strcmp(b->ops[o].bulk_id, key) == 0)
            return -1;
    }
}

/* An error body in the RFC 7644 §3.12 shape, for an operation we fail
 * ourselves (the resource handlers write their own). */
static void op_error(bulk_t *b, size_t i, gw_err_kind_t kind, const char *detail)
{
    bulk_op_t *op = &b->ops[i];
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
    op->state = OP_FAILED;
    op->reported = true;
    b->errors++;
}

static void pop(bulk_t *b)
{
    if (b->depth > 0)
        b->depth--;
}

/* ---- bulkId references (RFC 7644 §3.7.2) --------------------------------------- */

typedef enum { REFS_READY, REFS_WAIT, REFS_FAILED } refs_t;

/* Looks at one "bulkId:x" reference of op `i`: READY when its POST has
 * succeeded, WAIT after pushing that POST, FAILED after failing op `i`. */
static refs_t check_ref(bulk_t *b, size_t i, const char *ref, size_t n)
{
    long k = lookup(b, ref, n);
    char detail[BULK_MAX_ID_LEN + 96];
    if (k < 0) {
        snprintf(detail, sizeof(detail), "no POST operation in this request has bulkId \"%.*s\"",
                 (int)(n > BULK_MAX_ID_LEN ? BULK_MAX_ID_LEN : n), ref);
        op_error(b, i, GW_E_SCIM_INVALID_VALUE, detail);
        return REFS_FAILED;
    }
    bulk_op_t *t = &b->ops[k];
    switch (t->state) {
    case OP_OK:
        return REFS_READY;
    case OP_PENDING:
        t->state = OP_STACKED;
        b->stack[b->depth++] = (size_t)k;
        return REFS_WAIT;
    case OP_FAILED:
        snprintf(detail, sizeof(detail), "bulkId \"%s\" cannot be resolved: its operation failed",
                 t->bulk_id);
        op_error(b, i, GW_E_CONFLICT, detail);
        return REFS_FAILED;
    default: /* STACKED or RUNNING: we are inside its own dependency chain */
        snprintf(detail, sizeof(detail), "circular bulkId reference through \"%s\"", t->bulk_id);
        op_error(b, i, GW_E_CONFLICT, detail);
        return REFS_FAILED;
    }
}

static bool is_ref(const char *s)
{
    return s != NULL && strncmp(s, BULK_REF_PREFIX, BULK_REF_PREFIX_LEN) == 0;
}

static refs_t check_value(bulk_t *b, size_t i, yajl_val v)
{
    if (v == NULL)
        return REFS_READY;
    if (YAJL_IS_STRING(v)) {
        if (!is_ref(v->u.string))
            return REFS_READY;
        const char *ref = v->u.string + BULK_REF_PREFIX_LEN;
        return check_ref(b, i, ref, strlen(ref));
    }
    size_t len = YAJL_IS_OBJECT(v) ? v->u.object.len : YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
    yajl_val *vals = YAJL_IS_OBJECT(v) ? v->u.object.values : YAJL_IS_ARRAY(v) ? v->u.array.values : NULL;
    for (size_t j = 0; j < len; j++) {
        refs_t rc = check_value(b, i, vals[j]);
        if (rc != REFS_READY)
            return rc;
    }
    return REFS_READY;
}

/* The next "bulkId:" segment of `path` from `from`: its start and length. */
static const char *path_ref(const char *path, const char *from, size_t *n)
{
    for (const char *p = from; (p = strstr(p, BULK_REF_PREFIX)) != NULL; p++) {
        if (p != path && p[-1] != '/')
            continue;
        const char *id = p + BULK_REF_PREFIX_LEN;
        *n = strcspn(id, "/?");
        return p;
    }
    return NULL;
}

static refs_t check_refs(bulk_t *b, size_t i)
{
    bulk_op_t *op = &b->ops[i];
    size_t n;
    for (const char *p = path_ref(op->path, op->path, &n); p != NULL;
         p = path_ref(op->path, p + BULK_REF_PREFIX_LEN + n, &n)) {
        refs_t rc = check_ref(b, i, p + BULK_REF_PREFIX_LEN, n);
        if (rc != REFS_READY)
            return rc;
    }
    return check_value(b, i, op->data);
}

/* Replaces every reference in `v` by the resource id. The tree belongs to
 * the request's pool, which frees it with yajl_tree_free: strings stay
 * malloc'ed. */
static void substitute_value(bulk_t *b, yajl_val v)
{
    if (v == NULL)
        return;
    if (YAJL_IS_STRING(v)) {
        if (is_ref(v->u.string)) {
            const char *ref = v->u.string + BULK_REF_PREFIX_LEN;
            long k = lookup(b, ref, strlen(ref));
            char *id = gw_strdup(b->ops[k].id); /* check_refs saw it resolved */
            free(v->u.string);
            v->u.string = id;
        }
        return;
    }
    size_t len = YAJL_IS_OBJECT(v) ? v->u.object.len : YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
    yajl_val *vals = YAJL_IS_OBJECT(v) ? v->u.object.values : YAJL_IS_ARRAY(v) ? v->u.array.values : NULL;
    for (size_t j = 0; j < len; j++)
        substitute_value(b, vals[j]);
}

static const char *substitute_path(bulk_t *b, const char *path)
{
    size_t n;
    const char *p = path_ref(path, path, &n);
    if (p == NULL)
        return path;
    char out[BULK_MAX_PATH_LEN + BULK_MAX_ID_LEN * 4];
    size_t len = 0;
    const char *from = path;
    for (; p != NULL; p = path_ref(path, p + BULK_REF_PREFIX_LEN + n, &n)) {
        long k = lookup(b, p + BULK_REF_PREFIX_LEN, n);
        const char *id = b->ops[k].id;
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%.*s%s", (int)(p - from), from, id);
        if (len >= sizeof(out))
            return path; /* cannot happen within the limits; the op then 404s */
        from = p + BULK_REF_PREFIX_LEN + n;
    }
    snprintf(out + len, sizeof(out) - len, "%s", from);
    return pool_strndup(b, out, strlen(out));
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
        if (slash != NULL && slash[1] != '\0' && strlen(slash + 1) <= BULK_MAX_ID_LEN)
            return pool_strndup(b, slash + 1, strlen(slash + 1));
    }
    if (json == NULL || len == 0)
        return NULL;
    gw_err_t err;
    yajl_val doc = gw_json_parse_pool(&b->r->req->pool, json, len, NULL, &err);
    const char *id = gw_json_str(doc, "id");
    return id != NULL && strlen(id) <= BULK_MAX_ID_LEN ? id : NULL;
}

static void on_op_done(gw_req_t *r, void *data, int status, const char *json, size_t len,
                       const char *location, const char *version)
{
    (void)r;
    bulk_t *b = data;
    bulk_op_t *op = &b->ops[b->current];
    if (op->version != NULL)
        set_if_match(b, NULL);
    op->status = status;
    op->reported = true;
    op->location = location ? pool_strndup(b, location, strlen(location)) : NULL;
    op->out_version = version ? pool_strndup(b, version, strlen(version)) : NULL;
    if (status >= 400) {
        op->state = OP_FAILED;
        op->response = json && len ? pool_strndup(b, json, len) : NULL;
        op->response_len = json ? len : 0;
        b->errors++;
    } else {
        op->state = OP_OK;
        if (strcmp(op->method, "POST") == 0 && op->bulk_id != NULL) {
            op->id = created_id(b, json, len, location);
            if (op->id == NULL) { /* a created resource without an id: keep references from dangling */
                op->state = OP_FAILED;
                b->errors++;
            }
        }
    }
    pop(b);
    b->waiting = false;
    drive(b);
}

/* Runs operations until one is in flight, the list is done or failOnErrors
 * is reached. Completions that arrive synchronously continue the same loop
 * (the in_loop flag), so 1,000 of them never nest 1,000 calls deep. */
static void drive(bulk_t *b)
{
    if (b->in_loop)
        return;
    b->in_loop = true;
    while (!b->waiting) {
        /* RFC 7644 §3.7.3: failOnErrors is the number of errors accepted
         * before the service provider stops and returns what it has. */
        if (b->fail_on_errors > 0 && b->errors >= b->fail_on_errors)
            break;
        if (b->depth == 0) {
            while (b->next < b->n && b->ops[b->next].state != OP_PENDING)
                b->next++;
            if (b->next == b->n)
                break;
            b->ops[b->next].state = OP_STACKED;
            b->stack[b->depth++] = b->next;
        }
        size_t i = b->stack[b->depth - 1];
        bulk_op_t *op = &b->ops[i];
        if (op->method == NULL) {
            op_error(b, i, op->bad_kind, op->bad_detail);
            pop(b);
            continue;
        }
        refs_t rc = check_refs(b, i);
        if (rc == REFS_WAIT)
            continue;
        if (rc == REFS_FAILED) {
            pop(b);
            continue;
        }
        const char *path = substitute_path(b, op->path);
        substitute_value(b, op->data);
        op->state = OP_RUNNING;
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

/* RFC 7644 §3.7: "location" is required except for a failed POST. */
static const char *op_location(bulk_t *b, bulk_op_t *op)
{
    if (op->location != NULL || op->method == NULL || strcmp(op->method, "POST") == 0 || op->path == NULL)
        return op->location;
    const char *path = op->path;
    if (path_ref(path, path, &(size_t){0}) != NULL)
        return NULL; /* an unresolved reference names no resource */
    size_t n = strlen(scim_cfg->issuer) + sizeof(SCIM_BASE) + strlen(path) + 1;
    char *loc = gw_req_alloc(b->r, n);
    snprintf(loc, n, "%s" SCIM_BASE "%s", scim_cfg->issuer, path);
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
    for (size_t i = 0; i < b->n; i++) {
        bulk_op_t *op = &b->ops[i];
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

static const char *const METHODS[] = {"POST", "PUT", "PATCH", "DELETE"};

/* Reads operation `i`; a malformed one is kept with its error, reported in
 * its place (RFC 7644 §3.7: the others still run). */
static void read_op(bulk_t *b, size_t i, yajl_val v)
{
    bulk_op_t *op = &b->ops[i];
    op->bad_kind = GW_E_SCIM_INVALID_SYNTAX;
    if (!YAJL_IS_OBJECT(v)) {
        op->bad_detail = "each operation must be an object";
        return;
    }
    yajl_val m = gw_json_find_ci(v, "method"), p = gw_json_find_ci(v, "path"),
             id = gw_json_find_ci(v, "bulkId"), ver = gw_json_find_ci(v, "version");
    op->data = gw_json_find_ci(v, "data");
    if (YAJL_IS_STRING(id) && strlen(id->u.string) > 0 && strlen(id->u.string) <= BULK_MAX_ID_LEN)
        op->bulk_id = id->u.string;
    else if (id != NULL) {
        op->bad_detail = "bulkId must be a non-empty string of at most 256 characters";
        return;
    }
    if (YAJL_IS_STRING(ver))
        op->version = ver->u.string;
    else if (ver != NULL) {
        op->bad_detail = "version must be a string";
        return;
    }
    if (!YAJL_IS_STRING(p) || p->u.string[0] != '/' || strlen(p->u.string) > BULK_MAX_PATH_LEN) {
        op->bad_detail = "path must be a string starting with \"/\" (e.g. \"/Users\" or \"/Users/{id}\")";
        return;
    }
    op->path = p->u.string;
    const char *method = NULL;
    for (size_t k = 0; YAJL_IS_STRING(m) && k < sizeof(METHODS) / sizeof(METHODS[0]); k++)
        if (strcasecmp(m->u.string, METHODS[k]) == 0)
            method = METHODS[k];
    if (method == NULL) {
        op->bad_detail = "method must be one of POST, PUT, PATCH, DELETE";
        return;
    }
    /* RFC 7644 §3.7: bulkId is REQUIRED with POST; data with POST, PUT, PATCH. */
    if (strcmp(method, "POST") == 0 && op->bulk_id == NULL) {
        op->bad_detail = "a POST operation requires a bulkId";
        return;
    }
    if (strcmp(method, "DELETE") != 0 && !YAJL_IS_OBJECT(op->data)) {
        op->bad_detail = "data must be an object for POST, PUT and PATCH";
        return;
    }
    op->method = method;
}

static void too_large(gw_req_t *r, const char *what, size_t limit)
{
    /* RFC 7644 §3.7.4: 413 and the body names the limit exceeded. */
    char detail[160];
    snprintf(detail, sizeof(detail), "The size of the bulk operation exceeds the %s (%zu).", what, limit);
    scim_reply_fail(r, GW_E_PAYLOAD_TOO_LARGE, detail);
}

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
    if (req->entity.len > SCIM_BULK_MAX_PAYLOAD) {
        too_large(r, "maxPayloadSize", SCIM_BULK_MAX_PAYLOAD);
        return;
    }
    gw_err_t err;
    gw_json_limits_t lim = {
        .max_bytes = SCIM_BULK_MAX_PAYLOAD, .require_object = true, .unique_keys_ci = true};
    yajl_val body =
        gw_json_parse_pool(&req->pool, req->entity.base ? req->entity.base : "", req->entity.len, &lim, &err);
    if (body == NULL) {
        scim_reply_error(r, &err);
        return;
    }
    yajl_val schemas = gw_json_find_ci(body, "schemas");
    bool has_urn = false;
    for (size_t i = 0; YAJL_IS_ARRAY(schemas) && i < schemas->u.array.len; i++) {
        yajl_val s = schemas->u.array.values[i];
        has_urn |= YAJL_IS_STRING(s) && strcasecmp(s->u.string, SCIM_URN_BULK_REQUEST) == 0;
    }
    if (!has_urn) {
        scim_reply_fail(r, GW_E_SCIM_INVALID_SYNTAX, "schemas must list " SCIM_URN_BULK_REQUEST);
        return;
    }
    yajl_val ops = gw_json_find_ci(body, "Operations");
    if (!YAJL_IS_ARRAY(ops)) {
        scim_reply_fail(r, GW_E_SCIM_INVALID_SYNTAX, "Operations must be an array");
        return;
    }
    if (ops->u.array.len > SCIM_BULK_MAX_OPERATIONS) {
        too_large(r, "maxOperations", SCIM_BULK_MAX_OPERATIONS);
        return;
    }
    bulk_t *b = gw_req_alloc(r, sizeof(*b));
    memset(b, 0, sizeof(*b));
    b->r = r;
    yajl_val foe = gw_json_find_ci(body, "failOnErrors");
    if (foe != NULL) {
        if (!YAJL_IS_INTEGER(foe) || YAJL_GET_INTEGER(foe) < 1) {
            scim_reply_fail(r, GW_E_SCIM_INVALID_VALUE, "failOnErrors must be an integer of at least 1");
            return;
        }
        b->fail_on_errors = YAJL_GET_INTEGER(foe);
    }
    b->n = ops->u.array.len;
    b->ops = gw_req_alloc(r, sizeof(*b->ops) * (b->n ? b->n : 1));
    memset(b->ops, 0, sizeof(*b->ops) * (b->n ? b->n : 1));
    b->stack = gw_req_alloc(r, sizeof(*b->stack) * (b->n ? b->n : 1));
    for (b->nslots = 16; b->nslots < 2 * b->n; b->nslots *= 2)
        ;
    b->slots = gw_req_alloc(r, sizeof(*b->slots) * b->nslots);
    for (size_t i = 0; i < b->nslots; i++)
        b->slots[i] = -1;
    for (size_t i = 0; i < b->n; i++) {
        read_op(b, i, ops->u.array.values[i]);
        bulk_op_t *op = &b->ops[i];
        if (op->method != NULL && strcmp(op->method, "POST") == 0 && define(b, i) != 0) {
            /* RFC 7644 §3.7: bulkId is unique within a request; a second
             * one would make every reference to it ambiguous. */
            scim_reply_fail(r, GW_E_SCIM_INVALID_VALUE, "two POST operations have the same bulkId");
            return;
        }
    }
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
