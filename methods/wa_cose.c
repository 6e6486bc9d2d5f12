/* Credential public keys: COSE_Key (RFC 9052 §7) to OpenSSL 3 EVP_PKEY,
 * built from parameters (EVP_PKEY_fromdata), never through the deprecated
 * low-level key structures. */
#include "methods/internal.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

/* COSE key labels (RFC 9052 §7.1, RFC 9053 §7, RFC 8230 §4). */
enum {
    COSE_KTY = 1,
    COSE_ALG = 3,
    COSE_CRV = -1, /* EC2, OKP */
    COSE_X = -2,
    COSE_Y = -3,
    COSE_D = -4, /* EC2, OKP private key */
    COSE_RSA_N = -1,
    COSE_RSA_E = -2,
    COSE_RSA_D = -3, /* -3 .. -12: RSA private parts */
    COSE_RSA_LAST_PRIVATE = -12,
};
enum { KTY_OKP = 1, KTY_EC2 = 2, KTY_RSA = 3 };
enum { CRV_P256 = 1, CRV_ED25519 = 6 };

/* The byte string under `label`: 0 with *data, *len; -1 when absent, not a
 * byte string or repeated. */
static int get_bytes(const cbor_item_t *map, int64_t label, const uint8_t **data, size_t *len)
{
    cbor_item_t *v;
    if (mth_cbor_map_int(map, label, &v) != 0 || v == NULL)
        return -1;
    return mth_cbor_bytes(v, data, len);
}

static int get_int(const cbor_item_t *map, int64_t label, int64_t *out)
{
    cbor_item_t *v;
    if (mth_cbor_map_int(map, label, &v) != 0 || v == NULL)
        return -1;
    return mth_cbor_int(v, out);
}

static int has_label(const cbor_item_t *map, int64_t label)
{
    cbor_item_t *v;
    return mth_cbor_map_int(map, label, &v) != 0 || v != NULL;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM *params)
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* RFC 9053 §7.1.1: uncompressed x and y of exactly 32 bytes each, on P-256. */
static EVP_PKEY *ec2_key(const cbor_item_t *map)
{
    const uint8_t *x, *y;
    size_t xl, yl;
    int64_t crv;
    if (get_int(map, COSE_CRV, &crv) != 0 || crv != CRV_P256 || get_bytes(map, COSE_X, &x, &xl) != 0 ||
        get_bytes(map, COSE_Y, &y, &yl) != 0 || xl != 32 || yl != 32 || has_label(map, COSE_D))
        return NULL;
    uint8_t point[65];
    point[0] = 0x04; /* SEC 1 §2.3.3 uncompressed */
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    char group[] = "P-256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *key = from_params("EC", params);
    if (key == NULL)
        return NULL;
    /* A point off the curve would make later verification meaningless. */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

/* RFC 9053 §7.2: OKP with crv Ed25519 and a 32-byte x. */
static EVP_PKEY *okp_key(const cbor_item_t *map)
{
    const uint8_t *x;
    size_t xl;
    int64_t crv;
    if (get_int(map, COSE_CRV, &crv) != 0 || crv != CRV_ED25519 || get_bytes(map, COSE_X, &x, &xl) != 0 ||
        xl != 32 || has_label(map, COSE_D))
        return NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)x, xl),
        OSSL_PARAM_construct_end(),
    };
    return from_params("ED25519", params);
}

/* RFC 8230 §4: n and e as unsigned big-endian byte strings, no private
 * parts. Size and exponent are checked by mth_wa_key_fits_alg. */
static EVP_PKEY *rsa_key(const cbor_item_t *map)
{
    const uint8_t *n, *e;
    size_t nl, el;
    if (get_bytes(map, COSE_RSA_N, &n, &nl) != 0 || get_bytes(map, COSE_RSA_E, &e, &el) != 0 || nl == 0 ||
        nl > 1025 || el == 0 || el > 8)
        return NULL;
    for (int64_t l = COSE_RSA_D; l >= COSE_RSA_LAST_PRIVATE; l--)
        if (has_label(map, l))
            return NULL;
    EVP_PKEY *key = NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)nl, NULL), *bn_e = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    if (bn_n != NULL && bn_e != NULL && bld != NULL && BN_is_odd(bn_e) && !BN_is_one(bn_e) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1 &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
        key = from_params("RSA", params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return key;
}

mth_wa_status_t mth_wa_cose_key_parse(const uint8_t *buf, size_t len, int *alg, EVP_PKEY **key)
{
    *key = NULL;
    cbor_item_t *map = mth_cbor_load(buf, len, NULL);
    if (map == NULL)
        return MTH_WA_MALFORMED;
    mth_wa_status_t st = MTH_WA_MALFORMED;
    int64_t kty, a;
    if (!cbor_isa_map(map) || get_int(map, COSE_KTY, &kty) != 0 || get_int(map, COSE_ALG, &a) != 0)
        goto out;
    if (a != MTH_COSE_ES256 && a != MTH_COSE_EDDSA && a != MTH_COSE_RS256) {
        st = MTH_WA_UNSUPPORTED_ALG;
        goto out;
    }
    /* kty must be the one alg implies (RFC 9052 §7.1 "alg ... restricts"). */
    if (a == MTH_COSE_ES256 && kty == KTY_EC2)
        *key = ec2_key(map);
    else if (a == MTH_COSE_EDDSA && kty == KTY_OKP)
        *key = okp_key(map);
    else if (a == MTH_COSE_RS256 && kty == KTY_RSA)
        *key = rsa_key(map);
    if (*key == NULL)
        goto out;
    if (!mth_wa_key_fits_alg(*key, (int)a)) {
        EVP_PKEY_free(*key);
        *key = NULL;
        goto out;
    }
    *alg = (int)a;
    st = MTH_WA_OK;
out:
    cbor_decref(&map);
    return st;
}

int mth_wa_key_fits_alg(EVP_PKEY *key, int alg)
{
    if (key == NULL)
        return 0;
    switch (alg) {
    case MTH_COSE_ES256: {
        char group[32];
        size_t glen = 0;
        return EVP_PKEY_is_a(key, "EC") &&
               EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) ==
                   1 &&
               strcmp(group, "prime256v1") == 0;
    }
    case MTH_COSE_RS256: {
        if (!EVP_PKEY_is_a(key, "RSA"))
            return 0;
        int bits = EVP_PKEY_get_bits(key);
        BIGNUM *e = NULL;
        int ok = bits >= 2048 && bits <= 8192 && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
                 BN_is_odd(e) && !BN_is_one(e);
        BN_free(e);
        return ok;
    }
    case MTH_COSE_EDDSA:
        return EVP_PKEY_is_a(key, "ED25519");
    default:
        return 0;
    }
}
