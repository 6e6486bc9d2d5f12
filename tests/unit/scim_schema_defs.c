/* scim/schema_defs.c: every attribute resolves (RFC 7643 §2.1: names are
 * case-insensitive, with or without the schema URN), unknown ones fail with
 * the requested kind, the security-relevant characteristics are as the
 * server enforces them, and the storage mapping is present where filters
 * need it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "scim/internal.h"

static void flip_case(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < n; i++)
        out[i] = (char)(islower((unsigned char)in[i]) ? toupper((unsigned char)in[i])
                                                      : tolower((unsigned char)in[i]));
    out[i] = '\0';
}

static const scim_attr_ref_t *must_resolve(const scim_resource_type_t *rt, const char *uri, const char *attr,
                                           const char *sub)
{
    static scim_attr_ref_t ref;
    gw_err_t err;
    memset(&err, 0, sizeof(err));
    memset(&ref, 0, sizeof(ref));
    if (scim_attr_resolve(rt, uri, attr, sub, GW_E_SCIM_INVALID_FILTER, &ref, &err) != 0)
        fail_msg("%s:%s.%s did not resolve: %s", uri ? uri : "-", attr, sub ? sub : "-", err.public);
    return &ref;
}

/* Each attribute and sub-attribute of `s`, as written, in flipped case, and
 * qualified with the URN (also in upper case). */
static void resolve_schema(const scim_resource_type_t *rt, const scim_schema_t *s, bool is_core)
{
    char flipped[128], sub_flipped[128], urn_upper[128];
    flip_case(s->id, urn_upper, sizeof(urn_upper));
    for (size_t i = 0; i < s->count; i++) {
        const scim_attr_t *a = &s->attrs[i];
        flip_case(a->name, flipped, sizeof(flipped));
        const scim_attr_ref_t *ref = must_resolve(rt, s->id, a->name, NULL);
        assert_ptr_equal(ref->attr, a);
        assert_ptr_equal(ref->schema, s);
        assert_null(ref->sub);
        ref = must_resolve(rt, urn_upper, flipped, NULL);
        assert_ptr_equal(ref->attr, a);
        /* Without the URN: the core schema's own, or (leniently) an
         * extension's when no core attribute has the name. */
        ref = must_resolve(rt, NULL, flipped, NULL);
        if (is_core)
            assert_ptr_equal(ref->attr, a);
        else
            assert_string_equal(ref->attr->name, a->name);
        for (size_t j = 0; j < a->sub_count; j++) {
            const scim_attr_t *sa = &a->sub_attrs[j];
            flip_case(sa->name, sub_flipped, sizeof(sub_flipped));
            ref = must_resolve(rt, NULL, flipped, sub_flipped);
            assert_ptr_equal(ref->sub, sa);
            ref = must_resolve(rt, s->id, a->name, sa->name);
            assert_ptr_equal(ref->sub, sa);
            assert_ptr_equal(ref->attr, a);
        }
    }
}

static void test_every_attribute_resolves(void **state)
{
    (void)state;
    resolve_schema(&SCIM_RT_USER, &SCIM_SCHEMA_USER, true);
    resolve_schema(&SCIM_RT_USER, &SCIM_SCHEMA_ENTERPRISE, false);
    resolve_schema(&SCIM_RT_USER, &SCIM_SCHEMA_RECOVERY, false);
    resolve_schema(&SCIM_RT_GROUP, &SCIM_SCHEMA_GROUP, true);
}

