/* AES-256-GCM boxes for secrets at rest (client secrets, provider tokens,
 * signing keys in the database): nonce || ciphertext || tag. */
#include "gateway/crypto.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "gateway/alloc.h"

int gw_aead_seal(const uint8_t key[GW_AEAD_KEY_LEN], const void *aad, size_t aadlen, const void *pt, size_t n,
                 uint8_t **out, size_t *outlen, gw_err_t *err)
{
    if (n > INT_MAX - GW_AEAD_OVERHEAD || aadlen > INT_MAX)
        return GW_ERR(err, GW_E_INTERNAL, "data too large to seal");
    uint8_t *box = gw_malloc(n + GW_AEAD_OVERHEAD);
    uint8_t *nonce = box, *ct = box + GW_AEAD_NONCE_LEN, *tag = ct + n;
    int len = 0, rc = -1;
    gw_random_bytes(nonce, GW_AEAD_NONCE_LEN);

    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        gw_openssl_fail(err, "cannot seal data", "EVP_CIPHER_CTX_new");
        goto done;
    }
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
        (aadlen > 0 && EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1) ||
        (n > 0 && EVP_EncryptUpdate(ctx, ct, &len, pt, (int)n) != 1) ||
        EVP_EncryptFinal_ex(ctx, ct + n, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GW_AEAD_TAG_LEN, tag) != 1) {
        gw_openssl_fail(err, "cannot seal data", "AES-256-GCM encrypt");
        goto done;
    }
    *out = box;
    *outlen = n + GW_AEAD_OVERHEAD;
    box = NULL;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(ctx);
    free(box);
    return rc;
}

int gw_aead_open(const uint8_t key[GW_AEAD_KEY_LEN], const void *aad, size_t aadlen, const uint8_t *box,
                 size_t boxlen, uint8_t **out, size_t *outlen, gw_err_t *err)
{
    if (boxlen < GW_AEAD_OVERHEAD || boxlen > INT_MAX || aadlen > INT_MAX) {
        int rc = GW_ERR(err, GW_E_INTERNAL, "sealed data failed authentication");
        gw_err_detail(err, "sealed box of %zu bytes is shorter than %d", boxlen, GW_AEAD_OVERHEAD);
        return rc;
    }
    const uint8_t *nonce = box, *ct = box + GW_AEAD_NONCE_LEN;
    size_t n = boxlen - GW_AEAD_OVERHEAD;
    const uint8_t *tag = ct + n;
    uint8_t *pt = gw_malloc(n + 1);
    int len = 0, rc = -1;

    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        gw_openssl_fail(err, "cannot open sealed data", "EVP_CIPHER_CTX_new");
        goto done;
    }
    /* The tag is set before the final call, which compares it in constant time. */
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
        (aadlen > 0 && EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1) ||
        (n > 0 && EVP_DecryptUpdate(ctx, pt, &len, ct, (int)n) != 1) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GW_AEAD_TAG_LEN, (void *)tag) != 1) {
        gw_openssl_fail(err, "cannot open sealed data", "AES-256-GCM decrypt");
        goto done;
    }
    if (EVP_DecryptFinal_ex(ctx, pt + n, &len) != 1) {
        ERR_clear_error();
        GW_ERR(err, GW_E_INTERNAL, "sealed data failed authentication");
        gw_err_detail(err, "GCM tag mismatch: wrong key, wrong aad or altered box");
        goto done;
    }
    pt[n] = '\0';
    *out = pt;
    *outlen = n;
    pt = NULL;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(ctx);
    if (pt != NULL) {
        /* Unauthenticated plaintext must not linger either. */
        gw_wipe(pt, n + 1);
        free(pt);
    }
    return rc;
}
