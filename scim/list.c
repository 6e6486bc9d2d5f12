/* Queries on a resource endpoint (RFC 7644 §3.4.2) and with a SearchRequest
 * body (§3.4.3): filter, sortBy/sortOrder, startIndex/count, attributes/
 * excludedAttributes; cursor pagination (RFC 9865).
 *
 * The filter becomes SQL with parameters (filter_sql.c), never a scan in C:
 *
 *   SELECT <doc of x.id>, x.total
 *   FROM (SELECT u.id, count(*) OVER () AS total FROM users u
 *         WHERE (<filter>) ORDER BY <sort> LIMIT $n OFFSET $m) x
 *
 * The documents are built only for the rows of the page (the inner query
 * orders and cuts before the outer one calls the document function), and
 * totalResults comes with them. A page past the end runs a count instead.
 *
 * Cursors (RFC 9865) are opaque and tamper-evident: the position (an
 * offset), an expiry and a digest of the query (resource type, filter, sort),
 * authenticated with the server's secret-hashing key (gateway/secrets.h).
 * A cursor from another query, a changed byte or an old one is refused. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/crypto.h"
#include "gateway/secrets.h"
#include "scim/endpoints.h"

#define CURSOR_TAG      "regain/scim-cursor/v1"
#define CURSOR_QUERY    16
#define CURSOR_MAC      16
#define CURSOR_BYTES    (8 + 8 + CURSOR_QUERY + CURSOR_MAC)
#define CURSOR_CHARS    GW_B64URL_LEN(CURSOR_BYTES)
#define MAX_START_INDEX 1000000000LL

typedef struct {
    const scim_kind_t *k;
    const char *filter, *sort_by, *attributes, *excluded;
    bool descending;
    int64_t offset; /* 0-based */
    int64_t count;
    bool cursor_mode;
    uint8_t query_digest[CURSOR_QUERY];
    bool members;
    scim_sql_t q; /* the page query; also kept for the count fallback */
    int64_t rows;
} list_t;

/* ---- parameters -------------------------------------------------------------------- */

/* A decimal integer, strictly; -1 when it is not one. */
static int parse_int(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0' || strlen(s) > 19)
        return -1;
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (*p == '\0')
        return -1;
    for (const char *c = p; *c; c++)
        if (!isdigit((unsigned char)*c))
            return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno != 0)
        return -1;
    *out = v;
    return 0;
}

/* The string of a yajl string value ("" for anything else). */
static const char *jstr(yajl_val v)
{
    const char *s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
    return s != NULL ? s : "";
}

/* A JSON array of strings (or one string) as a comma-separated list. */
static int join_attrs(gw_req_t *r, yajl_val v, const char **out)
{
    if (v == NULL || YAJL_IS_NULL(v))
        return 0;
    if (YAJL_IS_STRING(v)) {
        *out = jstr(v);
        return 0;
    }
    if (!YAJL_IS_ARRAY(v))
        return -1;
    size_t n = 1;
    for (size_t i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
        yajl_val e = YAJL_GET_ARRAY(v)->values[i];
        if (!YAJL_IS_STRING(e))
            return -1;
        n += strlen(jstr(e)) + 1;
    }
    char *s = gw_req_alloc(r, n);
    s[0] = '\0';
    for (size_t i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
        if (i > 0)
            strcat(s, ",");
        strcat(s, jstr(YAJL_GET_ARRAY(v)->values[i]));
    }
    *out = s;
    return 0;
}

typedef struct {
    const char *filter, *sort_by, *sort_order, *attributes, *excluded, *start, *count, *cursor;
    bool has_start, has_count;
    int64_t start_i, count_i;
} raw_params_t;

