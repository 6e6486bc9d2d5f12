/* Server-side handling of high-entropy secrets we mint (session cookies,
 * authorization codes, refresh tokens, client secrets): created from the
 * CSPRNG, stored only as a keyed hash. A keyed hash (not a password KDF) is
 * right for them: they cannot be guessed, and a KDF per request would make
 * every token request a KDF benchmark. */
#ifndef REGAIN_GATEWAY_SECRETS_H
#define REGAIN_GATEWAY_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#define GW_SECRET_BYTES    32
#define GW_SECRET_LEN      43 /* base64url characters of 32 bytes */
#define GW_SECRET_HASH_LEN 32

/* Derives the hashing key from the key-encryption key; call once at start,
 * before any thread hashes (the CLI too). */
void gw_secrets_init(const uint8_t kek[32]);

/* A new secret: 32 CSPRNG bytes as base64url, NUL-terminated. */
void gw_secret_new(char out[GW_SECRET_LEN + 1]);

/* HMAC-SHA-256 of `secret` under the derived key: what the database stores. */
void gw_secret_hash(const void *secret, size_t n, uint8_t out[GW_SECRET_HASH_LEN]);

/* The same as a PostgreSQL bytea hex literal ("\\x" + 64 hex digits + NUL),
 * ready to pass as a text query parameter. */
#define GW_SECRET_HASH_HEX_LEN (2 + 2 * GW_SECRET_HASH_LEN)
void gw_secret_hash_hex(const void *secret, size_t n, char out[GW_SECRET_HASH_HEX_LEN + 1]);

#endif
