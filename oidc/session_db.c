/* SQL of browser sessions (table sessions). The cookie is never stored: only
 * its keyed hash (gateway/secrets.h), so a database leak yields no session. */
#include "oidc/signin_internal.h"

store_stmt_t oidc_stmt_session_create = {
    "signin_session_create",
    /* The sign-in succeeded: forgive the attempt counted before the check.
     * The account counter goes (the owner proved the password); the address
     * counter only loses this attempt, so one known account cannot launder a
     * guessing run against others from the same address. */
    "WITH forgive_user AS (DELETE FROM login_throttle WHERE key = 'user:' || lower($5)), "
    "forgive_addr AS (UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE key = 'addr:' || "
    "client_addr_key($6)), "
    /* The new cookie replaces the browser's old one, so its session ends
     * too, as at the end of a sign-in by a method (methods_db.c): a copy of
     * the old cookie must not outlive the sign-in that replaced it. */
    "old AS (UPDATE sessions SET ended_at = now() WHERE token_hash = $7::bytea AND ended_at IS NULL), "
    /* The sign-in is audited as one by an authenticator app or a passkey is
     * (method.used), in the statement that opens its session; the insert
     * reads the event so the CTE runs. */
    "ev AS (SELECT audit_append('method.used', 'user:' || $2, $2::uuid, $6, $8, 'success', NULL, "
    "  jsonb_build_object('kind', 'password')) AS e) "
    "INSERT INTO sessions (token_hash, user_id, auth_time, amr, acr, expires_at) "
    "SELECT $1::bytea, $2::uuid, now(), '{pwd}', $3, now() + $4::integer * interval '1 second' FROM ev "
    "RETURNING id, extract(epoch FROM auth_time)::bigint",
    8,
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
