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
#include "oidc/oidc.h"
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
        /* verified_claims: /userinfo looks up the request itself (it is an
         * object, not a name), so uic only says it was asked for. */
        if (user_claim_known(m->u.object.keys[i]) || strcmp(m->u.object.keys[i], "verified_claims") == 0) {
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
    /* OpenID Connect for Identity Assurance 1.0 §6: the verified identity
     * of a recovery session, trimmed to what the relying party asked for. */
    if (g->verified_claims_json != NULL && requested != NULL &&
        oidc_verified_claims_write(w, g->verified_claims_json, gw_json_get(requested, "verified_claims"),
                                   iat)) {
        /* OIDC Core §5.6.2: the provider's own signed result as an
         * aggregated claim source, so the relying party can check the
         * provider's signature itself. */
        if (g->provider_result_jwt != NULL) {
            gw_jw_key(w, "_claim_names");
            gw_jw_obj_open(w);
            gw_jw_kv_str(w, "verified_claims", "idv");
            gw_jw_obj_close(w);
            gw_jw_key(w, "_claim_sources");
            gw_jw_obj_open(w);
            gw_jw_key(w, "idv");
            gw_jw_obj_open(w);
            gw_jw_kv_str(w, "JWT", g->provider_result_jwt);
            gw_jw_obj_close(w);
            gw_jw_obj_close(w);
        }
    }
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

unsigned oidc_signed_ttl_max_s(const gw_config_t *cfg)
{
    unsigned ttl = OIDC_RECOVERY_EVENT_TTL_S;
    if (cfg->oidc.access_token_ttl_s > ttl)
        ttl = cfg->oidc.access_token_ttl_s;
    if (cfg->oidc.id_token_ttl_s > ttl)
        ttl = cfg->oidc.id_token_ttl_s;
    return ttl;
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
    /* kid is an RFC 7638 thumbprint (base64url), typ a constant: no escaping.
     * Copied rather than printed: snprintf took 1,600 instructions a token. */
    char extra[GW_KID_MAX + 64], *p = extra;
    size_t kid_len = strnlen(key->kid, GW_KID_MAX), typ_len = typ != NULL ? strlen(typ) : 0;
    if (typ_len > 32) {
        GW_ERR(err, GW_E_INTERNAL, "token type too long");
        goto out;
    }
    memcpy(p, "\"kid\":\"", 7);
    p += 7;
    memcpy(p, key->kid, kid_len);
    p += kid_len;
    *p++ = '"';
    if (typ != NULL) {
        memcpy(p, ",\"typ\":\"", 8);
        p += 8;
        memcpy(p, typ, typ_len);
        p += typ_len;
        *p++ = '"';
    }
    *p = '\0';
    rc = gw_jws_sign(key->pkey, key->alg, extra, payload, len, out, err);
out:
    gw_keys_release(ks);
    return rc;
}
