/* SQL of the sign-in methods: passkeys, their challenges, authenticator
 * apps, half-finished sign-ins, and the account page.
 *
 * Every statement that adds, uses, renames or removes a method records its
 * audit event in the same statement (a CTE calling audit_append, referenced
 * by the final SELECT so that it runs: PostgreSQL evaluates a plain SELECT
 * CTE only when something reads it), so no change lands without its event. */
#include "oidc/methods_internal.h"

/* ---- the account page ---------------------------------------------------------- */

store_stmt_t oidc_stmt_account_session = {
    "methods_account_session",
    "SELECT s.id, s.user_id, extract(epoch FROM now() - s.auth_time)::bigint, s.purpose, u.user_name, "
    "coalesce(u.display_name, ''), u.password_hash IS NOT NULL, s.acr, s.tap_id IS NOT NULL, "
    /* the acr level the account's methods reach (OIDC_ACR_LEVEL_*) */
    "CASE WHEN EXISTS (SELECT 1 FROM webauthn_credentials c WHERE c.user_id = u.id) THEN 3 "
    "WHEN u.password_hash IS NOT NULL AND EXISTS (SELECT 1 FROM totp_authenticators t "
    "WHERE t.user_id = u.id AND t.confirmed) THEN 2 ELSE 1 END "
    "FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.token_hash = $1::bytea AND s.ended_at IS NULL AND s.expires_at > now() AND u.active",
    1,
    0,
};

#define DISPLAY_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'"

store_stmt_t oidc_stmt_account_methods = {
    "methods_account_methods",
    "SELECT 'passkey', id, name, " DISPLAY_TIME("created_at") ", " DISPLAY_TIME(
        "last_used_at") ", "
                        "backup_eligible, true, created_at FROM webauthn_credentials WHERE user_id = "
                        "$1::uuid "
                        "UNION ALL "
                        "SELECT 'totp', id, name, " DISPLAY_TIME("created_at") ", " DISPLAY_TIME(
                            "last_used_at") ", "
                                            "false, confirmed, created_at FROM totp_authenticators WHERE "
                                            "user_id = $1::uuid "
                                            "AND (confirmed OR created_at > now() - interval '30 minutes') "
                                            "ORDER BY 8, 2",
    1,
    0,
};

store_stmt_t oidc_stmt_method_remove = {
    "methods_remove",
    "SELECT user_method_remove($1::uuid, $2, $3::uuid, $4::boolean, $5, $6, $7)",
    7,
    0,
};

store_stmt_t oidc_stmt_method_rename = {
    "methods_rename",
    "WITH p AS (UPDATE webauthn_credentials SET name = $4 "
    "  WHERE $2 = 'passkey' AND id = $3::uuid AND user_id = $1::uuid RETURNING id), "
    "t AS (UPDATE totp_authenticators SET name = $4 "
    "  WHERE $2 = 'totp' AND id = $3::uuid AND user_id = $1::uuid RETURNING id), "
    "ev AS (SELECT audit_append('method.renamed', $5, $1::uuid, $6, $7, 'success', NULL, "
    "  jsonb_build_object('kind', $2::text, 'method_id', x.id, 'name', $4::text)) AS e "
    "  FROM (SELECT id FROM p UNION ALL SELECT id FROM t) x) "
    "SELECT count(*) FROM ev",
    7,
    0,
};

/* ---- authenticator apps --------------------------------------------------------- */

/* An abandoned enrolment (never confirmed) goes after half an hour. An
 * account holds at most $5 apps, confirmed or being set up: a new set-up
 * makes room by dropping the oldest ones not confirmed, and is refused (no
 * row) when $5 are confirmed. */
