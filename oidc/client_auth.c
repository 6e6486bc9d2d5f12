/* Client authentication at the token, revocation and introspection
 * endpoints (RFC 6749 §2.3, OIDC Core §9): client_secret_basic,
 * client_secret_post, private_key_jwt (RFC 7523) and none (public clients).
 *
 * Hot path: with the client cached, a secret check is one HMAC and one
 * constant-time compare, no database. Only private_key_jwt touches
 * PostgreSQL per request, to make each assertion's jti single-use. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/crypto.h"
#include "gateway/log.h"
#include "gateway/secrets.h"
#include "oidc/clients_internal.h"

typedef struct {
    oidc_client_auth_cb cb;
    const gw_kvs_t *form;
    int method; /* OIDC_AUTH_* presented */
    h2o_iovec_t secret;
    h2o_iovec_t assertion;
    const oidc_client_t *client;
} auth_t;

/* RFC 6749 §5.2: invalid_client is 401 here, naming the HTTP scheme a
 * client may use: required when the client tried the Authorization header,
 * and for any 401 by RFC 9110 §15.5.2 ("The server generating a 401
 * response MUST send a WWW-Authenticate header field"). The public message
 * never says whether the client exists. */
static void fail(gw_req_t *r, const char *public_msg, const char *why, const char *client_id)
{
    gw_log_write(GW_LOG_INFO, __func__, r->id, "client authentication failed: %s (client %.128s)", why,
                 client_id ? client_id : "-");
    gw_reply_header(r, "www-authenticate", H2O_STRLIT("Basic realm=\"regain\""));
    gw_reply_fail(r, GW_E_INVALID_CLIENT, public_msg);
}

static const char GENERIC[] = "client authentication failed";

/* ---- private_key_jwt -------------------------------------------------------- */

static void on_jti(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    auth_t *a = data;
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    if (PQntuples(res) != 1) {
        fail(r, "client_assertion was already used (jti)", "jti replay", a->client->id);
        return;
    }
    a->cb(r, a->client, a->form);
}

/* The client's key for this assertion: the one named by kid, else every key
 * whose type fits the header's alg. The algorithm comes from the key, never
 * from the token (RFC 8725 §3.1). Returns 0 with the verified payload. */
static int verify_assertion(const oidc_client_t *c, const gw_jws_t *jws, const char *compact, size_t len,
                            char **payload)
{
    gw_err_t err;
    const char *kid = NULL;
    gw_json_limits_t lim = {.max_bytes = 4096, .max_depth = 4, .require_object = true};
    yajl_val hdr = gw_json_parse(jws->header, jws->header_len, &lim, &err);
    if (hdr == NULL)
        return -1;
    kid = gw_json_str(hdr, "kid");
    int rc = -1;
    for (size_t i = 0; i < c->jwks_count && rc != 0; i++) {
        if (kid != NULL && strcmp(kid, c->jwks_kids[i]) != 0)
            continue;
        const char *alg = gw_key_jws_alg(c->jwks[i]);
        if (alg == NULL || strcmp(alg, jws->alg) != 0)
            continue;
        rc = gw_jws_verify(c->jwks[i], alg, compact, len, NULL, payload, &err);
    }
    yajl_tree_free(hdr);
    return rc;
}

static void auth_private_key_jwt(gw_req_t *r, auth_t *a)
{
    const oidc_client_t *c = a->client;
    gw_jws_t jws;
    gw_err_t err;
    char *payload = NULL;
    if (gw_jws_parse(a->assertion.base, a->assertion.len, &jws, &err) != 0) {
        fail(r, "client_assertion is not a valid JWS", err.public, c->id);
        return;
    }
    int ok = verify_assertion(c, &jws, a->assertion.base, a->assertion.len, &payload) == 0;
    gw_jws_dispose(&jws);
    if (!ok) {
        fail(r, "client_assertion signature does not verify with the client's keys", "signature", c->id);
        return;
    }
    const char *issuer = oidc_cfg->issuer;
    size_t ilen = strlen(issuer);
    char *token_url = gw_req_alloc(r, ilen + sizeof("/token"));
    memcpy(token_url, issuer, ilen);
    memcpy(token_url + ilen, "/token", sizeof("/token"));
    char *jti = gw_req_alloc(r, OIDC_ASSERTION_JTI_MAX + 1);
    int64_t exp = 0;
    int rc = oidc_assertion_claims_check(payload, strlen(payload), c->id, issuer, token_url,
                                         (int64_t)time(NULL), jti, &exp, &err);
    free(payload);
    if (rc != 0) {
        fail(r, err.public, err.public, c->id);
        return;
    }
    /* Keep the jti while the assertion could still be accepted (exp plus
     * the skew we allow). */
    char *until = gw_req_alloc(r, 24);
    snprintf(until, 24, "%lld", (long long)(exp + OIDC_ASSERTION_SKEW_S));
    const char *params[3] = {c->id, jti, until};
    gw_req_query(r, &OIDC_STMT_CLIENT_JTI_USE, params, on_jti, a);
}

/* ---- after the lookup ---------------------------------------------------------- */

