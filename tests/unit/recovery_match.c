/* recovery/: normalisation, exact and relaxed comparison, the policy reader
 * and the decision over candidate accounts. Each valid case has a twin that
 * must fail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recovery/recovery.h"

static void expect_norm(const char *in, const char *want)
{
    char *got = rcv_normalize(in, strlen(in));
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_normalize(void **state)
{
    (void)state;
    expect_norm("  Anna   Maria\tSmith ", "anna maria smith");
    expect_norm("Ren\xc3\xa9", "ren\xc3\xa9");  /* é precomposed, kept (NFC) */
    expect_norm("Rene\xcc\x81", "ren\xc3\xa9"); /* e + combining acute: NFC */
    expect_norm("Stra\xc3\x9f"
                "e",
                "strasse");                                          /* ß case-folds to ss */
    expect_norm("\xc3\x85ngstr\xc3\xb6m", "\xc3\xa5ngstr\xc3\xb6m"); /* Å case-folded, marks kept */
    expect_norm("Jean\xe2\x80\x90Paul", "jean-paul");                /* U+2010 hyphen lumped */
    expect_norm("Anna\xc2\xa0Smith", "anna smith");                  /* no-break space */
    expect_norm("", "");
    /* Twins: invalid UTF-8 and over-long input are refused. */
    assert_null(rcv_normalize("\xc3", 1));
    char big[RCV_VALUE_MAX + 2];
    memset(big, 'a', sizeof(big));
    assert_null(rcv_normalize(big, sizeof(big)));
}

static void expect_strip(const char *in, const char *want)
{
    char *n = rcv_normalize(in, strlen(in));
    assert_non_null(n);
    char *got = rcv_strip_marks(n);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    free(n);
}

/* UTF8PROC_STRIPMARK stripped every mark: in Devanagari the vowel signs
 * (किरण, Kiran, was करण, Karan) and the Vietnamese horn (Hưng was Hung, so
 * Hùng), even in exact mode. */
#define KIRAN  "\xe0\xa4\x95\xe0\xa4\xbf\xe0\xa4\xb0\xe0\xa4\xa3" /* किरण */
#define KARAN  "\xe0\xa4\x95\xe0\xa4\xb0\xe0\xa4\xa3"             /* करण */
#define HUNG_1 "H\xc3\xb9ng"                                      /* Hùng: u + grave */
#define HUNG_2 "H\xc6\xb0ng"                                      /* Hưng: u + horn */
#define THAI_1 "\xe0\xb8\xaa\xe0\xb8\xb8\xe0\xb8\x94\xe0\xb8\xb2" /* สุดา (Suda) */
#define THAI_2 "\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb2"             /* สดา */
#define ELENI  "\xce\x95\xce\xbb\xce\xad\xce\xbd\xce\xb7"         /* Ελένη */

static void test_marks(void **state)
{
    (void)state;
    /* Diacritics of Latin, Greek and Cyrillic letters go... */
    expect_strip("M\xc3\xbcller", "muller");
    expect_strip("Nguy\xe1\xbb\x85n V\xc4\x83n H\xc3\xb9ng", "nguyen van hung");
    expect_strip(HUNG_2, "hung");
    expect_strip(ELENI, "\xce\xb5\xce\xbb\xce\xb5\xce\xbd\xce\xb7");
    expect_strip("\xd0\x81\xd0\xb6", "\xd0\xb5\xd0\xb6"); /* Ёж -> еж */
    /* ... the vowel signs of other scripts stay. */
    expect_strip(KIRAN, KIRAN);
    expect_strip(THAI_1, THAI_1);
    /* Exact and relaxed: marks on both sides must agree. */
    assert_false(rcv_value_match(KIRAN, KARAN, RCV_MODE_EXACT));
    assert_false(rcv_value_match(KIRAN, KARAN, RCV_MODE_RELAXED));
    assert_false(rcv_value_match(THAI_1, THAI_2, RCV_MODE_EXACT));
    assert_false(rcv_value_match(HUNG_1, HUNG_2, RCV_MODE_EXACT));
    assert_false(rcv_value_match(HUNG_1, HUNG_2, RCV_MODE_RELAXED));
    assert_false(rcv_value_match("Nguy\xe1\xbb\x85n " HUNG_1, "Nguy\xe1\xbb\x85n " HUNG_2, RCV_MODE_RELAXED));
    /* Their twins: the same marks, or none on one side (the directory left
     * them out). */
    assert_true(rcv_value_match(KIRAN, KIRAN, RCV_MODE_EXACT));
    assert_true(rcv_value_match(HUNG_2, "h\xc6\xb0ng", RCV_MODE_EXACT));
    assert_true(rcv_value_match(HUNG_1, "Hung", RCV_MODE_EXACT));
    assert_true(rcv_value_match("Hung", HUNG_2, RCV_MODE_EXACT));
    assert_true(
        rcv_value_match("Nguy\xe1\xbb\x85n V\xc4\x83n H\xc3\xb9ng", "Nguyen Van Hung", RCV_MODE_EXACT));
    assert_true(rcv_value_match("Nguy\xe1\xbb\x85n V\xc4\x83n H\xc3\xb9ng", "Hung Nguyen", RCV_MODE_RELAXED));
    assert_true(
        rcv_value_match(ELENI, "\xce\x95\xce\x9b\xce\x95\xce\x9d\xce\x97", RCV_MODE_EXACT)); /* ΕΛΕΝΗ */
    /* Not transitive ("hùng" and "hưng" are both "hung"), yet a pairing is
     * found where one exists. */
    assert_true(rcv_value_match(HUNG_1 " " HUNG_2, "Hung " HUNG_1, RCV_MODE_RELAXED));
    assert_false(rcv_value_match(HUNG_1 " " HUNG_2, HUNG_1 " " HUNG_1, RCV_MODE_RELAXED));
}

