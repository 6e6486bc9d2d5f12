/* Declarations shared by the tokens area only (oidc/token*.c, jwt_issue.c,
 * pkce.c, bearer.c, userinfo.c, revoke.c, introspect.c).
 *
 * Pure logic (PKCE, scopes, claim sets) takes plain data and is unit-tested
 * in tests/unit/oidc_pkce.c and tests/unit/oidc_jwt_issue.c; handlers speak
 * HTTP and keep their SQL in token_db.c. */
#ifndef REGAIN_OIDC_TOKENS_INTERNAL_H
#define REGAIN_OIDC_TOKENS_INTERNAL_H

#include <stdint.h>
#include <libpq-fe.h>

#include "gateway/crypto.h"
#include "gateway/json.h"
#include "gateway/store.h"
#include "oidc/internal.h"

/* ---- PKCE (pkce.c) -------------------------------------------------------- */

#define OIDC_PKCE_MIN      43
#define OIDC_PKCE_MAX      128
#define OIDC_PKCE_S256_LEN GW_B64URL_LEN(GW_SHA256_LEN)

/* 1 when `v` is a syntactically valid code_verifier (RFC 7636 §4.1:
 * 43..128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"). */
int oidc_pkce_verifier_valid(const char *v, size_t len);

/* BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 §4.2, S256) into `out`. */
void oidc_pkce_s256(const char *verifier, size_t len, char out[OIDC_PKCE_S256_LEN + 1]);

/* RFC 7636 §4.6: 1 when `challenge` (NULL-safe) equals `s256`, a verifier's
 * S256 transform from oidc_pkce_s256, compared in constant time; else 0.
 * The verifier must have passed oidc_pkce_verifier_valid. */
int oidc_pkce_s256_matches(const char s256[OIDC_PKCE_S256_LEN + 1], const char *challenge);

/* ---- scopes (jwt_issue.c) ------------------------------------------------- */

/* 1 when `s` is a valid scope parameter (RFC 6749 §3.3: scope-tokens of
 * NQCHAR separated by single spaces, none repeated), at most 1024 bytes. */
int oidc_scope_valid(const char *s, size_t len);

/* 1 when every token of `sub` is in `super` (RFC 6749 §6: a refreshed scope
 * may be narrowed, never widened). An empty `sub` is a subset. */
int oidc_scope_subset(const char *sub, size_t sublen, const char *super, size_t superlen);

/* 1 for scopes that only make sense with a user (openid, profile, email,
 * offline_access): never granted to client_credentials. */
int oidc_scope_is_user(const char *tok, size_t len);

/* ---- claims and tokens (jwt_issue.c) -------------------------------------- */

/* What we know of a user for claims (OIDC Core §5.1); NULL / -1 / 0 = none. */
typedef struct {
    const char *user_name;    /* preferred_username */
    const char *display_name; /* name */
    const char *given_name;
    const char *family_name;
    const char *email;
    int email_verified; /* -1 unknown */
    int64_t updated_at; /* 0 unknown */
} oidc_user_info_t;

/* The grant a token is issued for. Strings are NUL-terminated; optional
 * members are NULL (or 0) when absent. */
typedef struct {
    const char *issuer;
    const char *client_id;
    const char *sub;   /* user id; the client id for client_credentials */
    const char *scope; /* space-separated, already validated */
    const char *gid;   /* grant family (uuid); NULL for client_credentials */
    const char *sid;   /* session id */
    const char *nonce;
    const char *acr;
    const char *amr_json; /* JSON array text from the database, e.g. ["pwd"] */
    int64_t auth_time;    /* 0: no user */
    const char *uic_json; /* JSON array of claim names for /userinfo (claims request) */
    int64_t exp_cap;      /* 0, or the epoch second no token of the grant may outlive (its TAP's expiry) */
    /* The OIDC IDA verified_claims object (JSON text from our database) of a
     * session that verified recovery opened, or NULL; the ID token carries
     * it when the claims request asks for verified_claims (issue 7). */
    const char *verified_claims_json;
    /* The identity-verification provider's own signed result behind that
     * session, when its provider passes it on: an aggregated claim source
     * for verified_claims (OIDC Core §5.6.2), or NULL. */
    const char *provider_result_jwt;
} oidc_grant_t;

/* OpenID Connect for Identity Assurance 1.0 §6 (oidc/verified_claims.c):
 * writes "verified_claims" into the open object `w`, trimmed to `request`
 * (the claims request's verified_claims member: an object or an array of
 * them), from `stored_json` (what recovery stored for the session), when
 * the stored trust framework is one the configuration serves and the
 * request's constraints are met at `now` (epoch seconds). Returns 1 if it
 * wrote the member, 0 if there is nothing to give (nothing written). */
