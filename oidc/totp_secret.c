/* Authenticator app secrets at rest: sealed with AES-256-GCM (gw_aead_*)
 * under a key of their own, derived from the key-encryption key the way the
 * secret-hashing key is (gateway/secrets.c): one key per purpose, so the key
 * that seals signing keys never seals anything else. The associated data is
 * the authenticator's id, so a box copied to another row does not open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "oidc/methods_internal.h"

static uint8_t g_key[GW_AEAD_KEY_LEN];

void oidc_totp_keys_init(const uint8_t kek[32])
{
    static const char LABEL[] = "regain/totp-secret/v1";
    gw_hmac_sha256(kek, 32, LABEL, sizeof(LABEL) - 1, g_key);
}

static size_t aad(const char *id, char out[8 + OIDC_UUID_LEN])
{
    int n = snprintf(out, 8 + OIDC_UUID_LEN, "totp:%s", id);
    return n < 0 ? 0 : (size_t)n;
}

int oidc_totp_seal(const char *id, const uint8_t *key, size_t keylen, char **hex, gw_err_t *err)
{
    static const char HEX[] = "0123456789abcdef";
    char a[8 + OIDC_UUID_LEN];
    uint8_t *box = NULL;
    size_t boxlen = 0;
    if (gw_aead_seal(g_key, a, aad(id, a), key, keylen, &box, &boxlen, err) != 0)
        return -1;
    char *s = gw_malloc(2 * boxlen + 3);
    s[0] = '\\';
    s[1] = 'x';
    for (size_t i = 0; i < boxlen; i++) {
        s[2 + 2 * i] = HEX[box[i] >> 4];
        s[3 + 2 * i] = HEX[box[i] & 15];
    }
    s[2 * boxlen + 2] = '\0';
    free(box);
    *hex = s;
    return 0;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int oidc_totp_open(const char *id, const char *bytea_text, uint8_t key[MTH_TOTP_SECRET_LEN])
{
    size_t n = bytea_text ? strlen(bytea_text) : 0;
    uint8_t box[MTH_TOTP_SECRET_LEN + GW_AEAD_OVERHEAD];
    if (n != 2 + 2 * sizeof(box) || bytea_text[0] != '\\' || bytea_text[1] != 'x')
        return -1;
    for (size_t i = 0; i < sizeof(box); i++) {
        int hi = hexv(bytea_text[2 + 2 * i]), lo = hexv(bytea_text[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        box[i] = (uint8_t)(hi << 4 | lo);
    }
    char a[8 + OIDC_UUID_LEN];
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    gw_err_t err;
    if (gw_aead_open(g_key, a, aad(id, a), box, sizeof(box), &pt, &ptlen, &err) != 0)
        return -1;
    int rc = -1;
    if (ptlen == MTH_TOTP_SECRET_LEN) {
        memcpy(key, pt, MTH_TOTP_SECRET_LEN);
        rc = 0;
    }
    gw_wipe(pt, ptlen);
    free(pt);
    return rc;
}
