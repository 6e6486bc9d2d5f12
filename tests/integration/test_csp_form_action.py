"""The form-action of each page names where its forms lead, in a syntax
browsers take.

Browsers check form-action on a form's target and (Chromium, WebKit) on
every redirect that answers the form, so a page whose form ends at the
relying party (the sign-in page's 303 after POST /login, /login/code,
/login/tap; the code step; the authenticator app set-up page of a pending
request; the form_post page; the sign-out confirmation with a post-logout
URI) must allow the redirect URI's origin. It used to list
`http://[::1]:*`, which is no CSP source expression (CSP3 §2.3.1: host-char =
ALPHA / DIGIT / "-"), so browsers dropped it and a client registered with
http://[::1]/cb (RFC 8252 §7.3) never got its answer. Now each of those pages
has form-action 'self' plus that one origin, and for an IPv6 literal, which
no host-source can name, the scheme ("http:"). tests/browser/loopback_ipv6
shows the same in Chromium.
  - sign-in page for https://rp.example/cb: 'self' https://rp.example;
  - for http://127.0.0.1:PORT/cb: 'self' http://127.0.0.1:PORT;
  - for http://[::1]:PORT/cb: 'self' http:, also when the page comes back
    after a wrong password (the request's box) and from GET /login (the
    stored row);
  - the form_post page (answer and error) for [::1]: 'self' http:;
  - the code step and the app set-up page of a [::1] request: 'self' http:;
  - the sign-out confirmation with post_logout_redirect_uri http://[::1]:
    'self' http:; without one, and the account sign-in page: the default;
  - the other directives never change, and no policy spells [::1]."""

import re
import urllib.parse

from authorize_browser import REDIRECT, Browser, authorize_params, field_value, pkce, setup_fixtures
from harness import check, check_eq, require, run
from methods_fixture import add_app, add_user, form_fields, otpauth_uri, secret_from_uri, step_now, totp

PORT = 4321
V6 = "http://[::1]:%d/cb" % PORT
V4 = "http://127.0.0.1:%d/cb" % PORT
HEAD = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'")
TAIL = "; frame-ancestors 'none'; base-uri 'none'"
DEFAULT = HEAD + " https: http://localhost:* http://127.0.0.1:*" + TAIL
seen = []


def policy_is(label, r, want):
    csp = r.header("content-security-policy") or ""
    seen.append(csp)
    check_eq("%s: content-security-policy" % label, csp, want)


def native(challenge, redirect_uri=V6, **extra):
    return authorize_params(challenge, client_id="native", redirect_uri=redirect_uri, scope="openid", **extra)


