/* scim/bulk_parse.c: a BulkRequest read into plain data (RFC 7644 §3.7),
 * and its bulkId references (§3.7.2) found, checked against the state of
 * the POSTs they name, and replaced. The §3.7.2 example request and each
 * rule with its broken twin. JSON is written with ' for " (J() swaps them
 * back). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scim/bulk.h"

#define BULK "'schemas':['urn:ietf:params:scim:api:messages:2.0:BulkRequest']"
#define USER "'schemas':['urn:ietf:params:scim:schemas:core:2.0:User']"

static h2o_mem_pool_t pool;
static yajl_val trees[16];
static size_t ntrees;

static yajl_val J(const char *s)
{
    char *t = strdup(s);
    for (char *c = t; *c; c++)
        if (*c == '\'')
            *c = '"';
    gw_err_t err;
    yajl_val v = gw_json_parse(t, strlen(t), NULL, &err);
    if (v == NULL)
        fail_msg("test JSON: %s: %s", err.public, t);
    free(t);
    assert_true(ntrees < sizeof(trees) / sizeof(trees[0]));
    trees[ntrees++] = v;
    return v;
}

static int setup(void **state)
{
    (void)state;
    h2o_mem_init_pool(&pool);
    ntrees = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < ntrees; i++)
        yajl_tree_free(trees[i]);
    h2o_mem_clear_pool(&pool);
    return 0;
}

static scim_bulk_req_t parse_ok(const char *json)
{
    scim_bulk_req_t b;
    gw_err_t err = {0};
    if (scim_bulk_parse(&pool, J(json), &b, &err) != 0)
        fail_msg("rejected: %s: %s", err.public, json);
    return b;
}

static void parse_bad(const char *json, gw_err_kind_t kind, const char *msg_part)
{
    scim_bulk_req_t b;
    gw_err_t err = {0};
    if (scim_bulk_parse(&pool, J(json), &b, &err) == 0)
        fail_msg("accepted: %s", json);
    if (err.kind != kind)
        fail_msg("%s: kind %d (%s), want %d", json, err.kind, err.public, kind);
    if (msg_part != NULL && strstr(err.public, msg_part) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", json, err.public, msg_part);
}

/* RFC 7644 §3.7.2: a user and a group naming it, failOnErrors 1. */
static const char *RFC_EXAMPLE =
    "{" BULK ",'failOnErrors':1,'Operations':["
    "{'method':'POST','path':'/Users','bulkId':'qwerty','data':{" USER ",'userName':'Alice'}},"
    "{'method':'POST','path':'/Groups','bulkId':'ytrewq','data':{'schemas':["
    "'urn:ietf:params:scim:schemas:core:2.0:Group'],'displayName':'Tour Guides',"
    "'members':[{'type':'User','value':'bulkId:qwerty'}]}}]}";

static void request(void **state)
{
    (void)state;
    scim_bulk_req_t b = parse_ok(RFC_EXAMPLE);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.fail_on_errors, 1);
    assert_string_equal(b.ops[0].method, "POST");
    assert_string_equal(b.ops[0].path, "/Users");
    assert_string_equal(b.ops[1].bulk_id, "ytrewq");
    assert_int_equal(b.ops[0].state, SCIM_BULK_PENDING);
    assert_int_equal(scim_bulk_lookup(&b, "qwerty", 6), 0);
    assert_int_equal(scim_bulk_lookup(&b, "ytrewq", 6), 1);
    assert_int_equal(scim_bulk_lookup(&b, "qwert", 5), -1);
    assert_int_equal(scim_bulk_lookup(&b, "qwertyy", 7), -1);
    assert_false(scim_bulk_has_refs(&b.ops[0]));
    assert_true(scim_bulk_has_refs(&b.ops[1]));
    /* names are case-insensitive (RFC 7643 §2.1), the method too */
    b = parse_ok("{'SCHEMAS':['urn:ietf:params:scim:api:messages:2.0:bulkrequest'],'operations':["
                 "{'Method':'delete','Path':'/Users/1','Version':'W/\\'1\\''}]}");
    assert_int_equal(b.n, 1);
    assert_string_equal(b.ops[0].method, "DELETE");
    assert_string_equal(b.ops[0].version, "W/\"1\"");
    assert_int_equal(b.fail_on_errors, 0);
    b = parse_ok("{" BULK ",'Operations':[]}");
    assert_int_equal(b.n, 0);
}

/* A BulkRequest of n DELETE operations. */
static char *deletes(size_t n)
{
    const char *op = "{'method':'DELETE','path':'/Users/x'}";
    char *big = malloc(256 + n * (strlen(op) + 1));
    char *p = big + sprintf(big, "{" BULK ",'Operations':[");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", op);
    strcpy(p, "]}");
    return big;
}

