/* POST /introspect (RFC 7662). The caller authenticates as a client.
 *
 * Who may introspect what (§2.1 leaves it to the server, §4 asks to limit
 * it): a confidential client may introspect the tokens issued to itself; a
 * client allowed the `admin` scope (a resource server run by the operator)
 * may introspect any token. Public clients (auth method none, identified by
 * client_id alone) learn nothing. Everything not allowed, unknown, invalid,
 * expired, revoked or rotated gets {"active":false} and nothing more (§2.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/secrets.h"
#include "oidc/tokens_internal.h"

/* Identifies this file's per-request state (gw_req_state). */
static const char STATE_TAG = 0;

#define TOKEN_MAX GW_JWS_MAX_LEN

typedef struct {
    const oidc_client_t *client;
    oidc_access_t at;
} introspect_state_t;

static void inactive(gw_req_t *r)
{
    gw_reply_json(r, 200, "{\"active\":false}", 16);
}

static int may_see(const oidc_client_t *c, const char *token_client)
{
    return strcmp(c->id, token_client) == 0 || oidc_client_scope_ok(c, "admin", 5);
}

static void on_access(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    introspect_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    const char *user_name = store_value(res, 0, 0), *revoked = store_value(res, 0, 1);
    const char *gid = oidc_access_gid(&st->at);
    if (revoked == NULL || revoked[0] != 'f' || (gid != NULL && user_name == NULL)) {
        inactive(r);
        return;
    }
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_bool(w, "active", true);
    gw_jw_kv_str(w, "scope", st->at.scope);
    gw_jw_kv_str(w, "client_id", st->at.client_id);
    if (user_name != NULL)
        gw_jw_kv_str(w, "username", user_name);
    gw_jw_kv_str(w, "token_type", "Bearer");
    gw_jw_kv_int64(w, "exp", st->at.exp);
    gw_jw_kv_int64(w, "iat", st->at.iat);
    gw_jw_kv_str(w, "sub", st->at.sub);
    gw_jw_kv_str(w, "aud", oidc_cfg->issuer);
    gw_jw_kv_str(w, "iss", oidc_cfg->issuer);
    gw_jw_kv_str(w, "jti", st->at.jti);
    gw_jw_obj_close(w);
    gw_reply_jw(r, 200, w);
}

static void on_refresh(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    introspect_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    const char *active = PQntuples(res) == 1 ? store_value(res, 0, 6) : NULL;
    const char *client_id = active ? store_value(res, 0, 0) : NULL;
    if (active == NULL || active[0] != 't' || client_id == NULL || !may_see(st->client, client_id)) {
        inactive(r);
        return;
    }
    const char *exp = store_value(res, 0, 3), *iat = store_value(res, 0, 4),
               *user_name = store_value(res, 0, 5);
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_bool(w, "active", true);
    gw_jw_kv_str(w, "scope", store_value(res, 0, 2));
    gw_jw_kv_str(w, "client_id", client_id);
    if (user_name != NULL)
        gw_jw_kv_str(w, "username", user_name);
    /* No token_type: RFC 7662 §2.2 means the access token type of RFC 6749
     * §5.1 ("Bearer"), which a refresh token has none of; "refresh_token"
     * is a token_type_hint (RFC 7009 §2.1), not a type. */
    gw_jw_kv_int64(w, "exp", exp ? strtoll(exp, NULL, 10) : 0);
    gw_jw_kv_int64(w, "iat", iat ? strtoll(iat, NULL, 10) : 0);
    gw_jw_kv_str(w, "sub", store_value(res, 0, 1));
    gw_jw_kv_str(w, "aud", client_id);
    gw_jw_kv_str(w, "iss", oidc_cfg->issuer);
    gw_jw_obj_close(w);
    gw_reply_jw(r, 200, w);
}

static void on_client(gw_req_t *r, const oidc_client_t *c, const gw_kvs_t *form)
{
    h2o_iovec_t token;
    if (oidc_token_param_or_reply(r, form, &token) != 0)
        return;
    if (c->auth_method == OIDC_AUTH_NONE || token.len > TOKEN_MAX) {
        inactive(r);
        return;
    }
    introspect_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    st->client = c;
    if (oidc_token_is_jwt(token)) {
        gw_err_t err;
        if (oidc_access_verify(&r->req->pool, oidc_cfg->issuer, token.base, token.len, oidc_now(), &st->at,
                               &err) != 0 ||
            !may_see(c, st->at.client_id)) {
            inactive(r);
            return;
        }
        const char *gid = oidc_access_gid(&st->at);
        char iat[24];
        snprintf(iat, sizeof(iat), "%lld", (long long)st->at.iat);
        const char *params[5] = {gid != NULL ? st->at.sub : NULL, st->at.jti, gid, st->at.client_id, iat};
        gw_req_query_or_reply(r, &OIDC_STMT_USER_NAME, params, on_access);
        return;
    }
    char hash[GW_SECRET_HASH_HEX_LEN + 1];
    gw_secret_hash_hex(token.base, token.len, hash);
    const char *params[1] = {hash};
    gw_req_query_or_reply(r, &OIDC_STMT_REFRESH_INTROSPECT, params, on_refresh);
}

static void on_introspect(gw_req_t *r)
{
    gw_kvs_t *form = gw_req_alloc(r, sizeof(*form));
    if (gw_req_form_or_reply(r, form) != 0 || oidc_form_no_repeats_or_reply(r, form) != 0)
        return;
    oidc_client_authenticate(r, form, on_client);
}

static gw_route_t ROUTE_INTROSPECT = {"/introspect", GW_POST, GW_ROUTE_NO_STORE, on_introspect, NULL,
                                      NULL,          0};

void oidc_introspect_register(void)
{
    gw_route_register(&ROUTE_INTROSPECT);
}
