/* The sign-in methods' pages as pure builders (oidc/pages.c, oidc/account_page.c)
 * and their small helpers (oidc/methods_common.c, oidc/account.c): what a
 * person and a password manager need in each form, escaping of every name a
 * user chose, nothing inline for the Content-Security-Policy to refuse, and
 * the step-up page that offers a passkey only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "oidc/methods_internal.h"
#include "pool_fixture.h"

#define REQ "0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b11"

static void no_inline(const char *s)
{
    assert_null(strstr(s, "<script>"));
    assert_null(strstr(s, "<style"));
    assert_null(strstr(s, "style="));
    assert_null(strstr(s, " on"));
}

static void signin_offers_every_way(void **state)
{
    oidc_signin_view_t v = {REQ, "tok", NULL, NULL, 0, NULL, "taptok", NULL};
    const char *s = oidc_page_signin(*state, &v).base;
    assert_non_null(strstr(s, "<form method=\"post\" action=\"/login\">"));
    assert_non_null(strstr(s, "autocomplete=\"username webauthn\""));
    assert_non_null(strstr(s, "name=\"password\""));
    assert_non_null(
        strstr(s, "<div id=\"passkey\" class=\"alt\" data-request=\"" REQ "\" data-csrf=\"tok\" hidden>"));
    assert_non_null(strstr(s, "<form method=\"post\" action=\"/login/code\">"));
    assert_non_null(strstr(s, "autocomplete=\"one-time-code\""));
    /* The TAP form: field `tap`, the hidden request and its own token. */
    assert_non_null(strstr(s, "<form method=\"post\" action=\"/login/tap\">\n"
                              "<input type=\"hidden\" name=\"request\" value=\"" REQ "\">\n"
                              "<input type=\"hidden\" name=\"csrf\" value=\"taptok\">"));
    assert_non_null(strstr(s, "name=\"tap\""));
    no_inline(s);
}

static void signin_step_up_is_passkey_only(void **state)
{
    oidc_signin_view_t v = {REQ,  "tok", "a<b", NULL, OIDC_ACR_LEVEL_PHISHING_RESISTANT, "Use a <passkey>",
                            NULL, NULL};
    const char *s = oidc_page_signin(*state, &v).base;
    /* The passkey comes first; the password and the code are folded under
     * "no passkey yet" (they lead to adding one, never answer the request). */
    const char *passkey = strstr(s, "id=\"passkey-signin\"");
    const char *folded = strstr(s, "<details id=\"no-passkey\">");
    const char *password = strstr(s, "name=\"password\"");
    assert_non_null(passkey);
    assert_non_null(folded);
    assert_non_null(password);
    assert_true(passkey < folded && folded < password);
    assert_non_null(strstr(s, "action=\"/login/code\""));
    /* One element per id: the folded form's username field has its own. */
    assert_non_null(strstr(s, "<input id=\"password-username\" name=\"username\""));
    assert_int_equal(strstr(strstr(s, "id=\"username\"") + 1, "id=\"username\"") == NULL, 1);
    assert_non_null(strstr(s, "Use a &lt;passkey&gt;"));
    assert_non_null(strstr(s, "value=\"a&lt;b\""));
    /* Without its own token the TAP form uses the page's. */
    assert_non_null(strstr(s, "<input type=\"hidden\" name=\"csrf\" value=\"tok\">"));
    /* ... and names the account, prefilled (escaped), so wrong passes count against it. */
    assert_non_null(strstr(s, "<input id=\"tap-username\" name=\"username\" type=\"text\" "
                              "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" "
                              "maxlength=\"256\" value=\"a&lt;b\">"));
}

static void signin_without_request(void **state)
{
    oidc_signin_view_t v = {NULL, "tok", NULL, NULL, 0, NULL, NULL, NULL};
    const char *s = oidc_page_signin(*state, &v).base;
    assert_non_null(strstr(s, "<input type=\"hidden\" name=\"request\" value=\"\">"));
    assert_non_null(strstr(s, "data-request=\"\""));
}

