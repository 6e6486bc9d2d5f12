/* oidc/html.c, oidc/pages.c, oidc/csrf.c: escaping, the sign-in page's
 * fields, error pages, uuid and CSRF token checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/secrets.h"
#include "oidc/signin_internal.h"

static int setup(void **state)
{
    h2o_mem_pool_t *pool = malloc(sizeof(*pool));
    h2o_mem_init_pool(pool);
    *state = pool;
    static const uint8_t kek[32] = {1, 2, 3};
    gw_secrets_init(kek);
    return 0;
}

static int teardown(void **state)
{
    h2o_mem_clear_pool(*state);
    free(*state);
    return 0;
}

static const char *escaped(h2o_mem_pool_t *pool, const char *in)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    oidc_html_str(&h, in);
    return h.buf;
}

static void test_escape(void **state)
{
    h2o_mem_pool_t *pool = *state;
    assert_string_equal(escaped(pool, "<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
    assert_string_equal(escaped(pool, "a \"quoted\" 'value'"), "a &quot;quoted&quot; &#39;value&#39;");
    assert_string_equal(escaped(pool, "Tom & Jerry &amp;"), "Tom &amp; Jerry &amp;amp;");
    assert_string_equal(escaped(pool, "plain text, é ✓"), "plain text, é ✓");
    assert_string_equal(escaped(pool, ""), "");
    /* An attribute breakout attempt stays inside the value. */
    assert_string_equal(escaped(pool, "\" autofocus onfocus=\"x"), "&quot; autofocus onfocus=&quot;x");
}

static void test_escape_grows(void **state)
{
    h2o_mem_pool_t *pool = *state;
    char in[5001];
    memset(in, '<', 5000);
    in[5000] = '\0';
    const char *out = escaped(pool, in);
    assert_int_equal(strlen(out), 5000 * 4);
    assert_memory_equal(out, "&lt;&lt;", 8);
    assert_memory_equal(out + strlen(out) - 4, "&lt;", 4);
}

