/* Key pairs, JWK, thumbprints (gateway/keypair.c) and AEAD boxes
 * (gateway/aead.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"

/* RFC 7638 §3.1: the RSA key of RFC 7517 appendix A.1 and its thumbprint. */
#define RFC7638_N                                                                                            \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"                \
    "BJECPebWKRXjBZCiFV4"                                                                                    \
    "n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"                                  \
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d"                                                                   \
    "0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_"              \
    "xBniIqbw0Ls1jF44"                                                                                       \
    "-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_JWK                                                                                          \
    "{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}"
#define RFC7638_THUMBPRINT "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/* The P-256 key of RFC 7515 appendix A.3. Its thumbprint was computed apart
 * from our code:
 *   python3 -c 'import hashlib,base64; print(base64.urlsafe_b64encode(hashlib.sha256(
 *     b"{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
 *     b"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}").digest()).rstrip(b"="))' */
#define A3_X          "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y          "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_JWK        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}"
#define A3_THUMBPRINT "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"

static EVP_PKEY *load_jwk(const char *json)
{
    EVP_PKEY *key = NULL;
    gw_err_t err;
    if (gw_key_from_jwk(json, strlen(json), &key, &err) != 0)
        return NULL;
    return key;
}

static void test_thumbprint_rfc7638(void **state)
{
    (void)state;
    EVP_PKEY *key = load_jwk(RFC7638_JWK);
    assert_non_null(key);
    assert_string_equal(gw_key_jws_alg(key), "RS256");
    char tp[GW_THUMBPRINT_LEN + 1];
    gw_err_t err;
    assert_int_equal(gw_key_thumbprint(key, tp, &err), 0);
    assert_string_equal(tp, RFC7638_THUMBPRINT);
    EVP_PKEY_free(key);

    /* Broken twin: a different e is a different key. */
    char *twin = gw_strdup(RFC7638_JWK);
    memcpy(strstr(twin, "AQAB"), "AwAB", 4);
    key = load_jwk(twin);
    free(twin);
    assert_non_null(key);
    assert_int_equal(gw_key_thumbprint(key, tp, &err), 0);
    assert_string_not_equal(tp, RFC7638_THUMBPRINT);
    EVP_PKEY_free(key);
}

static void test_thumbprint_ec(void **state)
{
    (void)state;
    EVP_PKEY *key = load_jwk(A3_JWK);
    assert_non_null(key);
    assert_string_equal(gw_key_jws_alg(key), "ES256");
    char tp[GW_THUMBPRINT_LEN + 1];
    gw_err_t err;
    assert_int_equal(gw_key_thumbprint(key, tp, &err), 0);
    assert_string_equal(tp, A3_THUMBPRINT);

    /* The JWK we publish carries the required members unchanged. */
    char *json = NULL;
    assert_int_equal(gw_key_public_jwk(key, tp, "ES256", "sig", &json, &err), 0);
    assert_string_equal(json, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y
                              "\",\"kid\":\"" A3_THUMBPRINT "\",\"alg\":\"ES256\",\"use\":\"sig\"}");
    free(json);
    EVP_PKEY_free(key);
}

