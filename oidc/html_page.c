/* The skeleton every server-rendered page shares: the document head, the
 * card the content sits in, and hidden form fields. One place, so the
 * sign-in, account and recovery pages cannot drift apart in what they send
 * (charset, viewport, referrer policy, stylesheet). No inline script or
 * style: the page Content-Security-Policy (gateway/http.c) allows only
 * same-origin files. */
#include <string.h>

#include "oidc/signin_internal.h"

void oidc_html_page_open(oidc_html_t *h, const char *title, unsigned flags)
{
    /* HTML Living Standard §4.2.5.4 (charset first, within 1024 bytes); the
     * viewport meta makes the form readable on a phone (CSS Device Adaptation). */
    oidc_html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
    oidc_html_str(h, title);
    oidc_html_raw(h, " \xe2\x80\x93 regain</title>\n<link rel=\"stylesheet\" href=\"/static/regain.css\">\n");
    /* Passkeys need a script; it is a same-origin file, and every form works
     * without it. */
    if (flags & OIDC_PAGE_SCRIPT)
        oidc_html_raw(h, "<script src=\"/static/passkey.js\" defer></script>\n");
    oidc_html_raw(h, (flags & OIDC_PAGE_WIDE) ? "</head>\n<body>\n<main class=\"card wide\">\n"
                                              : "</head>\n<body>\n<main class=\"card\">\n");
}

h2o_iovec_t oidc_html_page_close(oidc_html_t *h)
{
    oidc_html_raw(h, "</main>\n</body>\n</html>\n");
    return h2o_iovec_init(h->buf, h->len);
}

void oidc_html_hidden(oidc_html_t *h, const char *name, const char *value)
{
    oidc_html_raw(h, "<input type=\"hidden\" name=\"");
    oidc_html_str(h, name);
    oidc_html_raw(h, "\" value=\"");
    oidc_html_str(h, value != NULL ? value : "");
    oidc_html_raw(h, "\">\n");
}
