/* Identity-verification (IDV) providers behind one interface.
 *
 * A provider verifies a person for a recovery attempt and hands back a
 * normalised verified identity: trust framework, assurance level, evidence,
 * verification time, claims, the provider's transaction id, and a hash of its
 * signed result (so a result is usable once). Providers are compiled in; each
 * exports one constant table of functions (prov_ops_t). The administrator
 * configures instances in the config file's "providers" list
 * (gateway/config.h); the recovery policy chooses among them.
 *
 *   dev       providers/dev.c: a simulated provider for evaluation and tests,
 *             refused unless the config sets dev_mode; the tester types the
 *             claims it "verifies" on a page of regain's own.
 *   oidc-ida  providers/oidc_ida.c: regain as the relying party of any OpenID
 *             Provider that returns verified_claims (OpenID Connect for
 *             Identity Assurance 1.0): discovery and JWKS fetched and cached
 *             without blocking the loop (providers/http.c), PAR when
 *             advertised (RFC 9126), PKCE S256, state and nonce bound to the
 *             attempt, a `claims` request for verified_claims, and the ID
 *             token verified (signature, iss, aud, exp, nbf, nonce).
 *
 * The evidence the policy requires (which trust frameworks, assurance levels,
 * how fresh) is checked by the caller on the normalised identity: one place
 * for every provider. */
#ifndef REGAIN_PROVIDERS_PROVIDER_H
#define REGAIN_PROVIDERS_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/config.h"
#include "gateway/http.h"
#include "gateway/json.h"
#include "gateway/parse.h"

#define PROV_MAX_CLAIMS      16
#define PROV_RESULT_HASH_LEN 32

/* A verified claim: name as OIDC IDA writes it ("given_name"), value as text
 * (dates as YYYY-MM-DD). */
typedef struct {
    char *name;
    char *value;
} prov_claim_t;

/* What a provider verified. Strings are malloc'd and owned by the identity
 * (prov_identity_dispose). */
typedef struct {
    char *trust_framework; /* verification.trust_framework: required */
    char *assurance_level; /* verification.assurance_level, or NULL */
    int64_t verified_at;   /* verification.time as epoch seconds; 0 when absent */
    /* The provider's id of this one transaction, usable once (recovery_move
     * refuses a second use as "replayed"): the IDA `txn` claim, or the ID
     * token's jti. Never verification_process, which names a process that
     * repeats across transactions and people. */
    char *txn;
    char *verification_process; /* verification.verification_process as the provider wrote it, or NULL */
    char *evidence_json;        /* verification.evidence as JSON text, or NULL */
    char *aggregated_jwt; /* the provider's own signed result (for an aggregated claim source), or NULL */
    prov_claim_t claims[PROV_MAX_CLAIMS];
    size_t claim_count;
    uint8_t result_hash[PROV_RESULT_HASH_LEN]; /* SHA-256 of the signed result */
} prov_identity_t;

void prov_identity_dispose(prov_identity_t *id);
/* The value of claim `name`, or NULL. */
const char *prov_identity_claim(const prov_identity_t *id, const char *name);
/* Appends a claim (copied); ignored beyond PROV_MAX_CLAIMS. */
void prov_identity_add_claim(prov_identity_t *id, const char *name, const char *value);

/* The OIDC IDA verified_claims object of the claims whose names are in
 * `names` (all claims when NULL): {"verification": {"trust_framework",
 * "assurance_level", "time", "verification_process", "evidence"}, "claims":
 * {...}}. What recovery stores and what the ID token carries. */
void prov_identity_write_verified_claims(const prov_identity_t *id, const char *const *names, size_t n,
                                         gw_jw_t *w);

/* Why a verification failed: stable reason codes for the audit log. */
#define PROV_R_PROVIDER_ERROR     "provider_error" /* the provider answered with an error, or not at all */
#define PROV_R_BAD_SIGNATURE      "bad_signature"  /* not signed by a key of the provider's JWKS */
#define PROV_R_WRONG_ISSUER       "wrong_issuer"
#define PROV_R_WRONG_AUDIENCE     "wrong_audience"
#define PROV_R_TOKEN_EXPIRED      "token_expired"
#define PROV_R_TOKEN_NOT_YET      "token_not_yet_valid" /* its nbf is still ahead */
#define PROV_R_WRONG_NONCE        "wrong_nonce"
#define PROV_R_NO_VERIFIED_CLAIMS "no_verified_claims"
#define PROV_R_MALFORMED          "malformed_result"
#define PROV_R_CANCELLED          "cancelled" /* the person stopped at the provider */

/* Begin a verification. The flow mints the values; the provider uses them. */
typedef struct {
    const char *attempt_id;
    const char *handle;        /* opaque, high entropy: OIDC `state`; comes back in the callback */
    const char *nonce;         /* OIDC `nonce`, bound to the attempt */
    const char *code_verifier; /* PKCE (RFC 7636), S256 */
    const char *redirect_uri;  /* our callback: issuer + "/recover/callback" */
    const char *login_hint;    /* may be NULL */
    const char *const *claims; /* claim names matching needs (beyond given_name, family_name, birthdate) */
    size_t claim_count;
} prov_begin_t;

