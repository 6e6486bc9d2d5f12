"""RFC 9700 (OAuth 2.0 Security Best Current Practice) negative tests that
the per-area files do not already cover, each through the real flow: codes
come from /authorize + the sign-in form, clients and users from the CLI.

Already covered elsewhere (not repeated here):
  redirect URI mismatch -> error page, no redirect   test_authorize_errors.py
  missing / plain / short PKCE at /authorize          test_authorize_errors.py
  prompt=none without a session (login_required, iss) test_authorize_errors.py
  wrong / missing code_verifier, code replay (refresh
  token revoked), code of another client, other
  redirect_uri, expired code                          test_token_code.py
  bad client secret (401 + WWW-Authenticate)          test_clients_auth.py, test_token_client_credentials.py
  refresh token reuse (family revoked)                test_token_refresh.py
  open redirect on logout                             test_logout.py
  sign-in CSRF, POST /login 303                       test_signin_password.py

Here:
  §4.2.4 / RFC 6749 §4.1.2  a replayed code also kills the first exchange's
                            access token (userinfo 401, introspection inactive)
  §4.5 (one-time codes)     one code redeemed concurrently: exactly one wins
  §2.1.1                    PKCE is required of confidential clients too
  §2.1.1 / RFC 7636 §4.6    the S256 challenge as the verifier ("plain") fails
  §4.8.2 PKCE downgrade     a code cannot exist without a challenge (schema)
  §2.1.2                    implicit and hybrid response types refused
  §4.12 307 redirect        POST /authorize answers 303, not 307
  §4.16 clickjacking        sign-in and logout pages refuse framing
  §4.2.4 referrer leakage   the sign-in page sets a restrictive Referrer-Policy
  session fixation          a planted session cookie is not adopted
  client authentication     a confidential client's code needs the secret"""

import json
import threading

from authorize_browser import Browser, field_value, pkce
from harness import SLOW, check, check_eq, regain_bin, require, run, sh
from tokens_fixture import post, sql, token

REDIRECT = "https://rp.example/cb"
POST_LOGOUT = "https://rp.example/bye"
PASSWORD = "queen of hearts 7"


def auth_params(challenge, client="conf", **extra):
    p = {"client_id": client, "redirect_uri": REDIRECT, "response_type": "code",
         "scope": "openid profile offline_access", "state": "s-1", "nonce": "n-1",
         "code_challenge": challenge, "code_challenge_method": "S256"}
    for k, v in extra.items():
        if v is None:
            p.pop(k, None)
        else:
            p[k] = v
    return p


