/* Declarations shared by the sign-in area's files only (login, sessions,
 * users, passwords, throttling, pages). The contract with the other areas is
 * oidc/internal.h; nothing here is for them. */
#ifndef REGAIN_OIDC_SIGNIN_INTERNAL_H
#define REGAIN_OIDC_SIGNIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gateway/crypto.h"
#include "gateway/store.h"
#include "oidc/internal.h"

/* Bounds on what a person types. RFC 7643 userName is bounded by the schema
 * (1..256 characters); 1 KiB is far beyond any password manager's output and
 * keeps one request from feeding Argon2 a megabyte. */
#define OIDC_USERNAME_MAX 256
#define OIDC_PASSWORD_MAX 1024
/* A userName as typed is counted in bytes: 256 characters of UTF-8 are up
 * to 4 * 256 bytes, so a byte bound of OIDC_USERNAME_MAX refuses names the
 * schema holds ("é" x 200 is 400 bytes). */
#define OIDC_USERNAME_MAX_BYTES (4 * OIDC_USERNAME_MAX)

#define OIDC_CSRF_COOKIE "__Host-regain-csrf"
#define OIDC_CSRF_FIELD  "csrf"

/* ---- small checks (html.c) -------------------------------------------------- */

/* ---- HTML (html.c) ------------------------------------------------------------ */

/* A growing HTML document in a memory pool. */
typedef struct {
    h2o_mem_pool_t *pool;
    char *buf;
    size_t len, cap;
} oidc_html_t;

void oidc_html_init(oidc_html_t *h, h2o_mem_pool_t *pool);
/* Trusted markup, copied as is. */
void oidc_html_raw(oidc_html_t *h, const char *s);
/* Untrusted text, escaped for element content and for quoted attribute
 * values alike: & < > " ' become character references (HTML Living Standard
 * §13.1.2.3 / §13.1.2.4: these end text or a quoted attribute). */
void oidc_html_text(oidc_html_t *h, const char *s, size_t n);
#define oidc_html_str(h, s) oidc_html_text((h), (s), strlen(s))

/* ---- page skeleton (html_page.c) -------------------------------------------- */

#define OIDC_PAGE_SCRIPT 1u /* load /static/passkey.js (deferred) */
#define OIDC_PAGE_WIDE   2u /* the wider card (the account pages) */

/* Everything up to the opening of the page's card; the title is escaped. */
void oidc_html_page_open(oidc_html_t *h, const char *title, unsigned flags);
/* Closes the card and the document; returns the page. */
h2o_iovec_t oidc_html_page_close(oidc_html_t *h);
/* <input type="hidden">; name and value are escaped, a NULL value is empty. */
void oidc_html_hidden(oidc_html_t *h, const char *name, const char *value);

/* ---- pages (pages.c): pure builders, tested without a server ---------------- */

typedef struct {
    const char *request_id; /* trusted uuid, or NULL: a sign-in for the account page */
    const char *csrf;       /* the form token (base64url) */
    const char *username;   /* to fill in again, or NULL (escaped) */
    const char *error;      /* message, or NULL (escaped) */
    int need;               /* OIDC_ACR_LEVEL_* the relying party asks for */
    const char *notice;     /* why we ask (a step-up), or NULL (escaped) */
    const char *tap_csrf;   /* the TAP form's token (bound to "" without a request); NULL: csrf */
    const char *pending;    /* the request's box (base64url, pending.c), or NULL: it is stored */
} oidc_signin_view_t;

/* The sign-in page as a NUL-terminated string in `pool`. */
h2o_iovec_t oidc_page_signin(h2o_mem_pool_t *pool, const oidc_signin_view_t *v);

/* A plain page with a heading and one paragraph (both escaped). */
h2o_iovec_t oidc_page_error(h2o_mem_pool_t *pool, const char *title, const char *message);

/* ---- CSRF (csrf.c) ----------------------------------------------------------- */

#define OIDC_CSRF_TOKEN_LEN GW_B64URL_LEN(32)

/* The form token for the cookie secret `cookie` and request `request_id`:
 * base64url(HMAC(server key, "csrf" || cookie || request_id)). */
void oidc_csrf_token(const char *cookie, size_t cookie_len, const char *request_id,
                     char out[OIDC_CSRF_TOKEN_LEN + 1]);

/* 1 when `field` is the token for (cookie, request_id); constant time. */
int oidc_csrf_ok(const char *cookie, size_t cookie_len, const char *request_id, const char *field,
                 size_t field_len);

/* 1 when a cookie value looks like one of our secrets (43 base64url chars). */
int oidc_secret_format_ok(const char *s, size_t n);

/* The browser's CSRF cookie value, minting and setting a new one on `r`'s
 * reply when it has none (or a malformed one). Result lives in r's pool. */
