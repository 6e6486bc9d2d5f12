/* Claim sets of issued tokens (oidc/jwt_issue.c): the access token (RFC 9068
 * §2.2), the ID token (OIDC Core §2, §3.1.3.6, §5.5), at_hash vectors, scope
 * syntax and narrowing, and a signed token that verifies as an access token
 * (oidc/bearer.c) while its broken twins do not. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/json.h"
#include "oidc/tokens_internal.h"

#define ISS "https://id.example"

static yajl_val parse(const char *json, size_t len)
{
    gw_err_t err;
    yajl_val v = gw_json_parse(json, len, NULL, &err);
    assert_non_null(v);
    return v;
}

static void assert_str_claim(yajl_val v, const char *key, const char *want)
{
    const char *got = gw_json_str(v, key);
    if (want == NULL) {
        assert_null(gw_json_get(v, key));
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
}

static int64_t int_claim(yajl_val v, const char *key)
{
    int64_t x = -1;
    assert_int_equal(gw_json_get_int64(v, key, &x), GW_JSON_OK);
    return x;
}

static const oidc_user_info_t ALICE = {"alice", "Alice Liddell", "Alice", "Liddell", "alice@example.com",
                                       1,       1700000000};

static oidc_grant_t user_grant(void)
{
    oidc_grant_t g = {0};
    g.issuer = ISS;
    g.client_id = "app";
    g.sub = "5f0c2a56-6a43-4c55-9d2e-2a1f0b0c0d0e";
    g.scope = "openid profile offline_access";
    g.gid = "0b3c2c77-0a43-4a55-8d2e-2a1f0b0c0d0f";
    g.sid = "9a1d2c77-0a43-4a55-8d2e-2a1f0b0c0d00";
    g.nonce = "n-0S6_WzA2Mj";
    g.acr = "urn:regain:acr:password";
    g.amr_json = "[\"pwd\"]";
    g.auth_time = 1711111111;
    return g;
}

static void access_token_user(void **state)
{
    (void)state;
    oidc_grant_t g = user_grant();
    g.uic_json = "[\"email\"]";
    char *out = NULL;
    size_t len = 0;
    gw_err_t err;
    assert_int_equal(oidc_jwt_access_payload(&g, "jti-1", 1711111200, 1711111500, &out, &len, &err), 0);
    yajl_val v = parse(out, len);
    assert_str_claim(v, "iss", ISS);
    assert_str_claim(v, "sub", g.sub);
    assert_str_claim(v, "aud", ISS);
    assert_int_equal(int_claim(v, "exp"), 1711111500);
    assert_int_equal(int_claim(v, "iat"), 1711111200);
    assert_str_claim(v, "jti", "jti-1");
    assert_str_claim(v, "client_id", "app");
    assert_str_claim(v, "scope", "openid profile offline_access");
    assert_int_equal(int_claim(v, "auth_time"), 1711111111);
    assert_str_claim(v, "acr", "urn:regain:acr:password");
    assert_str_claim(v, "gid", g.gid);
    yajl_val amr = gw_json_get(v, "amr");
    assert_true(YAJL_IS_ARRAY(amr) && amr->u.array.len == 1);
    yajl_val uic = gw_json_get(v, "uic");
    assert_true(YAJL_IS_ARRAY(uic) && uic->u.array.len == 1);
    /* never user data or the nonce in an access token */
    assert_null(gw_json_get(v, "nonce"));
    assert_null(gw_json_get(v, "email"));
    yajl_tree_free(v);
    free(out);
}

static void access_token_client(void **state)
{
    (void)state;
    oidc_grant_t g = {0};
    g.issuer = ISS;
    g.client_id = "svc";
    g.sub = "svc";
    g.scope = "scim";
    char *out = NULL;
    size_t len = 0;
    gw_err_t err;
    assert_int_equal(oidc_jwt_access_payload(&g, "j", 10, 20, &out, &len, &err), 0);
    /* exact claim set and order for the hot path */
    assert_string_equal(out, "{\"iss\":\"https://id.example\",\"sub\":\"svc\",\"aud\":\"https://id.example\","
                             "\"exp\":20,\"iat\":10,\"jti\":\"j\",\"client_id\":\"svc\",\"scope\":\"scim\"}");
    free(out);
}