int oidc_verified_claims_write(gw_jw_t *w, const char *stored_json, yajl_val request, int64_t now);

/* Writes one user claim (`name`, e.g. "email") into an open object when we
 * have a value; returns 1 if written. */
int oidc_claim_write(gw_jw_t *w, const oidc_user_info_t *u, const char *name);

/* RFC 9068 §2.2 access token claims: iss, sub, aud (the issuer: we are the
 * resource server), exp, iat, jti, client_id, scope, and for a user
 * auth_time, acr, amr, plus our private gid (grant family, checked against
 * revoked_grants) and uic (userinfo claims requested). *out is malloc'd. */
int oidc_jwt_access_payload(const oidc_grant_t *g, const char *jti, int64_t iat, int64_t exp, char **out,
                            size_t *len, gw_err_t *err);

/* OIDC Core §2 / §3.1.3.6 ID token claims: iss, sub, aud (client_id), exp,
 * iat, auth_time, nonce, acr, amr, sid, azp, at_hash (may be NULL), and the
 * claims named in `requested` (the claims request's id_token member, §5.5;
 * may be NULL) that `u` has. *out is malloc'd. */
int oidc_jwt_id_payload(const oidc_grant_t *g, const oidc_user_info_t *u, yajl_val requested,
                        const char *at_hash, int64_t iat, int64_t exp, char **out, size_t *len,
                        gw_err_t *err);

/* Claim names of the claims request member `member` ("userinfo") that we can
 * serve, as a JSON array text (malloc'd), or NULL when none. */
char *oidc_claims_names_json(yajl_val claims_request, const char *member);

#define OIDC_AT_HASH_LEN GW_B64URL_LEN(GW_SHA256_LEN / 2)

/* OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access
 * token's ASCII (ES256 and RS256 both hash with SHA-256). */
void oidc_at_hash(const char *token, size_t len, char out[OIDC_AT_HASH_LEN + 1]);

/* A random token id (128 bits, base64url). */
#define OIDC_JTI_LEN GW_B64URL_LEN(16)
void oidc_jti_new(char out[OIDC_JTI_LEN + 1]);

/* Signs `payload` with the current key for `alg` ("ES256" / "RS256"), header
 * {"alg","kid"[,"typ"]}; typ may be NULL. *out is malloc'd.
 * Errors: GW_E_INTERNAL (no key for alg, OpenSSL failure). */
int oidc_jwt_sign(const char *alg, const char *typ, const char *payload, size_t len, char **out,
                  gw_err_t *err);

/* Verifies one of our access tokens (RFC 9068 §4): signature by the key of
 * the current set whose kid the header names, alg pinned by that key, typ
 * at+jwt, iss ours, exp in the future, the claims we rely on present. The
 * claims tree is allocated from `pool`. Errors: GW_E_INVALID_TOKEN. */
int oidc_access_verify(h2o_mem_pool_t *pool, const char *issuer, const char *token, size_t len, int64_t now,
                       oidc_access_t *out, gw_err_t *err);

/* The grant family id of a verified access token (claim gid), or NULL. */
const char *oidc_access_gid(const oidc_access_t *at);

/* ---- per-request state (token.c) ------------------------------------------ */

/* ---- replies (token.c) ---------------------------------------------------- */

/* Successful token response (RFC 6749 §5.1); optional members NULL. */
void oidc_token_reply(gw_req_t *r, const char *access_token, int64_t expires_in, const char *scope,
                      const char *id_token, const char *refresh_token);

/* Issues the access token (and ID token when `with_id`, signed with the
 * client's alg) for `g` and replies; frees nothing of the caller's. */
void oidc_token_issue_reply(gw_req_t *r, const oidc_client_t *c, const oidc_grant_t *g,
                            const oidc_user_info_t *u, yajl_val id_token_claims, int with_id,
                            const char *refresh_token);

/* The reply for a grant loaded by oidc_token_grant_load or
 * oidc_token_take_load: an ID token when openid was granted (with the
 * claims request's "id_token" member from `claims`), then frees
 * g->uic_json. */
void oidc_token_grant_reply(gw_req_t *r, const oidc_client_t *c, oidc_grant_t *g, const oidc_user_info_t *u,
                            yajl_val claims, const char *refresh_token);

/* Replies 400 invalid_request when any parameter with a value appears twice
 * (RFC 6749 §3.2); returns -1 then. */
