/* scim/patch.c: every PATCH example of RFC 7644 §3.5.2 against a sample
 * User and Group with the exact resulting document, Microsoft Entra ID's and
 * Okta's documented PATCH bodies, and each rule's broken twin. JSON below is
 * written with ' for " (J() swaps them back); \\' is an escaped quote. */
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

#define OPS(...)                                                                                             \
    "{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[" __VA_ARGS__ "]}"
#define ENT "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

static const char *USER =
    "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User'],"
    "'id':'2819c223-7f76-453a-919d-413861904646','externalId':'bjensen','userName':'bjensen@example.com',"
    "'name':{'familyName':'Jensen','givenName':'Barbara'},'displayName':'Babs Jensen','active':true,"
    "'emails':[{'value':'bjensen@example.com','type':'work','primary':true}],"
    "'addresses':[{'type':'work','streetAddress':'100 Universal City Plaza','locality':'Hollywood',"
    "'region':'CA','postalCode':'91608','country':'USA','primary':true},"
    "{'type':'home','streetAddress':'456 Hollywood Blvd','locality':'Hollywood','region':'CA',"
    "'postalCode':'91608','country':'USA'}],"
    "'x509Certificates':[{'value':'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx'}],"
    "'meta':{'resourceType':'User','created':'2010-01-23T04:56:22Z','lastModified':'2011-05-13T04:42:34Z',"
    "'version':3}}";

static const char *GROUP =
    "{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],'id':'e9e30dba-f08f-4109-8486-d5c6a331660a',"
    "'displayName':'Tour Guides','members':[{'value':'2819c223-7f76-453a-919d-413861904646','type':'User'},"
    "{'value':'902c246b-6245-4190-8e05-00816be7344a','type':'User'}]}";

/* USER with the changes `edits` (an object merged at the top) applied. */
static yajl_val user_with(const char *edits)
{
    yajl_val u = J(USER), e = J(edits);
    for (size_t i = 0; i < e->u.object.len; i++) {
        if (YAJL_IS_NULL(e->u.object.values[i]))
            scim_jt_del(u, e->u.object.keys[i]);
        else
            scim_jt_set(u, e->u.object.keys[i], scim_jt_copy(e->u.object.values[i]));
    }
    yajl_tree_free(e);
    return u;
}

static yajl_val apply_ok(const scim_resource_type_t *rt, yajl_val doc, const char *ops, char **pw,
                         scim_members_ops_t *m)
{
    yajl_val p = J(ops), out = NULL, before = scim_jt_copy(doc);
    gw_err_t err = {0};
    if (scim_patch_apply(rt, doc, p, &out, pw, m, &err) != 0)
        fail_msg("patch failed: %s (%s:%d) %s", err.public, err.file, err.line, ops);
    assert_true(same(doc, before)); /* the input is never modified */
    yajl_tree_free(p);
    yajl_tree_free(before);
    return out;
}

static void expect(const scim_resource_type_t *rt, const char *doc, const char *ops, yajl_val want)
{
    yajl_val d = J(doc);
    yajl_val got = apply_ok(rt, d, ops, NULL, NULL);
    if (!same(got, want)) {
        dump("got ", got);
        dump("want", want);
        fail_msg("unexpected result of %s", ops);
    }
    yajl_tree_free(got);
    yajl_tree_free(want);
    yajl_tree_free(d);
}

static void expect_fail(const scim_resource_type_t *rt, const char *doc, const char *ops, gw_err_kind_t kind)
{
    yajl_val d = J(doc), p = J(ops), out = (yajl_val)1, before = scim_jt_copy(d);
    gw_err_t err = {0};
    char *pw = (char *)1;
    scim_members_ops_t m;
    if (scim_patch_apply(rt, d, p, &out, &pw, rt == &SCIM_RT_GROUP ? &m : NULL, &err) == 0)
        fail_msg("accepted: %s", ops);
    if (err.kind != kind)
        fail_msg("%s: kind %d (%s), want %d", ops, err.kind, err.public, kind);
    assert_null(out);
    assert_null(pw);
    if (rt == &SCIM_RT_GROUP)
        assert_true(m.add == NULL && m.remove == NULL && m.must == NULL && !m.remove_all);
    assert_true(same(d, before)); /* §3.5.2: atomic */
    yajl_tree_free(d);
    yajl_tree_free(p);
    yajl_tree_free(before);
}

