/* Declarations shared by the sign-in methods' files only: passkeys
 * (oidc/passkey_*.c), authenticator apps (oidc/totp_*.c), the account
 * security page (oidc/account*.c), the sessions they create
 * (oidc/signin_finish.c) and their SQL (oidc/methods_db.c). They build on the
 * sign-in area (signin_internal.h); the contract with other areas stays
 * oidc/internal.h. */
#ifndef REGAIN_OIDC_METHODS_INTERNAL_H
#define REGAIN_OIDC_METHODS_INTERNAL_H

#include <stdint.h>

#include "gateway/json.h"
#include "gateway/secrets.h"
#include "methods/methods.h"
#include "oidc/signin_internal.h"

/* The account security page, and the context of a sign-in made for it
 * (instead of an authorization request id) in CSRF tokens and challenges. */
#define OIDC_ACCOUNT_PATH    "/account/security"
#define OIDC_CONTEXT_ACCOUNT "account"

/* A sign-in context: a pending authorization request id (uuid) or
 * OIDC_CONTEXT_ACCOUNT. Room for either with the NUL. */
typedef char oidc_context_t[OIDC_UUID_LEN + 1];

/* Reads an optional `request` value: empty or absent gives the account
 * context, a uuid gives itself; anything else -1. */
int oidc_context_parse(const char *s, size_t n, oidc_context_t out);

/* 1 when the context is an authorization request (not the account page). */
#define OIDC_CONTEXT_IS_REQUEST(ctx) (strcmp((ctx), OIDC_CONTEXT_ACCOUNT) != 0)

/* Where a finished sign-in goes: OIDC_RESUME_PATH?request=ID or the
 * account page; pool memory. */
h2o_iovec_t oidc_context_destination(gw_req_t *r, const char *context);

/* Limits on what people type. */
#define OIDC_METHOD_NAME_MAX 64
#define OIDC_CODE_MAX        16 /* six digits, perhaps with spaces */
/* A JSON body of a ceremony: a credential with an RSA-4096 attestation and
 * certificates stays far below. */
#define OIDC_CEREMONY_BODY_MAX (64 * 1024)
/* How long a challenge and a half-finished sign-in live. */
#define OIDC_CHALLENGE_TTL_S 300
#define OIDC_PENDING_TTL_S   300
/* The guesses a half-finished sign-in (5) and an app's confirmation (10)
 * take are in their statements (methods_db.c: oidc_stmt_pending_totps,
 * oidc_stmt_totp_enrol_load). */
/* How many methods one account holds: every one is drawn on the account
 * page, every app checked against each code typed at sign-in, every passkey
 * listed in excludeCredentials, so without a bound one session could make
 * one account cost the server without limit. Generous for people: a few
 * apps, a passkey per device and security key. Concurrent additions may
 * pass a limit by the few that raced; it bounds cost, not a count to the
 * unit. */
#define OIDC_TOTP_APPS_MAX 10 /* confirmed, or being set up */
#define OIDC_PASSKEYS_MAX  50

/* ---- finishing a sign-in (signin_finish.c) ---------------------------------- */

/* A proven sign-in, ready to become a session. */
typedef struct {
    const char *user_id;
    const char *acr; /* OIDC_ACR_* */
    const char *amr; /* PostgreSQL array literal, e.g. "{pwd,otp,mfa}" */
    const char *context;
    int json; /* answer {"redirect": ...} instead of a 303 */
} oidc_signin_done_t;

/* The session statement's parameters that every method shares:
 * $1 new token hash, $2 ttl s, $3 acr, $4 amr, $5 the browser's previous
 * session token hash (ended; may be NULL), $6 client address, $7 user agent.
 * _new mints the token; _commit, once the row exists, sets the cookie on r's
 * reply and wipes the token. A TAP sign-in (tap_signin.c) uses the fields
 * too, in its own statement's order, and sets the cookie itself. */
typedef struct {
    char token[GW_SECRET_LEN + 1];
    char hash[GW_SECRET_HASH_HEX_LEN + 1];
    char old_hash[GW_SECRET_HASH_HEX_LEN + 1];
    char ttl[16];
    char peer[64];
    const char *user_agent;
    int has_old;
} oidc_session_params_t;
void oidc_session_params_new(gw_req_t *r, oidc_session_params_t *p);
void oidc_session_params_commit(gw_req_t *r, oidc_session_params_t *p);

/* Sends the browser on after a session row was created (303, or JSON). */
void oidc_signin_finished(gw_req_t *r, const char *context, int json);

/* ---- the sign-in page (login.c, pages.c) -------------------------------------- */

/* The second step after a right password: the authenticator app code page. */
typedef struct {
    const char *context; /* request id or OIDC_CONTEXT_ACCOUNT */
    const char *csrf;
    const char *step;     /* token of the half-finished sign-in, or NULL */
    const char *username; /* code-only sign-in (no password on the account) */
    const char *error;
} oidc_code_view_t;
h2o_iovec_t oidc_page_code(h2o_mem_pool_t *pool, const oidc_code_view_t *v);
void oidc_code_page(gw_req_t *r, const char *context, const char *step, const char *username,
                    const char *error);

