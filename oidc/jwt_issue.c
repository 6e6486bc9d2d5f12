/* Claim sets of the tokens we issue, and signing them.
 *
 * Access tokens follow RFC 9068 (JWT profile for OAuth 2.0 access tokens);
 * ID tokens follow OpenID Connect Core 1.0 §2 and §3.1.3.6. The builders take
 * plain data and return JSON text, so tests/unit/oidc_jwt_issue.c checks the
 * exact claim sets; signing uses the key set's preloaded EVP_PKEY through
 * gw_jws_sign (DEPENDENCIES.md §6: no PEM parsing per token). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "gateway/alloc.h"
#include "gateway/keys.h"
#include "oidc/tokens_internal.h"

#define SCOPE_MAX 1024

/* ---- scopes --------------------------------------------------------------- */

static int nqchar(unsigned char c)
{
    /* RFC 6749 §3.3 / Appendix A.4: NQCHAR = %x21 / %x23-5B / %x5D-7E */
    return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

static int has_token(const char *s, size_t len, const char *tok, size_t toklen)
{
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        if (j - i == toklen && memcmp(s + i, tok, toklen) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

int oidc_scope_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > SCOPE_MAX)
        return 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && s[j] != ' ') {
            if (!nqchar((unsigned char)s[j]))
                return 0;
            j++;
        }
        if (j == i) /* empty token: leading, trailing or double space */
            return 0;
        if (has_token(s, i > 0 ? i - 1 : 0, s + i, j - i)) /* repeated */
            return 0;
        if (j == len)
            break;
        i = j + 1;
        if (i == len)
            return 0; /* trailing space */
    }
    return 1;
}

int oidc_scope_subset(const char *sub, size_t sublen, const char *super, size_t superlen)
{
    for (size_t i = 0; i < sublen;) {
        size_t j = i;
        while (j < sublen && sub[j] != ' ')
            j++;
        if (j > i && !has_token(super, superlen, sub + i, j - i))
            return 0;
        i = j + 1;
    }
    return 1;
}

int oidc_scope_is_user(const char *tok, size_t len)
{
    static const char *const USER[] = {"openid", "profile", "email", "offline_access"};
    for (size_t i = 0; i < sizeof(USER) / sizeof(USER[0]); i++)
        if (strlen(USER[i]) == len && memcmp(USER[i], tok, len) == 0)
            return 1;
    return 0;
}

/* ---- user claims ---------------------------------------------------------- */

/* The claims of OIDC Core §5.1 we hold for a user. */
static const char *const USER_CLAIMS[] = {"name",  "given_name",     "family_name", "preferred_username",
                                          "email", "email_verified", "updated_at"};

static int user_claim_known(const char *name)
{
    for (size_t i = 0; i < sizeof(USER_CLAIMS) / sizeof(USER_CLAIMS[0]); i++)
        if (strcmp(USER_CLAIMS[i], name) == 0)
            return 1;
    return 0;
}

static int str_claim(gw_jw_t *w, const char *name, const char *v)
{
    if (v == NULL || *v == '\0')
        return 0;
    gw_jw_kv_str(w, name, v);
    return 1;
}

int oidc_claim_write(gw_jw_t *w, const oidc_user_info_t *u, const char *name)
{
    if (u == NULL)
        return 0;
    if (strcmp(name, "name") == 0)
        return str_claim(w, name, u->display_name);
    if (strcmp(name, "given_name") == 0)
        return str_claim(w, name, u->given_name);
    if (strcmp(name, "family_name") == 0)
        return str_claim(w, name, u->family_name);
    if (strcmp(name, "preferred_username") == 0)
        return str_claim(w, name, u->user_name);
    if (strcmp(name, "email") == 0)
        return str_claim(w, name, u->email);
    if (strcmp(name, "email_verified") == 0 && u->email_verified >= 0 && u->email != NULL) {
        gw_jw_kv_bool(w, name, u->email_verified != 0);
        return 1;
    }
    if (strcmp(name, "updated_at") == 0 && u->updated_at > 0) {
        gw_jw_kv_int64(w, name, u->updated_at);
        return 1;
    }
    return 0;
}