static void test_generate_roundtrip(void **state)
{
    (void)state;
    gw_err_t err;
    EVP_PKEY *keys[2] = {NULL, NULL};
    assert_int_equal(gw_key_generate_ec_p256(&keys[0], &err), 0);
    assert_int_equal(gw_key_generate_rsa(2048, &keys[1], &err), 0);
    assert_string_equal(gw_key_jws_alg(keys[0]), "ES256");
    assert_string_equal(gw_key_jws_alg(keys[1]), "RS256");

    for (int i = 0; i < 2; i++) {
        /* PKCS#8 out and back in gives the same key. */
        uint8_t *der = NULL;
        size_t der_len = 0;
        assert_int_equal(gw_key_private_der(keys[i], &der, &der_len, &err), 0);
        EVP_PKEY *back = NULL;
        assert_int_equal(gw_key_from_private_der(der, der_len, &back, &err), 0);
        assert_int_equal(EVP_PKEY_eq(keys[i], back), 1);
        EVP_PKEY_free(back);

        /* Broken twins: truncated, trailing garbage, flipped tag byte. */
        assert_int_equal(gw_key_from_private_der(der, der_len - 1, &back, &err), -1);
        uint8_t *longer = gw_malloc(der_len + 1);
        memcpy(longer, der, der_len);
        longer[der_len] = 0;
        assert_int_equal(gw_key_from_private_der(longer, der_len + 1, &back, &err), -1);
        free(longer);
        der[0] ^= 0x01;
        assert_int_equal(gw_key_from_private_der(der, der_len, &back, &err), -1);
        gw_wipe(der, der_len);
        free(der);

        /* SPKI PEM. */
        char *pem = NULL;
        size_t pem_len = 0;
        assert_int_equal(gw_key_public_pem(keys[i], &pem, &pem_len, &err), 0);
        assert_int_equal(strlen(pem), pem_len);
        assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
        free(pem);

        /* JWK out, parse back: the public half of the same key, same thumbprint. */
        char *jwk = NULL;
        assert_int_equal(gw_key_public_jwk(keys[i], NULL, NULL, NULL, &jwk, &err), 0);
        assert_null(strstr(jwk, "\"d\""));
        EVP_PKEY *pub = load_jwk(jwk);
        assert_non_null(pub);
        assert_int_equal(EVP_PKEY_eq(keys[i], pub), 1);
        char t1[GW_THUMBPRINT_LEN + 1], t2[GW_THUMBPRINT_LEN + 1];
        assert_int_equal(gw_key_thumbprint(keys[i], t1, &err), 0);
        assert_int_equal(gw_key_thumbprint(pub, t2, &err), 0);
        assert_string_equal(t1, t2);
        assert_int_equal(strlen(t1), 43);
        /* A public key has no PKCS#8 form. */
        uint8_t *no = NULL;
        size_t no_len = 0;
        assert_int_equal(gw_key_private_der(pub, &no, &no_len, &err), -1);
        EVP_PKEY_free(pub);
        free(jwk);
    }
    EVP_PKEY_free(keys[0]);
    EVP_PKEY_free(keys[1]);

    EVP_PKEY *small = NULL;
    assert_int_equal(gw_key_generate_rsa(1024, &small, &err), -1);
    assert_null(small);
}

static void test_jwk_escaping(void **state)
{
    (void)state;
    EVP_PKEY *key = load_jwk(A3_JWK);
    assert_non_null(key);
    char *json = NULL;
    gw_err_t err;
    assert_int_equal(gw_key_public_jwk(key, "a\"b\\c", NULL, NULL, &json, &err), 0);
    assert_non_null(strstr(json, ",\"kid\":\"a\\\"b\\\\c\"}"));
    /* The escaped text still parses as a JWK. */
    EVP_PKEY *back = load_jwk(json);
    assert_non_null(back);
    EVP_PKEY_free(back);
    free(json);
    json = NULL;
    assert_int_equal(gw_key_public_jwk(key, "a\nb", NULL, NULL, &json, &err), -1);
    assert_null(json);
    EVP_PKEY_free(key);
}

/* Each must be refused, for the reason given: the A.3 and RFC 7638 keys with
 * one thing wrong. */
#define EC_HEAD "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":"
static const struct {
    const char *json, *why;
} BAD_JWK[] = {
    {"", "empty"},
    {"[]", "not a JSON object"},
    {"not json", "not valid JSON"},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\"}", "y must be"},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"y\":\"" A3_Y "\"}", "x must be"},
    {"{\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", "missing kty"},
    {"{\"kty\":\"EC\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", "missing crv"},
    {"{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}", "unsupported crv"},
    {"{\"kty\":\"oct\",\"k\":\"AAAA\"}", "private key"},
    {"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":1,\"y\":\"" A3_Y "\"}", "x must be"},
    {EC_HEAD "\"" A3_Y "=\"}", "y must be"},                                      /* padding */
    {EC_HEAD "\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a\"}", "y must be"},     /* 31 bytes */
    {EC_HEAD "\"y_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}", "key rejected"}, /* off the curve */
    {EC_HEAD "\"" A3_Y "\",\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}", "private key"},
    {EC_HEAD "\"" A3_Y "\",\"use\":\"enc\"}", "use is not sig"},
    {EC_HEAD "\"" A3_Y "\",\"kty\":\"RSA\"}", "duplicate member"},
    {EC_HEAD "\"" A3_Y "\" /* a comment */}", "comment"},
    {"{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\"}", "e missing"},
    {"{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAA\"}", "exponent"}, /* even */
    {"{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQ\"}", "exponent"},   /* 1 */
    {"{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":"
     "\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1"
     "RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
     "65YGjQ"
     "R0_FDW2Qvw\"}",
     "modulus size"}, /* 1024 bits */
};