static void test_common_attributes(void **state)
{
    (void)state;
    const scim_resource_type_t *rts[] = {&SCIM_RT_USER, &SCIM_RT_GROUP};
    char flipped[64];
    for (size_t r = 0; r < 2; r++) {
        for (size_t i = 0; i < SCIM_COMMON_ATTR_COUNT; i++) {
            const scim_attr_t *a = &SCIM_COMMON_ATTRS[i];
            flip_case(a->name, flipped, sizeof(flipped));
            const scim_attr_ref_t *ref = must_resolve(rts[r], NULL, flipped, NULL);
            assert_ptr_equal(ref->attr, a);
            assert_null(ref->schema);
            /* RFC 7644 §3.10: the core URN may qualify them too. */
            ref = must_resolve(rts[r], rts[r]->core->id, a->name, NULL);
            assert_ptr_equal(ref->attr, a);
            assert_null(ref->schema);
            for (size_t j = 0; j < a->sub_count; j++)
                assert_ptr_equal(must_resolve(rts[r], NULL, a->name, a->sub_attrs[j].name)->sub,
                                 &a->sub_attrs[j]);
        }
    }
    assert_string_equal(must_resolve(&SCIM_RT_USER, NULL, "META", "LASTMODIFIED")->sub->column, "updated_at");
}

static void assert_unknown(const scim_resource_type_t *rt, const char *uri, const char *attr, const char *sub,
                           gw_err_kind_t kind)
{
    scim_attr_ref_t ref;
    gw_err_t err;
    memset(&err, 0, sizeof(err));
    if (scim_attr_resolve(rt, uri, attr, sub, kind, &ref, &err) == 0)
        fail_msg("%s:%s.%s resolved", uri ? uri : "-", attr ? attr : "(null)", sub ? sub : "-");
    assert_int_equal(err.kind, kind);
    assert_true(err.public[0] != '\0');
}

static void test_unknown_attributes(void **state)
{
    (void)state;
    assert_unknown(&SCIM_RT_USER, NULL, "userNames", NULL, GW_E_SCIM_INVALID_FILTER);
    assert_unknown(&SCIM_RT_USER, NULL, "", NULL, GW_E_SCIM_INVALID_PATH);
    assert_unknown(&SCIM_RT_USER, NULL, NULL, NULL, GW_E_SCIM_INVALID_PATH);
    /* A sub-attribute that does not exist, or on a simple attribute. */
    assert_unknown(&SCIM_RT_USER, NULL, "emails", "values", GW_E_SCIM_INVALID_PATH);
    assert_unknown(&SCIM_RT_USER, NULL, "userName", "value", GW_E_SCIM_INVALID_FILTER);
    /* An attribute under the wrong schema, or a schema of another type. */
    assert_unknown(&SCIM_RT_USER, SCIM_URN_ENTERPRISE, "userName", NULL, GW_E_SCIM_INVALID_PATH);
    assert_unknown(&SCIM_RT_USER, SCIM_URN_USER, "employeeNumber", NULL, GW_E_SCIM_INVALID_PATH);
    assert_unknown(&SCIM_RT_GROUP, SCIM_URN_ENTERPRISE, "employeeNumber", NULL, GW_E_SCIM_INVALID_PATH);
    assert_unknown(&SCIM_RT_GROUP, NULL, "userName", NULL, GW_E_SCIM_INVALID_FILTER);
    assert_unknown(&SCIM_RT_GROUP, NULL, "employeeNumber", NULL, GW_E_SCIM_INVALID_FILTER);
    assert_unknown(&SCIM_RT_USER, "urn:example:nope", "userName", NULL, GW_E_SCIM_INVALID_PATH);
}

static const scim_attr_t *user_attr(const char *name, const char *sub)
{
    const scim_attr_ref_t *ref = must_resolve(&SCIM_RT_USER, NULL, name, sub);
    return sub != NULL ? ref->sub : ref->attr;
}

