"""The whole Temporary Access Pass journey over HTTP (issue 6), through the
real pages: an administrator issues a TAP; the person opens a relying
party's sign-in, uses the page's own TAP form (its CSRF token and request
field), lands on the account security page, cannot reach the relying party
yet, registers an authenticator app there (the sign-in methods' page lifts
the session), and is sent on to the relying party with a code; the tokens
expire with the TAP; each step is in the audit log, in order. The same
from the account page alone (no relying party). The browser version with a
passkey is tests/browser/tap.test.mjs."""

import re
import urllib.parse

from harness import check, check_eq, curl, require, run
from methods_fixture import form_fields, otpauth_uri, secret_from_uri, totp
from tap_fixture import REDIRECT, Admin, Browser, add_client, add_user, authorize_path, jwt_claims, pkce, sql


def main(env):
    srv = env.regain({"oidc": {"access_token_ttl_s": 86400, "refresh_token_ttl_s": 2592000}})
    admin = Admin(srv)
    pat = add_user(env, "pat")
    add_client(env, "rp1")

    r = admin.issue("pat", {"lifetimeInMinutes": 30})
    tap = (r.json() or {}).get("temporaryAccessPass")
    tap_id = (r.json() or {}).get("id")
    require("the administrator issues a TAP", r.status == 201 and tap, r.describe())

    b = Browser(env, srv, "127.0.0.61")
    b.jar.clear()  # a real browser: the page sets the CSRF cookie
    verifier, challenge = pkce()
    page = b.get(authorize_path("rp1", challenge))
    f = form_fields(page.text, "/login/tap")
    require("the relying party's sign-in page has a TAP form", page.status == 200 and f is not None, page)
    rid = f.get("request")
    check("... for the pending request, with a CSRF token", re.fullmatch(r"[0-9a-f-]{36}", rid or "") and f.get("csrf"),
          f)
    f["tap"] = tap.lower().replace("-", " ")
    r = b.post("/login/tap", f)
    check_eq("the page's TAP form signs in: 303 to the account page with the request",
             (r.status, r.header("location")), (303, "/account/security?request=" + rid))
    page = b.get("/account/security?request=" + rid)
    check("the account page asks to add a method first",
          page.status == 200 and "You can use your account once you have one" in page.text, page)
    r = b.get("/authorize/resume?request=" + rid)
    check("the relying party is out of reach until then",
          r.status == 303 and (r.header("location") or "").startswith("/account/security"), r)

    # Register an authenticator app on the page.
    f = form_fields(page.text, "/account/security/totp")
    require("the page offers to add an authenticator app", f is not None, page)
    r = b.post("/account/security/totp", dict(f, name="Phone"))
    uri = otpauth_uri(r.text)
    conf = form_fields(r.text, "/account/security/totp/confirm")
    require("the enrolment page shows the otpauth URI and a confirm form", uri and conf is not None, r)
    key = secret_from_uri(uri)
    r = b.post("/account/security/totp/confirm", dict(conf, code=totp(key)))
    check_eq("confirming the app continues the pending request", (r.status, r.header("location")),
             (303, "/authorize/resume?request=" + rid))
    rows = sql(env, "SELECT purpose FROM sessions WHERE tap_id = '%s'" % tap_id)
    check_eq("the session is now full", rows, [["full"]])
    r = b.get(r.header("location"))
    loc = r.header("location") or ""
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query).get("code", [None])[0]
    check("resume now returns to the relying party with a code", loc.startswith(REDIRECT) and code, r)
    r = curl("--http2", "-k", "-X", "POST", "-H", "content-type: application/x-www-form-urlencoded",
             "--data-binary", urllib.parse.urlencode({"grant_type": "authorization_code", "code": code or "",
                                                      "redirect_uri": REDIRECT, "code_verifier": verifier,
                                                      "client_id": "rp1"}), srv.https("/token"))
    tok = r.json() or {}
    check("the relying party redeems the code", r.status == 200 and tok.get("id_token"), r.describe())
    tap_exp = int(sql(env, "SELECT extract(epoch FROM expires_at)::bigint FROM taps WHERE id = '%s'" % tap_id)[0][0])
    if tok.get("id_token"):
        idt = jwt_claims(tok["id_token"])
        check("the ID token: the user, amr tap, acr urn:regain:acr:tap, expiring with the TAP",
              idt.get("sub") == pat and idt.get("amr") == ["tap"] and idt.get("acr") == "urn:regain:acr:tap"
              and idt["exp"] <= tap_exp, idt)
        check("the access token expires with the TAP", jwt_claims(tok["access_token"])["exp"] <= tap_exp, tok)

    ev = admin.events(user=pat, limit=50)
    types = [e["type"] for e in reversed(ev)]
    check("the audit log tells the story in order: issued, used, method added",
          types[:2] == ["tap.issued", "tap.used"] and any(t.startswith("method.") for t in types[2:]), types)

    # ---- from the account page alone ---------------------------------------------------
    quinn = add_user(env, "quinn")
    r = admin.issue("quinn")
    tap = (r.json() or {}).get("temporaryAccessPass", "")
    c = Browser(env, srv, "127.0.0.62")
    c.jar.clear()
    page = c.get("/account/security")
    f = form_fields(page.text, "/login/tap")
    require("the account page's sign-in has a TAP form", page.status == 200 and f is not None, page)
    check_eq("... without a request", f.get("request"), "")
    r = c.post("/login/tap", dict(f, tap="WRONG-WRONG-WRONG"))
    check("a wrong TAP: the account sign-in again, with the message",
          r.status == 200 and "not valid" in r.text and form_fields(r.text, "/login/tap") is not None, r)
    f = form_fields(r.text, "/login/tap") or f
    r = c.post("/login/tap", dict(f, tap=tap))
    check_eq("the TAP signs in to the account page", (r.status, r.header("location")), (303, "/account/security"))
    page = c.get("/account/security")
    check("... which offers to add a method", page.status == 200 and "once you have one" in page.text, page)
    check("quinn's TAP was used once", sql(env, "SELECT use_count FROM taps WHERE user_id = '%s'" % quinn) == [["1"]],
          "")


if __name__ == "__main__":
    run(main)