/* oidc_signin_page for a request whose box (pending.c) the browser sent
 * back: the request is stored from it first, if it is not yet. */
void oidc_signin_page_pending(gw_req_t *r, const char *request_id, h2o_iovec_t sealed, const char *login_hint,
                              const char *error);

/* The sign-in page for the account context (no authorization request). */
void oidc_signin_page_account(gw_req_t *r, const char *username, const char *error);

/* Password proven for an account with an authenticator app: records the
 * half-finished sign-in and shows the code page (login.c calls it). */
void oidc_totp_second_step(gw_req_t *r, const char *user_id, const char *context);

/* ---- TOTP secrets at rest (totp_secret.c) ------------------------------------- */

/* Derives the sealing key from the key-encryption key (call once at start). */
void oidc_totp_keys_init(const uint8_t kek[32]);

/* Seals `key` for authenticator `id`: *hex is a bytea hex literal ("\\x..."),
 * malloc'd. Errors: GW_E_INTERNAL. */
int oidc_totp_seal(const char *id, const uint8_t *key, size_t keylen, char **hex, gw_err_t *err);

/* Opens a stored box (bytea text) of authenticator `id` into `key`
 * (MTH_TOTP_SECRET_LEN bytes); -1 when it does not open. Wipe `key` after. */
int oidc_totp_open(const char *id, const char *bytea_text, uint8_t key[MTH_TOTP_SECRET_LEN]);

/* The 16 bytes of a textual uuid (a passkey's user handle); -1 if malformed. */
int oidc_uuid_bytes(const char *uuid, uint8_t out[16]);

/* A fresh random uuid (version 4) as text. */
void oidc_uuid_new(char out[OIDC_UUID_LEN + 1]);

/* ---- bytes <-> text ------------------------------------------------------------- */

/* bytea text output ("\\x" + hex) to bytes in r's pool; -1 when malformed. */
int oidc_bytea_decode(gw_req_t *r, const char *text, uint8_t **out, size_t *len);
/* bytes to a bytea hex literal in r's pool. */
char *oidc_bytea_encode(gw_req_t *r, const uint8_t *in, size_t n);
/* base64url of bytes in r's pool. */
char *oidc_b64url(gw_req_t *r, const uint8_t *in, size_t n);
/* strict base64url text to bytes in r's pool (at most `max` bytes); -1 otherwise. */
int oidc_b64url_decode_max(gw_req_t *r, const char *s, size_t max, uint8_t **out, size_t *len);

/* ---- WebAuthn relying party (passkey_common.c) --------------------------------- */

/* Our RP ID (the issuer's host) and origin (the issuer's scheme, host, port). */
const char *oidc_rp_id(void);
const char *oidc_rp_origin(void);
void oidc_rp_init(const char *issuer);

/* Reads a JSON ceremony body (application/json, bounded): 0 with the tree in
 * r's pool, or -1 after replying 4xx. */
int oidc_ceremony_body_or_reply(gw_req_t *r, yajl_val *out);

/* The challenge inside a clientDataJSON (base64url member "challenge") as
 * raw bytes; -1 when there is none or it is not MTH_WA_CHALLENGE_LEN bytes. */
int oidc_client_data_challenge(const uint8_t *cdj, size_t n, uint8_t out[MTH_WA_CHALLENGE_LEN]);

/* Keyed hash of the browser's CSRF cookie as a bytea literal: challenges are
 * bound to the browser that asked. -1 when the browser has no cookie. */
int oidc_browser_binding(gw_req_t *r, char out[GW_SECRET_HASH_HEX_LEN + 1]);

/* Stores a ceremony's challenge (webauthn_challenge_create, schema/013):
 * `ceremony` "get" (user and session NULL) or "create"; `browser` from
 * oidc_browser_binding; the client address is r's peer. Refused while the
 * browser or the address holds its limit of live challenges
 * (oidc.passkey_challenges_per_browser, _per_address). */
void oidc_challenge_store(gw_req_t *r, const uint8_t challenge[MTH_WA_CHALLENGE_LEN], const char *ceremony,
                          const char *user_id, const char *session_id, const char *context,
                          const char *browser, gw_req_query_data_cb cb, void *data);
/* In the store's callback: 0 when the challenge was stored; otherwise -1
 * after replying (429 too_many_requests with Retry-After, or 503). */
int oidc_challenge_stored_or_reply(gw_req_t *r, PGresult *res, const gw_err_t *err);

/* A JSON error {"error", "error_description"} with the status. */
void oidc_json_fail(gw_req_t *r, int status, const char *error, const char *description);

/* ---- account session (account_session.c) ----------------------------------------- */

typedef struct {
    char id[OIDC_UUID_LEN + 1];
    char user_id[OIDC_UUID_LEN + 1];
    char *user_name;
    char *display_name;
    int64_t age_s;     /* seconds since the sign-in */
    int register_only; /* purpose 'register_method' (a TAP session) */
    int has_password;
    /* May add, rename or remove methods: the sign-in reached what the
     * account's methods reach (a passkey, or password and app, where the
     * account has one), or came from a TAP. A password alone must not add a
     * passkey to, or rename or remove one of, an account that has one. */
    int may_change;
    char csrf[OIDC_CSRF_TOKEN_LEN + 1]; /* the account forms' token */
    h2o_iovec_t csrf_cookie;
} oidc_account_t;

