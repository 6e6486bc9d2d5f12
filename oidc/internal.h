/* Declarations shared by oidc/ files only.
 *
 * The OpenID Provider is split in areas, each in its own files:
 *   clients   oidc/client*.c, oidc/admin_clients.c, oidc/cli_client.c
 *   sign-in   oidc/login.c, oidc/session*.c, oidc/user*.c, oidc/password.c,
 *             oidc/throttle*.c, oidc/pages.c, oidc/cli_user.c, oidc/acr.c;
 *             its methods (oidc/methods_internal.h): oidc/passkey_*.c,
 *             oidc/totp_*.c, oidc/account*.c, oidc/signin_finish.c,
 *             oidc/methods_*.c, oidc/static_*.c
 *   authorize oidc/authorize*.c, oidc/code*.c, oidc/logout.c
 *   tokens    oidc/token*.c, oidc/jwt_issue.c, oidc/bearer.c, oidc/userinfo.c,
 *             oidc/revoke.c, oidc/introspect.c
 *   TAP       oidc/tap*.c, oidc/admin_tap.c, oidc/admin_policy.c,
 *             oidc/admin_audit.c, oidc/recovery_policy.c, oidc/cli_tap.c
 * This header is the contract between them. */
#ifndef REGAIN_OIDC_INTERNAL_H
#define REGAIN_OIDC_INTERNAL_H

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <yajl/yajl_tree.h>

#include "gateway/config.h"
#include "gateway/crypto.h"
#include "gateway/http.h"
#include "gateway/parse.h"

/* ---- registration (oidc/oidc.c calls these in order) -------------------- */

int oidc_discovery_register(const gw_config_t *cfg, char *msg, size_t msgsize);
void oidc_jwks_register(void);
void oidc_clients_register(const gw_config_t *cfg);   /* clients area: admin API */
void oidc_signin_register(const gw_config_t *cfg);    /* sign-in area: /login, static files */
void oidc_authorize_register(const gw_config_t *cfg); /* authorize area: /authorize, /logout */
void oidc_tokens_register(const gw_config_t *cfg); /* tokens area: /token, /userinfo, /revoke, /introspect */
void oidc_tap_register(const gw_config_t *cfg);    /* TAP area: /login/tap, TAP, policy and audit admin API */
/* recovery area: /recover*, the IDV providers (oidc/recovery*.c) */
int oidc_recovery_register(const gw_config_t *cfg, char *msg, size_t msgsize);

/* The running configuration, set by oidc_register. */
extern const gw_config_t *oidc_cfg;

/* The claims verified_claims may carry (oidc/verified_claims.c; discovery's
 * claims_in_verified_claims_supported), NULL-terminated. */
extern const char *const OIDC_IDA_CLAIMS[];

/* ---- small shared helpers (oidc/html.c) ----------------------------------- */

/* `s` escaped for HTML text or a quoted attribute; pool memory. */
h2o_iovec_t oidc_html_escape(h2o_mem_pool_t *pool, const char *s, size_t n);

/* 1 when `s` is a textual UUID (8-4-4-4-12 hex digits). */
#define OIDC_UUID_LEN 36
int oidc_uuid_ok(const char *s, size_t n);

/* ---- scopes, claims, ACR ------------------------------------------------- */

#define OIDC_SCOPES_SUPPORTED "openid profile email offline_access scim scim.read admin"
/* The scopes of the directory and administration APIs. They are granted to a
 * client itself (client_credentials), never through a person's sign-in:
 * regain has no notion of which people administer it, so a code flow for
 * them would hand the API to anyone who can sign in. */
#define OIDC_SCOPES_API   "scim scim.read admin"
#define OIDC_ACR_PASSWORD "urn:regain:acr:password"
/* Two factors (password and authenticator app code, or a passkey with user
 * verification), and a phishing-resistant one (a passkey: bound to our
 * origin by the browser, so a look-alike site cannot relay it). */
#define OIDC_ACR_MFA                "urn:regain:acr:mfa"
#define OIDC_ACR_PHISHING_RESISTANT "urn:regain:acr:phishing-resistant"

/* What a request asks of the session's acr (oidc/acr.c): acr_values (space
 * separated, may be NULL) and an essential "acr" claim of the claims
 * parameter's id_token or userinfo member (JSON text, may be NULL). Only our
 * own levels count (password < mfa < phishing-resistant); values we do not
 * know are left to whoever knows them. Returns the level needed, 0 for none. */