/* ---- RFC 7644 §3.5.2.1 add ---------------------------------------------------- */

static void rfc_add_member(void **state)
{
    (void)state;
    const char *op = OPS("{'op':'add','path':'members','value':[{'display':'Babs Jensen',"
                         "'$ref':'https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646',"
                         "'value':'2819c223-7f76-453a-919d-413861904646'}]}");
    /* already a member (same value): no change (§3.5.2.1) */
    yajl_val want = J(GROUP);
    yajl_val m0 = gw_json_get(want, "members")->u.array.values[0];
    scim_jt_set(m0, "$ref",
                scim_jt_string("https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"));
    expect(&SCIM_RT_GROUP, GROUP, op, want);
    /* a new member is appended */
    const char *op2 =
        OPS("{'op':'add','path':'members','value':[{'value':'08e1d05d-121c-4561-8b96-473d93df9210'}]}");
    want = J(GROUP);
    yajl_val nm = scim_jt_object();
    scim_jt_set(nm, "value", scim_jt_string("08e1d05d-121c-4561-8b96-473d93df9210"));
    scim_jt_push(gw_json_get(want, "members"), nm);
    expect(&SCIM_RT_GROUP, GROUP, op2, want);
}

static void rfc_add_without_path(void **state)
{
    (void)state;
    expect(
        &SCIM_RT_USER, USER,
        OPS("{'op':'add','value':{'emails':[{'value':'babs@jensen.org','type':'home'}],'nickname':'Babs'}}"),
        user_with("{'emails':[{'value':'bjensen@example.com','type':'work','primary':true},"
                  "{'value':'babs@jensen.org','type':'home'}],'nickName':'Babs'}"));
    /* an existing nickName is replaced (single-valued) */
    expect(&SCIM_RT_USER, USER,
           OPS("{'op':'add','value':{'nickName':'B'}},{'op':'add','value':{'NICKNAME':'Babs'}}"),
           user_with("{'nickName':'Babs'}"));
}

/* ---- §3.5.2.2 remove ----------------------------------------------------------- */

static void rfc_remove(void **state)
{
    (void)state;
    expect(&SCIM_RT_GROUP, GROUP,
           OPS("{'op':'remove','path':'members[value eq \\'2819c223-7f76-453a-919d-413861904646\\']'}"),
           J("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],"
             "'id':'e9e30dba-f08f-4109-8486-d5c6a331660a','displayName':'Tour Guides',"
             "'members':[{'value':'902c246b-6245-4190-8e05-00816be7344a','type':'User'}]}"));
    expect(&SCIM_RT_GROUP, GROUP, OPS("{'op':'remove','path':'members'}"),
           J("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],"
             "'id':'e9e30dba-f08f-4109-8486-d5c6a331660a','displayName':'Tour Guides'}"));
    /* "emails[type eq "work" and value ew "example.com"]": the attribute
     * becomes unassigned when no value is left */
    expect(&SCIM_RT_USER, USER,
           OPS("{'op':'remove','path':'emails[type eq \\'work\\' and value ew \\'example.com\\']'}"),
           user_with("{'emails':null}"));
    expect(&SCIM_RT_USER, USER,
           OPS("{'op':'remove','path':'x509Certificates[value eq "
               "\\'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx\\']'}"),
           user_with("{'x509Certificates':null}"));
    /* remove and add: replace all members */
    expect(
        &SCIM_RT_GROUP, GROUP,
        OPS("{'op':'remove','path':'members'},{'op':'add','path':'members','value':[{'display':'Babs Jensen',"
            "'$ref':'https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646',"
            "'value':'2819c223-7f76-453a-919d-413861904646'},{'display':'James Smith',"
            "'$ref':'https://example.com/v2/Users/08e1d05d-121c-4561-8b96-473d93df9210',"
            "'value':'08e1d05d-121c-4561-8b96-473d93df9210'}]}"),
        J("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],"
          "'id':'e9e30dba-f08f-4109-8486-d5c6a331660a','displayName':'Tour Guides','members':[{"
          "'display':'Babs "
          "Jensen','$ref':'https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646',"
          "'value':'2819c223-7f76-453a-919d-413861904646'},{'display':'James Smith',"
          "'$ref':'https://example.com/v2/Users/08e1d05d-121c-4561-8b96-473d93df9210',"
          "'value':'08e1d05d-121c-4561-8b96-473d93df9210'}]}"));
}

