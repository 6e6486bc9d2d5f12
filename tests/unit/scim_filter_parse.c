/* scim/filter_parse.c: SCIM filters (RFC 7644 §3.4.2.2). Each valid example
 * of the RFC parses to the expected tree, printed as an S-expression; each
 * has a broken twin that fails with invalidFilter and names the position. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/pool_fixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scim/internal.h"

#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

static const struct {
    const char *filter, *tree;
} VALID[] = {
    /* RFC 7644 §3.4.2.2, Figure 2 ("Example Filters"), in order */
    {"userName eq \"bjensen\"", "(eq userName \"bjensen\")"},
    {"name.familyName co \"O'Malley\"", "(co name.familyName \"O'Malley\")"},
    {"userName sw \"J\"", "(sw userName \"J\")"},
    {"urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
     "(sw {urn:ietf:params:scim:schemas:core:2.0:User}userName \"J\")"},
    {"title pr", "(pr title)"},
    {"meta.lastModified gt \"2011-05-13T04:42:34Z\"", "(gt meta.lastModified \"2011-05-13T04:42:34Z\")"},
    {"meta.lastModified ge \"2011-05-13T04:42:34Z\"", "(ge meta.lastModified \"2011-05-13T04:42:34Z\")"},
    {"meta.lastModified lt \"2011-05-13T04:42:34Z\"", "(lt meta.lastModified \"2011-05-13T04:42:34Z\")"},
    {"meta.lastModified le \"2011-05-13T04:42:34Z\"", "(le meta.lastModified \"2011-05-13T04:42:34Z\")"},
    {"title pr and userType eq \"Employee\"", "(and (pr title) (eq userType \"Employee\"))"},
    {"title pr or userType eq \"Intern\"", "(or (pr title) (eq userType \"Intern\"))"},
    {"schemas eq \"" ENT "\"", "(eq schemas \"" ENT "\")"},
    {"userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")",
     "(and (eq userType \"Employee\") (or (co emails \"example.com\") (co emails.value \"example.org\")))"},
    {"userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\")",
     "(and (ne userType \"Employee\") (not (or (co emails \"example.com\") (co emails.value "
     "\"example.org\"))))"},
    {"userType eq \"Employee\" and (emails.type eq \"work\")",
     "(and (eq userType \"Employee\") (eq emails.type \"work\"))"},
    {"userType eq \"Employee\" and emails[type eq \"work\" and value co \"@example.com\"]",
     "(and (eq userType \"Employee\") (vp emails (and (eq type \"work\") (co value \"@example.com\"))))"},
    {"emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and value co "
     "\"@foo.com\"]",
     "(or (vp emails (and (eq type \"work\") (co value \"@example.com\"))) "
     "(vp ims (and (eq type \"xmpp\") (co value \"@foo.com\"))))"},
    /* §3.4.2.2: attribute names and operators are case-insensitive */
    {"userName Eq \"john\"", "(eq userName \"john\")"},
    {"Username eq \"john\"", "(eq Username \"john\")"},
    {"title PR AND userType EQ \"Employee\"", "(and (pr title) (eq userType \"Employee\"))"},
    /* precedence: not > and > or; and/or associate to the left */
    {"a pr or b pr and c pr", "(or (pr a) (and (pr b) (pr c)))"},
    {"a pr and b pr or c pr", "(or (and (pr a) (pr b)) (pr c))"},
    {"a pr and b pr and c pr", "(and (and (pr a) (pr b)) (pr c))"},
    {"(a pr or b pr) and c pr", "(and (or (pr a) (pr b)) (pr c))"},
    {"not(a pr) or b pr", "(or (not (pr a)) (pr b))"},
    {"NOT ( a pr )", "(not (pr a))"},
    /* an attribute may be called "not", "and" or "pr" */
    {"not eq \"x\"", "(eq not \"x\")"},
    {"and pr and pr pr", "(and (pr and) (pr pr))"},
    /* schema URI prefixes: the attribute starts after the last colon */
    {ENT ":employeeNumber eq \"701984\"", "(eq {" ENT "}employeeNumber \"701984\")"},
    {ENT ":manager.value eq \"26118915-6090-4610-87e4-49d8ca9f808d\"",
     "(eq {" ENT "}manager.value \"26118915-6090-4610-87e4-49d8ca9f808d\")"},
    {"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName sw \"Ba\"",
     "(sw {urn:ietf:params:scim:schemas:core:2.0:User}name.givenName \"Ba\")"},
    {"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"]",
     "(vp {urn:ietf:params:scim:schemas:core:2.0:User}emails (eq type \"work\"))"},
    /* values: JSON strings, numbers, true/false/null in any case */
    {"a eq \"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\"", "(eq a \"q\\\"b\\\\s/\\u0008\\u000c\\u000a\\u000d\\u0009\")"},
    {"a eq \"\\u00e9\\u20AC\\ud83d\\ude00\"", "(eq a \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\")"},
    {"a eq \"\xc3\xa9t\xc3\xa9\"", "(eq a \"\xc3\xa9t\xc3\xa9\")"},
    {"a gt 42", "(gt a 42)"},
    {"a ge -0.5e+10", "(ge a -0.5e+10)"},
    {"a lt 0", "(lt a 0)"},
    {"a le 1E3", "(le a 1E3)"},
    {"active eq TRUE", "(eq active true)"},
    {"active ne False", "(ne active false)"},
    {"title eq null", "(eq title null)"},
    {"a eq \"\"", "(eq a \"\")"},
    /* blanks: runs of blanks, around brackets and parentheses, leading, trailing */
    {"  userName   eq\t\"x\"  ", "(eq userName \"x\")"},
    {"emails[ type eq \"work\" ]", "(vp emails (eq type \"work\"))"},
    {"emails[not (type eq \"work\")]", "(vp emails (not (eq type \"work\")))"},
    {"emails[(type eq \"a\" or type eq \"b\") and primary eq true]",
     "(vp emails (and (or (eq type \"a\") (eq type \"b\")) (eq primary true)))"},
    {"members[$ref pr]", "(vp members (pr $ref))"},
    {"x-attr_1$ pr", "(pr x-attr_1$)"},
};

