/* A BulkRequest (RFC 7644 §3.7) read into plain data, and the bulkId
 * references between its operations (§3.7.2) found, checked and replaced:
 * everything of /Bulk that needs no HTTP request and no database, so it is
 * unit-tested (tests/unit/scim_bulk_parse.c) and fuzzed
 * (tests/fuzz/scim_bulk.c). bulk.c runs the operations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/alloc.h"
#include "scim/bulk.h"

static size_t hash_str(const char *s, size_t n)
{
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

long scim_bulk_lookup(const scim_bulk_req_t *b, const char *id, size_t n)
{
    if (b->nslots == 0 || n > SCIM_BULK_MAX_ID_LEN)
        return -1;
    for (size_t i = hash_str(id, n) & (b->nslots - 1);; i = (i + 1) & (b->nslots - 1)) {
        long k = b->slots[i];
        if (k < 0)
            return -1;
        const char *key = b->ops[k].bulk_id;
        if (strncmp(key, id, n) == 0 && key[n] == '\0')
            return k;
    }
}

/* Adds op `k` under its bulkId; -1 when another POST already uses it. */
static int define(scim_bulk_req_t *b, size_t k)
{
    const char *key = b->ops[k].bulk_id;
    for (size_t i = hash_str(key, strlen(key)) & (b->nslots - 1);; i = (i + 1) & (b->nslots - 1)) {
        long o = b->slots[i];
        if (o < 0) {
            b->slots[i] = (long)k;
            return 0;
        }
        if (strcmp(b->ops[o].bulk_id, key) == 0)
            return -1;
    }
}

/* ---- reading ------------------------------------------------------------------ */

static const char *const METHODS[] = {"POST", "PUT", "PATCH", "DELETE"};

/* Reads operation `op` from `v`; a malformed one keeps method NULL. */
static void read_op(scim_bulk_op_t *op, yajl_val v)
{
    op->bad_kind = GW_E_SCIM_INVALID_SYNTAX;
    if (!YAJL_IS_OBJECT(v)) {
        op->bad_detail = "each operation must be an object";
        return;
    }
    yajl_val m = gw_json_find_ci(v, "method"), p = gw_json_find_ci(v, "path"),
             id = gw_json_find_ci(v, "bulkId"), ver = gw_json_find_ci(v, "version");
    op->data = gw_json_find_ci(v, "data");
    if (YAJL_IS_STRING(id) && strlen(id->u.string) > 0 && strlen(id->u.string) <= SCIM_BULK_MAX_ID_LEN)
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
    if (!YAJL_IS_STRING(p) || p->u.string[0] != '/' || strlen(p->u.string) > SCIM_BULK_MAX_PATH_LEN) {
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

int scim_bulk_parse(h2o_mem_pool_t *pool, yajl_val body, scim_bulk_req_t *out, gw_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (!YAJL_IS_OBJECT(body))
        return GW_ERR(err, GW_E_SCIM_INVALID_SYNTAX, "a BulkRequest must be a JSON object");
    yajl_val schemas = gw_json_find_ci(body, "schemas");
    bool has_urn = false;
    for (size_t i = 0; YAJL_IS_ARRAY(schemas) && i < schemas->u.array.len; i++) {
        yajl_val s = schemas->u.array.values[i];
        has_urn |= YAJL_IS_STRING(s) && strcasecmp(s->u.string, SCIM_URN_BULK_REQUEST) == 0;
    }
    if (!has_urn)
        return GW_ERR(err, GW_E_SCIM_INVALID_SYNTAX, "schemas must list " SCIM_URN_BULK_REQUEST);
    yajl_val ops = gw_json_find_ci(body, "Operations");
    if (!YAJL_IS_ARRAY(ops))
        return GW_ERR(err, GW_E_SCIM_INVALID_SYNTAX, "Operations must be an array");
    /* RFC 7644 §3.7.4: 413 and the body names the limit exceeded. */
    if (ops->u.array.len > SCIM_BULK_MAX_OPERATIONS)
        return GW_ERRF(err, GW_E_PAYLOAD_TOO_LARGE,
                       "The size of the bulk operation exceeds the maxOperations (%d).",
                       SCIM_BULK_MAX_OPERATIONS);
    yajl_val foe = gw_json_find_ci(body, "failOnErrors");
    if (foe != NULL) {
        /* RFC 7644 §3.7.3: the number of errors accepted before stopping. */
        if (!YAJL_IS_INTEGER(foe) || YAJL_GET_INTEGER(foe) < 1)
            return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "failOnErrors must be an integer of at least 1");
        out->fail_on_errors = YAJL_GET_INTEGER(foe);
    }
    size_t n = ops->u.array.len;
    out->n = n;
    out->ops = h2o_mem_alloc_pool(pool, sizeof(*out->ops) * (n ? n : 1));
    memset(out->ops, 0, sizeof(*out->ops) * (n ? n : 1));
    for (out->nslots = 16; out->nslots < 2 * n; out->nslots *= 2)
        ;
    out->slots = h2o_mem_alloc_pool(pool, sizeof(*out->slots) * out->nslots);
    for (size_t i = 0; i < out->nslots; i++)
        out->slots[i] = -1;
    for (size_t i = 0; i < n; i++) {
        scim_bulk_op_t *op = &out->ops[i];
        read_op(op, ops->u.array.values[i]);
        /* RFC 7644 §3.7: bulkId is unique within a request; a second one
         * would make every reference to it ambiguous. */
        if (op->method != NULL && strcmp(op->method, "POST") == 0 && define(out, i) != 0)
            return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "two POST operations have the same bulkId");
    }
    return 0;
}