static void rfc_remove_twins(void **state)
{
    (void)state;
    /* no path: noTarget (§3.5.2.2) */
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'remove'}"), GW_E_SCIM_NO_TARGET);
    /* a filter matching nothing: noTarget (§3.12) */
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'remove','path':'emails[type eq \\'home\\']'}"),
                GW_E_SCIM_NO_TARGET);
    /* required attribute: mutability */
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'remove','path':'userName'}"), GW_E_SCIM_MUTABILITY);
    expect_fail(&SCIM_RT_GROUP, GROUP, OPS("{'op':'remove','path':'displayName'}"), GW_E_SCIM_MUTABILITY);
    /* readOnly: mutability */
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'remove','path':'meta.created'}"), GW_E_SCIM_MUTABILITY);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'remove','path':'id'}"), GW_E_SCIM_MUTABILITY);
}

/* ---- §3.5.2.3 replace ------------------------------------------------------------ */

static void rfc_replace(void **state)
{
    (void)state;
    expect(&SCIM_RT_GROUP, GROUP,
           OPS("{'op':'replace','path':'members','value':[{'display':'Babs Jensen',"
               "'$ref':'https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646',"
               "'value':'2819c223-7f76-453a-919d-413861904646'},{'display':'James Smith',"
               "'$ref':'https://example.com/v2/Users/08e1d05d-121c-4561-8b96-473d93df9210',"
               "'value':'08e1d05d-121c-4561-8b96-473d93df9210'}]}"),
           J("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],"
             "'id':'e9e30dba-f08f-4109-8486-d5c6a331660a','displayName':'Tour Guides','members':[{"
             "'display':'Babs "
             "Jensen','$ref':'https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646',"
             "'value':'2819c223-7f76-453a-919d-413861904646'},{'display':'James Smith',"
             "'$ref':'https://example.com/v2/Users/08e1d05d-121c-4561-8b96-473d93df9210',"
             "'value':'08e1d05d-121c-4561-8b96-473d93df9210'}]}"));
    const char *work = "{'type':'work','streetAddress':'911 Universal City Plaza','locality':'Hollywood',"
                       "'region':'CA','postalCode':'91608','country':'US',"
                       "'formatted':'911 Universal City Plaza\\\\nHollywood, CA 91608 US','primary':true}";
    char ops[1024], want[2048];
    snprintf(ops, sizeof(ops), OPS("{'op':'replace','path':'addresses[type eq \\'work\\']','value':%s}"),
             work);
    snprintf(want, sizeof(want),
             "{'addresses':[%s,{'type':'home','streetAddress':'456 Hollywood Blvd','locality':'Hollywood',"
             "'region':'CA','postalCode':'91608','country':'USA'}]}",
             work);
    expect(&SCIM_RT_USER, USER, ops, user_with(want));
    expect(
        &SCIM_RT_USER, USER,
        OPS("{'op':'replace','path':'addresses[type eq \\'work\\'].streetAddress','value':'1010 Broadway "
            "Ave'}"),
        user_with("{'addresses':[{'type':'work','streetAddress':'1010 Broadway Ave','locality':'Hollywood',"
                  "'region':'CA','postalCode':'91608','country':'USA','primary':true},"
                  "{'type':'home','streetAddress':'456 Hollywood Blvd','locality':'Hollywood','region':'CA',"
                  "'postalCode':'91608','country':'USA'}]}"));
    expect(
        &SCIM_RT_USER, USER,
        OPS("{'op':'replace','value':{'emails':[{'value':'bjensen@example.com','type':'work','primary':true},"
            "{'value':'babs@jensen.org','type':'home'}],'nickname':'Babs'}}"),
        user_with("{'emails':[{'value':'bjensen@example.com','type':'work','primary':true},"
                  "{'value':'babs@jensen.org','type':'home'}],'nickName':'Babs'}"));
    /* complex: the sub-attributes not given stay (§3.5.2.3) */
    expect(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'name','value':{'givenName':'Babs'}}"),
           user_with("{'name':{'familyName':'Jensen','givenName':'Babs'}}"));
    /* an attribute without value: replace is an add */
    expect(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'title','value':'Tour Guide'}"),
           user_with("{'title':'Tour Guide'}"));
}

