/* oidc/client_parse.c: redirect-URI rules and matching, client metadata
 * validation, scope checks, and the cache (oidc/client_cache.c). Each valid
 * case has a broken twin. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/crypto.h"
#include "oidc/clients_internal.h"

static int uri_ok(const char *u)
{
    gw_err_t err;
    memset(&err, 0, sizeof(err));
    return oidc_redirect_uri_check(u, strlen(u), &err) == 0;
}

static void test_redirect_uri_valid(void **state)
{
    (void)state;
    assert_true(uri_ok("https://app.example/cb"));
    assert_true(uri_ok("https://app.example:8443/cb?x=1&y=%20z"));
    assert_true(uri_ok("https://app.example"));
    assert_true(uri_ok("http://127.0.0.1/cb"));
    assert_true(uri_ok("http://127.0.0.1:53121/cb"));
    assert_true(uri_ok("http://[::1]:8080/cb"));
    assert_true(uri_ok("http://localhost:3000/callback"));
    assert_true(uri_ok("https://[2001:db8::1]/cb"));
}

static void test_redirect_uri_broken_twins(void **state)
{
    (void)state;
    assert_false(uri_ok("https://app.example/cb#frag")); /* fragment, RFC 6749 §3.1.2 */
    assert_false(uri_ok("https://app.example/cb#"));
    assert_false(uri_ok("/cb"));                      /* relative */
    assert_false(uri_ok("app.example/cb"));           /* no scheme */
    assert_false(uri_ok("//app.example/cb"));         /* scheme-relative */
    assert_false(uri_ok("http://app.example/cb"));    /* http off loopback */
    assert_false(uri_ok("http://127.0.0.2/cb"));      /* not the loopback we allow */
    assert_false(uri_ok("http://localhost.evil/cb")); /* looks like loopback */
    assert_false(uri_ok("http://127.0.0.1.evil/cb"));
    assert_false(uri_ok("https://user@app.example/cb")); /* userinfo */
    assert_false(uri_ok("https://user:pw@app.example/cb"));
    assert_false(uri_ok("http://evil.example@127.0.0.1/cb"));
    assert_false(uri_ok("https:/app.example/cb")); /* no authority */
    assert_false(uri_ok("https:///cb"));           /* empty host */
    assert_false(uri_ok("https://:443/cb"));
    assert_false(uri_ok("https://app.example:/cb")); /* empty port */
    assert_false(uri_ok("https://app.example:0/cb"));
    assert_false(uri_ok("https://app.example:65536/cb"));
    assert_false(uri_ok("https://app.example:44x/cb"));
    assert_false(uri_ok("HTTPS://app.example/cb")); /* exact match wants lower case */
    assert_false(uri_ok("javascript://app.example/%0aalert(1)"));
    assert_false(uri_ok("com.example.app:/cb"));           /* private-use schemes not offered */
    assert_false(uri_ok("https://app.example/c b"));       /* space */
    assert_false(uri_ok("https://app.example/c\tb"));      /* control */
    assert_false(uri_ok("https://app.example/c\xc3\xa9")); /* raw non-ASCII */
    assert_false(uri_ok("https://app.example/cb%zz"));     /* bad escape */
    assert_false(uri_ok("https://app.example/cb%2"));
    assert_false(uri_ok("https://app.example/c<b>"));
    assert_false(uri_ok("https://app.ex_ample/cb")); /* bad host char */
    assert_false(uri_ok("https://[::1/cb"));         /* unterminated IPv6 */
    assert_false(uri_ok("https://[::g]/cb"));
    assert_false(uri_ok(""));
    char big[OIDC_CLIENT_URI_MAX + 2];
    memset(big, 'a', sizeof(big));
    memcpy(big, "https://a.example/", 18);
    big[OIDC_CLIENT_URI_MAX] = '\0';
    assert_true(uri_ok(big));
    big[OIDC_CLIENT_URI_MAX] = 'a';
    big[OIDC_CLIENT_URI_MAX + 1] = '\0';
    assert_false(uri_ok(big));
}