/* `location`: where to send the person (NULL on failure, with a reason). */
typedef void (*prov_begin_cb)(gw_req_t *r, void *data, const char *location, const char *reason);

/* Finish from the callback: the callback request's parameters (query or
 * form) and what the attempt stored. */
typedef struct {
    const gw_kvs_t *params;
    const char *nonce;
    const char *code_verifier;
    const char *redirect_uri;
    /* The claim names matching needs (the policy's rules); a provider
     * returning several verified_claims elements reads the one that
     * carries them. May be NULL. */
    const char *const *claims;
    size_t claim_count;
} prov_finish_t;

/* `id` is NULL on failure, with a reason (PROV_R_*). Valid during the call. */
typedef void (*prov_finish_cb)(gw_req_t *r, void *data, const prov_identity_t *id, const char *reason);

typedef struct prov_provider prov_provider_t;

typedef struct {
    const char *type; /* "dev", "oidc-ida" */
    /* Prepares an instance from its configuration (no network: caches fill on
     * first use). -1 with a message. */
    int (*init)(prov_provider_t *p, char *msg, size_t msgsize);
    /* Both callbacks run only while `r` lives (a client that hangs up
     * cancels what is in flight); possibly before the call returns. */
    void (*begin)(prov_provider_t *p, gw_req_t *r, const prov_begin_t *b, prov_begin_cb cb, void *data);
    void (*finish)(prov_provider_t *p, gw_req_t *r, const prov_finish_t *f, prov_finish_cb cb, void *data);
    /* {"id", "type", "display_name", ...} for discovery and the admin API. */
    void (*describe)(const prov_provider_t *p, gw_jw_t *w);
    void (*dispose)(prov_provider_t *p);
} prov_ops_t;

struct prov_provider {
    const gw_provider_config_t *cfg;
    const prov_ops_t *ops;
    void *state; /* the type's own */
};

extern const prov_ops_t prov_dev_ops;
extern const prov_ops_t prov_oidc_ida_ops;

/* Creates the configured providers; call once before the loops run.
 * -1 with a message naming the provider. */
int prov_registry_init(const gw_config_t *cfg, char *msg, size_t msgsize);
void prov_registry_dispose(void);
size_t prov_count(void);
prov_provider_t *prov_at(size_t i);
/* The provider with configured id `id`, or NULL. */
prov_provider_t *prov_find(const char *id, size_t len);

/* ---- outbound HTTP (http.c): never blocks the loop -------------------------- */

/* A response: status 0 on a transport failure (with `error`). `body` is
 * NUL-terminated. Valid during the callback only. */
typedef struct {
    int status;
    const char *content_type;
    const char *body;
    size_t body_len;
    const char *error;
} prov_http_response_t;

typedef void (*prov_http_cb)(void *data, const prov_http_response_t *res);

typedef struct prov_http_req prov_http_req_t;

/* Largest response body accepted (discovery, JWKS, tokens). */
#define PROV_HTTP_MAX_BODY (256 * 1024)

/* Whether plain http to a loopback address is allowed (dev mode only;
 * prov_registry_init sets it from the config). Off by default. */
void prov_http_allow_plain_loopback(int allow);

/* GET (body NULL) or POST `url` (https, or in dev mode http to a loopback
 * address) on
 * loop `loop` with h2o's HTTP/1.1 client: TLS verified against `ca_file`
 * (NULL: the system's trust store) and the host name; `headers` is NULL or
 * extra header lines, each ending in "\r\n". `cb` runs exactly once, later,
 * on the loop, unless prov_http_cancel was called first. NULL (cb never
 * runs) with `*error` set when the call cannot even start. */
prov_http_req_t *prov_http_request(h2o_loop_t *loop, const char *url, const char *content_type,
                                   const char *body, size_t body_len, const char *headers,
                                   const char *ca_file, unsigned timeout_ms, prov_http_cb cb, void *data,
                                   const char **error);
void prov_http_cancel(prov_http_req_t *req);

/* Loads the trust anchors of `ca_file` (NULL: the system's trust store)
 * now, at start, so that no event loop reads them from disk at its first
 * call (prov_registry_init does it for every provider and webhook); -1
 * when they do not load. */
int prov_http_preload(const char *ca_file);

/* A request's HTTP call that dies with the request: `cb` runs only while `r`
 * lives (before this returns when the call cannot start). Uses the
 * request's pending slot: one asynchronous operation at a time. */
void prov_http_for_request(gw_req_t *r, const char *url, const char *content_type, const char *body,
                           size_t body_len, const char *headers, const char *ca_file, unsigned timeout_ms,
                           prov_http_cb cb, void *data);

#endif
