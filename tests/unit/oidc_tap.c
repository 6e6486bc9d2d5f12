/* The TAP as text, the TAP policy, issue bounds and the recovery policy
 * (oidc/tap.c, oidc/recovery_policy.c): generation from the alphabet with
 * every symbol reachable, grouping, normalisation (case, separators) with
 * broken twins, the keyed hash, RFC 3339, and field-named validation errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "oidc/tap_internal.h"
#include "recovery/recovery.h"

static yajl_val parse(const char *s)
{
    gw_err_t err;
    yajl_val v = gw_json_parse(s, strlen(s), NULL, &err);
    assert_non_null(v);
    return v;
}

static void generate(void **state)
{
    (void)state;
    char tap[OIDC_TAP_LENGTH_MAX + 1], other[OIDC_TAP_LENGTH_MAX + 1];
    int seen[256] = {0};
    for (int i = 0; i < 400; i++) {
        oidc_tap_generate(16, tap);
        assert_int_equal(strlen(tap), 16);
        for (size_t j = 0; j < 16; j++) {
            assert_non_null(strchr(OIDC_TAP_ALPHABET, tap[j]));
            seen[(unsigned char)tap[j]]++;
        }
    }
    /* 6400 draws from 31 symbols: every one appears. */
    for (const char *p = OIDC_TAP_ALPHABET; *p; p++)
        assert_true(seen[(unsigned char)*p] > 0);
    /* No confusable characters in the alphabet. */
    for (const char *p = "01OILl"; *p; p++)
        assert_null(strchr(OIDC_TAP_ALPHABET, *p));
    assert_int_equal(strlen(OIDC_TAP_ALPHABET), 31);
    oidc_tap_generate(16, other);
    assert_string_not_equal(tap, other);
    oidc_tap_generate(48, tap);
    assert_int_equal(strlen(tap), 48);
    oidc_tap_generate(8, tap);
    assert_int_equal(strlen(tap), 8);
}

static void format_and_normalise(void **state)
{
    (void)state;
    char out[OIDC_TAP_DISPLAY_MAX + 1], norm[OIDC_TAP_LENGTH_MAX + 1];
    oidc_tap_format("ABCDEFGHJKMNPQRS", 16, out);
    assert_string_equal(out, "ABCD-EFGH-JKMN-PQRS");
    oidc_tap_format("ABCDEFGHJK", 10, out);
    assert_string_equal(out, "ABCD-EFGH-JK");
    const char *same[] = {"ABCD-EFGH-JKMN-PQRS", "abcdefghjkmnpqrs", " abcd efgh-JKMN.pqrs\t",
                          "ab_cd-ef_gh-jk-mn-pq-rs"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        assert_int_equal(oidc_tap_normalise(same[i], strlen(same[i]), norm), 16);
        assert_string_equal(norm, "ABCDEFGHJKMNPQRS");
    }
    /* Broken twins: a confusable character, too short, too long, junk. */
    assert_int_equal(oidc_tap_normalise("ABCD-EFGH-JKMN-PQR0", 19, norm), -1);
    assert_int_equal(oidc_tap_normalise("ABCD-EFGH-JKMN-PQRO", 19, norm), -1);
    assert_int_equal(oidc_tap_normalise("ABCD-EFG", 8, norm), -1);
    assert_int_equal(oidc_tap_normalise("", 0, norm), -1);
    assert_int_equal(oidc_tap_normalise("ABCD\0EFGHJKMNPQRS", 17, norm), -1);
    assert_int_equal(oidc_tap_normalise("ABCD/EFGH/JKMN/PQRS", 19, norm), -1);
    char big[OIDC_TAP_INPUT_MAX + 2];
    memset(big, '-', sizeof(big));
    memcpy(big, "ABCDEFGH", 8);
    assert_int_equal(oidc_tap_normalise(big, OIDC_TAP_INPUT_MAX, norm), 8);
    assert_int_equal(oidc_tap_normalise(big, OIDC_TAP_INPUT_MAX + 1, norm), -1);
    char l49[50];
    memset(l49, 'A', 49);
    assert_int_equal(oidc_tap_normalise(l49, 48, norm), 48);
    assert_int_equal(oidc_tap_normalise(l49, 49, norm), -1);
}

