/* Failed sign-in counters in PostgreSQL (login_throttle), so a limit holds
 * across every gateway process (DESIGN.md: no single-process state).
 *
 * An attempt is counted *before* the password is checked and forgiven on
 * success (oidc_stmt_session_create). Counting afterwards would let a burst
 * of concurrent guesses all pass the check before the first failure lands;
 * one atomic upsert per attempt leaves no such gap (OWASP Authentication
 * Cheat Sheet, "Protect Against Automated Attacks"). */
#include <stdio.h>

#include "oidc/signin_internal.h"

/* An address gets its own, higher limit ($6): many people share one address
 * behind a NAT or proxy, and attempts are counted before the password check,
 * so a burst of honest sign-ins must not lock the whole office out. The key
 * is client_addr_key (schema/016): an IPv6 client counts by its /64, which
 * one customer usually holds whole, as the passkey, TAP and recovery limits
 * count it; by the exact address, one /64 was 2^64 fresh counters. The
 * statements name client_addr_key_inline, the same key without a PL/pgSQL
 * call for an IPv4 address (schema/038). Windows and locks per key:
 * OIDC_THROTTLE_CONFLICT (signin_internal.h). */

/* The keys this statement counts are left to its upsert. */
#define THROTTLE_GC                                                                                          \
    OIDC_THROTTLE_GC("$3",                                                                                   \
                     "AND g.key <> 'user:' || lower($1) AND g.key <> 'addr:' || client_addr_key_inline($2)")

#define THROTTLE_UPSERT                                                                                      \
    "INSERT INTO login_throttle AS t (key, failures, window_start) "                                         \
    "VALUES ('user:' || lower($1), 1, now()), ('addr:' || client_addr_key_inline($2), 1, "                   \
    "now()) " OIDC_THROTTLE_CONFLICT

/* A password sign-in in one round trip: whether the authorization request
 * $7 is still live (NULL: a sign-in for the account page, always live), the
 * attempt counted when it is, the account the name belongs to, and the
 * request's stored parameters and creation time (epoch seconds), with
 * which login.c finishes the request once the password is right. One
 * statement instead of four in a row (request, counters, user, request
 * again) saves three round trips per sign-in; the order of the checks is unchanged: nothing is
 * counted for a request that has gone, and login.c still runs no password
 * check when a key is locked. The user row is read whether or not a key is
 * locked, so the answer's timing does not depend on it either. userName is
 * unique without regard to case (schema/002_oidc.sql, RFC 7643 §4.1.1
 * caseExact=false): the same lower() as the unique index, so the lookup
 * uses it. */
store_stmt_t oidc_stmt_login_attempt = {
    "signin_login_attempt",
    "WITH live AS (SELECT ($7::uuid IS NULL OR a.id IS NOT NULL) AS ok, a.params::text AS params, "
    "  floor(extract(epoch FROM a.created_at))::bigint AS created "
    "  FROM (SELECT) one LEFT JOIN authorization_requests a ON a.id = $7::uuid AND a.expires_at > now()), "
    "att AS (INSERT INTO login_throttle AS t (key, failures, window_start) "
    "  SELECT v.key, 1, now() FROM live, (VALUES ('user:' || lower($1)), ('addr:' || "
    "client_addr_key_inline($2))) "
    "AS v (key) "
    "  WHERE live.ok " OIDC_THROTTLE_CONFLICT " AS locked) "
    "SELECT live.ok, coalesce((SELECT bool_or(att.locked) FROM att), false), u.id, u.password_hash, "
    "u.active, "
    "EXISTS (SELECT 1 FROM totp_authenticators x WHERE x.user_id = u.id AND x.confirmed), live.params, "
    "live.created "
    "FROM live LEFT JOIN users u ON live.ok AND lower(u.user_name) = lower($1)",
    7,
    0,
};

/* The same for a code typed alone (totp_signin.c), with $7 the user agent:
 * a refusal because the account or address is locked is audited in the
 * statement that counted it (method.failed, reason throttled), against the
 * account the name belongs to; a name that is nobody's is not audited. The
 * audit CTE calls a volatile function, so PostgreSQL evaluates it once. */
store_stmt_t oidc_stmt_throttle_attempt_code = {
    "signin_throttle_attempt_code",
    "WITH " THROTTLE_GC ", att AS (" THROTTLE_UPSERT " AS locked), "
    "ev AS (SELECT audit_append('method.failed', 'anonymous', u.id, $2, $7, 'failure', 'throttled', "
    "  jsonb_build_object('kind', 'totp')) AS e FROM users u "
    "  WHERE lower(u.user_name) = lower($1) AND EXISTS (SELECT 1 FROM att WHERE att.locked)) "
    "SELECT att.locked, (SELECT count(*) FROM ev) FROM att",
    7,
    0,
};

void oidc_throttle_limits(char out[4][16])
{
    snprintf(out[0], sizeof(out[0]), "%u", oidc_cfg->oidc.throttle_window_s);
    snprintf(out[1], sizeof(out[1]), "%u", oidc_cfg->oidc.throttle_max_failures);
    snprintf(out[2], sizeof(out[2]), "%u", oidc_cfg->oidc.throttle_lockout_s);
    snprintf(out[3], sizeof(out[3]), "%u", oidc_cfg->oidc.throttle_addr_max_failures);
}

void oidc_throttle_db_register(void)
{
    store_stmt_register(&oidc_stmt_login_attempt);
    store_stmt_register(&oidc_stmt_throttle_attempt_code);
}
