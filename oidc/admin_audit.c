/* GET /admin/v1/audit (bearer token with scope `admin`): the audit log,
 * newest first, read-only (no method here changes an event; the table's
 * triggers refuse it anyway).
 *
 * Query parameters, all optional:
 *   user    a user id (uuid): events whose subject is that user
 *   type    an event type ("tap.used") or a family ("tap.*")
 *   since   RFC 3339: events at or after
 *   until   RFC 3339: events before
 *   limit   1..500 (default 100)
 *   cursor  from the previous page's nextCursor
 * Reply: {"value": [events], "nextCursor": "..."} (nextCursor only when there
 * is more). The cursor is opaque to clients: base64url of "a1:<last id>",
 * so paging is keyset over the id and stable while events are added. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/crypto.h"
#include "oidc/tap_internal.h"

#define PATH          "/admin/v1/audit"
#define LIMIT_DEFAULT 100
#define LIMIT_MAX     500
#define TYPE_MAX      64
#define CURSOR_PREFIX "a1:"

typedef struct {
    int limit;
} audit_req_t;

static int bad(gw_req_t *r, const char *field, const char *msg)
{
    oidc_field_err_t e;
    oidc_field_fail(&e, field, "%s", msg);
    oidc_reply_field_error(r, &e);
    return -1;
}

static int type_ok(const char *s, size_t n)
{
    if (n == 0 || n > TYPE_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int last_star = i == n - 1 && c == '*' && n >= 3 && s[n - 2] == '.';
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || last_star))
            return 0;
    }
    return 1;
}

static void cursor_encode(const char *id, char *out, size_t cap)
{
    char raw[40];
    int n = snprintf(raw, sizeof(raw), CURSOR_PREFIX "%s", id);
    if (n <= 0 || (size_t)n >= sizeof(raw) || GW_B64URL_LEN((size_t)n) + 1 > cap) {
        out[0] = '\0';
        return;
    }
    gw_b64url_encode((const uint8_t *)raw, (size_t)n, out);
}

/* The id a cursor carries (as decimal text into `out`), or -1. */
static int cursor_decode(const char *s, size_t n, char out[24])
{
    uint8_t raw[GW_B64_DECODED_MAX(64)];
    size_t len;
    if (n == 0 || n > 64 || gw_b64url_decode(s, n, raw, &len) != 0)
        return -1;
    size_t p = sizeof(CURSOR_PREFIX) - 1;
    if (len <= p || len - p > 19 || memcmp(raw, CURSOR_PREFIX, p) != 0)
        return -1;
    for (size_t i = p; i < len; i++)
        if (raw[i] < '0' || raw[i] > '9')
            return -1;
    memcpy(out, raw + p, len - p);
    out[len - p] = '\0';
    return 0;
}

static void on_rows(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    audit_req_t *a = data;
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    int rows = PQntuples(res), shown = rows > a->limit ? a->limit : rows;
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "value");
    gw_jw_arr_open(w);
    for (int i = 0; i < shown; i++) {
        gw_jw_obj_open(w);
        gw_jw_kv_str(w, "id", store_value(res, i, 0));
        gw_jw_kv_str(w, "time", store_value(res, i, 1));
        gw_jw_kv_str(w, "type", store_value(res, i, 2));
        gw_jw_kv_str(w, "actor", store_value(res, i, 3));
        gw_jw_kv_str(w, "subject", store_value(res, i, 4));
        gw_jw_kv_str(w, "clientAddress", store_value(res, i, 5));
        gw_jw_kv_str(w, "userAgent", store_value(res, i, 6));
        gw_jw_kv_str(w, "outcome", store_value(res, i, 7));
        gw_jw_kv_str(w, "reason", store_value(res, i, 8));
        const char *detail = store_value(res, i, 9);
        /* jsonb text from our own table: one valid JSON object. */
        gw_jw_kv_raw(w, "detail", detail ? detail : "{}", detail ? strlen(detail) : 2);
        gw_jw_obj_close(w);
    }
    gw_jw_arr_close(w);
    if (rows > a->limit && shown > 0) {
        char cursor[64];
        cursor_encode(store_value(res, shown - 1, 0), cursor, sizeof(cursor));
        gw_jw_kv_str(w, "nextCursor", cursor);
    }
    gw_jw_obj_close(w);
    gw_reply_jw(r, 200, w);
}