static int match(const char *reg, const char *uri)
{
    return oidc_redirect_uri_match(reg, uri, strlen(uri));
}

static void test_redirect_uri_match(void **state)
{
    (void)state;
    assert_true(match("https://app.example/cb", "https://app.example/cb"));
    assert_false(match("https://app.example/cb", "https://app.example/cb/"));
    assert_false(match("https://app.example/cb", "https://app.example/CB"));
    assert_false(match("https://app.example/cb", "https://APP.example/cb"));
    assert_false(match("https://app.example/cb", "https://app.example/cb?x=1"));
    assert_false(match("https://app.example/cb", "https://app.example:443/cb"));
    assert_false(match("https://app.example/cb", "https://app.example/c"));
    /* RFC 8252 §7.3: loopback IP literal, any port. */
    assert_true(match("http://127.0.0.1/cb", "http://127.0.0.1:53121/cb"));
    assert_true(match("http://127.0.0.1:8080/cb", "http://127.0.0.1:9090/cb"));
    assert_true(match("http://[::1]/cb", "http://[::1]:1234/cb"));
    assert_false(match("http://127.0.0.1/cb", "http://127.0.0.1:53121/cb2"));
    assert_false(match("http://127.0.0.1/cb", "http://127.0.0.10:53121/cb"));
    assert_false(match("http://127.0.0.1/cb", "http://127.0.0.1.evil:80/cb"));
    assert_false(match("http://127.0.0.1/cb", "http://127.0.0.1@evil/cb"));
    assert_false(match("http://127.0.0.1/cb", "http://[::1]:80/cb"));
    assert_false(match("http://localhost/cb", "http://localhost:80/cb")); /* names stay exact */
    assert_false(match("https://127.0.0.1/cb", "https://127.0.0.1:8443/cb"));
}

static const char *csp_source(const char *uri, size_t cap)
{
    static char out[128];
    memset(out, 'x', sizeof(out));
    size_t n = oidc_redirect_uri_csp_source(uri, strlen(uri), out, cap);
    if (n == 0)
        return NULL;
    assert_int_equal(strlen(out), n);
    return out;
}

/* The form-action source of a redirect URI: its origin as the browser
 * matches it (CSP3 host-source), or the scheme for an IPv6 literal, which
 * no host-source can spell. */
static void test_redirect_uri_csp_source(void **state)
{
    (void)state;
    assert_string_equal(csp_source("https://app.example/cb?x=1", 128), "https://app.example");
    assert_string_equal(csp_source("https://app.example:8443/cb", 128), "https://app.example:8443");
    assert_string_equal(csp_source("https://app.example", 128), "https://app.example");
    assert_string_equal(csp_source("https://app.example?x=1", 128), "https://app.example");
    assert_string_equal(csp_source("http://127.0.0.1:53121/cb", 128), "http://127.0.0.1:53121");
    assert_string_equal(csp_source("http://127.0.0.1/cb", 128), "http://127.0.0.1");
    assert_string_equal(csp_source("http://localhost:3000/callback", 128), "http://localhost:3000");
    /* Never "http://[::1]:8080", which Chromium and WebKit drop. */
    assert_string_equal(csp_source("http://[::1]:8080/cb", 128), "http:");
    assert_string_equal(csp_source("http://[::1]/cb", 128), "http:");
    assert_string_equal(csp_source("https://[2001:db8::1]/cb", 128), "https:");
    /* Broken twins: not http(s), malformed, no room. */
    assert_null(csp_source("javascript://app.example/%0aalert(1)", 128));
    assert_null(csp_source("ftp://app.example/cb", 128));
    assert_null(csp_source("https:/app.example/cb", 128));
    assert_null(csp_source("https://user@app.example/cb", 128));
    assert_null(csp_source("https://[::1/cb", 128));
    assert_null(csp_source("", 128));
    assert_null(csp_source("https://app.example:8443/cb", sizeof("https://app.example:8443") - 1));
    assert_string_equal(csp_source("https://app.example:8443/cb", sizeof("https://app.example:8443")),
                        "https://app.example:8443");
}

