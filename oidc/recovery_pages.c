/* The recovery pages: start (name the account, choose a provider), the dev
 * provider's form, the neutral outcome, the TAP shown once. Pure builders,
 * in the look of the sign-in pages (no inline script or style). */
#include <string.h>

#include "oidc/recovery_internal.h"

#define EVALUATION_NOTICE                                                                                    \
    "Self-service recovery is being evaluated by your organisation. You can go through every step, but no "  \
    "temporary access pass will be issued. Contact your help desk to get back into your account."

static void evaluation_notice(oidc_html_t *h)
{
    oidc_html_raw(h,
                  "<p class=\"notice\" role=\"status\" id=\"evaluation-notice\">" EVALUATION_NOTICE "</p>\n");
}

h2o_iovec_t oidc_page_recovery_start(h2o_mem_pool_t *pool, const oidc_recovery_start_view_t *v)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    oidc_html_page_open(&h, "Recover your account", 0);
    oidc_html_raw(&h, "<h1>Recover your account</h1>\n<p>Lost your passkey, phone or security key? Prove who "
                      "you are with an identity check, and you get a temporary access pass to set up a new "
                      "sign-in method.</p>\n");
    if (v->evaluation)
        evaluation_notice(&h);
    if (v->error != NULL) {
        oidc_html_raw(&h, "<p class=\"error\" role=\"alert\">");
        oidc_html_str(&h, v->error);
        oidc_html_raw(&h, "</p>\n");
    }
    oidc_html_raw(&h, "<form method=\"post\" action=\"" OIDC_RECOVERY_PATH "\">\n");
    oidc_html_hidden(&h, "request", v->request_id);
    oidc_html_hidden(&h, OIDC_CSRF_FIELD, v->csrf);
    oidc_html_raw(&h, "<label for=\"username\">Username</label>\n"
                      "<input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" "
                      "autocapitalize=\"none\" spellcheck=\"false\" required maxlength=\"256\"");
    if (v->username != NULL && v->username[0] != '\0') {
        oidc_html_raw(&h, " value=\"");
        oidc_html_str(&h, v->username);
        oidc_html_raw(&h, "\"");
    } else {
        oidc_html_raw(&h, " autofocus");
    }
    oidc_html_raw(&h, ">\n");
    if (v->provider_count == 0) {
        oidc_html_raw(&h, "<p>No identity check is available. Contact your help desk.</p>\n</form>\n");
        return oidc_html_page_close(&h);
    }
    oidc_html_raw(&h, "<fieldset>\n<legend>Verify your identity with</legend>\n");
    for (size_t i = 0; i < v->provider_count; i++) {
        oidc_html_raw(&h, "<label class=\"choice\"><input type=\"radio\" name=\"provider\" value=\"");
        oidc_html_str(&h, v->provider_ids[i]);
        oidc_html_raw(&h, i == 0 ? "\" checked> " : "\"> ");
        oidc_html_str(&h, v->provider_names[i]);
        oidc_html_raw(&h, "</label>\n");
    }
    oidc_html_raw(&h, "</fieldset>\n<button type=\"submit\">Continue</button>\n</form>\n");
    return oidc_html_page_close(&h);
}

static void text_field(oidc_html_t *h, const char *name, const char *label, const char *type,
                       const char *value)
{
    oidc_html_raw(h, "<label for=\"");
    oidc_html_str(h, name);
    oidc_html_raw(h, "\">");
    oidc_html_str(h, label);
    oidc_html_raw(h, "</label>\n<input id=\"");
    oidc_html_str(h, name);
    oidc_html_raw(h, "\" name=\"");
    oidc_html_str(h, name);
    oidc_html_raw(h, "\" type=\"");
    oidc_html_str(h, type);
    oidc_html_raw(h, "\" maxlength=\"256\"");
    if (value != NULL) {
        oidc_html_raw(h, " value=\"");
        oidc_html_str(h, value);
        oidc_html_raw(h, "\"");
    }
    oidc_html_raw(h, ">\n");
}