/* Broken twins: invalidFilter with this public message. */
static const struct {
    const char *filter, *message;
} INVALID[] = {
    {"userName eq \"bjensen", "unclosed string at 13"},
    {"name.familyName co", "missing value at 19"},
    {"name.familyName co ", "missing value at 20"},
    {"userName xx \"J\"", "unknown operator at 10"},
    {"userName", "missing operator at 9"},
    {"title pr and", "missing expression after logical operator at 13"},
    {"title pr and ", "missing expression after logical operator at 14"},
    {"title pr or )", "missing expression after logical operator at 13"},
    {"(emails co \"example.com\" or emails.value co \"example.org\"", "unclosed '(' at 1"},
    {"title pr)", "unexpected ')' at 9"},
    {"emails[type eq \"work\" and value co \"@example.com\"", "unclosed '[' at 7"},
    {"emails[type eq \"work\"]]", "unexpected ']' at 23"},
    {"emails[type[value eq \"x\"]]", "nested value path at 12"},
    {"emails[type eq \"work\"].value eq \"x\"",
     "sub-attribute after a value path (only in PATCH paths) at 23"},
    {"name.familyName[value eq \"x\"]", "value path on a sub-attribute at 16"},
    {"title pr garbage", "expected 'and' or 'or' at 10"},
    {"title pr \"x\"", "unexpected '\"' at 10"},
    {"userName eq \"x\" \"y\"", "unexpected '\"' at 17"},
    {"title prx", "unknown operator at 7"},
    {"userName eq \"x\"and title pr", "unexpected 'a' at 16"},
    {"userName eq bjensen", "invalid value at 13"},
    {"a eq 01", "unexpected '1' at 7"},
    {"a eq 1.", "invalid number at 6"},
    {"a eq -", "invalid number at 6"},
    {"a eq 1e", "invalid number at 6"},
    {"a eq truex", "invalid value at 6"},
    {"a eq \"\\x\"", "invalid escape in string at 7"},
    {"a eq \"\\u00zz\"", "invalid \\u escape at 7"},
    {"a eq \"\\u0000\"", "NUL in string at 7"},
    {"a eq \"\\ud83d\"", "lone surrogate in string at 7"},
    {"a eq \"\\ude00\"", "lone surrogate in string at 7"},
    {"a eq \"\xc3\x28\"", "invalid UTF-8 in string at 7"},
    {"a eq \"\xc0\xaf\"", "invalid UTF-8 in string at 7"},
    {"a eq \"\xed\xa0\x80\"", "invalid UTF-8 in string at 7"},
    {"a eq \"tab\there\"", "control character in string at 10"},
    {"1abc pr", "invalid attribute path at 1"},
    {"name.given.more pr", "invalid attribute path at 1"},
    {":userName pr", "invalid attribute path at 1"},
    {"urn:x:User: pr", "invalid attribute path at 1"},
    {"", "expected an expression, found the end at 1"},
    {"   ", "expected an expression, found the end at 4"},
    {"()", "unexpected ')' at 2"},
    {"not title pr", "unknown operator at 5"}, /* an attribute "not", then no operator */
    {"emails[]", "unexpected ']' at 8"},
};

