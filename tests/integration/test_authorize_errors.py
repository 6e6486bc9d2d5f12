"""The authorization endpoint's errors (OIDC Core §3.1.2.6, RFC 6749 §4.1.2.1,
RFC 9207): what must never be redirected (unknown client, redirect URI not
registered by exact match) is a 400 page without Location; everything else
goes back to the redirect URI with error, state and iss, in the response mode
asked for. Over TLS; no session needed."""

import re
import urllib.parse

from authorize_browser import REDIRECT, Browser, authorize_params, field_value, pkce, setup_fixtures
from harness import check, check_eq, run


def main(env):
    srv = env.regain()
    setup_fixtures(srv, env.db_url)
    b = Browser(srv)
    _, challenge = pkce()

    # ---- never redirected: an HTML page, 400, no Location --------------------
    def page_400(label, params):
        r = b.get("/authorize", params)
        check_eq("%s: 400" % label, r.status, 400)
        check("%s: an HTML page" % label, (r.header("content-type") or "").startswith("text/html")
              and "<h1>" in r.text, r)
        check("%s: no Location" % label, r.header("location") is None, r)
        check("%s: no-store" % label, "no-store" in (r.header("cache-control") or ""), r)
        return r

    page_400("unknown client", authorize_params(challenge, client_id="nobody"))
    page_400("missing client_id", authorize_params(challenge, client_id=None))
    page_400("malformed client_id", authorize_params(challenge, client_id="a b"))
    page_400("missing redirect_uri", authorize_params(challenge, redirect_uri=None))
    for label, uri in (("trailing slash", REDIRECT + "/"), ("different case", "https://RP.example/cb"),
                       ("different path case", "https://rp.example/CB"), ("extra query", REDIRECT + "?a=b"),
                       ("other host", "https://evil.example/cb"), ("http scheme", "http://rp.example/cb"),
                       ("fragment", REDIRECT + "#x")):
        page_400("redirect_uri mismatch (%s)" % label, authorize_params(challenge, redirect_uri=uri))
    q = urllib.parse.urlencode(authorize_params(challenge)) + "&client_id=rp1"
    r = b.get("/authorize?" + q)
    check_eq("repeated client_id: 400 page", r.status, 400)
    check("... no Location", r.header("location") is None, r)
    # Even a request that is wrong in every other way is not redirected for
    # an unknown client (the error would go to an unverified URI).
    page_400("unknown client with no PKCE", authorize_params(None, client_id="nobody", code_challenge=None))
    r = b.get("/authorize?client_id=rp1&redirect_uri=%zz")
    check_eq("an undecodable query: 400 page", r.status, 400)
    check("... no Location", r.header("location") is None, r)

    # ---- redirected errors ---------------------------------------------------
    def redirected(label, params, error, method="GET"):
        r = b.get("/authorize", params) if method == "GET" else b.post("/authorize", params)
        check_eq("%s: 303" % label, r.status, 303)
        parts, q = r.location_params()
        base = "%s://%s%s" % (parts.scheme, parts.netloc, parts.path)
        check_eq("%s: to the redirect URI" % label, base, REDIRECT)
        check_eq("%s: error" % label, q.get("error"), error)
        check("%s: error_description" % label, q.get("error_description"), q)
        check_eq("%s: state echoed" % label, q.get("state"), params.get("state"))
        check_eq("%s: iss (RFC 9207)" % label, q.get("iss"), srv.issuer)
        check("%s: no code" % label, "code" not in q, q)
        return r, q

    redirected("missing code_challenge", authorize_params(challenge, code_challenge=None), "invalid_request")
    redirected("missing code_challenge_method", authorize_params(challenge, code_challenge_method=None),
               "invalid_request")
    redirected("plain PKCE refused", authorize_params(challenge, code_challenge_method="plain"), "invalid_request")
    redirected("short code_challenge", authorize_params(challenge[:42]), "invalid_request")
    redirected("missing PKCE (POST)", authorize_params(challenge, code_challenge=None), "invalid_request",
               method="POST")
    redirected("prompt=none without a session", authorize_params(challenge, prompt="none"), "login_required")
    redirected("prompt=none login", authorize_params(challenge, prompt="none login"), "invalid_request")
    redirected("scope not allowed for the client", authorize_params(challenge, scope="openid scim"),
               "invalid_scope")
    redirected("unsupported scope", authorize_params(challenge, scope="openid foo"), "invalid_scope")
    # The API scopes are a client's own (client_credentials), never a
    # person's: refused at /authorize even for a client registered with them.
    p = srv.cli("client", "add", "--id", "api-web", "--redirect-uri", REDIRECT, "--grant-types",
                "authorization_code,client_credentials", "--scopes", "openid admin scim scim.read",
                "--auth-method", "client_secret_basic", "--json")
    check_eq("a client with the API scopes and the code grant is registered", p.returncode, 0)
    for api in ("admin", "scim", "scim.read"):
        _, q = redirected("%s at sign-in" % api, authorize_params(challenge, client_id="api-web",
                                                                  scope="openid " + api), "invalid_scope")
        check("%s at sign-in: the description says why" % api, "client_credentials" in
              (q.get("error_description") or ""), q)
    redirected("scope without openid", authorize_params(challenge, scope="profile"), "invalid_scope")
    redirected("response_type token", authorize_params(challenge, response_type="token"),
               "unsupported_response_type")
    redirected("missing response_type", authorize_params(challenge, response_type=None), "invalid_request")
    redirected("request object", authorize_params(challenge, request="eyJhbGciOiJub25lIn0.e30."),
               "request_not_supported")
    redirected("request_uri", authorize_params(challenge, request_uri="https://rp.example/req"),
               "request_uri_not_supported")
    redirected("response_mode fragment", authorize_params(challenge, response_mode="fragment"), "invalid_request")
    redirected("max_age negative", authorize_params(challenge, max_age="-1"), "invalid_request")
    redirected("claims not JSON", authorize_params(challenge, claims="{"), "invalid_request")
    redirected("claims userinfo not an object", authorize_params(challenge, claims='{"userinfo":1}'),
               "invalid_request")
    r = b.get("/authorize", authorize_params(challenge, client_id="m2m", scope="openid"))
    _, q = r.location_params()
    check_eq("a client without the code grant: unauthorized_client", q.get("error"), "unauthorized_client")
    r, q = redirected("no state", authorize_params(challenge, state=None, code_challenge=None), "invalid_request")

    # A registered redirect URI with a query keeps it (RFC 6749 §3.1.2).
    r = b.get("/authorize", authorize_params(challenge, redirect_uri=REDIRECT + "?x=1", code_challenge=None))
    check("registered URI with a query: x=1 kept, error appended",
          (r.header("location") or "").startswith(REDIRECT + "?x=1&error=invalid_request"), r)

    # ---- form_post ---------------------------------------------------------------
    r = b.get("/authorize", authorize_params(challenge, response_mode="form_post", code_challenge=None))
    check_eq("form_post error: 200 page", r.status, 200)
    check("... no Location", r.header("location") is None, r)
    check("... posts to the exact redirect URI",
          re.search(r'<form method="post"[^>]*action="%s"' % re.escape(REDIRECT), r.text), r)
    check_eq("... error", field_value(r.text, "error"), "invalid_request")
    check_eq("... state", field_value(r.text, "state"), "st-123")
    check_eq("... iss", field_value(r.text, "iss"), srv.issuer)
    check("... submitted by /static/form_post.js, no inline script",
          '<script src="/static/form_post.js"' in r.text and "<script>" not in r.text, r)
    check("... a visible submit button", '<button type="submit">' in r.text, r)
    csp = r.header("content-security-policy") or ""
    check("... the page CSP (script-src 'self')", "script-src 'self'" in csp and "unsafe-inline" not in csp, csp)
    check("... no-store", "no-store" in (r.header("cache-control") or ""), r)
    js = b.get("/static/form_post.js")
    check_eq("GET /static/form_post.js: 200", js.status, 200)
    check("... JavaScript", (js.header("content-type") or "").startswith("text/javascript"), js)
    check("... submits the form", "submit()" in js.text, js.text)

    # ---- a good request without a session: the sign-in page ----------------------
    r = b.get("/authorize", authorize_params(challenge, login_hint="alice"))
    check_eq("a good request without a session: 200 sign-in page", r.status, 200)
    rid = field_value(r.text, "request")
    check("... carries the pending request id", rid and re.fullmatch(r"[0-9a-f-]{36}", rid), r)
    check_eq("... login_hint filled in", field_value(r.text, "username"), "alice")
    check_eq("... stored nowhere yet", env_sql(env, "select count(*) from authorization_requests"), [["0"]])
    # The recovery link stores the page's box (oidc/pending.c) as the row.
    b.get("/recover", {"request": rid, "pending": field_value(r.text, "pending")})
    rows = env_sql(env, "select client_id, params->>'state', params->>'code_challenge', "
                        "expires_at > now() + interval '5 minutes' from authorization_requests where id = '%s'" % rid)
    check_eq("... its box holds the validated request", rows, [["rp1", "st-123", challenge, "t"]])

    # ---- resume edge cases ---------------------------------------------------------
    for label, path in (("no id", "/authorize/resume"), ("malformed id", "/authorize/resume?request=x'--"),
                        ("unknown id", "/authorize/resume?request=00000000-0000-4000-8000-000000000000")):
        r = b.get(path)
        check_eq("resume with %s: 400" % label, r.status, 400)
        check("... an HTML page without Location", r.header("location") is None and "<h1>" in r.text, r)
    env_sql(env, "update authorization_requests set expires_at = now() - interval '1 second' where id = '%s'" % rid)
    r = b.get("/authorize/resume?request=" + rid)
    check_eq("resume of an expired request: 400", r.status, 400)
    srv.stop()


def env_sql(env, q):
    from harness import psql

    rc, rows, err = psql(env.db_url, q)
    check("SQL ok: %s" % q[:60], rc == 0, err)
    return rows


if __name__ == "__main__":
    run(main)
