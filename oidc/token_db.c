/* SQL of the tokens area. Each token-endpoint decision is one statement
 * (the functions of schema/006_tokens.sql), so it is one round trip and
 * atomic; parameters are text, never formatted into SQL. */
#include <stdlib.h>
#include <string.h>

#include "oidc/tokens_internal.h"

#define GRANT_COLUMNS                                                                                        \
    "o_status, o_family_id, o_user_id, o_session_id, o_scope, o_nonce, o_claims, o_auth_time, o_acr, "       \
    "o_amr, o_user_name, o_display_name, o_given_name, o_family_name, o_email, o_email_verified, "           \
    "o_updated_at, o_refresh"

/* $1 code hash, $2 client id, $3 redirect_uri, $4 S256(verifier), $5 refresh
 * token hash or NULL, $6 refresh token lifetime (s). After the grant columns:
 * the code's PKCE challenge, the expiry of the TAP the session came from
 * (epoch s, or NULL: no token of a TAP session outlives the TAP,
 * schema/010_tap.sql), the session's verified claims and the provider's
 * signed result (recovery, schema/011_recovery.sql). One PL/pgSQL function
 * (schema/017_code_exchange.sql): two statements inside PostgreSQL. */
store_stmt_t OIDC_STMT_CODE_REDEEM = {
    "oidc_code_redeem",
    "SELECT " GRANT_COLUMNS ", o_challenge, o_tap_cap, o_verified_claims, o_provider_result "
    "FROM regain_code_exchange($1::bytea, $2, $3, $4, $5::bytea, $6::integer)",
    6, 0};

/* The same decisions as OIDC_STMT_CODE_REDEEM for a client that may not
 * receive refresh tokens, in one top-level statement (schema/025_code_take.sql
 * says why): $1 code hash, $2 client id, $3 redirect_uri, $4 S256(verifier).
 * Columns: status, then the grant columns of OIDC_STMT_CODE_REDEEM up to
 * o_amr (without the user's claims: a code with a claims request has them
 * read by OIDC_STMT_USERINFO, which saves every other exchange 7 of its 12
 * columns, about 38,000 backend instructions), the code's PKCE challenge,
 * and the state of its session from one look-up: 'ended' (the caller refuses
 * the code, schema/026_code_session_ended.sql), 'waiting' (a TAP session
 * before a method is registered: refused too, schema/037), 'extras' (a TAP
 * or a recovery behind it: OIDC_STMT_SESSION_EXTRAS, whose TAP expiry
 * refuses the grant once passed, oidc/token.c), 'plain', or NULL without a
 * session. One sub-select instead of one per question saves about 12,000
 * backend instructions per exchange (callgrind). No row: the code is unknown
 * or was used (OIDC_STMT_CODE_REPLAYED tells which). Joining users drops no
 * code: authorization_codes.user_id references users. */
#define CODE_TAKE_RETURNING(CLIENT, REDIRECT_URI, CHALLENGE)                                                 \
    "RETURNING CASE WHEN c.expires_at <= now() THEN 'expired' "                                              \
    "WHEN c.client_id <> " CLIENT " THEN 'wrong_client' "                                                    \
    "WHEN " REDIRECT_URI " IS NULL OR c.redirect_uri <> " REDIRECT_URI " THEN 'wrong_redirect_uri' "         \
    "WHEN " CHALLENGE " IS NULL OR c.code_challenge <> " CHALLENGE " THEN 'wrong_verifier' "                 \
    "WHEN NOT x.active THEN 'inactive_user' ELSE 'ok' END, "                                                 \
    "c.family_id, c.user_id, c.session_id, c.scope, c.nonce, c.claims::text, "                               \
    "extract(epoch FROM c.auth_time)::bigint, c.acr, to_json(c.amr)::text, c.code_challenge, "               \
    "(SELECT CASE WHEN s.ended_at IS NOT NULL THEN 'ended' WHEN s.purpose = 'register_method' THEN "         \
    "'waiting' "                                                                                             \
    "WHEN s.tap_id IS NOT NULL OR s.recovery_attempt_id IS NOT NULL OR s.verified_claims IS NOT NULL "       \
    "THEN 'extras' ELSE 'plain' END "                                                                        \
    " FROM sessions s WHERE s.id = c.session_id)"

/* Token requests come in bursts from many relying parties at once, so the
 * exchange has a batched form too (gateway/store_batch.c): the callers'
 * codes in one UPDATE. Two callers with the same code in one batch join
 * the same row, which PostgreSQL updates once: one of them gets it, the
 * other no row, and so the replay path, as when two statements race. */