static int from_query(gw_req_t *r, raw_params_t *p, gw_err_t *err)
{
    h2o_iovec_t qs = gw_req_query_string(r);
    if (qs.len == 0)
        return 0;
    gw_kvs_t kvs;
    h2o_iovec_t v[7];
    static const char *const names[7] = {"filter",     "sortBy", "sortOrder",         "attributes",
                                         "startIndex", "count",  "excludedAttributes"};
    if (gw_form_parse(&r->req->pool, qs.base, qs.len, GW_MAX_PARAMS, &kvs, err) != 0)
        return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "malformed query string");
    for (int i = 0; i < 7; i++)
        if (gw_kvs_get_once(&kvs, names[i], &v[i], err) != 0)
            return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "parameter %s repeated", names[i]);
    p->filter = v[0].base, p->sort_by = v[1].base, p->sort_order = v[2].base, p->attributes = v[3].base;
    p->start = v[4].base, p->count = v[5].base, p->excluded = v[6].base;
    /* RFC 9865: "cursor" with an empty value asks for the first page. */
    const h2o_iovec_t *c = gw_kvs_find(&kvs, "cursor");
    if (c != NULL)
        p->cursor = c->base;
    if (p->start != NULL && parse_int(p->start, &p->start_i) != 0)
        return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "startIndex must be an integer");
    if (p->count != NULL && parse_int(p->count, &p->count_i) != 0)
        return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "count must be an integer");
    p->has_start = p->start != NULL;
    p->has_count = p->count != NULL;
    return 0;
}

/* RFC 7644 §3.4.3: the SearchRequest's attributes, with its schema. */
static int from_search(gw_req_t *r, yajl_val body, raw_params_t *p, gw_err_t *err)
{
    yajl_val schemas = gw_json_find_ci(body, "schemas");
    bool ok = false;
    if (YAJL_IS_ARRAY(schemas))
        for (size_t i = 0; i < YAJL_GET_ARRAY(schemas)->len; i++) {
            yajl_val s = YAJL_GET_ARRAY(schemas)->values[i];
            ok = ok || (YAJL_IS_STRING(s) && strcmp(jstr(s), SCIM_URN_SEARCH) == 0);
        }
    if (!ok)
        return GW_ERR(err, GW_E_SCIM_INVALID_SYNTAX, "schemas must name " SCIM_URN_SEARCH);
    static const char *const strs[5] = {"filter", "sortBy", "sortOrder", "cursor", NULL};
    const char **dst[4] = {&p->filter, &p->sort_by, &p->sort_order, &p->cursor};
    for (int i = 0; strs[i] != NULL; i++) {
        yajl_val v = gw_json_find_ci(body, strs[i]);
        if (v == NULL || YAJL_IS_NULL(v))
            continue;
        if (!YAJL_IS_STRING(v))
            return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "%s must be a string", strs[i]);
        *dst[i] = jstr(v);
    }
    if (join_attrs(r, gw_json_find_ci(body, "attributes"), &p->attributes) != 0 ||
        join_attrs(r, gw_json_find_ci(body, "excludedAttributes"), &p->excluded) != 0)
        return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "attributes must be an array of strings");
    yajl_val v = gw_json_find_ci(body, "startIndex");
    if (v != NULL && !YAJL_IS_NULL(v)) {
        if (!YAJL_IS_INTEGER(v))
            return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "startIndex must be an integer");
        p->start_i = YAJL_GET_INTEGER(v), p->has_start = true;
    }
    v = gw_json_find_ci(body, "count");
    if (v != NULL && !YAJL_IS_NULL(v)) {
        if (!YAJL_IS_INTEGER(v))
            return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "count must be an integer");
        p->count_i = YAJL_GET_INTEGER(v), p->has_count = true;
    }
    return 0;
}

/* ---- cursors (RFC 9865) ------------------------------------------------------------ */

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void cursor_mac(const uint8_t *payload, size_t n, uint8_t out[CURSOR_MAC])
{
    uint8_t msg[sizeof(CURSOR_TAG) + CURSOR_BYTES];
    memcpy(msg, CURSOR_TAG, sizeof(CURSOR_TAG)); /* with its NUL: a domain separator */
    memcpy(msg + sizeof(CURSOR_TAG), payload, n);
    uint8_t full[GW_SECRET_HASH_LEN];
    gw_secret_hash(msg, sizeof(CURSOR_TAG) + n, full);
    memcpy(out, full, CURSOR_MAC);
}