static void test_exact(void **state)
{
    (void)state;
    assert_true(rcv_value_match("M\xc3\xbcller", "MULLER", RCV_MODE_EXACT));
    assert_true(rcv_value_match(" anna  smith", "Anna Smith", RCV_MODE_EXACT));
    assert_false(rcv_value_match("Anna Maria Smith", "Anna Smith", RCV_MODE_EXACT));
    assert_false(rcv_value_match("Anna", "Anne", RCV_MODE_EXACT));
    assert_false(rcv_value_match("", "", RCV_MODE_EXACT));
    assert_false(rcv_value_match(NULL, "x", RCV_MODE_EXACT));
    /* A placeholder of separators only is no name, even when both sides
     * carry the same one (libFuzzer found "-" matching "-" exactly while
     * relaxed matching refused it). */
    assert_false(rcv_value_match("-", "-", RCV_MODE_EXACT));
    assert_false(rcv_value_match(" - - ", "- -", RCV_MODE_EXACT));
    assert_false(rcv_value_match("-", "-", RCV_MODE_RELAXED));
    assert_true(rcv_value_match("-x", "x-", RCV_MODE_RELAXED));
    assert_false(rcv_value_match("-x", "x-", RCV_MODE_EXACT));
}

static void test_relaxed(void **state)
{
    (void)state;
    /* The example: the document's longer name matches the directory's. */
    assert_true(rcv_value_match("Anna Maria Smith", "Anna Smith", RCV_MODE_RELAXED));
    assert_true(rcv_value_match("Smith-Jones", "Jones", RCV_MODE_RELAXED));
    assert_true(rcv_value_match("Smith Anna", "Anna Smith", RCV_MODE_RELAXED));
    assert_true(rcv_value_match("Jos\xc3\xa9 Luis", "jose", RCV_MODE_RELAXED));
    /* Twins: the directory says more than was verified; a repeated word
     * needs two verified words; a different word. */
    assert_false(rcv_value_match("Anna Smith", "Anna Maria Smith", RCV_MODE_RELAXED));
    assert_false(rcv_value_match("Anna", "Anna Anna", RCV_MODE_RELAXED));
    assert_false(rcv_value_match("Anna Maria", "Anne", RCV_MODE_RELAXED));
    assert_false(rcv_value_match("Anna", "", RCV_MODE_RELAXED));
    assert_false(rcv_value_match("Anna", "  - ", RCV_MODE_RELAXED));
    /* Past 32 words only equal values match, so whatever matches exactly
     * matches relaxed too (libFuzzer found 33 equal words refused). */
    char many[40 * 4], fewer[40 * 4];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "%sw%d", i ? " " : "", i);
    snprintf(fewer, sizeof(fewer), "%s", many);
    fewer[strlen("w0 w1")] = '\0';
    assert_true(rcv_value_match(many, many, RCV_MODE_EXACT));
    assert_true(rcv_value_match(many, many, RCV_MODE_RELAXED));
    assert_false(rcv_value_match(many, fewer, RCV_MODE_RELAXED));
    assert_true(rcv_value_match("w0 w1 w2", fewer, RCV_MODE_RELAXED));
}

