/* The account security page and the authenticator app enrolment page, as
 * pure builders (tested without a server). Plain HTML: every form works
 * without JavaScript except adding a passkey, which the WebAuthn API needs. */
#include <string.h>

#include "oidc/methods_internal.h"

static void common_fields(oidc_html_t *h, const char *csrf, const char *request)
{
    oidc_html_hidden(h, OIDC_CSRF_FIELD, csrf);
    if (request != NULL)
        oidc_html_hidden(h, "request", request);
}

static void method_item(oidc_html_t *h, const oidc_account_view_t *v, const oidc_method_row_t *m)
{
    oidc_html_raw(h, "<li>\n<p><strong>");
    oidc_html_str(h, m->name);
    oidc_html_raw(h, "</strong><br>\n<span class=\"meta\">");
    if (strcmp(m->kind, "passkey") == 0)
        oidc_html_raw(h, m->synced ? "Synced passkey" : "Passkey on one device");
    else
        oidc_html_raw(h, m->confirmed ? "Authenticator app" : "Authenticator app, not confirmed");
    oidc_html_raw(h, " \xc2\xb7 added ");
    oidc_html_str(h, m->created);
    oidc_html_raw(h, " \xc2\xb7 ");
    if (m->last_used != NULL) {
        oidc_html_raw(h, "last used ");
        oidc_html_str(h, m->last_used);
    } else {
        oidc_html_raw(h, "never used");
    }
    oidc_html_raw(h, "</span></p>\n");
    if (v->register_only) {
        /* A TAP session registers a method first (account.c refuses the rest). */
        oidc_html_raw(h, "</li>\n");
        return;
    }
    /* Rename: a label per field, ids unique by the method id. */
    oidc_html_raw(h, "<form method=\"post\" action=\"" OIDC_ACCOUNT_PATH "/rename\" class=\"row\">\n");
    common_fields(h, v->csrf, v->request);
    oidc_html_hidden(h, "kind", m->kind);
    oidc_html_hidden(h, "id", m->id);
    oidc_html_raw(h, "<label for=\"name-");
    oidc_html_str(h, m->id);
    oidc_html_raw(h, "\" class=\"visually-hidden\">New name for ");
    oidc_html_str(h, m->name);
    oidc_html_raw(h, "</label>\n<input id=\"name-");
    oidc_html_str(h, m->id);
    oidc_html_raw(h, "\" name=\"name\" type=\"text\" maxlength=\"64\" required value=\"");
    oidc_html_str(h, m->name);
    oidc_html_raw(h, "\">\n<button type=\"submit\" class=\"secondary\">Rename</button>\n</form>\n");
    oidc_html_raw(h, "<form method=\"post\" action=\"" OIDC_ACCOUNT_PATH "/remove\">\n");
    common_fields(h, v->csrf, v->request);
    oidc_html_hidden(h, "kind", m->kind);
    oidc_html_hidden(h, "id", m->id);
    oidc_html_raw(h, "<button type=\"submit\" class=\"danger\" aria-label=\"Remove ");
    oidc_html_str(h, m->name);
    oidc_html_raw(h, "\">Remove</button>\n</form>\n</li>\n");
}

static void method_list(oidc_html_t *h, const oidc_account_view_t *v, const char *kind, const char *none)
{
    size_t shown = 0;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->rows[i].kind, kind) == 0) {
            if (shown++ == 0)
                oidc_html_raw(h, "<ul class=\"methods\">\n");
            method_item(h, v, &v->rows[i]);
        }
    if (shown > 0)
        oidc_html_raw(h, "</ul>\n");
    else {
        oidc_html_raw(h, "<p>");
        oidc_html_raw(h, none);
        oidc_html_raw(h, "</p>\n");
    }
}