static void on_found(gw_req_t *r, void *data, const oidc_client_t *c, const gw_err_t *err)
{
    auth_t *a = data;
    if (c == NULL && err != NULL) {
        gw_reply_error(r, err);
        return;
    }
    if (c == NULL) {
        fail(r, GENERIC, "unknown client", NULL);
        return;
    }
    a->client = c;
    /* The registered method only: a client registered for private_key_jwt
     * cannot fall back to a secret, nor a confidential one to none. */
    if (c->auth_method != a->method) {
        fail(r, GENERIC, "method is not the registered one", c->id);
        return;
    }
    switch (a->method) {
    case OIDC_AUTH_SECRET_BASIC:
    case OIDC_AUTH_SECRET_POST: {
        uint8_t h[GW_SECRET_HASH_LEN];
        gw_secret_hash(a->secret.base, a->secret.len, h);
        int ok = c->has_secret && gw_ct_equal(h, c->secret_hash, sizeof(h));
        if (!ok) {
            fail(r, GENERIC, "wrong secret", c->id);
            return;
        }
        a->cb(r, c, a->form);
        return;
    }
    case OIDC_AUTH_PRIVATE_KEY_JWT:
        auth_private_key_jwt(r, a);
        return;
    default: /* none: a public client names itself; PKCE protects its code */
        a->cb(r, c, a->form);
        return;
    }
}

/* ---- which method was presented ------------------------------------------------- */

static int form_once(gw_req_t *r, const gw_kvs_t *form, const char *name, h2o_iovec_t *v)
{
    gw_err_t err;
    if (form == NULL) {
        *v = h2o_iovec_init(NULL, 0);
        return 0;
    }
    /* RFC 6749 §3.2: parameters MUST NOT be included more than once. */
    if (gw_kvs_get_once(form, name, v, &err) != 0) {
        gw_reply_error(r, &err);
        return -1;
    }
    return 0;
}

/* The client_id an assertion names, read before verification only to find
 * whose keys to verify it with (RFC 7523 §3: iss is the client_id). */
static h2o_iovec_t assertion_issuer(gw_req_t *r, h2o_iovec_t assertion)
{
    gw_jws_t jws;
    gw_err_t err;
    h2o_iovec_t out = h2o_iovec_init(NULL, 0);
    if (gw_jws_parse(assertion.base, assertion.len, &jws, &err) != 0)
        return out;
    gw_json_limits_t lim = {.max_bytes = GW_JWS_MAX_LEN, .max_depth = 8, .require_object = true};
    yajl_val claims = gw_json_parse(jws.payload, jws.payload_len, &lim, &err);
    const char *iss = gw_json_str(claims, "iss");
    if (iss != NULL)
        out = gw_req_strdup(r, iss, strlen(iss));
    yajl_tree_free(claims);
    gw_jws_dispose(&jws);
    return out;
}

void oidc_client_authenticate(gw_req_t *r, const gw_kvs_t *form, oidc_client_auth_cb cb)
{
    auth_t *a = gw_req_alloc(r, sizeof(*a));
    memset(a, 0, sizeof(*a));
    a->cb = cb;
    a->form = form;
    h2o_iovec_t form_id, form_secret, assertion, assertion_type, id = h2o_iovec_init(NULL, 0);
    if (form_once(r, form, "client_id", &form_id) != 0 ||
        form_once(r, form, "client_secret", &form_secret) != 0 ||
        form_once(r, form, "client_assertion", &assertion) != 0 ||
        form_once(r, form, "client_assertion_type", &assertion_type) != 0)
        return;

    int methods = 0;
    h2o_iovec_t authz = gw_req_header(r, "authorization");
    if (authz.base != NULL) {
        gw_err_t err;
        int rc = oidc_basic_auth_decode(&r->req->pool, authz.base, authz.len, &id, &a->secret, &err);
        if (rc == 1) {
            fail(r, "unsupported authentication scheme (use Basic)", "scheme", NULL);
            return;
        }
        if (rc != 0) {
            fail(r, err.public, err.public, NULL);
            return;
        }
        a->method = OIDC_AUTH_SECRET_BASIC;
        methods++;
    }
    if (form_secret.base != NULL) {
        a->method = OIDC_AUTH_SECRET_POST;
        a->secret = form_secret;
        id = methods ? id : form_id;
        methods++;
    }
    if (assertion.base != NULL || assertion_type.base != NULL) {
        a->method = OIDC_AUTH_PRIVATE_KEY_JWT;
        methods++;
    }
    /* RFC 6749 §2.3: a client MUST NOT use more than one method per request. */
    if (methods > 1) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "use exactly one client authentication method");
        return;
    }
    if (methods == 0) {
        if (form_id.base == NULL) {
            fail(r, "client authentication required", "no credentials", NULL);
            return;
        }
        a->method = OIDC_AUTH_NONE;
        id = form_id;
    }
    if (a->method == OIDC_AUTH_PRIVATE_KEY_JWT) {
        if (assertion_type.base == NULL || strcmp(assertion_type.base, OIDC_ASSERTION_TYPE_JWT) != 0) {
            fail(r, "client_assertion_type must be " OIDC_ASSERTION_TYPE_JWT, "assertion type", NULL);
            return;
        }
        if (assertion.base == NULL || assertion.len > GW_JWS_MAX_LEN) {
            fail(r, "client_assertion is missing or too long", "assertion", NULL);
            return;
        }
        a->assertion = assertion;
        id = form_id.base != NULL ? form_id : assertion_issuer(r, assertion);
        if (id.base == NULL) {
            fail(r, "client_assertion has no iss", "assertion iss", NULL);
            return;
        }
    }
    if (a->method == OIDC_AUTH_SECRET_BASIC || a->method == OIDC_AUTH_SECRET_POST) {
        if (a->secret.len == 0 || a->secret.len > OIDC_CLIENT_SECRET_MAX) {
            fail(r, GENERIC, "secret length", NULL);
            return;
        }
    }
    /* A client_id in the body next to other credentials must name the same
     * client (RFC 6749 §3.2.1 lets it be sent; it cannot differ). */
    if (form_id.base != NULL && (form_id.len != id.len || memcmp(form_id.base, id.base, id.len) != 0)) {
        fail(r, GENERIC, "client_id differs from the credentials", NULL);
        return;
    }
    oidc_client_lookup(r, id.base, id.len, on_found, a);
}
