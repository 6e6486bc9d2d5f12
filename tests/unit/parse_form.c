/* gateway/form.c: form bodies, query strings, percent-encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/pool_fixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/parse.h"

static int parse(void **state, const char *s, size_t max, gw_kvs_t *kvs, gw_err_t *err)
{
    memset(err, 0, sizeof(*err));
    return gw_form_parse(*state, s, strlen(s), max, kvs, err);
}

static void assert_iov(h2o_iovec_t v, const char *want)
{
    assert_non_null(v.base);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.base, want, v.len);
    assert_int_equal(v.base[v.len], '\0');
}

/* RFC 6749 §4.1.3 example body. */
static void test_token_request(void **state)
{
    gw_kvs_t kvs;
    gw_err_t err;
    assert_int_equal(parse(state,
                           "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA"
                           "&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb",
                           16, &kvs, &err),
                     0);
    assert_int_equal(kvs.count, 3);
    assert_iov(kvs.items[0].name, "grant_type");
    assert_iov(kvs.items[0].value, "authorization_code");
    assert_iov(*gw_kvs_find(&kvs, "code"), "SplxlOBeZQQYbYS6WxSbIA");
    assert_iov(*gw_kvs_find(&kvs, "redirect_uri"), "https://client.example.com/cb");
    assert_null(gw_kvs_find(&kvs, "Code")); /* case-sensitive */
    assert_null(gw_kvs_find(&kvs, "state"));
}

static void test_plus_and_query_mark(void **state)
{
    gw_kvs_t kvs;
    gw_err_t err;
    assert_int_equal(parse(state, "?scope=openid+profile%20email&&&flag&=v&", 16, &kvs, &err), 0);
    assert_int_equal(kvs.count, 3);
    assert_iov(kvs.items[0].value, "openid profile email");
    assert_iov(kvs.items[1].name, "flag");
    assert_iov(kvs.items[1].value, "");
    assert_iov(kvs.items[2].name, "");
    assert_iov(kvs.items[2].value, "v");
    /* '=' inside a value stays, only the first splits */
    assert_int_equal(parse(state, "a=b=c%3D", 4, &kvs, &err), 0);
    assert_iov(kvs.items[0].value, "b=c=");
    /* '+' written as %2B is a plus, not a space */
    assert_int_equal(parse(state, "a=%2B+", 4, &kvs, &err), 0);
    assert_iov(kvs.items[0].value, "+ ");
}

static void test_empty(void **state)
{
    gw_kvs_t kvs;
    gw_err_t err;
    assert_int_equal(parse(state, "", 4, &kvs, &err), 0);
    assert_int_equal(kvs.count, 0);
    assert_int_equal(parse(state, "?&&", 4, &kvs, &err), 0);
    assert_int_equal(kvs.count, 0);
    assert_null(gw_kvs_find(&kvs, "a"));
}

static void test_bad_escapes(void **state)
{
    static const char *bad[] = {"a=%G1", "a=%4", "a=%", "a=%%41", "%zz=1", "a=1&b=%4g", "a=%1"};
    gw_kvs_t kvs;
    gw_err_t err;
    /* the good twins */
    assert_int_equal(parse(state, "a=%41", 4, &kvs, &err), 0);
    assert_iov(kvs.items[0].value, "A");
    assert_int_equal(parse(state, "a=%e2%82%ac", 4, &kvs, &err), 0);
    assert_iov(kvs.items[0].value, "\xe2\x82\xac");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(state, bad[i], 4, &kvs, &err), -1);
        assert_int_equal(err.kind, GW_E_INVALID_REQUEST);
        assert_string_equal(err.public, "malformed percent-encoding in parameter");
    }
    /* an escape cut by the length, with hex digits just past it, is still truncated */
    assert_int_equal(gw_form_parse(*state, "a=%4142", 4, 4, &kvs, &err), -1);
    assert_int_equal(gw_form_parse(*state, "a=%4142", 3, 4, &kvs, &err), -1);
    assert_int_equal(gw_form_parse(*state, "a=%4142", 5, 4, &kvs, &err), 0);
}

static void test_nul(void **state)
{
    gw_kvs_t kvs;
    gw_err_t err;
    assert_int_equal(parse(state, "a=%01", 4, &kvs, &err), 0);
    assert_int_equal(parse(state, "a=%00", 4, &kvs, &err), -1);
    assert_int_equal(err.kind, GW_E_INVALID_REQUEST);
    assert_int_equal(parse(state, "x%00y=1", 4, &kvs, &err), -1);
    /* a raw NUL in the middle of the input */
    memset(&err, 0, sizeof(err));
    assert_int_equal(gw_form_parse(*state, "a=b\0c", 5, 4, &kvs, &err), -1);
    assert_int_equal(err.kind, GW_E_INVALID_REQUEST);
}

