/* Compact JWS sign, parse and verify (gateway/jws.c), with libjwt as the
 * independent implementation for interop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>
#include <openssl/pem.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"

/* RFC 7515 appendix A.3: an ES256 JWS and the public half of its key. */
#define A3_JWK                                                                                               \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","               \
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"
#define A3_TOKEN                                                                                             \
    "eyJhbGciOiJFUzI1NiJ9."                                                                                  \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."        \
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
#define A3_PAYLOAD "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"

#define CLAIMS "{\"iss\":\"https://id.example\",\"sub\":\"alice\",\"aud\":\"app\",\"exp\":4102444800}"

typedef struct {
    EVP_PKEY *ec, *ec_other, *rsa, *a3;
} keys_t;

static int setup(void **state)
{
    keys_t *k = gw_calloc(1, sizeof(*k));
    gw_err_t err;
    if (gw_key_generate_ec_p256(&k->ec, &err) != 0 || gw_key_generate_ec_p256(&k->ec_other, &err) != 0 ||
        gw_key_generate_rsa(2048, &k->rsa, &err) != 0 ||
        gw_key_from_jwk(A3_JWK, strlen(A3_JWK), &k->a3, &err) != 0)
        return -1;
    *state = k;
    return 0;
}

static int teardown(void **state)
{
    keys_t *k = *state;
    EVP_PKEY_free(k->ec);
    EVP_PKEY_free(k->ec_other);
    EVP_PKEY_free(k->rsa);
    EVP_PKEY_free(k->a3);
    free(k);
    return 0;
}

static int verify(EVP_PKEY *key, const char *alg, const char *token, gw_err_t *err)
{
    char *h = NULL, *p = NULL;
    int rc = gw_jws_verify(key, alg, token, strlen(token), &h, &p, err);
    if (rc == 0) {
        assert_non_null(h);
        assert_non_null(p);
    } else {
        assert_null(h);
        assert_null(p);
    }
    free(h);
    free(p);
    return rc;
}

/* A token that must be refused as an invalid token. */
static void assert_refused(EVP_PKEY *key, const char *alg, const char *token, const char *why)
{
    gw_err_t err = {0};
    if (verify(key, alg, token, &err) != -1)
        fail_msg("accepted: %s", token);
    assert_int_equal(err.kind, GW_E_INVALID_TOKEN);
    if (why != NULL && strstr(err.public, why) == NULL)
        fail_msg("refused with \"%s\", want \"%s\": %s", err.public, why, token);
}

static char *b64url_str(const char *s)
{
    char *out = gw_malloc(GW_B64URL_LEN(strlen(s)) + 1);
    gw_b64url_encode((const uint8_t *)s, strlen(s), out);
    return out;
}

/* header_json (encoded here) + the rest of token from its first '.'. */
static char *with_header(const char *header_json, const char *token)
{
    char *h = b64url_str(header_json);
    const char *rest = strchr(token, '.');
    char *out = gw_malloc(strlen(h) + strlen(rest) + 1);
    strcpy(out, h);
    strcat(out, rest);
    free(h);
    return out;
}

static void test_rfc7515_a3(void **state)
{
    keys_t *k = *state;
    gw_err_t err;
    char *h = NULL, *p = NULL;
    assert_int_equal(gw_jws_verify(k->a3, "ES256", A3_TOKEN, strlen(A3_TOKEN), &h, &p, &err), 0);
    assert_string_equal(h, "{\"alg\":\"ES256\"}");
    assert_string_equal(p, A3_PAYLOAD);
    free(h);
    free(p);

    /* Broken twins: a signature byte, a payload byte, another key. */
    char *t = gw_strdup(A3_TOKEN);
    t[strlen(t) - 10] = t[strlen(t) - 10] == 'A' ? 'B' : 'A';
    assert_refused(k->a3, "ES256", t, "invalid token signature");
    free(t);
    t = gw_strdup(A3_TOKEN);
    t[30] = t[30] == 'A' ? 'B' : 'A';
    assert_refused(k->a3, "ES256", t, NULL);
    free(t);
    assert_refused(k->ec, "ES256", A3_TOKEN, "invalid token signature");
    /* The caller pins the algorithm: ES256 key, RS256 expected is a caller bug. */
    assert_int_equal(gw_jws_verify(k->a3, "RS256", A3_TOKEN, strlen(A3_TOKEN), NULL, NULL, &err), -1);
    assert_int_equal(err.kind, GW_E_INTERNAL);
}