char *oidc_claims_names_json(yajl_val claims_request, const char *member)
{
    yajl_val m = gw_json_get(claims_request, member);
    if (m == NULL || !YAJL_IS_OBJECT(m))
        return NULL;
    gw_jw_t *w = gw_jw_new();
    size_t count = 0;
    gw_jw_arr_open(w);
    for (size_t i = 0; i < m->u.object.len; i++) {
        if (user_claim_known(m->u.object.keys[i])) {
            gw_jw_str(w, m->u.object.keys[i]);
            count++;
        }
    }
    gw_jw_arr_close(w);
    size_t len = 0;
    const char *buf = gw_jw_buf(w, &len);
    char *out = (count > 0 && buf != NULL) ? gw_strndup(buf, len) : NULL;
    gw_jw_free(w);
    return out;
}

/* ---- payloads --------------------------------------------------------------- */

static int finish(gw_jw_t *w, char **out, size_t *len, gw_err_t *err)
{
    size_t n = 0;
    const char *buf = gw_jw_buf(w, &n);
    if (buf == NULL) {
        gw_jw_error(w, err);
        gw_jw_free(w);
        return -1;
    }
    *out = gw_strndup(buf, n);
    *len = n;
    gw_jw_free(w);
    return 0;
}

static void user_auth_claims(gw_jw_t *w, const oidc_grant_t *g)
{
    if (g->auth_time > 0)
        gw_jw_kv_int64(w, "auth_time", g->auth_time);
    if (g->acr != NULL && *g->acr != '\0')
        gw_jw_kv_str(w, "acr", g->acr);
    if (g->amr_json != NULL && g->amr_json[0] == '[')
        gw_jw_kv_raw(w, "amr", g->amr_json, strlen(g->amr_json));
}

int oidc_jwt_access_payload(const oidc_grant_t *g, const char *jti, int64_t iat, int64_t exp, char **out,
                            size_t *len, gw_err_t *err)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "iss", g->issuer);
    gw_jw_kv_str(w, "sub", g->sub);
    /* RFC 9068 §3: aud names the resource server; the protected resources
     * (userinfo, SCIM, admin) are ours, so it is the issuer. */
    gw_jw_kv_str(w, "aud", g->issuer);
    gw_jw_kv_int64(w, "exp", exp);
    gw_jw_kv_int64(w, "iat", iat);
    gw_jw_kv_str(w, "jti", jti);
    gw_jw_kv_str(w, "client_id", g->client_id);
    gw_jw_kv_str(w, "scope", g->scope);
    user_auth_claims(w, g);
    if (g->gid != NULL)
        gw_jw_kv_str(w, "gid", g->gid);
    if (g->uic_json != NULL && g->uic_json[0] == '[')
        gw_jw_kv_raw(w, "uic", g->uic_json, strlen(g->uic_json));
    gw_jw_obj_close(w);
    return finish(w, out, len, err);
}

static int reserved_id_claim(const char *name)
{
    static const char *const R[] = {"iss",   "sub", "aud", "exp", "iat",     "auth_time",
                                    "nonce", "acr", "amr", "sid", "at_hash", "azp"};
    for (size_t i = 0; i < sizeof(R) / sizeof(R[0]); i++)
        if (strcmp(R[i], name) == 0)
            return 1;
    return 0;
}