store_stmt_t OIDC_STMT_CODE_TAKE = {
    "oidc_code_take",
    "UPDATE authorization_codes c SET used_at = now() FROM users x "
    "WHERE c.code_hash = $1::bytea AND c.used_at IS NULL AND x.id = c.user_id " CODE_TAKE_RETURNING(
        "$2::text", "$3::text", "$4::text"),
    4, 0};

static const char CODE_TAKE_BATCH[] =
    "UPDATE authorization_codes c SET used_at = now() "
    "FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY "
    "AS p (code_hash, client_id, redirect_uri, challenge, pos), users x "
    "WHERE c.code_hash = p.code_hash AND c.used_at IS NULL AND x.id = c.user_id " CODE_TAKE_RETURNING(
        "p.client_id", "p.redirect_uri", "p.challenge") ", p.pos";

/* $1 code hash -> 'replayed' (grant family revoked) | 'unknown'. */
store_stmt_t OIDC_STMT_CODE_REPLAYED = {"oidc_code_replayed", "SELECT regain_code_replayed($1::bytea)", 1, 0};

/* $1 session id -> TAP expiry (epoch s), verified claims, provider result. */
store_stmt_t OIDC_STMT_SESSION_EXTRAS = {
    "oidc_session_extras",
    "SELECT o_tap_cap, o_verified_claims, o_provider_result FROM regain_session_extras($1::uuid)", 1, 0};

/* $1 presented hash, $2 client id, $3 new hash, $4 narrowed scope or NULL,
 * $5 lifetime (s); the last three columns as for OIDC_STMT_CODE_REDEEM (one
 * lookup of the session, schema/017_code_exchange.sql). */
store_stmt_t OIDC_STMT_REFRESH_ROTATE = {
    "oidc_refresh_rotate",
    "SELECT " GRANT_COLUMNS ", x.o_tap_cap, x.o_verified_claims, x.o_provider_result "
    "FROM regain_refresh_rotate($1::bytea, $2, $3::bytea, $4, $5::integer) "
    "LEFT JOIN LATERAL regain_session_extras(o_session_id) x ON true",
    5, 0};

/* $1 hash, $2 client id -> 'revoked' | 'wrong_client' | 'unknown'. */
store_stmt_t OIDC_STMT_REFRESH_REVOKE = {"oidc_refresh_revoke", "SELECT regain_refresh_revoke($1::bytea, $2)",
                                         2, 0};

/* $1 hash -> client_id, user_id, scope, exp, iat, user_name, active. */
store_stmt_t OIDC_STMT_REFRESH_INTROSPECT = {
    "oidc_refresh_introspect",
    "SELECT t.client_id, t.user_id, t.scope, extract(epoch FROM t.expires_at)::bigint, "
    "extract(epoch FROM t.created_at)::bigint, u.user_name, "
    "(t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now() AND u.active AND "
    " NOT EXISTS (SELECT 1 FROM revoked_grants g WHERE g.family_id = t.family_id)) "
    "FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1::bytea",
    1, 0};

/* A token whose client is gone is revoked with it: the client no longer
 * exists (a process whose cached copy of a removed client had not expired
 * yet may have issued it after the removal), or was removed at or after the
 * token's iat (one second's resolution), even when the id has been
 * registered again since (schema/035_client_removed_tokens.sql). */
#define CLIENT_REMOVED(client, iat)                                                                          \
    "NOT EXISTS (SELECT 1 FROM clients WHERE id = " client ") OR "                                           \
    "EXISTS (SELECT 1 FROM removed_clients WHERE client_id = " client " AND removed_at >= to_timestamp(" iat \
    "::bigint))"

/* $1 jti, $2 grant family (uuid) or NULL, $3 client_id, $4 iat (epoch s)
 * -> one boolean: revoked. */
store_stmt_t OIDC_STMT_AT_REVOKED = {
    "oidc_at_revoked",
    "SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $1) OR "
    "EXISTS (SELECT 1 FROM revoked_grants WHERE family_id = $2::uuid) OR " CLIENT_REMOVED("$3", "$4"),
    4, 0};

/* $1 jti, $2 exp (epoch s): listed until it would have expired anyway. */
store_stmt_t OIDC_STMT_AT_REVOKE = {"oidc_at_revoke",
                                    "INSERT INTO revoked_access_tokens (jti, expires_at) "
                                    "VALUES ($1, to_timestamp($2::bigint)) ON CONFLICT (jti) DO NOTHING",
                                    2, 0};

/* $1 user id -> the user's claims (active users only). */
store_stmt_t OIDC_STMT_USERINFO = {
    "oidc_userinfo",
    "SELECT user_name, display_name, given_name, family_name, email, email_verified, "
    "extract(epoch FROM updated_at)::bigint FROM users WHERE id = $1::uuid AND active",
    1, 0};

/* The code a grant family came from holds its claims request and session
 * (codes are kept after use: a replayed code revokes its family). */