static void rfc_replace_twins(void **state)
{
    (void)state;
    /* a value filter matching nothing: noTarget (§3.5.2.3) */
    expect_fail(&SCIM_RT_USER, USER,
                OPS("{'op':'replace','path':'addresses[type eq \\'other\\'].streetAddress','value':'x'}"),
                GW_E_SCIM_NO_TARGET);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'id','value':'other'}"),
                GW_E_SCIM_MUTABILITY);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'meta.version','value':'7'}"),
                GW_E_SCIM_MUTABILITY);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'nosuch','value':'x'}"),
                GW_E_SCIM_INVALID_PATH);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'name.nosuch','value':'x'}"),
                GW_E_SCIM_INVALID_PATH);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'emails[type eq \\'work\\'','value':'x'}"),
                GW_E_SCIM_INVALID_PATH);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'userName[value eq \\'x\\']','value':'x'}"),
                GW_E_SCIM_INVALID_PATH);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','value':{'nosuch':'x'}}"),
                GW_E_SCIM_INVALID_SYNTAX);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'title'}"), GW_E_SCIM_INVALID_VALUE);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','value':'x'}"), GW_E_SCIM_INVALID_VALUE);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'name','value':42}"),
                GW_E_SCIM_INVALID_VALUE);
}

/* ---- the request itself ----------------------------------------------------------- */

static void request_shape(void **state)
{
    (void)state;
    expect(&SCIM_RT_USER, USER, OPS("{'OP':'Replace','PATH':'displayName','Value':'B'}"),
           user_with("{'displayName':'B'}"));
    expect_fail(&SCIM_RT_USER, USER, "{'Operations':[{'op':'replace','path':'title','value':'x'}]}",
                GW_E_SCIM_INVALID_SYNTAX);
    expect_fail(&SCIM_RT_USER, USER, OPS(""), GW_E_SCIM_INVALID_SYNTAX);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'move','path':'title','value':'x'}"),
                GW_E_SCIM_INVALID_SYNTAX);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'path':'title','value':'x'}"), GW_E_SCIM_INVALID_SYNTAX);
    expect_fail(&SCIM_RT_USER, USER, OPS("'add'"), GW_E_SCIM_INVALID_SYNTAX);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'add','path':7,'value':'x'}"), GW_E_SCIM_INVALID_PATH);
}

/* Second operation fails: nothing of the first remains (§3.5.2 atomic). */
static void atomic(void **state)
{
    (void)state;
    expect_fail(&SCIM_RT_USER, USER,
                OPS("{'op':'replace','path':'displayName','value':'B'},{'op':'remove','path':'userName'}"),
                GW_E_SCIM_MUTABILITY);
    expect_fail(&SCIM_RT_USER, USER,
                OPS("{'op':'replace','path':'password','value':'s3cret'},{'op':'remove','path':'nosuch'}"),
                GW_E_SCIM_INVALID_PATH);
    expect_fail(&SCIM_RT_GROUP, GROUP,
                OPS("{'op':'add','path':'members','value':[{'value':'a'}]},{'op':'remove'}"),
                GW_E_SCIM_NO_TARGET);
    /* operations apply in order, each on the previous result */
    expect(&SCIM_RT_USER, USER,
           OPS("{'op':'add','path':'title','value':'A'},{'op':'replace','path':'title','value':'B'},"
               "{'op':'remove','path':'title'}"),
           J(USER));
}