h2o_iovec_t oidc_csrf_cookie_get_or_set(gw_req_t *r);

/* ---- passwords (password.c) -------------------------------------------------- */

typedef struct {
    uint32_t t, m_kib, p;
} oidc_argon2_params_t;

/* Argon2id (RFC 9106) in the PHC string format ($argon2id$v=19$m=..,t=..,p=..$salt$hash)
 * with a fresh 16-byte salt and a 32-byte tag; *out is malloc'd, free() it.
 * Errors: GW_E_INTERNAL. Takes tens of milliseconds: never on a loop thread. */
int oidc_password_hash(const oidc_argon2_params_t *prm, const char *pwd, size_t len, char **out,
                       gw_err_t *err);

/* 1 when `pwd` matches the encoded Argon2id hash, else 0 (also for a hash
 * that is not Argon2id or does not parse). Same cost as hashing. */
int oidc_password_verify(const char *encoded, const char *pwd, size_t len);

/* An Argon2id hash in the PHC string format libargon2 writes, read strictly
 * (password_phc.c): 0, or -1 for anything else. */
#define OIDC_PHC_BYTES_MAX 64 /* salt and tag: libargon2 writes 16 and 32 for us */
typedef struct {
    uint32_t m_kib, t, p;
    uint8_t salt[OIDC_PHC_BYTES_MAX], tag[OIDC_PHC_BYTES_MAX];
    size_t salt_len, tag_len;
} oidc_phc_t;
int oidc_phc_parse(const char *s, oidc_phc_t *h);

/* libargon2's allocate_cbk and free_cbk: the calling thread's kept,
 * huge-page-backed block (password_memory.c). */
int oidc_argon2_memory_alloc(uint8_t **memory, size_t bytes);
void oidc_argon2_memory_free(uint8_t *memory, size_t bytes);
/* The calling thread's kept block and its size (NULL, 0: none yet); for tests. */
const uint8_t *oidc_argon2_memory_kept(size_t *size);

/* Sets the cost used by the dummy hash (oidc_signin_register). */
void oidc_password_set_params(const oidc_argon2_params_t *prm);

/* Verifies `pwd` against `encoded` on the worker pool; when `encoded` is NULL
 * (unknown user, no password) against a dummy hash of the same cost, so every
 * failure takes as long as a real check, and reports 0. `pwd` is copied,
 * then wiped in the caller's buffer. `cb` runs on r's loop, only if the
 * request still lives (without workers it runs before this returns). */
typedef void (*oidc_password_cb)(gw_req_t *r, void *data, int ok);
void oidc_password_verify_async(gw_req_t *r, const char *encoded, char *pwd, size_t len, oidc_password_cb cb,
                                void *data);

/* ---- statements (*_db.c) ----------------------------------------------------- */

void oidc_session_db_register(void);
void oidc_throttle_db_register(void);
void oidc_login_db_register(void);

/* SELECT params->>'login_hint', ->>'acr_values', ->>'claims',
 * ->>'redirect_uri' of a live authorization request by id. */
extern store_stmt_t oidc_stmt_authz_request_live;

/* A password sign-in's first step: with $7 the authorization request id
 * (NULL: the account page), counts one attempt against ('user:' || lower($1))
 * and ('addr:' || client_addr_key_inline($2)) ($3 window s, $4 max failures, $5
 * lockout s, $6 max failures per address) if that request is live, and looks
 * up the account
 * by userName (case-insensitive). One row: request live, a key locked,
 * then id, password_hash, active, has a confirmed authenticator app (NULL
 * for no such user), the request's stored parameters and its creation time
 * (epoch s). */
extern store_stmt_t oidc_stmt_login_attempt;

/* CTEs for a statement's WITH list (OIDC_GC_LOCKED): delete a few
 * login_throttle rows that hold nothing any more, 'user:', 'addr:' and
 * 'tap-addr:' keys whose window (WINDOW_S, a parameter such as "$3", in
 * seconds) has passed and that are not locked; the next attempt on such a
 * key would start a fresh window anyway. Without it every made-up name typed
 * stayed a row forever (schema/028_login_throttle_gc.sql). EXCEPT adds
 * conditions on g.key (the keys the same statement counts: one row is never
 * changed twice in one statement). A TAP sign-in's address key ('tap-addr:',
 * tap_redeem) counts with the same oidc.throttle_window_s and lockout
 * (tap_signin.c), so the same test holds for it (schema/043).
 *
 * It runs where attempts fail (oidc_stmt_method_failed, and the code
 * sign-in's count), not in every password sign-in: in
 * oidc_stmt_login_attempt it made PostgreSQL plan that statement afresh on
 * each call (a plan for the actual values looked cheaper than the generic
 * one; pg_stat_statements with track_planning: one planning per call,
 * 0.4-0.6 ms, more than the statement's execution). */
