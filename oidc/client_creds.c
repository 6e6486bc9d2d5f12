/* Client credentials as they arrive at the token endpoint, decoded and
 * checked without a request or database: the Basic header (RFC 6749 §2.3.1)
 * and the claims of a client_assertion (RFC 7523 §3, OIDC Core §9). */
#include <stdio.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "gateway/json.h"
#include "oidc/clients_internal.h"

/* Longest Basic credentials we decode: an id of 128 and a secret of
 * OIDC_CLIENT_SECRET_MAX bytes, each up to three times longer encoded. */
#define BASIC_MAX_B64 (GW_B64_LEN(3 * (OIDC_CLIENT_ID_MAX + OIDC_CLIENT_SECRET_MAX) + 1))

/* application/x-www-form-urlencoded decoding of one component (RFC 6749
 * Appendix B): '+' is a space, %XX a byte; a bad escape or a NUL is an error
 * rather than passed through, as in gw_form_parse. */
static int form_decode(h2o_mem_pool_t *pool, const char *s, size_t n, h2o_iovec_t *out)
{
    char *d = h2o_mem_alloc_pool(pool, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n || (hi = gw_hex_digit(s[i + 1])) < 0 || (lo = gw_hex_digit(s[i + 2])) < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0')
            return -1;
        d[k++] = c;
    }
    d[k] = '\0';
    *out = h2o_iovec_init(d, k);
    return 0;
}

int oidc_basic_auth_decode(h2o_mem_pool_t *pool, const char *value, size_t len, h2o_iovec_t *id,
                           h2o_iovec_t *secret, gw_err_t *err)
{
    /* RFC 9110 §11.1: the scheme name is case-insensitive. */
    if (len < 6 || !h2o_lcstris(value, 5, "basic", 5) || value[5] != ' ')
        return 1;
    size_t i = 6;
    while (i < len && value[i] == ' ')
        i++;
    size_t n = len - i;
    while (n > 0 && value[i + n - 1] == ' ')
        n--;
    if (n == 0 || n > BASIC_MAX_B64)
        return GW_ERR(err, GW_E_INVALID_CLIENT, "malformed Basic credentials");
    uint8_t *raw = h2o_mem_alloc_pool(pool, GW_B64_DECODED_MAX(n) + 1);
    size_t rawlen = 0;
    if (gw_b64_decode(value + i, n, raw, &rawlen) != 0)
        return GW_ERR(err, GW_E_INVALID_CLIENT, "malformed Basic credentials (base64)");
    /* The id is form-urlencoded, so a ':' in it arrives as %3A: the first
     * colon separates id from secret (RFC 7617 §2). */
    const uint8_t *colon = memchr(raw, ':', rawlen);
    if (colon == NULL)
        return GW_ERR(err, GW_E_INVALID_CLIENT, "malformed Basic credentials (no colon)");
    size_t idlen = (size_t)(colon - raw);
    if (form_decode(pool, (const char *)raw, idlen, id) != 0 ||
        form_decode(pool, (const char *)colon + 1, rawlen - idlen - 1, secret) != 0)
        return GW_ERR(err, GW_E_INVALID_CLIENT, "malformed Basic credentials (encoding)");
    gw_wipe(raw, rawlen); /* the pool is freed later, not wiped */
    if (id->len == 0)
        return GW_ERR(err, GW_E_INVALID_CLIENT, "Basic credentials without a client id");
    return 0;
}

/* aud is a string or an array of strings (RFC 7519 §4.1.3). */
static int aud_ok(yajl_val aud, const char *issuer, const char *token_url)
{
    if (aud == NULL)
        return 0;
    if (YAJL_IS_STRING(aud)) {
        const char *s = YAJL_GET_STRING(aud);
        return strcmp(s, issuer) == 0 || strcmp(s, token_url) == 0;
    }
    if (!YAJL_IS_ARRAY(aud))
        return 0;
    for (size_t i = 0; i < YAJL_GET_ARRAY(aud)->len; i++) {
        yajl_val v = YAJL_GET_ARRAY(aud)->values[i];
        if (YAJL_IS_STRING(v) && aud_ok(v, issuer, token_url))
            return 1;
    }
    return 0;
}