static void test_valid(void **state)
{
    for (size_t i = 0; i < sizeof(VALID) / sizeof(VALID[0]); i++) {
        scim_filter_t *f = NULL;
        gw_err_t err = {0};
        int rc = scim_filter_parse(*state, VALID[i].filter, strlen(VALID[i].filter), &f, &err);
        if (rc != 0)
            fail_msg("%s: %s", VALID[i].filter, err.public);
        assert_string_equal(scim_filter_sexpr(*state, f), VALID[i].tree);
        /* the SCIM text we print parses back to the same tree */
        const char *text = scim_filter_format(*state, f);
        scim_filter_t *g = NULL;
        if (scim_filter_parse(*state, text, strlen(text), &g, &err) != 0)
            fail_msg("%s -> %s: %s", VALID[i].filter, text, err.public);
        assert_string_equal(scim_filter_sexpr(*state, g), VALID[i].tree);
    }
}

static void test_invalid(void **state)
{
    for (size_t i = 0; i < sizeof(INVALID) / sizeof(INVALID[0]); i++) {
        scim_filter_t *f = NULL;
        gw_err_t err = {0};
        int rc = scim_filter_parse(*state, INVALID[i].filter, strlen(INVALID[i].filter), &f, &err);
        if (rc == 0)
            fail_msg("accepted %s as %s", INVALID[i].filter, scim_filter_sexpr(*state, f));
        assert_int_equal(err.kind, GW_E_SCIM_INVALID_FILTER);
        if (strcmp(err.public, INVALID[i].message) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", INVALID[i].filter, err.public, INVALID[i].message);
    }
}

/* Input is not NUL-terminated: only `len` bytes count. */
static void test_length_not_nul(void **state)
{
    scim_filter_t *f;
    gw_err_t err = {0};
    const char *s = "title pr and garbage";
    assert_int_equal(scim_filter_parse(*state, s, 8, &f, &err), 0);
    assert_string_equal(scim_filter_sexpr(*state, f), "(pr title)");
    const char nul[] = "a eq \"x\0y\"";
    assert_int_equal(scim_filter_parse(*state, nul, sizeof(nul) - 1, &f, &err), -1);
    assert_string_equal(err.public, "control character in string at 8");
    const char nul2[] = "a pr\0";
    assert_int_equal(scim_filter_parse(*state, nul2, sizeof(nul2) - 1, &f, &err), -1);
    assert_string_equal(err.public, "unexpected byte 0x00 at 5");
}

static void test_too_long(void **state)
{
    size_t n = SCIM_MAX_FILTER_LEN + 1;
    char *s = malloc(n);
    memcpy(s, "a eq \"", 6);
    memset(s + 6, 'x', n - 7);
    s[n - 1] = '"';
    scim_filter_t *f;
    gw_err_t err = {0};
    assert_int_equal(scim_filter_parse(*state, s, n, &f, &err), -1);
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_FILTER);
    assert_string_equal(err.public, "filter longer than 4096 bytes");
    /* one byte less is fine */
    s[n - 2] = '"';
    assert_int_equal(scim_filter_parse(*state, s, n - 1, &f, &err), 0);
    free(s);
}

