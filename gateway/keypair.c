/* Signing key pairs: generation, PKCS#8 DER, SPKI PEM, JWK in and out, and
 * RFC 7638 thumbprints. */
#include "gateway/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yajl/yajl_tree.h>

#include "gateway/alloc.h"
#include "gateway/json.h"

#define EC_COORD_LEN 32
/* A JWK object has a handful of members; refuse anything far larger before the
 * quadratic duplicate check. */
#define JWK_MAX_MEMBERS 64
/* RFC 7518 §6.3.1.2: e is small in practice (65537); a huge exponent only
 * makes verification slow. */
#define RSA_MAX_E_BYTES 4

static int is_p256(const EVP_PKEY *key)
{
    char group[32];
    size_t glen = 0;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        return 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) != 1)
        return 0;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

const char *gw_key_jws_alg(const EVP_PKEY *key)
{
    if (key == NULL)
        return NULL;
    if (is_p256(key))
        return "ES256";
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        int bits = EVP_PKEY_get_bits(key);
        if (bits >= GW_RSA_MIN_BITS && bits <= GW_RSA_MAX_BITS)
            return "RS256";
    }
    return NULL;
}

int gw_key_generate_ec_p256(EVP_PKEY **out, gw_err_t *err)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (key == NULL)
        return gw_openssl_fail(err, "cannot generate key", "EVP_PKEY_Q_keygen(EC)");
    *out = key;
    return 0;
}

int gw_key_generate_rsa(unsigned bits, EVP_PKEY **out, gw_err_t *err)
{
    if (bits < GW_RSA_MIN_BITS || bits > GW_RSA_MAX_BITS || bits % 8 != 0)
        return GW_ERRF(err, GW_E_INTERNAL, "RSA size %u out of range", bits);
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (key == NULL)
        return gw_openssl_fail(err, "cannot generate key", "EVP_PKEY_Q_keygen(RSA)");
    *out = key;
    return 0;
}

int gw_key_private_der(EVP_PKEY *key, uint8_t **der, size_t *len, gw_err_t *err)
{
    if (gw_key_jws_alg(key) == NULL)
        return GW_ERR(err, GW_E_INTERNAL, "unsupported key type");
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
    if (p8 == NULL)
        return gw_openssl_fail(err, "cannot export private key", "EVP_PKEY2PKCS8");
    int n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL);
    if (n <= 0) {
        PKCS8_PRIV_KEY_INFO_free(p8);
        return gw_openssl_fail(err, "cannot export private key", "i2d_PKCS8_PRIV_KEY_INFO");
    }
    uint8_t *buf = gw_malloc((size_t)n), *p = buf;
    if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != n) {
        PKCS8_PRIV_KEY_INFO_free(p8);
        gw_wipe(buf, (size_t)n);
        free(buf);
        return gw_openssl_fail(err, "cannot export private key", "i2d_PKCS8_PRIV_KEY_INFO");
    }
    PKCS8_PRIV_KEY_INFO_free(p8); /* its ASN.1 free callback cleanses the key */
    *der = buf;
    *len = (size_t)n;
    return 0;
}

int gw_key_from_private_der(const uint8_t *der, size_t len, EVP_PKEY **out, gw_err_t *err)
{
    if (len == 0 || len > 65536)
        return GW_ERR(err, GW_E_INTERNAL, "invalid private key");
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    if (p8 == NULL)
        return gw_openssl_fail(err, "invalid private key", "d2i_PKCS8_PRIV_KEY_INFO");
    size_t used = (size_t)(p - der);
    EVP_PKEY *key = EVP_PKCS82PKEY(p8);
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (key == NULL)
        return gw_openssl_fail(err, "invalid private key", "EVP_PKCS82PKEY");
    if (used != len) {
        EVP_PKEY_free(key);
        return GW_ERR(err, GW_E_INTERNAL, "invalid private key: trailing bytes");
    }
    if (gw_key_jws_alg(key) == NULL) {
        EVP_PKEY_free(key);
        return GW_ERR(err, GW_E_INTERNAL, "unsupported key type");
    }
    /* A key whose halves disagree would sign tokens nobody can verify. */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx != NULL && EVP_PKEY_pairwise_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(key);
        return gw_openssl_fail(err, "invalid private key", "EVP_PKEY_pairwise_check");
    }
    *out = key;
    return 0;
}