static void primary_unique(void **state)
{
    (void)state;
    /* §3.5.2: a new primary value turns the others' primary to false */
    expect(&SCIM_RT_USER, USER,
           OPS("{'op':'add','path':'emails','value':[{'value':'b@x.org','type':'home','primary':true}]}"),
           user_with("{'emails':[{'value':'bjensen@example.com','type':'work','primary':false},"
                     "{'value':'b@x.org','type':'home','primary':true}]}"));
}

/* ---- Microsoft Entra ID ------------------------------------------------------------- */

static void entra_user(void **state)
{
    (void)state;
    /* deprovisioning: "Replace" with a string boolean; the check makes it a boolean */
    yajl_val d = J(USER);
    yajl_val out =
        apply_ok(&SCIM_RT_USER, d, OPS("{'op':'Replace','path':'active','value':'False'}"), NULL, NULL);
    yajl_val checked;
    char *pw;
    gw_err_t err;
    assert_int_equal(scim_resource_check(&SCIM_RT_USER, out, SCIM_WRITE_REPLACE, d, &checked, &pw, &err), 0);
    assert_true(YAJL_IS_FALSE(gw_json_get(checked, "active")));
    yajl_tree_free(checked);
    yajl_tree_free(out);
    yajl_tree_free(d);

    expect(
        &SCIM_RT_USER, USER,
        OPS("{'op':'Replace','path':'emails[type eq \\'work\\'].value','value':'updatedEmail@microsoft.com'},"
            "{'op':'Replace','path':'name.familyName','value':'updatedFamilyName'}"),
        user_with("{'emails':[{'value':'updatedEmail@microsoft.com','type':'work','primary':true}],"
                  "'name':{'familyName':'updatedFamilyName','givenName':'Barbara'}}"));
    /* Add through a value path the user has no value for: created */
    expect(&SCIM_RT_USER, USER,
           OPS("{'op':'Add','path':'phoneNumbers[type eq \\'work\\'].value','value':'+1 555 0100'}"),
           user_with("{'phoneNumbers':[{'type':'work','value':'+1 555 0100'}]}"));
    /* manager as a plain id; attribute paths as keys of a value */
    expect(&SCIM_RT_USER, USER,
           OPS("{'op':'Add','path':'" ENT ":manager','value':'26118915-6090-4610-87e4-49d8ca9f808d'},"
               "{'op':'Add','value':{'name.givenName':'Babs','" ENT ":employeeNumber':'701984'}}"),
           user_with("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:User','" ENT "'],"
                     "'name':{'familyName':'Jensen','givenName':'Babs'},"
                     "'" ENT "':{'manager':{'value':'26118915-6090-4610-87e4-49d8ca9f808d'},"
                     "'employeeNumber':'701984'}}"));
    expect(&SCIM_RT_USER, USER,
           OPS("{'op':'Replace','value':{'" ENT "':{'department':'Tours'}}},"
               "{'op':'Remove','path':'" ENT ":department'}"),
           J(USER));
}

static void entra_group(void **state)
{
    (void)state;
    yajl_val d = J(GROUP);
    scim_members_ops_t m;
    yajl_val out = apply_ok(&SCIM_RT_GROUP, d,
                            OPS("{'op':'Replace','path':'displayName','value':'Guides'},"
                                "{'op':'Add','path':'members','value':[{'value':'a'},{'value':'b'}]},"
                                "{'op':'Remove','path':'members','value':[{'value':'b'},{'value':'c'}]}"),
                            NULL, &m);
    /* members stay out of the document; the lists are disjoint */
    yajl_val want = J(GROUP);
    scim_jt_set(want, "displayName", scim_jt_string("Guides"));
    assert_true(same(out, want));
    yajl_val add = J("[{'value':'a'}]"), rm = J("[{'value':'b'},{'value':'c'}]");
    assert_true(same(m.add, add));
    assert_true(same(m.remove, rm));
    assert_false(m.remove_all);
    yajl_tree_free(m.add);
    yajl_tree_free(m.remove);
    yajl_tree_free(add);
    yajl_tree_free(rm);
    yajl_tree_free(want);
    yajl_tree_free(out);
    yajl_tree_free(d);
}