static oidc_client_t *from_json(const char *json, const char *id, gw_err_t *err)
{
    memset(err, 0, sizeof(*err));
    yajl_val v = gw_json_parse(json, strlen(json), NULL, err);
    assert_non_null(v);
    oidc_client_t *c = NULL;
    int rc = oidc_client_from_json(v, id, &c, err);
    yajl_tree_free(v);
    assert_true(rc == 0 ? c != NULL : c == NULL);
    return c;
}

static void expect_bad(const char *json, const char *word)
{
    gw_err_t err;
    oidc_client_t *c = from_json(json, NULL, &err);
    if (c != NULL)
        fail_msg("accepted: %s", json);
    assert_int_equal(err.kind, GW_E_INVALID_REQUEST);
    if (strstr(err.public, word) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.public, word);
}

static void test_client_from_json(void **state)
{
    (void)state;
    gw_err_t err;
    oidc_client_t *c = from_json("{\"client_id\":\"web\",\"client_name\":\"Web\",\"redirect_uris\":"
                                 "[\"https://a.example/cb\"],\"grant_types\":[\"authorization_code\","
                                 "\"refresh_token\"],\"scope\":\"openid email offline_access\"}",
                                 NULL, &err);
    assert_non_null(c);
    assert_string_equal(c->id, "web");
    assert_string_equal(c->name, "Web");
    assert_int_equal(c->auth_method, OIDC_AUTH_SECRET_BASIC);
    assert_true(c->has_secret);
    assert_int_equal(c->grants, OIDC_GRANT_CODE | OIDC_GRANT_REFRESH);
    assert_string_equal(c->id_token_alg, "ES256");
    assert_int_equal(c->scope_count, 3);
    assert_true(oidc_client_scope_ok(c, "openid", 6));
    assert_true(oidc_client_scope_ok(c, "openid email", 12));
    assert_false(oidc_client_scope_ok(c, "openid profile", 14));
    assert_false(oidc_client_scope_ok(c, "open", 4));
    assert_false(oidc_client_scope_ok(c, "openidx", 7));
    assert_false(oidc_client_scope_ok(c, "", 0));
    assert_true(oidc_client_redirect_uri_ok(c, "https://a.example/cb", 20));
    assert_false(oidc_client_redirect_uri_ok(c, "https://a.example/cb2", 21));
    assert_false(oidc_client_post_logout_uri_ok(c, "https://a.example/cb", 20));

    /* round trip through the writer */
    gw_jw_t *w = gw_jw_new();
    oidc_client_write_json(w, c, NULL);
    size_t len;
    const char *buf = gw_jw_buf(w, &len);
    assert_non_null(buf);
    char *text = strndup(buf, len);
    assert_null(strstr(text, "client_secret\""));
    oidc_client_t *c2 = from_json(text, "web", &err);
    assert_non_null(c2);
    assert_int_equal(c2->grants, c->grants);
    assert_int_equal(c2->scope_count, 3);
    free(text);
    gw_jw_free(w);
    oidc_client_unref(c2);
    oidc_client_unref(oidc_client_ref(c)); /* back to one reference */
    oidc_client_unref(c);

    /* public client and client_credentials */
    c = from_json("{\"client_id\":\"spa\",\"redirect_uris\":[\"http://localhost:3000/cb\"],"
                  "\"token_endpoint_auth_method\":\"none\"}",
                  NULL, &err);
    assert_non_null(c);
    assert_false(c->has_secret);
    assert_int_equal(c->grants, OIDC_GRANT_CODE);
    oidc_client_unref(c);
    c = from_json("{\"grant_types\":[\"client_credentials\"],\"scope\":\"scim admin\","
                  "\"token_endpoint_auth_method\":\"client_secret_post\"}",
                  "svc", &err);
    assert_non_null(c);
    assert_string_equal(c->id, "svc");
    assert_string_equal(c->name, "svc");
    oidc_client_unref(c);
}