int gw_key_public_pem(EVP_PKEY *key, char **pem, size_t *len, gw_err_t *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return gw_openssl_fail(err, "cannot export public key", "BIO_new");
    if (PEM_write_bio_PUBKEY(bio, key) != 1) {
        BIO_free(bio);
        return gw_openssl_fail(err, "cannot export public key", "PEM_write_bio_PUBKEY");
    }
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    if (n <= 0 || data == NULL) {
        BIO_free(bio);
        return gw_openssl_fail(err, "cannot export public key", "BIO_get_mem_data");
    }
    *pem = gw_strndup(data, (size_t)n);
    if (len != NULL)
        *len = (size_t)n;
    BIO_free(bio);
    return 0;
}

/* base64url of a BIGNUM, fixed width when width > 0, minimal otherwise. */
static char *bn_b64url(const BIGNUM *bn, int width)
{
    int n = width > 0 ? width : BN_num_bytes(bn);
    if (n == 0)
        n = 1; /* zero is one 0x00 octet (RFC 7518 §2 Base64urlUInt) */
    uint8_t *bytes = gw_malloc((size_t)n);
    if (width > 0)
        BN_bn2binpad(bn, bytes, n);
    else if (BN_bn2bin(bn, bytes) == 0)
        bytes[0] = 0;
    char *s = gw_malloc(GW_B64URL_LEN((size_t)n) + 1);
    gw_b64url_encode(bytes, (size_t)n, s);
    free(bytes);
    return s;
}

/* The required members of key in RFC 7638 §3.2 form: lexicographic order,
 * no whitespace. Both the thumbprint and the published JWK start from this. */
static int jwk_required(EVP_PKEY *key, char **out, gw_err_t *err)
{
    const char *alg = gw_key_jws_alg(key);
    BIGNUM *a = NULL, *b = NULL;
    if (alg == NULL)
        return GW_ERR(err, GW_E_INTERNAL, "unsupported key type");
    if (alg[0] == 'E') {
        if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &a) != 1 ||
            EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &b) != 1) {
            BN_free(a);
            return gw_openssl_fail(err, "cannot export public key", "EVP_PKEY_get_bn_param(EC)");
        }
        char *x = bn_b64url(a, EC_COORD_LEN), *y = bn_b64url(b, EC_COORD_LEN);
        size_t cap = strlen(x) + strlen(y) + 64;
        *out = gw_malloc(cap);
        snprintf(*out, cap, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
        free(x);
        free(y);
    } else {
        if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &a) != 1 ||
            EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &b) != 1) {
            BN_free(a);
            return gw_openssl_fail(err, "cannot export public key", "EVP_PKEY_get_bn_param(RSA)");
        }
        char *n = bn_b64url(a, 0), *e = bn_b64url(b, 0);
        size_t cap = strlen(n) + strlen(e) + 64;
        *out = gw_malloc(cap);
        snprintf(*out, cap, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e, n);
        free(n);
        free(e);
    }
    BN_free(a);
    BN_free(b);
    return 0;
}

int gw_key_thumbprint(EVP_PKEY *key, char out[GW_THUMBPRINT_LEN + 1], gw_err_t *err)
{
    char *json;
    uint8_t digest[GW_SHA256_LEN];
    if (jwk_required(key, &json, err) != 0)
        return -1;
    gw_sha256(json, strlen(json), digest);
    free(json);
    gw_b64url_encode(digest, sizeof(digest), out);
    return 0;
}

/* Append ,"name":"value" with value JSON-escaped; -1 on a control character. */
static int append_member(char *buf, size_t *pos, const char *name, const char *value)
{
    size_t p = *pos;
    p += (size_t)sprintf(buf + p, ",\"%s\":\"", name);
    for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
        if (*c < 0x20 || *c == 0x7f)
            return -1;
        if (*c == '"' || *c == '\\')
            buf[p++] = '\\';
        buf[p++] = (char)*c;
    }
    buf[p++] = '"';
    buf[p] = '\0';
    *pos = p;
    return 0;
}