/* ---- references (RFC 7644 §3.7.2) ------------------------------------------------ */

static bool is_ref(const char *s)
{
    return s != NULL && strncmp(s, SCIM_BULK_REF_PREFIX, SCIM_BULK_REF_PREFIX_LEN) == 0;
}

const char *scim_bulk_path_ref(const char *path, const char *from, size_t *n)
{
    for (const char *p = from; (p = strstr(p, SCIM_BULK_REF_PREFIX)) != NULL; p++) {
        if (p != path && p[-1] != '/')
            continue;
        const char *id = p + SCIM_BULK_REF_PREFIX_LEN;
        *n = strcspn(id, "/?");
        return p;
    }
    return NULL;
}

static bool value_has_refs(yajl_val v)
{
    if (v == NULL)
        return false;
    if (YAJL_IS_STRING(v))
        return is_ref(v->u.string);
    size_t len = YAJL_IS_OBJECT(v) ? v->u.object.len : YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
    yajl_val *vals = YAJL_IS_OBJECT(v) ? v->u.object.values : YAJL_IS_ARRAY(v) ? v->u.array.values : NULL;
    for (size_t j = 0; j < len; j++)
        if (value_has_refs(vals[j]))
            return true;
    return false;
}

bool scim_bulk_has_refs(const scim_bulk_op_t *op)
{
    size_t n;
    return (op->path != NULL && scim_bulk_path_ref(op->path, op->path, &n) != NULL) ||
           value_has_refs(op->data);
}

/* One reference `ref` (n bytes) of operation `i`. */
static scim_bulk_refs_t check_ref(const scim_bulk_req_t *b, const char *ref, size_t n, size_t *target,
                                  gw_err_t *err)
{
    long k = scim_bulk_lookup(b, ref, n);
    if (k < 0) {
        GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "no POST operation in this request has bulkId \"%.*s\"",
                (int)(n > 100 ? 100 : n), ref);
        return SCIM_BULK_REFS_FAILED;
    }
    const scim_bulk_op_t *t = &b->ops[k];
    switch (t->state) {
    case SCIM_BULK_OK:
        return SCIM_BULK_REFS_READY;
    case SCIM_BULK_PENDING:
        *target = (size_t)k;
        return SCIM_BULK_REFS_WAIT;
    case SCIM_BULK_FAILED:
        GW_ERRF(err, GW_E_CONFLICT, "bulkId \"%.100s\" cannot be resolved: its operation failed", t->bulk_id);
        return SCIM_BULK_REFS_FAILED;
    default: /* STACKED or RUNNING: we are inside its own dependency chain */
        GW_ERRF(err, GW_E_CONFLICT, "circular bulkId reference through \"%.100s\"", t->bulk_id);
        return SCIM_BULK_REFS_FAILED;
    }
}