int oidc_assertion_claims_check(const char *payload, size_t len, const char *client_id, const char *issuer,
                                const char *token_url, int64_t now, char *jti, int64_t *exp, gw_err_t *err)
{
    gw_err_t perr;
    gw_json_limits_t lim = {.max_bytes = GW_JWS_MAX_LEN, .max_depth = 8, .require_object = true};
    yajl_val claims = gw_json_parse(payload, len, &lim, &perr);
    if (claims == NULL)
        return GW_ERR(err, GW_E_INVALID_CLIENT, "client_assertion claims are not a JSON object");
    int rc = -1;
    const char *iss = gw_json_str(claims, "iss"), *sub = gw_json_str(claims, "sub");
    const char *id = gw_json_str(claims, "jti");
    int64_t e = 0, nbf = 0, iat = 0;
    gw_json_get_t ge = gw_json_get_int64(claims, "exp", &e);
    gw_json_get_t gn = gw_json_get_int64(claims, "nbf", &nbf);
    gw_json_get_t gi = gw_json_get_int64(claims, "iat", &iat);
    /* RFC 7523 §3 items 1-2 and OIDC Core §9: iss and sub are the client_id. */
    if (iss == NULL || strcmp(iss, client_id) != 0)
        GW_ERR(err, GW_E_INVALID_CLIENT, "client_assertion iss must be the client_id");
    else if (sub == NULL || strcmp(sub, client_id) != 0)
        GW_ERR(err, GW_E_INVALID_CLIENT, "client_assertion sub must be the client_id");
    /* §3 item 3: we must be an intended audience: our issuer identifier or
     * the token endpoint URL (OIDC Core §9 recommends the latter). */
    else if (!aud_ok(gw_json_get(claims, "aud"), issuer, token_url))
        GW_ERR(err, GW_E_INVALID_CLIENT,
               "client_assertion aud must contain the issuer or the token endpoint");
    /* §3 item 4: exp is required; a short lifetime bounds how long we keep
     * its jti and how long a stolen assertion is worth anything. */
    else if (ge != GW_JSON_OK)
        GW_ERR(err, GW_E_INVALID_CLIENT, "client_assertion exp is required (integer)");
    else if (e + OIDC_ASSERTION_SKEW_S <= now)
        GW_ERR(err, GW_E_INVALID_CLIENT, "client_assertion has expired");
    else if (e - now > OIDC_ASSERTION_MAX_LIFETIME_S)
        GW_ERRF(err, GW_E_INVALID_CLIENT, "client_assertion exp is more than %d s ahead",
                OIDC_ASSERTION_MAX_LIFETIME_S);
    else if (gn == GW_JSON_WRONG_TYPE || (gn == GW_JSON_OK && nbf > now + OIDC_ASSERTION_SKEW_S))
        GW_ERR(err, GW_E_INVALID_CLIENT, "client_assertion is not valid yet (nbf)");
    else if (gi == GW_JSON_WRONG_TYPE || (gi == GW_JSON_OK && iat > now + OIDC_ASSERTION_SKEW_S))
        GW_ERR(err, GW_E_INVALID_CLIENT, "client_assertion iat is in the future");
    /* OIDC Core §9: jti is REQUIRED, and single use (checked by the caller). */
    else if (id == NULL || id[0] == '\0' || strlen(id) > OIDC_ASSERTION_JTI_MAX)
        GW_ERRF(err, GW_E_INVALID_CLIENT, "client_assertion jti is required (1 to %d bytes)",
                OIDC_ASSERTION_JTI_MAX);
    else {
        snprintf(jti, OIDC_ASSERTION_JTI_MAX + 1, "%s", id);
        *exp = e;
        rc = 0;
    }
    yajl_tree_free(claims);
    return rc;
}
