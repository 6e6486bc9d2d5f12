/* The signing key store: keys live in PostgreSQL (private parts sealed with
 * AES-256-GCM under the configured key-encryption key); every gateway process
 * holds the active set in memory and reloads it when it changes, so
 * `regain keys rotate` reaches all processes without a restart. */
#ifndef REGAIN_GATEWAY_KEYS_H
#define REGAIN_GATEWAY_KEYS_H

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdint.h>

#include "gateway/err.h"

#define GW_KEYSET_MAX 8
#define GW_KID_MAX    64

typedef struct gw_thread gw_thread_t;

typedef struct {
    char kid[GW_KID_MAX]; /* RFC 7638 thumbprint */
    char alg[8];          /* "ES256" or "RS256" */
    EVP_PKEY *pkey;       /* private key, loaded once (no PEM parsing per token) */
} gw_signing_key_t;

/* An immutable snapshot of the active keys; newest first per algorithm. */
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

/* `regain keys rotate`: checks that `kek` opens every published key
 * (GW_E_BAD_REQUEST if one does not: the wrong keys.encryption_key), then
 * adds a new current key for `alg` and retires all but the previous one, so
 * the set holds the current and the previous key. One transaction. */
int gw_keys_rotate(PGconn *conn, const uint8_t kek[32], const char *alg, char kid[GW_KID_MAX], gw_err_t *err);

/* Polls for a changed key set every `interval_ms` on thread `t`'s loop
 * (one thread per process is enough). */
void gw_keys_start_refresh(gw_thread_t *t, unsigned interval_ms);
void gw_keys_stop_refresh(gw_thread_t *t);

/* The current snapshot, held until gw_keys_release; never NULL after init. */
gw_keyset_t *gw_keys_acquire(void);
void gw_keys_release(gw_keyset_t *ks);

/* The newest key for `alg` in `ks`, or NULL. */
const gw_signing_key_t *gw_keyset_current(const gw_keyset_t *ks, const char *alg);

void gw_keys_dispose(void);

#endif
