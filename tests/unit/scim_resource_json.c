/* scim/resource_json.c: POST/PUT bodies checked against the schemas; each
 * rule with a valid case and its broken twin; Entra ID's and Okta's
 * documented bodies. JSON is written with ' for " (J() swaps them back). */
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

#define CORE "'schemas':['urn:ietf:params:scim:schemas:core:2.0:User']"
#define ENT  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

static void ok_as(const scim_resource_type_t *rt, scim_write_mode_t mode, const char *existing,
                  const char *in, const char *want, const char *want_pw)
{
    yajl_val i = J(in), w = J(want), e = existing ? J(existing) : NULL, out = NULL;
    char *pw = NULL;
    gw_err_t err = {0};
    if (scim_resource_check(rt, i, mode, e, &out, &pw, &err) != 0)
        fail_msg("rejected (%s:%d): %s: %s", err.file, err.line, err.public, in);
    if (!same(out, w)) {
        dump("got ", out);
        dump("want", w);
        fail_msg("unexpected result for %s", in);
    }
    if (want_pw == NULL)
        assert_null(pw);
    else
        assert_string_equal(pw, want_pw);
    free(pw);
    yajl_tree_free(out);
    yajl_tree_free(i);
    yajl_tree_free(w);
    yajl_tree_free(e);
}

static void ok(const char *in, const char *want)
{
    ok_as(&SCIM_RT_USER, SCIM_WRITE_CREATE, NULL, in, want, NULL);
}

static void bad_as(const scim_resource_type_t *rt, scim_write_mode_t mode, const char *existing,
                   const char *in, gw_err_kind_t kind)
{
    yajl_val i = J(in), e = existing ? J(existing) : NULL, out = (yajl_val)1;
    char *pw = (char *)1;
    gw_err_t err = {0};
    if (scim_resource_check(rt, i, mode, e, &out, &pw, &err) == 0)
        fail_msg("accepted: %s", in);
    if (err.kind != kind)
        fail_msg("%s: kind %d (%s), want %d", in, err.kind, err.public, kind);
    assert_null(out);
    assert_null(pw);
    yajl_tree_free(i);
    yajl_tree_free(e);
}

static void bad(const char *in, gw_err_kind_t kind)
{
    bad_as(&SCIM_RT_USER, SCIM_WRITE_CREATE, NULL, in, kind);
}

/* A schema URI we do not know (RFC 7643 §3, RFC 7644 §3.3): ignored when no
 * attribute is under it, as Entra ID's Create Group needs; an error when
 * one is, or when it is no URI at all. */
#define MS_GROUP "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
#define GROUP    "urn:ietf:params:scim:schemas:core:2.0:Group"
static void unknown_schema(void **state)
{
    (void)state;
    /* Entra ID's documented Create Group */
    ok_as(&SCIM_RT_GROUP, SCIM_WRITE_CREATE, NULL,
          "{'schemas':['" GROUP "','" MS_GROUP "'],'externalId':'8aa1a0c0','displayName':'displayName',"
          "'meta':{'resourceType':'Group'}}",
          "{'schemas':['" GROUP "'],'externalId':'8aa1a0c0','displayName':'displayName'}", NULL);
    ok("{'schemas':['urn:example:unknown:1.0','urn:ietf:params:scim:schemas:core:2.0:User'],'userName':'b'}",
       "{" CORE ",'userName':'b'}");
    ok_as(&SCIM_RT_USER, SCIM_WRITE_REPLACE, "{" CORE ",'userName':'b'}",
          "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','urn:example:x'],'userName':'c'}",
          "{" CORE ",'userName':'c'}", NULL);
    /* twins: attributes under the unknown URI, or no URI */
    bad_as(&SCIM_RT_GROUP, SCIM_WRITE_CREATE, NULL,
           "{'schemas':['" GROUP "','" MS_GROUP "'],'displayName':'d','" MS_GROUP "':{'x':1}}",
           GW_E_SCIM_INVALID_VALUE);
    bad_as(&SCIM_RT_GROUP, SCIM_WRITE_CREATE, NULL,
           "{'schemas':['" GROUP "','" MS_GROUP "'],'displayName':'d','" MS_GROUP ":x':1}",
           GW_E_SCIM_INVALID_VALUE);
    bad("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','unknown'],'userName':'b'}",
        GW_E_SCIM_INVALID_VALUE);
    bad("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','urn:'],'userName':'b'}",
        GW_E_SCIM_INVALID_VALUE);
    /* an unknown URI never stands in for the core one */
    bad_as(&SCIM_RT_GROUP, SCIM_WRITE_CREATE, NULL, "{'schemas':['" MS_GROUP "'],'displayName':'d'}",
           GW_E_SCIM_INVALID_VALUE);
    /* attributes under an unknown URI not listed in schemas stay unknown */
    bad_as(&SCIM_RT_GROUP, SCIM_WRITE_CREATE, NULL,
           "{'schemas':['" GROUP "'],'displayName':'d','" MS_GROUP "':{}}", GW_E_SCIM_INVALID_SYNTAX);
}