static void roundtrip(EVP_PKEY *key, const char *alg)
{
    gw_err_t err;
    char *tok = NULL, *h = NULL, *p = NULL;
    assert_int_equal(
        gw_jws_sign(key, alg, "\"kid\":\"k1\",\"typ\":\"at+jwt\"", CLAIMS, strlen(CLAIMS), &tok, &err), 0);
    assert_int_equal(gw_jws_verify(key, alg, tok, strlen(tok), &h, &p, &err), 0);
    char want[64];
    snprintf(want, sizeof(want), "{\"alg\":\"%s\",\"kid\":\"k1\",\"typ\":\"at+jwt\"}", alg);
    assert_string_equal(h, want);
    assert_string_equal(p, CLAIMS);
    free(h);
    free(p);

    gw_jws_t jws;
    assert_int_equal(gw_jws_parse(tok, strlen(tok), &jws, &err), 0);
    assert_string_equal(jws.alg, alg);
    assert_int_equal(jws.sig_len, strcmp(alg, "ES256") == 0 ? 64 : 256);
    assert_int_equal(jws.signing_input_len, (size_t)(strrchr(tok, '.') - tok));
    gw_jws_dispose(&jws);
    free(tok);

    /* No extra header members. */
    assert_int_equal(gw_jws_sign(key, alg, NULL, CLAIMS, strlen(CLAIMS), &tok, &err), 0);
    assert_int_equal(gw_jws_verify(key, alg, tok, strlen(tok), &h, NULL, &err), 0);
    snprintf(want, sizeof(want), "{\"alg\":\"%s\"}", alg);
    assert_string_equal(h, want);
    free(h);
    free(tok);
}

static void test_roundtrip(void **state)
{
    keys_t *k = *state;
    roundtrip(k->ec, "ES256");
    roundtrip(k->rsa, "RS256");
}

/* Our DER reading of OpenSSL's ES256 signatures (gw_jws_sign): R or S
 * shorter than 32 bytes (about 1 signature in 128) must come out
 * left-padded, and every token must verify, with our verifier and with
 * OpenSSL's own DER path. */
static void test_es256_short_integers(void **state)
{
    keys_t *k = *state;
    gw_err_t err;
    int short_seen = 0;
    for (int i = 0; i < 3000; i++) {
        char claims[32], *tok = NULL;
        snprintf(claims, sizeof(claims), "{\"n\":%d}", i);
        assert_int_equal(gw_jws_sign(k->ec, "ES256", NULL, claims, strlen(claims), &tok, &err), 0);
        assert_int_equal(gw_jws_verify(k->ec, "ES256", tok, strlen(tok), NULL, NULL, &err), 0);
        gw_jws_t jws;
        assert_int_equal(gw_jws_parse(tok, strlen(tok), &jws, &err), 0);
        assert_int_equal(jws.sig_len, 64);
        if (jws.sig[0] == 0 || jws.sig[32] == 0)
            short_seen++;
        gw_jws_dispose(&jws);
        free(tok);
    }
    assert_true(short_seen > 0);
}

static void test_sign_refuses(void **state)
{
    keys_t *k = *state;
    gw_err_t err;
    char *tok = NULL;
    assert_int_equal(gw_jws_sign(k->ec, "RS256", NULL, "{}", 2, &tok, &err), -1);
    assert_int_equal(gw_jws_sign(k->rsa, "ES256", NULL, "{}", 2, &tok, &err), -1);
    assert_int_equal(gw_jws_sign(k->ec, "none", NULL, "{}", 2, &tok, &err), -1);
    assert_int_equal(gw_jws_sign(k->ec, "HS256", NULL, "{}", 2, &tok, &err), -1);
    assert_int_equal(gw_jws_sign(k->ec, "ES256", "\"alg\":\"none\"", "{}", 2, &tok, &err), -1);
    char *big = gw_malloc(GW_JWS_MAX_LEN);
    memset(big, 'a', GW_JWS_MAX_LEN);
    assert_int_equal(gw_jws_sign(k->ec, "ES256", NULL, big, GW_JWS_MAX_LEN, &tok, &err), -1);
    free(big);
    assert_null(tok);
}