static void id_token_claims(void **state)
{
    (void)state;
    oidc_grant_t g = user_grant();
    const char *req =
        "{\"email\":null,\"name\":{\"essential\":true},\"nickname\":null,\"sub\":{\"value\":\"x\"},"
        "\"email_verified\":null}";
    yajl_val requested = parse(req, strlen(req));
    char *out = NULL;
    size_t len = 0;
    gw_err_t err;
    assert_int_equal(
        oidc_jwt_id_payload(&g, &ALICE, requested, "wfgvmE9VxjAudsl9lc6TqA", 100, 400, &out, &len, &err), 0);
    yajl_val v = parse(out, len);
    assert_str_claim(v, "iss", ISS);
    assert_str_claim(v, "sub", g.sub); /* not the requested "x" */
    assert_str_claim(v, "aud", "app");
    assert_str_claim(v, "azp", "app");
    assert_int_equal(int_claim(v, "exp"), 400);
    assert_int_equal(int_claim(v, "iat"), 100);
    assert_int_equal(int_claim(v, "auth_time"), 1711111111);
    assert_str_claim(v, "nonce", "n-0S6_WzA2Mj");
    assert_str_claim(v, "acr", "urn:regain:acr:password");
    assert_str_claim(v, "sid", g.sid);
    assert_str_claim(v, "at_hash", "wfgvmE9VxjAudsl9lc6TqA");
    assert_str_claim(v, "email", "alice@example.com");
    assert_str_claim(v, "name", "Alice Liddell");
    bool ev = false;
    assert_int_equal(gw_json_get_bool(v, "email_verified", &ev), GW_JSON_OK);
    assert_true(ev);
    /* not requested, or not held */
    assert_null(gw_json_get(v, "nickname"));
    assert_null(gw_json_get(v, "given_name"));
    assert_null(gw_json_get(v, "preferred_username"));
    assert_null(gw_json_get(v, "gid"));
    assert_null(gw_json_get(v, "scope"));
    yajl_tree_free(v);
    free(out);

    /* no nonce in the request: no nonce claim; no user data without a claims request */
    g.nonce = NULL;
    assert_int_equal(oidc_jwt_id_payload(&g, &ALICE, NULL, NULL, 100, 400, &out, &len, &err), 0);
    v = parse(out, len);
    assert_null(gw_json_get(v, "nonce"));
    assert_null(gw_json_get(v, "at_hash"));
    assert_null(gw_json_get(v, "email"));
    assert_null(gw_json_get(v, "name"));
    yajl_tree_free(v);
    free(out);
    yajl_tree_free(requested);
}

static void claims_names(void **state)
{
    (void)state;
    const char *req = "{\"userinfo\":{\"email\":null,\"given_name\":{\"essential\":true},\"x-unknown\":null},"
                      "\"id_token\":{\"name\":null}}";
    yajl_val v = parse(req, strlen(req));
    char *names = oidc_claims_names_json(v, "userinfo");
    assert_non_null(names);
    assert_string_equal(names, "[\"email\",\"given_name\"]");
    free(names);
    assert_null(oidc_claims_names_json(v, "nothing"));
    yajl_tree_free(v);
}

static void at_hash_vectors(void **state)
{
    (void)state;
    char out[OIDC_AT_HASH_LEN + 1];
    /* SHA-256 left half, base64url (OIDC Core §3.1.3.6), vectors published
     * with Ping Identity's and the oidc-token-hash library's documentation. */
    oidc_at_hash("dNZX1hEZ9wBCzNL40Upu646bdzQA", 28, out);
    assert_string_equal(out, "wfgvmE9VxjAudsl9lc6TqA");
    const char *at =
        "YmJiZTAwYmYtMzgyOC00NzhkLTkyOTItNjJjNDM3MGYzOWIy9sFhvH8K_x8UIHj1osisS57f5DduL-ar_qw5jl3lthwpMjm2"
        "83aVMQXDmoqqqydDSqJfbhptzw8rUVwkuQbolw";
    oidc_at_hash(at, strlen(at), out);
    assert_string_equal(out, "x7vk7f6BvQj0jQHYFIk4ag");
    /* broken twin: one character of the token changed */
    oidc_at_hash("dNZX1hEZ9wBCzNL40Upu646bdzQB", 28, out);
    assert_string_not_equal(out, "wfgvmE9VxjAudsl9lc6TqA");
    assert_int_equal(strlen(out), 22);
}

static void scopes(void **state)
{
    (void)state;
#define V(s) oidc_scope_valid(s, strlen(s))
    assert_true(V("openid"));
    assert_true(V("openid profile email"));
    assert_true(V("scim.read urn:x:y!#$"));
    assert_false(V(""));
    assert_false(V(" openid"));
    assert_false(V("openid "));
    assert_false(V("openid  profile"));
    assert_false(V("openid openid"));
    assert_false(V("profile openid profile"));
    assert_false(V("a\"b"));
    assert_false(V("a\\b"));
    assert_false(V("a\tb"));
    assert_false(V("caf\xc3\xa9"));
#undef V
#define S(a, b) oidc_scope_subset(a, strlen(a), b, strlen(b))
    /* narrowing is allowed, widening never (RFC 6749 §6) */
    assert_true(S("openid", "openid profile offline_access"));
    assert_true(S("profile openid", "openid profile"));
    assert_true(S("", "openid"));
    assert_false(S("openid email", "openid profile"));
    assert_false(S("open", "openid"));
    assert_false(S("openid", "open"));
    assert_false(S("admin", ""));
#undef S
    assert_true(oidc_scope_is_user("offline_access", 14));
    assert_true(oidc_scope_is_user("openid", 6));
    assert_false(oidc_scope_is_user("scim", 4));
    assert_false(oidc_scope_is_user("openid2", 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(access_token_user), cmocka_unit_test(access_token_client),
        cmocka_unit_test(id_token_claims),   cmocka_unit_test(claims_names),
        cmocka_unit_test(at_hash_vectors),   cmocka_unit_test(scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