/* The account page's gate: the browser's session, recent enough (or a TAP
 * session, which may open only this page). On success calls `cb`; otherwise
 * it answers itself: the sign-in page (html) or a JSON 403 login_required (json). */
typedef void (*oidc_account_cb)(gw_req_t *r, oidc_account_t *a, void *data);
void oidc_account_require(gw_req_t *r, int json, oidc_account_cb cb, void *data);

/* 1 when `field` is the account forms' CSRF token for `a`. */
int oidc_account_csrf_ok(const oidc_account_t *a, const char *field, size_t len);

/* 1 for a method name: 1..64 characters of valid UTF-8, no controls. */
int oidc_name_ok(const char *s, size_t n);

/* 303 back to the account page with message code `message` (account.c),
 * keeping the authorization request to continue, if any. */
void oidc_account_back(gw_req_t *r, const char *request, const char *message);

/* The audit actor text "user:<uuid>" in r's pool. */
const char *oidc_actor(gw_req_t *r, const char *user_id);

/* ---- the account page (account_page.c): pure builders --------------------------- */

typedef struct {
    const char *kind; /* "passkey" or "totp" */
    const char *id;
    const char *name;
    const char *created;   /* display text */
    const char *last_used; /* display text or NULL */
    int synced;            /* passkey: backup eligible */
    int confirmed;         /* totp */
} oidc_method_row_t;

typedef struct {
    const char *user_name;
    const char *csrf;
    const char *request; /* the authorization request to continue, or NULL */
    int register_only;
    int has_password;
    const oidc_method_row_t *rows;
    size_t n;
    const char *notice; /* a done message, or NULL */
    const char *error;
    /* A link back to the relying party without the acr it asked for
     * (OIDC_RESUME_PATH?request=..&unmet=1: unmet_authentication_requirements). */
    int offer_unmet;
} oidc_account_view_t;
h2o_iovec_t oidc_page_account(h2o_mem_pool_t *pool, const oidc_account_view_t *v);

typedef struct {
    const char *id;
    const char *uri;
    const char *qr_svg; /* the SVG document, shown as an image */
    const char *csrf;
    const char *request;
    const char *error;
} oidc_totp_enrol_view_t;
h2o_iovec_t oidc_page_totp_enrol(h2o_mem_pool_t *pool, const oidc_totp_enrol_view_t *v);

/* ---- registration of the methods' routes and SQL ------------------------------ */

void oidc_methods_register(const gw_config_t *cfg);
void oidc_methods_db_register(void);
void oidc_account_register(void);
void oidc_totp_register(void);             /* POST /login/code */
void oidc_totp_enrol_register(void);       /* the account page's app forms */
void oidc_passkey_signin_register(void);   /* /login/passkey */
void oidc_passkey_register_register(void); /* /account/security/passkey */
void oidc_static_js_register(void);

/* ---- statements (methods_db.c) -------------------------------------------------- */

extern store_stmt_t oidc_stmt_account_session; /* $1 token hash */
extern store_stmt_t oidc_stmt_account_methods; /* $1 user */
extern store_stmt_t oidc_stmt_method_remove;   /* user, kind, id, allow, actor, addr, ua */
extern store_stmt_t oidc_stmt_method_rename;   /* user, kind, id, name, actor, addr, ua */
extern store_stmt_t oidc_stmt_totp_create;     /* id, user, sealed, name, most apps */
extern store_stmt_t oidc_stmt_totp_enrol_load; /* id, user */
extern store_stmt_t oidc_stmt_totp_confirm;    /* id, user, step, session, actor, addr, ua */
extern store_stmt_t oidc_stmt_pending_create;  /* hash, user, context, amr, ttl */
extern store_stmt_t oidc_stmt_pending_totps;   /* hash, addr, limits x4, ua, context */
/* reason, user, username, addr, ua, kind, throttle window s (and a clean-up: OIDC_THROTTLE_GC) */
extern store_stmt_t oidc_stmt_method_failed;
extern store_stmt_t oidc_stmt_code_only_totps;  /* username */
extern store_stmt_t oidc_stmt_totp_signin;      /* session params..., totp id, step, pending hash */
extern store_stmt_t oidc_stmt_challenge_create; /* see oidc_challenge_store */
extern store_stmt_t oidc_stmt_register_options; /* user */
extern store_stmt_t oidc_stmt_get_consume;      /* challenge, context, browser, credential id, name */
extern store_stmt_t oidc_stmt_create_consume;   /* challenge, user, session, browser */
extern store_stmt_t oidc_stmt_passkey_insert;   /* see methods_db.c */
extern store_stmt_t oidc_stmt_passkey_signin;   /* see methods_db.c */
extern store_stmt_t oidc_stmt_passkey_refused;  /* see methods_db.c */

#endif
