#include "gateway/secrets.h"

#include <string.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"

static gw_hmac_key_t g_hash_key;

void gw_secrets_init(const uint8_t kek[32])
{
    /* A separate key per purpose: the key-encryption key itself never keys a
     * hash whose output is stored next to what it protects. */
    static const char LABEL[] = "regain/secret-hash/v1";
    uint8_t key[32];
    gw_hmac_sha256(kek, 32, LABEL, sizeof(LABEL) - 1, key);
    if (g_hash_key.inner != NULL)
        gw_hmac_dispose(&g_hash_key);
    gw_hmac_init(&g_hash_key, key, sizeof(key));
    gw_wipe(key, sizeof(key));
}

void gw_secret_new(char out[GW_SECRET_LEN + 1])
{
    uint8_t raw[GW_SECRET_BYTES];
    gw_random_bytes(raw, sizeof(raw));
    gw_b64url_encode(raw, sizeof(raw), out);
    gw_wipe(raw, sizeof(raw));
}

void gw_secret_hash(const void *secret, size_t n, uint8_t out[GW_SECRET_HASH_LEN])
{
    gw_hmac_run(&g_hash_key, secret, n, out);
}

void gw_secret_hash_hex(const void *secret, size_t n, char out[GW_SECRET_HASH_HEX_LEN + 1])
{
    static const char HEX[] = "0123456789abcdef";
    uint8_t h[GW_SECRET_HASH_LEN];
    gw_secret_hash(secret, n, h);
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < sizeof(h); i++) {
        out[2 + 2 * i] = HEX[h[i] >> 4];
        out[3 + 2 * i] = HEX[h[i] & 15];
    }
    out[GW_SECRET_HASH_HEX_LEN] = '\0';
}