#define OIDC_THROTTLE_GC(WINDOW_S, EXCEPT)                                                                   \
    OIDC_GC_LOCKED("login_throttle",                                                                         \
                   "SELECT g.ctid FROM login_throttle g "                                                    \
                   "  WHERE g.window_start <= (SELECT now() - " WINDOW_S "::integer * interval '1 second') " \
                   "  AND (g.locked_until IS NULL OR g.locked_until <= now()) AND (g.key LIKE 'user:%' OR "  \
                   "  g.key LIKE 'addr:%' OR g.key LIKE 'tap-addr:%') " EXCEPT                               \
                   " ORDER BY g.window_start LIMIT 16 FOR UPDATE SKIP LOCKED")
/* The ON CONFLICT clause of an attempt's upsert into login_throttle AS t:
 * per key, a fixed window of $3 seconds (oidc.throttle_window_s) starting at
 * the first failure; the attempt that goes over the key's limit ($4 for an
 * account, $6 for an address) locks the key for $5 seconds; a lock that has
 * passed starts a fresh window. SET expressions see the old row, so the
 * reset test is spelled out in each. RETURNING whether the key is locked now
 * (name the column after it). Shared by the password attempt and the code
 * attempts (throttle_db.c), and the second step's codes (methods_db.c:
 * oidc_stmt_pending_totps), so every way of guessing counts alike. */
#define OIDC_THROTTLE_IS_LOCKED "coalesce(t.locked_until > now(), false)"
#define OIDC_THROTTLE_RESETS                                                                                 \
    "(NOT " OIDC_THROTTLE_IS_LOCKED " AND (t.window_start <= now() - $3::integer * interval '1 second' OR "  \
    "t.locked_until IS NOT NULL))"
#define OIDC_THROTTLE_CONFLICT                                                                               \
    "ON CONFLICT (key) DO UPDATE SET "                                                                       \
    "failures = CASE WHEN " OIDC_THROTTLE_RESETS " THEN 1 ELSE t.failures + 1 END, "                         \
    "window_start = CASE WHEN " OIDC_THROTTLE_RESETS " THEN now() ELSE t.window_start END, "                 \
    "locked_until = CASE WHEN " OIDC_THROTTLE_IS_LOCKED " THEN t.locked_until WHEN " OIDC_THROTTLE_RESETS    \
    " THEN NULL "                                                                                            \
    "WHEN t.failures + 1 > (CASE WHEN t.key LIKE 'addr:%' THEN $6::integer ELSE $4::integer END) "           \
    "THEN now() + $5::integer * interval '1 second' ELSE NULL END "                                          \
    "RETURNING coalesce(locked_until > now(), false)"
/* Counts one attempt ($1..$6 as above), $7 user agent, for a code typed
 * alone: a locked key's refusal is audited in the same statement
 * (method.failed, reason throttled). */
extern store_stmt_t oidc_stmt_throttle_attempt_code;
/* The configured limits as those statements' $3..$6, in order. */
void oidc_throttle_limits(char out[4][16]);

/* Opens a password sign-in's session alone (OIDC_SESSION_OPEN_CTES, in
 * oidc/internal.h, says what its parameters are and what else it does).
 * Returns id and auth_time (epoch s). */
extern store_stmt_t oidc_stmt_session_create;
/* The live session of token hash $1: id, user_id, auth_time (epoch s), amr (JSON), acr,
 * purpose, tap_id. */
extern store_stmt_t oidc_stmt_session_by_token;
/* Ends session $1. */
extern store_stmt_t oidc_stmt_session_end;

/* Blocking insert for the CLI: returns 0 and the new id in id_out (37
 * bytes), 1 for a taken username, -1 with a message in msg. */
int oidc_user_insert_blocking(PGconn *conn, const char *username, const char *given, const char *family,
                              const char *email, int email_verified, const char *password_hash,
                              char id_out[OIDC_UUID_LEN + 1], char *msg, size_t msgsize);

/* ---- sign-in forms (signin_form.c) ------------------------------------------ */

/* One form field into out (base NULL when absent); 0, or -1 after a 400 page
 * for a field sent twice. */
int oidc_signin_field(gw_req_t *r, const gw_kvs_t *form, const char *name, h2o_iovec_t *out);
/* The 400 page for a sign-in link whose request is not a valid id. */
void oidc_signin_link_invalid(gw_req_t *r);

/* ---- sessions (session.c) ---------------------------------------------------- */

/* Adds Set-Cookie for the session cookie with `token` ("" and max_age 0 clear it). */
void oidc_session_cookie_set(gw_req_t *r, const char *token, long long max_age);

/* ---- static files (static_css.c) --------------------------------------------- */

void oidc_static_register(void);

#endif
