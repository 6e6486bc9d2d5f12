/* Queries on a resource endpoint (RFC 7644 §3.4.2) and with a SearchRequest
 * body (§3.4.3): filter, sortBy/sortOrder, startIndex/count, attributes/
 * excludedAttributes; cursor pagination (RFC 9865).
 *
 * The filter becomes SQL with parameters (filter_sql.c), never a scan in C:
 *
 *   WITH x AS MATERIALIZED (SELECT row_number() OVER () AS o, p.id, p.tid, p.k
 *     FROM (SELECT u.id, u.ctid AS tid, <sort key>::text AS k FROM users u
 *           WHERE (<filter>) [AND (<sort key>, u.id) > ($k, $id)]
 *           ORDER BY <sort> LIMIT <count + 1> OFFSET $m) p)
 *   SELECT NULL, <total>, x.id, x.k, d.* FROM x
 *   LEFT JOIN scim_user_rows(ARRAY(<ids of x up to count, in order>),
 *                            ARRAY(<their ctids>)) d
 *   ON d.id = x.id ORDER BY x.o
 *
 * The users' columns are read only for the rows of the page, together (the
 * inner query orders and cuts first), straight from the row versions the
 * page found (their ctids, one snapshot), and their documents are built in
 * C (user_doc.c); the one row past the page has none and only says whether
 * there is a next one.
 *
 * totalResults without counting the whole table for every page (count(*)
 * OVER () did, 300 ms at a million users): a page that ends before `count`
 * rows knows its total (offset + rows); otherwise an unfiltered list reads
 * the exact row count scim_counts keeps (schema/007_scim.sql), in the same
 * query, and a filtered one runs SELECT count(*) with the filter afterwards
 * (the filter's indexes serve it).
 *
 * startIndex pages of Users in the default order (meta.created, id) and in
 * userName order, unfiltered, find their first row through row counts kept
 * per range of the sort key (schema/018_scim_user_ranks.sql): about a
 * thousand counts summed and fewer than one range's worth of index entries
 * skipped, at any depth (add_ranked_rows). Other pages are LIMIT/OFFSET over
 * the sort order: with an index on the sort key (displayName,
 * meta.lastModified...) an index scan of offset + count entries, cheap near
 * the start and linear in startIndex; a filtered list has no kept counts
 * (they would depend on the filter). Cursors (RFC 9865) need no offset: a
 * cursor names the last row of its page by sort key and id (keyset
 * pagination), and the next page is an index range scan starting there, at
 * any depth. A previousCursor names the first row and asks for the rows
 * before it.
 * Sorting by a multi-valued attribute (a subquery per row, no index) and
 * sort keys longer than CURSOR_KEY_MAX fall back to cursors holding an
 * offset.
 *
 * Cursors are opaque and tamper-evident: kind, position, expiry, a digest of
 * the query (resource type, filter, sort) and the boundary row, authenticated
 * with the server's secret-hashing key (gateway/secrets.h). A cursor from
 * another query, a changed byte or an old one is refused. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/crypto.h"
#include "gateway/parse.h"
#include "gateway/secrets.h"
#include "scim/endpoints.h"

#define CURSOR_TAG     "regain/scim-cursor/v2"
#define CURSOR_QUERY   16
#define CURSOR_MAC     16
#define CURSOR_KEY_MAX 512
/* kind, key-is-NULL, expiry, query digest, offset, boundary id, key length */
#define CURSOR_FIXED     (1 + 1 + 8 + CURSOR_QUERY + 8 + 16 + 2)
#define CURSOR_MAX_BYTES (CURSOR_FIXED + CURSOR_KEY_MAX + CURSOR_MAC)
#define CURSOR_MAX_CHARS GW_B64URL_LEN(CURSOR_MAX_BYTES)
#define MAX_START_INDEX  1000000000LL

/* What a cursor holds: an offset, or the row before (after) which the page
 * starts, by sort key and id. */
typedef enum { CUR_OFFSET = 0, CUR_AFTER = 1, CUR_BEFORE = 2 } cursor_kind_t;

/* One resource of the page, copied out of the result: a user as its tree
 * (user_doc.c), a group as its JSON text. */
typedef struct {
    yajl_val tree;
    const char *text;
    size_t len;
} page_doc_t;

