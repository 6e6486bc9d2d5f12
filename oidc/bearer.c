/* Bearer access tokens (RFC 6750) on our protected resources: the JWT access
 * tokens of RFC 9068 that /token issues, verified with the signing key the
 * header names (alg pinned by that key, never taken from the token), then one
 * query for revocation: the token's jti, and its grant family (gid). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/keys.h"
#include "gateway/log.h"
#include "oidc/tokens_internal.h"

/* Identifies this file's per-request state (gw_req_state). */
static const char STATE_TAG = 0;

static int bad(gw_err_t *err, const char *why)
{
    return GW_ERR(err, GW_E_INVALID_TOKEN, why);
}

static int str_is(yajl_val v, const char *want)
{
    const char *s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
    return s != NULL && strcmp(s, want) == 0;
}

static int aud_ok(yajl_val aud, const char *issuer)
{
    if (str_is(aud, issuer))
        return 1;
    if (YAJL_IS_ARRAY(aud))
        for (size_t i = 0; i < aud->u.array.len; i++)
            if (str_is(aud->u.array.values[i], issuer))
                return 1;
    return 0;
}

int oidc_access_verify(h2o_mem_pool_t *pool, const char *issuer, const char *token, size_t len, int64_t now,
                       oidc_access_t *out, gw_err_t *err)
{
    gw_jws_t jws = {0};
    char *payload = NULL;
    gw_keyset_t *ks = NULL;
    int rc = -1;
    if (gw_jws_parse(token, len, &jws, err) != 0)
        return -1;
    gw_err_t perr;
    yajl_val header = gw_json_parse(jws.header, jws.header_len, NULL, &perr);
    const char *kid = gw_json_str(header, "kid"), *typ = gw_json_str(header, "typ");
    /* RFC 9068 §4: typ must be at+jwt (an ID token is not an access token). */
    if (typ == NULL || (strcasecmp(typ, "at+jwt") != 0 && strcasecmp(typ, "application/at+jwt") != 0)) {
        bad(err, "not an access token");
        goto out;
    }
    if (kid == NULL) {
        bad(err, "token names no key");
        goto out;
    }
    ks = gw_keys_acquire();
    const gw_signing_key_t *key = NULL;
    for (size_t i = 0; ks != NULL && i < ks->count; i++)
        if (strcmp(ks->keys[i].kid, kid) == 0)
            key = &ks->keys[i];
    if (key == NULL) {
        /* OIDC Core §10.1.1: an unfamiliar kid may be a key published since
         * this process last polled. This token is refused; the next ones
         * find the key, without waiting for keys.refresh_interval_ms. */
        gw_keys_reload_soon();
        bad(err, "token signed by an unknown key");
        goto out;
    }
    if (gw_jws_verify(key->pkey, key->alg, token, len, NULL, &payload, err) != 0) {
        err->kind = GW_E_INVALID_TOKEN;
        goto out;
    }
    gw_json_limits_t lim = {.max_bytes = GW_JWS_MAX_LEN, .max_depth = 8, .require_object = true};
    yajl_val claims = gw_json_parse_pool(pool, payload, strlen(payload), &lim, &perr);
    if (claims == NULL) {
        bad(err, "token claims are not a JSON object");
        goto out;
    }
    int64_t exp = 0;
    const char *iss = gw_json_str(claims, "iss");
    if (iss == NULL || strcmp(iss, issuer) != 0) {
        bad(err, "token from another issuer");
        goto out;
    }
    if (!aud_ok(gw_json_get(claims, "aud"), issuer)) {
        bad(err, "token for another audience");
        goto out;
    }
    if (gw_json_get_int64(claims, "exp", &exp) != GW_JSON_OK || exp <= now) {
        bad(err, "token expired");
        goto out;
    }
    out->sub = gw_json_str(claims, "sub");
    out->client_id = gw_json_str(claims, "client_id");
    out->jti = gw_json_str(claims, "jti");
    out->scope = gw_json_str(claims, "scope");
    out->exp = exp;
    out->iat = 0;
    gw_json_get_int64(claims, "iat", &out->iat);
    out->claims = claims;
    if (out->sub == NULL || out->client_id == NULL || out->jti == NULL) {
        bad(err, "token lacks sub, client_id or jti");
        goto out;
    }
    if (out->scope == NULL)
        out->scope = "";
    rc = 0;
out:
    gw_keys_release(ks);
    free(payload);
    if (header != NULL)
        yajl_tree_free(header);
    gw_jws_dispose(&jws);
    return rc;
}

const char *oidc_access_gid(const oidc_access_t *at)
{
    return gw_json_str(at->claims, "gid");
}

/* ---- the HTTP side ---------------------------------------------------------- */

typedef struct {
    oidc_bearer_cb cb;
    const char *scope;
    oidc_access_t at;
} bearer_state_t;

/* RFC 6750 §3: the challenge. error_description must be a quoted-string
 * without '"' or '\' (§3 and RFC 9110 §5.6.4); ours are constants, but be
 * strict anyway. */
