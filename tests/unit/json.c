/* gateway/json_parse.c and gateway/json_write.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/json.h"

static yajl_val parse(const char *s, const gw_json_limits_t *lim, gw_err_t *err)
{
    memset(err, 0, sizeof(*err));
    return gw_json_parse(s, strlen(s), lim, err);
}

static void assert_rejected(const char *s, const gw_json_limits_t *lim, gw_err_kind_t kind, const char *msg)
{
    gw_err_t err;
    yajl_val v = parse(s, lim, &err);
    if (v != NULL)
        fail_msg("accepted: %s", s);
    assert_int_equal(err.kind, kind);
    if (msg != NULL)
        assert_string_equal(err.public, msg);
    assert_null(strchr(err.public, '\n'));
}

static void assert_accepted(const char *s, const gw_json_limits_t *lim)
{
    gw_err_t err;
    yajl_val v = parse(s, lim, &err);
    if (v == NULL)
        fail_msg("rejected: %s (%s; %s)", s, err.public, err.detail);
    yajl_tree_free(v);
}

/* RFC 7643 §8.1 minimal user. */
static const char *user =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
    "\"id\":\"2819c223-7f76-453a-919d-413861904646\",\"userName\":\"Bjensen@example.com\","
    "\"active\":true,\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"3694e05e\\\"\"},"
    "\"n\":-42,\"big\":9223372036854775808,\"f\":1.5,\"nil\":null}";

static void test_parse_user(void **state)
{
    (void)state;
    gw_err_t err;
    yajl_val v = parse(user, NULL, &err);
    assert_non_null(v);
    assert_true(YAJL_IS_OBJECT(v));
    assert_string_equal(gw_json_str(v, "userName"), "Bjensen@example.com");
    assert_null(gw_json_str(v, "username")); /* exact lookup */
    assert_null(gw_json_str(v, "active"));   /* not a string */
    assert_null(gw_json_str(v, "missing"));
    assert_string_equal(YAJL_GET_STRING(gw_json_find_ci(v, "USERNAME")), "Bjensen@example.com");
    assert_null(gw_json_find_ci(v, "user"));
    assert_string_equal(gw_json_str(gw_json_get(v, "meta"), "version"), "W/\"3694e05e\"");
    yajl_val schemas = gw_json_get(v, "schemas");
    assert_true(YAJL_IS_ARRAY(schemas));
    assert_int_equal(YAJL_GET_ARRAY(schemas)->len, 1);

    bool b = false;
    assert_int_equal(gw_json_get_bool(v, "active", &b), GW_JSON_OK);
    assert_true(b);
    assert_int_equal(gw_json_get_bool(v, "userName", &b), GW_JSON_WRONG_TYPE);
    assert_int_equal(gw_json_get_bool(v, "nope", &b), GW_JSON_ABSENT);
    int64_t i = 0;
    assert_int_equal(gw_json_get_int64(v, "n", &i), GW_JSON_OK);
    assert_int_equal(i, -42);
    assert_int_equal(gw_json_get_int64(v, "big", &i), GW_JSON_WRONG_TYPE);
    assert_string_equal(YAJL_GET_NUMBER(gw_json_get(v, "big")), "9223372036854775808");
    assert_int_equal(gw_json_get_int64(v, "f", &i), GW_JSON_WRONG_TYPE);
    assert_true(YAJL_IS_DOUBLE(gw_json_get(v, "f")));
    assert_true(YAJL_IS_NULL(gw_json_get(v, "nil")));
    assert_null(gw_json_get(schemas, "x")); /* not an object */
    assert_null(gw_json_get(NULL, "x"));

    /* yajl_tree_get works on the tree as on yajl's own */
    const char *path[] = {"meta", "resourceType", NULL};
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(v, path, yajl_t_string)), "User");
    yajl_tree_free(v);
}