/* Broken twins of a valid token signed by key. */
static void broken_twins(EVP_PKEY *key, EVP_PKEY *wrong_key, const char *alg, const char *other_alg)
{
    gw_err_t err;
    char *tok = NULL, *t;
    assert_int_equal(gw_jws_sign(key, alg, "\"kid\":\"k1\"", CLAIMS, strlen(CLAIMS), &tok, &err), 0);
    assert_int_equal(verify(key, alg, tok, &err), 0);
    size_t len = strlen(tok);
    const char *sig = strrchr(tok, '.') + 1;
    size_t sig_off = (size_t)(sig - tok);

    /* A flipped signature byte (decoded, flipped, re-encoded). */
    uint8_t raw[GW_JWS_MAX_SIG];
    size_t raw_len;
    assert_int_equal(gw_b64url_decode(sig, strlen(sig), raw, &raw_len), 0);
    for (size_t pos = 0; pos < raw_len; pos += raw_len / 4) {
        raw[pos] ^= 0x01;
        t = gw_malloc(sig_off + GW_B64URL_LEN(raw_len) + 1);
        memcpy(t, tok, sig_off);
        gw_b64url_encode(raw, raw_len, t + sig_off);
        assert_refused(key, alg, t, "invalid token signature");
        free(t);
        raw[pos] ^= 0x01;
    }

    /* A changed claim: "alice" -> "alicf" in the payload. */
    char *claims = gw_strdup(CLAIMS);
    strstr(claims, "alice")[4] = 'f';
    char *p64 = b64url_str(claims), *h64 = gw_strndup(tok, (size_t)(strchr(tok, '.') - tok));
    t = gw_malloc(len + 8);
    sprintf(t, "%s.%s.%s", h64, p64, sig);
    assert_refused(key, alg, t, "invalid token signature");
    free(t);
    free(p64);
    free(h64);
    free(claims);

    /* The header's alg changed to the other family, none, HS256, or a lower-case
     * spelling; all refused before any crypto. */
    const char *headers[] = {other_alg, "none", "HS256", "es256", "RS512"};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        char hj[64];
        snprintf(hj, sizeof(hj), "{\"alg\":\"%s\",\"kid\":\"k1\"}", headers[i]);
        t = with_header(hj, tok);
        assert_refused(key, alg, t, "unexpected token algorithm");
        free(t);
    }
    /* alg none with the signature removed: an empty third segment. */
    t = with_header("{\"alg\":\"none\"}", tok);
    *(strrchr(t, '.') + 1) = '\0';
    assert_refused(key, alg, t, "empty segment");
    free(t);

    /* Headers that two parsers could read differently. */
    char dup[64];
    snprintf(dup, sizeof(dup), "{\"alg\":\"%s\",\"alg\":\"none\"}", alg);
    t = with_header(dup, tok);
    assert_refused(key, alg, t, "not a strict JSON object");
    free(t);
    /* A comment (yajl's tree parser takes them) hiding a second kid from a
     * reader that skips comments, or a '"' in a comment hiding deep
     * nesting from a depth count that does not. */
    snprintf(dup, sizeof(dup), "{\"alg\":\"%s\",\"kid\":\"a\" /*,\"kid\":\"b\"*/}", alg);
    t = with_header(dup, tok);
    assert_refused(key, alg, t, "not a strict JSON object");
    free(t);
    char deep[96];
    snprintf(deep, sizeof(deep), "{\"alg\":\"%s\",\"x\":/*\"*/[[[[[[[[[[[[]]]]]]]]]]]]}", alg);
    t = with_header(deep, tok);
    assert_refused(key, alg, t, "not a strict JSON object");
    free(t);
    snprintf(deep, sizeof(deep), "{\"alg\":\"%s\",\"x\":[[[[[[[[[[[[]]]]]]]]]]]]}", alg);
    t = with_header(deep, tok);
    assert_refused(key, alg, t, "not a strict JSON object");
    free(t);
    snprintf(dup, sizeof(dup), "{\"alg\":\"%s\",\"crit\":[\"exp\"]}", alg);
    t = with_header(dup, tok);
    assert_refused(key, alg, t, "crit");
    free(t);
    t = with_header("[\"ES256\"]", tok);
    assert_refused(key, alg, t, "not a strict JSON object");
    free(t);
    t = with_header("{\"alg\":256}", tok);
    assert_refused(key, alg, t, "alg is not a string");
    free(t);
    t = with_header("{\"kid\":\"k1\"}", tok);
    assert_refused(key, alg, t, "missing alg");
    free(t);

    /* Truncated, one character short in each segment's end. */
    t = gw_strndup(tok, len - 1);
    assert_refused(key, alg, t, NULL);
    free(t);
    t = gw_strndup(tok, sig_off - 1);
    assert_refused(key, alg, t, "not three segments");
    free(t);
    /* Padding, extra segment, whitespace, standard alphabet. */
    t = gw_malloc(len + 8);
    sprintf(t, "%s=", tok);
    assert_refused(key, alg, t, "invalid base64url");
    sprintf(t, "%s.", tok);
    assert_refused(key, alg, t, "not three segments");
    sprintf(t, "%s.e30", tok);
    assert_refused(key, alg, t, "not three segments");
    sprintf(t, " %s", tok);
    assert_refused(key, alg, t, "invalid base64url");
    strcpy(t, tok);
    t[sig_off] = '+';
    assert_refused(key, alg, t, "invalid base64url");
    free(t);

    /* Over the length bound, however valid the start. */
    t = gw_malloc(GW_JWS_MAX_LEN + 2);
    memset(t, 'A', GW_JWS_MAX_LEN + 1);
    memcpy(t, tok, len);
    t[GW_JWS_MAX_LEN + 1] = '\0';
    assert_refused(key, alg, t, "too long");
    free(t);
    assert_refused(key, alg, "", "empty");

    /* Right algorithm, wrong key. */
    assert_refused(wrong_key, alg, tok, "invalid token signature");
    free(tok);
}

