/* scim/path_parse.c: PATCH paths (RFC 7644 §3.5.2). The RFC's example paths
 * (Figure 8 and the operation examples of §3.5.2.1-3) with broken twins. */
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
#define MID "2819c223-7f76-453a-919d-413861904646"

static const struct {
    const char *path, *tree;
} VALID[] = {
    /* Figure 8 */
    {"members", "(path members)"},
    {"name.familyName", "(path name.familyName)"},
    {"addresses[type eq \"work\"]", "(path addresses (eq type \"work\"))"},
    {"members[value eq \"" MID "\"]", "(path members (eq value \"" MID "\"))"},
    {"members[value eq \"" MID "\"].displayName", "(path members (eq value \"" MID "\") .displayName)"},
    /* §3.5.2.2 and §3.5.2.3 examples */
    {"emails[type eq \"work\" and value ew \"example.com\"]",
     "(path emails (and (eq type \"work\") (ew value \"example.com\")))"},
    {"addresses[type eq \"work\"].streetAddress", "(path addresses (eq type \"work\") .streetAddress)"},
    {"emails[type eq \"work\"].value", "(path emails (eq type \"work\") .value)"},
    /* schema URI prefixes: the attribute begins after the URI's last colon */
    {ENT ":employeeNumber", "(path {" ENT "}employeeNumber)"},
    {ENT ":manager.value", "(path {" ENT "}manager.value)"},
    {ENT ":manager", "(path {" ENT "}manager)"},
    {"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
     "(path {urn:ietf:params:scim:schemas:core:2.0:User}name.givenName)"},
    {"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value",
     "(path {urn:ietf:params:scim:schemas:core:2.0:User}emails (eq type \"work\") .value)"},
    {"urn:regain:scim:schemas:extension:recovery:2.0:User:birthdate",
     "(path {urn:regain:scim:schemas:extension:recovery:2.0:User}birthdate)"},
    /* case of operators, blanks inside brackets, grouping and not in the filter */
    {"emails[Type EQ \"work\"]", "(path emails (eq Type \"work\"))"},
    {"emails[ type eq \"work\" ]", "(path emails (eq type \"work\"))"},
    {"emails[not (primary eq true) and (type eq \"a\" or type eq \"b\")].display",
     "(path emails (and (not (eq primary true)) (or (eq type \"a\") (eq type \"b\"))) .display)"},
    {"members[value eq \"a]b\"]", "(path members (eq value \"a]b\"))"},
    {"active", "(path active)"},
};

static const struct {
    const char *path, *message;
} INVALID[] = {
    {"", "empty path"},
    {"members[value eq \"" MID "]", "unclosed string at 18"},
    {"members[value eq \"" MID "\"", "unclosed '[' at 8"},
    {"members[value eq]", "missing value at 17"},
    {"members[value xx \"x\"]", "unknown operator at 15"},
    {"members[value eq \"x\" and]", "missing expression after logical operator at 25"},
    {"members[(value eq \"x\"]", "unexpected ']' at 22"},
    {"emails[type[value eq \"x\"]]", "nested value path at 12"},
    {"emails[type eq \"work\"]value", "invalid sub-attribute after ']' at 23"},
    {"emails[type eq \"work\"].", "invalid sub-attribute after ']' at 23"},
    {"emails[type eq \"work\"].value.x", "invalid sub-attribute after ']' at 23"},
    {"emails[type eq \"work\"][value pr]", "invalid sub-attribute after ']' at 23"},
    {"emails[type eq \"work\"] ", "invalid sub-attribute after ']' at 23"},
    {"name.familyName[value eq \"x\"]", "value filter on a sub-attribute at 16"},
    {"name.familyName.x", "invalid attribute path at 1"},
    {" members", "invalid attribute path at 1"},
    {"members ", "invalid attribute path at 1"},
    {"1members", "invalid attribute path at 1"},
    {"emails[]", "unexpected ']' at 8"},
    {"emails[type eq \"work\" garbage]", "expected 'and' or 'or' at 23"},
    {"members eq \"x\"", "invalid attribute path at 1"},
    {ENT ":", "invalid attribute path at 1"},
};

static void test_valid(void **state)
{
    for (size_t i = 0; i < sizeof(VALID) / sizeof(VALID[0]); i++) {
        scim_patch_path_t p;
        gw_err_t err = {0};
        if (scim_path_parse(*state, VALID[i].path, strlen(VALID[i].path), &p, &err) != 0)
            fail_msg("%s: %s", VALID[i].path, err.public);
        assert_string_equal(scim_path_sexpr(*state, &p), VALID[i].tree);
        const char *text = scim_path_format(*state, &p);
        scim_patch_path_t q;
        if (scim_path_parse(*state, text, strlen(text), &q, &err) != 0)
            fail_msg("%s -> %s: %s", VALID[i].path, text, err.public);
        assert_string_equal(scim_path_sexpr(*state, &q), VALID[i].tree);
    }
}

static void test_fields(void **state)
{
    scim_patch_path_t p;
    gw_err_t err = {0};
    const char *s = ENT ":manager.value";
    assert_int_equal(scim_path_parse(*state, s, strlen(s), &p, &err), 0);
    assert_string_equal(p.path.uri, ENT);
    assert_string_equal(p.path.attr, "manager");
    assert_string_equal(p.path.sub, "value");
    assert_null(p.value_filter);
    assert_null(p.filter_sub);
    s = "emails[type eq \"work\"].value";
    assert_int_equal(scim_path_parse(*state, s, strlen(s), &p, &err), 0);
    assert_null(p.path.uri);
    assert_string_equal(p.path.attr, "emails");
    assert_null(p.path.sub);
    assert_non_null(p.value_filter);
    assert_int_equal(p.value_filter->kind, SCIM_F_CMP);
    assert_string_equal(p.value_filter->path.attr, "type");
    assert_string_equal(p.value_filter->value, "work");
    assert_string_equal(p.filter_sub, "value");
}

static void test_invalid(void **state)
{
    for (size_t i = 0; i < sizeof(INVALID) / sizeof(INVALID[0]); i++) {
        scim_patch_path_t p;
        gw_err_t err = {0};
        if (scim_path_parse(*state, INVALID[i].path, strlen(INVALID[i].path), &p, &err) == 0)
            fail_msg("accepted %s as %s", INVALID[i].path, scim_path_sexpr(*state, &p));
        assert_int_equal(err.kind, GW_E_SCIM_INVALID_PATH);
        if (strcmp(err.public, INVALID[i].message) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", INVALID[i].path, err.public, INVALID[i].message);
    }
}

static void test_limits(void **state)
{
    size_t n = SCIM_MAX_FILTER_LEN + 1;
    char *s = malloc(n + 1);
    memcpy(s, "emails[value eq \"", 17);
    memset(s + 17, 'x', n - 19);
    memcpy(s + n - 2, "\"]", 2);
    scim_patch_path_t p;
    gw_err_t err = {0};
    assert_int_equal(scim_path_parse(*state, s, n, &p, &err), -1);
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_PATH);
    assert_string_equal(err.public, "path longer than 4096 bytes");
    free(s);
    /* depth: the brackets count as one level, then 31 parentheses */
    char deep[256] = "emails[";
    for (int i = 0; i < 32; i++)
        strcat(deep, "(");
    strcat(deep, "a pr");
    for (int i = 0; i < 32; i++)
        strcat(deep, ")");
    strcat(deep, "]");
    assert_int_equal(scim_path_parse(*state, deep, strlen(deep), &p, &err), -1);
    assert_string_equal(err.public, "filter nested too deeply at 39");
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_PATH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
