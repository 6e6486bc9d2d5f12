/* grant_type=refresh_token (RFC 6749 §6, RFC 9700 §4.14.2): the presented
 * token is rotated in one statement; a token presented after it was rotated
 * revokes its whole family. The scope may be narrowed, never widened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/log.h"
#include "gateway/secrets.h"
#include "oidc/tokens_internal.h"

/* Identifies this file's per-request state (gw_req_state). */
static const char STATE_TAG = 0;

#define REFRESH_MAX 512

typedef struct {
    const oidc_client_t *client;
    char refresh[GW_SECRET_LEN + 1];
} refresh_state_t;

static void on_rotated(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    refresh_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    const char *status = store_value(res, 0, 0);
    if (status == NULL || strcmp(status, "ok") != 0) {
        gw_log_write(GW_LOG_INFO, __func__, r->id, "refresh token refused for client %s: %s", st->client->id,
                     status ? status : "no row");
        if (status != NULL && strcmp(status, "invalid_scope") == 0)
            gw_reply_fail(r, GW_E_INVALID_SCOPE, "scope exceeds the scope originally granted");
        else
            gw_reply_fail(r, GW_E_INVALID_GRANT,
                          "refresh token is invalid, expired, revoked or already used");
        return;
    }
    oidc_grant_t g = {0};
    oidc_user_info_t u = {0};
    yajl_val claims = oidc_token_grant_load(r, res, st->client, &g, &u);
    oidc_token_db_extras(res, 18, &g);
    /* OIDC Core §12.2: an ID token may come with a refreshed access token;
     * sub, aud, auth_time stay those of the original authentication. */
    oidc_token_grant_reply(r, st->client, &g, &u, claims, st->refresh);
}

void oidc_token_refresh(gw_req_t *r, const oidc_client_t *c, const gw_kvs_t *form)
{
    h2o_iovec_t token, scope;
    gw_err_t err;
    if (!(c->grants & OIDC_GRANT_REFRESH)) {
        gw_reply_fail(r, GW_E_UNAUTHORIZED_CLIENT, "the client may not use the refresh_token grant");
        return;
    }
    if (gw_kvs_get_once(form, "refresh_token", &token, &err) != 0 ||
        gw_kvs_get_once(form, "scope", &scope, &err) != 0) {
        gw_reply_error(r, &err);
        return;
    }
    if (token.base == NULL) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "refresh_token is required");
        return;
    }
    if (token.len > REFRESH_MAX) {
        gw_reply_fail(r, GW_E_INVALID_GRANT, "refresh token is invalid");
        return;
    }
    if (scope.base != NULL && !oidc_scope_valid(scope.base, scope.len)) {
        gw_reply_fail(r, GW_E_INVALID_SCOPE, "scope is malformed");
        return;
    }
    refresh_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    st->client = c;
    gw_secret_new(st->refresh);
    char old_hash[GW_SECRET_HASH_HEX_LEN + 1], new_hash[GW_SECRET_HASH_HEX_LEN + 1], ttl[16];
    gw_secret_hash_hex(token.base, token.len, old_hash);
    gw_secret_hash_hex(st->refresh, GW_SECRET_LEN, new_hash);
    snprintf(ttl, sizeof(ttl), "%u", oidc_cfg->oidc.refresh_token_ttl_s);
    const char *params[5] = {old_hash, c->id, new_hash, scope.base, ttl};
    gw_req_query_or_reply(r, &OIDC_STMT_REFRESH_ROTATE, params, on_rotated);
}
