/* SQL of browser sessions (table sessions). The cookie is never stored: only
 * its keyed hash (gateway/secrets.h), so a database leak yields no session. */
#include <stdlib.h>

#include "oidc/signin_internal.h"

store_stmt_t oidc_stmt_session_create = {
    "signin_session_create",
    "WITH " OIDC_SESSION_OPEN_CTES "SELECT id, extract(epoch FROM auth_time)::bigint FROM opened",
    OIDC_SESSION_OPEN_NPARAMS,
    0,
};

store_stmt_t oidc_stmt_session_by_token = {
    "signin_session_by_token",
    /* A user deactivated (over SCIM) loses the sessions it had. */
    "SELECT s.id, s.user_id, extract(epoch FROM s.auth_time)::bigint, array_to_json(s.amr)::text, s.acr, "
    "s.purpose, s.tap_id "
    "FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.token_hash = $1::bytea AND s.ended_at IS NULL AND s.expires_at > now() AND u.active",
    1,
    0,
};

store_stmt_t oidc_stmt_session_end = {
    "signin_session_end",
    "UPDATE sessions SET ended_at = now() WHERE id = $1::uuid AND ended_at IS NULL",
    1,
    0,
};

void oidc_session_db_register(void)
{
    store_stmt_register(&oidc_stmt_session_create);
    store_stmt_register(&oidc_stmt_session_by_token);
    store_stmt_register(&oidc_stmt_session_end);
}

int oidc_session_open_or_reply(gw_req_t *r, const oidc_session_opening_t *o, gw_req_query_cb cb)
{
    return gw_req_query_or_reply(r, &oidc_stmt_session_create, o->params, cb);
}

int oidc_session_opened(const PGresult *res, oidc_session_t *s)
{
    const char *id = res != NULL && PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
    const char *auth_time = id != NULL ? store_value(res, 0, 1) : NULL;
    if (auth_time == NULL || !oidc_uuid_ok(id, strlen(id)))
        return -1;
    memcpy(s->id, id, OIDC_UUID_LEN + 1);
    s->auth_time = strtoll(auth_time, NULL, 10);
    return 0;
}