h2o_iovec_t oidc_page_account(h2o_mem_pool_t *pool, const oidc_account_view_t *v)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    oidc_html_page_open(&h, "Sign-in methods", OIDC_PAGE_SCRIPT | OIDC_PAGE_WIDE);
    oidc_html_raw(&h, "<h1>Sign-in methods</h1>\n<p>Signed in as <strong>");
    oidc_html_str(&h, v->user_name);
    oidc_html_raw(&h, "</strong></p>\n");
    if (v->register_only)
        oidc_html_raw(&h, "<p class=\"notice\">Add a passkey or an authenticator app now. You can use your "
                          "account once you have one.</p>\n");
    if (v->notice != NULL) {
        oidc_html_raw(&h, "<p class=\"notice\" role=\"status\">");
        oidc_html_str(&h, v->notice);
        oidc_html_raw(&h, "</p>\n");
    }
    if (v->error != NULL) {
        oidc_html_raw(&h, "<p class=\"error\" role=\"alert\">");
        oidc_html_str(&h, v->error);
        oidc_html_raw(&h, "</p>\n");
    }
    if (v->offer_unmet && v->request != NULL) {
        oidc_html_raw(&h, "<p><a id=\"acr-unmet\" href=\"" OIDC_RESUME_PATH "?request=");
        oidc_html_str(&h, v->request);
        oidc_html_raw(&h, "&amp;unmet=1\">Go back to the application without signing in</a></p>\n");
    }

    oidc_html_raw(&h, "<h2>Passkeys</h2>\n");
    method_list(&h, v, "passkey", "No passkeys yet.");
    oidc_html_raw(&h, "<div id=\"passkey-register\" class=\"alt\" data-csrf=\"");
    oidc_html_str(&h, v->csrf);
    oidc_html_raw(&h, "\" data-request=\"");
    oidc_html_str(&h, v->request ? v->request : "");
    oidc_html_raw(&h, "\" hidden>\n<label for=\"passkey-name\">Name for a new passkey</label>\n"
                      "<input id=\"passkey-name\" type=\"text\" maxlength=\"64\" value=\"Passkey\">\n"
                      "<button type=\"button\" id=\"passkey-add\">Add a passkey</button>\n"
                      "<p id=\"passkey-status\" class=\"status\" role=\"status\"></p>\n</div>\n"
                      "<noscript><p>Adding a passkey needs JavaScript.</p></noscript>\n");

    oidc_html_raw(&h, "<h2>Authenticator apps</h2>\n");
    method_list(&h, v, "totp", "No authenticator apps yet.");
    oidc_html_raw(&h, "<form method=\"post\" action=\"" OIDC_ACCOUNT_PATH "/totp\">\n");
    common_fields(&h, v->csrf, v->request);
    oidc_html_raw(&h, "<label for=\"totp-name\">Name for a new authenticator app</label>\n"
                      "<input id=\"totp-name\" name=\"name\" type=\"text\" maxlength=\"64\" required "
                      "value=\"Authenticator app\">\n"
                      "<button type=\"submit\">Add an authenticator app</button>\n</form>\n");

    oidc_html_raw(&h, "<h2>Password</h2>\n<p>");
    oidc_html_raw(&h, v->has_password ? "Your account has a password." : "Your account has no password.");
    oidc_html_raw(&h, "</p>\n");
    if (!v->register_only) {
        oidc_html_raw(&h, "<form method=\"post\" action=\"/logout\">\n"
                          "<input type=\"hidden\" name=\"confirm\" value=\"yes\">\n"
                          "<button type=\"submit\" class=\"secondary\">Sign out</button>\n</form>\n");
    }
    return oidc_html_page_close(&h);
}

h2o_iovec_t oidc_page_totp_enrol(h2o_mem_pool_t *pool, const oidc_totp_enrol_view_t *v)
{
    oidc_html_t h;
    oidc_html_init(&h, pool);
    oidc_html_page_open(&h, "Add an authenticator app", OIDC_PAGE_SCRIPT | OIDC_PAGE_WIDE);
    oidc_html_raw(&h, "<h1>Add an authenticator app</h1>\n"
                      "<p>Scan this QR code with your authenticator app, or add the account by hand with "
                      "the link below. Then enter the 6-digit code the app shows.</p>\n");
    if (v->error != NULL) {
        oidc_html_raw(&h, "<p class=\"error\" id=\"enrol-error\" role=\"alert\">");
        oidc_html_str(&h, v->error);
        oidc_html_raw(&h, "</p>\n");
    }
    if (v->qr_svg != NULL) {
        /* A data: image (the page CSP allows img-src data:): the SVG is ours,
         * drawn by the server, and an <img> never runs anything in it. */
        size_t n = strlen(v->qr_svg);
        char *b64 = h2o_mem_alloc_pool(pool, GW_B64_LEN(n) + 1);
        gw_b64_encode((const uint8_t *)v->qr_svg, n, b64);
        oidc_html_raw(&h, "<p class=\"qr\"><img id=\"totp-qr\" width=\"240\" height=\"240\" "
                          "alt=\"QR code of the authenticator app link\" src=\"data:image/svg+xml;base64,");
        oidc_html_raw(&h, b64);
        oidc_html_raw(&h, "\"></p>\n");
    }
    oidc_html_raw(&h, "<p>Link for the app:</p>\n<p><code id=\"totp-uri\" class=\"uri\">");
    oidc_html_str(&h, v->uri);
    oidc_html_raw(&h, "</code></p>\n<form method=\"post\" action=\"" OIDC_ACCOUNT_PATH "/totp/confirm\">\n");
    common_fields(&h, v->csrf, v->request);
    oidc_html_hidden(&h, "id", v->id);
    oidc_html_raw(&h,
                  "<label for=\"code\">Code from the app</label>\n"
                  "<input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" "
                  "autocomplete=\"one-time-code\" pattern=\"[0-9 ]*\" maxlength=\"16\" required autofocus");
    if (v->error != NULL)
        oidc_html_raw(&h, " aria-describedby=\"enrol-error\"");
    oidc_html_raw(&h,
                  ">\n<button type=\"submit\">Confirm</button>\n</form>\n<p><a href=\"" OIDC_ACCOUNT_PATH);
    if (v->request != NULL) {
        oidc_html_raw(&h, "?request=");
        oidc_html_str(&h, v->request);
    }
    oidc_html_raw(&h, "\">Cancel</a></p>\n");
    return oidc_html_page_close(&h);
}