static void test_int64_edges(void **state)
{
    (void)state;
    gw_err_t err;
    yajl_val v =
        parse("{\"min\":-9223372036854775808,\"max\":9223372036854775807,\"e\":1e3,\"z\":-0}", NULL, &err);
    assert_non_null(v);
    int64_t i;
    assert_int_equal(gw_json_get_int64(v, "min", &i), GW_JSON_OK);
    assert_true(i == INT64_MIN);
    assert_int_equal(gw_json_get_int64(v, "max", &i), GW_JSON_OK);
    assert_true(i == INT64_MAX);
    assert_int_equal(gw_json_get_int64(v, "e", &i), GW_JSON_WRONG_TYPE);
    assert_int_equal(gw_json_get_int64(v, "z", &i), GW_JSON_OK);
    assert_int_equal(i, 0);
    yajl_tree_free(v);
}

static void test_scalars_and_require_object(void **state)
{
    (void)state;
    gw_json_limits_t obj = {.require_object = true};
    assert_accepted("\"x\"", NULL);
    assert_accepted("  [1, 2]  ", NULL);
    assert_accepted("true", NULL);
    assert_accepted("{}", &obj);
    assert_rejected("\"x\"", &obj, GW_E_SCIM_INVALID_SYNTAX, "JSON body must be an object");
    assert_rejected("[{}]", &obj, GW_E_SCIM_INVALID_SYNTAX, "JSON body must be an object");
    assert_rejected("3", &obj, GW_E_SCIM_INVALID_SYNTAX, "JSON body must be an object");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",    "   ", "{",   "{\"a\":1,}", "[1,]",       "{\"a\" 1}", "{a:1}",        "[1] [2]",
        "1 x", "NaN", "'a'", "[01]",       "{\"a\":1}}", "\"\\x\"",   "\"\\ud800\"x", "[\"a\tb\"]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejected(bad[i], NULL, GW_E_SCIM_INVALID_SYNTAX, NULL);
    /* the public message is one short line, yajl's text goes to the detail */
    gw_err_t err;
    assert_null(parse("{\"a\":1,}", NULL, &err));
    assert_string_equal(err.public, "invalid JSON near byte 8");
    assert_true(strlen(err.detail) > 0);
    assert_string_equal(err.detail, "parse error: invalid object key (must be a string)");
    assert_null(strstr(err.public, "right here"));
}

static void test_comments(void **state)
{
    (void)state;
    assert_accepted("{\"a\":1}", NULL);
    assert_rejected("{\"a\":1 /* c */}", NULL, GW_E_SCIM_INVALID_SYNTAX, NULL);
    assert_rejected("/* c */ {\"a\":1}", NULL, GW_E_SCIM_INVALID_SYNTAX, NULL);
    assert_rejected("{\"a\":1} // c", NULL, GW_E_SCIM_INVALID_SYNTAX, NULL);
    /* comment-like text inside a string is just text */
    assert_accepted("{\"a\":\"/* c */\"}", NULL);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    gw_json_limits_t ci = {.unique_keys_ci = true};
    assert_accepted("{\"a\":1,\"b\":2}", NULL);
    assert_rejected("{\"a\":1,\"a\":2}", NULL, GW_E_SCIM_INVALID_SYNTAX, "duplicate key in JSON object");
    /* at depth, and inside arrays */
    assert_accepted("{\"x\":[{\"a\":1},{\"a\":1}],\"a\":{\"a\":1}}", NULL);
    assert_rejected("{\"x\":[{\"a\":1},{\"b\":1,\"a\":2,\"b\":3}]}", NULL, GW_E_SCIM_INVALID_SYNTAX, NULL);
    /* escapes decode before comparing */
    assert_rejected("{\"a\":1,\"\\u0061\":2}", NULL, GW_E_SCIM_INVALID_SYNTAX, NULL);
    /* case: distinct by default, duplicate for SCIM */
    assert_accepted("{\"userName\":1,\"USERNAME\":2}", NULL);
    assert_rejected("{\"userName\":1,\"USERNAME\":2}", &ci, GW_E_SCIM_INVALID_SYNTAX, NULL);
    assert_accepted("{\"userName\":1,\"name\":2}", &ci);

    /* many keys take the sorting path; the duplicate is the last key */
    char buf[8192];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{");
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\"k%d\":%d,", i, i);
    snprintf(buf + n, sizeof(buf) - n, "\"k500\":0}");
    assert_accepted(buf, NULL);
    snprintf(buf + n, sizeof(buf) - n, "\"k250\":0}");
    assert_rejected(buf, NULL, GW_E_SCIM_INVALID_SYNTAX, "duplicate key in JSON object");
}

static char *nest_arrays(unsigned depth)
{
    char *s = malloc(2 * depth + 1);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';
    return s;
}

static void test_depth(void **state)
{
    (void)state;
    gw_json_limits_t lim = {.max_depth = 5};
    char *ok = nest_arrays(5), *deep = nest_arrays(6);
    assert_accepted(ok, &lim);
    assert_rejected(deep, &lim, GW_E_SCIM_INVALID_SYNTAX, "JSON nested too deeply");
    assert_accepted("[[[[[1]]]]]", &lim);
    assert_rejected("[[[[[[1]]]]]]", &lim, GW_E_SCIM_INVALID_SYNTAX, NULL);
    assert_accepted("{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}", &lim);
    assert_rejected("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{}}}}}}", &lim, GW_E_SCIM_INVALID_SYNTAX, NULL);
    free(ok);
    free(deep);
    /* default limit, and a large one (heap stack) */
    ok = nest_arrays(GW_JSON_DEFAULT_MAX_DEPTH);
    deep = nest_arrays(GW_JSON_DEFAULT_MAX_DEPTH + 1);
    assert_accepted(ok, NULL);
    assert_rejected(deep, NULL, GW_E_SCIM_INVALID_SYNTAX, "JSON nested too deeply");
    free(ok);
    free(deep);
    lim.max_depth = 1000;
    ok = nest_arrays(1000);
    deep = nest_arrays(1001);
    assert_accepted(ok, &lim);
    assert_rejected(deep, &lim, GW_E_SCIM_INVALID_SYNTAX, NULL);
    free(ok);
    free(deep);
    /* a huge limit costs nothing up front */
    lim.max_depth = UINT_MAX;
    assert_accepted("[[1]]", &lim);
    /* 200,000 levels (DEPENDENCIES.md §7) stop at the limit, no recursion */
    deep = nest_arrays(200000);
    assert_rejected(deep, NULL, GW_E_SCIM_INVALID_SYNTAX, NULL);
    free(deep);
}

static void test_max_bytes(void **state)
{
    (void)state;
    gw_json_limits_t lim = {.max_bytes = 10};
    assert_accepted("[\"123456\"]", &lim); /* exactly 10 */
    assert_rejected("[\"1234567\"]", &lim, GW_E_PAYLOAD_TOO_LARGE, "JSON body too large");
}

static void test_nul(void **state)
{
    (void)state;
    gw_err_t err;
    const char doc[] = "{\"a\":\"b\"}\0{\"c\":1}";
    yajl_val v = gw_json_parse(doc, 9, NULL, &err);
    assert_non_null(v);
    yajl_tree_free(v);
    assert_null(gw_json_parse(doc, sizeof(doc) - 1, NULL, &err));
    assert_string_equal(err.public, "NUL byte in JSON body");
    assert_null(gw_json_parse("{\"a\":\"b\0\"}", 10, NULL, &err));
    /* escaped NUL would silently truncate the C string in the tree */
    assert_accepted("{\"a\":\"b\\u0001\"}", NULL);
    assert_rejected("{\"a\":\"b\\u0000c\"}", NULL, GW_E_SCIM_INVALID_SYNTAX, "JSON string contains \\u0000");
    assert_rejected("{\"a\\u0000b\":1}", NULL, GW_E_SCIM_INVALID_SYNTAX, "JSON key contains \\u0000");
    /* the buffer needs no terminator: parse a prefix of a longer string */
    v = gw_json_parse("[1,2]garbage", 5, NULL, &err);
    assert_non_null(v);
    yajl_tree_free(v);
    assert_null(gw_json_parse(NULL, 0, NULL, &err));
}

static void test_utf8(void **state)
{
    (void)state;
    assert_accepted("[\"\xc3\xa9\xf0\x9f\x98\x80\"]", NULL);
    assert_accepted("[\"\\u00e9\\ud83d\\ude00\"]", NULL);
    assert_rejected("[\"\xc3\"]", NULL, GW_E_SCIM_INVALID_SYNTAX, NULL);
    assert_rejected("[\"\xff\"]", NULL, GW_E_SCIM_INVALID_SYNTAX, NULL);
    assert_rejected("{\"\xc3\":1}", NULL, GW_E_SCIM_INVALID_SYNTAX, NULL);
}

static void test_pool(void **state)
{
    (void)state;
    h2o_mem_pool_t pool;
    gw_err_t err;
    h2o_mem_init_pool(&pool);
    yajl_val v = gw_json_parse_pool(&pool, user, strlen(user), NULL, &err);
    assert_non_null(v);
    assert_string_equal(gw_json_str(v, "id"), "2819c223-7f76-453a-919d-413861904646");
    assert_null(gw_json_parse_pool(&pool, "{", 1, NULL, &err));
    h2o_mem_clear_pool(&pool); /* frees the tree; ASan reports a leak otherwise */
}

/* ---- writer ---- */

static void assert_doc(gw_jw_t *w, const char *want)
{
    size_t len;
    const char *buf = gw_jw_buf(w, &len);
    gw_err_t err;
    assert_int_equal(gw_jw_error(w, &err), 0);
    assert_non_null(buf);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    gw_jw_free(w);
}

static void assert_failed(gw_jw_t *w)
{
    size_t len = 99;
    gw_err_t err;
    assert_null(gw_jw_buf(w, &len));
    assert_int_equal(len, 0);
    assert_int_equal(gw_jw_error(w, &err), -1);
    assert_int_equal(err.kind, GW_E_INTERNAL);
    assert_string_equal(err.public, "could not encode response");
    gw_jw_free(w);
}

static void test_write(void **state)
{
    (void)state;
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "iss", "https://op.example");
    gw_jw_kv_int64(w, "exp", 1311281970);
    gw_jw_kv_int64(w, "neg", INT64_MIN);
    gw_jw_kv_bool(w, "ok", true);
    gw_jw_kv_null(w, "none");
    gw_jw_kv_strn(w, "ctl", "a\"\\\n\x01/", 6);
    gw_jw_kv_str(w, "nil", NULL);
    gw_jw_key(w, "amr");
    gw_jw_arr_open(w);
    gw_jw_str(w, "pwd");
    gw_jw_bool(w, false);
    gw_jw_null(w);
    gw_jw_arr_close(w);
    gw_jw_obj_close(w);
    assert_doc(w,
               "{\"iss\":\"https://op.example\",\"exp\":1311281970,\"neg\":-9223372036854775808,\"ok\":true,"
               "\"none\":null,\"ctl\":\"a\\\"\\\\\\n\\u0001/\",\"nil\":null,\"amr\":[\"pwd\",false,null]}");
}

static void test_write_raw(void **state)
{
    (void)state;
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_raw(w, "vc", "{\"a\":[1,2]}", 11);
    gw_jw_kv_int64(w, "after", 1); /* separator and key state stay right */
    gw_jw_key(w, "arr");
    gw_jw_arr_open(w);
    gw_jw_raw(w, "12345678901234567890", 20);
    gw_jw_raw(w, "[]", 2);
    gw_jw_str(w, "x");
    gw_jw_arr_close(w);
    gw_jw_obj_close(w);
    const char *want = "{\"vc\":{\"a\":[1,2]},\"after\":1,\"arr\":[12345678901234567890,[],\"x\"]}";
    size_t len;
    const char *buf = gw_jw_buf(w, &len);
    assert_non_null(buf);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    /* and the output parses strictly */
    gw_err_t err;
    yajl_val v = gw_json_parse(buf, len, NULL, &err);
    assert_non_null(v);
    yajl_tree_free(v);
    gw_jw_free(w);

    /* raw at top level is a whole document */
    w = gw_jw_new();
    gw_jw_raw(w, "{}", 2);
    assert_doc(w, "{}");
    /* raw where a key belongs, or empty raw, fails */
    w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_raw(w, "1", 1);
    gw_jw_obj_close(w);
    assert_failed(w);
    w = gw_jw_new();
    gw_jw_arr_open(w);
    gw_jw_raw(w, "", 0);
    gw_jw_arr_close(w);
    assert_failed(w);
}

static void test_write_bad_utf8(void **state)
{
    (void)state;
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "name", "caf\xc3\xa9");
    gw_jw_obj_close(w);
    assert_doc(w, "{\"name\":\"caf\xc3\xa9\"}");
    /* the broken twin: a truncated sequence, in a value and in a key */
    w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "name", "caf\xc3");
    gw_jw_kv_str(w, "more", "x"); /* ignored after the failure */
    gw_jw_obj_close(w);
    gw_err_t err;
    assert_int_equal(gw_jw_error(w, &err), -1);
    assert_non_null(strstr(err.detail, "UTF-8"));
    assert_failed(w);
    w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "\xff", "x");
    gw_jw_obj_close(w);
    assert_failed(w);
}