static void test_policy_parse(void **state)
{
    (void)state;
    rcv_policy_t p;
    char msg[200];
    const char *doc =
        "{\"mode\":\"evaluation\",\"eligibleGroups\":[\"11111111-2222-3333-4444-555555555555\"],"
        "\"providers\":[\"dev\"],\"matching\":{\"mode\":\"exact\",\"rules\":["
        "{\"claim\":\"given_name\",\"attribute\":\"name.givenName\",\"mode\":\"relaxed\"},"
        "{\"claim\":\"birthdate\",\"attribute\":\"birthdate\",\"mode\":\"relaxed\"}],"
        "\"disambiguation\":{\"claim\":\"employee_number\",\"attribute\":\"employeeNumber\"}},"
        "\"evidence\":{\"trustFrameworks\":[\"eidas\"],\"maxAgeSeconds\":600},"
        "\"attemptLifetimeSeconds\":300,\"rateLimits\":{\"perAccount\":{\"max\":2,\"windowSeconds\":60},"
        "\"perAddress\":{\"max\":9,\"windowSeconds\":120}}}";
    assert_int_equal(rcv_policy_parse(doc, strlen(doc), &p, msg, sizeof(msg)), 0);
    assert_int_equal(p.mode, RCV_POLICY_EVALUATION);
    assert_int_equal(p.eligible_group_count, 1);
    assert_int_equal(p.rule_count, 2);
    assert_int_equal(p.rules[0].mode, RCV_MODE_RELAXED);
    assert_int_equal(p.rules[1].attr, RCV_ATTR_BIRTHDATE);
    assert_int_equal(p.rules[1].mode, RCV_MODE_EXACT); /* dates are never relaxed */
    assert_int_equal(p.disambiguation.attr, RCV_ATTR_EMPLOYEE_NUMBER);
    assert_true(rcv_policy_allows_provider(&p, "dev"));
    assert_false(rcv_policy_allows_provider(&p, "other"));
    assert_true(rcv_policy_allows_framework(&p, "eidas"));
    assert_false(rcv_policy_allows_framework(&p, "de_aml"));
    assert_true(rcv_policy_allows_level(&p, "anything")); /* no list: any */
    assert_int_equal(p.max_verification_age_s, 600);
    assert_int_equal(p.attempt_lifetime_s, 300);
    assert_int_equal(p.max_attempts_per_account, 2);
    assert_int_equal(p.max_attempts_per_address, 9);
    assert_int_equal(p.rate_window_s, 120);
    /* The admin API's shape: "disambiguate" is a list. */
    const char *doc2 =
        "{\"matching\":{\"disambiguate\":[{\"claim\":\"employee_number\","
        "\"attribute\":\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber\"}]}}";
    assert_int_equal(rcv_policy_parse(doc2, strlen(doc2), &p, msg, sizeof(msg)), 0);
    assert_int_equal(p.disambiguation.attr, RCV_ATTR_EMPLOYEE_NUMBER);
    assert_int_equal(p.rule_count, 3);
    /* Twins: an unknown attribute, a rule without claim, not JSON. */
    const char *bad1 = "{\"matching\":{\"rules\":[{\"claim\":\"x\",\"attribute\":\"password\"}]}}";
    assert_int_equal(rcv_policy_parse(bad1, strlen(bad1), &p, msg, sizeof(msg)), -1);
    const char *bad2 = "{\"matching\":{\"rules\":[{\"attribute\":\"name.givenName\"}]}}";
    assert_int_equal(rcv_policy_parse(bad2, strlen(bad2), &p, msg, sizeof(msg)), -1);
    assert_int_equal(rcv_policy_parse("[1]", 3, &p, msg, sizeof(msg)), -1);
    /* Names alone cannot look an account up: every attempt would end
     * claim_missing, so the policy is refused (rcv_rules_check). */
    const char *bad3 = "{\"matching\":{\"rules\":[{\"claim\":\"given_name\",\"attribute\":\"givenName\"},"
                       "{\"claim\":\"family_name\",\"attribute\":\"familyName\"}]}}";
    assert_int_equal(rcv_policy_parse(bad3, strlen(bad3), &p, msg, sizeof(msg)), -1);
    const char *bad4 = "{\"matching\":{\"rules\":[{\"claim\":\"birthdate\",\"attribute\":\"birthdate\"}],"
                       "\"disambiguate\":[{\"claim\":\"x\",\"attribute\":\"nickName\"}]}}";
    assert_int_equal(rcv_policy_parse(bad4, strlen(bad4), &p, msg, sizeof(msg)), -1);
    rcv_rule_t rules[2] = {{"given_name", RCV_ATTR_GIVEN_NAME, RCV_MODE_RELAXED},
                           {"employee_number", RCV_ATTR_EMPLOYEE_NUMBER, RCV_MODE_EXACT}};
    size_t bad = 99;
    assert_null(rcv_rules_check(rules, 2, 1, &bad));
    assert_non_null(rcv_rules_check(rules, 1, 1, &bad));
    assert_int_equal(bad, 1);
    assert_null(rcv_rules_check(rules, 1, 0, &bad));
    rules[0].attr = RCV_ATTR_NONE;
    assert_non_null(rcv_rules_check(rules, 2, 1, &bad));
    assert_int_equal(bad, 0);
    /* Unknown or missing mode is disabled, never enabled. */
    assert_int_equal(rcv_policy_parse("{\"mode\":\"on\"}", 13, &p, msg, sizeof(msg)), 0);
    assert_int_equal(p.mode, RCV_POLICY_DISABLED);
}

