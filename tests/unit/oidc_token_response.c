/* The token response body (oidc/token_response.c): the members in order,
 * byte for byte as the JSON writer writes them; members left out when NULL;
 * a string that needs escaping (quote, backslash, control character,
 * non-ASCII) parses back to itself; invalid UTF-8 is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gateway/json.h"
#include "oidc/tokens_internal.h"

#define AT  "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.MEUCIQDx-_abc"
#define IDT "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ3ZWIifQ.c2ln_-"
#define RT  "q0P9-_zXy"

/* What the JSON writer makes of the same members. */
static char *via_writer(const char *at, int64_t exp, const char *scope, const char *idt, const char *rt)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "access_token", at);
    gw_jw_kv_str(w, "token_type", "Bearer");
    gw_jw_kv_int64(w, "expires_in", exp);
    if (scope)
        gw_jw_kv_str(w, "scope", scope);
    if (idt)
        gw_jw_kv_str(w, "id_token", idt);
    if (rt)
        gw_jw_kv_str(w, "refresh_token", rt);
    gw_jw_obj_close(w);
    size_t n = 0;
    const char *buf = gw_jw_buf(w, &n);
    assert_non_null(buf);
    char *out = strndup(buf, n);
    gw_jw_free(w);
    return out;
}

static void same_as_writer(const char *at, int64_t exp, const char *scope, const char *idt, const char *rt)
{
    size_t len = 0;
    char *got = oidc_token_response_json(at, exp, scope, idt, rt, &len);
    char *want = via_writer(at, exp, scope, idt, rt);
    assert_non_null(got);
    assert_int_equal(len, strlen(got));
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void test_plain_matches_writer(void **state)
{
    (void)state;
    same_as_writer(AT, 600, "openid profile offline_access", IDT, RT);
    same_as_writer(AT, 600, "openid profile", IDT, NULL);
    same_as_writer(AT, 3600, "admin", NULL, NULL);
    same_as_writer(AT, 1, NULL, NULL, NULL);
    same_as_writer(AT, 0, "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~", NULL, NULL); /* every NQCHAR punctuation */
}

static void test_members_left_out(void **state)
{
    (void)state;
    size_t len = 0;
    char *got = oidc_token_response_json(AT, 600, NULL, NULL, NULL, &len);
    assert_non_null(got);
    gw_err_t err;
    yajl_val v = gw_json_parse(got, len, NULL, &err);
    assert_non_null(v);
    assert_string_equal(gw_json_str(v, "access_token"), AT);
    assert_string_equal(gw_json_str(v, "token_type"), "Bearer");
    assert_null(gw_json_get(v, "scope"));
    assert_null(gw_json_get(v, "id_token"));
    assert_null(gw_json_get(v, "refresh_token"));
    yajl_tree_free(v);
    free(got);
}

/* The broken twins of a plain scope: each needs escaping. */
static void test_escaped_strings_parse_back(void **state)
{
    (void)state;
    static const char *const SCOPES[] = {"a\"b", "a\\b", "a\nb", "a\x01", "caf\xc3\xa9", "\x7f"};
    for (size_t i = 0; i < sizeof(SCOPES) / sizeof(SCOPES[0]); i++) {
        size_t len = 0;
        char *got = oidc_token_response_json(AT, 600, SCOPES[i], IDT, RT, &len);
        assert_non_null(got);
        gw_err_t err;
        yajl_val v = gw_json_parse(got, len, NULL, &err);
        assert_non_null(v);
        assert_string_equal(gw_json_str(v, "scope"), SCOPES[i]);
        assert_string_equal(gw_json_str(v, "id_token"), IDT);
        assert_string_equal(gw_json_str(v, "refresh_token"), RT);
        yajl_tree_free(v);
        free(got);
    }
    /* An escaped token, not only an escaped scope. */
    size_t len = 0;
    char *got = oidc_token_response_json("x\"y", 5, NULL, NULL, "r\\t", &len);
    assert_non_null(got);
    gw_err_t err;
    yajl_val v = gw_json_parse(got, len, NULL, &err);
    assert_non_null(v);
    assert_string_equal(gw_json_str(v, "access_token"), "x\"y");
    assert_string_equal(gw_json_str(v, "refresh_token"), "r\\t");
    yajl_tree_free(v);
    free(got);
}

static void test_invalid_utf8_refused(void **state)
{
    (void)state;
    size_t len = 0;
    assert_null(oidc_token_response_json(AT, 600, "caf\xc3", NULL, NULL, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_matches_writer),
        cmocka_unit_test(test_members_left_out),
        cmocka_unit_test(test_escaped_strings_parse_back),
        cmocka_unit_test(test_invalid_utf8_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