/* ---- Okta ---------------------------------------------------------------------------- */

static void okta(void **state)
{
    (void)state;
    expect(&SCIM_RT_USER, USER, OPS("{'op':'replace','value':{'active':false}}"),
           user_with("{'active':false}"));
    /* the id given back unchanged is not a change */
    expect(
        &SCIM_RT_GROUP, GROUP,
        OPS("{'op':'replace','value':{'id':'e9e30dba-f08f-4109-8486-d5c6a331660a','displayName':'Guides'}}"),
        J("{'schemas':['urn:ietf:params:scim:schemas:core:2.0:Group'],"
          "'id':'e9e30dba-f08f-4109-8486-d5c6a331660a','displayName':'Guides',"
          "'members':[{'value':'2819c223-7f76-453a-919d-413861904646','type':'User'},"
          "{'value':'902c246b-6245-4190-8e05-00816be7344a','type':'User'}]}"));
    expect_fail(&SCIM_RT_GROUP, GROUP, OPS("{'op':'replace','value':{'id':'other','displayName':'Guides'}}"),
                GW_E_SCIM_MUTABILITY);
    yajl_val d = J(GROUP);
    scim_members_ops_t m;
    yajl_val out =
        apply_ok(&SCIM_RT_GROUP, d,
                 OPS("{'op':'remove','path':'members[value eq \\'902c246b-6245-4190-8e05-00816be7344a\\']'},"
                     "{'op':'add','path':'members','value':[{'value':'x','display':'X'}]}"),
                 NULL, &m);
    yajl_val add = J("[{'value':'x'}]"), rm = J("[{'value':'902c246b-6245-4190-8e05-00816be7344a'}]");
    yajl_val must = J("[['902c246b-6245-4190-8e05-00816be7344a']]");
    assert_true(same(m.add, add) && same(m.remove, rm) && same(m.must, must) && !m.remove_all);
    yajl_tree_free(m.add);
    yajl_tree_free(m.remove);
    yajl_tree_free(m.must);
    yajl_tree_free(must);
    yajl_tree_free(out);
    /* replace members: remove_all then the new list */
    out = apply_ok(&SCIM_RT_GROUP, d,
                   OPS("{'op':'add','path':'members','value':[{'value':'y'}]},"
                       "{'op':'replace','path':'members','value':[{'value':'x'}]}"),
                   NULL, &m);
    assert_true(same(m.add, add) && m.remove == NULL && m.remove_all);
    yajl_tree_free(m.add);
    yajl_tree_free(out);
    yajl_tree_free(add);
    yajl_tree_free(rm);
    yajl_tree_free(d);
    /* members are added or removed, not edited */
    expect_fail(&SCIM_RT_GROUP, GROUP,
                OPS("{'op':'replace','path':'members[value eq \\'x\\'].value','value':'y'}"),
                GW_E_SCIM_MUTABILITY);
    expect_fail(&SCIM_RT_GROUP, GROUP, OPS("{'op':'remove','path':'members[type eq \\'User\\']'}"),
                GW_E_SCIM_INVALID_PATH);
    expect_fail(&SCIM_RT_GROUP, GROUP, OPS("{'op':'add','path':'members','value':[{'display':'no id'}]}"),
                GW_E_SCIM_INVALID_VALUE);
}

/* RFC 7644 §3.12: noTarget "when the specified "path" value contains a
 * filter that yields no match". Decided here when the operations before
 * the filter add or remove the ids it names (or every member); otherwise
 * `must` asks the database: at least one id of each list is a member. */
