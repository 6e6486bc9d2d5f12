/* oidc/client_creds.c: the Basic header of RFC 6749 §2.3.1 (form-urlencoded
 * id and secret inside base64) and the claims of a client_assertion (RFC 7523
 * §3, OIDC Core §9), each valid case next to its broken twins. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/pool_fixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/crypto.h"
#include "oidc/clients_internal.h"

/* "Basic " + base64(raw). */
static int decode_raw(void **state, const char *scheme, const char *raw, h2o_iovec_t *id, h2o_iovec_t *secret,
                      gw_err_t *err)
{
    char b64[512], hdr[600];
    gw_b64_encode((const uint8_t *)raw, strlen(raw), b64);
    snprintf(hdr, sizeof(hdr), "%s %s", scheme, b64);
    memset(err, 0, sizeof(*err));
    return oidc_basic_auth_decode(*state, hdr, strlen(hdr), id, secret, err);
}

static void test_basic_plain(void **state)
{
    h2o_iovec_t id, secret;
    gw_err_t err;
    assert_int_equal(decode_raw(state, "Basic", "web1:s3cr3t", &id, &secret, &err), 0);
    assert_string_equal(id.base, "web1");
    assert_string_equal(secret.base, "s3cr3t");
    /* scheme is case-insensitive (RFC 9110 §11.1) */
    assert_int_equal(decode_raw(state, "bAsIc", "web1:s3cr3t", &id, &secret, &err), 0);
    /* RFC 2617's example */
    const char *hdr = "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==";
    assert_int_equal(oidc_basic_auth_decode(*state, hdr, strlen(hdr), &id, &secret, &err), 0);
    assert_string_equal(id.base, "Aladdin");
    assert_string_equal(secret.base, "open sesame");
    /* an empty secret decodes (the caller refuses it) */
    assert_int_equal(decode_raw(state, "Basic", "web1:", &id, &secret, &err), 0);
    assert_int_equal(secret.len, 0);
}

static void test_basic_form_encoded(void **state)
{
    h2o_iovec_t id, secret;
    gw_err_t err;
    /* RFC 6749 §2.3.1: both parts are form-urlencoded (Appendix B). */
    assert_int_equal(decode_raw(state, "Basic", "my%3Aclient:p%2Bw+d%25x%3A", &id, &secret, &err), 0);
    assert_string_equal(id.base, "my:client");
    assert_string_equal(secret.base, "p+w d%x:");
    /* a colon after the first one belongs to the secret */
    assert_int_equal(decode_raw(state, "Basic", "a:b:c", &id, &secret, &err), 0);
    assert_string_equal(id.base, "a");
    assert_string_equal(secret.base, "b:c");
    /* multi-byte UTF-8 escaped */
    assert_int_equal(decode_raw(state, "Basic", "caf%C3%A9:x", &id, &secret, &err), 0);
    assert_string_equal(id.base, "caf\xc3\xa9");
}

static void test_basic_broken(void **state)
{
    h2o_iovec_t id, secret;
    gw_err_t err;
    assert_int_equal(decode_raw(state, "Bearer", "web1:x", &id, &secret, &err), 1); /* not ours */
    assert_int_equal(decode_raw(state, "Basicx", "web1:x", &id, &secret, &err), 1);
    assert_int_equal(decode_raw(state, "Basic", "web1", &id, &secret, &err), -1); /* no colon */
    assert_int_equal(err.kind, GW_E_INVALID_CLIENT);
    assert_int_equal(decode_raw(state, "Basic", ":secret", &id, &secret, &err), -1); /* empty id */
    assert_int_equal(decode_raw(state, "Basic", "web%1:x", &id, &secret, &err), -1); /* bad escape */
    assert_int_equal(decode_raw(state, "Basic", "web1:x%", &id, &secret, &err), -1);
    assert_int_equal(decode_raw(state, "Basic", "web1:x%zz", &id, &secret, &err), -1);
    assert_int_equal(decode_raw(state, "Basic", "web1:x%00y", &id, &secret, &err), -1); /* NUL */
    const char *bad[] = {
        "Basic",              /* no credentials */
        "Basic ",             /* empty */
        "Basic d2ViMTp4",     /* valid: "web1:x" (8 characters need no padding) */
        "Basic d2ViMTp4=",    /* wrong padding */
        "Basic d2Vi MTp4",    /* space inside */
        "Basic d2ViMTp4!!==", /* outside the alphabet */
        "Basic d2ViMTp4\x01", /* control */
    };
    /* bad[2] is valid base64 of "web1:x": the twin of the others */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        int rc = oidc_basic_auth_decode(*state, bad[i], strlen(bad[i]), &id, &secret, &err);
        if (i == 2) {
            assert_int_equal(rc, 0);
            assert_string_equal(secret.base, "x");
        } else if (i == 0) {
            assert_int_equal(rc, 1);
        } else {
            assert_int_equal(rc, -1);
        }
    }
    /* over-long credentials are refused before decoding */
    size_t n = 8000;
    char *big = malloc(n + 7);
    memcpy(big, "Basic ", 6);
    memset(big + 6, 'A', n);
    big[6 + n] = '\0';
    assert_int_equal(oidc_basic_auth_decode(*state, big, strlen(big), &id, &secret, &err), -1);
    free(big);
}