enum {
    OIDC_ACR_LEVEL_NONE = 0,
    OIDC_ACR_LEVEL_PASSWORD,
    OIDC_ACR_LEVEL_MFA,
    OIDC_ACR_LEVEL_PHISHING_RESISTANT
};
int oidc_acr_needed(const char *acr_values, size_t acr_len, const char *claims_json, size_t claims_len);

/* The "acr" claim request of member `m` (0: id_token, 1: userinfo) of a
 * parsed claims parameter when it is essential (OIDC Core §5.5.1.1), else
 * NULL; oidc/acr.c. */
#define OIDC_ACR_CLAIM_MEMBERS 2
yajl_val oidc_acr_essential(yajl_val claims, size_t m);

/* The level a session's acr reaches (OIDC_ACR_LEVEL_*; NULL or unknown: 0). */
int oidc_acr_level(const char *acr);

/* 1 when a session with `session_acr` may answer the request (it meets
 * acr_values and each essential acr claim that names a value of ours);
 * *assert gets the acr to put in the ID token: the first value of the
 * essential id_token request the session reaches, else of the userinfo
 * one, else of acr_values, else the session's own. 0: the user must sign
 * in again with a stronger method (step-up), never the weaker session
 * accepted. */
int oidc_acr_satisfied(const char *acr_values, size_t acr_len, const char *claims_json, size_t claims_len,
                       const char *session_acr, const char **assert);
/* A session from a Temporary Access Pass an administrator issued. */
#define OIDC_ACR_TAP "urn:regain:acr:tap"
/* A session from a TAP that verified recovery minted (issue 7). */
#define OIDC_ACR_VERIFIED_RECOVERY "urn:regain:acr:verified-recovery"

/* ---- clients (clients area) ----------------------------------------------- */

enum { OIDC_AUTH_NONE, OIDC_AUTH_SECRET_BASIC, OIDC_AUTH_SECRET_POST, OIDC_AUTH_PRIVATE_KEY_JWT };
enum { OIDC_GRANT_CODE = 1, OIDC_GRANT_REFRESH = 2, OIDC_GRANT_CLIENT_CREDENTIALS = 4 };

/* A registered client, immutable once loaded; shared by a cache, so it is
 * reference counted: a lookup's callback may use it until the request ends. */
typedef struct oidc_client {
    char *id;
    char *name;
    int auth_method; /* OIDC_AUTH_* */
    unsigned grants; /* OIDC_GRANT_* bits */
    char **redirect_uris;
    size_t redirect_uri_count;
    char **post_logout_redirect_uris;
    size_t post_logout_redirect_uri_count;
    char **scopes; /* allowed scopes */
    size_t scope_count;
    char id_token_alg[8]; /* "ES256" or "RS256" */
    int has_secret;
    uint8_t secret_hash[32]; /* gw_secret_hash of the secret */
    EVP_PKEY **jwks;         /* private_key_jwt public keys */
    char **jwks_kids;
    size_t jwks_count;
    _Atomic int refs;
} oidc_client_t;

/* Result of a client lookup: `client` is NULL for an unknown client (err
 * NULL) or when the database failed (err set). Valid until the request ends. */
typedef void (*oidc_client_cb)(gw_req_t *r, const oidc_client_t *client, const gw_err_t *err);

/* Finds a client by id: from the in-process cache (short TTL) or PostgreSQL. */
void oidc_client_find(gw_req_t *r, const char *client_id, size_t len, oidc_client_cb cb);

/* Token, revocation and introspection endpoint client authentication
 * (RFC 6749 §2.3.1, OIDC Core §9): Authorization: Basic, client_id +
 * client_secret in the form, or client_assertion (private_key_jwt, RFC 7523);
 * a public client (auth method none) identifies itself with client_id only.
 * The method used must be the client's registered one. On failure it replies
 * 401 invalid_client (with WWW-Authenticate: Basic when the header was used)
 * and the callback is not called. */
typedef void (*oidc_client_auth_cb)(gw_req_t *r, const oidc_client_t *client, const gw_kvs_t *form);
void oidc_client_authenticate(gw_req_t *r, const gw_kvs_t *form, oidc_client_auth_cb cb);