store_stmt_t OIDC_STMT_USERINFO_VERIFIED = {
    "oidc_userinfo_verified",
    "SELECT claims::text, recovery_session_verified_claims(session_id) FROM authorization_codes "
    "WHERE family_id = $1::uuid AND user_id = $2::uuid LIMIT 1",
    2, 0};

/* $1 user id, $2 jti, $3 grant family or NULL, $4 client_id, $5 iat
 * -> user_name, revoked (as OIDC_STMT_AT_REVOKED). */
store_stmt_t OIDC_STMT_USER_NAME = {
    "oidc_user_name",
    "SELECT (SELECT user_name FROM users WHERE id = $1::uuid AND active), "
    "EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $2) OR "
    "EXISTS (SELECT 1 FROM revoked_grants WHERE family_id = $3::uuid) OR " CLIENT_REMOVED("$4", "$5"),
    5, 0};

void oidc_token_db_register(void)
{
    store_stmt_register(&OIDC_STMT_CODE_REDEEM);
    store_stmt_register_batched(&OIDC_STMT_CODE_TAKE, CODE_TAKE_BATCH);
    store_stmt_register(&OIDC_STMT_CODE_REPLAYED);
    store_stmt_register(&OIDC_STMT_SESSION_EXTRAS);
    store_stmt_register(&OIDC_STMT_REFRESH_ROTATE);
    store_stmt_register(&OIDC_STMT_REFRESH_REVOKE);
    store_stmt_register(&OIDC_STMT_REFRESH_INTROSPECT);
    store_stmt_register(&OIDC_STMT_AT_REVOKED);
    store_stmt_register(&OIDC_STMT_AT_REVOKE);
    store_stmt_register(&OIDC_STMT_USERINFO);
    store_stmt_register(&OIDC_STMT_USER_NAME);
    store_stmt_register(&OIDC_STMT_USERINFO_VERIFIED);
}

static const char *col(PGresult *res, int c)
{
    return store_value(res, 0, c);
}

static int64_t col_int(PGresult *res, int c)
{
    const char *v = store_value(res, 0, c);
    return v ? strtoll(v, NULL, 10) : 0;
}

static void grant_columns(PGresult *res, int first, oidc_grant_t *g, const char **claims_json)
{
    g->gid = col(res, first + 0);
    g->sub = col(res, first + 1);
    g->sid = col(res, first + 2);
    g->scope = col(res, first + 3);
    g->nonce = col(res, first + 4);
    *claims_json = col(res, first + 5);
    g->auth_time = col_int(res, first + 6);
    g->acr = col(res, first + 7);
    g->amr_json = col(res, first + 8);
}

void oidc_token_db_user(PGresult *res, int first, oidc_user_info_t *u)
{
    u->user_name = col(res, first + 0);
    u->display_name = col(res, first + 1);
    u->given_name = col(res, first + 2);
    u->family_name = col(res, first + 3);
    u->email = col(res, first + 4);
    const char *ev = col(res, first + 5);
    u->email_verified = ev == NULL ? -1 : ev[0] == 't';
    u->updated_at = col_int(res, first + 6);
}

void oidc_token_db_extras(PGresult *res, int first, oidc_grant_t *g)
{
    g->exp_cap = col_int(res, first);
    g->verified_claims_json = col(res, first + 1);
    g->provider_result_jwt = col(res, first + 2);
}

void oidc_token_db_grant(PGresult *res, int first, oidc_grant_t *g, oidc_user_info_t *u,
                         const char **claims_json)
{
    /* first = the column after o_status */
    grant_columns(res, first, g, claims_json);
    oidc_token_db_user(res, first + 9, u);
}

static yajl_val grant_finish(gw_req_t *r, const char *claims_json, const oidc_client_t *c, oidc_grant_t *g)
{
    g->issuer = oidc_cfg->issuer;
    g->client_id = c->id;
    if (claims_json == NULL)
        return NULL;
    gw_err_t err;
    yajl_val claims = gw_json_parse_pool(&r->req->pool, claims_json, strlen(claims_json), NULL, &err);
    g->uic_json = oidc_claims_names_json(claims, "userinfo");
    return claims;
}

yajl_val oidc_token_take_load(gw_req_t *r, PGresult *res, const oidc_client_t *c, oidc_grant_t *g)
{
    const char *claims_json = NULL;
    grant_columns(res, 1, g, &claims_json);
    return grant_finish(r, claims_json, c, g);
}

yajl_val oidc_token_grant_load(gw_req_t *r, PGresult *res, const oidc_client_t *c, oidc_grant_t *g,
                               oidc_user_info_t *u)
{
    const char *claims_json = NULL;
    oidc_token_db_grant(res, 1, g, u, &claims_json);
    return grant_finish(r, claims_json, c, g);
}