int gw_key_public_jwk(EVP_PKEY *key, const char *kid, const char *alg, const char *use, char **json,
                      gw_err_t *err)
{
    char *base;
    if (jwk_required(key, &base, err) != 0)
        return -1;
    const char *names[3] = {"kid", "alg", "use"};
    const char *values[3] = {kid, alg, use};
    size_t pos = strlen(base) - 1; /* overwrite the closing brace */
    size_t cap = pos + 2;
    for (int i = 0; i < 3; i++)
        if (values[i] != NULL)
            cap += strlen(names[i]) + 2 * strlen(values[i]) + 8;
    char *buf = gw_malloc(cap);
    memcpy(buf, base, pos);
    free(base);
    for (int i = 0; i < 3; i++) {
        if (values[i] != NULL && append_member(buf, &pos, names[i], values[i]) != 0) {
            free(buf);
            return GW_ERRF(err, GW_E_INTERNAL, "control character in JWK %s", names[i]);
        }
    }
    buf[pos++] = '}';
    buf[pos] = '\0';
    *json = buf;
    return 0;
}

/* ---- parsing a public JWK ---- */

static yajl_val member(const struct yajl_val_s *obj, const char *name)
{
    for (size_t i = 0; i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], name) == 0)
            return obj->u.object.values[i];
    return NULL;
}

/* A string member, or NULL when absent or not a string. */
static const char *string_member(const struct yajl_val_s *obj, const char *name)
{
    yajl_val v = member(obj, name);
    return v != NULL && YAJL_IS_STRING(v) ? v->u.string : NULL;
}

static int bad_jwk(gw_err_t *err, const char *why)
{
    return GW_ERRF(err, GW_E_INVALID_REQUEST, "invalid JWK: %s", why);
}

/* Decode a base64url member into out (room for max bytes); -1 if absent, not
 * a string, not strict base64url or longer than max. */
static int b64_member(const struct yajl_val_s *obj, const char *name, uint8_t *out, size_t max, size_t *len)
{
    const char *s = string_member(obj, name);
    if (s == NULL)
        return -1;
    size_t slen = strlen(s);
    if (slen == 0 || slen > GW_B64URL_LEN(max))
        return -1;
    uint8_t tmp[GW_B64_DECODED_MAX(GW_B64URL_LEN(GW_RSA_MAX_BITS / 8 + 1))];
    if (GW_B64_DECODED_MAX(slen) > sizeof(tmp) || gw_b64url_decode(s, slen, tmp, len) != 0 || *len > max)
        return -1;
    memcpy(out, tmp, *len);
    return 0;
}

static int pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out, gw_err_t *err)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *key = NULL;
    int rc = -1;
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        ERR_clear_error();
        bad_jwk(err, "key rejected");
        goto done;
    }
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = check != NULL && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) {
        ERR_clear_error();
        EVP_PKEY_free(key);
        bad_jwk(err, "public key check failed");
        goto done;
    }
    *out = key;
    rc = 0;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rc;
}

static int ec_from_jwk(const struct yajl_val_s *obj, EVP_PKEY **out, gw_err_t *err)
{
    const char *crv = string_member(obj, "crv");
    if (crv == NULL)
        return bad_jwk(err, "missing crv");
    if (strcmp(crv, "P-256") != 0)
        return bad_jwk(err, "unsupported crv");
    /* SEC 1 §2.3.3 uncompressed point: 0x04 || X || Y, each exactly 32 bytes
     * (RFC 7518 §6.2.1.2 requires the full width). */
    uint8_t point[1 + 2 * EC_COORD_LEN];
    size_t xl = 0, yl = 0;
    point[0] = 0x04;
    if (b64_member(obj, "x", point + 1, EC_COORD_LEN, &xl) != 0 || xl != EC_COORD_LEN)
        return bad_jwk(err, "x must be 32 bytes of base64url");
    if (b64_member(obj, "y", point + 1 + EC_COORD_LEN, EC_COORD_LEN, &yl) != 0 || yl != EC_COORD_LEN)
        return bad_jwk(err, "y must be 32 bytes of base64url");

    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) != 1) {
        OSSL_PARAM_BLD_free(bld);
        return gw_openssl_fail(err, "cannot load key", "OSSL_PARAM_BLD");
    }
    int rc = pkey_fromdata("EC", bld, out, err);
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