store_stmt_t oidc_stmt_totp_create = {
    "methods_totp_create",
    "WITH c AS (SELECT count(*) FILTER (WHERE confirmed) AS n FROM totp_authenticators "
    "  WHERE user_id = $2::uuid), "
    "gc AS (DELETE FROM totp_authenticators WHERE user_id = $2::uuid AND NOT confirmed "
    "  AND (created_at < now() - interval '30 minutes' OR id NOT IN (SELECT t.id FROM totp_authenticators t "
    "  WHERE t.user_id = $2::uuid AND NOT t.confirmed ORDER BY t.created_at DESC, t.id "
    "  LIMIT greatest($5::integer - 1 - (SELECT n FROM c), 0)))) "
    "INSERT INTO totp_authenticators (id, user_id, secret_sealed, name) "
    "SELECT $1::uuid, $2::uuid, $3::bytea, $4 FROM c WHERE c.n < $5::integer RETURNING id",
    5,
    0,
};

/* Each confirmation attempt counts: an enrolment takes a bounded number of
 * guesses, then it is gone. */
store_stmt_t oidc_stmt_totp_enrol_load = {
    "methods_totp_enrol_load",
    "UPDATE totp_authenticators SET attempts = attempts + 1 "
    "WHERE id = $1::uuid AND user_id = $2::uuid AND NOT confirmed AND attempts < 10 "
    "AND created_at > now() - interval '30 minutes' RETURNING secret_sealed, name",
    2,
    0,
};

/* The confirming code's step is remembered, so it cannot sign in later. A
 * TAP session that registers its first method becomes a full one
 * (session_method_registered, schema/008_audit.sql). */
store_stmt_t oidc_stmt_totp_confirm = {
    "methods_totp_confirm",
    "WITH up AS (UPDATE totp_authenticators SET confirmed = true, confirmed_at = now(), "
    "  last_used_step = $3::bigint WHERE id = $1::uuid AND user_id = $2::uuid AND NOT confirmed "
    "  RETURNING id, user_id, name), "
    "ev AS (SELECT audit_append('method.added', $5, up.user_id, $6, $7, 'success', NULL, "
    "  jsonb_build_object('kind', 'totp', 'method_id', up.id, 'name', up.name)) AS e FROM up) "
    "SELECT up.id, session_method_registered($4::uuid) FROM up, ev",
    7,
    0,
};

/* ---- sign-in with a code ---------------------------------------------------------- */

/* Each insert also removes a few expired rows (OIDC_GC_EXPIRED). */
store_stmt_t oidc_stmt_pending_create = {
    "methods_pending_create",
    "WITH " OIDC_GC_EXPIRED(
        "signin_pending",
        "10") "INSERT INTO signin_pending (token_hash, user_id, context, amr, expires_at) "
              "VALUES ($1::bytea, $2::uuid, $3, $4::text[], now() + $5::integer * interval '1 second')",
    5,
    0,
};

/* Each code typed for a half-finished sign-in counts before it is checked,
 * twice over. Against the half-finished sign-in: one that is spent (5
 * codes) is refused and audited here (method.failed, too_many_attempts).
 * And, like a password or a code typed alone (throttle_db.c), against the
 * account ('user:' || lower(user_name)) and the client address: a right
 * password makes a new half-finished sign-in each time, so its own five
 * were no bound on the codes one account takes (RFC 4226 §7.3: "The delay
 * or lockout schemes MUST be across login sessions to prevent attacks based
 * on multiple parallel guessing techniques"). A code that finds a key locked
 * is refused unchecked, no app is read, and the refusal is audited here
 * (method.failed, throttled). $1 the half-finished sign-in's hash, $2
 * client address, $3..$6 the limits (oidc_throttle_limits), $7 user agent,
 * $8 context. Rows: user, app, sealed secret, last used step (one row per
 * confirmed app; NULLs when the sign-in is unknown, spent or expired, the
 * key is locked or the account was deactivated since its password was
 * checked), events, whether a key is locked, whether the account is
 * active. */
