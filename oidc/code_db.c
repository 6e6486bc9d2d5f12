/* Authorization codes (RFC 6749 §4.1.2): minted here, stored only as their
 * keyed hash (gateway/secrets.h) with everything the token endpoint needs to
 * redeem them once: client, redirect URI, PKCE challenge (S256, RFC 7636),
 * user, session, scope, nonce, claims request, auth_time, acr and amr. The
 * tokens area binds the redemption to client, redirect URI and verifier. */
#include <stdio.h>
#include <string.h>

#include "gateway/alloc.h"
#include "oidc/authorize_internal.h"

#define CODE_COLUMNS                                                                                         \
    "(code_hash, client_id, user_id, session_id, redirect_uri, scope, nonce, code_challenge, claims,"        \
    " auth_time, acr, amr, expires_at)"
/* Explicit casts: in INSERT ... SELECT the parameters' types are not taken
 * from the target columns. */
#define CODE_VALUES                                                                                          \
    "$1::bytea, $2::text, $3::uuid, $4::uuid, $5::text, $6::text, $7::text, $8::text, $9::jsonb,"            \
    " to_timestamp($10::bigint), $11::text, ARRAY(SELECT jsonb_array_elements_text($12::jsonb)),"            \
    " now() + make_interval(secs => $13::int)"

static store_stmt_t STMT_CODE_INSERT = {
    "authz_code_insert", "INSERT INTO authorization_codes " CODE_COLUMNS " VALUES (" CODE_VALUES ")", 13, 0};

/* The pending request is deleted by the statement that stores the code: of
 * two concurrent resumes, exactly one inserts a row. */
static store_stmt_t STMT_CODE_FROM_REQUEST = {
    "authz_code_from_request",
    "WITH taken AS (DELETE FROM authorization_requests WHERE id = $14::uuid AND expires_at > now()"
    " RETURNING id) INSERT INTO authorization_codes " CODE_COLUMNS " SELECT " CODE_VALUES " FROM taken",
    14, 0};

/* A password sign-in's session ($1..$8, OIDC_SESSION_OPEN_CTES) and the
 * code of the request it finished ($9..$18, as above without the session's
 * own values): the code takes the session's id, amr and auth_time (whole
 * seconds, as the session's reader returns it). The session entry runs
 * whether or not the request is still there; the last column says whether
 * the code was stored. FROM is where the code's row comes from: the session
 * alone for a request the browser carried (pending.c), which has no row to
 * take, or the session and the stored request, taken. */
#define CODE_WITH_SESSION(FROM)                                                                              \
    " code AS (INSERT INTO authorization_codes " CODE_COLUMNS                                                \
    " SELECT $9::bytea, $10::text, $2::uuid, opened.id, $11::text, $12::text, $13::text, $14::text,"         \
    " $15::jsonb, to_timestamp(extract(epoch FROM opened.auth_time)::bigint), $16::text, opened.amr,"        \
    " now() + make_interval(secs => $17::int) FROM " FROM " RETURNING 1)"                                    \
    " SELECT opened.id, extract(epoch FROM opened.auth_time)::bigint, (SELECT count(*) FROM code)"           \
    " FROM opened"

static store_stmt_t STMT_CODE_WITH_SESSION = {
    "authz_code_with_session",
    "WITH " OIDC_SESSION_OPEN_CTES ", taken AS (DELETE FROM authorization_requests WHERE id = $18::uuid"
    " AND expires_at > now() RETURNING id)," CODE_WITH_SESSION("opened, taken"),
    OIDC_SESSION_OPEN_NPARAMS + 10, 0};

static store_stmt_t STMT_CODE_WITH_SESSION_SEALED = {
    "authz_code_with_session_sealed", "WITH " OIDC_SESSION_OPEN_CTES "," CODE_WITH_SESSION("opened"),
    OIDC_SESSION_OPEN_NPARAMS + 9, 0};

void oidc_code_db_register(void)
{
    store_stmt_register(&STMT_CODE_INSERT);
    store_stmt_register(&STMT_CODE_FROM_REQUEST);
    store_stmt_register(&STMT_CODE_WITH_SESSION);
    store_stmt_register(&STMT_CODE_WITH_SESSION_SEALED);
}

/* A fresh code into `code`, its keyed hash (hex) into `hash`. */
static void code_new(char code[GW_SECRET_LEN + 1], char hash[GW_SECRET_HASH_HEX_LEN + 1])
{
    gw_secret_new(code);
    gw_secret_hash_hex(code, GW_SECRET_LEN, hash);
}

static void code_ttl(char ttl[16])
{
    snprintf(ttl, 16, "%u", oidc_cfg->oidc.code_ttl_s ? oidc_cfg->oidc.code_ttl_s : 60);
}

int oidc_code_issue_or_reply(gw_req_t *r, const oidc_az_request_t *a, const oidc_session_t *s,
                             const char *request_id, char code[GW_SECRET_LEN + 1], gw_req_query_cb cb)
{
    char hash[GW_SECRET_HASH_HEX_LEN + 1], auth_time[24], ttl[16];
    code_new(code, hash);
    snprintf(auth_time, sizeof(auth_time), "%lld", (long long)s->auth_time);
    code_ttl(ttl);
    const char *params[14] = {
        hash,
        a->client_id.base,
        s->user_id,
        s->id,
        a->redirect_uri.base,
        a->scope.base,
        a->nonce.base,
        a->code_challenge.base,
        a->claims.base,
        auth_time,
        s->acr,
        s->amr_json ? s->amr_json : "[]",
        ttl,
        request_id,
    };
    return gw_req_query_or_reply(r, request_id ? &STMT_CODE_FROM_REQUEST : &STMT_CODE_INSERT, params, cb);
}

int oidc_code_issued(const PGresult *res)
{
    const char *n = res ? PQcmdTuples((PGresult *)res) : "";
    return n[0] == '1' && n[1] == '\0';
}

int oidc_code_issue_opening_or_reply(gw_req_t *r, const oidc_az_request_t *a, const oidc_session_t *s,
                                     const char *request_id, const oidc_session_opening_t *o,
                                     char code[GW_SECRET_LEN + 1], gw_req_query_cb cb)
{
    char hash[GW_SECRET_HASH_HEX_LEN + 1], ttl[16];
    code_new(code, hash);
    code_ttl(ttl);
    const char *params[OIDC_SESSION_OPEN_NPARAMS + 10];
    memcpy(params, o->params, sizeof(o->params));
    const char *const code_params[10] = {
        hash,
        a->client_id.base,
        a->redirect_uri.base,
        a->scope.base,
        a->nonce.base,
        a->code_challenge.base,
        a->claims.base,
        s->acr,
        ttl,
        request_id,
    };
    memcpy(params + OIDC_SESSION_OPEN_NPARAMS, code_params, sizeof(code_params));
    return gw_req_query_or_reply(
        r, request_id != NULL ? &STMT_CODE_WITH_SESSION : &STMT_CODE_WITH_SESSION_SEALED, params, cb);
}

int oidc_code_issued_opening(const PGresult *res, oidc_session_t *s)
{
    if (oidc_session_opened(res, s) != 0)
        return -1;
    const char *issued = store_value(res, 0, 2);
    return issued != NULL && strcmp(issued, "1") == 0;
}