int oidc_jwt_id_payload(const oidc_grant_t *g, const oidc_user_info_t *u, yajl_val requested,
                        const char *at_hash, int64_t iat, int64_t exp, char **out, size_t *len, gw_err_t *err)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "iss", g->issuer);
    gw_jw_kv_str(w, "sub", g->sub);
    gw_jw_kv_str(w, "aud", g->client_id);
    gw_jw_kv_int64(w, "exp", exp);
    gw_jw_kv_int64(w, "iat", iat);
    user_auth_claims(w, g);
    /* §3.1.3.6: nonce only when the authentication request had one. */
    if (g->nonce != NULL && *g->nonce != '\0')
        gw_jw_kv_str(w, "nonce", g->nonce);
    if (g->sid != NULL && *g->sid != '\0')
        gw_jw_kv_str(w, "sid", g->sid);
    gw_jw_kv_str(w, "azp", g->client_id);
    if (at_hash != NULL)
        gw_jw_kv_str(w, "at_hash", at_hash);
    /* §5.4: with the code flow the scope claims are served by UserInfo; the
     * ID token carries only what the claims request (§5.5) asks of it. */
    if (requested != NULL && YAJL_IS_OBJECT(requested))
        for (size_t i = 0; i < requested->u.object.len; i++)
            if (!reserved_id_claim(requested->u.object.keys[i]))
                oidc_claim_write(w, u, requested->u.object.keys[i]);
    gw_jw_obj_close(w);
    return finish(w, out, len, err);
}

void oidc_at_hash(const char *token, size_t len, char out[OIDC_AT_HASH_LEN + 1])
{
    uint8_t digest[GW_SHA256_LEN];
    gw_sha256(token, len, digest);
    gw_b64url_encode(digest, GW_SHA256_LEN / 2, out);
}

void oidc_jti_new(char out[OIDC_JTI_LEN + 1])
{
    uint8_t raw[16];
    gw_random_bytes(raw, sizeof(raw));
    gw_b64url_encode(raw, sizeof(raw), out);
}

/* ---- signing ------------------------------------------------------------------ */

/* gw_jws_sign sets up a fresh EVP_DigestSign context per call, and in
 * OpenSSL 3 that setup (algorithm fetches through the provider name map, under
 * its read lock) costs about as much as the P-256 signature itself: measured
 * 40 us per token against 20 us for the signature. /token with
 * client_credentials is the hot path, so each loop thread keeps one
 * EVP_PKEY_CTX per algorithm, initialised once for the current key, and signs
 * a SHA-256 digest with it. The context holds a reference to its key, so a
 * rotated key stays alive until the thread replaces the context. Every context
 * is also listed in g_ctx_all, which keeps it reachable for leak checkers
 * after its thread ends. */
#define SIGN_SLOTS  2 /* ES256, RS256 */
#define CTX_ALL_MAX 256

typedef struct {
    EVP_PKEY *key; /* identity only: the reference is the context's */
    EVP_PKEY_CTX *ctx;
} sign_slot_t;

static _Thread_local sign_slot_t g_slots[SIGN_SLOTS];
static pthread_mutex_t g_ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static EVP_PKEY_CTX *g_ctx_all[CTX_ALL_MAX];
static pthread_once_t g_md_once = PTHREAD_ONCE_INIT;
static EVP_MD *g_sha256;