store_stmt_t oidc_stmt_pending_totps = {
    "methods_pending_totps",
    "WITH p AS (UPDATE signin_pending SET attempts = attempts + 1 "
    "  WHERE token_hash = $1::bytea AND context = $8 AND expires_at > now() AND attempts < 5 "
    "  RETURNING user_id), "
    "att AS (INSERT INTO login_throttle AS t (key, failures, window_start) "
    "  SELECT k.key, 1, now() FROM p JOIN users u ON u.id = p.user_id, "
    "  LATERAL (VALUES ('user:' || lower(u.user_name)), ('addr:' || client_addr_key_inline($2))) k (key) "
    "  " OIDC_THROTTLE_CONFLICT " AS locked), "
    "lk AS (SELECT coalesce(bool_or(att.locked), false) AS locked FROM att), "
    "ev AS (SELECT audit_append('method.failed', 'anonymous', s.user_id, $2, $7, 'failure', "
    "  'too_many_attempts', jsonb_build_object('kind', 'totp', 'attempts', s.attempts)) AS e "
    "  FROM signin_pending s WHERE s.token_hash = $1::bytea AND s.context = $8 AND s.expires_at > now() "
    "  AND s.attempts >= 5 AND NOT EXISTS (SELECT 1 FROM p)), "
    "evt AS (SELECT audit_append('method.failed', 'anonymous', p.user_id, $2, $7, 'failure', 'throttled', "
    "  jsonb_build_object('kind', 'totp')) AS e FROM p, lk WHERE lk.locked) "
    "SELECT p.user_id, t.id, t.secret_sealed, t.last_used_step, "
    "(SELECT count(*) FROM ev) + (SELECT count(*) FROM evt), lk.locked, pu.active "
    "FROM p CROSS JOIN lk JOIN users pu ON pu.id = p.user_id "
    "LEFT JOIN totp_authenticators t ON t.user_id = p.user_id AND t.confirmed AND NOT lk.locked AND "
    "pu.active "
    "UNION ALL SELECT NULL, NULL, NULL, NULL, (SELECT count(*) FROM ev), false, NULL "
    "WHERE NOT EXISTS (SELECT 1 FROM p)",
    8,
    0,
};

/* A sign-in method's credential checked and refused (a code: wrong_code,
 * code_reused, no_code_sign_in; a password: wrong_password,
 * account_inactive, throttled): $1 reason, $2 the account or NULL, $3 the
 * name typed (whose account, when $2 is NULL), $4 address, $5 user agent,
 * $6 the method's kind ("totp", "password"). A name that is nobody's
 * records nothing, through the same statement (the same round trip): there
 * is no account to tell about, and the answer's timing stays alike. */
store_stmt_t oidc_stmt_method_failed = {
    "methods_method_failed",
    "WITH " OIDC_THROTTLE_GC(
        "$7", "") "SELECT count(audit_append('method.failed', 'anonymous', s.u, $4, $5, 'failure', $1, "
                  "jsonb_build_object('kind', $6::text))) "
                  "FROM (SELECT coalesce($2::uuid, (SELECT id FROM users WHERE lower(user_name) = "
                  "lower($3)))) s(u) "
                  "WHERE s.u IS NOT NULL",
    7,
    0,
};

/* A code alone signs in only an account without a password: where there is
 * one, the code is a second factor and never replaces it. */
store_stmt_t oidc_stmt_code_only_totps = {
    "methods_code_only_totps",
    "SELECT u.id, t.id, t.secret_sealed, t.last_used_step "
    "FROM users u JOIN totp_authenticators t ON t.user_id = u.id AND t.confirmed "
    "WHERE lower(u.user_name) = lower($1) AND u.active AND u.password_hash IS NULL",
    1,
    0,
};

/* Shared tail of the statements that turn a proven sign-in into a session:
 * the browser's previous session ends, the account's failed attempts are
 * forgiven and the address counter loses the attempts this sign-in proved
 * right, FORGIVEN (SQL, an integer): one, as oidc_stmt_session_create does,
 * and two after a password and its code, both counted. The new row is
 * created. `used` names the method row used. */