h2o_iovec_t oidc_page_recovery_dev(h2o_mem_pool_t *pool, const char *provider_name, const char *handle)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    oidc_html_page_open(&h, "Simulated identity check", 0);
    oidc_html_raw(&h, "<h1>Simulated identity check</h1>\n<p class=\"notice\">");
    oidc_html_str(&h, provider_name);
    oidc_html_raw(&h,
                  " is a simulation for evaluation and tests (dev mode): it \xe2\x80\x9cverifies\xe2\x80\x9d "
                  "whatever you type here.</p>\n<form method=\"post\" action=\"" OIDC_RECOVERY_CALLBACK_PATH
                  "\">\n");
    oidc_html_hidden(&h, "state", handle);
    text_field(&h, "given_name", "Given name", "text", NULL);
    text_field(&h, "family_name", "Family name", "text", NULL);
    text_field(&h, "birthdate", "Date of birth (YYYY-MM-DD)", "text", NULL);
    text_field(&h, "employee_number", "Employee number (optional)", "text", NULL);
    text_field(&h, "trust_framework", "Trust framework", "text", "dev");
    text_field(&h, "assurance_level", "Assurance level", "text", "substantial");
    text_field(&h, "verified_seconds_ago", "Verified how many seconds ago", "number", "0");
    text_field(&h, "txn", "Provider transaction id (optional)", "text", NULL);
    oidc_html_raw(&h, "<button type=\"submit\" name=\"verify\" value=\"1\">Verify</button>\n"
                      "<button type=\"submit\" name=\"cancel\" value=\"1\" formnovalidate>Cancel</button>\n"
                      "</form>\n");
    return oidc_html_page_close(&h);
}

h2o_iovec_t oidc_page_recovery_outcome(h2o_mem_pool_t *pool, int evaluation)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    oidc_html_page_open(&h, "Account recovery", 0);
    oidc_html_raw(&h, "<h1>Account recovery</h1>\n");
    if (evaluation) {
        evaluation_notice(&h);
        return oidc_html_page_close(&h);
    }
    /* One message for every failure: which check failed would tell a
     * stranger whether an account exists, or whose it is. */
    oidc_html_raw(&h, "<p role=\"alert\" id=\"recovery-outcome\">We could not recover an account with this "
                      "identity check. If you think this is wrong, try again later or contact your help "
                      "desk.</p>\n");
    return oidc_html_page_close(&h);
}

h2o_iovec_t oidc_page_recovery_tap(h2o_mem_pool_t *pool, const char *tap, const char *expires,
                                   const char *request_id, const char *csrf, const char *username)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    oidc_html_page_open(&h, "Your temporary access pass", 0);
    oidc_html_raw(&h, "<h1>Identity verified</h1>\n<p>Your temporary access pass is shown only once:</p>\n"
                      "<p class=\"tap\"><output id=\"tap\">");
    oidc_html_str(&h, tap);
    oidc_html_raw(&h, "</output></p>\n<p>It is valid until ");
    oidc_html_str(&h, expires);
    oidc_html_raw(&h, ". Use it now to sign in and set up a new passkey or authenticator app.</p>\n"
                      "<form method=\"post\" action=\"" OIDC_TAP_SIGNIN_PATH "\">\n");
    if (request_id != NULL && request_id[0] != '\0')
        oidc_html_hidden(&h, "request", request_id);
    oidc_html_hidden(&h, OIDC_CSRF_FIELD, csrf);
    if (username != NULL)
        oidc_html_hidden(&h, "username", username);
    oidc_html_hidden(&h, "tap", tap);
    oidc_html_raw(&h, "<button type=\"submit\">Sign in with this pass</button>\n</form>\n");
    return oidc_html_page_close(&h);
}

void oidc_recovery_page_send(gw_req_t *r, int status, h2o_iovec_t page)
{
    if (r->req == NULL)
        return;
    if (r->route == NULL || !(r->route->flags & GW_ROUTE_NO_STORE))
        gw_reply_header(r, "cache-control", H2O_STRLIT("no-store"));
    gw_reply_html(r, status, page.base, page.len);
}