/* RFC 7643 §8.1 minimal user, and its twins */
static void minimal(void **state)
{
    (void)state;
    ok("{" CORE ",'userName':'bjensen@example.com'}", "{" CORE ",'userName':'bjensen@example.com'}");
    bad("{" CORE "}", GW_E_SCIM_INVALID_VALUE);                    /* userName required */
    bad("{" CORE ",'userName':''}", GW_E_SCIM_INVALID_VALUE);      /* empty is unassigned */
    bad("{'userName':'b'}", GW_E_SCIM_INVALID_VALUE);              /* schemas required */
    bad("{'schemas':[],'userName':'b'}", GW_E_SCIM_INVALID_VALUE); /* non-empty */
    bad("{'schemas':['urn:x'],'userName':'b'}", GW_E_SCIM_INVALID_VALUE);
    bad("{'schemas':['" ENT "'],'userName':'b'}", GW_E_SCIM_INVALID_VALUE); /* core URN missing */
    bad("[1]", GW_E_SCIM_INVALID_SYNTAX);
    bad_as(&SCIM_RT_GROUP, SCIM_WRITE_CREATE, NULL,
           "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group']}",
           GW_E_SCIM_INVALID_VALUE); /* displayName required */
}

/* Names case-insensitive in, canonical out (RFC 7643 §2.1); order canonical */
static void names(void **state)
{
    (void)state;
    ok("{'SCHEMAS':['URN:ietf:params:scim:schemas:core:2.0:user'],'USERNAME':'b','Name':{'GIVENNAME':'B'},"
       "'externalid':'x'}",
       "{" CORE ",'externalId':'x','userName':'b','name':{'givenName':'B'}}");
    bad("{" CORE ",'userName':'b','nosuch':1}", GW_E_SCIM_INVALID_SYNTAX);
    bad("{" CORE ",'userName':'b','name':{'nosuch':'x'}}", GW_E_SCIM_INVALID_SYNTAX);
    bad("{" CORE ",'userName':'b','username':'c'}", GW_E_SCIM_INVALID_SYNTAX);
}

/* readOnly given by the client: ignored (RFC 7644 §3.5.1, RFC 7643 §3.1) */
static void read_only(void **state)
{
    (void)state;
    ok("{" CORE ",'id':'x','userName':'b','meta':{'resourceType':'User'},'groups':[{'value':'g'}]}",
       "{" CORE ",'userName':'b'}");
    ok_as(&SCIM_RT_GROUP, SCIM_WRITE_CREATE, NULL,
          "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],'displayName':'G',"
          "'members':[{'value':'u1','display':'U','type':'User'}]}",
          "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],'displayName':'G',"
          "'members':[{'value':'u1','type':'User'}]}",
          NULL);
}

static void types(void **state)
{
    (void)state;
    /* booleans, and Entra ID's strings */
    ok("{" CORE ",'userName':'b','active':'False'}", "{" CORE ",'userName':'b','active':false}");
    ok("{" CORE ",'userName':'b','active':'TRUE'}", "{" CORE ",'userName':'b','active':true}");
    bad("{" CORE ",'userName':'b','active':'no'}", GW_E_SCIM_INVALID_VALUE);
    bad("{" CORE ",'userName':'b','active':1}", GW_E_SCIM_INVALID_VALUE);
    /* strings */
    bad("{" CORE ",'userName':7}", GW_E_SCIM_INVALID_VALUE);
    bad("{" CORE ",'userName':'b','title':['x']}", GW_E_SCIM_INVALID_VALUE);
    /* complex */
    bad("{" CORE ",'userName':'b','name':'Babs'}", GW_E_SCIM_INVALID_VALUE);
    bad("{" CORE ",'userName':'b','name':{'givenName':1}}", GW_E_SCIM_INVALID_VALUE);
    /* binary (RFC 7643 §2.3.6): base64 */
    ok("{" CORE ",'userName':'b','x509Certificates':[{'value':'TUlJRA=='}]}",
       "{" CORE ",'userName':'b','x509Certificates':[{'value':'TUlJRA=='}]}");
    bad("{" CORE ",'userName':'b','x509Certificates':[{'value':'TUlJRA='}]}", GW_E_SCIM_INVALID_VALUE);
    bad("{" CORE ",'userName':'b','x509Certificates':[{'value':'TU-JRA=='}]}", GW_E_SCIM_INVALID_VALUE);
    /* null and [] are unassigned (RFC 7643 §2.5) */
    ok("{" CORE ",'userName':'b','title':null,'emails':[],'name':{}}", "{" CORE ",'userName':'b'}");
}