/* RFC 7643 §4.1 and what the server really does. */
static void test_security_characteristics(void **state)
{
    (void)state;
    const scim_attr_t *a = user_attr("password", NULL);
    assert_int_equal(a->mutability, SCIM_MUT_WRITE_ONLY);
    assert_int_equal(a->returned, SCIM_RET_NEVER);
    assert_null(a->column); /* never filterable, never in a document */
    assert_null(a->child);

    a = user_attr("id", NULL);
    assert_int_equal(a->mutability, SCIM_MUT_READ_ONLY);
    assert_int_equal(a->returned, SCIM_RET_ALWAYS);
    assert_int_equal(a->uniqueness, SCIM_UNIQ_SERVER);
    assert_true(a->case_exact);

    a = user_attr("userName", NULL);
    assert_int_equal(a->uniqueness, SCIM_UNIQ_SERVER);
    assert_false(a->case_exact);
    assert_true(a->required);
    assert_int_equal(a->mutability, SCIM_MUT_READ_WRITE);
    assert_string_equal(a->column, "user_name");

    a = user_attr("groups", NULL);
    assert_int_equal(a->mutability, SCIM_MUT_READ_ONLY);
    for (size_t i = 0; i < a->sub_count; i++)
        assert_int_equal(a->sub_attrs[i].mutability, SCIM_MUT_READ_ONLY);

    assert_int_equal(user_attr("meta", NULL)->mutability, SCIM_MUT_READ_ONLY);
    assert_true(user_attr("externalId", NULL)->case_exact);
    assert_int_equal(user_attr("active", NULL)->type, SCIM_T_BOOLEAN);
    assert_false(user_attr("emails", "value")->case_exact);

    a = must_resolve(&SCIM_RT_USER, SCIM_URN_RECOVERY, "birthdate", NULL)->attr;
    assert_int_equal(a->type, SCIM_T_STRING);
    assert_false(a->multi_valued);
    assert_non_null(strstr(a->description, "YYYY-MM-DD"));
    assert_string_equal(a->column, "birthdate");

    const scim_attr_ref_t *ref = must_resolve(&SCIM_RT_GROUP, NULL, "members", "value");
    assert_int_equal(ref->sub->mutability, SCIM_MUT_IMMUTABLE);
    assert_string_equal(ref->attr->child, "members");
    assert_string_equal(ref->sub->column, "member_id");
    assert_true(must_resolve(&SCIM_RT_GROUP, NULL, "displayName", NULL)->attr->required);
}

/* Every attribute a filter may name has its storage; the multi-valued ones
 * of user_values name their row columns. */
static void test_storage_mapping(void **state)
{
    (void)state;
    const char *const columns[][2] = {
        {"userName", "user_name"},     {"displayName", "display_name"},
        {"nickName", "nick_name"},     {"title", "title"},
        {"userType", "user_type"},     {"active", "active"},
        {"externalId", "external_id"}, {"id", "id"},
        {"locale", "locale"},          {"timezone", "timezone"},
        {"profileUrl", "profile_url"}, {"preferredLanguage", "preferred_language"},
    };
    for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
        assert_string_equal(user_attr(columns[i][0], NULL)->column, columns[i][1]);
    assert_string_equal(user_attr("name", "givenName")->column, "given_name");
    assert_string_equal(user_attr("name", "familyName")->column, "family_name");
    const char *const children[] = {"emails",    "phoneNumbers", "ims",  "photos",
                                    "addresses", "entitlements", "roles"};
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
        const scim_attr_t *a = user_attr(children[i], NULL);
        assert_true(a->multi_valued);
        assert_string_equal(a->child, children[i]);
        assert_null(a->column);
        for (size_t j = 0; j < a->sub_count; j++)
            assert_non_null(a->sub_attrs[j].column);
    }
    assert_string_equal(user_attr("emails", "type")->column, "type");
    assert_string_equal(user_attr("emails", "primary")->column, "\"primary\"");
    assert_string_equal(user_attr("addresses", "locality")->column, "data->>'locality'");
    assert_string_equal(user_attr("employeeNumber", NULL)->column, "employee_number");
    assert_string_equal(user_attr("manager", "value")->column, "manager_id");
    assert_null(user_attr("x509Certificates", NULL)->child);
    assert_null(user_attr("groups", NULL)->child);
    assert_string_equal(SCIM_RT_USER.table, "users u");
    assert_string_equal(SCIM_RT_GROUP.table, "groups g");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_attribute_resolves), cmocka_unit_test(test_common_attributes),
        cmocka_unit_test(test_unknown_attributes),       cmocka_unit_test(test_security_characteristics),
        cmocka_unit_test(test_storage_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
