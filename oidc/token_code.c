/* grant_type=authorization_code (RFC 6749 §4.1.3, OIDC Core §3.1.3.2,
 * RFC 7636 §4.5-4.6): one statement redeems the code atomically and, for a
 * client allowed refresh tokens whose grant has offline_access, stores the
 * first refresh token; then the access token and ID token are signed and
 * returned. A code that is not taken is looked up once more (replay), a
 * session with a TAP or a recovery behind it has its extras read, and a code
 * with a claims request its user's claims. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/log.h"
#include "gateway/secrets.h"
#include "oidc/tokens_internal.h"

/* Identifies this file's per-request state (gw_req_state). */
static const char STATE_TAG = 0;

#define CODE_MAX 512

/* Columns of OIDC_STMT_CODE_REDEEM and OIDC_STMT_CODE_TAKE (token_db.c). */
#define COL_STATUS         0
#define COL_USER           2
#define COL_SESSION        3
#define COL_CLAIMS         6
#define COL_REFRESH        17
#define COL_CHALLENGE      18
#define COL_TAP_CAP        19 /* then verified claims, provider result */
#define COL_TAKE_CHALLENGE 10
#define COL_TAKE_SESSION   11 /* ended | waiting | extras | plain | NULL */

/* What a taken code still waits for: its session's extras, its user's
 * claims (for a claims request). The rows are copies (the store clears its
 * results when their callbacks return), released with the request's pool. */
typedef struct {
    PGresult *taken;
    PGresult *extras;
    int need_extras;
    int need_user;
} held_t;

typedef struct {
    const oidc_client_t *client;
    char challenge[OIDC_PKCE_S256_LEN + 1]; /* S256 of the verifier, the statement's $4 */
    char code_hash[GW_SECRET_HASH_HEX_LEN + 1];
    char refresh[GW_SECRET_LEN + 1];
    held_t *held;
} code_state_t;

static void refuse(gw_req_t *r, const code_state_t *st, const char *status)
{
    /* One public message for "unknown", "expired", "replayed",
     * "wrong_client", "inactive_user", "session_ended" and
     * "session_waiting": an attacker holding a code learns nothing. */
    const char *msg = "authorization code is invalid, expired or already used";
    if (status != NULL && strcmp(status, "wrong_redirect_uri") == 0)
        msg = "redirect_uri does not match the authorization request";
    else if (status != NULL && strcmp(status, "wrong_verifier") == 0)
        msg = "code_verifier does not match the code_challenge";
    gw_log_write(GW_LOG_INFO, __func__, r->id, "code refused for client %s: %s", st->client->id,
                 status ? status : "no row");
    gw_reply_fail(r, GW_E_INVALID_GRANT, msg);
}

/* RFC 7636 §4.6, again in constant time in C (the statement's equality
 * only decides the status), against the S256 of the verifier computed once
 * for the statement. Replies and returns 0 when it does not match. */
static int verifier_matches_or_reply(gw_req_t *r, const code_state_t *st, PGresult *res, int col)
{
    if (!oidc_pkce_s256_matches(st->challenge, store_value(res, 0, col))) {
        gw_reply_fail(r, GW_E_INVALID_GRANT, "code_verifier does not match the code_challenge");
        return 0;
    }
    return 1;
}

/* Signs and returns the tokens of the grant in row 0 of `res`; the session's
 * extras (TAP expiry, verified claims, provider result) are the three
 * columns from `first` of `extras`, or none when `extras` is NULL. */
static void issue(gw_req_t *r, const code_state_t *st, PGresult *res, PGresult *extras, int first)
{
    oidc_grant_t g = {0};
    oidc_user_info_t u = {0};
    yajl_val claims = oidc_token_grant_load(r, res, st->client, &g, &u);
    if (extras != NULL)
        oidc_token_db_extras(extras, first, &g);
    const char *rt = store_value(res, 0, COL_REFRESH);
    int has_refresh = rt != NULL && rt[0] == 't';
    oidc_token_grant_reply(r, st->client, &g, &u, claims, has_refresh ? st->refresh : NULL);
}