#define ISS   "https://id.example"
#define TOKEN "https://id.example/token"
#define NOW   1700000000

static int claims(const char *json, gw_err_t *err)
{
    char jti[OIDC_ASSERTION_JTI_MAX + 1];
    int64_t exp = 0;
    memset(err, 0, sizeof(*err));
    return oidc_assertion_claims_check(json, strlen(json), "c1", ISS, TOKEN, NOW, jti, &exp, err);
}

static void expect_claims_bad(const char *json, const char *word)
{
    gw_err_t err;
    if (claims(json, &err) == 0)
        fail_msg("accepted: %s", json);
    assert_int_equal(err.kind, GW_E_INVALID_CLIENT);
    if (strstr(err.public, word) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.public, word);
}

static void test_assertion_claims(void **state)
{
    (void)state;
    gw_err_t err;
    char jti[OIDC_ASSERTION_JTI_MAX + 1];
    int64_t exp = 0;
    const char *ok =
        "{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"exp\":1700000060,\"jti\":\"j-1\"}";
    assert_int_equal(oidc_assertion_claims_check(ok, strlen(ok), "c1", ISS, TOKEN, NOW, jti, &exp, &err), 0);
    assert_string_equal(jti, "j-1");
    assert_int_equal(exp, 1700000060);
    /* aud as the issuer, and as an array containing us */
    assert_int_equal(
        claims("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" ISS "\",\"exp\":1700000060,\"jti\":\"j\"}", &err),
        0);
    assert_int_equal(claims("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":[\"x\",\"" TOKEN
                            "\"],\"exp\":1700000060,\"jti\":\"j\",\"iat\":1700000000,\"nbf\":1700000000}",
                            &err),
                     0);
    /* within the clock skew */
    assert_int_equal(
        claims("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" ISS "\",\"exp\":1699999990,\"jti\":\"j\"}", &err),
        0);

    /* broken twins */
    expect_claims_bad(
        "{\"iss\":\"c2\",\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"exp\":1700000060,\"jti\":\"j\"}", "iss");
    expect_claims_bad("{\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"exp\":1700000060,\"jti\":\"j\"}", "iss");
    expect_claims_bad(
        "{\"iss\":\"c1\",\"sub\":\"c2\",\"aud\":\"" TOKEN "\",\"exp\":1700000060,\"jti\":\"j\"}", "sub");
    expect_claims_bad(
        "{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"https://other.example/token\",\"exp\":1700000060,"
        "\"jti\":\"j\"}",
        "aud");
    expect_claims_bad("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" ISS "/\",\"exp\":1700000060,\"jti\":\"j\"}",
                      "aud");
    expect_claims_bad("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":[\"x\"],\"exp\":1700000060,\"jti\":\"j\"}",
                      "aud");
    expect_claims_bad(
        "{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":[[\"" ISS "\"]],\"exp\":1700000060,\"jti\":\"j\"}", "aud");
    expect_claims_bad("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"jti\":\"j\"}", "exp");
    expect_claims_bad(
        "{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"exp\":\"1700000060\",\"jti\":\"j\"}", "exp");
    expect_claims_bad(
        "{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"exp\":1700000060.5,\"jti\":\"j\"}", "exp");
    expect_claims_bad(
        "{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"exp\":1699999960,\"jti\":\"j\"}", "expired");
    expect_claims_bad(
        "{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"exp\":1700086400,\"jti\":\"j\"}", "ahead");
    expect_claims_bad("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN
                      "\",\"exp\":1700000060,\"nbf\":1700000100,\"jti\":\"j\"}",
                      "nbf");
    expect_claims_bad("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN
                      "\",\"exp\":1700000060,\"iat\":1700000100,\"jti\":\"j\"}",
                      "iat");
    expect_claims_bad("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"exp\":1700000060}", "jti");
    expect_claims_bad("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"exp\":1700000060,\"jti\":\"\"}",
                      "jti");
    expect_claims_bad("{\"iss\":\"c1\",\"sub\":\"c1\",\"aud\":\"" TOKEN "\",\"exp\":1700000060,\"jti\":7}",
                      "jti");
    expect_claims_bad("[1]", "JSON object");
    expect_claims_bad("{\"iss\":\"c1\",\"iss\":\"c1\"}", "JSON object"); /* duplicate member */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic_form_encoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic_broken, setup, teardown),
        cmocka_unit_test(test_assertion_claims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
