/* Attestation statements: "none" (WebAuthn §8.7) and "packed" (§8.2).
 *
 * We accept attestation for what it says about the ceremony, not about the
 * authenticator's maker: an x5c leaf is checked against §8.2.1 and must have
 * made the signature, but it is not chained to any root (we keep no metadata
 * service); self attestation is signed by the credential key itself. */
#include "methods/internal.h"

#include <limits.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_X5C 8
/* id-fido-gen-ce-aaguid (§8.2.1) */
#define OID_FIDO_AAGUID "1.3.6.1.4.1.45724.1.1.4"

/* The name entry `nid` of `name` equals `want` (or, with want NULL, is
 * present and not empty). */
static int name_has(const X509_NAME *name, int nid, const char *want)
{
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0)
        return 0;
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    int n = s ? ASN1_STRING_length(s) : 0;
    if (want == NULL)
        return n > 0;
    return (size_t)n == strlen(want) && memcmp(ASN1_STRING_get0_data(s), want, (size_t)n) == 0;
}

/* §8.2.1 on the attestation certificate: version 3; subject with C, O,
 * OU "Authenticator Attestation" and CN; not a CA; and, when it names an
 * AAGUID, the authenticator data's (the extension must not be critical). */
static int cert_requirements(X509 *cert, const uint8_t aaguid[16])
{
    const X509_NAME *subj = X509_get_subject_name(cert);
    uint32_t xflags = X509_get_extension_flags(cert);
    if (X509_get_version(cert) != 2 || subj == NULL || (xflags & (EXFLAG_CA | EXFLAG_INVALID)) ||
        !name_has(subj, NID_countryName, NULL) || !name_has(subj, NID_organizationName, NULL) ||
        !name_has(subj, NID_organizationalUnitName, "Authenticator Attestation") ||
        !name_has(subj, NID_commonName, NULL))
        return 0;
    ASN1_OBJECT *oid = OBJ_txt2obj(OID_FIDO_AAGUID, 1);
    int idx = oid ? X509_get_ext_by_OBJ(cert, oid, -1) : -2;
    ASN1_OBJECT_free(oid);
    if (idx == -2)
        return 0;
    if (idx >= 0) {
        X509_EXTENSION *ext = X509_get_ext(cert, idx);
        const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
        /* The extension value is itself a DER OCTET STRING of 16 bytes. */
        const uint8_t *d = v ? ASN1_STRING_get0_data(v) : NULL;
        if (X509_EXTENSION_get_critical(ext) || d == NULL || ASN1_STRING_length(v) != 18 || d[0] != 0x04 ||
            d[1] != 16 || memcmp(d + 2, aaguid, 16) != 0)
            return 0;
    }
    return 1;
}

static mth_wa_status_t packed_x5c(const cbor_item_t *x5c, int alg, const uint8_t *sig, size_t sig_len,
                                  const uint8_t *auth_data, size_t ad_len, const uint8_t client_hash[32],
                                  const uint8_t aaguid[16])
{
    if (!cbor_isa_array(x5c) || cbor_array_size(x5c) == 0 || cbor_array_size(x5c) > MAX_X5C)
        return MTH_WA_MALFORMED;
    cbor_item_t **certs = cbor_array_handle(x5c);
    const uint8_t *der;
    size_t der_len;
    for (size_t i = 0; i < cbor_array_size(x5c); i++)
        if (mth_cbor_bytes(certs[i], &der, &der_len) != 0 || der_len == 0 || der_len > LONG_MAX)
            return MTH_WA_MALFORMED;
    mth_cbor_bytes(certs[0], &der, &der_len);
    const uint8_t *p = der;
    X509 *leaf = d2i_X509(NULL, &p, (long)der_len);
    if (leaf == NULL || p != der + der_len) {
        X509_free(leaf);
        return MTH_WA_MALFORMED;
    }
    mth_wa_status_t st;
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    if (!cert_requirements(leaf, aaguid))
        st = MTH_WA_UNSUPPORTED_ATTESTATION;
    else
        st = mth_wa_signature_verify(key, alg, sig, sig_len, auth_data, ad_len, client_hash, 32);
    X509_free(leaf);
    return st;
}

static mth_wa_status_t packed(const cbor_item_t *stmt, const uint8_t *auth_data, size_t ad_len,
                              const uint8_t client_hash[32], EVP_PKEY *cred_key, int cred_alg,
                              const uint8_t aaguid[16])
{
    cbor_item_t *alg_item, *sig_item, *x5c, *ecdaa;
    int64_t alg;
    const uint8_t *sig;
    size_t sig_len;
    if (!cbor_isa_map(stmt) || mth_cbor_map_str(stmt, "alg", &alg_item) != 0 ||
        mth_cbor_map_str(stmt, "sig", &sig_item) != 0 || mth_cbor_map_str(stmt, "x5c", &x5c) != 0 ||
        mth_cbor_map_str(stmt, "ecdaaKeyId", &ecdaa) != 0 || mth_cbor_int(alg_item, &alg) != 0 ||
        mth_cbor_bytes(sig_item, &sig, &sig_len) != 0)
        return MTH_WA_MALFORMED;
    if (ecdaa != NULL) /* ECDAA left the specification in Level 3 */
        return MTH_WA_UNSUPPORTED_ATTESTATION;
    if (alg != MTH_COSE_ES256 && alg != MTH_COSE_RS256 && alg != MTH_COSE_EDDSA)
        return MTH_WA_UNSUPPORTED_ALG;
    if (x5c != NULL)
        return packed_x5c(x5c, (int)alg, sig, sig_len, auth_data, ad_len, client_hash, aaguid);
    /* Self attestation: the algorithm must be the credential's own. */
    if (alg != cred_alg)
        return MTH_WA_BAD_SIGNATURE;
    return mth_wa_signature_verify(cred_key, cred_alg, sig, sig_len, auth_data, ad_len, client_hash, 32);
}

mth_wa_status_t mth_wa_attestation_verify(const char *fmt, size_t fmt_len, const cbor_item_t *att_stmt,
                                          const uint8_t *auth_data, size_t ad_len,
                                          const uint8_t client_hash[32], EVP_PKEY *cred_key, int cred_alg,
                                          const uint8_t aaguid[16])
{
    /* §7.1 step 21: formats are matched case-sensitively. */
    if (fmt_len == 4 && memcmp(fmt, "none", 4) == 0)
        return cbor_isa_map(att_stmt) && cbor_map_size(att_stmt) == 0 ? MTH_WA_OK : MTH_WA_MALFORMED;
    if (fmt_len == 6 && memcmp(fmt, "packed", 6) == 0)
        return packed(att_stmt, auth_data, ad_len, client_hash, cred_key, cred_alg, aaguid);
    return MTH_WA_UNSUPPORTED_ATTESTATION;
}
