/* Signature checks for both ceremonies and for packed attestation. */
#include "methods/internal.h"

#include <string.h>

#include "gateway/alloc.h"

mth_wa_status_t mth_wa_signature_verify(EVP_PKEY *key, int alg, const uint8_t *sig, size_t sig_len,
                                        const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    if (sig == NULL || sig_len == 0 || sig_len > MTH_WA_SIGNATURE_MAX || !mth_wa_key_fits_alg(key, alg))
        return MTH_WA_BAD_SIGNATURE;
    /* Ed25519 signs the message itself, in one pass, so the two parts are
     * joined for every algorithm alike. */
    size_t n = a_len + b_len;
    uint8_t *msg = gw_malloc(n);
    if (a_len)
        memcpy(msg, a, a_len);
    if (b_len)
        memcpy(msg + a_len, b, b_len);
    /* ES256 and RS256 hash with SHA-256; EdDSA takes no digest. RSA keys
     * default to PKCS#1 v1.5 padding; ECDSA wants the DER form and OpenSSL
     * refuses a signature whose DER is not the canonical one. */
    const char *md = alg == MTH_COSE_EDDSA ? NULL : "SHA256";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, key, NULL) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, msg, n) == 1;
    EVP_MD_CTX_free(ctx);
    free(msg);
    return ok ? MTH_WA_OK : MTH_WA_BAD_SIGNATURE;
}