static void test_jwk_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(BAD_JWK) / sizeof(BAD_JWK[0]); i++) {
        EVP_PKEY *key = NULL;
        gw_err_t err = {0};
        if (gw_key_from_jwk(BAD_JWK[i].json, strlen(BAD_JWK[i].json), &key, &err) != -1)
            fail_msg("JWK %zu accepted: %s", i, BAD_JWK[i].json);
        if (strstr(err.public, BAD_JWK[i].why) == NULL)
            fail_msg("JWK %zu refused with \"%s\", want \"%s\"", i, err.public, BAD_JWK[i].why);
        assert_int_equal(err.kind, GW_E_INVALID_REQUEST);
        assert_null(key);
    }
    /* The untouched heads of these twins load. */
    EVP_PKEY *key = load_jwk(EC_HEAD "\"" A3_Y "\"}");
    assert_non_null(key);
    EVP_PKEY_free(key);
}

static void test_aead(void **state)
{
    (void)state;
    uint8_t key[GW_AEAD_KEY_LEN], other[GW_AEAD_KEY_LEN];
    gw_random_bytes(key, sizeof(key));
    gw_random_bytes(other, sizeof(other));
    static const char secret[] = "client secret: s3cr3t";
    static const char aad[] = "oidc_clients/42/secret";
    gw_err_t err;

    uint8_t *box = NULL, *box2 = NULL, *pt = NULL;
    size_t box_len = 0, box2_len = 0, pt_len = 0;
    assert_int_equal(gw_aead_seal(key, aad, strlen(aad), secret, strlen(secret), &box, &box_len, &err), 0);
    assert_int_equal(box_len, strlen(secret) + GW_AEAD_OVERHEAD);
    assert_int_equal(gw_aead_open(key, aad, strlen(aad), box, box_len, &pt, &pt_len, &err), 0);
    assert_int_equal(pt_len, strlen(secret));
    assert_string_equal((char *)pt, secret);
    gw_wipe(pt, pt_len);
    free(pt);

    /* Random nonce: sealing twice gives two different boxes. */
    assert_int_equal(gw_aead_seal(key, aad, strlen(aad), secret, strlen(secret), &box2, &box2_len, &err), 0);
    assert_int_not_equal(memcmp(box, box2, box_len), 0);
    free(box2);

    /* Broken twins: wrong key, wrong aad, no aad, each byte flipped, short. */
    pt = NULL;
    assert_int_equal(gw_aead_open(other, aad, strlen(aad), box, box_len, &pt, &pt_len, &err), -1);
    assert_string_equal(err.public, "sealed data failed authentication");
    assert_int_equal(
        gw_aead_open(key, "oidc_clients/43/secret", strlen(aad), box, box_len, &pt, &pt_len, &err), -1);
    assert_int_equal(gw_aead_open(key, NULL, 0, box, box_len, &pt, &pt_len, &err), -1);
    for (size_t i = 0; i < box_len; i++) {
        box[i] ^= 0x80;
        assert_int_equal(gw_aead_open(key, aad, strlen(aad), box, box_len, &pt, &pt_len, &err), -1);
        box[i] ^= 0x80;
    }
    for (size_t n = 0; n < GW_AEAD_OVERHEAD; n++)
        assert_int_equal(gw_aead_open(key, aad, strlen(aad), box, n, &pt, &pt_len, &err), -1);
    assert_int_equal(gw_aead_open(key, aad, strlen(aad), box, box_len - 1, &pt, &pt_len, &err), -1);
    assert_null(pt);
    free(box);

    /* Empty plaintext and no aad are allowed. */
    assert_int_equal(gw_aead_seal(key, NULL, 0, "", 0, &box, &box_len, &err), 0);
    assert_int_equal(box_len, GW_AEAD_OVERHEAD);
    assert_int_equal(gw_aead_open(key, NULL, 0, box, box_len, &pt, &pt_len, &err), 0);
    assert_int_equal(pt_len, 0);
    free(pt);
    free(box);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thumbprint_rfc7638), cmocka_unit_test(test_thumbprint_ec),
        cmocka_unit_test(test_generate_roundtrip), cmocka_unit_test(test_jwk_escaping),
        cmocka_unit_test(test_jwk_rejects),        cmocka_unit_test(test_aead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