/* RFC 7643 §2.4: arrays; at most one primary */
static void multi_valued(void **state)
{
    (void)state;
    ok("{" CORE ",'userName':'b','emails':[{'value':'a@x','type':'work','primary':true},"
       "{'value':'b@x','type':'custom','primary':'False'}]}",
       "{" CORE ",'userName':'b','emails':[{'value':'a@x','type':'work','primary':true},"
       "{'value':'b@x','type':'custom','primary':false}]}");
    bad("{" CORE
        ",'userName':'b','emails':[{'value':'a@x','primary':true},{'value':'b@x','primary':'True'}]}",
        GW_E_SCIM_INVALID_VALUE);
    bad("{" CORE ",'userName':'b','emails':{'value':'a@x'}}", GW_E_SCIM_INVALID_VALUE);
    bad("{" CORE ",'userName':'b','emails':['a@x']}", GW_E_SCIM_INVALID_VALUE);
}

/* Extensions live under their URN, which schemas must list (RFC 7643 §3.3) */
static void extensions(void **state)
{
    (void)state;
    ok("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','" ENT "'],'userName':'b',"
       "'" ENT "':{'employeeNumber':'701984','Manager':{'value':'26118915','displayName':'John'}}}",
       "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','" ENT "'],'userName':'b',"
       "'" ENT "':{'employeeNumber':'701984','manager':{'value':'26118915'}}}");
    /* Entra ID: manager as a plain id */
    ok("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','" ENT "'],'userName':'b',"
       "'" ENT "':{'manager':'26118915'}}",
       "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','" ENT "'],'userName':'b',"
       "'" ENT "':{'manager':{'value':'26118915'}}}");
    bad("{" CORE ",'userName':'b','" ENT "':{'employeeNumber':'1'}}", GW_E_SCIM_INVALID_VALUE);
    bad("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','" ENT "'],'userName':'b',"
        "'" ENT "':{'nosuch':'1'}}",
        GW_E_SCIM_INVALID_SYNTAX);
    bad("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','" ENT "'],'userName':'b','" ENT "':'x'}",
        GW_E_SCIM_INVALID_VALUE);
}

/* writeOnly password: out of the document, into *password */
static void password(void **state)
{
    (void)state;
    ok_as(&SCIM_RT_USER, SCIM_WRITE_CREATE, NULL, "{" CORE ",'userName':'b','password':'t1meMa$heen'}",
          "{" CORE ",'userName':'b'}", "t1meMa$heen");
    bad("{" CORE ",'userName':'b','password':5}", GW_E_SCIM_INVALID_VALUE);
    /* a failure after the password frees it (bad() checks *password is NULL) */
    bad("{" CORE ",'password':'x','userName':'b','nosuch':1}", GW_E_SCIM_INVALID_SYNTAX);
}

/* immutable on replacement: RFC 7644 §3.5.1 (members' value/type/$ref) is
 * only inside a multi-valued attribute here, so a top-level case is made
 * by replacing an existing readOnly-free document: an unchanged PUT passes */
static void put_replace(void **state)
{
    (void)state;
    const char *existing = "{" CORE ",'id':'2819c223','userName':'b','title':'T',"
                           "'meta':{'resourceType':'User','version':3}}";
    /* Okta's PUT: the whole user again, with id and meta, which are ignored */
    ok_as(&SCIM_RT_USER, SCIM_WRITE_REPLACE, existing,
          "{" CORE ",'id':'2819c223','userName':'b','name':{'givenName':'B','familyName':'J'},'active':true,"
          "'emails':[{'primary':true,'value':'b@x','type':'work'}],'meta':{'resourceType':'User'},"
          "'password':'pw'}",
          "{" CORE ",'userName':'b','name':{'givenName':'B','familyName':'J'},'active':true,"
          "'emails':[{'value':'b@x','type':'work','primary':true}]}",
          "pw");
    /* PUT replaces: title not given is gone */
    ok_as(&SCIM_RT_USER, SCIM_WRITE_REPLACE, existing, "{" CORE ",'userName':'c'}",
          "{" CORE ",'userName':'c'}", NULL);
    bad_as(&SCIM_RT_USER, SCIM_WRITE_REPLACE, existing, "{" CORE ",'title':'T'}", GW_E_SCIM_INVALID_VALUE);
}