static void on_authorized(gw_req_t *r, const oidc_access_t *at)
{
    (void)at;
    if (r->req->path_normalized.len != sizeof(PATH) - 1) {
        gw_reply_fail(r, GW_E_NOT_FOUND, "no such resource");
        return;
    }
    gw_kvs_t q;
    if (gw_req_query_params_or_reply(r, &q) != 0)
        return;
    static const char *const NAMES[] = {"user", "type", "since", "until", "limit", "cursor"};
    h2o_iovec_t v[6];
    for (size_t i = 0; i < q.count; i++) {
        int known = 0;
        for (size_t k = 0; k < 6 && !known; k++)
            known = strcmp(q.items[i].name.base, NAMES[k]) == 0;
        if (!known)
            return (void)bad(r, q.items[i].name.base, "is not a filter of the audit log");
    }
    for (size_t k = 0; k < 6; k++) {
        gw_err_t err;
        if (gw_kvs_get_once(&q, NAMES[k], &v[k], &err) != 0)
            return (void)bad(r, NAMES[k], "is repeated");
    }
    audit_req_t *a = gw_req_alloc(r, sizeof(*a));
    a->limit = LIMIT_DEFAULT;
    char sql[1024], limit[16], cursor_id[24];
    const char *params[6];
    int np = 0;
    size_t n =
        (size_t)snprintf(sql, sizeof(sql),
                         "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
                         "type, actor, subject_user, host(client_addr), user_agent, outcome, reason, "
                         "detail::text FROM audit_events WHERE true");
    if (v[0].base) {
        if (!oidc_uuid_ok(v[0].base, v[0].len))
            return (void)bad(r, "user", "must be a user id (a UUID)");
        params[np++] = v[0].base;
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND subject_user = $%d::uuid", np);
    }
    if (v[1].base) {
        if (!type_ok(v[1].base, v[1].len))
            return (void)bad(r, "type", "must be an event type such as tap.used, or a family such as tap.*");
        if (v[1].base[v[1].len - 1] == '*') {
            /* "tap.*" -> LIKE 'tap.%', with '_' taken literally. */
            char *like = gw_req_alloc(r, 2 * v[1].len + 1);
            size_t o = 0;
            for (size_t i = 0; i + 1 < v[1].len; i++) {
                if (v[1].base[i] == '_')
                    like[o++] = '\\';
                like[o++] = v[1].base[i];
            }
            like[o++] = '%';
            like[o] = '\0';
            params[np++] = like;
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND type LIKE $%d", np);
        } else {
            params[np++] = v[1].base;
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND type = $%d", np);
        }
    }
    int64_t t;
    if (v[2].base) {
        if (oidc_rfc3339_parse(v[2].base, v[2].len, &t) != 0)
            return (void)bad(r, "since", "must be an RFC 3339 date-time");
        params[np++] = v[2].base;
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND at >= $%d::timestamptz", np);
    }
    if (v[3].base) {
        if (oidc_rfc3339_parse(v[3].base, v[3].len, &t) != 0)
            return (void)bad(r, "until", "must be an RFC 3339 date-time");
        params[np++] = v[3].base;
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND at < $%d::timestamptz", np);
    }
    if (v[4].base) {
        char *end;
        long l = strtol(v[4].base, &end, 10);
        if (v[4].len > 4 || *end != '\0' || v[4].base[0] < '0' || v[4].base[0] > '9' || l < 1 ||
            l > LIMIT_MAX)
            return (void)bad(r, "limit", "must be an integer between 1 and 500");
        a->limit = (int)l;
    }
    if (v[5].base) {
        if (cursor_decode(v[5].base, v[5].len, cursor_id) != 0)
            return (void)bad(r, "cursor", "is not a cursor this API returned");
        params[np++] = cursor_id;
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND id < $%d::bigint", np);
    }
    /* One more than shown: whether a next page exists, without a count. */
    snprintf(limit, sizeof(limit), "%d", a->limit + 1);
    params[np++] = limit;
    snprintf(sql + n, sizeof(sql) - n, " ORDER BY id DESC LIMIT $%d::integer", np);
    gw_req_query_sql(r, gw_req_strdup(r, sql, strlen(sql)).base, np, params, on_rows, a);
}

static void on_audit(gw_req_t *r)
{
    oidc_bearer_authorize(r, "admin", on_authorized);
}

static gw_route_t ROUTE_AUDIT = {PATH, GW_GET, GW_ROUTE_NO_STORE, on_audit, PATH, NULL, 0};

void oidc_admin_audit_register(void)
{
    gw_route_register(&ROUTE_AUDIT);
}