static void test_client_from_json_broken(void **state)
{
    (void)state;
    expect_bad("[]", "object");
    expect_bad("{\"redirect_uris\":[\"https://a.example/cb\"]}", "client_id");
    expect_bad("{\"client_id\":\"a b\",\"redirect_uris\":[\"https://a.example/cb\"]}", "client_id");
    expect_bad("{\"client_id\":\"a\",\"redirect_uris\":[\"https://a.example/cb\"],\"colour\":1}", "colour");
    expect_bad("{\"client_id\":\"a\",\"redirect_uris\":[\"https://a.example/cb#x\"]}", "fragment");
    expect_bad("{\"client_id\":\"a\",\"redirect_uris\":\"https://a.example/cb\"}", "redirect_uris");
    expect_bad("{\"client_id\":\"a\",\"redirect_uris\":[1]}", "redirect_uris");
    expect_bad("{\"client_id\":\"a\",\"redirect_uris\":[\"https://a.example/cb\",\"https://a.example/cb\"]}",
               "twice");
    expect_bad("{\"client_id\":\"a\"}", "redirect_uris");
    expect_bad("{\"client_id\":\"a\",\"post_logout_redirect_uris\":[\"http://evil.example/\"],"
               "\"grant_types\":[\"client_credentials\"]}",
               "post_logout_redirect_uris");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[],\"redirect_uris\":[\"https://a.example/cb\"]}",
               "grant_types");
    expect_bad(
        "{\"client_id\":\"a\",\"grant_types\":[\"implicit\"],\"redirect_uris\":[\"https://a.example/cb\"]}",
        "grant_types");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"refresh_token\"]}", "authorization_code");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
               "\"none\"}",
               "none");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
               "\"client_secret_jwt\"}",
               "token_endpoint_auth_method");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"scope\":\"openid root\"}",
               "root");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"scope\":\"openid  email\"}",
               "single spaces");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"scope\":\"openid openid\"}",
               "twice");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"scope\":\"\"}", "scope");
    expect_bad(
        "{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"id_token_signed_response_alg\":"
        "\"none\"}",
        "ES256");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
               "\"private_key_jwt\"}",
               "jwks");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"jwks\":{\"keys\":[]}}",
               "jwks");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
               "\"private_key_jwt\",\"jwks\":{\"keys\":[]}}",
               "jwks");
    expect_bad("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
               "\"private_key_jwt\",\"jwks\":{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}}",
               "jwks key 1");
    expect_bad("{\"client_id\":\"a\",\"client_name\":\"\",\"grant_types\":[\"client_credentials\"]}",
               "client_name");

    /* client_id from the URL must agree with the body */
    gw_err_t err;
    oidc_client_t *c = from_json("{\"client_id\":\"a\",\"grant_types\":[\"client_credentials\"]}", "b", &err);
    assert_null(c);
    assert_non_null(strstr(err.public, "does not match"));
}

/* A P-256 public JWK (RFC 7515 Appendix A.3's key), with and without "d". */
#define EC_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define EC_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define EC_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"

