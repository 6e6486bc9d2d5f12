/* Small helpers the sign-in methods share: the sign-in context, bytes in
 * text forms, the WebAuthn relying party's identity, JSON bodies and errors. */
#include <stdio.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/methods_internal.h"

int oidc_context_parse(const char *s, size_t n, oidc_context_t out)
{
    if (s == NULL || n == 0) {
        memcpy(out, OIDC_CONTEXT_ACCOUNT, sizeof(OIDC_CONTEXT_ACCOUNT));
        return 0;
    }
    if (!oidc_uuid_ok(s, n))
        return -1;
    for (size_t i = 0; i < OIDC_UUID_LEN; i++) /* one spelling for comparisons in SQL */
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] + 32 : s[i]);
    out[OIDC_UUID_LEN] = '\0';
    return 0;
}

h2o_iovec_t oidc_context_destination(gw_req_t *r, const char *context)
{
    if (!OIDC_CONTEXT_IS_REQUEST(context))
        return h2o_iovec_init(H2O_STRLIT(OIDC_ACCOUNT_PATH));
    size_t cap = sizeof(OIDC_RESUME_PATH "?request=") + OIDC_UUID_LEN;
    char *buf = gw_req_alloc(r, cap);
    int n = snprintf(buf, cap, OIDC_RESUME_PATH "?request=%s", context);
    return h2o_iovec_init(buf, (size_t)n);
}

/* ---- bytes as text ---------------------------------------------------------------- */