def main(env):
    srv = env.regain()
    sql = setup_fixtures(srv, env.db_url)
    sql("insert into clients (id, name, token_endpoint_auth_method, grant_types, scopes, redirect_uris, "
        "post_logout_redirect_uris) values ('native', 'Native app', 'none', '{authorization_code}', '{openid}', "
        "'{http://[::1]/cb,http://127.0.0.1/cb}', '{http://[::1]/bye}')")
    _, challenge = pkce()

    # ---- the sign-in page ----------------------------------------------------------------------
    b = Browser(srv, "127.0.0.70")
    page = b.get("/authorize", authorize_params(challenge))
    require("rp1: the sign-in page", page.status == 200 and field_value(page.text, "request"), page)
    policy_is("sign-in page for %s" % REDIRECT, page, HEAD + " https://rp.example" + TAIL)
    page = b.get("/authorize", native(challenge, V4))
    policy_is("sign-in page for %s" % V4, page, HEAD + " http://127.0.0.1:%d" % PORT + TAIL)
    page = b.get("/authorize", native(challenge))
    require("native [::1]: the sign-in page", page.status == 200 and field_value(page.text, "request"), page)
    policy_is("sign-in page for %s" % V6, page, HEAD + " http:" + TAIL)
    rid = field_value(page.text, "request")
    r = b.sign_in(page, "alice", "not her password")
    check("a wrong password: the page again", r.status == 200 and field_value(r.text, "request") == rid, r)
    policy_is("... from the request's box", r, HEAD + " http:" + TAIL)
    r = b.get("/login", {"request": rid})
    check_eq("GET /login?request=<stored>: 200", r.status, 200)
    policy_is("... from the stored request", r, HEAD + " http:" + TAIL)

    # ---- answers: query, form_post, a form_post error ------------------------------------------
    page = b.get("/authorize", native(challenge))
    r = b.sign_in(page, "alice", "wonderland 1")
    check("query: a 303 to the [::1] redirect URI with a code",
          r.status == 303 and (r.header("location") or "").startswith(V6 + "?code="), r)
    fb = Browser(srv, "127.0.0.71")
    page = fb.get("/authorize", native(challenge, response_mode="form_post"))
    r = fb.sign_in(page, "alice", "wonderland 1")
    check("form_post: the page posting to the [::1] redirect URI",
          r.status == 200 and re.search(r'<form method="post" id="form_post" action="%s"' % re.escape(V6), r.text),
          r)
    policy_is("form_post page for %s" % V6, r, HEAD + " http:" + TAIL)
    r = fb.get("/authorize", native(challenge, response_mode="form_post", code_challenge=None))
    check("form_post error: a page posting invalid_request",
          r.status == 200 and field_value(r.text, "error") == "invalid_request", r)
    policy_is("form_post error page for %s" % V6, r, HEAD + " http:" + TAIL)
    r = fb.get("/authorize", authorize_params(challenge, response_mode="form_post"))
    policy_is("form_post page for %s (a session already)" % REDIRECT, r, HEAD + " https://rp.example" + TAIL)

    # ---- the sign-out confirmation ---------------------------------------------------------------
    # Registered exactly (RP-Initiated Logout §3: no loopback port leeway).
    r = fb.get("/logout", {"client_id": "native", "post_logout_redirect_uri": "http://[::1]/bye"})
    check("sign-out with a [::1] post-logout URI: the confirmation page",
          r.status == 200 and '<form method="post" action="/logout">' in r.text, r)
    policy_is("... allows http:", r, HEAD + " http:" + TAIL)
    r = fb.get("/logout")
    check_eq("sign-out without one: the confirmation page", r.status, 200)
    policy_is("... the default policy", r, DEFAULT)

    # ---- the code step of a [::1] request --------------------------------------------------------
    add_user(srv, "tia", "tia password 1")
    tb = Browser(srv, "127.0.0.72")
    acct = tb.get("/login")
    policy_is("the account's own sign-in page: the default policy", acct, DEFAULT)
    r = tb.post("/login", dict(form_fields(acct.text, "/login"), username="tia", password="tia password 1"))
    require("tia signs in to the account page", r.status == 303, r)
    key, _ = add_app(tb)
    tb.jar.pop("__Host-regain-session", None)
    page = tb.get("/authorize", native(challenge))
    r = tb.sign_in(page, "tia", "tia password 1")
    step = form_fields(r.text, "/login/code")
    require("tia's password: the code step", r.status == 200 and step and step.get("step"), r)
    policy_is("the code step of a [::1] request", r, HEAD + " http:" + TAIL)
    valid = {totp(key, s) for s in range(step_now() - 2, step_now() + 3)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in valid)
    r = tb.post("/login/code", dict(step, code=wrong))
    check("a wrong code: the code step again", r.status == 200 and form_fields(r.text, "/login/code"), r)
    policy_is("... with the same policy", r, HEAD + " http:" + TAIL)

    # ---- the app set-up page of a [::1] request (acr asks for more than a password) ----------
    add_user(srv, "uma", "uma password 1")
    ub = Browser(srv, "127.0.0.73")
    page = ub.get("/authorize", native(challenge, acr_values="urn:regain:acr:mfa"))
    rid = field_value(page.text, "request")
    r = ub.sign_in(page, "uma", "uma password 1")
    require("uma's password: to the account page to add a method",
            r.status == 303 and "request=" + rid in (r.header("location") or ""), r)
    page = ub.follow(r)
    f = form_fields(page.text, "/account/security/totp")
    require("the add-app form keeps the request", f is not None and f.get("request") == rid, page)
    r = ub.post("/account/security/totp", dict(f, name="Phone"))
    require("the set-up page", r.status == 200 and otpauth_uri(r.text), r)
    policy_is("the app set-up page of a [::1] request", r, HEAD + " http:" + TAIL)
    conf = form_fields(r.text, "/account/security/totp/confirm")
    key = secret_from_uri(otpauth_uri(r.text))
    r = ub.post("/account/security/totp/confirm", dict(conf, code=totp(key, step_now())))
    check_eq("... whose form goes on to the request", (r.status, r.header("location")),
             (303, "/authorize/resume?request=" + rid))

    check("no policy names [::1]", seen and not any("[" in csp for csp in seen), seen)
    srv.stop()


if __name__ == "__main__":
    run(main)