#define SESSION_TAIL(FORGIVEN)                                                                               \
    OIDC_SESSION_END_OLD("$5", " AND EXISTS (SELECT 1 FROM used)")                                           \
    ", "                                                                                                     \
    "fu AS (DELETE FROM login_throttle WHERE key = "                                                         \
    "  (SELECT 'user:' || lower(u.user_name) FROM users u JOIN used ON u.id = used.user_id)), "              \
    "fa AS (UPDATE login_throttle SET failures = greatest(failures - " FORGIVEN                              \
    ", 0) WHERE key = 'addr:' || "                                                                           \
    "client_addr_key_inline($6) "                                                                            \
    "  AND EXISTS (SELECT 1 FROM used)) "                                                                    \
    "INSERT INTO sessions (token_hash, user_id, auth_time, amr, acr, expires_at) "                           \
    "SELECT $1::bytea, used.user_id, now(), $4::text[], $3, now() + $2::integer * interval '1 second' "      \
    "FROM used, ev RETURNING id"

/* A code is accepted once: the step moves forward only if no other sign-in
 * used this step (or a later one) first. $10 the half-finished sign-in
 * (NULL for a code alone): its password and its code were both counted
 * against the address, and both are forgiven. */
store_stmt_t oidc_stmt_totp_signin = {
    "methods_totp_signin",
    "WITH used AS (UPDATE totp_authenticators SET last_used_step = $9::bigint, last_used_at = now() "
    "  WHERE id = $8::uuid AND confirmed AND last_used_step < $9::bigint RETURNING id, user_id), "
    "ev AS (SELECT audit_append('method.used', 'user:' || used.user_id, used.user_id, $6, $7, 'success', "
    "  NULL, jsonb_build_object('kind', 'totp', 'method_id', used.id)) AS e FROM used), "
    "pend AS (DELETE FROM signin_pending WHERE token_hash = $10::bytea AND EXISTS (SELECT 1 FROM "
    "used)), " SESSION_TAIL("CASE WHEN $10::bytea IS NULL THEN 1 ELSE 2 END"),
    10,
    0,
};

/* ---- passkeys ---------------------------------------------------------------------- */

/* $1 challenge, $2 ceremony, $3 user, $4 session, $5 context, $6 browser,
 * $7 ttl s, $8 client address, $9 and $10 the live challenges allowed per
 * browser and per address -> 'ok', 'browser_limit' or 'address_limit'. */
store_stmt_t oidc_stmt_challenge_create = {
    "methods_challenge_create",
    "SELECT webauthn_challenge_create($1::bytea, $2, $3::uuid, $4::uuid, $5, $6::bytea, $7::integer, $8, "
    "$9::integer, $10::integer)",
    10,
    0,
};

store_stmt_t oidc_stmt_register_options = {
    "methods_register_options",
    "SELECT u.user_name, coalesce(nullif(u.display_name, ''), u.user_name), "
    "(SELECT string_agg(encode(c.credential_id, 'hex'), ',') FROM webauthn_credentials c "
    " WHERE c.user_id = u.id), "
    "(SELECT count(*) FROM webauthn_credentials c WHERE c.user_id = u.id) FROM users u WHERE u.id = $1::uuid",
    1,
    0,
};

/* The challenge is deleted whatever else matches: it answers one response
 * at most, even a wrong one. One row always: whether the challenge was ours
 * (ceremony, context, browser, not expired), then the credential if known,
 * and whether its owner is the account named $5 ('' names none): by
 * lower(), as the unique index on user_name and the password form match
 * names, not by an ASCII-only comparison in C. */
store_stmt_t oidc_stmt_get_consume = {
    "methods_get_consume",
    "WITH ch AS (DELETE FROM webauthn_challenges WHERE challenge = $1::bytea AND ceremony = 'get' "
    "  RETURNING context, browser, expires_at) "
    "SELECT (SELECT count(*) FROM ch WHERE ch.context = $2 AND ch.browser = $3::bytea "
    "  AND ch.expires_at > now()), c.id, c.user_id, c.public_key, c.alg, c.sign_count, "
    "c.backup_eligible, $5 = '' OR lower(u.user_name) = lower($5), u.active "
    "FROM (SELECT 1) one LEFT JOIN (webauthn_credentials c JOIN users u ON u.id = c.user_id) "
    "ON c.credential_id = $4::bytea",
    5,
    0,
};