static const char *cursor_encode(gw_req_t *r, const list_t *l, int64_t offset)
{
    uint8_t raw[CURSOR_BYTES];
    put64(raw, (uint64_t)offset);
    put64(raw + 8, (uint64_t)time(NULL) + SCIM_CURSOR_TTL_S);
    memcpy(raw + 16, l->query_digest, CURSOR_QUERY);
    cursor_mac(raw, CURSOR_BYTES - CURSOR_MAC, raw + CURSOR_BYTES - CURSOR_MAC);
    char *s = gw_req_alloc(r, CURSOR_CHARS + 1);
    gw_b64url_encode(raw, sizeof(raw), s);
    return s;
}

/* 0 with the offset; -1 for invalidCursor, -2 for expiredCursor. */
static int cursor_decode(const list_t *l, const char *s, int64_t *offset)
{
    uint8_t raw[GW_B64_DECODED_MAX(CURSOR_CHARS)], mac[CURSOR_MAC];
    size_t n = 0, len = strlen(s);
    if (len != CURSOR_CHARS || gw_b64url_decode(s, len, raw, &n) != 0 || n != CURSOR_BYTES)
        return -1;
    cursor_mac(raw, CURSOR_BYTES - CURSOR_MAC, mac);
    if (!gw_ct_equal(mac, raw + CURSOR_BYTES - CURSOR_MAC, CURSOR_MAC))
        return -1;
    if (memcmp(raw + 16, l->query_digest, CURSOR_QUERY) != 0)
        return -1; /* a cursor of another query */
    if (get64(raw + 8) < (uint64_t)time(NULL))
        return -2;
    uint64_t off = get64(raw);
    if (off > (uint64_t)MAX_START_INDEX)
        return -1;
    *offset = (int64_t)off;
    return 0;
}

static void query_digest(list_t *l)
{
    /* Length-prefixed parts, so ("ab","c") and ("a","bc") differ. */
    size_t cap = 64 + (l->filter ? strlen(l->filter) : 0) + (l->sort_by ? strlen(l->sort_by) : 0);
    char *buf = malloc(cap);
    int n = snprintf(buf, cap, "%zu:%s|%zu:%s|%zu:%s|%d", strlen(l->k->rt->id), l->k->rt->id,
                     l->filter ? strlen(l->filter) : 0, l->filter ? l->filter : "",
                     l->sort_by ? strlen(l->sort_by) : 0, l->sort_by ? l->sort_by : "", l->descending);
    uint8_t d[GW_SHA256_LEN];
    gw_sha256(buf, (size_t)n < cap ? (size_t)n : cap - 1, d);
    memcpy(l->query_digest, d, CURSOR_QUERY);
    free(buf);
}

/* ---- the answer ---------------------------------------------------------------------- */

static const char *base_url(void)
{
    static char buf[512];
    if (buf[0] == '\0')
        snprintf(buf, sizeof(buf), "%s" SCIM_BASE, scim_cfg != NULL ? scim_cfg->issuer : "");
    return buf;
}

/* RFC 7644 §3.4.2: the ListResponse. */
static void reply_list(gw_req_t *r, list_t *l, PGresult *res, int64_t total)
{
    gw_jw_t *w = gw_jw_new();
    gw_err_t err;
    gw_jw_obj_open(w);
    gw_jw_key(w, "schemas");
    gw_jw_arr_open(w);
    gw_jw_str(w, SCIM_URN_LIST);
    gw_jw_arr_close(w);
    gw_jw_kv_int64(w, "totalResults", total);
    int rows = res != NULL ? PQntuples(res) : 0;
    gw_jw_kv_int64(w, "itemsPerPage", rows);
    if (!l->cursor_mode)
        gw_jw_kv_int64(w, "startIndex", l->offset + 1);
    if (l->cursor_mode) {
        if (l->offset + rows < total && rows > 0)
            gw_jw_kv_str(w, "nextCursor", cursor_encode(r, l, l->offset + rows));
        if (l->offset > 0)
            gw_jw_kv_str(w, "previousCursor",
                         cursor_encode(r, l, l->offset > l->count ? l->offset - l->count : 0));
    }
    gw_jw_key(w, "Resources");
    gw_jw_arr_open(w);
    gw_json_limits_t lim = {.max_bytes = 256u * 1024 * 1024, .max_depth = 64, .require_object = true};
    for (int i = 0; i < rows; i++) {
        const char *text = store_value(res, i, 0);
        if (text == NULL)
            continue; /* deleted between the two parts of the query */
        yajl_val doc = gw_json_parse(text, (size_t)PQgetlength(res, i, 0), &lim, &err);
        if (doc == NULL) {
            gw_jw_free(w);
            scim_reply_fail(r, GW_E_INTERNAL, "stored resource unreadable");
            return;
        }
        scim_doc_weak_version(doc);
        int rc = scim_project(l->k->rt, doc, l->attributes, l->excluded, base_url(), w, &err);
        yajl_tree_free(doc);
        if (rc != 0) {
            gw_jw_free(w);
            scim_reply_error(r, &err);
            return;
        }
    }
    gw_jw_arr_close(w);
    gw_jw_obj_close(w);
    size_t len = 0;
    const char *body = gw_jw_buf(w, &len);
    if (body == NULL) {
        gw_jw_error(w, &err);
        gw_jw_free(w);
        scim_reply_error(r, &err);
        return;
    }
    scim_reply_json(r, 200, body, len);
    gw_jw_free(w);
}