/* ---- a client allowed refresh tokens: regain_code_exchange (017) ---------- */

static void on_redeemed(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    code_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    const char *status = store_value(res, 0, COL_STATUS);
    if (status == NULL || strcmp(status, "ok") != 0) {
        refuse(r, st, status);
        return;
    }
    if (verifier_matches_or_reply(r, st, res, COL_CHALLENGE))
        issue(r, st, res, res, COL_TAP_CAP);
}

/* ---- any other client: OIDC_STMT_CODE_TAKE (025) -------------------------- */

static void on_replayed(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    code_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    const char *status = store_value(res, 0, 0);
    refuse(r, st, status ? status : "unknown");
}

/* Signs and returns the tokens of a taken code: the grant from `taken`, the
 * session's extras from `extras` (or none), the user's claims from `user`
 * (OIDC_STMT_USERINFO's columns, or none: no claims request). */
static void issue_taken(gw_req_t *r, const code_state_t *st, PGresult *taken, PGresult *extras,
                        PGresult *user)
{
    oidc_grant_t g = {0};
    oidc_user_info_t u = {.email_verified = -1};
    yajl_val claims = oidc_token_take_load(r, taken, st->client, &g);
    if (extras != NULL)
        oidc_token_db_extras(extras, 0, &g);
    if (user != NULL)
        oidc_token_db_user(user, 0, &u);
    oidc_token_grant_reply(r, st->client, &g, &u, claims, NULL);
}

static void next_lookup(gw_req_t *r, code_state_t *st);

static void on_user(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    code_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    /* Deactivated since the code was taken. */
    if (PQntuples(res) != 1) {
        refuse(r, st, "inactive_user");
        return;
    }
    issue_taken(r, st, st->held->taken, st->held->extras, res);
}

static void on_extras(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    code_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    /* The session ended since the code was taken (its TAP cap can no
     * longer be read): nothing is issued. */
    if (PQntuples(res) != 1) {
        refuse(r, st, "session_ended");
        return;
    }
    st->held->extras = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    if (st->held->extras == NULL) {
        gw_reply_fail(r, GW_E_INTERNAL, "out of memory");
        return;
    }
    st->held->need_extras = 0;
    next_lookup(r, st);
}

/* The session's extras, then the user's claims, then the tokens. */
static void next_lookup(gw_req_t *r, code_state_t *st)
{
    held_t *h = st->held;
    if (h->need_extras) {
        const char *params[1] = {PQgetvalue(h->taken, 0, COL_SESSION)};
        gw_req_query_or_reply(r, &OIDC_STMT_SESSION_EXTRAS, params, on_extras);
    } else if (h->need_user) {
        const char *params[1] = {PQgetvalue(h->taken, 0, COL_USER)};
        gw_req_query_or_reply(r, &OIDC_STMT_USERINFO, params, on_user);
    } else {
        issue_taken(r, st, h->taken, h->extras, NULL);
    }
}

static void held_dispose(void *p)
{
    held_t *h = p;
    PQclear(h->taken);
    PQclear(h->extras);
}

