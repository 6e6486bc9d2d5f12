/* Randomness, SHA-256, HMAC-SHA-256 and constant-time comparison. */
#include "gateway/crypto.h"

#include "gateway/alloc.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

static void drbg_bytes(uint8_t *buf, size_t n)
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

/* A RAND_bytes call costs about 6,600 instructions and a system call (the
 * DRBG's fork check is a getpid), whatever its size. A sign-in draws five
 * small values (the request's id and its box's nonce, a CSRF secret, the
 * session token, the code): about 4% of the event loops' CPU in the
 * complete flows of make bench (perf). Draws of up to POOL_DRAW_MAX bytes
 * are served from a per-thread buffer that RAND_bytes refills POOL_BYTES
 * at a time; each byte is handed out once and wiped. Bytes waiting there
 * are no more exposed than the DRBG state they came from, which determines
 * its next outputs just as well. A forked child starts with an empty buffer
 * (pool_forget), so parent and child never hand out the same bytes. */
#define POOL_BYTES    4096
#define POOL_DRAW_MAX 64

static _Thread_local struct {
    uint8_t buf[POOL_BYTES];
    size_t left; /* unused bytes at the end of buf */
} g_pool;

static pthread_once_t g_pool_once = PTHREAD_ONCE_INIT;

/* In the child of fork(), on the one thread that survives it. */
static void pool_forget(void)
{
    gw_wipe(g_pool.buf, sizeof(g_pool.buf));
    g_pool.left = 0;
}

static void pool_register(void)
{
    if (pthread_atfork(NULL, NULL, pool_forget) != 0) {
        fprintf(stderr, "regain: pthread_atfork failed\n");
        abort();
    }
}

void gw_random_bytes(uint8_t *buf, size_t n)
{
    if (n > POOL_DRAW_MAX) {
        drbg_bytes(buf, n);
        return;
    }
    if (g_pool.left < n) {
        pthread_once(&g_pool_once, pool_register);
        drbg_bytes(g_pool.buf, POOL_BYTES);
        g_pool.left = POOL_BYTES;
    }
    uint8_t *from = g_pool.buf + POOL_BYTES - g_pool.left;
    memcpy(buf, from, n);
    memset(from, 0, n); /* handed out once */
    g_pool.left -= n;
}

/* OpenSSL 3 looks an algorithm up by name on every use of EVP_sha256() or
 * HMAC(); on the token path that look-up cost as much as the hashing. The
 * digest is fetched once and HMAC is built from it (RFC 2104). */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static EVP_MD *g_sha256;

static void fetch_sha256(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void die(const char *what)
{
    fprintf(stderr, "regain: %s failed\n", what);
    abort();
}

const EVP_MD *gw_sha256_md(void)
{
    pthread_once(&g_once, fetch_sha256);
    if (g_sha256 == NULL)
        die("fetching SHA-256");
    return g_sha256;
}

void gw_sha256(const void *data, size_t n, uint8_t out[GW_SHA256_LEN])
{
    unsigned int len = 0;
    if (EVP_Digest(data, n, out, &len, gw_sha256_md(), NULL) != 1 || len != GW_SHA256_LEN)
        die("SHA-256");
}

void gw_hmac_init(gw_hmac_key_t *k, const uint8_t *key, size_t klen)
{
    uint8_t block[64] = {0}, pad[64];
    if (klen > sizeof(block))
        gw_sha256(key, klen, block); /* RFC 2104 §2: long keys are hashed first */
    else if (klen > 0)
        memcpy(block, key, klen);
    k->inner = EVP_MD_CTX_new();
    k->outer = EVP_MD_CTX_new();
    for (size_t i = 0; i < 64; i++)
        pad[i] = block[i] ^ 0x36;
    if (k->inner == NULL || EVP_DigestInit_ex(k->inner, gw_sha256_md(), NULL) != 1 ||
        EVP_DigestUpdate(k->inner, pad, 64) != 1)
        die("HMAC key set-up");
    for (size_t i = 0; i < 64; i++)
        pad[i] = block[i] ^ 0x5c;
    if (k->outer == NULL || EVP_DigestInit_ex(k->outer, gw_sha256_md(), NULL) != 1 ||
        EVP_DigestUpdate(k->outer, pad, 64) != 1)
        die("HMAC key set-up");
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
}

void gw_hmac_dispose(gw_hmac_key_t *k)
{
    EVP_MD_CTX_free(k->inner);
    EVP_MD_CTX_free(k->outer);
    k->inner = k->outer = NULL;
}

void gw_hmac_run(const gw_hmac_key_t *k, const void *msg, size_t n, uint8_t out[GW_SHA256_LEN])
{
    uint8_t inner[GW_SHA256_LEN];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    /* Continue from the keyed states computed once in gw_hmac_init. */
    if (ctx == NULL || EVP_MD_CTX_copy_ex(ctx, k->inner) != 1 || EVP_DigestUpdate(ctx, msg, n) != 1 ||
        EVP_DigestFinal_ex(ctx, inner, &len) != 1 || EVP_MD_CTX_copy_ex(ctx, k->outer) != 1 ||
        EVP_DigestUpdate(ctx, inner, sizeof(inner)) != 1 || EVP_DigestFinal_ex(ctx, out, &len) != 1)
        die("HMAC-SHA-256");
    EVP_MD_CTX_free(ctx);
}

void gw_hmac_sha256(const uint8_t *key, size_t klen, const void *msg, size_t n, uint8_t out[GW_SHA256_LEN])
{
    gw_hmac_key_t k;
    gw_hmac_init(&k, key, klen);
    gw_hmac_run(&k, msg, n, out);
    gw_hmac_dispose(&k);
}

int gw_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}