static void test_write_structure(void **state)
{
    (void)state;
    gw_jw_t *w;
    /* unclosed */
    w = gw_jw_new();
    gw_jw_obj_open(w);
    assert_failed(w);
    /* key with no value */
    w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "a");
    gw_jw_obj_close(w);
    assert_failed(w);
    /* mismatched close */
    w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_arr_close(w);
    assert_failed(w);
    /* value without key */
    w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_int64(w, 1);
    gw_jw_obj_close(w);
    assert_failed(w);
    /* key in an array */
    w = gw_jw_new();
    gw_jw_arr_open(w);
    gw_jw_key(w, "a");
    gw_jw_arr_close(w);
    assert_failed(w);
    /* two documents */
    w = gw_jw_new();
    gw_jw_int64(w, 1);
    gw_jw_int64(w, 2);
    assert_failed(w);
    /* empty */
    w = gw_jw_new();
    assert_failed(w);
    /* too deep */
    w = gw_jw_new();
    for (int i = 0; i < 129; i++)
        gw_jw_arr_open(w);
    assert_failed(w);
    gw_jw_free(NULL);
}

/* Parse speed for a 4 KiB SCIM-like document; printed, not asserted. */
static void test_speed(void **state)
{
    (void)state;
    char doc[4200];
    size_t n = 0;
    n += (size_t)snprintf(
        doc + n, sizeof(doc) - n,
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"bjensen\","
        "\"active\":true,\"emails\":[");
    for (int i = 0; n < 4000; i++)
        n += (size_t)snprintf(
            doc + n, sizeof(doc) - n,
            "%s{\"value\":\"user%d@example.com\",\"type\":\"work\",\"primary\":false,\"n\":%d}", i ? "," : "",
            i, i * 7);
    n += (size_t)snprintf(doc + n, sizeof(doc) - n, "]}");
    gw_err_t err;
    const int iters = 5000;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < iters; i++) {
        yajl_val v = gw_json_parse(doc, n, NULL, &err);
        assert_non_null(v);
        yajl_tree_free(v);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s1 = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    /* yajl_tree_parse needs a NUL-terminated copy, as a caller would make */
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < iters; i++) {
        char *copy = malloc(n + 1);
        memcpy(copy, doc, n);
        copy[n] = '\0';
        yajl_val v = yajl_tree_parse(copy, NULL, 0);
        assert_non_null(v);
        yajl_tree_free(v);
        free(copy);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s2 = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("# json parse, %zu-byte document: gw_json_parse %.1f us (%.0f MB/s), yajl_tree_parse %.1f us\n", n,
           s1 / iters * 1e6, (double)n * iters / s1 / 1e6, s2 / iters * 1e6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_user),
        cmocka_unit_test(test_int64_edges),
        cmocka_unit_test(test_scalars_and_require_object),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_max_bytes),
        cmocka_unit_test(test_nul),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_write),
        cmocka_unit_test(test_write_raw),
        cmocka_unit_test(test_write_bad_utf8),
        cmocka_unit_test(test_write_structure),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
