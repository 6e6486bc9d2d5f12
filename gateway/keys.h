/* The signing key store: keys live in PostgreSQL (private parts sealed with
 * AES-256-GCM under the configured key-encryption key); every gateway process
 * holds the published set in memory and reloads it when it changes, so
 * `regain keys rotate` reaches all processes without a restart.
 *
 * OpenID Connect Core 1.0 §10.1.1: a rotated key is published (and verifies)
 * at once but signs only once every gateway has loaded it and cached copies
 * of /jwks.json have expired; a replaced key stays published until the tokens
 * it may have signed have expired. */
#ifndef REGAIN_GATEWAY_KEYS_H
#define REGAIN_GATEWAY_KEYS_H

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdint.h>

#include "gateway/err.h"

#define GW_KEYSET_MAX 8
#define GW_KID_MAX    64
/* Published keys of one algorithm (two algorithms share GW_KEYSET_MAX). */
#define GW_KEYS_PER_ALG_MAX (GW_KEYSET_MAX / 2)
/* How long relying parties may cache /jwks.json (its Cache-Control max-age). */
#define GW_JWKS_MAX_AGE_S 300
/* At most one reload a second is asked for because of unknown kids. */
#define GW_KEYS_RELOAD_SOON_MIN_MS 1000

typedef struct gw_thread gw_thread_t;

typedef struct {
    char kid[GW_KID_MAX]; /* RFC 7638 thumbprint */
    char alg[8];          /* "ES256" or "RS256" */
    EVP_PKEY *pkey;       /* private key, loaded once (no PEM parsing per token) */
    int current;          /* signs new tokens; the other published keys only verify */
} gw_signing_key_t;

/* An immutable snapshot of the published keys, newest first. */
typedef struct {
    gw_signing_key_t keys[GW_KEYSET_MAX];
    size_t count;
    char *jwks; /* the /jwks.json body: public parts only */
    size_t jwks_len;
    char *jwks_gzip; /* and its gzip form (NULL when it would not be smaller) */
    size_t jwks_gzip_len;
    char *fingerprint; /* the kids in load order, to notice a change */
    _Atomic int refs;
} gw_keyset_t;

/* Start-up (blocking, before the loops run): creates the first ES256 key if
 * there is none, then loads the set. */
int gw_keys_init(PGconn *conn, const uint8_t kek[32], gw_err_t *err);

/* What `regain keys rotate` does. */
typedef struct {
    const char *alg;      /* "ES256" or "RS256" */
    uint64_t activate_ms; /* published only, this long, before it signs */
    uint64_t keep_ms;     /* a replaced key stays published this long after the new one signs */
    int force;            /* signs at once; every other key of alg is retired now */
} gw_keys_rotation_t;

/* The waits of a rotation (gw_keys_rotation_t) for gateways polling every
 * `refresh_interval_ms` and tokens living at most `max_token_ttl_s`: the new
 * key signs after two polls and the JWKS cache time, so every gateway has
 * loaded it and no cached /jwks.json lacks it; a replaced key may sign for one
 * more poll, its tokens live max_token_ttl_s, and a verifier may hold
 * /jwks.json for the cache time. */
void gw_keys_rotation_waits(unsigned refresh_interval_ms, unsigned max_token_ttl_s, gw_keys_rotation_t *rot);

/* What gw_keys_rotate did. */
typedef struct {
    char kid[GW_KID_MAX];
    char activates_at[32]; /* when it signs: UTC, ISO 8601 */
    uint64_t activate_ms;  /* from now: rot->activate_ms, or 0 (--force, or no key of alg signed yet) */
} gw_keys_rotated_t;

/* `regain keys rotate`, in one transaction: checks that `kek` opens every
 * published key (GW_E_BAD_REQUEST if one does not: the wrong
 * keys.encryption_key), refuses a fifth published key of rot->alg
 * (GW_E_CONFLICT) unless rot->force, adds the new key, and sets when the keys
 * it replaces leave the set. */
int gw_keys_rotate(PGconn *conn, const uint8_t kek[32], const gw_keys_rotation_t *rot, gw_keys_rotated_t *out,
                   gw_err_t *err);

/* Polls for a changed key set every `interval_ms` on thread `t`'s loop
 * (one thread per process is enough). */
void gw_keys_start_refresh(gw_thread_t *t, unsigned interval_ms);
void gw_keys_stop_refresh(gw_thread_t *t);

/* A token named a kid this process does not have: asks the refresh thread to
 * check for new keys now (OIDC Core §10.1.1), at most once per
 * GW_KEYS_RELOAD_SOON_MIN_MS. Any thread; never blocks on the database; a
 * no-op while no refresh runs. The token at hand is still refused. */
void gw_keys_reload_soon(void);

/* The current snapshot, held until gw_keys_release; never NULL after init. */
gw_keyset_t *gw_keys_acquire(void);
void gw_keys_release(gw_keyset_t *ks);

/* The key that signs for `alg` in `ks`, or NULL. */
const gw_signing_key_t *gw_keyset_current(const gw_keyset_t *ks, const char *alg);

void gw_keys_dispose(void);

#endif
