/* scim/filter_sql.c: filters and sortBy to parameterised SQL. A small fake
 * resource type (same structs as scim/schema_defs.c) keeps the expected SQL
 * independent of the real attribute tables; resolution is the real
 * scim_attr_resolve, and the common attributes (id, externalId, meta) the
 * real ones. */
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

static const scim_attr_t NAME_SUBS[] = {
    {.name = "givenName", .type = SCIM_T_STRING, .column = "given_name"},
    {.name = "familyName", .type = SCIM_T_STRING, .column = "family_name"},
};
static const scim_attr_t EMAIL_SUBS[] = {
    {.name = "value", .type = SCIM_T_STRING, .column = "value"},
    {.name = "type", .type = SCIM_T_STRING, .column = "type"},
    {.name = "primary", .type = SCIM_T_BOOLEAN, .column = "\"primary\""},
    {.name = "display", .type = SCIM_T_STRING, .column = "display"},
    {.name = "since", .type = SCIM_T_DATETIME, .column = "data->>'since'"},
    {.name = "secret", .type = SCIM_T_STRING},
};
static const scim_attr_t CORE[] = {
    {.name = "userName", .type = SCIM_T_STRING, .column = "user_name"},
    {.name = "title", .type = SCIM_T_STRING, .column = "title"},
    {.name = "code", .type = SCIM_T_STRING, .case_exact = true, .column = "code"},
    {.name = "active", .type = SCIM_T_BOOLEAN, .column = "active"},
    {.name = "logins", .type = SCIM_T_INTEGER, .column = "logins"},
    {.name = "score", .type = SCIM_T_DECIMAL, .column = "doc->>'score'"},
    {.name = "photo", .type = SCIM_T_BINARY, .column = "photo"},
    {.name = "password", .type = SCIM_T_STRING},
    {.name = "name",
     .type = SCIM_T_COMPLEX,
     .sub_attrs = NAME_SUBS,
     .sub_count = sizeof(NAME_SUBS) / sizeof(NAME_SUBS[0])},
    {.name = "emails",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .sub_attrs = EMAIL_SUBS,
     .sub_count = sizeof(EMAIL_SUBS) / sizeof(EMAIL_SUBS[0]),
     .child = "emails"},
};
static const scim_attr_t EXT[] = {
    {.name = "employeeNumber", .type = SCIM_T_STRING, .column = "employee_number"},
};
static const scim_schema_t S_CORE = {"urn:test:core:2.0:User", "User", "", CORE,
                                     sizeof(CORE) / sizeof(CORE[0])};
static const scim_schema_t S_EXT = {"urn:test:ext:2.0:User", "Ext", "", EXT, 1};
static const scim_schema_t *const EXTS[] = {&S_EXT, NULL};
static const scim_resource_type_t RT = {"User", "User", "/Users", "", &S_CORE, EXTS, "users u"};

static const scim_attr_t MEMBER_SUBS[] = {
    {.name = "value", .type = SCIM_T_STRING, .case_exact = true, .column = "member_id"},
    {.name = "type", .type = SCIM_T_STRING, .case_exact = true, .column = "member_type"},
    {.name = "display", .type = SCIM_T_STRING},
};
static const scim_attr_t GCORE[] = {
    {.name = "displayName", .type = SCIM_T_STRING, .column = "display_name"},
    {.name = "members",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .sub_attrs = MEMBER_SUBS,
     .sub_count = 3,
     .child = "members"},
};
static const scim_schema_t S_GROUP = {"urn:test:core:2.0:Group", "Group", "", GCORE, 2};
static const scim_schema_t *const NO_EXTS[] = {NULL};
static const scim_resource_type_t GRT = {"Group", "Group", "/Groups", "", &S_GROUP, NO_EXTS, "groups g"};

/* The SQL of `filter`, then its parameters, " | " between each. */
static const char *translate(void **state, const scim_resource_type_t *rt, const char *filter, gw_err_t *err)
{
    scim_filter_t *f;
    scim_sql_t q;
    memset(err, 0, sizeof(*err));
    if (scim_filter_parse(*state, filter, strlen(filter), &f, err) != 0)
        fail_msg("%s: %s", filter, err->public);
    scim_sql_init(&q, *state);
    if (scim_filter_sql(rt, f, &q, err) != 0)
        return NULL;
    for (int i = 0; i < q.nparams; i++) {
        scim_sql_add(&q, " | ");
        scim_sql_add(&q, q.params[i]);
    }
    return q.sql;
}