static void on_count(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    list_t *l = data;
    if (res == NULL) {
        scim_reply_error(r, err);
        return;
    }
    const char *v = store_value(res, 0, 0);
    reply_list(r, l, NULL, v != NULL ? strtoll(v, NULL, 10) : 0);
}

/* SELECT count(*) FROM <table> [WHERE (<filter>)] */
static int build_count(gw_req_t *r, list_t *l, scim_sql_t *q, gw_err_t *err)
{
    scim_sql_init(q, &r->req->pool);
    scim_sql_add(q, "SELECT count(*) FROM ");
    scim_sql_add(q, l->k->rt->table);
    if (l->filter != NULL && l->filter[0] != '\0') {
        scim_filter_t *f;
        if (scim_filter_parse(&r->req->pool, l->filter, strlen(l->filter), &f, err) != 0)
            return -1;
        scim_sql_add(q, " WHERE (");
        if (scim_filter_sql(l->k->rt, f, q, err) != 0)
            return -1;
        scim_sql_add(q, ")");
    }
    return 0;
}

static void run_count(gw_req_t *r, list_t *l)
{
    gw_err_t err;
    scim_sql_t *q = gw_req_alloc(r, sizeof(*q));
    if (build_count(r, l, q, &err) != 0) {
        scim_reply_error(r, &err);
        return;
    }
    gw_req_query_sql(r, q->sql, q->nparams, q->params, on_count, l);
}

static void on_page(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    list_t *l = data;
    if (res == NULL) {
        scim_reply_error(r, err);
        return;
    }
    if (PQntuples(res) == 0) {
        if (l->offset > 0)
            run_count(r, l); /* past the end: the total still counts */
        else
            reply_list(r, l, res, 0);
        return;
    }
    const char *t = store_value(res, 0, 1);
    reply_list(r, l, res, t != NULL ? strtoll(t, NULL, 10) : 0);
}

static int build_page(gw_req_t *r, list_t *l, gw_err_t *err)
{
    const scim_resource_type_t *rt = l->k->rt;
    scim_sql_t *q = &l->q;
    const char *alias = strrchr(rt->table, ' ');
    alias = alias != NULL ? alias + 1 : rt->table;
    scim_filter_t *f = NULL;
    if (l->filter != NULL && l->filter[0] != '\0' &&
        scim_filter_parse(&r->req->pool, l->filter, strlen(l->filter), &f, err) != 0)
        return -1;
    scim_sql_init(q, &r->req->pool);
    if (l->k->is_group) {
        scim_sql_add(q, "SELECT scim_group_doc(x.id, ");
        if (scim_sql_param(q, l->members ? "t" : "f", err) != 0)
            return -1;
        scim_sql_add(q, "::boolean)::text, x.total FROM (SELECT ");
    } else {
        scim_sql_add(q, "SELECT scim_user_doc(x.id)::text, x.total FROM (SELECT ");
    }
    scim_sql_add(q, alias);
    scim_sql_add(q, ".id, count(*) OVER () AS total FROM ");
    scim_sql_add(q, rt->table);
    if (f != NULL) {
        scim_sql_add(q, " WHERE (");
        if (scim_filter_sql(rt, f, q, err) != 0)
            return -1;
        scim_sql_add(q, ")");
    }
    scim_sql_add(q, " ORDER BY ");
    if (scim_sort_sql(rt, l->sort_by, l->descending, q, err) != 0)
        return -1;
    char num[2][24];
    snprintf(num[0], sizeof(num[0]), "%" PRId64, l->count);
    snprintf(num[1], sizeof(num[1]), "%" PRId64, l->offset);
    scim_sql_add(q, " LIMIT ");
    if (scim_sql_param(q, gw_req_strdup(r, num[0], strlen(num[0])).base, err) != 0)
        return -1;
    scim_sql_add(q, "::bigint OFFSET ");
    if (scim_sql_param(q, gw_req_strdup(r, num[1], strlen(num[1])).base, err) != 0)
        return -1;
    /* The outer query keeps the inner one's order (a plain subquery scan). */
    scim_sql_add(q, "::bigint) x");
    return 0;
}

