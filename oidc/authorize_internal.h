/* Declarations shared by the authorize area's files only (oidc/authorize*.c,
 * oidc/code_db.c, oidc/logout.c); the contract with the other areas is
 * oidc/internal.h. */
#ifndef REGAIN_OIDC_AUTHORIZE_INTERNAL_H
#define REGAIN_OIDC_AUTHORIZE_INTERNAL_H

#include <stdint.h>

#include "gateway/secrets.h"
#include "oidc/internal.h"

/* ---- limits on request parameters (every input bounded) ------------------ */

#define OIDC_AZ_CLIENT_ID_MAX    128 /* schema/002_oidc.sql clients.id */
#define OIDC_AZ_URI_MAX          2048
#define OIDC_AZ_STATE_MAX        1024
#define OIDC_AZ_NONCE_MAX        512
#define OIDC_AZ_SCOPE_MAX        1024
#define OIDC_AZ_SCOPE_VALUES_MAX 32
#define OIDC_AZ_LOGIN_HINT_MAX   1024 /* a userName: 256 characters, up to 4 bytes each */
#define OIDC_AZ_ACR_VALUES_MAX   512
#define OIDC_AZ_LOCALES_MAX      256
#define OIDC_AZ_CLAIMS_MAX       8192
#define OIDC_AZ_CLAIMS_DEPTH     8
#define OIDC_AZ_MAX_AGE_MAX      INT32_MAX
/* A pending request waits this long for the user to sign in. */
#define OIDC_AZ_REQUEST_TTL_S 600

/* ---- authorization error responses (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6) */

typedef enum {
    OIDC_AZE_NONE = 0,
    OIDC_AZE_INVALID_REQUEST,
    OIDC_AZE_UNAUTHORIZED_CLIENT,
    OIDC_AZE_ACCESS_DENIED,
    OIDC_AZE_UNSUPPORTED_RESPONSE_TYPE,
    OIDC_AZE_INVALID_SCOPE,
    OIDC_AZE_SERVER_ERROR,
    OIDC_AZE_TEMPORARILY_UNAVAILABLE,
    OIDC_AZE_LOGIN_REQUIRED,
    OIDC_AZE_INTERACTION_REQUIRED,
    OIDC_AZE_REQUEST_NOT_SUPPORTED,
    OIDC_AZE_REQUEST_URI_NOT_SUPPORTED,
    OIDC_AZE_REGISTRATION_NOT_SUPPORTED,
    /* OpenID Connect Core Error Code unmet_authentication_requirements 1.0 */
    OIDC_AZE_UNMET_AUTHENTICATION_REQUIREMENTS,
    OIDC_AZE__COUNT
} oidc_az_error_t;

/* The `error` value of a code ("invalid_request"...). */
const char *oidc_az_error_code(oidc_az_error_t e);

enum { OIDC_RM_QUERY = 0, OIDC_RM_FORM_POST = 1 };

/* prompt values (OIDC Core §3.1.2.1) */
enum {
    OIDC_PROMPT_NONE = 1 << 0,
    OIDC_PROMPT_LOGIN = 1 << 1,
    OIDC_PROMPT_CONSENT = 1 << 2,
    OIDC_PROMPT_SELECT_ACCOUNT = 1 << 3,
};

/* A validated authorization request. Strings are NUL-terminated and point
 * into the parsed parameters (or the pool); `base == NULL` means absent. */
typedef struct {
    h2o_iovec_t client_id;
    h2o_iovec_t redirect_uri;
    int response_mode; /* OIDC_RM_*; the mode errors go back in */
    h2o_iovec_t state;
    h2o_iovec_t scope; /* normalised: single spaces, no duplicates */
    h2o_iovec_t nonce;
    h2o_iovec_t code_challenge; /* S256 only */
    unsigned prompt;            /* OIDC_PROMPT_* bits */
    int64_t max_age;            /* -1 when absent */
    h2o_iovec_t login_hint;
    h2o_iovec_t acr_values;
    h2o_iovec_t claims; /* the JSON text, validated (OIDC Core §5.5) */
    /* The End-User the request is for, by a sub value in the claims
     * request's id_token member or the id_token_hint's sub: only a session
     * of that user may answer it (OIDC Core §3.1.2.2). */
    h2o_iovec_t required_sub;
    /* Stored requests only: the session the browser had when a fresh
     * sign-in was asked for; resuming needs another one. */
    h2o_iovec_t stale_session;
    /* The first error that goes back to the client's redirect URI once the
     * client and the URI are verified; OIDC_AZE_NONE when the request is good. */
    oidc_az_error_t error;
    char error_description[160];
} oidc_az_request_t;

/* Reads and validates the parameters of an authorization request (OIDC Core
 * §3.1.2.1, RFC 6749 §4.1.1, RFC 7636 §4.3). Returns -1 with a message in
 * `fatal` when client_id or redirect_uri is missing, repeated or malformed:
 * such an error must never be redirected (RFC 6749 §4.1.2.1). Otherwise
 * returns 0; `out->error` then holds the first other problem, if any. No
 * client-specific checks here: those need the registered client. */
int oidc_az_parse(h2o_mem_pool_t *pool, const gw_kvs_t *kvs, oidc_az_request_t *out, char *fatal,
                  size_t fatal_size);

/* 1 when the session may be used for `a` without a new sign-in: not when
 * prompt asks for login or account selection, nor when max_age has passed
 * (OIDC Core §3.1.2.1; max_age=0 behaves as prompt=login). */
int oidc_az_session_fits(const oidc_az_request_t *a, int64_t auth_time, int64_t now);

/* 1 unless the request names an End-User (required_sub) other than
 * `user_id`, the user of the session that would answer it. */
