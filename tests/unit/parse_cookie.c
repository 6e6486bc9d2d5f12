/* gateway/cookie.c: Cookie header lookup and Set-Cookie building. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/pool_fixture.h"
#include <stdlib.h>
#include <string.h>

#include "gateway/parse.h"

static void assert_found(const char *header, const char *name, const char *want)
{
    h2o_iovec_t v = {NULL, 0};
    assert_int_equal(gw_cookie_find(header, strlen(header), name, &v), 1);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.base, want, v.len);
}

static void assert_missing(const char *header, const char *name)
{
    h2o_iovec_t v = {NULL, 0};
    assert_int_equal(gw_cookie_find(header, strlen(header), name, &v), 0);
}

/* RFC 6265 §4.2.1 example: "Cookie: SID=31d4d96e407aad42; lang=en-US" */
static void test_rfc_example(void **state)
{
    (void)state;
    assert_found("SID=31d4d96e407aad42; lang=en-US", "SID", "31d4d96e407aad42");
    assert_found("SID=31d4d96e407aad42; lang=en-US", "lang", "en-US");
    assert_missing("SID=31d4d96e407aad42; lang=en-US", "sid"); /* case-sensitive */
    assert_missing("SID=31d4d96e407aad42; lang=en-US", "SI");  /* no prefix match */
    assert_missing("SID=31d4d96e407aad42; lang=en-US", "lang=en-US");
    assert_missing("", "SID");
    assert_missing("SID=1", "");
}

static void test_whitespace_and_quotes(void **state)
{
    (void)state;
    assert_found("  a = 1 ;\tb=\"two\" ;c=", "a", "1");
    assert_found("  a = 1 ;\tb=\"two\" ;c=", "b", "two");
    assert_found("  a = 1 ;\tb=\"two\" ;c=", "c", "");
    assert_found("a=\"\"", "a", "");
    assert_found("a=\"x", "a", "\"x"); /* an unbalanced quote stays */
    assert_found("a==b", "a", "=b");
    assert_found(";;junk;a=1;", "a", "1");
    /* a name that only appears inside a value is not found */
    assert_missing("x=a=1", "a");
    assert_missing("xa=1", "a");
    assert_missing("a", "a");
}

static void test_first_wins(void **state)
{
    (void)state;
    assert_found("sid=new; sid=old", "sid", "new");
}

static void test_multi(void **state)
{
    (void)state;
    h2o_iovec_t headers[] = {
        {(char *)"a=1", 3}, {(char *)"b=2; __Host-sid=xyz", 19}, {(char *)"__Host-sid=zzz", 14}};
    h2o_iovec_t v;
    assert_int_equal(gw_cookie_find_multi(headers, 3, "__Host-sid", &v), 1);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.base, "xyz", 3);
    assert_int_equal(gw_cookie_find_multi(headers, 3, "a", &v), 1);
    assert_int_equal(gw_cookie_find_multi(headers, 3, "c", &v), 0);
    assert_int_equal(gw_cookie_find_multi(headers, 0, "a", &v), 0);
}

static void assert_built(h2o_iovec_t got, const char *want)
{
    assert_non_null(got.base);
    assert_string_equal(got.base, want);
    assert_int_equal(got.len, strlen(want));
}

static void test_build(void **state)
{
    h2o_mem_pool_t *pool = *state;
    assert_built(gw_cookie_build(pool, "sid", h2o_iovec_init(H2O_STRLIT("abc")), 3600, GW_COOKIE_DEFAULT),
                 "sid=abc; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax");
    assert_built(gw_cookie_build(pool, "sid", h2o_iovec_init(H2O_STRLIT("")), 0, GW_COOKIE_DEFAULT),
                 "sid=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax");
    assert_built(gw_cookie_build(pool, "lang", h2o_iovec_init(H2O_STRLIT("en")), -1, 0), "lang=en; Path=/");
    assert_built(gw_cookie_build(pool, "s", h2o_iovec_init(H2O_STRLIT("1")), -1,
                                 GW_COOKIE_HTTPONLY | GW_COOKIE_SAMESITE_STRICT),
                 "s=1; Path=/; HttpOnly; SameSite=Strict");
}