store_stmt_t oidc_stmt_create_consume = {
    "methods_create_consume",
    "WITH ch AS (DELETE FROM webauthn_challenges WHERE challenge = $1::bytea AND ceremony = 'create' "
    "  RETURNING user_id, session_id, browser, expires_at) "
    "SELECT count(*) FROM ch WHERE ch.user_id = $2::uuid AND ch.session_id = $3::uuid "
    "AND ch.browser = $4::bytea AND ch.expires_at > now()",
    4,
    0,
};

/* $1 user, $2 credential id, $3 public key DER, $4 alg, $5 counter, $6 BE,
 * $7 BS, $8 aaguid, $9 transports, $10 attestation format, $11 name,
 * $12 session, $13 actor, $14 address, $15 user agent, $16 the most
 * passkeys an account holds (no row when it holds them already). */
store_stmt_t oidc_stmt_passkey_insert = {
    "methods_passkey_insert",
    "WITH ins AS (INSERT INTO webauthn_credentials (user_id, credential_id, public_key, alg, sign_count, "
    "  backup_eligible, backed_up, aaguid, transports, attestation_fmt, name) "
    "  SELECT $1::uuid, $2::bytea, $3::bytea, $4::integer, $5::bigint, $6::boolean, $7::boolean, "
    "  $8::uuid, $9::text[], $10, $11 "
    "  WHERE (SELECT count(*) FROM webauthn_credentials WHERE user_id = $1::uuid) < $16::integer "
    "  RETURNING id, user_id), "
    "ev AS (SELECT audit_append('method.added', $13, ins.user_id, $14, $15, 'success', NULL, "
    "  jsonb_build_object('kind', 'passkey', 'method_id', ins.id, 'name', $11::text)) AS e FROM ins) "
    "SELECT ins.id, session_method_registered($12::uuid) FROM ins, ev",
    16,
    0,
};

/* $1..$7 as SESSION_TAIL, $8 credential row, $9 the counter read, $10 the new
 * counter, $11 BS. The counter moves only from the value that was checked,
 * so two assertions racing with one counter value cannot both pass. */
store_stmt_t oidc_stmt_passkey_signin = {
    "methods_passkey_signin",
    "WITH used AS (UPDATE webauthn_credentials SET sign_count = $10::bigint, backed_up = $11::boolean, "
    "  last_used_at = now() WHERE id = $8::uuid AND sign_count = $9::bigint RETURNING id, user_id), "
    "ev AS (SELECT audit_append('method.used', 'user:' || used.user_id, used.user_id, $6, $7, 'success', "
    "  NULL, jsonb_build_object('kind', 'passkey', 'method_id', used.id)) AS e FROM used), " SESSION_TAIL(
        "1"),
    11,
    0,
};

/* A refused assertion of a known credential: $1 type (method.used or
 * method.counter_rollback), $2 user, $3 address, $4 user agent, $5 reason,
 * $6 credential row, $7 the counter presented. */
store_stmt_t oidc_stmt_passkey_refused = {
    "methods_passkey_refused",
    "SELECT audit_append($1, 'anonymous', $2::uuid, $3, $4, 'failure', $5, "
    "jsonb_build_object('kind', 'passkey', 'method_id', $6::uuid, 'sign_count', $7::bigint))",
    7,
    0,
};

void oidc_methods_db_register(void)
{
    store_stmt_t *all[] = {
        &oidc_stmt_account_session,  &oidc_stmt_account_methods,  &oidc_stmt_method_remove,
        &oidc_stmt_method_rename,    &oidc_stmt_totp_create,      &oidc_stmt_totp_enrol_load,
        &oidc_stmt_totp_confirm,     &oidc_stmt_pending_create,   &oidc_stmt_pending_totps,
        &oidc_stmt_method_failed,    &oidc_stmt_code_only_totps,  &oidc_stmt_totp_signin,
        &oidc_stmt_challenge_create, &oidc_stmt_register_options, &oidc_stmt_get_consume,
        &oidc_stmt_create_consume,   &oidc_stmt_passkey_insert,   &oidc_stmt_passkey_signin,
        &oidc_stmt_passkey_refused};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        store_stmt_register(all[i]);
}