static void test_signin_page(void **state)
{
    h2o_mem_pool_t *pool = *state;
    oidc_signin_view_t v = {"0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b11",
                            "tok_EN-123",
                            "<b>eve</b>",
                            "Wrong & \"bad\"",
                            0,
                            NULL,
                            NULL,
                            "Box_of-the.request"};
    h2o_iovec_t p = oidc_page_signin(pool, &v);
    const char *s = p.base;
    assert_int_equal(strlen(s), p.len);
    assert_non_null(strstr(s, "<!DOCTYPE html>"));
    assert_non_null(strstr(s, "<html lang=\"en\">"));
    assert_non_null(strstr(s, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
    assert_non_null(strstr(s, "<link rel=\"stylesheet\" href=\"/static/regain.css\">"));
    assert_non_null(strstr(s, "<form method=\"post\" action=\"/login\">"));
    assert_non_null(strstr(s, "name=\"username\""));
    assert_non_null(strstr(s, "autocomplete=\"username webauthn\""));
    assert_non_null(strstr(s, "name=\"password\" type=\"password\" autocomplete=\"current-password\""));
    assert_non_null(strstr(s, "<label for=\"username\">"));
    assert_non_null(strstr(s, "<label for=\"password\">"));
    assert_non_null(
        strstr(s, "<input type=\"hidden\" name=\"request\" value=\"0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b11\">"));
    assert_non_null(strstr(s, "<input type=\"hidden\" name=\"csrf\" value=\"tok_EN-123\">"));
    /* The request's box goes with every door of the page: the password,
     * code and TAP forms, the passkey script, the recovery link. */
    int boxes = 0;
    for (const char *at = s;
         (at = strstr(at, "<input type=\"hidden\" name=\"pending\" value=\"Box_of-the.request\">")); at++)
        boxes++;
    assert_int_equal(boxes, 3);
    assert_non_null(strstr(s, "data-pending=\"Box_of-the.request\""));
    assert_non_null(strstr(
        s, "href=\"/recover?request=0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b11&amp;pending=Box_of-the.request\""));
    assert_non_null(strstr(s, "role=\"alert\">Wrong &amp; &quot;bad&quot;</p>"));
    assert_non_null(strstr(s, "value=\"&lt;b&gt;eve&lt;/b&gt;\""));
    /* The Content-Security-Policy forbids inline script and style: the one
     * script is the same-origin file. */
    assert_non_null(strstr(s, "<script src=\"/static/passkey.js\" defer></script>"));
    assert_null(strstr(s, "<script>"));
    assert_null(strstr(s, "<style"));
    assert_null(strstr(s, "style="));
    assert_null(strstr(s, "<b>"));
}

static void test_signin_page_without_error(void **state)
{
    oidc_signin_view_t v = {"0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b11", "t", NULL, NULL, 0, NULL, NULL, NULL};
    h2o_iovec_t p = oidc_page_signin(*state, &v);
    /* A stored request: no box anywhere. */
    assert_null(strstr(p.base, "pending"));
    assert_null(strstr(p.base, "role=\"alert\""));
    assert_null(strstr(p.base, "aria-describedby"));
    assert_non_null(strstr(p.base, "autofocus"));
}

static void test_error_page(void **state)
{
    h2o_iovec_t p = oidc_page_error(*state, "Bad <client>", "The redirect_uri \"x\" & more");
    assert_non_null(strstr(p.base, "<h1>Bad &lt;client&gt;</h1>"));
    assert_non_null(strstr(p.base, "The redirect_uri &quot;x&quot; &amp; more"));
    assert_non_null(strstr(p.base, "<title>Bad &lt;client&gt;"));
    assert_null(strstr(p.base, "<client>"));
}

static void test_uuid(void **state)
{
    (void)state;
    assert_true(oidc_uuid_ok("0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b11", 36));
    assert_true(oidc_uuid_ok("0B7E5C1A-8C1E-4A4E-9A55-3C1D2F0E9B11", 36));
    assert_false(oidc_uuid_ok("0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b1", 35));
    assert_false(oidc_uuid_ok("0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b1g", 36));
    assert_false(oidc_uuid_ok("0b7e5c1a08c1e-4a4e-9a55-3c1d2f0e9b11", 36));
    assert_false(oidc_uuid_ok("'; drop table users; --'aaaaaaaaaaaa", 36));
    assert_false(oidc_uuid_ok(NULL, 0));
}

static void test_csrf(void **state)
{
    (void)state;
    char cookie[GW_SECRET_LEN + 1], other[GW_SECRET_LEN + 1], tok[OIDC_CSRF_TOKEN_LEN + 1];
    const char *req = "0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b11";
    const char *req2 = "0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b12";
    gw_secret_new(cookie);
    gw_secret_new(other);
    assert_true(oidc_secret_format_ok(cookie, strlen(cookie)));
    oidc_csrf_token(cookie, strlen(cookie), req, tok);
    assert_int_equal(strlen(tok), OIDC_CSRF_TOKEN_LEN);
    assert_true(oidc_csrf_ok(cookie, strlen(cookie), req, tok, strlen(tok)));
    /* Broken twins: another request, another cookie, a flipped character,
     * a truncated token, the cookie itself as the field, no cookie. */
    assert_false(oidc_csrf_ok(cookie, strlen(cookie), req2, tok, strlen(tok)));
    assert_false(oidc_csrf_ok(other, strlen(other), req, tok, strlen(tok)));
    tok[5] = tok[5] == 'A' ? 'B' : 'A';
    assert_false(oidc_csrf_ok(cookie, strlen(cookie), req, tok, strlen(tok)));
    oidc_csrf_token(cookie, strlen(cookie), req, tok);
    assert_false(oidc_csrf_ok(cookie, strlen(cookie), req, tok, strlen(tok) - 1));
    assert_false(oidc_csrf_ok(cookie, strlen(cookie), req, cookie, strlen(cookie)));
    assert_false(oidc_csrf_ok("", 0, req, tok, strlen(tok)));
    assert_false(oidc_secret_format_ok("short", 5));
    assert_false(oidc_secret_format_ok("0123456789012345678901234567890123456789+/=", 43));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escape_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin_page_without_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uuid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csrf, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
