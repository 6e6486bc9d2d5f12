/* base32, HOTP, TOTP checking and the otpauth URI (methods/base32.c,
 * methods/totp.c, methods/totp_uri.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "methods/methods.h"

/* RFC 4226 Appendix D and RFC 6238 Appendix B share this ASCII secret. */
static const uint8_t SECRET[] = "12345678901234567890";
#define SECRET_LEN 20

/* RFC 4648 §10, with the padding the Key Uri Format leaves out removed. */
static void test_base32_rfc4648(void **state)
{
    (void)state;
    static const struct {
        const char *plain, *b32;
    } v[] = {
        {"", ""},
        {"f", "MY"},
        {"fo", "MZXQ"},
        {"foo", "MZXW6"},
        {"foob", "MZXW6YQ"},
        {"fooba", "MZXW6YTB"},
        {"foobar", "MZXW6YTBOI"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[32];
        memset(out, 'x', sizeof(out));
        size_t n = strlen(v[i].plain);
        assert_int_equal(mth_base32_encode((const uint8_t *)v[i].plain, n, out, sizeof(out)),
                         strlen(v[i].b32));
        assert_string_equal(out, v[i].b32);
    }
}

static void test_base32_room(void **state)
{
    (void)state;
    char out[11];
    /* "foobar" needs 10 characters and the NUL: 11 fits, 10 does not. */
    assert_int_equal(mth_base32_encode((const uint8_t *)"foobar", 6, out, 11), 10);
    assert_int_equal(mth_base32_encode((const uint8_t *)"foobar", 6, out, 10), 0);
    assert_int_equal(mth_base32_encode((const uint8_t *)"", 0, out, 0), 0);
    char secret[40];
    assert_int_equal(mth_base32_encode(SECRET, SECRET_LEN, secret, sizeof(secret)), 32);
    assert_string_equal(secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

static void test_hotp_rfc4226(void **state)
{
    (void)state;
    static const uint32_t want[] = {755224, 287082, 359152, 969429, 338314,
                                    254676, 287922, 162583, 399871, 520489};
    for (uint64_t c = 0; c < 10; c++)
        assert_int_equal(mth_hotp(SECRET, SECRET_LEN, c, 6), want[c]);
    /* Out-of-range digit counts give no code at all. */
    assert_int_equal(mth_hotp(SECRET, SECRET_LEN, 1, 5), 0);
    assert_int_equal(mth_hotp(SECRET, SECRET_LEN, 1, 9), 0);
}

/* RFC 6238 Appendix B, SHA-1 rows: T = floor(time / 30), 8 digits. */
static void test_totp_rfc6238(void **state)
{
    (void)state;
    static const struct {
        uint64_t time;
        uint32_t code;
    } v[] = {
        {59, 94287082},         {1111111109, 7081804},  {1111111111, 14050471},
        {1234567890, 89005924}, {2000000000, 69279037}, {20000000000ull, 65353130},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_int_equal(mth_hotp(SECRET, SECRET_LEN, v[i].time / MTH_TOTP_PERIOD, 8), v[i].code);
}

/* At now = 90..119 the step is 3: steps 2, 3 and 4 are accepted (RFC 4226
 * vectors: step 1 287082, 2 359152, 3 969429, 4 338314, 5 254676). */
static void test_totp_window(void **state)
{
    (void)state;
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "359152", 6, 90, 0), 2);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "969429", 6, 90, 0), 3);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "338314", 6, 119, 0), 4);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "287082", 6, 90, 0), 0);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "254676", 6, 119, 0), 0);
    /* RFC 6238 Appendix B's first row, at its own time, 6 digits. */
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "287082", 6, 59, 0), 1);
    /* Another key gives other codes. */
    static const uint8_t other[SECRET_LEN] = {1};
    assert_int_equal(mth_totp_verify(other, SECRET_LEN, "969429", 6, 90, 0), 0);
}