typedef struct {
    const scim_kind_t *k;
    const char *filter, *sort_by, *attributes, *excluded;
    bool descending;
    int64_t offset; /* 0-based */
    int64_t count;
    bool cursor_mode;
    uint8_t query_digest[CURSOR_QUERY];
    bool members;
    scim_sql_t q; /* the page query */
    /* keyset cursors: the sort key (NULL when offsets must do) */
    const char *key_expr;
    bool key_nullable;
    cursor_kind_t dir; /* of the request's cursor; CUR_OFFSET for the first page */
    bool b_null;       /* the boundary row's key is NULL */
    const char *b_key, *b_id;
    /* the page */
    page_doc_t *docs;
    int ndocs;
    const char *next, *prev; /* cursors to send, or NULL */
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
    char *s = gw_req_alloc(r, n), *p = s;
    for (size_t i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
        const char *e = jstr(YAJL_GET_ARRAY(v)->values[i]);
        size_t len = strlen(e);
        if (i > 0)
            *p++ = ',';
        memcpy(p, e, len); /* not strcat: that reads s again for every name */
        p += len;
    }
    *p = '\0';
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

/* A UUID's text (8-4-4-4-12) as 16 bytes; -1 when it is not one. */
static int uuid_pack(const char *s, uint8_t out[16])
{
    if (s == NULL || strlen(s) != 36)
        return -1;
    for (int i = 0, j = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return -1;
            continue;
        }
        int hi = gw_hex_digit(s[i]), lo = gw_hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[j++] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    return 0;
}

static char *uuid_unpack(gw_req_t *r, const uint8_t in[16])
{
    static const char hex[] = "0123456789abcdef";
    char *s = gw_req_alloc(r, 37), *p = s;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[in[i] >> 4];
        *p++ = hex[in[i] & 15];
    }
    *p = '\0';
    return s;
}

static void cursor_mac(const uint8_t *payload, size_t n, uint8_t out[CURSOR_MAC])
{
    uint8_t msg[sizeof(CURSOR_TAG) + CURSOR_MAX_BYTES];
    memcpy(msg, CURSOR_TAG, sizeof(CURSOR_TAG)); /* with its NUL: a domain separator */
    memcpy(msg + sizeof(CURSOR_TAG), payload, n);
    uint8_t full[GW_SECRET_HASH_LEN];
    gw_secret_hash(msg, sizeof(CURSOR_TAG) + n, full);
    memcpy(out, full, CURSOR_MAC);
}

/* A cursor of `kind`: an offset, or the boundary row (`id`, sort key `key`,
 * NULL for a NULL key). NULL when the row cannot be named (a key longer
 * than CURSOR_KEY_MAX, an id that is no UUID): the caller then uses an offset. */
static const char *cursor_encode(gw_req_t *r, const list_t *l, cursor_kind_t kind, int64_t offset,
                                 const char *id, const char *key)
{
    uint8_t raw[CURSOR_MAX_BYTES] = {0};
    size_t klen = key != NULL ? strlen(key) : 0;
    if (kind != CUR_OFFSET &&
        (klen > CURSOR_KEY_MAX || uuid_pack(id, raw + 1 + 1 + 8 + CURSOR_QUERY + 8) != 0))
        return NULL;
    if (kind == CUR_OFFSET)
        klen = 0;
    raw[0] = (uint8_t)kind;
    raw[1] = kind != CUR_OFFSET && key == NULL;
    put64(raw + 2, (uint64_t)time(NULL) + SCIM_CURSOR_TTL_S);
    memcpy(raw + 10, l->query_digest, CURSOR_QUERY);
    put64(raw + 10 + CURSOR_QUERY, (uint64_t)(offset > 0 ? offset : 0));
    raw[CURSOR_FIXED - 2] = (uint8_t)(klen >> 8);
    raw[CURSOR_FIXED - 1] = (uint8_t)klen;
    memcpy(raw + CURSOR_FIXED, key != NULL ? key : "", klen);
    size_t n = CURSOR_FIXED + klen;
    cursor_mac(raw, n, raw + n);
    char *s = gw_req_alloc(r, GW_B64URL_LEN(n + CURSOR_MAC) + 1);
    gw_b64url_encode(raw, n + CURSOR_MAC, s);
    return s;
}

/* Fills l->dir, l->offset and the boundary row from `s`. 0, or -1 for
 * invalidCursor, -2 for expiredCursor. */