int oidc_form_no_repeats_or_reply(gw_req_t *r, const gw_kvs_t *form);

/* ---- grant handlers ------------------------------------------------------- */

void oidc_token_code(gw_req_t *r, const oidc_client_t *c, const gw_kvs_t *form);
void oidc_token_refresh(gw_req_t *r, const oidc_client_t *c, const gw_kvs_t *form);
void oidc_token_client_credentials(gw_req_t *r, const oidc_client_t *c, const gw_kvs_t *form);

void oidc_userinfo_register(void);

/* Reads `token` (required) and `token_type_hint` of a revocation or
 * introspection request; 0, or -1 with the error answered. */
int oidc_token_param_or_reply(gw_req_t *r, const gw_kvs_t *form, h2o_iovec_t *token);
/* 1 when the token has a JWS's shape (two dots): one of our access tokens,
 * if anything; otherwise it can only be a refresh token. */
int oidc_token_is_jwt(h2o_iovec_t token);

void oidc_revoke_register(void);
void oidc_introspect_register(void);

/* ---- the token response (token_response.c) --------------------------------- */

/* The JSON body of a successful token response (RFC 6749 §5.1); scope,
 * id_token and refresh_token may be NULL (left out). Returns a malloc'd,
 * NUL-terminated body and its length in *len, or NULL when a string is not
 * valid UTF-8 (the JSON writer refuses it). */
char *oidc_token_response_json(const char *access_token, int64_t expires_in, const char *scope,
                               const char *id_token, const char *refresh_token, size_t *len);

/* ---- SQL (token_db.c) ------------------------------------------------------ */

extern store_stmt_t OIDC_STMT_CODE_REDEEM;
extern store_stmt_t OIDC_STMT_CODE_TAKE;
extern store_stmt_t OIDC_STMT_CODE_REPLAYED;
extern store_stmt_t OIDC_STMT_SESSION_EXTRAS;
extern store_stmt_t OIDC_STMT_REFRESH_ROTATE;
extern store_stmt_t OIDC_STMT_REFRESH_REVOKE;
extern store_stmt_t OIDC_STMT_REFRESH_INTROSPECT;
extern store_stmt_t OIDC_STMT_AT_REVOKED;
extern store_stmt_t OIDC_STMT_AT_REVOKE;
extern store_stmt_t OIDC_STMT_USERINFO;
extern store_stmt_t OIDC_STMT_USER_NAME;
/* $1 grant family, $2 user id -> the grant's claims request (text) and the
 * verified_claims of its session (NULL when not a recovery session). */
extern store_stmt_t OIDC_STMT_USERINFO_VERIFIED;

void oidc_token_db_register(void);

/* Column reader for the grant rows returned by regain_code_redeem and
 * regain_refresh_rotate (same column order from column `first`). Strings
 * point into `res` and are valid while it is. */
void oidc_token_db_grant(PGresult *res, int first, oidc_grant_t *g, oidc_user_info_t *u,
                         const char **claims_json);

/* The grant in row 0 of a redeemed code or rotated refresh token, for client
 * `c` (issuer, client id and the userinfo claims request filled in); returns
 * the `claims` request it carries, parsed into the request's pool, or NULL.
 * g->uic_json is malloc'd (NULL without a claims request): oidc_token_grant_reply
 * frees it. */
yajl_val oidc_token_grant_load(gw_req_t *r, PGresult *res, const oidc_client_t *c, oidc_grant_t *g,
                               oidc_user_info_t *u);

/* The same for row 0 of OIDC_STMT_CODE_TAKE, which carries no user claims
 * (*u stays as the caller set it). */
yajl_val oidc_token_take_load(gw_req_t *r, PGresult *res, const oidc_client_t *c, oidc_grant_t *g);

/* The user's claims from column `first` of row 0, in OIDC_STMT_USERINFO's
 * order (user_name ... updated_at). Strings point into `res`. */
void oidc_token_db_user(PGresult *res, int first, oidc_user_info_t *u);

/* What a session adds to its tokens, from columns `first` .. `first` + 2 of
 * row 0 in regain_session_extras' order (schema/017_code_exchange.sql): the
 * TAP's expiry (exp_cap), the verified claims, the provider's result.
 * Strings point into `res`. */
void oidc_token_db_extras(PGresult *res, int first, oidc_grant_t *g);

/* Current time in seconds since the epoch. */
int64_t oidc_now(void);

/* 1 when the first `len` bytes of `v` equal the NUL-terminated `lit`. */
int oidc_iov_is(h2o_iovec_t v, const char *lit);

#endif