static void test_totp_replay(void **state)
{
    (void)state;
    uint64_t used = mth_totp_verify(SECRET, SECRET_LEN, "969429", 6, 95, 0);
    assert_int_equal(used, 3);
    /* The same code again, and an older one, are spent. */
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "969429", 6, 96, used), 0);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "359152", 6, 96, used), 0);
    /* The next step's code still works once. */
    used = mth_totp_verify(SECRET, SECRET_LEN, "338314", 6, 100, used);
    assert_int_equal(used, 4);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "338314", 6, 125, used), 0);
}

static void test_totp_code_syntax(void **state)
{
    (void)state;
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "969 429", 7, 90, 0), 3);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, " 969429 ", 8, 90, 0), 3);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "96942", 5, 90, 0), 0);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "0969429", 7, 90, 0), 0);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "96942a", 6, 90, 0), 0);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "-69429", 6, 90, 0), 0);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "969429", 5, 90, 0), 0); /* length counts */
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "", 0, 90, 0), 0);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, NULL, 0, 90, 0), 0);
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "755224", 6, 10, 0), 0); /* before step 1 */
    assert_int_equal(mth_totp_verify(SECRET, SECRET_LEN, "755224", 6, -30, 0), 0);
}

static void test_totp_uri_plain(void **state)
{
    (void)state;
    char *uri = mth_totp_uri("Example", "alice", SECRET, SECRET_LEN);
    assert_non_null(uri);
    assert_string_equal(uri, "otpauth://totp/Example:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                             "&issuer=Example&algorithm=SHA1&digits=6&period=30");
    free(uri);
}

/* Spaces as %20 (not '+'), the colon that would split the label, '@', '&'
 * that would end the parameter, and UTF-8 bytes as %XX. */
static void test_totp_uri_encoding(void **state)
{
    (void)state;
    char *uri = mth_totp_uri("Acme Co: R&D", "j\xc3\xb6rg m\xc3\xbcller@example.com", SECRET, SECRET_LEN);
    assert_non_null(uri);
    assert_string_equal(uri, "otpauth://totp/Acme%20Co%3A%20R%26D:j%C3%B6rg%20m%C3%BCller%40example.com"
                             "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Co%3A%20R%26D"
                             "&algorithm=SHA1&digits=6&period=30");
    free(uri);
}

static void test_totp_uri_refuses(void **state)
{
    (void)state;
    /* A userName is up to 256 characters, 1024 bytes of UTF-8: one byte more is refused. */
    char big[1026];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    uint8_t key[65] = {0};
    assert_null(mth_totp_uri(NULL, "alice", SECRET, SECRET_LEN));
    assert_null(mth_totp_uri("Example", NULL, SECRET, SECRET_LEN));
    assert_null(mth_totp_uri("", "alice", SECRET, SECRET_LEN));
    assert_null(mth_totp_uri("Example", "", SECRET, SECRET_LEN));
    assert_null(mth_totp_uri("Example", big, SECRET, SECRET_LEN));
    assert_null(mth_totp_uri("Example", "alice", SECRET, 0));
    assert_null(mth_totp_uri("Example", "alice", key, sizeof(key)));
    char *ok = mth_totp_uri("Example", "alice", key, 64);
    assert_non_null(ok);
    free(ok);
    big[1024] = '\0';
    ok = mth_totp_uri("Example", big, SECRET, SECRET_LEN);
    assert_non_null(ok);
    free(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base32_rfc4648),    cmocka_unit_test(test_base32_room),
        cmocka_unit_test(test_hotp_rfc4226),      cmocka_unit_test(test_totp_rfc6238),
        cmocka_unit_test(test_totp_window),       cmocka_unit_test(test_totp_replay),
        cmocka_unit_test(test_totp_code_syntax),  cmocka_unit_test(test_totp_uri_plain),
        cmocka_unit_test(test_totp_uri_encoding), cmocka_unit_test(test_totp_uri_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