int oidc_bytea_decode(gw_req_t *r, const char *text, uint8_t **out, size_t *len)
{
    size_t n = text ? strlen(text) : 0;
    if (n < 2 || text[0] != '\\' || text[1] != 'x' || (n - 2) % 2 != 0)
        return -1;
    uint8_t *b = gw_req_alloc(r, (n - 2) / 2 + 1);
    for (size_t i = 0; i < (n - 2) / 2; i++) {
        int hi = gw_hex_digit(text[2 + 2 * i]), lo = gw_hex_digit(text[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = b;
    *len = (n - 2) / 2;
    return 0;
}

char *oidc_bytea_encode(gw_req_t *r, const uint8_t *in, size_t n)
{
    static const char HEX[] = "0123456789abcdef";
    char *s = gw_req_alloc(r, 2 * n + 3);
    s[0] = '\\';
    s[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        s[2 + 2 * i] = HEX[in[i] >> 4];
        s[3 + 2 * i] = HEX[in[i] & 15];
    }
    s[2 * n + 2] = '\0';
    return s;
}

char *oidc_b64url(gw_req_t *r, const uint8_t *in, size_t n)
{
    char *s = gw_req_alloc(r, GW_B64URL_LEN(n) + 1);
    gw_b64url_encode(in, n, s);
    return s;
}

int oidc_b64url_decode_max(gw_req_t *r, const char *s, size_t max, uint8_t **out, size_t *len)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > GW_B64URL_LEN(max))
        return -1;
    uint8_t *b = gw_req_alloc(r, GW_B64_DECODED_MAX(n) + 1);
    if (gw_b64url_decode(s, n, b, len) != 0 || *len > max)
        return -1;
    *out = b;
    return 0;
}

void oidc_uuid_new(char out[OIDC_UUID_LEN + 1])
{
    uint8_t b[16];
    gw_random_bytes(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* RFC 9562 §5.4: version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 */
    snprintf(out, OIDC_UUID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

const char *oidc_actor(gw_req_t *r, const char *user_id)
{
    size_t cap = sizeof("user:") + OIDC_UUID_LEN;
    char *s = gw_req_alloc(r, cap);
    snprintf(s, cap, "user:%s", user_id);
    return s;
}

/* ---- the relying party ------------------------------------------------------------ */

static char g_rp_id[256];
static char g_origin[300];

/* ASCII lower case in place: browsers serialise a host in lower case, and
 * an issuer may have been configured as https://Login.Example.com. */
static void lower_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* WebAuthn §5.1.3 / §13.4.9: the RP ID is the issuer's host (a registrable
 * domain suffix of the origin), and the origin is scheme://host[:port]
 * exactly as browsers serialise it (HTML §7.5: lower-case host, no default
 * port, no path). */
void oidc_rp_init(const char *issuer)
{
    const char *p = strstr(issuer, "://");
    const char *host = p ? p + 3 : issuer;
    size_t hlen = strcspn(host, ":/");
    size_t olen = strcspn(host, "/") + (size_t)(host - issuer);
    if (hlen >= sizeof(g_rp_id))
        hlen = sizeof(g_rp_id) - 1;
    if (olen >= sizeof(g_origin))
        olen = sizeof(g_origin) - 1;
    memcpy(g_rp_id, host, hlen);
    g_rp_id[hlen] = '\0';
    memcpy(g_origin, issuer, olen);
    g_origin[olen] = '\0';
    lower_ascii(g_rp_id);
    lower_ascii(g_origin);
    /* https://host:443 and http://host:80 are serialised without the port. */
    size_t ol = strlen(g_origin);
    if (ol > 4 && strncmp(g_origin, "https://", 8) == 0 && strcmp(g_origin + ol - 4, ":443") == 0)
        g_origin[ol - 4] = '\0';
    else if (ol > 3 && strncmp(g_origin, "http://", 7) == 0 && strcmp(g_origin + ol - 3, ":80") == 0)
        g_origin[ol - 3] = '\0';
}

const char *oidc_rp_id(void)
{
    return g_rp_id;
}

const char *oidc_rp_origin(void)
{
    return g_origin;
}

int oidc_browser_binding(gw_req_t *r, char out[GW_SECRET_HASH_HEX_LEN + 1])
{
    static const char LABEL[] = "regain/webauthn-browser/v1:";
    h2o_iovec_t cookie;
    if (!gw_req_cookie(r, OIDC_CSRF_COOKIE, &cookie) || !oidc_secret_format_ok(cookie.base, cookie.len))
        return -1;
    char msg[sizeof(LABEL) + GW_SECRET_LEN];
    memcpy(msg, LABEL, sizeof(LABEL) - 1);
    memcpy(msg + sizeof(LABEL) - 1, cookie.base, GW_SECRET_LEN);
    gw_secret_hash_hex(msg, sizeof(LABEL) - 1 + GW_SECRET_LEN, out);
    return 0;
}

void oidc_challenge_store(gw_req_t *r, const uint8_t challenge[MTH_WA_CHALLENGE_LEN], const char *ceremony,
                          const char *user_id, const char *session_id, const char *context,
                          const char *browser, gw_req_query_data_cb cb, void *data)
{
    char num[3][16];
    snprintf(num[0], sizeof(num[0]), "%d", OIDC_CHALLENGE_TTL_S);
    snprintf(num[1], sizeof(num[1]), "%u", oidc_cfg->oidc.passkey_challenges_per_browser);
    snprintf(num[2], sizeof(num[2]), "%u", oidc_cfg->oidc.passkey_challenges_per_address);
    const char *params[10] = {oidc_bytea_encode(r, challenge, MTH_WA_CHALLENGE_LEN),
                              ceremony,
                              user_id,
                              session_id,
                              context,
                              browser,
                              gw_req_strdup(r, num[0], strlen(num[0])).base,
                              oidc_req_addr(r),
                              gw_req_strdup(r, num[1], strlen(num[1])).base,
                              gw_req_strdup(r, num[2], strlen(num[2])).base};
    gw_req_query(r, &oidc_stmt_challenge_create, params, cb, data);
}

int oidc_challenge_stored_or_reply(gw_req_t *r, PGresult *res, const gw_err_t *err)
{
    if (res == NULL || PQntuples(res) != 1) {
        gw_log_write(GW_LOG_ERROR, "passkey", r->id, "challenge: %s (%s)", err ? err->public : "?",
                     err ? err->detail : "");
        oidc_json_fail(r, 503, "temporarily_unavailable", "try again in a moment");
        return -1;
    }
    const char *status = store_value(res, 0, 0);
    if (status != NULL && strcmp(status, "ok") == 0)
        return 0;
    gw_log_write(GW_LOG_WARN, "passkey", r->id, "challenge refused: %s", status ? status : "?");
    /* RFC 6585 §4: 429 with Retry-After; a live challenge expires within
     * OIDC_CHALLENGE_TTL_S, which frees room. */
    gw_reply_header(r, "retry-after", H2O_STRLIT("60"));
    oidc_json_fail(r, 429, "too_many_requests",
                   status != NULL && strcmp(status, "browser_limit") == 0
                       ? "this browser has asked for too many passkey challenges; use one, or wait a few "
                         "minutes and try again"
                       : "too many passkey challenges were asked for from this network; wait a few minutes "
                         "and try again");
    return -1;
}

int oidc_client_data_challenge(const uint8_t *cdj, size_t n, uint8_t out[MTH_WA_CHALLENGE_LEN])
{
    gw_err_t err;
    gw_json_limits_t lim = {4096, 4, true, false};
    yajl_val root = gw_json_parse((const char *)cdj, n, &lim, &err);
    const char *c = gw_json_str(root, "challenge");
    int rc = -1;
    uint8_t buf[GW_B64_DECODED_MAX(GW_B64URL_LEN(MTH_WA_CHALLENGE_LEN)) + 4];
    size_t len = 0;
    if (c != NULL && strlen(c) == GW_B64URL_LEN(MTH_WA_CHALLENGE_LEN) &&
        gw_b64url_decode(c, strlen(c), buf, &len) == 0 && len == MTH_WA_CHALLENGE_LEN) {
        memcpy(out, buf, MTH_WA_CHALLENGE_LEN);
        rc = 0;
    }
    if (root != NULL)
        yajl_tree_free(root);
    return rc;
}

/* ---- JSON in and out ------------------------------------------------------------- */

void oidc_json_fail(gw_req_t *r, int status, const char *error, const char *description)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "error", error);
    gw_jw_kv_str(w, "error_description", description);
    gw_jw_obj_close(w);
    gw_reply_jw(r, status, w);
}

int oidc_ceremony_body_or_reply(gw_req_t *r, yajl_val *out)
{
    h2o_iovec_t ct = gw_req_header(r, "content-type");
    static const char JSON[] = "application/json";
    size_t n = sizeof(JSON) - 1;
    /* A JSON media type is also a CSRF defence: a cross-site form cannot send
     * it, and a cross-site fetch with it needs a CORS preflight we never grant. */
    if (ct.base == NULL || ct.len < n || !h2o_lcstris(ct.base, n, JSON, n) ||
        (ct.len > n && ct.base[n] != ';' && ct.base[n] != ' ')) {
        oidc_json_fail(r, 415, "invalid_request", "the body must be application/json");
        return -1;
    }
    if (r->req->entity.len > OIDC_CEREMONY_BODY_MAX) {
        oidc_json_fail(r, 413, "invalid_request", "the body is too large");
        return -1;
    }
    gw_err_t err;
    gw_json_limits_t lim = {OIDC_CEREMONY_BODY_MAX, 8, true, false};
    *out = gw_json_parse_pool(&r->req->pool, r->req->entity.base ? r->req->entity.base : "",
                              r->req->entity.len, &lim, &err);
    if (*out == NULL) {
        oidc_json_fail(r, 400, "invalid_request", "the body is not a JSON object");
        return -1;
    }
    return 0;
}
