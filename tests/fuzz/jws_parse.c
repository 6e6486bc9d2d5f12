/* Fuzz target: compact JWS parsing and verification (gateway/jws.c), the
 * strict base64url decoder under it, and the public JWK parser
 * (gateway/keypair.c): all read attacker-supplied text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/crypto.h"

/* RFC 7515 A.3's key, so the A.3 seed verifies and mutants reach the ECDSA
 * code; RFC 7638's RSA key for the RS256 path (no valid signature exists for
 * it here, but the length checks and the EVP call still run). */
static const char EC_JWK[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
static const char RSA_JWK[] = "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":"
                              "\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7a"
                              "PFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-"
                              "5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2"
                              "QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
                              "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr"
                              "3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\"}";

static EVP_PKEY *ec_key, *rsa_key;

static void load_keys(void)
{
    if (ec_key != NULL)
        return;
    if (gw_key_from_jwk(EC_JWK, strlen(EC_JWK), &ec_key, NULL) != 0 ||
        gw_key_from_jwk(RSA_JWK, strlen(RSA_JWK), &rsa_key, NULL) != 0)
        abort();
}

static void check_parse(const uint8_t *data, size_t size)
{
    gw_jws_t jws;
    if (gw_jws_parse((const char *)data, size, &jws, NULL) != 0)
        return;
    /* What a successful parse promises its callers. */
    if (strlen(jws.header) != jws.header_len || strlen(jws.payload) != jws.payload_len ||
        strlen(jws.alg) == 0 || jws.sig_len == 0 || jws.sig_len > GW_JWS_MAX_SIG ||
        jws.signing_input_len >= size || data[jws.signing_input_len] != '.')
        abort();
    gw_jws_dispose(&jws);
}

static void check_verify(const uint8_t *data, size_t size)
{
    char *h = NULL, *p = NULL;
    if (gw_jws_verify(ec_key, "ES256", (const char *)data, size, &h, &p, NULL) == 0) {
        if (h == NULL || p == NULL)
            abort();
        free(h);
        free(p);
    } else if (h != NULL || p != NULL) {
        abort();
    }
    if (gw_jws_verify(rsa_key, "RS256", (const char *)data, size, NULL, NULL, NULL) == 0)
        abort(); /* nobody holds the RFC 7638 private key */
}

/* Strict base64url has one encoding per byte string: decode then encode must
 * give the input back. */
static void check_b64url(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return;
    uint8_t *dec = malloc(GW_B64_DECODED_MAX(size) + 1);
    char *enc = malloc(size + 2);
    size_t n = 0;
    if (dec == NULL || enc == NULL)
        abort();
    if (gw_b64url_decode((const char *)data, size, dec, &n) == 0) {
        if (n > GW_B64_DECODED_MAX(size) || gw_b64url_encode(dec, n, enc) != size ||
            memcmp(enc, data, size) != 0)
            abort();
    }
    free(dec);
    free(enc);
}

static void check_jwk(const uint8_t *data, size_t size)
{
    EVP_PKEY *key = NULL;
    if (gw_key_from_jwk((const char *)data, size, &key, NULL) == 0) {
        char tp[GW_THUMBPRINT_LEN + 1];
        if (gw_key_jws_alg(key) == NULL || gw_key_thumbprint(key, tp, NULL) != 0)
            abort();
        EVP_PKEY_free(key);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_keys();
    check_parse(data, size);
    check_verify(data, size);
    check_b64url(data, size);
    check_jwk(data, size);
    return 0;
}