static void test_client_jwks(void **state)
{
    (void)state;
    gw_err_t err;
    oidc_client_t *c =
        from_json("{\"client_id\":\"j\",\"grant_types\":[\"client_credentials\"],"
                  "\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":{\"keys\":[{\"kty\":"
                  "\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\"}]}}",
                  NULL, &err);
    assert_non_null(c);
    assert_false(c->has_secret);
    assert_int_equal(c->jwks_count, 1);
    assert_int_equal(strlen(c->jwks_kids[0]), GW_THUMBPRINT_LEN); /* named by thumbprint */
    char *jwks = NULL;
    assert_int_equal(oidc_client_jwks_json(c, &jwks, &err), 0);
    assert_non_null(strstr(jwks, "\"alg\":\"ES256\""));
    assert_null(strstr(jwks, "\"d\""));
    free(jwks);
    oidc_client_unref(c);

    /* broken twins: a private member, an alg that does not fit the key, two equal kids */
    expect_bad("{\"client_id\":\"j\",\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
               "\"private_key_jwt\",\"jwks\":{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X
               "\",\"y\":\"" EC_Y "\",\"d\":\"" EC_D "\"}]}}",
               "jwks key 1");
    expect_bad("{\"client_id\":\"j\",\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
               "\"private_key_jwt\",\"jwks\":{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X
               "\",\"y\":\"" EC_Y "\",\"alg\":\"RS256\"}]}}",
               "alg");
    expect_bad("{\"client_id\":\"j\",\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":"
               "\"private_key_jwt\",\"jwks\":{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X
               "\",\"y\":\"" EC_Y "\",\"kid\":\"k\"},{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X
               "\",\"y\":\"" EC_Y "\",\"kid\":\"k\"}]}}",
               "same kid");
}

static void test_cache(void **state)
{
    (void)state;
    gw_err_t err;
    oidc_client_cache_clear();
    oidc_client_t *c =
        from_json("{\"client_id\":\"cached\",\"grant_types\":[\"client_credentials\"]}", NULL, &err);
    oidc_client_t *got = NULL;
    uint64_t gen, gen2;
    assert_int_equal(oidc_client_cache_get("cached", 6, &got, &gen), 0);
    oidc_client_cache_put("cached", 6, c, gen);
    assert_int_equal(oidc_client_cache_get("cached", 6, &got, &gen2), 1);
    assert_ptr_equal(got, c);
    oidc_client_unref(got);
    /* negative entry */
    assert_int_equal(oidc_client_cache_get("nobody", 6, &got, &gen), 0);
    oidc_client_cache_put("nobody", 6, NULL, gen);
    got = c;
    assert_int_equal(oidc_client_cache_get("nobody", 6, &got, &gen), 1);
    assert_null(got);
    /* invalidation drops the entry, and a put with an older generation
     * (a read that raced the change) is ignored */
    assert_int_equal(oidc_client_cache_get("cached2", 7, &got, &gen), 0);
    oidc_client_cache_invalidate("cached", 6);
    assert_int_equal(oidc_client_cache_get("cached", 6, &got, &gen2), 0);
    oidc_client_cache_put("cached2", 7, c, gen);
    assert_int_equal(oidc_client_cache_get("cached2", 7, &got, &gen2), 0);
    /* a flood of unknown ids stays bounded and keeps the known client */
    oidc_client_cache_put("cached", 6, c, gen2);
    for (int i = 0; i < 3 * OIDC_CLIENT_CACHE_NEG_MAX; i++) {
        char id[32];
        int n = snprintf(id, sizeof(id), "x%d", i);
        assert_int_equal(oidc_client_cache_get(id, (size_t)n, &got, &gen), 0);
        oidc_client_cache_put(id, (size_t)n, NULL, gen);
    }
    assert_int_equal(oidc_client_cache_get("cached", 6, &got, &gen), 1);
    assert_ptr_equal(got, c);
    oidc_client_unref(got);
    oidc_client_cache_clear();
    oidc_client_unref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirect_uri_valid), cmocka_unit_test(test_redirect_uri_broken_twins),
        cmocka_unit_test(test_redirect_uri_match), cmocka_unit_test(test_redirect_uri_csp_source),
        cmocka_unit_test(test_client_from_json),   cmocka_unit_test(test_client_from_json_broken),
        cmocka_unit_test(test_client_jwks),        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