static void request_twins(void **state)
{
    (void)state;
    parse_bad("[1]", GW_E_SCIM_INVALID_SYNTAX, NULL);
    parse_bad("{'Operations':[]}", GW_E_SCIM_INVALID_SYNTAX, "schemas");
    parse_bad("{'schemas':['urn:ietf:params:scim:api:messages:2.0:PatchOp'],'Operations':[]}",
              GW_E_SCIM_INVALID_SYNTAX, "schemas");
    parse_bad("{" BULK "}", GW_E_SCIM_INVALID_SYNTAX, "Operations");
    parse_bad("{" BULK ",'Operations':{}}", GW_E_SCIM_INVALID_SYNTAX, "Operations");
    parse_bad("{" BULK ",'failOnErrors':0,'Operations':[]}", GW_E_SCIM_INVALID_VALUE, "failOnErrors");
    parse_bad("{" BULK ",'failOnErrors':-1,'Operations':[]}", GW_E_SCIM_INVALID_VALUE, "failOnErrors");
    parse_bad("{" BULK ",'failOnErrors':'1','Operations':[]}", GW_E_SCIM_INVALID_VALUE, "failOnErrors");
    parse_bad("{" BULK ",'failOnErrors':1.5,'Operations':[]}", GW_E_SCIM_INVALID_VALUE, "failOnErrors");
    /* RFC 7644 §3.7: bulkId unique within a request */
    parse_bad("{" BULK ",'Operations':[{'method':'POST','path':'/Users','bulkId':'a','data':{}},"
              "{'method':'POST','path':'/Groups','bulkId':'a','data':{}}]}",
              GW_E_SCIM_INVALID_VALUE, "same bulkId");
    /* RFC 7644 §3.7.4: 413 naming maxOperations and its value */
    char *big = deletes(SCIM_BULK_MAX_OPERATIONS + 1);
    parse_bad(big, GW_E_PAYLOAD_TOO_LARGE, "maxOperations (1000)");
    free(big);
    big = deletes(SCIM_BULK_MAX_OPERATIONS);
    scim_bulk_req_t b = parse_ok(big);
    assert_int_equal(b.n, SCIM_BULK_MAX_OPERATIONS);
    free(big);
}

/* A malformed operation is kept, with its error, in its place. */
static void operations(void **state)
{
    (void)state;
    scim_bulk_req_t b =
        parse_ok("{" BULK ",'Operations':["
                 "'not an object',"
                 "{'method':'POST','path':'/Users','data':{}},"             /* no bulkId */
                 "{'method':'FETCH','path':'/Users/x'},"                    /* method */
                 "{'method':'PUT','path':'/Users/x'},"                      /* no data */
                 "{'method':'PATCH','path':'/Users/x','data':[]},"          /* data not an object */
                 "{'method':'DELETE','path':'Users/x'},"                    /* no leading / */
                 "{'method':'DELETE','path':'/Users/x','version':1},"       /* version not a string */
                 "{'method':'POST','path':'/Users','bulkId':'','data':{}}," /* empty bulkId */
                 "{'method':'POST','path':'/Users','bulkId':7,'data':{}},"  /* bulkId not a string */
                 "{'method':'DELETE','path':'/Users/x'},"                   /* fine */
                 "{'method':'POST','path':'/Users','bulkId':'ok','data':{'a':'b'}}]}"); /* fine */
    assert_int_equal(b.n, 11);
    for (size_t i = 0; i < 9; i++) {
        if (b.ops[i].method != NULL)
            fail_msg("operation %zu accepted", i);
        assert_int_equal(b.ops[i].bad_kind, GW_E_SCIM_INVALID_SYNTAX);
        assert_non_null(b.ops[i].bad_detail);
    }
    assert_string_equal(b.ops[9].method, "DELETE");
    assert_string_equal(b.ops[10].method, "POST");
    assert_int_equal(scim_bulk_lookup(&b, "ok", 2), 10);
    /* a malformed POST defines no bulkId */
    assert_int_equal(scim_bulk_lookup(&b, "", 0), -1);
}

static void path_refs(void **state)
{
    (void)state;
    size_t n = 0;
    const char *path = "/Users/bulkId:qwerty";
    const char *p = scim_bulk_path_ref(path, path, &n);
    assert_ptr_equal(p, path + 7);
    assert_int_equal(n, 6);
    path = "/Groups/bulkId:a/x?y=bulkId:b";
    p = scim_bulk_path_ref(path, path, &n);
    assert_ptr_equal(p, path + 8);
    assert_int_equal(n, 1);
    assert_null(scim_bulk_path_ref(path, p + SCIM_BULK_REF_PREFIX_LEN + n, &n)); /* '=' is no segment start */
    assert_null(scim_bulk_path_ref("/Users/xbulkId:a", "/Users/xbulkId:a", &n));
    assert_null(scim_bulk_path_ref("/Users/bulkid:a", "/Users/bulkid:a", &n)); /* the prefix is case-exact */
}