#define EX(attr) "EXISTS (SELECT 1 FROM user_values v WHERE v.user_id = u.id AND v.attr = $1 AND "

static const struct {
    const scim_resource_type_t *rt;
    const char *filter, *sql;
} CASES[] = {
    /* Entra ID and Okta: the lookups that must use the indexes */
    {&RT, "userName eq \"Bjensen\"", "(lower(u.user_name) = lower($1)) | Bjensen"},
    {&RT, "externalId eq \"58342554-38d6-4ec8-948c-50044d0a33fd\"",
     "(u.external_id = $1) | 58342554-38d6-4ec8-948c-50044d0a33fd"},
    {&RT, "externalId eq \"x\"", "(u.external_id::text = $1) | x"},
    {&RT, "id eq \"2819c223-7f76-453a-919d-413861904646\"",
     "(u.id = $1) | 2819c223-7f76-453a-919d-413861904646"},
    {&RT, "id eq \"not-a-uuid\"", "(u.id::text = $1) | not-a-uuid"},
    /* co/sw/ew: LIKE on lower(), wildcards in the value escaped */
    {&RT, "userName sw \"J_%\\\\\"",
     "(lower(u.user_name) LIKE (lower($1) || '%') ESCAPE '\\') | J\\_\\%\\\\"},
    {&RT, "name.familyName co \"O'Malley\"",
     "(lower(u.family_name) LIKE ('%' || lower($1) || '%') ESCAPE '\\') | O'Malley"},
    {&RT, "title ew \"VP\"", "(lower(u.title) LIKE ('%' || lower($1)) ESCAPE '\\') | VP"},
    {&RT, "code sw \"A\"", "(u.code::text LIKE ($1 || '%') ESCAPE '\\') | A"},
    {&RT, "code eq \"A\"", "(u.code::text = $1) | A"},
    /* meta.version: the served W/"n" (or "n") is version n (RFC 7644 §3.14) */
    {&RT, "meta.version eq \"W/\\\"3\\\"\"", "(u.version::text = $1) | 3"},
    {&RT, "meta.version eq \"\\\"12\\\"\"", "(u.version::text = $1) | 12"},
    {&RT, "meta.version ne \"W/\\\"3\\\"\"", "(u.version::text IS DISTINCT FROM $1) | 3"},
    {&RT, "meta.version eq \"3\"", "(u.version::text = $1) | 3"},
    {&RT, "meta.version eq \"W/\\\"x\\\"\"", "(u.version::text = $1) | W/\"x\""},
    {&RT, "meta.version sw \"W/\"", "(u.version::text LIKE ($1 || '%') ESCAPE '\\') | W/"},
    {&RT, "code gt \"A\"", "(u.code::text > $1) | A"},
    {&RT, "title gt \"m\"", "(lower(u.title) > lower($1)) | m"},
    /* ne and not keep unassigned attributes (RFC 7643 §2.5) */
    {&RT, "title ne \"VP\"", "(lower(u.title) IS DISTINCT FROM lower($1)) | VP"},
    {&RT, "not (title eq \"VP\")", "((lower(u.title) = lower($1)) IS NOT TRUE) | VP"},
    {&RT, "title eq null", "((u.title IS NOT NULL AND u.title <> '') IS NOT TRUE)"},
    {&RT, "title ne null", "(u.title IS NOT NULL AND u.title <> '')"},
    {&RT, "title pr", "(u.title IS NOT NULL AND u.title <> '')"},
    /* booleans, numbers, dateTimes */
    {&RT, "active eq true", "(u.active = $1::boolean) | true"},
    {&RT, "active ne \"False\"", "(u.active IS DISTINCT FROM $1::boolean) | false"},
    {&RT, "active pr", "(u.active IS NOT NULL)"},
    {&RT, "logins ge 3", "(u.logins >= $1::bigint) | 3"},
    {&RT, "logins lt 2.5", "(u.logins < $1::numeric) | 2.5"},
    {&RT, "score gt 1e2", "((u.doc->>'score')::numeric > $1::numeric) | 1e2"},
/* meta's dateTimes compare at the milliseconds the documents show, on
 * the column (its index): lo = L up to a whole ms, hi = L down + 1 ms */
#define LO "date_trunc('milliseconds', $1::timestamptz + interval '999 microseconds')"
#define HI "(date_trunc('milliseconds', $1::timestamptz) + interval '1 millisecond')"
    {&RT, "meta.lastModified gt \"2011-05-13T04:42:34Z\"", "(u.updated_at >= " HI ") | 2011-05-13T04:42:34Z"},
    {&RT, "meta.lastModified ge \"2011-05-13T04:42:34Z\"", "(u.updated_at >= " LO ") | 2011-05-13T04:42:34Z"},
    {&RT, "meta.lastModified lt \"2011-05-13T04:42:34Z\"", "(u.updated_at < " LO ") | 2011-05-13T04:42:34Z"},
    {&RT, "meta.created le \"2011-05-13T04:42:34.5+02:00\"",
     "(u.created_at < " HI ") | 2011-05-13T04:42:34.5+02:00"},
    {&RT, "meta.created eq \"2011-05-13T04:42:34.123Z\"",
     "((u.created_at >= " LO " AND u.created_at < " HI ")) | 2011-05-13T04:42:34.123Z"},
    {&RT, "meta.created ne \"2011-05-13T04:42:34.123Z\"",
     "((u.created_at >= " LO " AND u.created_at < " HI ") IS NOT TRUE) | 2011-05-13T04:42:34.123Z"},
    {&RT, "photo eq \"aGVsbG8=\"", "(u.photo::text = $1) | aGVsbG8="},
    /* schema URIs, case-insensitive names */
    {&RT, "urn:test:ext:2.0:User:employeeNumber eq \"701984\"",
     "(lower(u.employee_number) = lower($1)) | 701984"},
    {&RT, "URN:TEST:CORE:2.0:USER:USERNAME EQ \"x\"", "(lower(u.user_name) = lower($1)) | x"},
    /* multi-valued: EXISTS over the child rows */
    {&RT, "emails co \"example.com\"",
     EX(emails) "(lower(v.value) LIKE ('%' || lower($2) || '%') ESCAPE '\\')) | emails | example.com"},
    {&RT, "emails.type eq \"work\"", EX(emails) "(lower(v.type) = lower($2))) | emails | work"},
    {&RT, "emails pr",
     "EXISTS (SELECT 1 FROM user_values v WHERE v.user_id = u.id AND v.attr = $1) | emails"},
    {&RT, "emails.display pr", EX(emails) "(v.display IS NOT NULL AND v.display <> '')) | emails"},
    {&RT, "emails.primary eq true", EX(emails) "(v.\"primary\" = $2::boolean)) | emails | true"},
    {&RT, "emails.since lt \"2020-01-01T00:00:00Z\"",
     EX(emails) "((v.data->>'since')::timestamptz < $2::timestamptz)) | emails | 2020-01-01T00:00:00Z"},
    {&RT, "emails ne \"a@x\"", EX(emails) "(lower(v.value) IS DISTINCT FROM lower($2))) | emails | a@x"},
    /* a value path: one row meets every condition */
    {&RT, "emails[type eq \"work\" and value sw \"bjensen\"]",
     EX(emails) "((lower(v.type) = lower($2)) AND (lower(v.value) LIKE (lower($3) || '%') ESCAPE '\\'))) "
                "| emails | work | bjensen"},
    {&RT, "emails[not (primary eq true)]",
     EX(emails) "((v.\"primary\" = $2::boolean) IS NOT TRUE)) | emails | true"},
    {&RT, "name[givenName eq \"Barbara\"]", "((lower(u.given_name) = lower($1))) | Barbara"},
    {&RT, "name pr",
     "((u.given_name IS NOT NULL AND u.given_name <> '') OR (u.family_name IS NOT NULL AND u.family_name <> "
     "''))"},
    /* RFC 7644 §3.4.2.2 examples: and/or/not together */
    {&RT, "title pr and userName eq \"x\" or not (active eq false)",
     "(((u.title IS NOT NULL AND u.title <> '') AND (lower(u.user_name) = lower($1))) OR "
     "((u.active = $2::boolean) IS NOT TRUE)) | x | false"},
    {&RT, "userName eq \"x\" and (emails co \"example.com\" or emails.value co \"example.org\")",
     "((lower(u.user_name) = lower($1)) AND "
     "(EXISTS (SELECT 1 FROM user_values v WHERE v.user_id = u.id AND v.attr = $2 AND "
     "(lower(v.value) LIKE ('%' || lower($3) || '%') ESCAPE '\\')) OR "
     "EXISTS (SELECT 1 FROM user_values v WHERE v.user_id = u.id AND v.attr = $4 AND "
     "(lower(v.value) LIKE ('%' || lower($5) || '%') ESCAPE '\\')))) | x | emails | example.com | emails | "
     "example.org"},
    /* Groups: members in group_members */
    {&GRT, "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]",
     "EXISTS (SELECT 1 FROM group_members v WHERE v.group_id = g.id AND (v.member_id = $1)) | "
     "2819c223-7f76-453a-919d-413861904646"},
    {&GRT, "members.type eq \"Group\"",
     "EXISTS (SELECT 1 FROM group_members v WHERE v.group_id = g.id AND (v.member_type::text = $1)) | Group"},
    {&GRT, "members[value eq \"x\"]",
     "EXISTS (SELECT 1 FROM group_members v WHERE v.group_id = g.id AND (v.member_id::text = $1)) | x"},
    {&GRT, "displayName sw \"adm\"", "(lower(g.display_name) LIKE (lower($1) || '%') ESCAPE '\\') | adm"},
};