static void member_filter_no_target(void **state)
{
    (void)state;
#define RM(ids) "{'op':'remove','path':'members[" ids "]'}"
    expect_fail(&SCIM_RT_GROUP, GROUP, OPS("{'op':'remove','path':'members'}," RM("value eq \\'a\\'")),
                GW_E_SCIM_NO_TARGET);
    expect_fail(&SCIM_RT_GROUP, GROUP, OPS(RM("value eq \\'a\\'") "," RM("value eq \\'a\\'")),
                GW_E_SCIM_NO_TARGET);
    expect_fail(&SCIM_RT_GROUP, GROUP,
                OPS("{'op':'replace','path':'members','value':[{'value':'b'}]}," RM("value eq \\'a\\'")),
                GW_E_SCIM_NO_TARGET);
    yajl_val d = J(GROUP);
    scim_members_ops_t m;
    /* added earlier: a match, nothing to ask */
    yajl_val out = apply_ok(
        &SCIM_RT_GROUP, d,
        OPS("{'op':'add','path':'members','value':[{'value':'a'}]}," RM("value eq \\'a\\'")), NULL, &m);
    yajl_val rm = J("[{'value':'a'}]");
    assert_true(m.must == NULL && same(m.remove, rm) && m.add != NULL && m.add->u.array.len == 0);
    yajl_tree_free(m.add);
    yajl_tree_free(m.remove);
    yajl_tree_free(out);
    yajl_tree_free(rm);
    /* one list per filter; an id the PATCH added satisfies its filter */
    out = apply_ok(
        &SCIM_RT_GROUP, d,
        OPS(RM(
            "value eq \\'a\\' or value eq \\'b\\'") ",{'op':'add','path':'members','value':[{'value':'c'}]}"
                                                    "," RM("value eq \\'c\\' or value eq \\'d\\'") "," RM(
                                                        "value eq \\'a\\' or value eq \\'e\\'")),
        NULL, &m);
    yajl_val must = J("[['a','b'],['e']]");
    if (!same(m.must, must)) {
        dump("got ", m.must);
        fail_msg("unexpected must");
    }
    yajl_tree_free(m.add);
    yajl_tree_free(m.remove);
    yajl_tree_free(m.must);
    yajl_tree_free(must);
    yajl_tree_free(out);
    yajl_tree_free(d);
#undef RM
}

static void password(void **state)
{
    (void)state;
    yajl_val d = J(USER);
    char *pw = NULL;
    yajl_val out =
        apply_ok(&SCIM_RT_USER, d, OPS("{'op':'replace','path':'password','value':'t0ps3cret'}"), &pw, NULL);
    assert_string_equal(pw, "t0ps3cret");
    assert_true(same(out, d)); /* never in the document */
    free(pw);
    yajl_tree_free(out);
    out = apply_ok(&SCIM_RT_USER, d, OPS("{'op':'replace','value':{'password':'x2'}}"), &pw, NULL);
    assert_string_equal(pw, "x2");
    free(pw);
    yajl_tree_free(out);
    yajl_tree_free(d);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'remove','path':'password'}"), GW_E_SCIM_MUTABILITY);
    expect_fail(&SCIM_RT_USER, USER, OPS("{'op':'replace','path':'password','value':7}"),
                GW_E_SCIM_INVALID_VALUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc_add_member), cmocka_unit_test(rfc_add_without_path),
        cmocka_unit_test(rfc_remove),     cmocka_unit_test(rfc_remove_twins),
        cmocka_unit_test(rfc_replace),    cmocka_unit_test(rfc_replace_twins),
        cmocka_unit_test(request_shape),  cmocka_unit_test(atomic),
        cmocka_unit_test(primary_unique), cmocka_unit_test(entra_user),
        cmocka_unit_test(entra_group),    cmocka_unit_test(okta),
        cmocka_unit_test(password),       cmocka_unit_test(member_filter_no_target),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