static void test_broken_twins(void **state)
{
    keys_t *k = *state;
    broken_twins(k->ec, k->ec_other, "ES256", "RS256");
    EVP_PKEY *rsa2 = NULL;
    gw_err_t err;
    assert_int_equal(gw_key_generate_rsa(2048, &rsa2, &err), 0);
    broken_twins(k->rsa, rsa2, "RS256", "ES256");
    EVP_PKEY_free(rsa2);
}

/* A payload with a NUL would reach callers shortened. */
static void test_nul_in_payload(void **state)
{
    keys_t *k = *state;
    gw_err_t err;
    char *tok = NULL;
    assert_int_equal(gw_jws_sign(k->ec, "ES256", NULL, "{\"a\":1}\0x", 9, &tok, &err), 0);
    assert_refused(k->ec, "ES256", tok, "NUL");
    free(tok);
}

static char *private_pem(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *pem = gw_strndup(data, (size_t)n);
    BIO_free(bio);
    return pem;
}

/* Ours -> libjwt, libjwt -> ours, for both algorithms. */
static void interop(EVP_PKEY *key, const char *alg, jwt_alg_t jalg)
{
    gw_err_t err;
    char *pub = NULL, *tok = NULL;
    size_t pub_len = 0;
    assert_int_equal(gw_key_public_pem(key, &pub, &pub_len, &err), 0);

    assert_int_equal(
        gw_jws_sign(key, alg, "\"kid\":\"k1\",\"typ\":\"JWT\"", CLAIMS, strlen(CLAIMS), &tok, &err), 0);
    jwt_t *j = NULL;
    assert_int_equal(jwt_decode(&j, tok, (const unsigned char *)pub, (int)pub_len), 0);
    assert_int_equal(jwt_get_alg(j), jalg); /* DEPENDENCIES.md §6: always check */
    assert_string_equal(jwt_get_grant(j, "sub"), "alice");
    assert_string_equal(jwt_get_header(j, "kid"), "k1");
    jwt_free(j);
    /* Broken twin: libjwt refuses our token with a changed signature too. */
    char *last = tok + strlen(tok) - 5;
    *last = *last == 'A' ? 'B' : 'A';
    j = NULL;
    assert_int_not_equal(jwt_decode(&j, tok, (const unsigned char *)pub, (int)pub_len), 0);
    jwt_free(j);
    free(tok);

    char *priv = private_pem(key);
    assert_int_equal(jwt_new(&j), 0);
    assert_int_equal(jwt_set_alg(j, jalg, (const unsigned char *)priv, (int)strlen(priv)), 0);
    assert_int_equal(jwt_add_grant(j, "sub", "bob"), 0);
    assert_int_equal(jwt_add_header(j, "kid", "k2"), 0);
    char *ltok = jwt_encode_str(j);
    assert_non_null(ltok);
    jwt_free(j);
    gw_wipe(priv, strlen(priv));
    free(priv);

    char *h = NULL, *p = NULL;
    assert_int_equal(gw_jws_verify(key, alg, ltok, strlen(ltok), &h, &p, &err), 0);
    assert_non_null(strstr(p, "\"sub\":\"bob\""));
    assert_non_null(strstr(h, "\"kid\":\"k2\""));
    free(h);
    free(p);
    /* Broken twin: libjwt's token with one signature character changed. */
    char *c = ltok + strlen(ltok) - 3;
    *c = *c == 'A' ? 'B' : 'A';
    assert_refused(key, alg, ltok, "invalid token signature");
    free(ltok);

    /* The HS256 attack from DEPENDENCIES.md §6: a token MACed with the public
     * PEM as the secret. libjwt accepts it; we refuse it before any crypto. */
    assert_int_equal(jwt_new(&j), 0);
    assert_int_equal(jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)pub, (int)pub_len), 0);
    assert_int_equal(jwt_add_grant(j, "sub", "mallory"), 0);
    char *forged = jwt_encode_str(j);
    jwt_free(j);
    assert_refused(key, alg, forged, "unexpected token algorithm");
    free(forged);
    free(pub);
}

