/* The recovery policy's matching.webhook (recovery/policy.c): the
 * organisation's check can veto a recovery, so a webhook the reader cannot
 * keep (no url, or a url longer than the policy holds) makes the whole
 * policy unusable instead of being dropped, which would recover without the
 * check. Each refused case is paired with the accepted one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "recovery/recovery.h"

static int parse_with_url_of(size_t url_len, rcv_policy_t *p)
{
    static char doc[4096], url[2048];
    char msg[200];
    snprintf(url, sizeof(url), "https://hooks.example/");
    for (size_t n = strlen(url); n < url_len && n + 1 < sizeof(url); n++) {
        url[n] = 'a';
        url[n + 1] = '\0';
    }
    snprintf(doc, sizeof(doc), "{\"mode\":\"enabled\",\"matching\":{\"webhook\":{\"url\":\"%s\"}}}", url);
    return rcv_policy_parse(doc, strlen(doc), p, msg, sizeof(msg));
}

static void url_kept_or_policy_refused(void **state)
{
    (void)state;
    rcv_policy_t p;
    const size_t keep = sizeof(p.webhook_url) - 1;
    assert_int_equal(parse_with_url_of(100, &p), 0);
    assert_int_equal(strlen(p.webhook_url), 100);
    assert_int_equal(parse_with_url_of(keep, &p), 0);
    assert_int_equal(strlen(p.webhook_url), keep);
    /* One more character than is kept: refused, not dropped. */
    assert_int_equal(parse_with_url_of(keep + 1, &p), -1);
    assert_int_equal(parse_with_url_of(1500, &p), -1);
}

static void webhook_without_url(void **state)
{
    (void)state;
    rcv_policy_t p;
    char msg[200];
    const char *none = "{\"mode\":\"enabled\",\"matching\":{\"webhook\":{\"timeoutMs\":100}}}";
    assert_int_equal(rcv_policy_parse(none, strlen(none), &p, msg, sizeof(msg)), -1);
    const char *empty = "{\"mode\":\"enabled\",\"matching\":{\"webhook\":{\"url\":\"\"}}}";
    assert_int_equal(rcv_policy_parse(empty, strlen(empty), &p, msg, sizeof(msg)), -1);
    /* No webhook at all, or null: fine, and none is called. */
    const char *absent = "{\"mode\":\"enabled\",\"matching\":{}}";
    assert_int_equal(rcv_policy_parse(absent, strlen(absent), &p, msg, sizeof(msg)), 0);
    assert_string_equal(p.webhook_url, "");
    const char *null = "{\"mode\":\"enabled\",\"matching\":{\"webhook\":null}}";
    assert_int_equal(rcv_policy_parse(null, strlen(null), &p, msg, sizeof(msg)), 0);
    assert_string_equal(p.webhook_url, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_kept_or_policy_refused),
        cmocka_unit_test(webhook_without_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