static rcv_candidate_t cand(const char *id, const char *given, const char *family, const char *birth,
                            const char *emp, int active, int eligible)
{
    rcv_candidate_t c;
    memset(&c, 0, sizeof(c));
    c.id = id;
    c.user_name = id;
    c.active = active;
    c.eligible = eligible;
    c.attrs[RCV_ATTR_GIVEN_NAME] = given;
    c.attrs[RCV_ATTR_FAMILY_NAME] = family;
    c.attrs[RCV_ATTR_BIRTHDATE] = birth;
    c.attrs[RCV_ATTR_EMPLOYEE_NUMBER] = emp;
    return c;
}

static void test_decide(void **state)
{
    (void)state;
    rcv_policy_t p;
    rcv_policy_defaults(&p);
    rcv_claim_t claims[] = {{"given_name", "Anna Maria"},
                            {"family_name", "Sm\xc3\xaft"
                                            "h"},
                            {"birthdate", "1990-04-01"},
                            {"employee_number", "E2"}};
    rcv_decision_t d;

    rcv_candidate_t one[] = {cand("a", "Anna", "Smith", "1990-04-01", "E1", 1, 1),
                             cand("b", "Anna", "Smith", "1991-04-01", "E2", 1, 1)};
    rcv_decide(&p, claims, 3, one, 2, NULL, &d);
    assert_int_equal(d.status, RCV_OK);
    assert_int_equal(d.matched, 0);
    assert_int_equal(d.rule_count, 3);
    assert_true(d.rules[0].passed && d.rules[1].passed && d.rules[2].passed);
    /* Named account: must be the one that matched. */
    rcv_decide(&p, claims, 3, one, 2, "a", &d);
    assert_int_equal(d.status, RCV_OK);
    rcv_decide(&p, claims, 3, one, 2, "b", &d);
    assert_int_equal(d.status, RCV_NOT_NAMED);

    /* No match: a different birthdate; the failing rule is recorded. */
    rcv_candidate_t none[] = {cand("a", "Anna", "Smith", "1990-04-02", NULL, 1, 1)};
    rcv_decide(&p, claims, 3, none, 1, NULL, &d);
    assert_int_equal(d.status, RCV_NO_MATCH);
    assert_int_equal(d.matched, -1);

    /* Two matches: ambiguous; the disambiguation attribute resolves it. */
    rcv_candidate_t two[] = {cand("a", "Anna", "Smith", "1990-04-01", "E1", 1, 1),
                             cand("b", "Anna", "Smith", "1990-04-01", "E2", 1, 1)};
    rcv_decide(&p, claims, 4, two, 2, NULL, &d);
    assert_int_equal(d.status, RCV_AMBIGUOUS);
    assert_int_equal(d.candidates_matching, 2);
    p.disambiguation.attr = RCV_ATTR_EMPLOYEE_NUMBER;
    strcpy(p.disambiguation.claim, "employee_number");
    rcv_decide(&p, claims, 4, two, 2, NULL, &d);
    assert_int_equal(d.status, RCV_OK);
    assert_int_equal(d.matched, 1);
    assert_true(d.disambiguated);
    assert_int_equal(d.rule_count, 4);
    /* ... but not when the disambiguating claim was not verified. */
    rcv_decide(&p, claims, 3, two, 2, NULL, &d);
    assert_int_equal(d.status, RCV_AMBIGUOUS);

    /* Inactive and not eligible. */
    rcv_candidate_t inactive[] = {cand("a", "Anna", "Smith", "1990-04-01", NULL, 0, 1)};
    rcv_decide(&p, claims, 3, inactive, 1, NULL, &d);
    assert_int_equal(d.status, RCV_INACTIVE);
    rcv_candidate_t inel[] = {cand("a", "Anna", "Smith", "1990-04-01", NULL, 1, 0)};
    rcv_decide(&p, claims, 3, inel, 1, NULL, &d);
    assert_int_equal(d.status, RCV_NOT_ELIGIBLE);

    /* A rule's claim not verified at all. */
    rcv_decide(&p, claims, 2, one, 2, NULL, &d);
    assert_int_equal(d.status, RCV_CLAIM_MISSING);
    assert_string_equal(rcv_status_reason(RCV_CLAIM_MISSING), "claim_missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize), cmocka_unit_test(test_marks),        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_relaxed),   cmocka_unit_test(test_policy_parse), cmocka_unit_test(test_decide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