static const struct {
    const char *filter, *message;
} ERRORS[] = {
    {"nosuch eq \"x\"", "unknown attribute \"nosuch\""},
    {"name.middle eq \"x\"", "unknown sub-attribute \"name.middle\""},
    {"urn:test:other:userName eq \"x\"", "unknown schema \"urn:test:other\""},
    {"password eq \"x\"", "attribute cannot be filtered: password"},
    {"emails.secret eq \"x\"", "attribute cannot be filtered: secret"},
    {"active gt true", "boolean compares only with eq and ne: active"},
    {"active co \"t\"", "boolean compares only with eq and ne: active"},
    {"active eq \"yes\"", "boolean value expected: active"},
    {"photo lt \"x\"", "binary compares only with eq, ne, co, sw, ew: photo"},
    {"logins eq \"3\"", "number value expected: logins"},
    {"logins co 3", "co, sw and ew apply to strings: logins"},
    {"userName eq 3", "string value expected: userName"},
    {"userName eq true", "string value expected: userName"},
    {"userName gt null", "null compares only with eq and ne: userName"},
    {"meta.created gt \"yesterday\"", "dateTime value expected: created"},
    {"meta.created gt \"2011-05-13 04:42:34\"", "dateTime value expected: created"},
    {"name eq \"x\"", "complex attribute needs a sub-attribute: name"},
    {"emails[value.x eq \"a\"]", "no sub-attribute of a sub-attribute: x"},
    {"emails[nosuch eq \"a\"]", "unknown attribute: nosuch"},
    {"userName[value eq \"a\"]", "value filter on a simple attribute: userName"},
};

