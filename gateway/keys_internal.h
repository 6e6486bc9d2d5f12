/* Shared by keys.c (snapshots) and keys_db.c (SQL) only. */
#ifndef REGAIN_GATEWAY_KEYS_INTERNAL_H
#define REGAIN_GATEWAY_KEYS_INTERNAL_H

#include "gateway/keys.h"

/* One row of signing_keys as the SQL returns it (text format). */
typedef struct {
    const char *kid;
    const char *alg;
    const char *sealed_hex; /* bytea text output: \x... */
    int current;            /* the key that signs for alg */
} gw_key_row_t;

void gw_keys_set_kek(const uint8_t kek[32]);

/* Builds a snapshot from rows (newest first) and makes it current. */
int gw_keys_install(const gw_key_row_t *rows, size_t n, gw_err_t *err);

/* Whether `kek` opens every row, as gw_keys_install would need: 0, or -1
 * naming the first kid that does not open, GW_E_BAD_REQUEST when its seal
 * does not open under `kek` (GW_E_INTERNAL for a malformed row). Installs
 * nothing. */
int gw_keys_check_open(const uint8_t kek[32], const gw_key_row_t *rows, size_t n, gw_err_t *err);

/* The current snapshot's fingerprint ("" before the first install): each kid
 * followed by "+" when it signs, and ",". The poll's SQL spells it alike. */
const char *gw_keyset_fingerprint(void);

/* gw_keys_reload_soon's rate limit: 1 (and `now_ms` recorded) when no reload
 * was asked for in the GW_KEYS_RELOAD_SOON_MIN_MS before `now_ms`, a
 * CLOCK_MONOTONIC time in milliseconds; else 0. Any thread. */
int gw_keys_reload_due(uint64_t now_ms);

#endif
