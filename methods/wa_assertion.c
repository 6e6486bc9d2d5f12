/* The authentication ceremony's checks (WebAuthn §7.2), and the reason
 * codes of both ceremonies. */
#include "methods/internal.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "gateway/crypto.h"

const char *mth_wa_reason(mth_wa_status_t s)
{
    switch (s) {
    case MTH_WA_OK:
        return "ok";
    case MTH_WA_MALFORMED:
        return "malformed";
    case MTH_WA_WRONG_TYPE:
        return "wrong_type";
    case MTH_WA_WRONG_CHALLENGE:
        return "wrong_challenge";
    case MTH_WA_WRONG_ORIGIN:
        return "wrong_origin";
    case MTH_WA_WRONG_RP_ID:
        return "wrong_rp_id";
    case MTH_WA_NO_USER_PRESENCE:
        return "no_user_presence";
    case MTH_WA_NO_USER_VERIFICATION:
        return "no_user_verification";
    case MTH_WA_UNSUPPORTED_ALG:
        return "unsupported_alg";
    case MTH_WA_UNSUPPORTED_ATTESTATION:
        return "unsupported_attestation";
    case MTH_WA_BAD_SIGNATURE:
        return "bad_signature";
    case MTH_WA_COUNTER_ROLLBACK:
        return "counter_rollback";
    case MTH_WA_BACKUP_STATE_INVALID:
        return "backup_state_invalid";
    }
    return "unknown";
}

/* The stored SubjectPublicKeyInfo, which must be of the stored algorithm's
 * kind (a row edited to pair an RSA key with "EdDSA" verifies nothing). */
static EVP_PKEY *stored_key(const mth_wa_stored_t *cred)
{
    if (cred->public_key_der == NULL || cred->public_key_der_len == 0 || cred->public_key_der_len > 4096)
        return NULL;
    const uint8_t *p = cred->public_key_der;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)cred->public_key_der_len);
    if (key == NULL || p != cred->public_key_der + cred->public_key_der_len ||
        !mth_wa_key_fits_alg(key, cred->alg)) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

static mth_wa_status_t verify(const mth_wa_expect_t *e, const mth_wa_stored_t *cred, const uint8_t *ad,
                              size_t ad_len, const uint8_t *sig, size_t sig_len, mth_wa_assertion_t *out)
{
    uint8_t client_hash[32], rp_hash[32];
    mth_wa_authdata_t a;
    if (e == NULL || e->rp_id == NULL || cred == NULL)
        return MTH_WA_MALFORMED;
    if (cred->alg != MTH_COSE_ES256 && cred->alg != MTH_COSE_RS256 && cred->alg != MTH_COSE_EDDSA)
        return MTH_WA_UNSUPPORTED_ALG;
    /* Steps 7-14: the client data. */
    mth_wa_status_t st = mth_wa_client_data_check(e, "webauthn.get", client_hash);
    if (st != MTH_WA_OK)
        return st;
    if ((st = mth_wa_authdata_parse(ad, ad_len, 0, &a)) != MTH_WA_OK)
        return st;
    /* Step 15: our RP ID. */
    gw_sha256(e->rp_id, strlen(e->rp_id), rp_hash);
    if (CRYPTO_memcmp(rp_hash, a.rp_id_hash, 32) != 0)
        return MTH_WA_WRONG_RP_ID;
    /* Steps 16-18: UP, UV, BS only with BE ... */
    if ((st = mth_wa_flags_check(a.flags)) != MTH_WA_OK)
        return st;
    /* ... and BE as it was at registration: it is fixed for the life of a
     * credential (§6.1.3), so a change means another authenticator. */
    if (((a.flags & MTH_WA_FLAG_BE) != 0) != (cred->backup_eligible != 0))
        return MTH_WA_BACKUP_STATE_INVALID;
    /* Steps 20-21: the signature over authenticatorData || hash. */
    EVP_PKEY *key = stored_key(cred);
    if (key == NULL)
        return MTH_WA_MALFORMED;
    st = mth_wa_signature_verify(key, cred->alg, sig, sig_len, ad, ad_len, client_hash, 32);
    EVP_PKEY_free(key);
    if (st != MTH_WA_OK)
        return st;
    /* Step 22: a counter that did not move forward, from a key that signed
     * correctly, is the mark of a cloned authenticator (§6.1.1). Both zero
     * means the authenticator keeps no counter. */
    out->sign_count = a.sign_count;
    out->flags = a.flags;
    if ((a.sign_count != 0 || cred->sign_count != 0) && a.sign_count <= cred->sign_count)
        return MTH_WA_COUNTER_ROLLBACK;
    return MTH_WA_OK;
}

mth_wa_status_t mth_wa_verify_assertion(const mth_wa_expect_t *e, const mth_wa_stored_t *cred,
                                        const uint8_t *authenticator_data, size_t ad_len,
                                        const uint8_t *signature, size_t sig_len, mth_wa_assertion_t *out)
{
    memset(out, 0, sizeof(*out));
    mth_wa_status_t st = verify(e, cred, authenticator_data, ad_len, signature, sig_len, out);
    ERR_clear_error(); /* see mth_wa_verify_registration */
    return st;
}