static void challenge(gw_req_t *r, const char *error, const char *desc, const char *scope)
{
    char v[512], d[200];
    size_t n = 0;
    for (; desc != NULL && desc[n] != '\0' && n < sizeof(d) - 1; n++)
        d[n] = (desc[n] == '"' || desc[n] == '\\' || (unsigned char)desc[n] < 0x20) ? ' ' : desc[n];
    d[n] = '\0';
    int len;
    if (error == NULL)
        len = snprintf(v, sizeof(v), "Bearer realm=\"regain\"");
    else if (scope != NULL)
        len = snprintf(v, sizeof(v),
                       "Bearer realm=\"regain\", error=\"%s\", error_description=\"%s\", scope=\"%s\"", error,
                       d, scope);
    else
        len = snprintf(v, sizeof(v), "Bearer realm=\"regain\", error=\"%s\", error_description=\"%s\"", error,
                       d);
    if (len > 0)
        gw_reply_header(r, "www-authenticate", v, (size_t)len < sizeof(v) ? (size_t)len : sizeof(v) - 1);
}

static void reply_bearer_error(gw_req_t *r, gw_err_kind_t kind, const char *desc, const char *scope)
{
    const char *code = kind == GW_E_INSUFFICIENT_SCOPE ? "insufficient_scope"
                       : kind == GW_E_INVALID_REQUEST  ? "invalid_request"
                                                       : "invalid_token";
    challenge(r, code, desc, scope);
    gw_reply_fail(r, kind, desc);
}

static void on_revoked(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    bearer_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    const char *revoked = store_value(res, 0, 0);
    if (revoked == NULL || revoked[0] != 'f') {
        reply_bearer_error(r, GW_E_INVALID_TOKEN, "token revoked", NULL);
        return;
    }
    if (st->scope != NULL && !oidc_scope_has(st->at.scope, strlen(st->at.scope), st->scope)) {
        /* RFC 6750 §3.1: 403 insufficient_scope, naming the scope needed. */
        reply_bearer_error(r, GW_E_INSUFFICIENT_SCOPE, "token lacks the required scope", st->scope);
        return;
    }
    st->cb(r, &st->at);
}

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int b64token(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n &&
           ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
            strchr("-._~+/", s[i]) != NULL) &&
           s[i] != '\0')
        i++;
    if (i == 0)
        return 0;
    while (i < n && s[i] == '=')
        i++;
    return i == n;
}

/* The token from the Authorization header or, for a form POST, the body's
 * access_token (§2.2); more than one method is invalid_request (§3.1). */
static int find_token(gw_req_t *r, h2o_iovec_t *token)
{
    h2o_iovec_t h = gw_req_header(r, "authorization");
    h2o_iovec_t body = {NULL, 0};
    token->base = NULL;
    token->len = 0;
    h2o_iovec_t ct = gw_req_header(r, "content-type");
    if (r->req->entity.base != NULL && r->req->entity.len > 0 && ct.base != NULL && ct.len >= 33 &&
        strncasecmp(ct.base, "application/x-www-form-urlencoded", 33) == 0) {
        gw_kvs_t form;
        gw_err_t err;
        if (gw_form_parse(&r->req->pool, r->req->entity.base, r->req->entity.len, GW_MAX_PARAMS, &form,
                          &err) != 0 ||
            gw_kvs_get_once(&form, "access_token", &body, &err) != 0) {
            reply_bearer_error(r, GW_E_INVALID_REQUEST, "malformed request body", NULL);
            return -1;
        }
    }
    if (h.base != NULL) {
        if (body.base != NULL) {
            reply_bearer_error(r, GW_E_INVALID_REQUEST, "access token sent in more than one way", NULL);
            return -1;
        }
        /* The scheme is case-insensitive (RFC 9110 §11.1). */
        if (h.len < 7 || strncasecmp(h.base, "Bearer ", 7) != 0)
            return 0;
        size_t i = 7;
        while (i < h.len && h.base[i] == ' ')
            i++;
        if (!b64token(h.base + i, h.len - i)) {
            reply_bearer_error(r, GW_E_INVALID_TOKEN, "malformed access token", NULL);
            return -1;
        }
        *token = h2o_iovec_init(h.base + i, h.len - i);
        return 0;
    }
    *token = body;
    return 0;
}

void oidc_bearer_authorize(gw_req_t *r, const char *required_scope, oidc_bearer_cb cb)
{
    h2o_iovec_t token;
    gw_err_t err;
    if (find_token(r, &token) != 0)
        return;
    if (token.base == NULL) {
        /* §3.1: no authentication information, so no error code. */
        challenge(r, NULL, NULL, NULL);
        gw_reply_fail(r, GW_E_INVALID_TOKEN, "an access token is required");
        return;
    }
    bearer_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    st->cb = cb;
    st->scope = required_scope;
    if (oidc_access_verify(&r->req->pool, oidc_cfg->issuer, token.base, token.len, oidc_now(), &st->at,
                           &err) != 0) {
        reply_bearer_error(r, GW_E_INVALID_TOKEN,
                           err.kind == GW_E_INVALID_TOKEN ? err.public : "invalid token", NULL);
        return;
    }
    char iat[24];
    snprintf(iat, sizeof(iat), "%lld", (long long)st->at.iat);
    const char *params[4] = {st->at.jti, oidc_access_gid(&st->at), st->at.client_id, iat};
    gw_req_query_or_reply(r, &OIDC_STMT_AT_REVOKED, params, on_revoked);
}