static scim_bulk_refs_t check_value(const scim_bulk_req_t *b, yajl_val v, size_t *target, gw_err_t *err)
{
    if (v == NULL)
        return SCIM_BULK_REFS_READY;
    if (YAJL_IS_STRING(v)) {
        if (!is_ref(v->u.string))
            return SCIM_BULK_REFS_READY;
        const char *ref = v->u.string + SCIM_BULK_REF_PREFIX_LEN;
        return check_ref(b, ref, strlen(ref), target, err);
    }
    size_t len = YAJL_IS_OBJECT(v) ? v->u.object.len : YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
    yajl_val *vals = YAJL_IS_OBJECT(v) ? v->u.object.values : YAJL_IS_ARRAY(v) ? v->u.array.values : NULL;
    for (size_t j = 0; j < len; j++) {
        scim_bulk_refs_t rc = check_value(b, vals[j], target, err);
        if (rc != SCIM_BULK_REFS_READY)
            return rc;
    }
    return SCIM_BULK_REFS_READY;
}

scim_bulk_refs_t scim_bulk_refs(const scim_bulk_req_t *b, size_t i, size_t *target, gw_err_t *err)
{
    const scim_bulk_op_t *op = &b->ops[i];
    size_t n;
    if (op->path != NULL)
        for (const char *p = scim_bulk_path_ref(op->path, op->path, &n); p != NULL;
             p = scim_bulk_path_ref(op->path, p + SCIM_BULK_REF_PREFIX_LEN + n, &n)) {
            scim_bulk_refs_t rc = check_ref(b, p + SCIM_BULK_REF_PREFIX_LEN, n, target, err);
            if (rc != SCIM_BULK_REFS_READY)
                return rc;
        }
    return check_value(b, op->data, target, err);
}

/* The id a reference resolves to; "" when it does not (never after READY). */
static const char *resolved(const scim_bulk_req_t *b, const char *ref, size_t n)
{
    long k = scim_bulk_lookup(b, ref, n);
    return k >= 0 && b->ops[k].id != NULL ? b->ops[k].id : "";
}

void scim_bulk_resolve_data(const scim_bulk_req_t *b, yajl_val v)
{
    if (v == NULL)
        return;
    if (YAJL_IS_STRING(v)) {
        if (is_ref(v->u.string)) {
            const char *ref = v->u.string + SCIM_BULK_REF_PREFIX_LEN;
            char *id = gw_strdup(resolved(b, ref, strlen(ref)));
            free(v->u.string);
            v->u.string = id;
        }
        return;
    }
    size_t len = YAJL_IS_OBJECT(v) ? v->u.object.len : YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
    yajl_val *vals = YAJL_IS_OBJECT(v) ? v->u.object.values : YAJL_IS_ARRAY(v) ? v->u.array.values : NULL;
    for (size_t j = 0; j < len; j++)
        scim_bulk_resolve_data(b, vals[j]);
}

const char *scim_bulk_resolve_path(h2o_mem_pool_t *pool, const scim_bulk_req_t *b, const char *path)
{
    size_t n;
    const char *p = scim_bulk_path_ref(path, path, &n);
    if (p == NULL)
        return path;
    /* The length first: every reference becomes its id. */
    size_t len = 0;
    const char *from = path;
    for (const char *q = p; q != NULL; q = scim_bulk_path_ref(path, q + SCIM_BULK_REF_PREFIX_LEN + n, &n)) {
        len += (size_t)(q - from) + strlen(resolved(b, q + SCIM_BULK_REF_PREFIX_LEN, n));
        from = q + SCIM_BULK_REF_PREFIX_LEN + n;
    }
    len += strlen(from);
    char *out = h2o_mem_alloc_pool(pool, len + 1), *o = out;
    from = path;
    for (p = scim_bulk_path_ref(path, path, &n); p != NULL;
         p = scim_bulk_path_ref(path, p + SCIM_BULK_REF_PREFIX_LEN + n, &n)) {
        memcpy(o, from, (size_t)(p - from));
        o += p - from;
        const char *id = resolved(b, p + SCIM_BULK_REF_PREFIX_LEN, n);
        memcpy(o, id, strlen(id));
        o += strlen(id);
        from = p + SCIM_BULK_REF_PREFIX_LEN + n;
    }
    memcpy(o, from, strlen(from) + 1);
    return out;
}