static void test_libjwt_interop(void **state)
{
    keys_t *k = *state;
    interop(k->ec, "ES256", JWT_ALG_ES256);
    interop(k->rsa, "RS256", JWT_ALG_RS256);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Throughput with a key loaded once; printed, not asserted. */
static void bench(EVP_PKEY *key, const char *alg)
{
    gw_err_t err;
    char *tok = NULL;
    double start = now(), t;
    long signs = 0, verifies = 0;
    do {
        free(tok);
        assert_int_equal(
            gw_jws_sign(key, alg, "\"kid\":\"k1\",\"typ\":\"at+jwt\"", CLAIMS, strlen(CLAIMS), &tok, &err),
            0);
        signs++;
    } while ((t = now()) - start < 0.5);
    double sign_rate = (double)signs / (t - start);
    start = now();
    do {
        assert_int_equal(gw_jws_verify(key, alg, tok, strlen(tok), NULL, NULL, &err), 0);
        verifies++;
    } while ((t = now()) - start < 0.5);
    double verify_rate = (double)verifies / (t - start);
    free(tok);
    print_message("bench %s: %.0f signs/s, %.0f verifies/s (one thread, key preloaded)\n", alg, sign_rate,
                  verify_rate);
}

static void test_bench(void **state)
{
    keys_t *k = *state;
    bench(k->ec, "ES256");
    bench(k->rsa, "RS256");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7515_a3),     cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_sign_refuses),   cmocka_unit_test(test_es256_short_integers),
        cmocka_unit_test(test_broken_twins),   cmocka_unit_test(test_nul_in_payload),
        cmocka_unit_test(test_libjwt_interop), cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
