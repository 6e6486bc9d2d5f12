/* Small pure pieces of the gateway: the error table, log escaping, metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "gateway/err.h"
#include "gateway/log.h"
#include "gateway/metrics.h"

static void test_error_table(void **state)
{
    (void)state;
    assert_int_equal(gw_err_status(GW_E_INVALID_CLIENT), 401);
    assert_string_equal(gw_err_oauth_code(GW_E_INVALID_CLIENT), "invalid_client");
    assert_int_equal(gw_err_status(GW_E_INVALID_GRANT), 400);
    assert_int_equal(gw_err_status(GW_E_UNAVAILABLE), 503);
    assert_string_equal(gw_err_oauth_code(GW_E_UNAVAILABLE), "temporarily_unavailable");
    assert_int_equal(gw_err_status(GW_E_SCIM_UNIQUENESS), 409);
    assert_string_equal(gw_err_scim_type(GW_E_SCIM_UNIQUENESS), "uniqueness");
    assert_string_equal(gw_err_scim_type(GW_E_SCIM_INVALID_FILTER), "invalidFilter");
    assert_null(gw_err_scim_type(GW_E_NOT_FOUND));
    assert_int_equal(gw_err_status((gw_err_kind_t)9999), 500);
    /* Every kind has a status; none is left at 0 by a forgotten table row. */
    for (int k = 0; k < GW_E__COUNT; k++)
        assert_true(gw_err_status((gw_err_kind_t)k) >= 200);
}

static void test_err_macro_fills_and_returns_minus_one(void **state)
{
    (void)state;
    gw_err_t err;
    assert_int_equal(GW_ERRF(&err, GW_E_INVALID_GRANT, "code %s", "expired"), -1);
    assert_int_equal(err.kind, GW_E_INVALID_GRANT);
    assert_string_equal(err.public, "code expired");
    assert_non_null(strstr(err.file, "gateway_basics.c"));
    gw_err_detail(&err, "row %d", 7);
    assert_string_equal(err.detail, "row 7");
    assert_int_equal(GW_ERR(NULL, GW_E_INTERNAL, "ignored"), -1);
    /* What a client sent, quoted in a public message, loses its control
     * characters (libFuzzer's find: a SCIM attribute name with a line break). */
    GW_ERRF(&err, GW_E_SCIM_INVALID_SYNTAX, "unknown attribute '%s'",
            "a\nb\tc\x7f\x01"
            "d\xc3\xa9");
    assert_string_equal(err.public, "unknown attribute 'a?b?c??d\xc3\xa9'");
}

static void test_log_escape(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(gw_log_escape(out, sizeof(out), "a\"b\\c\n\x01", 7), 19);
    assert_string_equal(out, "a\\\"b\\\\c\\u000a\\u0001");
    /* Truncation never splits an escape and always terminates. */
    char small[6];
    gw_log_escape(small, sizeof(small), "ab\ncd", 5);
    assert_string_equal(small, "ab");
    /* UTF-8 as it is; any other byte from 0x80 up as the text \xHH, so a
     * log line stays valid JSON whatever a client sent. */
    assert_int_equal(gw_log_escape(out, sizeof(out), "\xc3\xa9\xff\xed\xa0\x80\xf0\x9f\x98\x80", 10), 26);
    assert_string_equal(out, "\xc3\xa9\\\\xff\\\\xed\\\\xa0\\\\x80\xf0\x9f\x98\x80");
    /* ... and truncation never splits a sequence. */
    char tiny[4];
    gw_log_escape(tiny, sizeof(tiny), "a\xf0\x9f\x98\x80", 5);
    assert_string_equal(tiny, "a");
    gw_log_level_t level;
    assert_int_equal(gw_log_level_parse("warn", &level), 0);
    assert_int_equal(level, GW_LOG_WARN);
    assert_int_equal(gw_log_level_parse("verbose", &level), -1);
}

static gw_metrics_shard_t shard;

static void test_metrics_buckets_and_statuses(void **state)
{
    (void)state;
    gw_metrics_record(&shard, 3, 200, 300000);     /* 0.3 ms: first bucket */
    gw_metrics_record(&shard, 3, 200, 2000000);    /* 2 ms */
    gw_metrics_record(&shard, 3, 404, 9000000000); /* 9 s: +Inf */
    assert_int_equal(atomic_load(&shard.statuses[3][0]), 200);
    assert_int_equal(atomic_load(&shard.requests[3][0]), 2);
    assert_int_equal(atomic_load(&shard.statuses[3][1]), 404);
    assert_int_equal(atomic_load(&shard.requests[3][1]), 1);
    assert_int_equal(atomic_load(&shard.buckets[3][0]), 1);
    assert_int_equal(atomic_load(&shard.buckets[3][2]), 1); /* le=0.0025 */
    assert_int_equal(atomic_load(&shard.buckets[3][GW_METRICS_BUCKETS - 1]), 1);
    /* More distinct statuses than slots land in the last slot, not out of bounds. */
    for (int s = 0; s < GW_METRICS_STATUS_SLOTS + 3; s++)
        gw_metrics_record(&shard, 4, 200 + s, 1000);
    assert_int_equal(atomic_load(&shard.requests[4][GW_METRICS_STATUS_SLOTS - 1]), 4);
    gw_metrics_record(&shard, 100000, 200, 1); /* out-of-range route: the "unmatched" row */
    assert_int_equal(atomic_load(&shard.requests[GW_METRICS_MAX_ROUTES - 1][0]), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_err_macro_fills_and_returns_minus_one),
        cmocka_unit_test(test_log_escape),
        cmocka_unit_test(test_metrics_buckets_and_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
