"""Signing in with a Temporary Access Pass (issue 6): POST /login/tap over TLS
from a browser-like client (cookies, CSRF), with the TAP typed in any case,
with or without separators.

A TAP session has amr ["tap"] and purpose 'register_method': it lands on the
account security page, /authorize sends it back there (and prompt=none gets
interaction_required) until a method is registered, then the pending request
continues; no code, access token, ID token or refresh token outlives the TAP.
One-time vs multi-use; not yet valid; lockout per account (the TAP is locked
and audited) and per client address; revocation ends the waiting session;
every outcome is audited; the TAP never appears in the server's logs."""

import os
import re
import urllib.parse
import uuid

import tokens_fixture
from harness import check, check_eq, run
from tap_fixture import (REDIRECT, Admin, Browser, add_client, add_user, authorize_path, csrf_token, hidden,
                         jwt_claims, now, pkce, sql)

ADDR_MAX = 8


def wrong_tap():
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(alphabet[b % 31] for b in os.urandom(16))


def redirected_to(r, path):
    loc = r.header("location") or ""
    return r.status in (302, 303) and urllib.parse.urlsplit(loc).path == path


def main(env):
    srv = env.regain({"oidc": {"throttle_addr_max_failures": ADDR_MAX, "throttle_window_s": 600,
                               "throttle_lockout_s": 600, "session_ttl_s": 7200, "access_token_ttl_s": 86400,
                               "id_token_ttl_s": 86400, "refresh_token_ttl_s": 2592000}})
    admin = Admin(srv)
    users = {n: add_user(env, n) for n in ("alice", "bob", "carol", "dave", "erin", "frank", "gina")}
    add_client(env, "rp1")
    add_client(env, "rp-code-only", grants="{authorization_code}")
    secrets = []

    def issue(name, body=None):
        r = admin.issue(name, body or {})
        b = r.json() or {}
        check("TAP issued for %s" % name, r.status == 201, r.describe())
        secrets.append(b.get("temporaryAccessPass", ""))
        return b

    # ---- a one-time TAP, typed loosely, without a pending request --------------------------
    t = issue("alice")
    typed = " " + t["temporaryAccessPass"].replace("-", "").lower()[:8] + " " + \
        t["temporaryAccessPass"].replace("-", "").lower()[8:] + " "
    b1 = Browser(env, srv, "127.0.0.21")
    r = b1.post("/login/tap", {"tap": typed, "csrf": "x" * 43})
    check_eq("a wrong CSRF token: 403", r.status, 403)
    check("... and no session", b1.session() is None, r)
    r = b1.post("/login/tap", {"tap": typed, "csrf": csrf_token(env, b1.jar["__Host-regain-csrf"],
                                                             context=str(uuid.uuid4()))})
    check_eq("a token bound to another request: 403", r.status, 403)
    r = b1.sign_in_tap(typed)
    check("lower case with spaces, no dashes: 303 to /account/security",
          r.status == 303 and r.header("location") == "/account/security", r)
    sc = r.set_cookies().get("__Host-regain-session")
    max_age = [int(a.split("=")[1]) for a in (sc[1] if sc else []) if a.lower().startswith("max-age=")]
    check("... a session cookie living at most 10 minutes (one-time TAP)",
          sc and max_age and 0 < max_age[0] <= 600, r.set_cookies())
    rows = sql(env, "SELECT purpose, amr::text, acr, tap_id, extract(epoch FROM expires_at - now())::int "
                    "FROM sessions WHERE user_id = '%s'" % users["alice"])
    check("... the session: purpose register_method, amr {tap}, acr urn:regain:acr:tap, its tap_id",
          rows and rows[0][:4] == ["register_method", "{tap}", "urn:regain:acr:tap", t["id"]], rows)
    check("... expiring within 10 minutes", rows and 0 < int(rows[0][4]) <= 600, rows)
    ev = admin.events(user=users["alice"], type="tap.used")
    check("tap.used is audited with the session and the browser",
          len(ev) == 1 and ev[0]["detail"].get("tapId") == t["id"] and ev[0]["userAgent"] == "tap-browser/1"
          and ev[0]["clientAddress"] == "127.0.0.21", ev)
    b2 = Browser(env, srv, "127.0.0.22")
    r = b2.sign_in_tap(t["temporaryAccessPass"])
    check("the one-time TAP a second time: the failure page, no session",
          r.status == 200 and "not valid" in r.text and b2.session() is None, r)
    ev = admin.events(user=users["alice"], type="tap.failed")
    check("... tap.failed, reason used", len(ev) == 1 and ev[0]["reason"] == "used", ev)
    r = admin.call("GET", admin.taps_path("alice", t["id"]))
    check("the admin sees OneTimeUsed", (r.json() or {}).get("methodUsabilityReason") == "OneTimeUsed", r.describe())
    r = b2.sign_in_tap("")
    check("an empty TAP: asked to enter one", r.status == 200 and "Enter your Temporary Access Pass" in r.text, r)

    # ---- a relying party's request: the session is kept from it until a method exists -------
    t = issue("bob", {"lifetimeInMinutes": 10})
    bob = Browser(env, srv, "127.0.0.23")
    verifier, challenge = pkce()
    page = bob.get(authorize_path("rp1", challenge))
    rid = hidden(page.text, "request")
    check("/authorize without a session shows the sign-in page with the request", page.status == 200 and rid, page)
    r = bob.sign_in_tap(t["temporaryAccessPass"], rid, pending=hidden(page.text, "pending"))
    check("TAP sign-in with the request: 303 to /account/security?request=ID",
          r.status == 303 and r.header("location") == "/account/security?request=" + rid, r)
    r = bob.get("/authorize/resume?request=" + rid)
    check("resume before a method is registered: back to /account/security?request=ID, no code",
          redirected_to(r, "/account/security") and "request=" + rid in (r.header("location") or "")
          and "code=" not in (r.header("location") or ""), r)
    r = bob.get(authorize_path("rp1", challenge))
    loc = r.header("location") or ""
    check("a new /authorize: to /account/security with a new pending request",
          redirected_to(r, "/account/security") and re.search(r"request=[0-9a-f-]{36}", loc) and rid not in loc, r)
    r = bob.get(authorize_path("rp1", challenge, {"prompt": "none"}))
    loc = r.header("location") or ""
    check("prompt=none: interaction_required to the relying party",
          r.status in (302, 303) and loc.startswith(REDIRECT) and "error=interaction_required" in loc, r)
    sid = sql(env, "SELECT id FROM sessions WHERE user_id = '%s'" % users["bob"])[0][0]
    rows = sql(env, "SELECT count(*) FROM authorization_codes WHERE session_id = '%s'" % sid)
    check_eq("no code was stored for the waiting session", rows[0][0], "0")
    # A code stored for the waiting session, whatever path stored it, buys
    # nothing: the exchange refuses it (schema/037), both the one that may
    # store a refresh token (rp1) and the one-statement take (rp-code-only).
    for client in ("rp1", "rp-code-only"):
        code, code_verifier = tokens_fixture.add_code(env, client, users["bob"], sid)
        r = tokens_fixture.token(srv, tokens_fixture.code_form(code, code_verifier, client))
        check("%s: a code of the waiting session is refused at the token endpoint (invalid_grant)" % client,
              r.status == 400 and (r.json() or {}).get("error") == "invalid_grant"
              and "access_token" not in (r.json() or {}), r.describe())
    rows = sql(env, "SELECT count(*) FROM refresh_tokens WHERE session_id = '%s'" % sid)
    check_eq("... and no refresh token was stored for it", rows[0][0], "0")

    # The account security page registers a method (sign-in methods area):
    rows = sql(env, "SELECT session_method_registered('%s')" % sid)
    check_eq("session_method_registered lifts the session", rows[0][0], "t")
    r = bob.get("/authorize/resume?request=" + rid)
    loc = r.header("location") or ""
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query).get("code", [None])[0]
    check("after the method is registered, resume continues to the relying party with a code",
          r.status in (302, 303) and loc.startswith(REDIRECT) and code, r)
    tap_exp = int(sql(env, "SELECT extract(epoch FROM expires_at)::bigint FROM taps WHERE id = '%s'" % t["id"])[0][0])
    r = __import__("harness").curl(
        "--http2", "-k", "-X", "POST", "-H", "content-type: application/x-www-form-urlencoded", "--data-binary",
        urllib.parse.urlencode({"grant_type": "authorization_code", "code": code or "", "redirect_uri": REDIRECT,
                                "code_verifier": verifier, "client_id": "rp1"}), srv.https("/token"))
    tok = r.json() or {}
    check("the code is redeemed", r.status == 200 and tok.get("access_token") and tok.get("refresh_token"),
          r.describe())
    if tok.get("access_token"):
        at, idt = jwt_claims(tok["access_token"]), jwt_claims(tok["id_token"])
        check("the access token expires with the TAP, not in 24 hours",
              at["exp"] <= tap_exp and tok.get("expires_in", 99999) <= 600, (at, tap_exp))
        check("the ID token too, and says amr tap", idt["exp"] <= tap_exp and idt.get("amr") == ["tap"], idt)
        rows = sql(env, "SELECT extract(epoch FROM expires_at)::bigint FROM refresh_tokens WHERE session_id = '%s'"
                   % sid)
        check("the refresh token expires with the TAP, not in 30 days", rows and int(rows[0][0]) <= tap_exp, rows)
        # Time passes: the TAP is over.
        sql(env, "UPDATE taps SET start_at = start_at - interval '1 hour', expires_at = expires_at - interval '1 hour'"
                 " WHERE id = '%s'" % t["id"])
        sql(env, "UPDATE refresh_tokens SET expires_at = expires_at - interval '1 hour' WHERE session_id = '%s'"
            % sid)
        r = __import__("harness").curl(
            "--http2", "-k", "-X", "POST", "-H", "content-type: application/x-www-form-urlencoded", "--data-binary",
            urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": tok["refresh_token"],
                                    "client_id": "rp1"}), srv.https("/token"))
        check("after the TAP expired the refresh token is refused",
              r.status == 400 and (r.json() or {}).get("error") == "invalid_grant", r.describe())
        refresh_before = sql(env, "SELECT count(*) FROM refresh_tokens WHERE session_id = '%s'" % sid)[0][0]
        for client in ("rp1", "rp-code-only"):
            code, code_verifier = tokens_fixture.add_code(env, client, users["bob"], sid)
            r = tokens_fixture.token(srv, tokens_fixture.code_form(code, code_verifier, client))
            check("%s: after the TAP expired, a code of its session is refused (invalid_grant)" % client,
                  r.status == 400 and (r.json() or {}).get("error") == "invalid_grant", r.describe())
        check_eq("... and no refresh token was stored for them",
                 sql(env, "SELECT count(*) FROM refresh_tokens WHERE session_id = '%s'" % sid)[0][0], refresh_before)

    # ---- multi-use --------------------------------------------------------------------------
    r = admin.call("PUT", "/admin/v1/policies/temporaryAccessPass", {"isUsableOnce": False})
    check_eq("policy now allows multi-use TAPs", r.status, 200)
    t = issue("carol", {"isUsableOnce": False, "lifetimeInMinutes": 60})
    ok = 0
    for i in range(3):
        b = Browser(env, srv, "127.0.0.%d" % (30 + i))
        if i == 2:  # a form token bound to "" (no request) is accepted as well as to the account context
            r = b.post("/login/tap", {"tap": t["temporaryAccessPass"],
                                      "csrf": csrf_token(env, b.jar["__Host-regain-csrf"], context="")})
        else:
            r = b.sign_in_tap(t["temporaryAccessPass"])
        ok += r.status == 303 and b.session() is not None
    check_eq("a multi-use TAP signs in three times", ok, 3)
    rows = sql(env, "SELECT max(extract(epoch FROM expires_at - now()))::int, count(*) FROM sessions "
                    "WHERE tap_id = '%s'" % t["id"])
    check("... its sessions last past 10 minutes but not past the TAP (60 < session_ttl 120 minutes)",
          rows and 600 < int(rows[0][0]) <= 3600 and rows[0][1] == "3", rows)
    rows = sql(env, "SELECT use_count FROM taps WHERE id = '%s'" % t["id"])
    check_eq("... use_count 3", rows[0][0], "3")

    # ---- not yet valid --------------------------------------------------------------------------
    import time
    t = issue("dave", {"startDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now() + 3600))})
    b = Browser(env, srv, "127.0.0.40")
    r = b.sign_in_tap(t["temporaryAccessPass"])
    check("a TAP before its start: refused", r.status == 200 and b.session() is None, r)
    ev = admin.events(user=users["dave"], type="tap.failed")
    check("... tap.failed, reason not_yet_valid", ev and ev[0]["reason"] == "not_yet_valid", ev)

    # ---- lockout per account ------------------------------------------------------------------------
    t = issue("erin")
    b = Browser(env, srv, "127.0.0.41")
    for i in range(5):
        r = b.sign_in_tap(wrong_tap(), username="erin")
    check("five wrong TAPs for erin: each refused", r.status == 200 and b.session() is None, r)
    rows = sql(env, "SELECT failures, locked_at IS NOT NULL FROM taps WHERE id = '%s'" % t["id"])
    check_eq("... counted on erin's TAP, which is locked", rows[0], ["5", "t"])
    ev = admin.events(user=users["erin"], type="tap.locked")
    check("... tap.locked audited once", len(ev) == 1 and ev[0]["detail"].get("tapId") == t["id"], ev)
    ev = admin.events(user=users["erin"], type="tap.failed")
    check("... five tap.failed events, reason invalid", len(ev) == 5 and all(e["reason"] == "invalid" for e in ev), ev)
    r = Browser(env, srv, "127.0.0.42").sign_in_tap(t["temporaryAccessPass"])
    check("the right TAP after the lock: refused", r.status == 200 and "not valid" in r.text, r)
    r = admin.call("GET", admin.taps_path("erin", t["id"]))
    check("the admin sees Locked", (r.json() or {}).get("methodUsabilityReason") == "Locked", r.describe())

    # A wrong TAP on a relying party's request counts against its login_hint.
    t = issue("gina")
    g = Browser(env, srv, "127.0.0.43")
    page = g.get(authorize_path("rp1", challenge, {"login_hint": "gina"}))
    rid = hidden(page.text, "request")
    g.sign_in_tap(wrong_tap(), rid, pending=hidden(page.text, "pending"))
    rows = sql(env, "SELECT failures FROM taps WHERE id = '%s'" % t["id"])
    check_eq("a wrong TAP with login_hint=gina counts on gina's TAP", rows[0][0], "1")
    r = g.sign_in_tap(t["temporaryAccessPass"], rid)
    check("... the right one still works", r.status == 303, r)

    # ---- lockout per address ------------------------------------------------------------------------
    t = issue("frank")
    b = Browser(env, srv, "127.0.0.50")
    for i in range(ADDR_MAX):
        b.sign_in_tap(wrong_tap())
    r = b.sign_in_tap(t["temporaryAccessPass"])
    check("after %d wrong TAPs from one address even a right TAP is refused there" % ADDR_MAX,
          r.status == 200 and b.session() is None, r)
    ev = admin.events(type="tap.address_locked")
    check("... the address lock is audited", ev and ev[0]["clientAddress"] == "127.0.0.50", ev)
    ev = admin.events(type="tap.failed", limit=1)
    check("... the refusal: tap.failed, reason throttled", ev and ev[0]["reason"] == "throttled", ev)
    other = Browser(env, srv, "127.0.0.51")
    r = other.sign_in_tap(t["temporaryAccessPass"])
    check("from another address the TAP works", r.status == 303 and other.session() is not None, r)

    # ---- revocation ends the waiting session -----------------------------------------------------
    sid = sql(env, "SELECT id FROM sessions WHERE tap_id = '%s'" % t["id"])[0][0]
    r = admin.call("DELETE", admin.taps_path("frank", t["id"]))
    check_eq("revoking frank's TAP: 204", r.status, 204)
    rows = sql(env, "SELECT ended_at IS NOT NULL FROM sessions WHERE id = '%s'" % sid)
    check_eq("... ends the session still waiting on it", rows[0][0], "t")
    page = other.get(authorize_path("rp1", challenge))
    check("... so /authorize asks to sign in again", page.status == 200 and hidden(page.text, "request"), page)

    # ---- the TAP never in the logs -------------------------------------------------------------------
    secrets = [s for s in secrets if s]
    srv.stop()
    logs = srv.stderr() + open(srv.stdout_path, errors="replace").read()
    norm = [s.replace("-", "") for s in secrets]
    leaked = [s for s in secrets + norm + [n.lower() for n in norm] if s in logs]
    check("no TAP appears in the server's logs (%d TAPs, %d bytes of log)" % (len(secrets), len(logs)),
          not leaked and len(secrets) == 7 and "signed in with a TAP" in logs, leaked)


if __name__ == "__main__":
    run(main)