/* Exact string comparison, as RFC 9700 §2.1 and §4.1.3 require, with the one
 * exception they make: for a registered loopback IP literal (http://127.0.0.1
 * or http://[::1]) any port matches, since native apps pick a free port at
 * run time (RFC 8252 §7.3). */
int oidc_client_redirect_uri_ok(const oidc_client_t *c, const char *uri, size_t len);
int oidc_client_post_logout_uri_ok(const oidc_client_t *c, const char *uri, size_t len);
int oidc_client_scope_ok(const oidc_client_t *c, const char *scope, size_t len);

/* ---- sessions and users (sign-in area) ------------------------------------ */

#define OIDC_SESSION_COOKIE "__Host-regain-session"

typedef struct {
    char id[37];      /* uuid: the `sid` claim */
    char user_id[37]; /* uuid: the `sub` claim */
    int64_t auth_time;
    char *amr_json; /* JSON array text, e.g. ["pwd"] */
    char *acr;      /* may be NULL */
    /* 1 for purpose 'register_method' (schema/008_audit.sql): a session from
     * a TAP whose holder has not registered a method yet. It opens the
     * account security page only; /authorize sends it there
     * (OIDC_ACCOUNT_SECURITY_PATH) and issues no code. */
    int register_only;
    char tap_id[37]; /* the TAP it came from, or "" */
} oidc_session_t;

/* The browser's current session from its cookie, or NULL (no cookie,
 * unknown, ended or expired). Database failure: session NULL, err set. */
typedef void (*oidc_session_cb)(gw_req_t *r, const oidc_session_t *session, const gw_err_t *err);
void oidc_session_current(gw_req_t *r, oidc_session_cb cb);

/* Ends a session (RP-initiated logout) and clears the cookie on `r`'s reply. */
void oidc_session_end(gw_req_t *r, const char *session_id, void (*done)(gw_req_t *r, const gw_err_t *err));

/* Renders the sign-in page for pending authorization request `request_id`
 * (a uuid; see authorization_requests), with an optional login_hint and
 * error message. Used by /authorize when a sign-in is needed. */
void oidc_signin_page(gw_req_t *r, const char *request_id, const char *login_hint, const char *error);
/* The same for a request /authorize has just made, from the login_hint,
 * acr_values and claims it has in hand (NULL when absent) and its verified
 * redirect URI: no lookup. `sealed`: the request's box (pending.c), which
 * every form and link of the page carries; NULL for a stored request. */
void oidc_signin_page_new(gw_req_t *r, const char *request_id, const char *sealed, const char *login_hint,
                          const char *acr_values, size_t acr_len, const char *claims, size_t claims_len,
                          h2o_iovec_t redirect_uri);

/* The page being answered has forms that may end, by a redirect or
 * directly (form_post), at `uri`: a redirect URI verified for its client.
 * Its form-action allows that origin and no other (gw_reply_form_action,
 * oidc_redirect_uri_csp_source); nothing changes for a NULL `uri`. */
void oidc_reply_form_target(gw_req_t *r, const char *uri, size_t len);

/* Sends `page` (request pool memory) as a 200 page (no-store) whose forms
 * may end at the relying party of pending request `request_id` (a uuid, or
 * NULL or OIDC_CONTEXT_ACCOUNT for none): the request's redirect URI is
 * looked up for oidc_reply_form_target first. When the lookup fails or
 * finds no live request, the page goes with the default policy. */
void oidc_page_reply_for_request(gw_req_t *r, const char *request_id, h2o_iovec_t page);

/* ---- pending requests the browser carries (pending.c) ----------------------- */

/* The form field and query parameter with a pending request's box. */
#define OIDC_PENDING_FIELD "pending"
/* Parameters (JSON) that still travel in a box: a larger request (a long
 * claims parameter) is stored as a row instead, so the box stays small
 * enough for a link. */
#define OIDC_PENDING_PARAMS_MAX 2048
/* Characters of the largest box. */
#define OIDC_PENDING_MAX GW_B64URL_LEN(8 + OIDC_PENDING_PARAMS_MAX + GW_AEAD_OVERHEAD)

/* Derives the boxes' key from the key-encryption key; once, at start. */
void oidc_pending_keys_init(const uint8_t kek[32]);
void oidc_pending_db_register(void);
/* The box of request `id` (a uuid) made at `created_at` (epoch s) with its
 * parameters (oidc_az_to_json), base64url in pool memory; NULL when the
 * parameters are too large for one (store the row instead). */