static void test_build_prefixes(void **state)
{
    h2o_mem_pool_t *pool = *state;
    /* RFC 6265bis §4.1.3.2: __Host- needs Secure, Path=/ and no Domain */
    h2o_iovec_t c =
        gw_cookie_build(pool, "__Host-sid", h2o_iovec_init(H2O_STRLIT("v")), 60, GW_COOKIE_HTTPONLY);
    assert_built(c, "__Host-sid=v; Path=/; Max-Age=60; Secure; HttpOnly");
    assert_null(strstr(c.base, "Domain"));
    assert_built(gw_cookie_build(pool, "__Secure-x", h2o_iovec_init(H2O_STRLIT("v")), -1, 0),
                 "__Secure-x=v; Path=/; Secure");
    /* SameSite=None without Secure is dropped by browsers */
    assert_built(gw_cookie_build(pool, "x", h2o_iovec_init(H2O_STRLIT("v")), -1, GW_COOKIE_SAMESITE_NONE),
                 "x=v; Path=/; Secure; SameSite=None");
    /* the broken twin: no prefix, no Secure */
    assert_built(gw_cookie_build(pool, "Host-sid", h2o_iovec_init(H2O_STRLIT("v")), -1, 0),
                 "Host-sid=v; Path=/");
}

static void test_build_rejects(void **state)
{
    h2o_mem_pool_t *pool = *state;
    static const char *bad_values[] = {"a;b",     "a b", "a,b", "a\"b", "a\\b", "a\x7f", "a\nSet-Cookie: x=1",
                                       "\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
        h2o_iovec_t c =
            gw_cookie_build(pool, "sid", h2o_iovec_init(bad_values[i], strlen(bad_values[i])), 1, 0);
        assert_null(c.base);
        assert_int_equal(c.len, 0);
    }
    static const char *bad_names[] = {"", "a b", "a=b", "a;b", "a\tb", "s\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
        assert_null(gw_cookie_build(pool, bad_names[i], h2o_iovec_init(H2O_STRLIT("v")), 1, 0).base);
    /* two SameSite values at once */
    assert_null(gw_cookie_build(pool, "a", h2o_iovec_init(H2O_STRLIT("v")), 1,
                                GW_COOKIE_SAMESITE_LAX | GW_COOKIE_SAMESITE_STRICT)
                    .base);
    /* 4096 bytes of name + value is the limit */
    char *big = malloc(4100);
    memset(big, 'x', 4100);
    assert_non_null(gw_cookie_build(pool, "a", h2o_iovec_init(big, 4095), 1, 0).base);
    assert_null(gw_cookie_build(pool, "a", h2o_iovec_init(big, 4096), 1, 0).base);
    free(big);
}

/* What gw_cookie_build writes, gw_cookie_find reads back. */
static void test_round_trip(void **state)
{
    h2o_mem_pool_t *pool = *state;
    h2o_iovec_t c = gw_cookie_build(pool, "__Host-sid", h2o_iovec_init(H2O_STRLIT("tok.en_-~!")), 1, 0);
    const char *semi = strchr(c.base, ';');
    h2o_iovec_t v;
    assert_int_equal(gw_cookie_find(c.base, (size_t)(semi - c.base), "__Host-sid", &v), 1);
    assert_int_equal(v.len, 10);
    assert_memory_equal(v.base, "tok.en_-~!", 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_example),
        cmocka_unit_test(test_whitespace_and_quotes),
        cmocka_unit_test(test_first_wins),
        cmocka_unit_test(test_multi),
        cmocka_unit_test_setup_teardown(test_build, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests_name("parse_cookie", tests, NULL, NULL);
}
