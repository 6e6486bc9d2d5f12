/* Declarations private to the clients area (oidc/client*.c,
 * oidc/admin_clients.c, oidc/cli_client.c). What other areas use is in
 * oidc/internal.h. */
#ifndef REGAIN_OIDC_CLIENTS_INTERNAL_H
#define REGAIN_OIDC_CLIENTS_INTERNAL_H

#include <stdint.h>

#include "gateway/json.h"
#include "gateway/store.h"
#include "oidc/internal.h"

/* Bounds on registration input: generous for real clients, small enough that
 * one client stays a few KiB in every process's cache. */
#define OIDC_CLIENT_ID_MAX      128 /* as the clients.id CHECK */
#define OIDC_CLIENT_NAME_MAX    200
#define OIDC_CLIENT_URI_MAX     2048
#define OIDC_CLIENT_URIS_MAX    32
#define OIDC_CLIENT_KEYS_MAX    8
#define OIDC_CLIENT_SECRET_MAX  512 /* longest presented secret we hash at all */
#define OIDC_CLIENT_JSON_MAX    (64 * 1024)
#define OIDC_ASSERTION_TYPE_JWT "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
/* Longest client_assertion lifetime we accept (exp - now), and the clock skew
 * allowed on exp/nbf/iat (RFC 7523 §3 items 4-6 allow both). */
#define OIDC_ASSERTION_MAX_LIFETIME_S 600
#define OIDC_ASSERTION_SKEW_S         30
#define OIDC_ASSERTION_JTI_MAX        256

/* ---- client_parse.c: pure validation and building ------------------------ */

/* 1 when `id` is a client id we register: 1..128 of [A-Za-z0-9._~-]. */
int oidc_client_id_valid(const char *id, size_t len);

/* Registration check of one redirect (or post-logout redirect) URI, RFC 9700
 * §2.1 and §4.1 and OIDC Registration §2: an absolute URI of at most
 * OIDC_CLIENT_URI_MAX bytes, printable ASCII without spaces, no fragment, no
 * userinfo, a non-empty host; https, or http only on a loopback host
 * (127.0.0.1, [::1], localhost) for native and development clients.
 * Returns 0, or -1 with GW_E_INVALID_REQUEST and a public reason. */
int oidc_redirect_uri_check(const char *uri, size_t len, gw_err_t *err);

/* Request-time comparison of a presented URI with a registered one: simple
 * string comparison (RFC 3986 §6.2.1, RFC 9700 §4.1.3), except that for a
 * registered http loopback IP literal URI any port is allowed (RFC 8252
 * §7.3, which RFC 9700 §2.1 keeps); every other byte must still match. */
int oidc_redirect_uri_match(const char *registered, const char *uri, size_t len);

/* The CSP source expression a page's form-action needs so that its forms
 * may end at redirect URI `uri` (one that passed oidc_redirect_uri_check):
 * its origin ("https://rp.example:8443"), or for an IPv6 literal host,
 * which CSP cannot name, its scheme ("http:"). Written NUL-terminated to
 * `out`; returns its length, or 0 (nothing written) when `uri` is not an
 * http(s) URI or `cap` is too small. */
size_t oidc_redirect_uri_csp_source(const char *uri, size_t len, char *out, size_t cap);

/* Names of token_endpoint_auth_method values and grant types. */
const char *oidc_auth_method_name(int method);
int oidc_auth_method_parse(const char *s, size_t len, int *out);
const char *oidc_grant_name(unsigned grant_bit);
int oidc_grant_parse(const char *s, size_t len, unsigned *out);

/* Builds a client from registration metadata (a JSON object), as the admin
 * API takes it and as client_db.c reads rows back:
 *   client_id, client_name, redirect_uris, post_logout_redirect_uris,
 *   grant_types, scope (space-separated), token_endpoint_auth_method,
 *   id_token_signed_response_alg, jwks ({"keys":[...]}, public keys only).
 * Unknown members are refused so a typo never falls back to a default;
 * client_id_issued_at (what GET returns) is ignored. `id` (may be NULL)
 * is the id from the URL: then client_id may be absent or must equal it.
 * Defaults: grant_types [authorization_code], auth method
 * client_secret_basic, ES256, scope "openid". The new client has refs 1,
 * has_secret set from the method and a zero secret_hash.
 * Errors: GW_E_INVALID_REQUEST with a public reason naming the member. */
int oidc_client_from_json(yajl_val obj, const char *id, oidc_client_t **out, gw_err_t *err);

/* Writes the client's metadata as one JSON object (the shape
 * oidc_client_from_json reads; never the secret's hash). `secret` (may be
 * NULL) is a secret minted just now, shown this once as client_secret with
 * client_secret_expires_at 0 (RFC 7591 §3.2.1). */
void oidc_client_write_json(gw_jw_t *w, const oidc_client_t *c, const char *secret);

/* The client's public keys as a JWKS document {"keys":[...]} in canonical
 * form (RFC 7638 member order, kid, alg, use "sig"), or NULL when it has
 * none. free() it. Errors: GW_E_INTERNAL. */
int oidc_client_jwks_json(const oidc_client_t *c, char **out, gw_err_t *err);

/* Reference counting; the last unref frees the client and its keys. */
oidc_client_t *oidc_client_ref(oidc_client_t *c);
void oidc_client_unref(oidc_client_t *c);