/* READY, WAIT, FAILED from the states of the POSTs named (RFC 7644 §3.7.1, §3.7.2). */
static void references(void **state)
{
    (void)state;
    scim_bulk_req_t b =
        parse_ok("{" BULK ",'Operations':["
                 "{'method':'POST','path':'/Groups','bulkId':'g','data':{'members':[{'value':'bulkId:u'},"
                 "{'value':'bulkId:v'}]}},"
                 "{'method':'POST','path':'/Users','bulkId':'u','data':{'userName':'u'}},"
                 "{'method':'POST','path':'/Users','bulkId':'v','data':{'userName':'v'}},"
                 "{'method':'PATCH','path':'/Groups/bulkId:g','data':{'x':'bulkId:nobody'}},"
                 "{'method':'DELETE','path':'/Users/bulkId:u'}]}");
    size_t target = 99;
    gw_err_t err = {0};
    assert_int_equal(scim_bulk_refs(&b, 0, &target, &err), SCIM_BULK_REFS_WAIT);
    assert_int_equal(target, 1); /* in order: u first */
    b.ops[1].state = SCIM_BULK_OK;
    b.ops[1].id = "11111111-1111-1111-1111-111111111111";
    assert_int_equal(scim_bulk_refs(&b, 0, &target, &err), SCIM_BULK_REFS_WAIT);
    assert_int_equal(target, 2);
    b.ops[2].state = SCIM_BULK_FAILED;
    assert_int_equal(scim_bulk_refs(&b, 0, &target, &err), SCIM_BULK_REFS_FAILED);
    assert_int_equal(err.kind, GW_E_CONFLICT); /* its POST failed */
    assert_non_null(strstr(err.public, "\"v\""));
    b.ops[2].state = SCIM_BULK_STACKED;
    assert_int_equal(scim_bulk_refs(&b, 0, &target, &err), SCIM_BULK_REFS_FAILED);
    assert_int_equal(err.kind, GW_E_CONFLICT); /* a cycle */
    assert_non_null(strstr(err.public, "circular"));
    b.ops[2].state = SCIM_BULK_OK;
    b.ops[2].id = "22";
    assert_int_equal(scim_bulk_refs(&b, 0, &target, &err), SCIM_BULK_REFS_READY);
    /* the path first, then data: g pending, then an unknown bulkId */
    assert_int_equal(scim_bulk_refs(&b, 3, &target, &err), SCIM_BULK_REFS_WAIT);
    assert_int_equal(target, 0);
    b.ops[0].state = SCIM_BULK_OK;
    b.ops[0].id = "g-id";
    assert_int_equal(scim_bulk_refs(&b, 3, &target, &err), SCIM_BULK_REFS_FAILED);
    assert_int_equal(err.kind, GW_E_SCIM_INVALID_VALUE);
    assert_non_null(strstr(err.public, "nobody"));
    assert_int_equal(scim_bulk_refs(&b, 4, &target, &err), SCIM_BULK_REFS_READY);
    assert_int_equal(scim_bulk_refs(&b, 1, &target, &err), SCIM_BULK_REFS_READY); /* none */

    /* replaced: the path in pool memory, data in place */
    assert_string_equal(scim_bulk_resolve_path(&pool, &b, "/Users/bulkId:u"),
                        "/Users/11111111-1111-1111-1111-111111111111");
    assert_string_equal(scim_bulk_resolve_path(&pool, &b, "/Groups/bulkId:g/bulkId:v?x"),
                        "/Groups/g-id/22?x");
    const char *plain = "/Users/abc";
    assert_ptr_equal(scim_bulk_resolve_path(&pool, &b, plain), plain);
    yajl_val data = b.ops[0].data;
    scim_bulk_resolve_data(&b, data);
    yajl_val members = gw_json_get(data, "members");
    assert_string_equal(gw_json_str(members->u.array.values[0], "value"),
                        "11111111-1111-1111-1111-111111111111");
    assert_string_equal(gw_json_str(members->u.array.values[1], "value"), "22");
    b.ops[0].data = data;
    assert_false(scim_bulk_has_refs(&b.ops[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(request, setup, teardown),
        cmocka_unit_test_setup_teardown(request_twins, setup, teardown),
        cmocka_unit_test_setup_teardown(operations, setup, teardown),
        cmocka_unit_test_setup_teardown(path_refs, setup, teardown),
        cmocka_unit_test_setup_teardown(references, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
