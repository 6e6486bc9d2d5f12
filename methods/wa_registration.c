/* The registration ceremony's checks (WebAuthn §7.1). */
#include "methods/internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"

void mth_wa_credential_free(mth_wa_credential_t *c)
{
    if (c == NULL)
        return;
    free(c->public_key_der);
    c->public_key_der = NULL;
    c->public_key_der_len = 0;
}

/* SubjectPublicKeyInfo DER of `key`, malloc'd. */
static int spki_der(EVP_PKEY *key, uint8_t **out, size_t *len)
{
    int n = i2d_PUBKEY(key, NULL);
    if (n <= 0)
        return -1;
    uint8_t *buf = gw_malloc((size_t)n), *p = buf;
    if (i2d_PUBKEY(key, &p) != n) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = (size_t)n;
    return 0;
}

static mth_wa_status_t verify(const mth_wa_expect_t *e, const uint8_t *obj, size_t len,
                              mth_wa_credential_t *out)
{
    uint8_t client_hash[32], rp_hash[32];
    if (e == NULL || e->rp_id == NULL || obj == NULL || len == 0 || len > MTH_WA_ATTESTATION_OBJECT_MAX)
        return MTH_WA_MALFORMED;
    /* Steps 5-11: the client data. */
    mth_wa_status_t st = mth_wa_client_data_check(e, "webauthn.create", client_hash);
    if (st != MTH_WA_OK)
        return st;

    /* Step 12: the attestation object, a map of fmt, attStmt and authData. */
    cbor_item_t *top = mth_cbor_load(obj, len, NULL), *fmt, *stmt, *ad_item;
    EVP_PKEY *key = NULL;
    const uint8_t *ad;
    size_t ad_len;
    mth_wa_authdata_t a;
    int alg = 0;
    if (top == NULL || !cbor_isa_map(top) || mth_cbor_map_str(top, "fmt", &fmt) != 0 ||
        mth_cbor_map_str(top, "attStmt", &stmt) != 0 || mth_cbor_map_str(top, "authData", &ad_item) != 0 ||
        fmt == NULL || stmt == NULL || !cbor_isa_string(fmt) || !cbor_string_is_definite(fmt) ||
        !cbor_isa_map(stmt) || mth_cbor_bytes(ad_item, &ad, &ad_len) != 0) {
        st = MTH_WA_MALFORMED;
        goto out;
    }
    if ((st = mth_wa_authdata_parse(ad, ad_len, 1, &a)) != MTH_WA_OK)
        goto out;
    /* Step 13: the credential is scoped to our RP ID. */
    gw_sha256(e->rp_id, strlen(e->rp_id), rp_hash);
    if (CRYPTO_memcmp(rp_hash, a.rp_id_hash, 32) != 0) {
        st = MTH_WA_WRONG_RP_ID;
        goto out;
    }
    /* Steps 14-16: UP, UV (we always ask for it), BS only with BE. */
    if ((st = mth_wa_flags_check(a.flags)) != MTH_WA_OK)
        goto out;
    /* Step 19: an algorithm we offered (all three, always). */
    if ((st = mth_wa_cose_key_parse(a.cose_key, a.cose_key_len, &alg, &key)) != MTH_WA_OK)
        goto out;
    /* Steps 21-22: the statement. */
    st = mth_wa_attestation_verify((const char *)cbor_string_handle(fmt), cbor_string_length(fmt), stmt, ad,
                                   ad_len, client_hash, key, alg, a.aaguid);
    if (st != MTH_WA_OK)
        goto out;

    memcpy(out->id, a.cred_id, a.cred_id_len);
    out->id_len = a.cred_id_len;
    out->alg = alg;
    memcpy(out->aaguid, a.aaguid, 16);
    out->sign_count = a.sign_count;
    out->flags = a.flags;
    /* Only "none" and "packed" get here, and both fit. */
    memcpy(out->fmt, cbor_string_handle(fmt), cbor_string_length(fmt));
    out->fmt[cbor_string_length(fmt)] = '\0';
    if (spki_der(key, &out->public_key_der, &out->public_key_der_len) != 0)
        st = MTH_WA_MALFORMED;
out:
    EVP_PKEY_free(key);
    if (top != NULL)
        cbor_decref(&top);
    return st;
}

mth_wa_status_t mth_wa_verify_registration(const mth_wa_expect_t *e, const uint8_t *attestation_object,
                                           size_t len, mth_wa_credential_t *out)
{
    memset(out, 0, sizeof(*out));
    mth_wa_status_t st = verify(e, attestation_object, len, out);
    if (st != MTH_WA_OK)
        mth_wa_credential_free(out);
    /* Refused keys and signatures leave reasons on this thread's OpenSSL
     * error queue, where a later TLS call on the same thread would find
     * them. */
    ERR_clear_error();
    return st;
}