const char *oidc_pending_seal(h2o_mem_pool_t *pool, const char *id, int64_t created_at,
                              h2o_iovec_t params_json);
/* Opens a box for request `id`: 0 with its parameters (pool memory) and
 * creation time, or -1 when it is malformed, forged, altered, another
 * request's, or expired. */
int oidc_pending_open(h2o_mem_pool_t *pool, const char *id, const char *sealed, size_t len,
                      const char **params_json, int64_t *created_at);
/* Whether request `id` is live, as oidc_stmt_authz_request_live answers it
 * (one row of login_hint, acr_values, claims, redirect_uri, or none), storing it from
 * `sealed` first when the browser carries it and it is not stored yet.
 * Without a box, or with one that does not open, the stored row alone
 * answers. For every door of the sign-in page but the password form. */
void oidc_pending_live_query(gw_req_t *r, const char *id, h2o_iovec_t sealed, gw_req_query_data_cb cb,
                             void *data);

/* A plain HTML error page (title and message are escaped here; no-store),
 * for errors that cannot go back to a relying party: an unknown client or
 * redirect URI (RFC 6749 §4.1.2.1), an expired sign-in request. */
void oidc_error_page(gw_req_t *r, int status, const char *title, const char *message);

/* The request's peer address and User-Agent (first 512 bytes, NULL when
 * absent), in the request pool, for audit events (audit_origin.c). */
const char *oidc_req_addr(gw_req_t *r);
const char *oidc_req_user_agent(gw_req_t *r);

/* CTEs for a statement's WITH list, gc_found and gc: a clean-up that runs
 * beside the statement's own work. PICK is a SELECT of the ctid of a few
 * rows of TABLE to delete, ending in LIMIT n FOR UPDATE SKIP LOCKED (SKIP
 * LOCKED keeps concurrent statements apart); gc deletes them by tuple id
 * (locked, they cannot change before the delete). Such a clean-up finds
 * nothing nearly every time, and then no plan may read the table:
 *   - PICK must walk an index that ends at once when nothing is due;
 *   - the delete is gated by the cardinality test, which reads no column
 *     and so becomes a one-time filter: with nothing found the delete reads
 *     nothing.
 * Both because a prepared statement is planned from the statistics of the
 * moment. Planned from none (a new table), the look-up for expired rows was
 * a sequential scan: without a histogram PostgreSQL expects a third of the
 * rows to match. Planned from a table that sign-ins fill and empty again
 * (statistics of no live row, pages of dead ones between vacuums), the
 * delete was a sequential scan of every page (PostgreSQL prices a delete by
 * tuple id as ten random reads, as much as reading forty pages in order),
 * or, written as "key IN (look-up)", a walk of the whole primary key index
 * that visited every dead row: three failed passwords and three sign-ins
 * read 1,392 pages of a 52-page login_throttle, and now 33
 * (tests/integration/test_signin_gc_bounded.py). */
#define OIDC_GC_LOCKED(TABLE, PICK)                                                                          \
    "gc_found AS (SELECT ARRAY(" PICK ") AS tids), "                                                         \
    "gc AS (DELETE FROM " TABLE " WHERE cardinality((SELECT tids FROM gc_found)) > 0 "                       \
    "  AND ctid = ANY ((SELECT tids FROM gc_found)::tid[])) "

/* Deletes up to LIMIT (a number, as text) rows of TABLE whose expires_at
 * has passed, so a table of short-lived rows stays small without a
 * separate cleaner; the look-up walks the table's expiry index. */
#define OIDC_GC_EXPIRED(TABLE, LIMIT)                                                                        \
    OIDC_GC_LOCKED(TABLE,                                                                                    \
                   "SELECT ctid FROM " TABLE " WHERE expires_at < now() ORDER BY expires_at LIMIT " LIMIT    \
                   " FOR UPDATE SKIP LOCKED")

/* ---- authorization (authorize area) --------------------------------------- */

/* Where a sign-in by a method sends the browser to finish the pending
 * request: "/authorize/resume?request=<id>". */
#define OIDC_RESUME_PATH "/authorize/resume"

/* The WITH-list entry `old` (no comma after it) that ends the browser's
 * previous session, the one of token hash HASH (a parameter such as "$7",
 * bytea hex; NULL ends nothing), when WHEN ("" or " AND ...") holds: a copy
 * of the old cookie, taken before a sign-in, must not outlive the sign-in
 * that replaced it. Every sign-in ends it in the statement that creates the
 * new session: a password (OIDC_SESSION_OPEN_CTES), an authenticator app
 * code or a passkey (methods_db.c), a Temporary Access Pass (tap_db.c). */