int oidc_az_session_user_fits(const oidc_az_request_t *a, const char *user_id);

/* The stored form of a pending request (authorization_requests.params) and
 * back. to_json returns a NUL-terminated string from `pool`; from_json reads
 * the strings into `out` from a tree that lives in `pool`. */
h2o_iovec_t oidc_az_to_json(h2o_mem_pool_t *pool, const oidc_az_request_t *a);
int oidc_az_from_json(h2o_mem_pool_t *pool, const char *json, size_t len, oidc_az_request_t *out);

/* ---- responses (authorize_response.c) ------------------------------------ */

typedef struct {
    const char *name;
    const char *value; /* NUL-terminated; NULL: the parameter is left out */
} oidc_param_t;

/* redirect_uri with the parameters added to its query (RFC 6749 §3.1.2: an
 * existing query component is kept), percent-encoded. */
h2o_iovec_t oidc_az_redirect_url(h2o_mem_pool_t *pool, const char *uri, size_t len,
                                 const oidc_param_t *params, size_t n);

/* The OAuth 2.0 Form Post Response Mode page (§2): a form that posts the
 * parameters to redirect_uri, submitted by /static/form_post.js, with a
 * visible button when scripts do not run. */
h2o_iovec_t oidc_az_form_post_html(h2o_mem_pool_t *pool, const char *uri, size_t len,
                                   const oidc_param_t *params, size_t n);

/* Sends the authorization response (success or error) in `a->response_mode`
 * to `a->redirect_uri`, with `iss` (RFC 9207) and `state` added. */
void oidc_az_respond(gw_req_t *r, const oidc_az_request_t *a, const oidc_param_t *params, size_t n);
void oidc_az_respond_error(gw_req_t *r, const oidc_az_request_t *a, oidc_az_error_t code,
                           const char *description);

/* A simple page for errors that are shown to the user, never redirected. */
void oidc_az_error_page(gw_req_t *r, int status, const char *title, const char *message);

/* A page with a heading and a paragraph (both plain text, escaped here). */
void oidc_az_message_page(gw_req_t *r, int status, const char *title, const char *message);

/* GET /static/form_post.js */
void oidc_az_static_register(void);

/* GET|POST /logout (logout.c) */
void oidc_logout_register(void);

/* ---- per-request context (authorize_ctx.c) -------------------------------- */

/* Reads the request's parameters: the query for GET, the form body for POST.
 * Returns -1 after rendering an error page. */
int oidc_az_read_params_or_page(gw_req_t *r, gw_kvs_t *out);

/* ---- storage (authorize_db.c, code_db.c) ---------------------------------- */

void oidc_authorize_db_register(void);
void oidc_code_db_register(void);

/* Stores a pending request; `cb` gets the result, read by
 * oidc_az_request_stored (-1 when it holds no row). */
int oidc_az_request_store_or_reply(gw_req_t *r, const oidc_az_request_t *a, gw_req_query_cb cb);
int oidc_az_request_stored(const PGresult *res, char id[37], int64_t *created_at);

/* A new pending request for `a`, carried by the browser (pending.c): its id
 * into `id` and its box (pool memory), or NULL when `a` is too large for a
 * box and must be stored as a row. */
const char *oidc_pending_new(h2o_mem_pool_t *pool, const oidc_az_request_t *a, char id[OIDC_UUID_LEN + 1]);

/* Loads a live (not expired) pending request; oidc_az_request_loaded reads
 * it: 0 with its fields (pointing into `res`), or -1 when unknown/expired. */
int oidc_az_request_load_or_reply(gw_req_t *r, const char *id, gw_req_query_cb cb);
int oidc_az_request_loaded(const PGresult *res, const char **params_json, int64_t *created_at);

/* Deletes pending request `id` (answered with an error: it cannot be
 * resumed afterwards). */
int oidc_az_request_drop_or_reply(gw_req_t *r, const char *id, gw_req_query_cb cb);

/* The highest OIDC_ACR_LEVEL_* user `user_id` can reach with the methods
 * they have: a passkey phishing-resistant, a password with an
 * authenticator app mfa, anything else password. One row, one column. */
int oidc_az_acr_reach_or_reply(gw_req_t *r, const char *user_id, gw_req_query_cb cb);

/* Mints a code for `a` and session `s` into `code` and stores only its keyed
 * hash, with expires_at = now + oidc.code_ttl_s. With `request_id`, the
 * pending request is consumed by the same statement, so it is resumed at
 * most once: oidc_code_issued then says 0 (it was gone). */
int oidc_code_issue_or_reply(gw_req_t *r, const oidc_az_request_t *a, const oidc_session_t *s,
                             const char *request_id, char code[GW_SECRET_LEN + 1], gw_req_query_cb cb);
int oidc_code_issued(const PGresult *res);
/* The same for session `o` of a password sign-in, stored by the same
 * statement (OIDC_SESSION_OPEN_CTES); `s` is the session as the code
 * asserts it (its acr). The session is stored even when the request is
 * gone: the password was right. One row: the session's id, its auth_time
 * (epoch s), and whether the code was stored (oidc_code_issued_opening).
 * `request_id` NULL: a request the browser carried (pending.c), no row to
 * take. */
int oidc_code_issue_opening_or_reply(gw_req_t *r, const oidc_az_request_t *a, const oidc_session_t *s,
                                     const char *request_id, const oidc_session_opening_t *o,
                                     char code[GW_SECRET_LEN + 1], gw_req_query_cb cb);
/* 1 when the code was stored, 0 when the request was gone, -1 for a result
 * without the session. Fills the opened session's id and auth_time into
 * `s`. */
int oidc_code_issued_opening(const PGresult *res, oidc_session_t *s);

#endif