static int cursor_decode(gw_req_t *r, list_t *l, const char *s)
{
    uint8_t raw[GW_B64_DECODED_MAX(CURSOR_MAX_CHARS)], mac[CURSOR_MAC];
    size_t n = 0, len = strlen(s);
    if (len > CURSOR_MAX_CHARS || gw_b64url_decode(s, len, raw, &n) != 0 || n < CURSOR_FIXED + CURSOR_MAC)
        return -1;
    size_t klen = (size_t)raw[CURSOR_FIXED - 2] << 8 | raw[CURSOR_FIXED - 1];
    if (klen > CURSOR_KEY_MAX || n != CURSOR_FIXED + klen + CURSOR_MAC)
        return -1;
    cursor_mac(raw, n - CURSOR_MAC, mac);
    if (!gw_ct_equal(mac, raw + n - CURSOR_MAC, CURSOR_MAC))
        return -1;
    if (memcmp(raw + 10, l->query_digest, CURSOR_QUERY) != 0)
        return -1; /* a cursor of another query */
    if (get64(raw + 2) < (uint64_t)time(NULL))
        return -2;
    uint64_t off = get64(raw + 10 + CURSOR_QUERY);
    if (off > (uint64_t)MAX_START_INDEX || raw[0] > CUR_BEFORE)
        return -1;
    l->offset = (int64_t)off;
    l->dir = (cursor_kind_t)raw[0];
    if (l->dir == CUR_OFFSET)
        return 0;
    if (l->key_expr == NULL)
        return -1; /* keyset cursors exist only for keyset sorts */
    l->b_null = raw[1] != 0;
    l->b_id = uuid_unpack(r, raw + 1 + 1 + 8 + CURSOR_QUERY + 8);
    char *key = gw_req_alloc(r, klen + 1);
    memcpy(key, raw + CURSOR_FIXED, klen);
    key[klen] = '\0';
    if (strlen(key) != klen)
        return -1;
    l->b_key = key;
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

/* RFC 7644 §3.4.2: the ListResponse of l->docs. */
static void reply_list(gw_req_t *r, list_t *l, int64_t total)
{
    gw_jw_t *w = gw_jw_new();
    gw_err_t err;
    gw_jw_obj_open(w);
    gw_jw_key(w, "schemas");
    gw_jw_arr_open(w);
    gw_jw_str(w, SCIM_URN_LIST);
    gw_jw_arr_close(w);
    gw_jw_kv_int64(w, "totalResults", total);
    gw_jw_kv_int64(w, "itemsPerPage", l->ndocs);
    if (!l->cursor_mode)
        gw_jw_kv_int64(w, "startIndex", l->offset + 1);
    if (l->next != NULL)
        gw_jw_kv_str(w, "nextCursor", l->next);
    if (l->prev != NULL)
        gw_jw_kv_str(w, "previousCursor", l->prev);
    gw_jw_key(w, "Resources");
    gw_jw_arr_open(w);
    gw_json_limits_t lim = {.max_bytes = 256u * 1024 * 1024, .max_depth = 64, .require_object = true};
    for (int i = 0; i < l->ndocs; i++) {
        yajl_val doc = l->docs[i].tree;
        if (doc == NULL) {
            doc = gw_json_parse(l->docs[i].text, l->docs[i].len, &lim, &err);
            if (doc == NULL) {
                gw_jw_free(w);
                scim_reply_fail(r, GW_E_INTERNAL, "stored resource unreadable");
                return;
            }
            scim_doc_weak_version(doc);
        }
        int rc = scim_project(l->k->rt, doc, l->attributes, l->excluded, base_url(), w, &err);
        if (l->docs[i].tree == NULL)
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
    reply_list(r, l, v != NULL ? strtoll(v, NULL, 10) : 0);
}

/* The filter's WHERE clause, when there is a filter. */
static int add_where(gw_req_t *r, list_t *l, scim_sql_t *q, gw_err_t *err)
{
    if (l->filter == NULL || l->filter[0] == '\0')
        return 0;
    scim_filter_t *f;
    if (scim_filter_parse(&r->req->pool, l->filter, strlen(l->filter), &f, err) != 0)
        return -1;
    scim_sql_add(q, " WHERE (");
    if (scim_filter_sql(l->k->rt, f, q, err) != 0)
        return -1;
    scim_sql_add(q, ")");
    return 0;
}

static bool filtered(const list_t *l)
{
    return l->filter != NULL && l->filter[0] != '\0';
}

/* The exact total: the kept row count (unfiltered), else count(*) with the
 * filter, which its indexes serve. */
static int build_count(gw_req_t *r, list_t *l, scim_sql_t *q, gw_err_t *err)
{
    scim_sql_init(q, &r->req->pool);
    if (!filtered(l)) {
        scim_sql_add(q, "SELECT n FROM scim_counts WHERE resource = ");
        return scim_sql_param(q, l->k->rt->id, err);
    }
    scim_sql_add(q, "SELECT count(*) FROM ");
    scim_sql_add(q, l->k->rt->table);
    return add_where(r, l, q, err);
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

/* Result columns of the page query. */
enum { COL_DOC, COL_TOTAL, COL_ID, COL_KEY };

static const char *row_key(PGresult *res, int i)
{
    return store_value(res, i, COL_KEY);
}

/* The cursors of a page whose rows, in the sort order, are `first` and
 * `last` of `res` (RFC 9865 §2: nextCursor when more results follow,
 * previousCursor when results precede). */
static void page_cursors(gw_req_t *r, list_t *l, PGresult *res, int first, int last, bool more)
{
    bool before_exists, after_exists;
    if (l->dir == CUR_BEFORE) {
        before_exists = more;
        after_exists = true; /* the row the cursor came from */
    } else {
        before_exists = l->dir == CUR_AFTER || l->offset > 0;
        after_exists = more;
    }
    int64_t pos = l->dir == CUR_BEFORE ? l->offset - l->ndocs : l->offset;
    if (pos < 0)
        pos = 0;
    if (l->ndocs == 0)
        return;
    if (after_exists) {
        if (l->key_expr != NULL)
            l->next = cursor_encode(r, l, CUR_AFTER, pos + l->ndocs, store_value(res, last, COL_ID),
                                    row_key(res, last));
        if (l->next == NULL)
            l->next = cursor_encode(r, l, CUR_OFFSET, pos + l->ndocs, NULL, NULL);
    }
    if (before_exists) {
        if (l->key_expr != NULL)
            l->prev =
                cursor_encode(r, l, CUR_BEFORE, pos, store_value(res, first, COL_ID), row_key(res, first));
        if (l->prev == NULL)
            l->prev = cursor_encode(r, l, CUR_OFFSET, pos > l->count ? pos - l->count : 0, NULL, NULL);
    }
}

static void on_page(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    list_t *l = data;
    if (res == NULL) {
        scim_reply_error(r, err);
        return;
    }
    int n = PQntuples(res);
    bool more = n > l->count; /* the query asks for one row past the page */
    int rows = more ? (int)l->count : n;
    /* A page before a cursor comes nearest-first: it is shown reversed. */
    bool reversed = l->dir == CUR_BEFORE;
    l->docs = gw_req_alloc(r, sizeof(*l->docs) * (size_t)(rows > 0 ? rows : 1));
    l->ndocs = 0;
    /* Users come as columns and their documents are built in C; groups
     * come as documents. */
    scim_user_row_cols_t cols;
    bool user_rows = !l->k->is_group;
    if (user_rows && scim_user_row_cols(res, &cols) != 0) {
        scim_reply_fail(r, GW_E_INTERNAL, "stored resource unreadable");
        return;
    }
    for (int j = 0; j < rows; j++) {
        int i = reversed ? rows - 1 - j : j;
        if (user_rows) {
            yajl_val doc;
            gw_err_t derr;
            if (scim_user_row_tree(&r->req->pool, res, i, &cols, &doc, &derr) != 0) {
                scim_reply_error(r, &derr);
                return;
            }
            if (doc != NULL) /* NULL: deleted between the two parts of the query */
                l->docs[l->ndocs++] = (page_doc_t){doc, NULL, 0};
            continue;
        }
        const char *text = store_value(res, i, COL_DOC);
        if (text == NULL)
            continue; /* deleted between the two parts of the query */
        size_t len = (size_t)PQgetlength(res, i, COL_DOC);
        l->docs[l->ndocs++] = (page_doc_t){NULL, gw_req_strdup(r, text, len).base, len};
    }
    if (l->cursor_mode)
        page_cursors(r, l, res, reversed ? rows - 1 : 0, reversed ? 0 : rows - 1, more);
    const char *t = n > 0 ? store_value(res, 0, COL_TOTAL) : NULL;
    if (t != NULL) {
        reply_list(r, l, strtoll(t, NULL, 10));
    } else if (!more && l->dir == CUR_OFFSET && (n > 0 || l->offset == 0)) {
        reply_list(r, l, l->offset + n); /* the page ends the results */
    } else {
        run_count(r, l); /* past the end, or more to come: count */
    }
}

/* AND the rows past the cursor's boundary row in the query's order
 * (ascending: NULLs last, descending: NULLs first, id breaking ties;
 * scim_sort_sql), written so an index on the sort key serves it. */
static int add_keyset(list_t *l, const char *alias, bool desc, scim_sql_t *q, gw_err_t *err)
{
    const char *e = l->key_expr;
    char id[16];
    snprintf(id, sizeof(id), "%s.id", alias);
    scim_sql_add(q, l->filter != NULL && l->filter[0] != '\0' ? " AND (" : " WHERE (");
    if (l->b_null) {
        /* the boundary is among the NULL keys, ordered by id alone */
        scim_sql_add(q, "(");
        scim_sql_add(q, e);
        scim_sql_add(q, " IS NULL AND ");
        scim_sql_add(q, id);
        scim_sql_add(q, desc ? " < " : " > ");
        if (scim_sql_param(q, l->b_id, err) != 0)
            return -1;
        scim_sql_add(q, desc ? "::uuid) OR " : "::uuid))");
        if (desc) {
            scim_sql_add(q, e);
            scim_sql_add(q, " IS NOT NULL)");
        }
        return 0;
    }
    scim_sql_add(q, "(");
    scim_sql_add(q, e);
    scim_sql_add(q, ", ");
    scim_sql_add(q, id);
    scim_sql_add(q, desc ? ") < (" : ") > (");
    if (scim_sql_param(q, l->b_key, err) != 0)
        return -1;
    scim_sql_add(q, ", ");
    if (scim_sql_param(q, l->b_id, err) != 0)
        return -1;
    scim_sql_add(q, "::uuid)");
    if (!desc && l->key_nullable) {
        scim_sql_add(q, " OR ");
        scim_sql_add(q, e);
        scim_sql_add(q, " IS NULL");
    }
    scim_sql_add(q, ")");
    return 0;
}

/* The total's column: the kept row count of an unfiltered list, else NULL
 * (on_page then knows it from the page or counts). */
static int add_total(list_t *l, scim_sql_t *q, gw_err_t *err)
{
    if (filtered(l)) {
        scim_sql_add(q, "NULL::bigint");
        return 0;
    }
    scim_sql_add(q, "(SELECT s.n FROM scim_counts s WHERE s.resource = ");
    if (scim_sql_param(q, l->k->rt->id, err) != 0)
        return -1;
    scim_sql_add(q, ")");
    return 0;
}

static int add_number(gw_req_t *r, scim_sql_t *q, int64_t v, gw_err_t *err)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRId64, v);
    if (scim_sql_param(q, gw_req_strdup(r, num, strlen(num)).base, err) != 0)
        return -1;
    scim_sql_add(q, "::bigint");
    return 0;
}

/* The sort key of a row as text, which a cursor is made from (cursor mode
 * only; NULL otherwise). */
static void add_key_column(const list_t *l, scim_sql_t *q)
{
    if (l->cursor_mode && l->key_expr != NULL) {
        scim_sql_add(q, "(");
        scim_sql_add(q, l->key_expr);
        scim_sql_add(q, ")::text");
    } else {
        scim_sql_add(q, "NULL::text");
    }
}

/* The page's rows in order: id, (users) ctid and (cursor mode) sort key,
 * count + 1 of them. The ctid only where no row is skipped: with OFFSET,
 * asking for it would read the table's row of every row stepped over, where
 * the index alone may do (build_page looks the page's up by id instead). */
static int add_rows(gw_req_t *r, list_t *l, const char *alias, bool keyset, bool desc, bool with_tid,
                    scim_sql_t *q, gw_err_t *err)
{
    const scim_resource_type_t *rt = l->k->rt;
    scim_sql_add(q, "SELECT ");
    scim_sql_add(q, alias);
    scim_sql_add(q, ".id, ");
    if (with_tid) {
        if (keyset || l->offset == 0) {
            scim_sql_add(q, alias);
            scim_sql_add(q, ".ctid AS tid, ");
        } else {
            scim_sql_add(q, "NULL::tid AS tid, ");
        }
    }
    add_key_column(l, q);
    scim_sql_add(q, " AS k FROM ");
    scim_sql_add(q, rt->table);
    if (add_where(r, l, q, err) != 0)
        return -1;
    if (keyset && add_keyset(l, alias, desc, q, err) != 0)
        return -1;
    scim_sql_add(q, " ORDER BY ");
    if (scim_sort_sql(rt, l->sort_by, desc, q, err) != 0)
        return -1;
    scim_sql_add(q, " LIMIT ");
    if (add_number(r, q, l->count + 1, err) != 0)
        return -1;
    scim_sql_add(q, " OFFSET ");
    return add_number(r, q, keyset ? 0 : l->offset, err);
}

/* The page's rows as add_rows gives them, found through the row counts
 * kept per range of the sort key (schema/018_scim_user_ranks.sql) instead
 * of stepping over `offset` index entries: scim_rank_*_seek names the range
 * holding the page's first row (ascending) and how many of its rows come
 * before, and the index is read from there, skipping fewer than one range's
 * worth. A descending page is the same rows read from the other end (the
 * seek turns the offset around), put in the requested order over the few
 * rows of the page. The counts and the rows are read by one statement, so
 * from one snapshot: the page is exactly the OFFSET page. */
static int add_ranked_rows(gw_req_t *r, list_t *l, scim_rank_t rank, bool desc, scim_sql_t *q, gw_err_t *err)
{
    bool by_name = rank == SCIM_RANK_USER_NAME;
    scim_sql_add(q, "SELECT u.id, u.tid, ");
    add_key_column(l, q);
    scim_sql_add(q, by_name ? " AS k FROM (SELECT u.id, u.tid, u.user_name FROM scim_rank_user_name_seek("
                            : " AS k FROM (SELECT u.id, u.tid, u.created_at FROM scim_rank_created_seek(");
    if (add_number(r, q, l->offset, err) != 0)
        return -1;
    scim_sql_add(q, ", ");
    if (add_number(r, q, l->count + 1, err) != 0)
        return -1;
    scim_sql_add(q, ", ");
    if (scim_sql_param(q, desc ? "t" : "f", err) != 0)
        return -1;
    /* Two steps: the rows to skip in the index's own order and key only
     * (index-only), to the page's first key (the keys are unique); then the
     * page's rows from there, read from the table, whose ctids spare
     * scim_user_rows a users_pkey descent per row. */
    static const char by_name_rows[] =
        "::boolean) t CROSS JOIN LATERAL (SELECT lower(f.user_name) AS k0 FROM users f"
        " WHERE lower(f.user_name) >= t.lo ORDER BY lower(f.user_name) LIMIT 1 OFFSET t.skip) f"
        " CROSS JOIN LATERAL (SELECT u.id, u.ctid AS tid, u.user_name FROM users u"
        " WHERE lower(u.user_name) >= f.k0 ORDER BY lower(u.user_name) LIMIT t.take) u) u ORDER BY ";
    static const char by_created_rows[] =
        "::boolean) t CROSS JOIN LATERAL (SELECT f.created_at AS at0, f.id AS id0 FROM users f"
        " WHERE (f.created_at, f.id) >= (t.lo_at, t.lo_id) ORDER BY f.created_at, f.id"
        " LIMIT 1 OFFSET t.skip) f CROSS JOIN LATERAL (SELECT u.id, u.ctid AS tid, u.created_at FROM users u"
        " WHERE (u.created_at, u.id) >= (f.at0, f.id0) ORDER BY u.created_at, u.id LIMIT t.take) u) u"
        " ORDER BY ";
    scim_sql_add(q, by_name ? by_name_rows : by_created_rows);
    if (scim_sort_sql(l->k->rt, l->sort_by, desc, q, err) != 0)
        return -1;
    /* take (count + 1) is never more than the largest page and one; said
     * here as a constant, the planner knows the page is small (LIMIT t.take
     * is estimated at a tenth of the table, and the plan costed past
     * jit_above_cost, compiling for 50 ms a page). A constant of the code,
     * not the request's count: the statement's text and, once prepared
     * (store_query_send_sql), its generic plan serve every page, where a
     * parameter here made PostgreSQL plan each page anew (an unknown LIMIT
     * costs the generic plan above the custom ones). */
    _Static_assert(SCIM_MAX_PAGE + 1 == 1001, "the LIMIT below is the largest page and one");
    scim_sql_add(q, " LIMIT 1001");
    return 0;
}

/* Which rows a page takes: after a cursor's row (keyset), through the kept
 * row counts (an unfiltered startIndex page past the first row in an order
 * they are kept for), or with OFFSET (filtered lists: their counts depend
 * on the filter, so none can be kept; other sort keys). */
static int add_page_rows(gw_req_t *r, list_t *l, const char *alias, bool keyset, bool desc, scim_sql_t *q,
                         gw_err_t *err)
{
    if (!keyset && !filtered(l) && l->offset > 0) {
        scim_rank_t rank = scim_sort_rank(l->k->rt, l->sort_by, &r->req->pool);
        if (rank != SCIM_RANK_NONE)
            return add_ranked_rows(r, l, rank, desc, q, err);
    }
    return add_rows(r, l, alias, keyset, desc, true, q, err);
}

/* Users: the rows first (materialised, numbered in the sort order), then
 * the columns of the page's rows (not the one past it) in one call of
 * scim_user_rows: one set-based pass for the page instead of a document
 * function call per row, which was 9 of a cursor page's 10 ms in the
 * database at a million users; the documents are built in C, as building
 * them with jsonb took 4 of the 5 ms left. Groups: a document call per row (their
 * pages carry no value rows to aggregate; members only when asked). */
static int build_page(gw_req_t *r, list_t *l, gw_err_t *err)
{
    const scim_resource_type_t *rt = l->k->rt;
    scim_sql_t *q = &l->q;
    const char *alias = strrchr(rt->table, ' ');
    alias = alias != NULL ? alias + 1 : rt->table;
    bool keyset = l->dir != CUR_OFFSET;
    /* Rows before a cursor: the reversed order, past the boundary in it. */
    bool desc = l->descending != (l->dir == CUR_BEFORE);
    scim_sql_init(q, &r->req->pool);
    if (l->k->is_group) {
        scim_sql_add(q, "SELECT scim_group_doc(x.id, ");
        if (scim_sql_param(q, l->members ? "t" : "f", err) != 0)
            return -1;
        scim_sql_add(q, "::boolean)::text, ");
        if (add_total(l, q, err) != 0)
            return -1;
        scim_sql_add(q, ", x.id::text, x.k FROM (");
        if (add_rows(r, l, alias, keyset, desc, false, q, err) != 0)
            return -1;
        /* The outer query keeps the inner one's order (a plain subquery scan). */
        scim_sql_add(q, ") x");
        return 0;
    }
    /* row_number() OVER () numbers the rows as the ordered subquery gives
     * them; a row without its ctid (an OFFSET page) has it looked up by id,
     * here, for the rows of the page only. */
    scim_sql_add(q, "WITH x AS MATERIALIZED (SELECT row_number() OVER () AS o, p.id,"
                    " coalesce(p.tid, (SELECT v.ctid FROM users v WHERE v.id = p.id)) AS tid, p.k FROM (");
    if (add_page_rows(r, l, alias, keyset, desc, q, err) != 0)
        return -1;
    /* The page's columns are named so that none clashes with a column of
     * scim_user_rows (user_doc.c finds those by name). */
    scim_sql_add(q, ") p) SELECT NULL::text AS page_doc, ");
    if (add_total(l, q, err) != 0)
        return -1;
    scim_sql_add(q, " AS page_total, x.id::text AS page_id, x.k AS page_key, d.* FROM x"
                    " LEFT JOIN scim_user_rows(ARRAY(SELECT x.id FROM x WHERE x.o <= ");
    if (add_number(r, q, l->count, err) != 0)
        return -1;
    scim_sql_add(q, " ORDER BY x.o), ARRAY(SELECT x.tid FROM x WHERE x.o <= ");
    if (add_number(r, q, l->count, err) != 0)
        return -1;
    scim_sql_add(q, " ORDER BY x.o)) d ON d.id = x.id ORDER BY x.o");
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
    if (scim_project_lists_check(l->attributes, l->excluded, &err) != 0) {
        scim_reply_error(r, &err);
        return;
    }
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
        int kr = scim_sort_key(k->rt, l->sort_by, &r->req->pool, &l->key_expr, &l->key_nullable, &err);
        if (kr < 0) {
            scim_reply_error(r, &err);
            return;
        }
        if (kr == 0)
            l->key_expr = NULL;
        if (p.cursor[0] != '\0') {
            int rc = cursor_decode(r, l, p.cursor);
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