static void code_page(void **state)
{
    oidc_code_view_t v = {REQ, "tok", "step-token", NULL, "Wrong \"code\""};
    const char *s = oidc_page_code(*state, &v).base;
    assert_non_null(strstr(s, "<form method=\"post\" action=\"/login/code\">"));
    assert_non_null(strstr(s, "<input type=\"hidden\" name=\"step\" value=\"step-token\">"));
    assert_null(strstr(s, "name=\"username\""));
    assert_non_null(
        strstr(s, "name=\"code\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\""));
    assert_non_null(strstr(s, "role=\"alert\">Wrong &quot;code&quot;</p>"));
    assert_non_null(strstr(s, "aria-describedby=\"signin-error\""));
    oidc_code_view_t a = {OIDC_CONTEXT_ACCOUNT, "tok", NULL, "bob", NULL};
    s = oidc_page_code(*state, &a).base;
    assert_non_null(strstr(s, "<input type=\"hidden\" name=\"request\" value=\"\">"));
    assert_non_null(strstr(s, "<input type=\"hidden\" name=\"username\" value=\"bob\">"));
    no_inline(s);
}

static void account_page(void **state)
{
    oidc_method_row_t rows[] = {
        {"passkey", "11111111-1111-4111-8111-111111111111", "<img src=x>", "2026-01-01 10:00 UTC", NULL, 1,
         1},
        {"totp", "22222222-2222-4222-8222-222222222222", "Phone", "2026-01-02 10:00 UTC",
         "2026-01-03 10:00 UTC", 0, 1},
    };
    oidc_account_view_t v = {"al\"ice", "tok", REQ, 0, 1, rows, 2, "Done.", NULL, 0};
    const char *s = oidc_page_account(*state, &v).base;
    assert_non_null(strstr(s, "Signed in as <strong>al&quot;ice</strong>"));
    assert_null(strstr(s, "<img src=x>"));
    assert_non_null(strstr(s, "<strong>&lt;img src=x&gt;</strong>"));
    assert_non_null(strstr(s, "Synced passkey"));
    assert_non_null(strstr(s, "never used"));
    assert_non_null(strstr(s, "last used 2026-01-03 10:00 UTC"));
    assert_non_null(strstr(s, "action=\"/account/security/remove\""));
    assert_non_null(strstr(s, "action=\"/account/security/rename\""));
    assert_non_null(strstr(s, "<label for=\"name-11111111-1111-4111-8111-111111111111\""));
    /* Every form carries the token and the request to continue. */
    assert_non_null(strstr(s, "<input type=\"hidden\" name=\"request\" value=\"" REQ "\">"));
    assert_non_null(strstr(s, "data-csrf=\"tok\" data-request=\"" REQ "\" hidden>"));
    assert_non_null(strstr(s, "role=\"status\">Done.</p>"));
    assert_non_null(strstr(s, "action=\"/logout\""));
    no_inline(s);
    oidc_account_view_t t = {"bob", "tok", NULL, 1, 0, NULL, 0, NULL, "No.", 0};
    s = oidc_page_account(*state, &t).base;
    assert_non_null(strstr(s, "No passkeys yet."));
    assert_non_null(strstr(s, "Add a passkey or an authenticator app now."));
    assert_null(strstr(s, "action=\"/logout\""));
    assert_null(strstr(s, "name=\"request\""));
    assert_non_null(strstr(s, "role=\"alert\">No.</p>"));
}

static void enrol_page(void **state)
{
    oidc_totp_enrol_view_t v = {"33333333-3333-4333-8333-333333333333",
                                "otpauth://totp/x:y?secret=AB&issuer=x&a=<b>",
                                "<svg/>",
                                "tok",
                                NULL,
                                NULL};
    const char *s = oidc_page_totp_enrol(*state, &v).base;
    assert_non_null(strstr(s, "secret=AB&amp;issuer=x&amp;a=&lt;b&gt;</code>"));
    assert_non_null(strstr(s, "src=\"data:image/svg+xml;base64,PHN2Zy8+\""));
    assert_non_null(
        strstr(s, "<input type=\"hidden\" name=\"id\" value=\"33333333-3333-4333-8333-333333333333\">"));
    assert_non_null(strstr(s, "autocomplete=\"one-time-code\""));
    no_inline(s);
}