/* Decodes an `Authorization: Basic` value (RFC 7617 §2) carrying client
 * credentials: base64 of form-urlencoded id ":" form-urlencoded secret
 * (RFC 6749 §2.3.1, Appendix B). `value` is the whole header value; the
 * scheme name is case-insensitive. id and secret are allocated from `pool`
 * and NUL-terminated. Returns 0; 1 when the scheme is not Basic; -1 with
 * GW_E_INVALID_CLIENT for bad base64, a missing colon, a bad %-escape, a NUL
 * or an empty id. */
int oidc_basic_auth_decode(h2o_mem_pool_t *pool, const char *value, size_t len, h2o_iovec_t *id,
                           h2o_iovec_t *secret, gw_err_t *err);

/* Checks the claims of a verified client_assertion (RFC 7523 §3, OIDC Core
 * §9): iss = sub = client_id; aud (string or array) contains `issuer` or
 * `token_url`; exp present, not past (with skew) and at most
 * OIDC_ASSERTION_MAX_LIFETIME_S ahead; nbf and iat, when present, not in the
 * future; jti present, 1..OIDC_ASSERTION_JTI_MAX bytes. On success copies the
 * jti into `jti` (room for OIDC_ASSERTION_JTI_MAX + 1) and exp into *exp.
 * Errors: GW_E_INVALID_CLIENT with a public reason. */
int oidc_assertion_claims_check(const char *payload, size_t len, const char *client_id, const char *issuer,
                                const char *token_url, int64_t now, char *jti, int64_t *exp, gw_err_t *err);

/* ---- client_cache.c: the in-process cache -------------------------------- */

#define OIDC_CLIENT_CACHE_TTL_MS     5000 /* a change made by another process shows within this */
#define OIDC_CLIENT_CACHE_NEG_TTL_MS 2000 /* unknown ids: spare the database a flood */
#define OIDC_CLIENT_CACHE_MAX        4096
#define OIDC_CLIENT_CACHE_NEG_MAX    1024

/* Looks `id` up: returns 1 on a fresh entry with *out a new reference, or
 * NULL for a remembered "no such client"; 0 on a miss, with *gen the
 * generation to hand to oidc_client_cache_put. Thread-safe. */
int oidc_client_cache_get(const char *id, size_t len, oidc_client_t **out, uint64_t *gen);

/* Remembers `c` (NULL: unknown id) under `id`, taking its own reference,
 * unless an invalidation happened since `gen` was read (the row read may be
 * stale then). */
void oidc_client_cache_put(const char *id, size_t len, oidc_client_t *c, uint64_t gen);

/* Forgets `id` at once (after a change through this process). */
void oidc_client_cache_invalidate(const char *id, size_t len);

/* Drops every entry (tests and shutdown). */
void oidc_client_cache_clear(void);

/* ---- client_db.c: SQL ---------------------------------------------------- */

/* Registers the statements below with the store; once, before the server. */
void oidc_client_db_register(void);

/* The columns every client query returns: the metadata as one JSON object
 * (oidc_client_from_json's shape) and the secret hash as hex (or NULL). */
extern store_stmt_t OIDC_STMT_CLIENT_GET;     /* $1 id */
extern store_stmt_t OIDC_STMT_CLIENT_LIST;    /* no params */
extern store_stmt_t OIDC_STMT_CLIENT_INSERT;  /* see oidc_client_db_params */
extern store_stmt_t OIDC_STMT_CLIENT_UPDATE;  /* same params; secret only if method changes */
extern store_stmt_t OIDC_STMT_CLIENT_DELETE;  /* $1 id, $2-$4 who */
extern store_stmt_t OIDC_STMT_CLIENT_SECRET;  /* $1 id, $2 hash hex, $3-$5 who */
extern store_stmt_t OIDC_STMT_CLIENT_JTI_USE; /* $1 client, $2 jti, $3 exp (unix s) */

/* Each change records an audit event in the same statement; "who" is three
 * parameters: the actor ("admin:<client id>" or "cli"), the client address
 * and the User-Agent (both may be NULL). */

/* The parameters of INSERT/UPDATE for `c`; strings are allocated in `pool`
 * (or are static). `secret_hex` is the new secret's hash or NULL. The last
 * three (OIDC_CLIENT_DB_WHO) are who, left for the caller to set. */
#define OIDC_CLIENT_DB_NPARAMS 13
#define OIDC_CLIENT_DB_WHO     10
int oidc_client_db_params(h2o_mem_pool_t *pool, const oidc_client_t *c, const char *secret_hex,
                          const char *params[OIDC_CLIENT_DB_NPARAMS], gw_err_t *err);

/* Builds a client from one row of a client query (columns 0 and 1).
 * Errors: GW_E_INTERNAL when the stored row does not validate. */
int oidc_client_from_row(const PGresult *res, int row, oidc_client_t **out, gw_err_t *err);

/* ---- client.c ------------------------------------------------------------ */

/* Keeps a reference to `c` until `r` ends. */
void oidc_client_hold(gw_req_t *r, oidc_client_t *c);

/* oidc_client_find with a data pointer for the callback. */
typedef void (*oidc_client_lookup_cb)(gw_req_t *r, void *data, const oidc_client_t *c, const gw_err_t *err);
void oidc_client_lookup(gw_req_t *r, const char *client_id, size_t len, oidc_client_lookup_cb cb, void *data);

/* ---- admin_clients.c ----------------------------------------------------- */

void oidc_admin_clients_register(void);

#endif