static void test_cases(void **state)
{
    int failed = 0;
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        gw_err_t err;
        const char *sql = translate(state, CASES[i].rt, CASES[i].filter, &err);
        if (sql == NULL || strcmp(sql, CASES[i].sql) != 0) {
            print_error("%s\n got: %s\nwant: %s\n", CASES[i].filter, sql ? sql : err.public, CASES[i].sql);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void test_errors(void **state)
{
    for (size_t i = 0; i < sizeof(ERRORS) / sizeof(ERRORS[0]); i++) {
        gw_err_t err;
        const char *sql = translate(state, &RT, ERRORS[i].filter, &err);
        if (sql != NULL)
            fail_msg("%s accepted: %s", ERRORS[i].filter, sql);
        assert_int_equal(err.kind, GW_E_SCIM_INVALID_FILTER);
        if (strcmp(err.public, ERRORS[i].message) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", ERRORS[i].filter, err.public, ERRORS[i].message);
    }
}

/* 64 parameters at most: the 65th value is invalidFilter, not an overflow. */
static void test_too_many_values(void **state)
{
    char filter[2048] = "userName eq \"0\"";
    for (int i = 1; i < 65; i++) {
        char part[32];
        snprintf(part, sizeof(part), " or userName eq \"%d\"", i);
        strcat(filter, part);
    }
    gw_err_t err;
    assert_null(translate(state, &RT, filter, &err));
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_FILTER);
    assert_string_equal(err.public, "filter has more than 64 values");
}

static const char *sort(void **state, const scim_resource_type_t *rt, const char *by, bool desc,
                        gw_err_t *err)
{
    scim_sql_t q;
    memset(err, 0, sizeof(*err));
    scim_sql_init(&q, *state);
    if (scim_sort_sql(rt, by, desc, &q, err) != 0)
        return NULL;
    for (int i = 0; i < q.nparams; i++) {
        scim_sql_add(&q, " | ");
        scim_sql_add(&q, q.params[i]);
    }
    return q.sql;
}

static void test_sort(void **state)
{
    gw_err_t err;
    assert_string_equal(sort(state, &RT, NULL, false, &err), "u.created_at ASC, u.id ASC");
    assert_string_equal(sort(state, &RT, "", true, &err), "u.created_at DESC, u.id DESC");
    assert_string_equal(sort(state, &RT, "userName", false, &err),
                        "lower(u.user_name) ASC NULLS LAST, u.id ASC");
    assert_string_equal(sort(state, &RT, "name.familyName", true, &err),
                        "lower(u.family_name) DESC NULLS FIRST, u.id DESC");
    assert_string_equal(sort(state, &RT, "code", false, &err), "u.code ASC NULLS LAST, u.id ASC");
    assert_string_equal(sort(state, &RT, "meta.lastModified", false, &err),
                        "u.updated_at ASC NULLS LAST, u.id ASC");
    assert_string_equal(
        sort(state, &RT, "emails", false, &err),
        "(SELECT lower(v.value) FROM user_values v WHERE v.user_id = u.id AND v.attr = $1 "
        "ORDER BY v.\"primary\" IS TRUE DESC, v.ord LIMIT 1) ASC NULLS LAST, u.id ASC | emails");
    assert_string_equal(
        sort(state, &RT, "emails.type", true, &err),
        "(SELECT lower(v.type) FROM user_values v WHERE v.user_id = u.id AND v.attr = $1 "
        "ORDER BY v.\"primary\" IS TRUE DESC, v.ord LIMIT 1) DESC NULLS FIRST, u.id DESC | emails");
    assert_string_equal(sort(state, &GRT, "displayName", false, &err),
                        "lower(g.display_name) ASC NULLS LAST, g.id ASC");
    assert_null(sort(state, &RT, "nosuch", false, &err));
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_VALUE);
    assert_null(sort(state, &RT, "name", false, &err));
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_VALUE);
    assert_null(sort(state, &RT, "password", false, &err));
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_VALUE);
    assert_null(sort(state, &RT, "user name", false, &err));
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_VALUE);
}

