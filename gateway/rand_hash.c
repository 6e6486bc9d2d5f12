/* Randomness, SHA-256, HMAC-SHA-256 and constant-time comparison. */
#include "gateway/crypto.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

void gw_random_bytes(uint8_t *buf, size_t n)
{
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        if (RAND_bytes(buf, chunk) != 1) {
            /* Lower layers never log, but an abort needs its reason on stderr. */
            fprintf(stderr, "regain: RAND_bytes failed: %lu\n", ERR_get_error());
            abort();
        }
        buf += chunk;
        n -= (size_t)chunk;
    }
}

void gw_sha256(const void *data, size_t n, uint8_t out[GW_SHA256_LEN])
{
    unsigned int len = 0;
    if (EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) != 1 || len != GW_SHA256_LEN) {
        fprintf(stderr, "regain: SHA-256 failed\n");
        abort();
    }
}

void gw_hmac_sha256(const uint8_t *key, size_t klen, const void *msg, size_t n, uint8_t out[GW_SHA256_LEN])
{
    static const uint8_t empty[1];
    unsigned int len = 0;
    if (klen > INT_MAX)
        abort();
    /* HMAC() treats a NULL key as "reuse the previous one"; never pass NULL. */
    if (HMAC(EVP_sha256(), klen ? key : empty, (int)klen, msg ? msg : (const void *)empty, n, out, &len) ==
            NULL ||
        len != GW_SHA256_LEN) {
        fprintf(stderr, "regain: HMAC-SHA-256 failed\n");
        abort();
    }
}

int gw_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}