static void test_utf8(void **state)
{
    static const char *bad[] = {
        "a=%ff",             /* never valid */
        "a=%c3",             /* truncated */
        "a=%c0%af",          /* overlong '/' */
        "a=%e0%80%af",       /* overlong, 3 bytes */
        "a=%ed%a0%80",       /* UTF-16 surrogate */
        "a=%f4%90%80%80",    /* above U+10FFFF */
        "a=%e2%82",          /* truncated 3 bytes */
        "a=\xc3\x28",        /* raw bad continuation */
        "%80=1",             /* lone continuation in a name */
        "a=%f0%9f%98%80%80", /* extra continuation */
    };
    gw_kvs_t kvs;
    gw_err_t err;
    assert_int_equal(parse(state, "a=%c3%a9&b=\xc3\xa9&c=%f0%9f%98%80&d=%ef%bf%bf", 4, &kvs, &err), 0);
    assert_iov(kvs.items[0].value, "\xc3\xa9");
    assert_iov(kvs.items[1].value, "\xc3\xa9");
    assert_iov(kvs.items[2].value, "\xf0\x9f\x98\x80");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(state, bad[i], 4, &kvs, &err), -1);
        assert_string_equal(err.public, "parameter is not valid UTF-8");
    }
}

static void test_max_params(void **state)
{
    gw_kvs_t kvs;
    gw_err_t err;
    assert_int_equal(parse(state, "a=1&b=2&c=3", 3, &kvs, &err), 0);
    assert_int_equal(kvs.count, 3);
    /* empty pairs do not count */
    assert_int_equal(parse(state, "a=1&&b=2&c=3&", 3, &kvs, &err), 0);
    assert_int_equal(parse(state, "a=1&b=2&c=3&d", 3, &kvs, &err), -1);
    assert_int_equal(err.kind, GW_E_INVALID_REQUEST);
    assert_string_equal(err.public, "too many parameters");
    assert_null(kvs.items);
    assert_int_equal(kvs.count, 0);
}

static void test_get_once(void **state)
{
    gw_kvs_t kvs;
    gw_err_t err;
    h2o_iovec_t v;
    assert_int_equal(parse(state, "response_type=code&client_id=s6BhdRkqt3&state=", 8, &kvs, &err), 0);
    assert_int_equal(gw_kvs_get_once(&kvs, "client_id", &v, &err), 0);
    assert_iov(v, "s6BhdRkqt3");
    /* RFC 6749 §3.1: without a value is as if omitted */
    assert_int_equal(gw_kvs_get_once(&kvs, "state", &v, &err), 0);
    assert_null(v.base);
    assert_int_equal(v.len, 0);
    assert_int_equal(gw_kvs_get_once(&kvs, "nonce", &v, &err), 0);
    assert_null(v.base);

    /* the broken twin: the same parameter twice */
    assert_int_equal(parse(state, "response_type=code&client_id=a&client_id=b", 8, &kvs, &err), 0);
    assert_iov(*gw_kvs_find(&kvs, "client_id"), "a");
    assert_int_equal(gw_kvs_get_once(&kvs, "client_id", &v, &err), -1);
    assert_int_equal(err.kind, GW_E_INVALID_REQUEST);
    assert_string_equal(err.public, "parameter client_id repeated");
    assert_null(v.base);
    /* an empty repeat is not a repeat */
    assert_int_equal(parse(state, "client_id=a&client_id=", 8, &kvs, &err), 0);
    assert_int_equal(gw_kvs_get_once(&kvs, "client_id", &v, &err), 0);
    assert_iov(v, "a");
    /* the same value twice is still repeated */
    assert_int_equal(parse(state, "client_id=a&client_id=a", 8, &kvs, &err), 0);
    assert_int_equal(gw_kvs_get_once(&kvs, "client_id", &v, &err), -1);
}

static void test_url_encode(void **state)
{
    h2o_iovec_t e = gw_url_encode(*state, "AZaz09-._~", 10);
    assert_iov(e, "AZaz09-._~");
    e = gw_url_encode(*state, "a b+c/d?e=f&g#h%", 16);
    assert_iov(e, "a%20b%2Bc%2Fd%3Fe%3Df%26g%23h%25");
    e = gw_url_encode(*state, "\xc3\xa9\x00\xff", 4);
    assert_iov(e, "%C3%A9%00%FF");
    e = gw_url_encode(*state, "", 0);
    assert_iov(e, "");
}

/* Encoding then parsing gives back every byte string that the parser accepts. */
static void test_round_trip(void **state)
{
    static const char *values[] = {"https://rp.example/cb?x=1&y=2", "a+b c", "%41", "\xe2\x82\xac\x7f",
                                   "=&?#"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        h2o_iovec_t e = gw_url_encode(*state, values[i], strlen(values[i]));
        char body[256];
        snprintf(body, sizeof(body), "k=%s", e.base);
        gw_kvs_t kvs;
        gw_err_t err;
        assert_int_equal(parse(state, body, 2, &kvs, &err), 0);
        assert_int_equal(kvs.count, 1);
        assert_iov(kvs.items[0].value, values[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plus_and_query_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_encode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests_name("parse_form", tests, NULL, NULL);
}