#define OIDC_SESSION_END_OLD(HASH, WHEN)                                                                     \
    "old AS (UPDATE sessions SET ended_at = now() WHERE token_hash = " HASH                                  \
    "::bytea AND ended_at IS NULL" WHEN ")"

/* The WITH-list entries that open a password sign-in's session, ending in
 * `opened` (id, auth_time, amr). $1 token hash (bytea hex), $2 user id, $3
 * acr, $4 ttl s, $5 username, $6 client address, $7 the browser's previous
 * token hash (may be NULL), $8 user agent. Besides the session row:
 *   - the attempt counted before the check is forgiven. The account counter
 *     goes (the owner proved the password); the address counter only loses
 *     this attempt, so one known account cannot launder a guessing run
 *     against others from the same address;
 *   - the browser's previous session ends: a copy of the old cookie must not
 *     outlive the sign-in that replaced it (as at the end of a sign-in by a
 *     method, methods_db.c);
 *   - method.used (kind password) is audited, as a sign-in by an
 *     authenticator app or a passkey is; the insert reads the event, so that
 *     entry runs.
 * oidc_stmt_session_create runs them alone; the authorize area's code
 * statement runs them with the code (oidc_az_resume_opening). */
#define OIDC_SESSION_OPEN_NPARAMS 8
#define OIDC_SESSION_OPEN_CTES                                                                               \
    OIDC_SESSION_END_OLD("$7", "")                                                                           \
    ", forgive_user AS (DELETE FROM login_throttle WHERE key = 'user:' || lower($5)), "                      \
    "forgive_addr AS (UPDATE login_throttle SET failures = greatest(failures - 1, 0) "                       \
    "  WHERE key = 'addr:' || client_addr_key_inline($6)), "                                                 \
    "ev AS (SELECT audit_append('method.used', 'user:' || $2, $2::uuid, $6, $8, 'success', NULL, "           \
    "  jsonb_build_object('kind', 'password')) AS e), "                                                      \
    "opened AS (INSERT INTO sessions (token_hash, user_id, auth_time, amr, acr, expires_at) "                \
    "  SELECT $1::bytea, $2::uuid, now(), '{pwd}', $3, now() + $4::integer * interval '1 second' FROM ev "   \
    "  RETURNING id, auth_time, amr) "

/* A password sign-in's session before it is stored: the parameters of
 * OIDC_SESSION_OPEN_CTES, and the session as it will be (id "" until
 * stored, auth_time the time of the check). */
typedef struct {
    const char *params[OIDC_SESSION_OPEN_NPARAMS];
    oidc_session_t s;
} oidc_session_opening_t;

/* Stores session `o` alone (oidc_stmt_session_create): one row, its id and
 * auth_time (epoch s). */
int oidc_session_open_or_reply(gw_req_t *r, const oidc_session_opening_t *o, gw_req_query_cb cb);
/* Reads the id and auth_time a statement that opened a session returns in
 * its first two columns (the one above, or the code statement that opens
 * one) into `s`: 0, or -1 for any other result. */
int oidc_session_opened(const PGresult *res, oidc_session_t *s);
/* Logs that a password sign-in opened session `s` (its user_id and id). */
void oidc_session_log_signed_in(gw_req_t *r, const oidc_session_t *s);

/* A password sign-in finishes the pending request `request_id` itself (its
 * parameters `params_json`, made at `created_at`, epoch seconds): the
 * answer to the sign-in is what GET OIDC_RESUME_PATH would answer (the code,
 * a step-up, an error), without the browser's round trip through it. When
 * the answer is a code, session `o` is stored by the statement that stores
 * the code: one round trip to PostgreSQL, and one transaction, for both.
 * Any other answer stores it first, then goes on as with a stored session.
 * `sealed` is the request's box when the browser carried it and it was never
 * stored (pending.c): the code then takes no row, and any other answer
 * stores the request from the box first. Empty for a stored request, which
 * the code statement deletes. */
void oidc_az_resume_opening(gw_req_t *r, const char *request_id, h2o_iovec_t sealed, const char *params_json,
                            int64_t created_at, oidc_session_opening_t *o);

