/* CSRF protection of the sign-in form.
 *
 * Signed double-submit (OWASP CSRF Prevention Cheat Sheet, "Signed Double-
 * Submit Cookie"): the browser holds a random secret in a `__Host-` cookie
 * and the form carries HMAC(server key, secret || request id). A cross-site
 * form cannot read the cookie, so it cannot produce the field. Chosen over a
 * synchronizer token stored server-side because the page is rendered before
 * any session exists and every process must accept the post (no per-process
 * state, no extra row per page view). The HMAC binds the token to the pending
 * authorization request, so a token seen for one request is useless for
 * another, and the server key stops an attacker who could plant a cookie from
 * forging a matching field; the `__Host-` prefix (RFC 6265bis §4.1.3.2) stops
 * a sibling subdomain from planting it at all. SameSite=Lax is defence in
 * depth (a cross-site POST never carries it); not Strict, because the page is
 * usually reached by a cross-site redirect from the relying party, which
 * would not show a Strict cookie, so every such visit would mint a new one
 * and break the forms open in other tabs. */
#include <string.h>

#include "gateway/secrets.h"
#include "oidc/signin_internal.h"

int oidc_secret_format_ok(const char *s, size_t n)
{
    if (s == NULL || n != GW_SECRET_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_'))
            return 0;
    }
    return 1;
}

void oidc_csrf_token(const char *cookie, size_t cookie_len, const char *request_id,
                     char out[OIDC_CSRF_TOKEN_LEN + 1])
{
    static const char LABEL[] = "regain/csrf/v1";
    char msg[sizeof(LABEL) + GW_SECRET_LEN + 1 + OIDC_UUID_LEN + 1];
    size_t n = 0, rlen = strlen(request_id);
    if (cookie_len > GW_SECRET_LEN)
        cookie_len = GW_SECRET_LEN;
    if (rlen > OIDC_UUID_LEN)
        rlen = OIDC_UUID_LEN;
    /* Label, then fixed-length-or-NUL-separated parts: no two inputs share a message. */
    memcpy(msg, LABEL, sizeof(LABEL));
    n = sizeof(LABEL);
    memcpy(msg + n, cookie, cookie_len);
    n += cookie_len;
    msg[n++] = '\0';
    for (size_t i = 0; i < rlen; i++) /* uuids compare case-insensitively */
        msg[n++] = (char)(request_id[i] >= 'A' && request_id[i] <= 'F' ? request_id[i] + 32 : request_id[i]);
    uint8_t mac[GW_SECRET_HASH_LEN];
    gw_secret_hash(msg, n, mac);
    gw_b64url_encode(mac, sizeof(mac), out);
}

int oidc_csrf_ok(const char *cookie, size_t cookie_len, const char *request_id, const char *field,
                 size_t field_len)
{
    if (!oidc_secret_format_ok(cookie, cookie_len) || field == NULL || field_len != OIDC_CSRF_TOKEN_LEN)
        return 0;
    char want[OIDC_CSRF_TOKEN_LEN + 1];
    oidc_csrf_token(cookie, cookie_len, request_id, want);
    return gw_ct_equal(want, field, OIDC_CSRF_TOKEN_LEN);
}

h2o_iovec_t oidc_csrf_cookie_get_or_set(gw_req_t *r)
{
    h2o_iovec_t v;
    if (gw_req_cookie(r, OIDC_CSRF_COOKIE, &v) && oidc_secret_format_ok(v.base, v.len))
        return v; /* keep it: other tabs' forms stay valid */
    char fresh[GW_SECRET_LEN + 1];
    gw_secret_new(fresh);
    h2o_iovec_t value = gw_req_strdup(r, fresh, GW_SECRET_LEN);
    h2o_iovec_t sc = gw_cookie_build(&r->req->pool, OIDC_CSRF_COOKIE, value, -1, GW_COOKIE_DEFAULT);
    if (sc.base != NULL)
        gw_reply_header(r, "set-cookie", sc.base, sc.len);
    return value;
}