/* Which orders page through the kept row counts (schema/018): the default
 * order and meta.created, and userName where it is unique (the real User
 * schema), nothing else, and never for Groups. */
static void test_sort_rank(void **state)
{
    h2o_mem_pool_t *pool = *state;
    assert_int_equal(scim_sort_rank(&SCIM_RT_USER, NULL, pool), SCIM_RANK_CREATED);
    assert_int_equal(scim_sort_rank(&SCIM_RT_USER, "", pool), SCIM_RANK_CREATED);
    assert_int_equal(scim_sort_rank(&SCIM_RT_USER, "meta.created", pool), SCIM_RANK_CREATED);
    assert_int_equal(scim_sort_rank(&SCIM_RT_USER, "userName", pool), SCIM_RANK_USER_NAME);
    assert_int_equal(scim_sort_rank(&SCIM_RT_USER, "USERNAME", pool), SCIM_RANK_USER_NAME);
    assert_int_equal(
        scim_sort_rank(&SCIM_RT_USER, "urn:ietf:params:scim:schemas:core:2.0:User:userName", pool),
        SCIM_RANK_USER_NAME);
    assert_int_equal(scim_sort_rank(&SCIM_RT_USER, "displayName", pool), SCIM_RANK_NONE);
    assert_int_equal(scim_sort_rank(&SCIM_RT_USER, "meta.lastModified", pool), SCIM_RANK_NONE);
    assert_int_equal(scim_sort_rank(&SCIM_RT_USER, "emails", pool), SCIM_RANK_NONE);
    assert_int_equal(scim_sort_rank(&SCIM_RT_USER, "nosuch", pool), SCIM_RANK_NONE);
    assert_int_equal(scim_sort_rank(&SCIM_RT_USER, "user name", pool), SCIM_RANK_NONE);
    assert_int_equal(scim_sort_rank(&RT, "userName", pool), SCIM_RANK_NONE); /* not unique there */
    assert_int_equal(scim_sort_rank(&SCIM_RT_GROUP, NULL, pool), SCIM_RANK_NONE);
    assert_int_equal(scim_sort_rank(&SCIM_RT_GROUP, "displayName", pool), SCIM_RANK_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort_rank, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