/* Where a session that must register a method goes: the account security
 * page (sign-in methods area), with "?request=<id>" when an authorization
 * request waits; once a method is registered (session_method_registered) the
 * page continues at OIDC_RESUME_PATH. */
#define OIDC_ACCOUNT_SECURITY_PATH "/account/security"

/* ---- tokens (tokens area) -------------------------------------------------- */

/* A verified access token (RFC 9068 JWT issued by us). */
typedef struct {
    const char *sub;
    const char *client_id;
    const char *scope; /* space-separated */
    const char *jti;
    int64_t exp;
    int64_t iat;     /* 0 when absent */
    yajl_val claims; /* the whole payload; freed with the request */
} oidc_access_t;

/* Verifies `Authorization: Bearer` (RFC 6750): signature by a key of ours,
 * typ at+jwt, iss, exp, not revoked, and `required_scope` (may be NULL).
 * Replies 401/403 with WWW-Authenticate on failure. */
typedef void (*oidc_bearer_cb)(gw_req_t *r, const oidc_access_t *at);
void oidc_bearer_authorize(gw_req_t *r, const char *required_scope, oidc_bearer_cb cb);

/* ---- Temporary Access Passes (TAP area: oidc/tap*.c) ----------------------- */

/* Sign-in with a TAP: POST /login/tap, form fields `tap` (what the person
 * typed: any case, separators ignored), `csrf` (oidc_csrf_token for the
 * sign-in context: the `request` value, or "account" (or "") when there is
 * none), optional `request` (the
 * pending authorization request id) and optional `username` (whom wrong
 * TAPs are counted against; else the request's login_hint). Success: a
 * session with amr ["tap"], purpose 'register_method' and tap_id, and 303 to
 * OIDC_ACCOUNT_SECURITY_PATH[?request=ID]. */
#define OIDC_TAP_SIGNIN_PATH "/login/tap"

/* What to mint (oidc_tap_mint). Bounds are the hard ones (lifetime 10..43200
 * minutes, length 8..48); the caller applies its own policy (the admin API
 * the TAP policy, recovery the recovery policy's `tap` member). */
typedef struct {
    const char *user_id;             /* uuid of an active user */
    int lifetime_minutes;            /* 10..43200 */
    int once;                        /* one-time */
    int length;                      /* characters, 8..48 */
    int64_t start;                   /* epoch seconds; 0: now */
    const char *actor;               /* audit actor: "admin:<client>", "system", "user:<uuid>" */
    const char *addr;                /* client address for the audit event, or NULL */
    const char *user_agent;          /* or NULL */
    const char *acr;                 /* acr of the sessions it gives; NULL: OIDC_ACR_TAP */
    const char *recovery_attempt_id; /* uuid, copied into its sessions; or NULL */
} oidc_tap_mint_t;

/* The minted TAP, valid during the callback only: `tap` is the secret,
 * grouped for display (e.g. "ABCD-EFGH-JKMN-PQRS"), shown once and never
 * stored; it is wiped when the callback returns. */
typedef struct {
    char id[37];
    char tap[64];
    char expires[32];    /* RFC 3339 */
    const PGresult *res; /* row 0 from column 1: the TAP as the admin API shows it */
} oidc_tap_minted_t;

/* `tap` NULL and `err` set on failure: GW_E_INVALID_REQUEST (bounds),
 * GW_E_NOT_FOUND (no such active user), GW_E_CONFLICT (the recovery attempt
 * expired or moved on: nothing was minted), database errors. */
typedef void (*oidc_tap_minted_cb)(gw_req_t *r, void *data, const oidc_tap_minted_t *tap,
                                   const gw_err_t *err);

/* Mints a TAP for a user: replaces the user's active TAP, stores only the
 * keyed hash, and records tap.issued (and tap.replaced) in the same statement
 * (SQL: tap_issue in schema/010_tap.sql). With a recovery_attempt_id, the
 * same statement also moves the attempt from matched to tap_issued, and
 * mints nothing if it cannot (schema/022_recovery_tap_atomic.sql). A TAP is usable only while the TAP
 * policy's state is "enabled". */
void oidc_tap_mint(gw_req_t *r, const oidc_tap_mint_t *m, oidc_tap_minted_cb cb, void *data);

/* 1 when space-separated `scopes` contains `scope`. */
int oidc_scope_has(const char *scopes, size_t len, const char *scope);

#endif