static char *nested(const char *open, int depth)
{
    size_t ol = strlen(open), n = 0;
    char *s = malloc(depth * (ol + 1) + 16);
    for (int i = 0; i < depth; i++) {
        memcpy(s + n, open, ol);
        n += ol;
    }
    memcpy(s + n, "a pr", 4);
    n += 4;
    for (int i = 0; i < depth; i++)
        s[n++] = ')';
    s[n] = '\0';
    return s;
}

static void test_depth(void **state)
{
    scim_filter_t *f;
    gw_err_t err = {0};
    char *ok = nested("(", 32), *deep = nested("(", 33), *nots = nested("not (", 33);
    assert_int_equal(scim_filter_parse(*state, ok, strlen(ok), &f, &err), 0);
    assert_string_equal(scim_filter_sexpr(*state, f), "(pr a)");
    assert_int_equal(scim_filter_parse(*state, deep, strlen(deep), &f, &err), -1);
    assert_string_equal(err.public, "filter nested too deeply at 33");
    assert_int_equal(scim_filter_parse(*state, nots, strlen(nots), &f, &err), -1);
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_FILTER);
    free(ok);
    free(deep);
    free(nots);
}

/* The printed text groups as the tree does, with no more parentheses than
 * precedence ("and" before "or") and left-to-right grouping need. */
static void test_format(void **state)
{
    static const struct {
        const char *filter, *text;
    } CASES[] = {
        {"a pr or b pr and c pr", "a pr or b pr and c pr"},
        {"(a pr or b pr) and c pr", "(a pr or b pr) and c pr"},
        {"a pr and (b pr or c pr)", "a pr and (b pr or c pr)"},
        {"a pr and (b pr and c pr)", "a pr and (b pr and c pr)"},
        {"(a pr and b pr) and c pr", "a pr and b pr and c pr"},
        {"a pr or (b pr or c pr)", "a pr or (b pr or c pr)"},
        {"(a pr and b pr) or (c pr and d pr)", "a pr and b pr or c pr and d pr"},
        {"not (a pr or b pr) and emails[type eq \"work\" or primary eq true]",
         "not (a pr or b pr) and emails[type eq \"work\" or primary eq true]"},
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        scim_filter_t *f = NULL;
        gw_err_t err = {0};
        assert_int_equal(scim_filter_parse(*state, CASES[i].filter, strlen(CASES[i].filter), &f, &err), 0);
        assert_string_equal(scim_filter_format(*state, f), CASES[i].text);
    }
    /* A chain of 40 "or" (libFuzzer's find): printed fully parenthesised it
     * was 40 deep, and the parser refuses more than 32. */
    char chain[40 * 12];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%sa%d pr", i ? " or " : "", i);
    scim_filter_t *f = NULL, *g = NULL;
    gw_err_t err = {0};
    assert_int_equal(scim_filter_parse(*state, chain, n, &f, &err), 0);
    const char *text = scim_filter_format(*state, f);
    assert_string_equal(text, chain);
    assert_int_equal(scim_filter_parse(*state, text, strlen(text), &g, &err), 0);
    assert_string_equal(scim_filter_sexpr(*state, g), scim_filter_sexpr(*state, f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_not_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