static int rsa_from_jwk(const struct yajl_val_s *obj, EVP_PKEY **out, gw_err_t *err)
{
    uint8_t nb[GW_RSA_MAX_BITS / 8 + 1], eb[RSA_MAX_E_BYTES];
    size_t nl = 0, el = 0;
    if (b64_member(obj, "n", nb, sizeof(nb), &nl) != 0)
        return bad_jwk(err, "n missing, not base64url or too long");
    if (b64_member(obj, "e", eb, sizeof(eb), &el) != 0)
        return bad_jwk(err, "e missing, not base64url or too long");

    BIGNUM *n = BN_bin2bn(nb, (int)nl, NULL), *e = BN_bin2bn(eb, (int)el, NULL);
    OSSL_PARAM_BLD *bld = NULL;
    int rc = -1;
    if (n == NULL || e == NULL) {
        gw_openssl_fail(err, "cannot load key", "BN_bin2bn");
        goto done;
    }
    int bits = BN_num_bits(n);
    if (bits < GW_RSA_MIN_BITS || bits > GW_RSA_MAX_BITS) {
        bad_jwk(err, "RSA modulus size out of range");
        goto done;
    }
    if (!BN_is_odd(e) || BN_is_one(e)) {
        bad_jwk(err, "RSA exponent must be odd and greater than 1");
        goto done;
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
        gw_openssl_fail(err, "cannot load key", "OSSL_PARAM_BLD");
        goto done;
    }
    rc = pkey_fromdata("RSA", bld, out, err);
done:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}

int gw_key_from_jwk_value(const struct yajl_val_s *obj, EVP_PKEY **out, gw_err_t *err)
{
    /* Members that would make this a private or symmetric key (RFC 7518 §6.2.2,
     * §6.3.2, §6.4): a public JWK carrying them is a leaked secret or a mistake. */
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    if (obj == NULL || !YAJL_IS_OBJECT(obj))
        return bad_jwk(err, "not a JSON object");
    size_t count = obj->u.object.len;
    if (count > JWK_MAX_MEMBERS)
        return bad_jwk(err, "too many members");
    /* RFC 7517 §4: member names must be unique; parsers disagree on which
     * duplicate wins, so refuse them. */
    for (size_t i = 0; i < count; i++)
        for (size_t j = i + 1; j < count; j++)
            if (strcmp(obj->u.object.keys[i], obj->u.object.keys[j]) == 0)
                return bad_jwk(err, "duplicate member");
    for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
        if (member(obj, private_members[i]) != NULL)
            return bad_jwk(err, "private key material in a public JWK");
    yajl_val use = member(obj, "use");
    if (use != NULL && (!YAJL_IS_STRING(use) || strcmp(use->u.string, "sig") != 0))
        return bad_jwk(err, "use is not sig");
    const char *kty = string_member(obj, "kty");
    if (kty == NULL)
        return bad_jwk(err, "missing kty");
    if (strcmp(kty, "EC") == 0)
        return ec_from_jwk(obj, out, err);
    if (strcmp(kty, "RSA") == 0)
        return rsa_from_jwk(obj, out, err);
    return bad_jwk(err, "unsupported kty");
}

int gw_key_from_jwk(const char *json, size_t n, EVP_PKEY **out, gw_err_t *err)
{
    if (n == 0 || n > GW_JWS_MAX_LEN)
        return bad_jwk(err, "empty or too long");
    /* Strict JSON: no comments, no duplicate member (RFC 7517 §4: member
     * names within a JWK MUST be unique). */
    const gw_json_limits_t limits = {.max_bytes = GW_JWS_MAX_LEN};
    gw_err_t jerr;
    yajl_val tree = gw_json_parse(json, n, &limits, &jerr);
    if (tree == NULL)
        return bad_jwk(err, "not valid JSON, or a comment or duplicate member in it");
    int rc = gw_key_from_jwk_value(tree, out, err);
    yajl_tree_free(tree);
    return rc;
}
