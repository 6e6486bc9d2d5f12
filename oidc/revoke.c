/* POST /revoke (RFC 7009). The client authenticates, then the server
 * "verifies whether the token was issued to the client making the
 * revocation request. If this validation fails, the request is refused and
 * the client is informed of the error" (§2.1): a live token of another
 * client gets invalid_grant, RFC 6749 §5.2's error for a grant that "was
 * issued to another client", and stays live. An invalid or unknown token is
 * not an error (§2.2): 200, as for a token revoked.
 *
 * A refresh token revokes its whole grant family, access tokens included
 * (§2.1 SHOULD); an access token is listed by jti until its exp. */
#include <stdio.h>
#include <string.h>

#include "gateway/log.h"
#include "gateway/secrets.h"
#include "oidc/tokens_internal.h"

#define TOKEN_MAX GW_JWS_MAX_LEN

static void reply_ok(gw_req_t *r)
{
    gw_reply(r, 200, "application/json", "", 0);
}

static void refuse_foreign(gw_req_t *r)
{
    gw_reply_fail(r, GW_E_INVALID_GRANT, "the token was issued to another client");
}

static void on_done(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    if (qerr != NULL) {
        /* §2.2.1: 503 when revocation could not be done; the client retries. */
        gw_reply_error(r, qerr);
        return;
    }
    const char *status = res != NULL && PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
    if (status != NULL && strcmp(status, "wrong_client") == 0)
        refuse_foreign(r);
    else
        reply_ok(r);
}

static void on_client(gw_req_t *r, const oidc_client_t *c, const gw_kvs_t *form)
{
    h2o_iovec_t token;
    if (oidc_token_param_or_reply(r, form, &token) != 0)
        return;
    if (token.len > TOKEN_MAX) {
        reply_ok(r);
        return;
    }
    /* The hint is only a hint (§2.1): the token's shape decides. */
    if (oidc_token_is_jwt(token)) {
        oidc_access_t at;
        gw_err_t err;
        if (oidc_access_verify(&r->req->pool, oidc_cfg->issuer, token.base, token.len, oidc_now(), &at,
                               &err) != 0) {
            reply_ok(r);
            return;
        }
        if (strcmp(at.client_id, c->id) != 0) {
            refuse_foreign(r);
            return;
        }
        char exp[24];
        snprintf(exp, sizeof(exp), "%lld", (long long)at.exp);
        const char *params[2] = {at.jti, exp};
        gw_req_query_or_reply(r, &OIDC_STMT_AT_REVOKE, params, on_done);
        return;
    }
    char hash[GW_SECRET_HASH_HEX_LEN + 1];
    gw_secret_hash_hex(token.base, token.len, hash);
    const char *params[2] = {hash, c->id};
    gw_req_query_or_reply(r, &OIDC_STMT_REFRESH_REVOKE, params, on_done);
}

static void on_revoke(gw_req_t *r)
{
    gw_kvs_t *form = gw_req_alloc(r, sizeof(*form));
    if (gw_req_form_or_reply(r, form) != 0 || oidc_form_no_repeats_or_reply(r, form) != 0)
        return;
    oidc_client_authenticate(r, form, on_client);
}

static gw_route_t ROUTE_REVOKE = {"/revoke", GW_POST, GW_ROUTE_NO_STORE, on_revoke, NULL, NULL, 0};

void oidc_revoke_register(void)
{
    gw_route_register(&ROUTE_REVOKE);
}