void scim_list_handle(gw_req_t *r, const scim_kind_t *k, yajl_val search)
{
    raw_params_t p = {0};
    gw_err_t err;
    if ((search != NULL ? from_search(r, search, &p, &err) : from_query(r, &p, &err)) != 0) {
        scim_reply_error(r, &err);
        return;
    }
    list_t *l = gw_req_alloc(r, sizeof(*l));
    memset(l, 0, sizeof(*l));
    l->k = k;
    l->filter = p.filter;
    l->sort_by = p.sort_by != NULL && p.sort_by[0] != '\0' ? p.sort_by : NULL;
    l->attributes = p.attributes;
    l->excluded = p.excluded;
    if (p.sort_order != NULL && p.sort_order[0] != '\0') {
        /* §3.4.2.3: "ascending" or "descending" (case-insensitive here). */
        if (strcasecmp(p.sort_order, "descending") == 0)
            l->descending = true;
        else if (strcasecmp(p.sort_order, "ascending") != 0) {
            scim_reply_fail(r, GW_E_SCIM_INVALID_VALUE, "sortOrder must be ascending or descending");
            return;
        }
    }
    /* §3.4.2.4: count defaults to the server's page; a negative count is 0;
     * never more than the advertised maximum. */
    l->count = p.has_count ? p.count_i : SCIM_DEFAULT_PAGE;
    if (l->count < 0)
        l->count = 0;
    if (l->count > SCIM_MAX_PAGE)
        l->count = SCIM_MAX_PAGE;
    /* §3.4.2.4: a startIndex below 1 is 1. */
    int64_t start = p.has_start ? p.start_i : 1;
    if (start < 1)
        start = 1;
    if (start > MAX_START_INDEX) {
        scim_reply_fail(r, GW_E_SCIM_INVALID_VALUE, "startIndex is too large");
        return;
    }
    l->offset = start - 1;
    l->members = k->is_group && scim_group_wants_members(l->attributes, l->excluded);
    query_digest(l);
    if (p.cursor != NULL) {
        /* RFC 9865: index and cursor pagination do not mix in one request. */
        if (p.has_start) {
            scim_reply_fail(r, GW_E_SCIM_INVALID_VALUE, "startIndex and cursor cannot be used together");
            return;
        }
        l->cursor_mode = true;
        l->offset = 0;
        if (p.cursor[0] != '\0') {
            int rc = cursor_decode(l, p.cursor, &l->offset);
            if (rc != 0) {
                scim_reply_status(r, 400, rc == -2 ? "expiredCursor" : "invalidCursor",
                                  rc == -2 ? "the cursor has expired"
                                           : "the cursor is not valid for this query");
                return;
            }
        }
    }
    if (l->count == 0) {
        /* §3.4.2.4: count=0 asks for totalResults only. */
        run_count(r, l);
        return;
    }
    if (build_page(r, l, &err) != 0) {
        scim_reply_error(r, &err);
        return;
    }
    gw_req_query_sql(r, l->q.sql, l->q.nparams, l->q.params, on_page, l);
}
