/* scim/project.c: attributes / excludedAttributes (RFC 7644 §3.9), returned
 * (RFC 7643 §2.2, §7), meta.location and meta.version, canonical order. The
 * expected output is compared byte for byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "scim/json_tree.h"
#include "tests/unit/scim_json_fixture.h"

/* Exact equality: key names exactly, any key order, array order kept. */
#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

static const char *USER =
    "{'" ENT "':{'employeeNumber':'701984','manager':{'value':'26118915'}},"
    "'meta':{'resourceType':'User','created':'2010-01-23T04:56:22Z','lastModified':'2011-05-13T04:42:34Z',"
    "'version':3},'emails':[{'value':'b@x','type':'work','primary':true}],'userName':'bjensen',"
    "'name':{'givenName':'Barbara','familyName':'Jensen'},'password':'leak','active':false,"
    "'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','" ENT "'],'externalId':'e1',"
    "'id':'2819c223','unknownKey':1}";

static void expect(const char *doc, const char *attrs, const char *excl, const char *want)
{
    yajl_val d = J(doc);
    gw_jw_t *w = gw_jw_new();
    gw_err_t err = {0};
    if (scim_project(&SCIM_RT_USER, d, attrs, excl, "https://example.com/scim/v2", w, &err) != 0)
        fail_msg("failed: %s", err.public);
    size_t len;
    const char *out = gw_jw_buf(w, &len);
    char *exp = strdup(want);
    for (char *c = exp; *c; c++)
        if (*c == '\'')
            *c = '"';
    if (out == NULL || len != strlen(exp) || memcmp(out, exp, len) != 0)
        fail_msg("got  %.*s want %s", (int)len, out ? out : "", exp);
    free(exp);
    gw_jw_free(w);
    yajl_tree_free(d);
}

#define SCH  "'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','" ENT "']"
#define SCH1 "'schemas':['urn:ietf:params:scim:schemas:core:2.0:User']"
#define META                                                                                                 \
    "'meta':{'resourceType':'User','created':'2010-01-23T04:56:22Z','lastModified':'2011-05-13T04:42:34Z',"  \
    "'location':'https://example.com/scim/v2/Users/2819c223','version':'W/\\'3\\''}"

static void full(void **state)
{
    (void)state;
    /* canonical order; password (returned never) and unknown keys never written */
    expect(USER, NULL, NULL,
           "{" SCH ",'id':'2819c223','externalId':'e1','userName':'bjensen','name':{'familyName':'Jensen',"
           "'givenName':'Barbara'},'active':false,'emails':[{'value':'b@x','type':'work','primary':true}],"
           "'" ENT "':{'employeeNumber':'701984','manager':{'value':'26118915'}}," META "}");
}

static void attributes(void **state)
{
    (void)state;
    /* id and schemas always; names case-insensitive; sub-attributes */
    expect(USER, "userName", NULL, "{" SCH1 ",'id':'2819c223','userName':'bjensen'}");
    expect(USER, " USERNAME , name.givenName", NULL,
           "{" SCH1 ",'id':'2819c223','userName':'bjensen','name':{'givenName':'Barbara'}}");
    expect(USER, "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName,emails.value", NULL,
           "{" SCH1 ",'id':'2819c223','name':{'familyName':'Jensen'},'emails':[{'value':'b@x'}]}");
    expect(USER, ENT ":employeeNumber", NULL,
           "{" SCH ",'id':'2819c223','" ENT "':{'employeeNumber':'701984'}}");
    expect(USER, ENT, NULL,
           "{" SCH ",'id':'2819c223','" ENT "':{'employeeNumber':'701984','manager':{'value':'26118915'}}}");
    expect(USER, "meta.version", NULL, "{" SCH1 ",'id':'2819c223','meta':{'version':'W/\\'3\\''}}");
    /* returned never stays out even when asked; unknown names select nothing */
    expect(USER, "password,nosuch", NULL, "{" SCH1 ",'id':'2819c223'}");
}

static void excluded(void **state)
{
    (void)state;
    expect(USER, NULL, "emails, name.givenName," ENT ",meta,id",
           "{" SCH1 ",'id':'2819c223','externalId':'e1','userName':'bjensen','name':{'familyName':'Jensen'},"
           "'active':false}");
}

static void both(void **state)
{
    (void)state;
    yajl_val d = J(USER);
    gw_jw_t *w = gw_jw_new();
    gw_err_t err = {0};
    assert_int_equal(scim_project(&SCIM_RT_USER, d, "userName", "emails", "https://x", w, &err), -1);
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_VALUE);
    gw_jw_free(w);
    yajl_tree_free(d);
}

static void version_string(void **state)
{
    (void)state;
    expect("{'id':'a','meta':{'version':'W/\\'7\\''}}", "meta", NULL,
           "{" SCH1
           ",'id':'a','meta':{'location':'https://example.com/scim/v2/Users/a','version':'W/\\'7\\''}}");
    expect("{'id':'a','meta':{'version':'9'}}", "meta.version", NULL,
           "{" SCH1 ",'id':'a','meta':{'version':'W/\\'9\\''}}");
}

/* RFC 7644 §3.9: every name of an accepted list counts, however many came
 * before it (the lists were cut after 64 names, silently); 256 names are
 * accepted, more are invalidValue. */
static void many_names(void **state)
{
    (void)state;
    char list[4096] = "";
    for (int i = 0; i < 200; i++)
        strcat(list, i % 2 ? "userName," : "nosuch,");
    strcat(list, "name.givenName");
    expect(USER, list, NULL,
           "{" SCH1 ",'id':'2819c223','userName':'bjensen','name':{'givenName':'Barbara'}}");
    char excl[4096] = "";
    for (int i = 0; i < 254; i++)
        strcat(excl, "emails,");
    strcat(excl, ENT ",active");
    expect(USER, NULL, excl,
           "{" SCH1 ",'id':'2819c223','externalId':'e1','userName':'bjensen','name':{'familyName':'Jensen',"
           "'givenName':'Barbara'}," META "}");
    gw_err_t err = {0};
    assert_int_equal(scim_project_lists_check(NULL, excl, &err), 0);
    strcat(excl, ",meta");
    assert_int_equal(scim_project_lists_check(NULL, excl, &err), -1);
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_VALUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full), cmocka_unit_test(attributes),     cmocka_unit_test(excluded),
        cmocka_unit_test(both), cmocka_unit_test(version_string), cmocka_unit_test(many_names),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