static void names_and_contexts(void **state)
{
    (void)state;
    assert_true(oidc_name_ok("Laptop", 6));
    assert_true(oidc_name_ok("Cl\xc3\xa9 USB", 8));
    assert_false(oidc_name_ok("", 0));
    assert_false(oidc_name_ok("a\nb", 3));
    /* C1 controls (U+0080..U+009F, Unicode category Cc) are controls too:
     * U+009B is an 8-bit CSI to a terminal showing the audit log. */
    assert_false(oidc_name_ok("a\xc2\x85"
                              "b",
                              4));
    assert_false(oidc_name_ok("a\xc2\x9b"
                              "31m",
                              6));
    assert_true(oidc_name_ok("a\xc2\xa0"
                             "b",
                             4));                  /* U+00A0 no-break space is no control */
    assert_false(oidc_name_ok("\xc3", 1));         /* truncated */
    assert_false(oidc_name_ok("\xc0\xaf", 2));     /* overlong */
    assert_false(oidc_name_ok("\xed\xa0\x80", 3)); /* surrogate */
    char long_name[66];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    assert_false(oidc_name_ok(long_name, 65));
    assert_true(oidc_name_ok(long_name, 64));

    oidc_context_t c;
    assert_int_equal(oidc_context_parse(NULL, 0, c), 0);
    assert_string_equal(c, OIDC_CONTEXT_ACCOUNT);
    assert_int_equal(oidc_context_parse("0B7E5C1A-8C1E-4A4E-9A55-3C1D2F0E9B11", 36, c), 0);
    assert_string_equal(c, REQ);
    assert_int_equal(oidc_context_parse("account", 7, c), -1);
    assert_int_equal(oidc_context_parse(REQ "0", 37, c), -1);

    uint8_t b[16];
    assert_int_equal(oidc_uuid_bytes(REQ, b), 0);
    assert_int_equal(b[0], 0x0b);
    assert_int_equal(b[15], 0x11);
    assert_int_equal(oidc_uuid_bytes("0b7e5c1a-8c1e", b), -1);
    assert_int_equal(oidc_uuid_bytes("zb7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b11", b), -1);
}

static void rp_identity(void **state)
{
    (void)state;
    oidc_rp_init("https://login.example.com");
    assert_string_equal(oidc_rp_id(), "login.example.com");
    assert_string_equal(oidc_rp_origin(), "https://login.example.com");
    oidc_rp_init("https://localhost:8443");
    assert_string_equal(oidc_rp_id(), "localhost");
    assert_string_equal(oidc_rp_origin(), "https://localhost:8443");
    /* Browsers serialise an origin without its default port. */
    oidc_rp_init("https://id.example.org:443");
    assert_string_equal(oidc_rp_origin(), "https://id.example.org");
    assert_string_equal(oidc_rp_id(), "id.example.org");
    /* As browsers serialise an origin: the host in lower case, no default
     * port for http either. */
    oidc_rp_init("https://Login.Example.COM");
    assert_string_equal(oidc_rp_id(), "login.example.com");
    assert_string_equal(oidc_rp_origin(), "https://login.example.com");
    oidc_rp_init("http://LocalHost:80");
    assert_string_equal(oidc_rp_id(), "localhost");
    assert_string_equal(oidc_rp_origin(), "http://localhost");
    oidc_rp_init("http://localhost:8080");
    assert_string_equal(oidc_rp_origin(), "http://localhost:8080");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(signin_offers_every_way, setup, teardown),
        cmocka_unit_test_setup_teardown(signin_step_up_is_passkey_only, setup, teardown),
        cmocka_unit_test_setup_teardown(signin_without_request, setup, teardown),
        cmocka_unit_test_setup_teardown(code_page, setup, teardown),
        cmocka_unit_test_setup_teardown(account_page, setup, teardown),
        cmocka_unit_test_setup_teardown(enrol_page, setup, teardown),
        cmocka_unit_test(names_and_contexts),
        cmocka_unit_test(rp_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