static void hash(void **state)
{
    (void)state;
    uint8_t kek[32] = {1, 2, 3};
    gw_secrets_init(kek);
    char a[GW_SECRET_HASH_HEX_LEN + 1], b[GW_SECRET_HASH_HEX_LEN + 1], plain[GW_SECRET_HASH_HEX_LEN + 1];
    oidc_tap_hash_hex("ABCDEFGHJKMNPQRS", 16, a);
    oidc_tap_hash_hex("ABCDEFGHJKMNPQRS", 16, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), GW_SECRET_HASH_HEX_LEN);
    assert_memory_equal(a, "\\x", 2);
    oidc_tap_hash_hex("ABCDEFGHJKMNPQRT", 16, b);
    assert_string_not_equal(a, b);
    /* Domain-separated from the other secrets' hashes. */
    gw_secret_hash_hex("ABCDEFGHJKMNPQRS", 16, plain);
    assert_string_not_equal(a, plain);
}

static void rfc3339(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(oidc_rfc3339_parse("1970-01-01T00:00:00Z", 20, &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(oidc_rfc3339_parse("2026-11-26T08:00:00Z", 20, &t), 0);
    assert_int_equal(t, 1795680000);
    const char *s = "2026-11-26T09:30:00.123+01:30";
    assert_int_equal(oidc_rfc3339_parse(s, strlen(s), &t), 0);
    assert_int_equal(t, 1795680000);
    s = "2024-02-29t23:59:59z";
    assert_int_equal(oidc_rfc3339_parse(s, strlen(s), &t), 0);
    char out[32];
    oidc_rfc3339_format(1795680000, out);
    assert_string_equal(out, "2026-11-26T08:00:00Z");
    const char *bad[] = {"2026-11-26",
                         "2026-11-26T08:00:00",
                         "2023-02-29T00:00:00Z",
                         "2026-13-01T00:00:00Z",
                         "2026-11-26 08:00:00Z",
                         "2026-11-26T24:00:00Z",
                         "2026-11-26T08:00:00+1:00",
                         "2026-11-26T08:00:00.Z",
                         "2026-11-26T08:00:00Zjunk",
                         "tomorrow"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(oidc_rfc3339_parse(bad[i], strlen(bad[i]), &t), -1);
}

static void tap_policy(void **state)
{
    (void)state;
    oidc_tap_policy_t p;
    oidc_field_err_t e;
    yajl_val v = parse("{}");
    assert_int_equal(oidc_tap_policy_from_json(v, &p, &e), 0);
    assert_int_equal(p.default_length, 16);
    assert_int_equal(p.default_lifetime, 60);
    assert_int_equal(p.once_forced, 1);
    yajl_tree_free(v);
    struct {
        const char *doc, *field;
    } bad[] = {
        {"{\"defaultLength\": 7}", "defaultLength"},
        {"{\"defaultLength\": 49}", "defaultLength"},
        {"{\"defaultLength\": 16.5}", "defaultLength"},
        {"{\"minimumLifetimeInMinutes\": 9}", "minimumLifetimeInMinutes"},
        {"{\"maximumLifetimeInMinutes\": 43201}", "maximumLifetimeInMinutes"},
        {"{\"minimumLifetimeInMinutes\": 61, \"maximumLifetimeInMinutes\": 60}", "minimumLifetimeInMinutes"},
        {"{\"defaultLifetimeInMinutes\": 9}", "defaultLifetimeInMinutes"},
        {"{\"maximumLifetimeInMinutes\": 30}", "defaultLifetimeInMinutes"},
        {"{\"state\": \"maybe\"}", "state"},
        {"{\"isUsableOnce\": 1}", "isUsableOnce"},
        {"{\"maxFailedAttempts\": 0}", "maxFailedAttempts"},
        {"{\"includeTargets\": []}", "includeTargets"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = parse(bad[i].doc);
        assert_int_equal(oidc_tap_policy_from_json(v, &p, &e), -1);
        assert_string_equal(e.field, bad[i].field);
        yajl_tree_free(v);
    }
}

static void issue_bounds(void **state)
{
    (void)state;
    oidc_tap_policy_t p;
    oidc_field_err_t e;
    yajl_val v = parse("{\"minimumLifetimeInMinutes\": 30, \"maximumLifetimeInMinutes\": 120, "
                       "\"defaultLifetimeInMinutes\": 45, \"isUsableOnce\": false}");
    assert_int_equal(oidc_tap_policy_from_json(v, &p, &e), 0);
    yajl_tree_free(v);
    const int64_t now = 1795680000;
    oidc_tap_request_t q;
    v = parse("{}");
    assert_int_equal(oidc_tap_request_from_json(v, &p, now, &q, &e), 0);
    assert_int_equal(q.lifetime, 45);
    assert_int_equal(q.once, 1);
    assert_int_equal(q.length, 16);
    assert_int_equal(q.start, 0);
    yajl_tree_free(v);
    v = parse(
        "{\"lifetimeInMinutes\": 120, \"isUsableOnce\": false, \"startDateTime\": \"2026-11-27T08:00:00Z\"}");
    assert_int_equal(oidc_tap_request_from_json(v, &p, now, &q, &e), 0);
    assert_int_equal(q.lifetime, 120);
    assert_int_equal(q.once, 0);
    assert_int_equal(q.start, now + 86400);
    yajl_tree_free(v);
    struct {
        const char *doc, *field;
    } bad[] = {
        {"{\"lifetimeInMinutes\": 29}", "lifetimeInMinutes"},
        {"{\"lifetimeInMinutes\": 121}", "lifetimeInMinutes"},
        {"{\"lifetimeInMinutes\": \"60\"}", "lifetimeInMinutes"},
        {"{\"isUsableOnce\": \"no\"}", "isUsableOnce"},
        {"{\"startDateTime\": \"2026-11-26T07:00:00Z\"}", "startDateTime"}, /* an hour ago */
        {"{\"startDateTime\": \"2026-12-27T08:00:01Z\"}", "startDateTime"}, /* past 30 days */
        {"{\"startDateTime\": 5}", "startDateTime"},
        {"{\"temporaryAccessPass\": \"ABCD\"}", "temporaryAccessPass"}, /* never chosen by a caller */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = parse(bad[i].doc);
        assert_int_equal(oidc_tap_request_from_json(v, &p, now, &q, &e), -1);
        assert_string_equal(e.field, bad[i].field);
        yajl_tree_free(v);
    }
    /* One-time forced, or the policy disabled. */
    p.once_forced = 1;
    v = parse("{\"isUsableOnce\": false}");
    assert_int_equal(oidc_tap_request_from_json(v, &p, now, &q, &e), -1);
    assert_string_equal(e.field, "isUsableOnce");
    yajl_tree_free(v);
    p.enabled = 0;
    v = parse("{}");
    assert_int_equal(oidc_tap_request_from_json(v, &p, now, &q, &e), -1);
    assert_string_equal(e.field, "state");
    yajl_tree_free(v);
}

static void recovery_policy(void **state)
{
    (void)state;
    oidc_field_err_t e;
    gw_jw_t *w = gw_jw_new();
    yajl_val v = parse("{}");
    assert_int_equal(oidc_recovery_policy_normalise(v, w, &e), 0);
    yajl_tree_free(v);
    size_t len;
    const char *out = gw_jw_buf(w, &len);
    assert_non_null(out);
    gw_err_t err;
    yajl_val doc = gw_json_parse(out, len, NULL, &err);
    assert_non_null(doc);
    assert_string_equal(gw_json_str(doc, "mode"), "disabled");
    int64_t n;
    assert_int_equal(gw_json_get_int64(gw_json_get(doc, "tap"), "length", &n), GW_JSON_OK);
    assert_int_equal(n, 16);
    assert_int_equal(gw_json_get_int64(gw_json_get(gw_json_get(doc, "rateLimits"), "perAddress"), "max", &n),
                     GW_JSON_OK);
    assert_int_equal(n, 20);
    assert_int_equal(gw_json_get(gw_json_get(doc, "matching"), "rules")->u.array.len, 3);
    yajl_tree_free(doc);
    gw_jw_free(w);
    struct {
        const char *doc, *field;
    } bad[] = {
        {"{\"mode\": \"on\"}", "mode"},
        {"{\"eligibleGroups\": [\"g\"]}", "eligibleGroups[0]"},
        {"{\"providers\": [{\"id\": \"a b\"}]}", "providers[0].id"},
        {"{\"matching\": {\"rules\": [{\"claim\": \"x\", \"attribute\": \"y\", \"z\": 1}]}}",
         "matching.rules[0].z"},
        {"{\"matching\": {\"disambiguate\": [{\"claim\": \"x\"}]}}", "matching.disambiguate[0].attribute"},
        {"{\"matching\": {\"webhook\": {\"url\": \"https://\"}}}", "matching.webhook.url"},
        /* Name-shaped but nothing recovery can run (rcv_rules_check). */
        {"{\"matching\": {\"rules\": [{\"claim\": \"birthdate\", \"attribute\": \"birthdate\"}, "
         "{\"claim\": \"x\", \"attribute\": \"password\"}]}}",
         "matching.rules[1].attribute"},
        {"{\"matching\": {\"rules\": [{\"claim\": \"given_name\", \"attribute\": \"name.givenName\"}, "
         "{\"claim\": \"family_name\", \"attribute\": \"familyName\"}]}}",
         "matching.rules"},
        {"{\"matching\": {\"disambiguate\": [{\"claim\": \"x\", \"attribute\": \"nickName\"}]}}",
         "matching.disambiguate[0].attribute"},
        {"{\"evidence\": {\"assuranceLevels\": [\"\"]}}", "evidence.assuranceLevels[0]"},
        {"{\"rateLimits\": {\"perAccount\": {\"max\": 1001}}}", "rateLimits.perAccount.max"},
        {"{\"rateLimits\": []}", "rateLimits"},
        {"{\"attemptLifetimeSeconds\": 86401}", "attemptLifetimeSeconds"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        w = gw_jw_new();
        v = parse(bad[i].doc);
        assert_int_equal(oidc_recovery_policy_normalise(v, w, &e), -1);
        assert_string_equal(e.field, bad[i].field);
        yajl_tree_free(v);
        gw_jw_free(w);
    }
    /* Their good twins: an employee number is a lookup key too, and the
     * attribute's short form is accepted here as at run time. */
    const char *good[] = {
        "{\"matching\": {\"rules\": [{\"claim\": \"employee_number\", \"attribute\": \"employeeNumber\"}]}}",
        "{\"matching\": {\"rules\": [{\"claim\": \"given_name\", \"attribute\": \"name.givenName\"}, "
        "{\"claim\": \"birthdate\", \"attribute\": \"birthdate\"}], "
        "\"disambiguate\": [{\"claim\": \"x\", \"attribute\": \"legalGivenName\"}]}}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        w = gw_jw_new();
        v = parse(good[i]);
        assert_int_equal(oidc_recovery_policy_normalise(v, w, &e), 0);
        /* ... and what is stored, recovery can run. */
        const char *out2 = gw_jw_buf(w, &len);
        rcv_policy_t rp;
        char msg[200];
        assert_int_equal(rcv_policy_parse(out2, len, &rp, msg, sizeof(msg)), 0);
        yajl_tree_free(v);
        gw_jw_free(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generate),
        cmocka_unit_test(format_and_normalise),
        cmocka_unit_test(hash),
        cmocka_unit_test(rfc3339),
        cmocka_unit_test(tap_policy),
        cmocka_unit_test(issue_bounds),
        cmocka_unit_test(recovery_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