/* A test schema for the types and mutabilities the real ones lack. */
static const scim_attr_t T_SUBS[] = {
    {.name = "value", .type = SCIM_T_STRING, .required = true},
    {.name = "at", .type = SCIM_T_DATETIME},
};
static const scim_attr_t T_ATTRS[] = {
    {.name = "key", .type = SCIM_T_STRING, .required = true},
    {.name = "when", .type = SCIM_T_DATETIME},
    {.name = "count", .type = SCIM_T_INTEGER},
    {.name = "ratio", .type = SCIM_T_DECIMAL},
    {.name = "fixed", .type = SCIM_T_STRING, .case_exact = true, .mutability = SCIM_MUT_IMMUTABLE},
    {.name = "items", .type = SCIM_T_COMPLEX, .multi_valued = true, .sub_attrs = T_SUBS, .sub_count = 2},
};
static const scim_schema_t T_SCHEMA = {.id = "urn:test:T", .name = "T", .attrs = T_ATTRS, .count = 6};
static const scim_schema_t *const T_EXT[] = {NULL};
static const scim_resource_type_t T_RT = {
    .id = "T", .name = "T", .endpoint = "/Ts", .core = &T_SCHEMA, .extensions = T_EXT};

#define T(body) "{'schemas':['urn:test:T'],'key':'k'" body "}"

static void t_ok(const char *in)
{
    ok_as(&T_RT, SCIM_WRITE_CREATE, NULL, in, in, NULL);
}

static void t_bad(const char *in, gw_err_kind_t kind)
{
    bad_as(&T_RT, SCIM_WRITE_CREATE, NULL, in, kind);
}

/* RFC 7643 §2.3.5 xsd:dateTime with date and time */
static void datetime(void **state)
{
    (void)state;
    t_ok(T(",'when':'2008-01-23T04:56:22Z'"));
    t_ok(T(",'when':'2008-01-23T04:56:22.123+05:30'"));
    t_ok(T(",'when':'2024-02-29T23:59:60Z'"));
    t_ok(T(",'when':'2008-01-23T04:56:22'"));
    t_bad(T(",'when':'2008-01-23'"), GW_E_SCIM_INVALID_VALUE);
    t_bad(T(",'when':'2023-02-29T00:00:00Z'"), GW_E_SCIM_INVALID_VALUE);
    t_bad(T(",'when':'2008-13-01T00:00:00Z'"), GW_E_SCIM_INVALID_VALUE);
    t_bad(T(",'when':'2008-01-23T24:00:00Z'"), GW_E_SCIM_INVALID_VALUE);
    t_bad(T(",'when':'2008-01-23T04:56:22.Z'"), GW_E_SCIM_INVALID_VALUE);
    t_bad(T(",'when':'2008-01-23T04:56:22+0530'"), GW_E_SCIM_INVALID_VALUE);
    t_bad(T(",'when':1200000000"), GW_E_SCIM_INVALID_VALUE);
    t_ok(T(",'items':[{'value':'a','at':'2008-01-23T04:56:22Z'}]"));
    t_bad(T(",'items':[{'value':'a','at':'soon'}]"), GW_E_SCIM_INVALID_VALUE);
    t_bad(T(",'items':[{'at':'2008-01-23T04:56:22Z'}]"), GW_E_SCIM_INVALID_VALUE); /* value required */
}

static void numbers(void **state)
{
    (void)state;
    t_ok(T(",'count':42,'ratio':0.5"));
    t_ok(T(",'ratio':3"));
    t_bad(T(",'count':4.2"), GW_E_SCIM_INVALID_VALUE);
    t_bad(T(",'count':1e3"), GW_E_SCIM_INVALID_VALUE);
    t_bad(T(",'count':'42'"), GW_E_SCIM_INVALID_VALUE);
    t_bad(T(",'ratio':'0.5'"), GW_E_SCIM_INVALID_VALUE);
}

/* RFC 7644 §3.5.1: immutable values already set must match on PUT */
static void immutable(void **state)
{
    (void)state;
    const char *ex = T(",'fixed':'A'");
    ok_as(&T_RT, SCIM_WRITE_REPLACE, ex, T(",'fixed':'A'"), T(",'fixed':'A'"), NULL);
    ok_as(&T_RT, SCIM_WRITE_REPLACE, ex, T(""), T(",'fixed':'A'"), NULL); /* omitted: kept */
    bad_as(&T_RT, SCIM_WRITE_REPLACE, ex, T(",'fixed':'a'"), GW_E_SCIM_MUTABILITY);
    ok_as(&T_RT, SCIM_WRITE_REPLACE, T(""), T(",'fixed':'B'"), T(",'fixed':'B'"), NULL); /* unset: may set */
    ok_as(&T_RT, SCIM_WRITE_CREATE, NULL, T(",'fixed':'B'"), T(",'fixed':'B'"), NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(minimal),    cmocka_unit_test(unknown_schema), cmocka_unit_test(names),
        cmocka_unit_test(read_only),  cmocka_unit_test(types),          cmocka_unit_test(multi_valued),
        cmocka_unit_test(extensions), cmocka_unit_test(password),       cmocka_unit_test(put_replace),
        cmocka_unit_test(datetime),   cmocka_unit_test(numbers),        cmocka_unit_test(immutable),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
