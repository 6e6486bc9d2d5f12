/* The stylesheet of every page, compiled in so the binary needs no data files
 * and the pages need no inline style (their Content-Security-Policy forbids
 * it). Served at /static/regain.css with a day of caching: it changes only
 * with a release. */
#include "oidc/signin_internal.h"

static const char CSS[] =
    ":root{color-scheme:light dark;--fg:#1b1f24;--bg:#f4f5f7;--card:#fff;--muted:#57606a;--line:#c4c9d0;"
    "--accent:#0b57d0;--accent-fg:#fff;--err-bg:#fdecea;--err-fg:#8a1c12}\n"
    "@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--bg:#15181c;--card:#1f2328;--muted:#9aa3ad;"
    "--line:#444c56;--accent:#8ab4f8;--accent-fg:#0b1a33;--err-bg:#3b1714;--err-fg:#ffb4ab}}\n"
    "*,*::before,*::after{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\n"
    "body{margin:0;min-height:100vh;display:flex;align-items:flex-start;justify-content:center;"
    "padding:2rem 1rem;background:var(--bg);color:var(--fg);"
    "font:1rem/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}\n"
    ".card{width:100%;max-width:24rem;background:var(--card);border:1px solid var(--line);"
    "border-radius:.75rem;padding:1.5rem}\n"
    "h1{font-size:1.5rem;margin:0 0 1rem}\n"
    "p{margin:0 0 1rem}\n"
    "form{display:flex;flex-direction:column;gap:.25rem}\n"
    "label{font-weight:600;margin-top:.5rem}\n"
    /* 16px inputs: mobile Safari zooms into anything smaller on focus. */
    "input{font:inherit;font-size:1rem;width:100%;padding:.625rem .75rem;border:1px solid var(--line);"
    "border-radius:.5rem;background:var(--card);color:var(--fg)}\n"
    "input:focus-visible,button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}\n"
    "button{font:inherit;font-weight:600;margin-top:1rem;min-height:2.75rem;padding:.625rem 1rem;border:0;"
    "border-radius:.5rem;background:var(--accent);color:var(--accent-fg);cursor:pointer}\n"
    ".error{background:var(--err-bg);color:var(--err-fg);border-radius:.5rem;padding:.75rem}\n"
    /* Sign-in methods: the account page is a little wider; secondary and
     * destructive buttons; other ways to sign in folded in <details>. */
    ".card.wide{max-width:36rem}\n"
    "h2{font-size:1.125rem;margin:1.5rem 0 .5rem}\n"
    "button.secondary{background:transparent;color:var(--accent);border:1px solid var(--accent)}\n"
    "button.danger{background:transparent;color:var(--err-fg);border:1px solid "
    "var(--err-fg);margin-top:.5rem}\n"
    ".alt{display:flex;flex-direction:column;margin-top:1rem}\n"
    ".alt[hidden]{display:none}\n"
    ".notice{background:var(--bg);border-left:4px solid var(--accent);padding:.75rem}\n"
    ".status{color:var(--muted);min-height:1.5rem;margin-top:.5rem}\n"
    ".meta{color:var(--muted);font-size:.875rem}\n"
    "ul.methods{list-style:none;margin:0 0 1rem;padding:0}\n"
    "ul.methods li{border:1px solid var(--line);border-radius:.5rem;padding:.75rem;margin-bottom:.75rem}\n"
    "ul.methods li p{margin:0 0 .5rem}\n"
    "form.row{flex-direction:row;flex-wrap:wrap;align-items:flex-end;gap:.5rem}\n"
    "form.row input{flex:1 1 10rem;width:auto}\n"
    "form.row button{margin-top:0}\n"
    "details{margin-top:1rem;border-top:1px solid var(--line);padding-top:.75rem}\n"
    "summary{cursor:pointer;color:var(--accent);font-weight:600}\n"
    "code.uri{display:block;word-break:break-all;font-size:.8125rem;color:var(--muted)}\n"
    /* recovery: the provider choice and the TAP shown once */
    "label.choice{display:flex;align-items:center;gap:.5rem;font-weight:400}\n"
    "label.choice input{width:auto;margin:0}\n"
    "fieldset{border:1px solid var(--line);border-radius:.5rem;padding:.5rem .75rem}\n"
    "p.tap output{display:block;font:600 1.375rem/1.4 ui-monospace,monospace;letter-spacing:.06em;"
    "text-align:center;padding:.75rem;border:1px dashed var(--line);border-radius:.5rem}\n"
    ".qr img{display:block;width:15rem;height:15rem;max-width:100%;background:#fff;border-radius:.5rem}\n"
    ".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);"
    "white-space:nowrap}\n";

static void on_css(gw_req_t *r)
{
    gw_reply_header(r, "cache-control", H2O_STRLIT("public, max-age=86400"));
    gw_reply(r, 200, "text/css; charset=utf-8", CSS, sizeof(CSS) - 1);
}

static gw_route_t g_css = {"/static/regain.css", GW_GET, 0, on_css, "static", NULL, 0};

void oidc_static_register(void)
{
    gw_route_register(&g_css);
}