static void md_init(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static int ctx_track(EVP_PKEY_CTX *add, EVP_PKEY_CTX *drop)
{
    int ok = 0;
    pthread_mutex_lock(&g_ctx_lock);
    for (size_t i = 0; i < CTX_ALL_MAX; i++) {
        if (drop != NULL && g_ctx_all[i] == drop)
            g_ctx_all[i] = NULL;
    }
    for (size_t i = 0; add != NULL && i < CTX_ALL_MAX && !ok; i++) {
        if (g_ctx_all[i] == NULL) {
            g_ctx_all[i] = add;
            ok = 1;
        }
    }
    pthread_mutex_unlock(&g_ctx_lock);
    return ok;
}

static EVP_PKEY_CTX *sign_ctx(EVP_PKEY *key, int rsa)
{
    sign_slot_t *slot = &g_slots[rsa];
    if (slot->key == key && slot->ctx != NULL)
        return slot->ctx;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
        (rsa && (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
                 EVP_PKEY_CTX_set_signature_md(ctx, g_sha256) != 1)) ||
        !ctx_track(ctx, NULL)) {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    if (slot->ctx != NULL) {
        ctx_track(NULL, slot->ctx);
        EVP_PKEY_CTX_free(slot->ctx);
    }
    slot->key = key;
    slot->ctx = ctx;
    return ctx;
}

/* RFC 7518 §3.4: an ES256 signature is R || S, 32 bytes each, not DER. */
static int ecdsa_der_to_raw(const uint8_t *der, size_t len, uint8_t raw[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    const BIGNUM *r = NULL, *s = NULL;
    int ok = 0;
    if (sig != NULL) {
        ECDSA_SIG_get0(sig, &r, &s);
        ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
        ECDSA_SIG_free(sig);
    }
    return ok;
}

/* Compact JWS (RFC 7515 §7.1) with a cached context; -1 when anything fails,
 * and the caller falls back to gw_jws_sign. */
static int sign_fast(const gw_signing_key_t *key, const char *header, size_t hlen, const char *payload,
                     size_t plen, char **out)
{
    int rsa = strcmp(key->alg, "RS256") == 0;
    pthread_once(&g_md_once, md_init);
    EVP_PKEY_CTX *ctx = g_sha256 != NULL ? sign_ctx(key->pkey, rsa) : NULL;
    if (ctx == NULL)
        return -1;
    size_t h64 = GW_B64URL_LEN(hlen), p64 = GW_B64URL_LEN(plen);
    char *buf = gw_malloc(h64 + p64 + GW_B64URL_LEN(GW_JWS_MAX_SIG) + 4);
    size_t n = gw_b64url_encode((const uint8_t *)header, hlen, buf);
    buf[n++] = '.';
    n += gw_b64url_encode((const uint8_t *)payload, plen, buf + n);
    uint8_t digest[GW_SHA256_LEN], sig[GW_JWS_MAX_SIG + 16], raw[64];
    unsigned int dlen = 0;
    size_t slen = sizeof(sig);
    if (EVP_Digest(buf, n, digest, &dlen, g_sha256, NULL) != 1 ||
        EVP_PKEY_sign(ctx, sig, &slen, digest, sizeof(digest)) != 1 ||
        (!rsa && !ecdsa_der_to_raw(sig, slen, raw))) {
        ERR_clear_error();
        free(buf);
        return -1;
    }
    buf[n++] = '.';
    n += gw_b64url_encode(rsa ? sig : raw, rsa ? slen : 64, buf + n);
    buf[n] = '\0';
    *out = buf;
    return 0;
}

int oidc_jwt_sign(const char *alg, const char *typ, const char *payload, size_t len, char **out,
                  gw_err_t *err)
{
    gw_keyset_t *ks = gw_keys_acquire();
    if (ks == NULL)
        return GW_ERR(err, GW_E_INTERNAL, "no signing key");
    const gw_signing_key_t *key = gw_keyset_current(ks, alg);
    int rc = -1;
    if (key == NULL) {
        GW_ERRF(err, GW_E_INTERNAL, "no %s signing key", alg);
        goto out;
    }
    char header[GW_KID_MAX + 96];
    /* kid is an RFC 7638 thumbprint (base64url), typ a constant: no escaping. */
    int hlen = typ != NULL
                   ? snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"%s\"}",
                              key->alg, key->kid, typ)
                   : snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}", key->alg, key->kid);
    if (hlen > 0 && (size_t)hlen < sizeof(header) &&
        sign_fast(key, header, (size_t)hlen, payload, len, out) == 0) {
        rc = 0;
        goto out;
    }
    /* gw_jws_sign wants the members after "alg" without braces. */
    char extra[GW_KID_MAX + 64];
    if (typ != NULL)
        snprintf(extra, sizeof(extra), "\"kid\":\"%s\",\"typ\":\"%s\"", key->kid, typ);
    else
        snprintf(extra, sizeof(extra), "\"kid\":\"%s\"", key->kid);
    rc = gw_jws_sign(key->pkey, key->alg, extra, payload, len, out, err);
out:
    gw_keys_release(ks);
    return rc;
}
