/* Failed sign-in counters in PostgreSQL (login_throttle), so a limit holds
 * across every gateway process (DESIGN.md: no single-process state).
 *
 * An attempt is counted *before* the password is checked and forgiven on
 * success (oidc_stmt_session_create). Counting afterwards would let a burst
 * of concurrent guesses all pass the check before the first failure lands;
 * one atomic upsert per attempt leaves no such gap (OWASP Authentication
 * Cheat Sheet, "Protect Against Automated Attacks"). */
#include "oidc/signin_internal.h"

/* An address gets its own, higher limit ($6): many people share one address
 * behind a NAT or proxy, and attempts are counted before the password check,
 * so a burst of honest sign-ins must not lock the whole office out. */

/* Per key: a fixed window of throttle_window_s seconds starting at the first
 * failure; the attempt that goes over the key's limit locks the key for
 * throttle_lockout_s; a lock that has passed starts a fresh window.
 * SET expressions see the old row, so the reset test is spelled out in each. */
#define LOCKED "coalesce(t.locked_until > now(), false)"
#define RESET                                                                                                \
    "(NOT " LOCKED " AND (t.window_start <= now() - $3::integer * interval '1 second' OR t.locked_until IS " \
    "NOT NULL))"

#define THROTTLE_UPSERT                                                                                      \
    "INSERT INTO login_throttle AS t (key, failures, window_start) "                                         \
    "VALUES ('user:' || lower($1), 1, now()), ('addr:' || $2, 1, now()) "                                    \
    "ON CONFLICT (key) DO UPDATE SET "                                                                       \
    "failures = CASE WHEN " RESET " THEN 1 ELSE t.failures + 1 END, "                                        \
    "window_start = CASE WHEN " RESET " THEN now() ELSE t.window_start END, "                                \
    "locked_until = CASE WHEN " LOCKED " THEN t.locked_until WHEN " RESET " THEN NULL "                      \
    "WHEN t.failures + 1 > (CASE WHEN t.key LIKE 'addr:%' THEN $6::integer ELSE $4::integer END) "           \
    "THEN now() + $5::integer * interval '1 second' ELSE NULL END "                                          \
    "RETURNING coalesce(locked_until > now(), false)"

store_stmt_t oidc_stmt_throttle_attempt = {"signin_throttle_attempt", THROTTLE_UPSERT, 6, 0};

/* The same for a code typed alone (totp_signin.c), with $7 the user agent:
 * a refusal because the account or address is locked is audited in the
 * statement that counted it (method.failed, reason throttled), against the
 * account the name belongs to; a name that is nobody's is not audited. The
 * audit CTE calls a volatile function, so PostgreSQL evaluates it once. */
store_stmt_t oidc_stmt_throttle_attempt_code = {
    "signin_throttle_attempt_code",
    "WITH att AS (" THROTTLE_UPSERT " AS locked), "
    "ev AS (SELECT audit_append('method.failed', 'anonymous', u.id, $2, $7, 'failure', 'throttled', "
    "  jsonb_build_object('kind', 'totp')) AS e FROM users u "
    "  WHERE lower(u.user_name) = lower($1) AND EXISTS (SELECT 1 FROM att WHERE att.locked)) "
    "SELECT att.locked, (SELECT count(*) FROM ev) FROM att",
    7,
    0,
};

void oidc_throttle_db_register(void)
{
    store_stmt_register(&oidc_stmt_throttle_attempt);
    store_stmt_register(&oidc_stmt_throttle_attempt_code);
}
