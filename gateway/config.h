/* The configuration file: parsed once at start into these structs.
 *
 * A JSON object; paths are relative to the file's folder; unknown keys are
 * errors so a typo never silently falls back to a default. Secrets may come
 * from the environment instead: REGAIN_DATABASE_URL, REGAIN_KEY_ENCRYPTION_KEY. */
#ifndef REGAIN_GATEWAY_CONFIG_H
#define REGAIN_GATEWAY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/log.h"

#define GW_CONFIG_MAX_LISTENERS        8
#define GW_CONFIG_MAX_PROVIDERS        8
#define GW_CONFIG_MAX_TRUST_FRAMEWORKS 8

/* An identity-verification provider (issue 7; providers/provider.h). */
typedef struct {
    char *id;           /* [a-z0-9_-]{1,32}: in URLs, attempts and the policy */
    char *type;         /* "oidc-ida" or "dev" ("dev" only with dev_mode) */
    char *display_name; /* shown on the provider choice page */
    /* oidc-ida only: */
    char *issuer; /* the provider's issuer; discovery at issuer + /.well-known/openid-configuration */
    char *client_id;
    char *client_secret;    /* client_secret_basic; or: */
    char *private_key_file; /* private_key_jwt (PEM, ES256 or RS256) */
    char *scopes;           /* default "openid identity_assurance" */
    char *ca_file;          /* trust anchors for the provider's TLS (default: the system's) */
    int use_par;            /* 1: when the provider advertises PAR (default) */
    unsigned timeout_ms;    /* each outbound call (default 5000) */
    /* Keep the provider's signed result and pass it to relying parties as an
     * aggregated claim source (OIDC Core §5.6.2) next to verified_claims, so
     * they can check the provider's signature themselves (default false:
     * regain stores only what matching needs). */
    int aggregate_result;
} gw_provider_config_t;

/* An outbound webhook (issue 7). */
typedef struct {
    char *url; /* NULL: not configured */
    unsigned timeout_ms;
    int pass_on_error; /* claim validation: 1 treats a failed call as a pass */
    char *ca_file;
} gw_webhook_config_t;

typedef struct {
    char *address; /* numeric IPv4 or IPv6 address */
    uint16_t port;
    char *certificate_file; /* NULL for a cleartext (HTTP/1.1 + h2c) listener */
    char *key_file;
} gw_listen_config_t;

typedef struct {
    char *issuer; /* "https://host[:port]", no trailing slash */
    int dev_mode;
    struct {
        char *url;
        unsigned pool_size;        /* connections per worker thread */
        unsigned query_timeout_ms; /* deadline of one database call */
        unsigned max_waiting;      /* queries queued per thread before 503 */
    } database;
    gw_listen_config_t listen[GW_CONFIG_MAX_LISTENERS];
    size_t listen_count;
    struct {
        unsigned threads; /* 0: one per core */
        size_t max_request_body_bytes;
        unsigned idle_timeout_ms;
        unsigned max_streams_per_connection;
        unsigned shutdown_timeout_ms;
        unsigned worker_threads; /* CPU work (password hashing); 0: one per core */
        unsigned worker_hold_ms; /* saturated pool: finished jobs go back together within this (workers.c) */
    } server;
    struct {
        uint8_t encryption_key[32]; /* AES-256-GCM key-encryption key for private keys at rest */
        unsigned refresh_interval_ms;
    } keys;
    struct {
        unsigned access_token_ttl_s;
        unsigned id_token_ttl_s;
        unsigned refresh_token_ttl_s;
        unsigned code_ttl_s;
        unsigned session_ttl_s;
        /* Argon2id cost; defaults follow OWASP's Password Storage Cheat Sheet
         * (m = 19 MiB, t = 2, p = 1). */
        unsigned argon2_t;
        unsigned argon2_m_kib;
        unsigned argon2_p;
        /* Failed sign-ins per account and per address before a lockout. */
        unsigned throttle_max_failures;      /* per account */
        unsigned throttle_addr_max_failures; /* per client address */
        unsigned throttle_window_s;
        unsigned throttle_lockout_s;
        /* The account security page: may a user remove their last sign-in
         * method (default no), and how old a sign-in may be to open it. */
        int allow_remove_last_method;
        unsigned account_reauth_s;
        /* Passkey challenges alive at once (each options call stores one
         * for five minutes): per browser and per client address (an IPv6
         * address counts by its /64). */
        unsigned passkey_challenges_per_browser;
        unsigned passkey_challenges_per_address;
    } oidc;
    gw_provider_config_t providers[GW_CONFIG_MAX_PROVIDERS];
    size_t provider_count;
    struct {
        gw_webhook_config_t notification;     /* signed JSON event after each recovery */
        gw_webhook_config_t claim_validation; /* the organisation's own pass/fail check */
        /* The trust frameworks whose verified claims regain passes on to
         * relying parties (OpenID Connect for Identity Assurance 1.0:
         * trust_frameworks_supported); none: verified_claims are not served. */
        char *trust_frameworks[GW_CONFIG_MAX_TRUST_FRAMEWORKS];
        size_t trust_framework_count;
    } recovery;
    struct {
        gw_log_level_t level;
        int access_log;
    } log;
} gw_config_t;

/* Reads and validates `path`. On failure returns -1 and writes one line naming
 * the offending key (or the file) into `msg`. The caller owns `cfg` and
 * releases it with gw_config_dispose. */
int gw_config_load(gw_config_t *cfg, const char *path, char *msg, size_t msgsize);

/* Same, from a JSON text; `base_dir` resolves relative paths. */
int gw_config_parse(gw_config_t *cfg, const char *json, const char *base_dir, char *msg, size_t msgsize);

void gw_config_dispose(gw_config_t *cfg);

/* Checks that the files `cfg` names can be read and used, as serve will use
 * them: each TLS listener's certificate chain and matching key, each
 * provider's private_key_file (P-256 or RSA 2048+) and ca_file, the webhooks'
 * ca_file (gateway/config_files.c). `regain config check` and `regain serve`
 * call it before anything starts. Returns -1 with one line naming the key and
 * the file in `msg`. */
int gw_config_check_files(const gw_config_t *cfg, char *msg, size_t msgsize);

/* Puts listener `i`'s certificate chain and private key into `ctx` (the
 * server's TLS context, or the check's): 0, or -1 with a message naming the
 * configuration key and what is wrong with its file. */
typedef struct ssl_ctx_st SSL_CTX;
int gw_tls_use_listener_files(SSL_CTX *ctx, size_t i, const gw_listen_config_t *l, char *msg, size_t msgsize);

/* The "providers" list and the "recovery" object (gateway/config_recovery.c;
 * either may be NULL when absent). Returns -1 with one line in `msg`. */
int gw_config_parse_recovery(gw_config_t *cfg, const void *providers, const void *recovery,
                             const char *base_dir, char *msg, size_t msgsize);
void gw_config_dispose_recovery(gw_config_t *cfg);

#endif
