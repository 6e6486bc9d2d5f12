/* SQL of pending authorization requests (schema/002_oidc.sql
 * authorization_requests): a validated request waits there, under an
 * unguessable id, while the user signs in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/authorize_internal.h"

/* Each insert also removes a few expired rows (OIDC_GC_EXPIRED). */
static store_stmt_t STMT_REQUEST_INSERT = {
    "authz_request_insert",
    "WITH " OIDC_GC_EXPIRED("authorization_requests",
                            "16") "INSERT INTO authorization_requests (client_id, params, expires_at)"
                                  " VALUES ($1, $2::jsonb, now() + make_interval(secs => $3::int))"
                                  " RETURNING id::text, floor(extract(epoch FROM created_at))::bigint",
    3, 0};

static store_stmt_t STMT_REQUEST_LOAD = {
    "authz_request_load",
    "SELECT params::text, floor(extract(epoch FROM created_at))::bigint FROM authorization_requests"
    " WHERE id = $1::uuid AND expires_at > now()",
    1, 0};

static store_stmt_t STMT_REQUEST_DROP = {
    "authz_request_drop", "DELETE FROM authorization_requests WHERE id = $1::uuid RETURNING id", 1, 0};

/* Levels as OIDC_ACR_LEVEL_* (oidc/internal.h): 1 password, 2 mfa, 3 phishing-resistant. */
static store_stmt_t STMT_ACR_REACH = {
    "authz_acr_reach",
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = u.id) THEN 3"
    " WHEN u.password_hash IS NOT NULL AND EXISTS (SELECT 1 FROM totp_authenticators"
    "  WHERE user_id = u.id AND confirmed) THEN 2 ELSE 1 END FROM users u WHERE u.id = $1::uuid",
    1, 0};

void oidc_authorize_db_register(void)
{
    store_stmt_register(&STMT_REQUEST_INSERT);
    store_stmt_register(&STMT_REQUEST_LOAD);
    store_stmt_register(&STMT_REQUEST_DROP);
    store_stmt_register(&STMT_ACR_REACH);
}

int oidc_az_request_drop_or_reply(gw_req_t *r, const char *id, gw_req_query_cb cb)
{
    const char *params[] = {id};
    return gw_req_query_or_reply(r, &STMT_REQUEST_DROP, params, cb);
}

int oidc_az_acr_reach_or_reply(gw_req_t *r, const char *user_id, gw_req_query_cb cb)
{
    const char *params[] = {user_id};
    return gw_req_query_or_reply(r, &STMT_ACR_REACH, params, cb);
}

int oidc_az_request_store_or_reply(gw_req_t *r, const oidc_az_request_t *a, gw_req_query_cb cb)
{
    h2o_iovec_t json = oidc_az_to_json(&r->req->pool, a);
    if (json.base == NULL) {
        gw_reply_fail(r, GW_E_INTERNAL, "could not store the request");
        return -1;
    }
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", OIDC_AZ_REQUEST_TTL_S);
    const char *params[] = {a->client_id.base, json.base, ttl};
    return gw_req_query_or_reply(r, &STMT_REQUEST_INSERT, params, cb);
}

int oidc_az_request_stored(const PGresult *res, char id[37], int64_t *created_at)
{
    if (res == NULL || PQntuples(res) != 1)
        return -1;
    const char *v = store_value(res, 0, 0), *c = store_value(res, 0, 1);
    if (v == NULL || c == NULL || !oidc_uuid_ok(v, strlen(v)))
        return -1;
    memcpy(id, v, 36);
    id[36] = '\0';
    *created_at = strtoll(c, NULL, 10);
    return 0;
}

int oidc_az_request_load_or_reply(gw_req_t *r, const char *id, gw_req_query_cb cb)
{
    const char *params[] = {id};
    return gw_req_query_or_reply(r, &STMT_REQUEST_LOAD, params, cb);
}

int oidc_az_request_loaded(const PGresult *res, const char **params_json, int64_t *created_at)
{
    if (res == NULL || PQntuples(res) != 1)
        return -1;
    const char *p = store_value(res, 0, 0), *c = store_value(res, 0, 1);
    if (p == NULL || c == NULL)
        return -1;
    *params_json = p;
    *created_at = strtoll(c, NULL, 10);
    return 0;
}