static void on_taken(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    code_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    if (PQntuples(res) == 0) {
        const char *params[1] = {st->code_hash};
        gw_req_query_or_reply(r, &OIDC_STMT_CODE_REPLAYED, params, on_replayed);
        return;
    }
    const char *status = store_value(res, 0, COL_STATUS);
    if (status == NULL || strcmp(status, "ok") != 0) {
        refuse(r, st, status);
        return;
    }
    /* After the statement's own checks, as regain_code_exchange orders them
     * (026): the code is used up either way. */
    const char *session = store_value(res, 0, COL_TAKE_SESSION);
    if (session != NULL && strcmp(session, "ended") == 0) {
        refuse(r, st, "session_ended");
        return;
    }
    if (session != NULL && strcmp(session, "waiting") == 0) {
        refuse(r, st, "session_waiting");
        return;
    }
    if (!verifier_matches_or_reply(r, st, res, COL_TAKE_CHALLENGE))
        return;
    int need_extras = session != NULL && strcmp(session, "extras") == 0;
    int need_user = store_value(res, 0, COL_CLAIMS) != NULL;
    if (!need_extras && !need_user) {
        issue_taken(r, st, res, NULL, NULL);
        return;
    }
    held_t *h = h2o_mem_alloc_shared(&r->req->pool, sizeof(*h), held_dispose);
    memset(h, 0, sizeof(*h));
    st->held = h;
    h->need_extras = need_extras;
    h->need_user = need_user;
    h->taken = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    if (h->taken == NULL) {
        gw_reply_fail(r, GW_E_INTERNAL, "out of memory");
        return;
    }
    next_lookup(r, st);
}

void oidc_token_code(gw_req_t *r, const oidc_client_t *c, const gw_kvs_t *form)
{
    h2o_iovec_t code, redirect_uri, verifier;
    gw_err_t err;
    if (!(c->grants & OIDC_GRANT_CODE)) {
        gw_reply_fail(r, GW_E_UNAUTHORIZED_CLIENT, "the client may not use the authorization_code grant");
        return;
    }
    if (gw_kvs_get_once(form, "code", &code, &err) != 0 ||
        gw_kvs_get_once(form, "redirect_uri", &redirect_uri, &err) != 0 ||
        gw_kvs_get_once(form, "code_verifier", &verifier, &err) != 0) {
        gw_reply_error(r, &err);
        return;
    }
    if (code.base == NULL || code.len > CODE_MAX) {
        gw_reply_fail(r, code.base == NULL ? GW_E_INVALID_REQUEST : GW_E_INVALID_GRANT,
                      code.base == NULL ? "code is required" : "authorization code is invalid");
        return;
    }
    /* OIDC Core §3.1.2.1 makes redirect_uri mandatory in the authorization
     * request, so RFC 6749 §4.1.3 makes it mandatory here. */
    if (redirect_uri.base == NULL) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "redirect_uri is required");
        return;
    }
    /* PKCE is required for every client (DESIGN.md, RFC 9700 §2.1.1). */
    if (verifier.base == NULL) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "code_verifier is required");
        return;
    }
    if (!oidc_pkce_verifier_valid(verifier.base, verifier.len)) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "code_verifier must be 43 to 128 unreserved characters");
        return;
    }
    code_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    st->client = c;
    char refresh_hash[GW_SECRET_HASH_HEX_LEN + 1];
    char ttl[16];
    gw_secret_hash_hex(code.base, code.len, st->code_hash);
    oidc_pkce_s256(verifier.base, verifier.len, st->challenge);
    /* A client that may not receive refresh tokens: one statement takes the
     * code (schema/025_code_take.sql). */
    if (!(c->grants & OIDC_GRANT_REFRESH)) {
        const char *params[4] = {st->code_hash, c->id, redirect_uri.base, st->challenge};
        gw_req_query_or_reply(r, &OIDC_STMT_CODE_TAKE, params, on_taken);
        return;
    }
    /* regain_code_exchange stores the first refresh token in the same
     * transaction, when offline_access was granted. */
    gw_secret_new(st->refresh);
    gw_secret_hash_hex(st->refresh, GW_SECRET_LEN, refresh_hash);
    snprintf(ttl, sizeof(ttl), "%u", oidc_cfg->oidc.refresh_token_ttl_s);
    const char *params[6] = {st->code_hash, c->id, redirect_uri.base, st->challenge, refresh_hash, ttl};
    gw_req_query_or_reply(r, &OIDC_STMT_CODE_REDEEM, params, on_redeemed);
}