def main(env):
    srv = env.regain()

    def client(cid, auth="client_secret_basic"):
        p = srv.cli("client", "add", "--id", cid, "--redirect-uri", REDIRECT, "--post-logout-redirect-uri",
                    POST_LOGOUT, "--grant-types", "authorization_code,refresh_token",
                    "--scopes", "openid profile email offline_access", "--auth-method", auth, "--json")
        require("client add %s" % cid, p.returncode == 0, p.stderr)
        return json.loads(p.stdout).get("client_secret")

    conf = ("conf", client("conf"))
    other = ("other", client("other"))
    p = sh([regain_bin(), "user", "add", "--username", "alice", "--password-stdin", "--config", srv.config_path],
           input=PASSWORD + "\n", timeout=60 * SLOW)
    require("user add alice", p.returncode == 0, p.stderr)

    b = Browser(srv)

    def flow(client_id="conf", method="GET", **extra):
        """Runs /authorize (signing in when asked); returns (code, verifier)."""
        verifier, challenge = pkce()
        params = auth_params(challenge, client_id, **extra)
        r = b.get("/authorize", params) if method == "GET" else b.post("/authorize", params)
        if r.status == 200 and field_value(r.text, "request"):
            r = b.sign_in(r, "alice", PASSWORD)
            require("sign-in: 303", r.status == 303, r)
            r = b.follow(r)
        _, q = r.location_params()
        require("a code at the redirect URI", r.status == 303 and q.get("code"), r)
        return q["code"], verifier

    def code_form(code, verifier):
        return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}

    def bearer(path, at):
        return post(srv, path, [], extra=["-H", "authorization: Bearer " + at])

    # ---- session fixation: a planted cookie is replaced at sign-in ----------
    planted = "A" * 43
    b.jar["__Host-regain-session"] = planted
    code, verifier = flow()
    check("a planted session cookie is replaced at sign-in",
          b.jar.get("__Host-regain-session") not in (None, planted), b.jar)

    # ---- replay: the first exchange's access token dies too ---------------------
    r = token(srv, code_form(code, verifier), auth=conf)
    require("real code: 200 with tokens", r.status == 200 and (r.json() or {}).get("access_token"), r.describe())
    at, rt = r.json()["access_token"], r.json().get("refresh_token")
    check_eq("its access token works at /userinfo", bearer("/userinfo", at).status, 200)
    r = token(srv, code_form(code, verifier), auth=conf)
    check_eq("replayed real code: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")
    r = bearer("/userinfo", at)
    check_eq("after the replay the first access token is refused at /userinfo (401)", r.status, 401)
    r = post(srv, "/introspect", [("token", at)], auth=conf)
    check_eq("... and introspects inactive", (r.json() or {}).get("active"), False)
    r = token(srv, {"grant_type": "refresh_token", "refresh_token": rt or "x"}, auth=conf)
    check_eq("... and its refresh token is refused", (r.json() or {}).get("error"), "invalid_grant")

    # ---- one code, redeemed by 8 requests at once: exactly one wins -------------
    code, verifier = flow()
    results = [None] * 8
    start = threading.Barrier(len(results))

    def redeem(i):
        start.wait()
        results[i] = token(srv, code_form(code, verifier), auth=conf)

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    check_eq("8 concurrent redemptions of one code: one 200, seven 400", statuses, [200] + [400] * 7)
    check("... the losers get invalid_grant",
          all((r.json() or {}).get("error") == "invalid_grant" for r in results if r.status == 400),
          [r.body[:100] for r in results])

    # ---- PKCE for confidential clients; no plain downgrade ----------------------
    verifier, challenge = pkce()
    r = b.get("/authorize", auth_params(challenge, code_challenge=None, code_challenge_method=None))
    _, q = r.location_params()
    check("confidential client without PKCE: invalid_request at the redirect URI, no code",
          r.status == 303 and q.get("error") == "invalid_request" and "code" not in q, r)
    code, verifier = flow()
    _, challenge = pkce()
    r = token(srv, code_form(code, challenge), auth=conf)
    check("a verifier that is not the S256 preimage (a plain-method guess) fails",
          (r.json() or {}).get("error") == "invalid_grant", r.describe())
    rows = sql(env, "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'authorization_codes' "
                    "AND column_name = 'code_challenge'")
    check_eq("PKCE downgrade impossible: authorization_codes.code_challenge is NOT NULL", rows, [["NO"]])

    # ---- client authentication is not optional for a confidential client -------
    code, verifier = flow()
    r = token(srv, dict(code_form(code, verifier), client_id="conf"))
    check_eq("a confidential client's code with client_id only: 401", r.status, 401)
    check_eq("... invalid_client", (r.json() or {}).get("error"), "invalid_client")
    r = token(srv, code_form(code, verifier), auth=other)
    check_eq("... another client's valid credentials: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")

    # ---- implicit and hybrid flows are not offered ------------------------------
    for rt_ in ("token", "id_token", "id_token token", "code id_token", "code token", "code id_token token"):
        verifier, challenge = pkce()
        r = b.get("/authorize", auth_params(challenge, response_type=rt_))
        loc = r.header("location") or ""
        _, q = r.location_params()
        check("response_type=%s: unsupported_response_type in the query, no token, no code" % rt_.replace(" ", "+"),
              r.status == 303 and q.get("error") == "unsupported_response_type" and "#" not in loc
              and "code" not in q and "access_token" not in loc and "id_token=" not in loc, r)

    # ---- POST /authorize with a session: 303, never 307 -------------------------
    verifier, challenge = pkce()
    r = b.post("/authorize", auth_params(challenge))
    check_eq("POST /authorize with a session: 303 See Other (RFC 9700 §4.12)", r.status, 303)

    # ---- framing and referrer of the pages --------------------------------------
    def frame_denied(r):
        xfo = (r.header("x-frame-options") or "").lower()
        csp = (r.header("content-security-policy") or "").lower().replace("  ", " ")
        return xfo in ("deny", "sameorigin") or "frame-ancestors 'none'" in csp or "frame-ancestors 'self'" in csp

    fresh = Browser(srv)
    verifier, challenge = pkce()
    page = fresh.get("/authorize", auth_params(challenge))
    require("a fresh browser gets the sign-in page", page.status == 200, page)
    check("sign-in page refuses framing (X-Frame-Options / frame-ancestors)", frame_denied(page), page.headers)
    ref = (page.header("referrer-policy") or "").lower()
    check("sign-in page Referrer-Policy keeps the URL on this origin", ref in (
        "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"), page.headers)
    r = b.get("/logout", {"client_id": "conf", "post_logout_redirect_uri": POST_LOGOUT})
    check_eq("logout without id_token_hint: a confirmation page", r.status, 200)
    check("logout confirmation page refuses framing", frame_denied(r), r.headers)
    srv.stop()


if __name__ == "__main__":
    run(main)
