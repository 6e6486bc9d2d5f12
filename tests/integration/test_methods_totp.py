"""Authenticator apps (issue 5, RFC 6238): enrolment on the account page
(otpauth:// link and server-drawn QR code, confirmed by one valid code,
secret sealed at rest), the account page behind a recent sign-in, sign-in
with password + code (amr pwd otp mfa) and with a code alone for an account
without a password, a code accepted once (replay refused, also the
confirming code), the +-1 step window, the last method not removable unless
the config allows it, CSRF on the forms, and the audit events."""

import re

from authorize_browser import Browser
from harness import check, check_eq, require, run
from methods_fixture import (add_user, audit, form_fields, otpauth_uri, plant_session, secret_from_uri,
                             step_now, totp, sql)


def sign_in_password(b, username, password):
    """From the account page's sign-in form (no authorization request)."""
    page = b.get("/account/security")
    f = form_fields(page.text, "/login")
    require("the account page asks for a sign-in first", page.status == 200 and f is not None, page)
    check_eq("... with no authorization request", f.get("request"), "")
    return b.post("/login", {"request": "", "csrf": f["csrf"], "username": username, "password": password})


def enrol(b, name="Phone"):
    page = b.get("/account/security")
    f = form_fields(page.text, "/account/security/totp")
    require("account page has the add-app form", f is not None, page)
    f["name"] = name
    r = b.post("/account/security/totp", f)
    require("POST /account/security/totp: the enrolment page", r.status == 200, r)
    return r


def main(env):
    srv = env.regain()
    db = env.db_url
    alice = add_user(srv, "alice", "wonderland 1")

    # ---- the account page needs a sign-in, then comes back ---------------------------
    b = Browser(srv, "127.0.0.20")
    r = sign_in_password(b, "alice", "wonderland 1")
    check_eq("password sign-in without a request: 303 to the account page", (r.status, r.header("location")),
             (303, "/account/security"))
    page = b.get("/account/security")
    check("the account page lists no methods yet", page.status == 200 and "No authenticator apps yet" in page.text,
          page)
    check("... no inline script, labels present", "<script>" not in page.text and 'for="totp-name"' in page.text,
          page)

    # ---- enrolment ---------------------------------------------------------------------
    r = enrol(b)
    uri = otpauth_uri(r.text)
    require("the enrolment page shows an otpauth:// link", uri and uri.startswith("otpauth://totp/"), r)
    check("... with issuer, SHA1, 6 digits, 30 s", "issuer=" in uri and "algorithm=SHA1" in uri
          and "digits=6" in uri and "period=30" in uri, uri)
    check("... and the QR code as an SVG image", 'src="data:image/svg+xml;base64,' in r.text, r.text[:2000])
    key = secret_from_uri(uri)
    check_eq("... a 160-bit secret", len(key), 20)
    rows = sql(db, "select id, encode(secret_sealed, 'hex'), confirmed from totp_authenticators")
    require("one unconfirmed authenticator row", len(rows) == 1 and rows[0][2] == "f", rows)
    tid = rows[0][0]
    check("the secret is sealed, not stored in the clear", key.hex() not in rows[0][1]
          and len(rows[0][1]) == 2 * (20 + 28), rows[0][1])
    conf = form_fields(r.text, "/account/security/totp/confirm")
    require("the confirm form", conf is not None and conf.get("id") == tid, r)

    bad = dict(conf, code="000000" if totp(key) != "000000" else "111111")
    r2 = b.post("/account/security/totp/confirm", bad)
    check("a wrong code: the page again with an error", r2.status == 200 and 'role="alert"' in r2.text, r2)
    check_eq("... still unconfirmed", sql(db, "select confirmed from totp_authenticators"), [["f"]])
    forged = dict(conf, code=totp(key), csrf="x" * 43)
    check_eq("a wrong CSRF token: 403", b.post("/account/security/totp/confirm", forged).status, 403)

    confirm_step = step_now()
    r3 = b.post("/account/security/totp/confirm", dict(conf, code=totp(key, confirm_step)))
    check_eq("the right code: 303 back to the page", (r3.status, r3.header("location")),
             (303, "/account/security?m=totp-added"))
    rows = sql(db, "select confirmed, last_used_step >= %d from totp_authenticators" % confirm_step)
    check_eq("... confirmed, the confirming step remembered", rows, [["t", "t"]])
    ev = audit(db, "type = 'method.added'")
    check_eq("... audited: method.added totp by the user", ev, [["method.added", "success", "", "totp",
                                                                 "user:" + alice]])
    page = b.get("/account/security?m=totp-added")
    check("the page lists it with its name", "Phone" in page.text and "Your authenticator app was added" in page.text,
          page)
    ren = form_fields(page.text, "/account/security/rename")
    require("the rename form", ren is not None and ren.get("id") == tid, page)
    # The account has a password and an app now: renaming, like removing,
    # takes both (test_methods_change_strength.py), not the password alone.
    r = b.post("/account/security/rename", dict(ren, name="Work phone"))
    check_eq("rename from the password session: m=stronger-first", r.header("location"),
             "/account/security?m=stronger-first")
    bm = Browser(srv, "127.0.0.27")
    plant_session(bm, env, db, alice, purpose="full", acr="urn:regain:acr:mfa")
    ren = form_fields(bm.get("/account/security").text, "/account/security/rename")
    require("the rename form in a password-and-app session", ren is not None and ren.get("id") == tid, ren)
    r = bm.post("/account/security/rename", dict(ren, name="Work phone"))
    check_eq("rename: 303 back with m=renamed", r.header("location"), "/account/security?m=renamed")
    check_eq("... stored", sql(db, "select name from totp_authenticators"), [["Work phone"]])
    check_eq("... audited", audit(db, "type = 'method.renamed'"),
             [["method.renamed", "success", "", "totp", "user:" + alice]])
    r = bm.post("/account/security/rename", dict(ren, name="x" * 65))
    check_eq("a name over 64 characters: 400", r.status, 400)
    r = bm.post("/account/security/rename", dict(ren, id="00000000-0000-4000-8000-000000000000"))
    check_eq("renaming a method that is not the user's: m=gone", r.header("location"), "/account/security?m=gone")

    # ---- sign-in: password, then the code -------------------------------------------------
    b2 = Browser(srv, "127.0.0.21")
    r = sign_in_password(b2, "alice", "wonderland 1")
    check("right password: the code page, not a session", r.status == 200 and 'name="code"' in r.text
          and "__Host-regain-session" not in r.set_cookies(), r)
    check("... the code field is a one-time-code field",
          re.search(r'<input[^>]*name="code"[^>]*autocomplete="one-time-code"', r.text), r)
    step = form_fields(r.text, "/login/code")
    require("... with the step token", step and re.fullmatch(r"[A-Za-z0-9_-]{43}", step.get("step", "")), r)
    replay = b2.post("/login/code", dict(step, code=totp(key, confirm_step)))
    check("the code used to confirm cannot sign in (replay)", replay.status == 200
          and "__Host-regain-session" not in replay.set_cookies(), replay)
    nxt = totp(key, confirm_step + 1)  # the window's next step is accepted now
    ok = b2.post("/login/code", dict(step, code=nxt))
    check_eq("the next step's code: 303 to the account page", (ok.status, ok.header("location")),
             (303, "/account/security"))
    check("... a session cookie", "__Host-regain-session" in ok.set_cookies(), ok)
    rows = sql(db, "select amr::text, acr from sessions where user_id = '%s' and ended_at is null "
                   "order by created_at desc limit 1" % alice)
    check_eq("... amr pwd otp mfa, acr mfa", rows, [["{pwd,otp,mfa}", "urn:regain:acr:mfa"]])
    check_eq("... the pending sign-in is gone", sql(db, "select count(*) from signin_pending"), [["0"]])

    # the same code again, in another browser after another right password
    b3 = Browser(srv, "127.0.0.22")
    r = sign_in_password(b3, "alice", "wonderland 1")
    step3 = form_fields(r.text, "/login/code")
    again = b3.post("/login/code", dict(step3, code=nxt))
    check("a code works once: the same code again is refused", again.status == 200
          and "__Host-regain-session" not in again.set_cookies() and 'role="alert"' in again.text, again)
    far = totp(key, step_now() + 3)
    far_r = b3.post("/login/code", dict(step3, code=far))
    check("a code three steps ahead is outside the window", far_r.status == 200
          and "__Host-regain-session" not in far_r.set_cookies(), far_r)
    for _ in range(4):
        b3.post("/login/code", dict(step3, code="000000"))
    late = b3.post("/login/code", dict(step3, code=totp(key, confirm_step + 2)))
    check("after five tries the half-finished sign-in is gone", late.status == 200
          and "__Host-regain-session" not in late.set_cookies() and "expired" in late.text, late)
    used = audit(db, "type = 'method.used' and detail->>'kind' = 'totp'")
    check_eq("one method.used event for the one code sign-in", len(used), 1)

    # ---- a code alone is not enough where there is a password -----------------------------
    b4 = Browser(srv, "127.0.0.23")
    page = b4.get("/account/security")
    f = form_fields(page.text, "/login/code")
    require("the sign-in page has the code-only form", f is not None, page)
    r = b4.post("/login/code", dict(f, username="alice", code=totp(key, confirm_step + 2)))
    check("code alone for an account with a password: refused", r.status == 200
          and "__Host-regain-session" not in r.set_cookies() and "Sign-in failed" in r.text, r)
    r2 = b4.post("/login/code", dict(f, username="nobody", code="123456"))
    norm = lambda t, u: t.replace('value="%s"' % u, 'value=""')
    check("... the same page as for an unknown user", norm(r.text, "alice") == norm(r2.text, "nobody"),
          "%s\n---\n%s" % (r.text, r2.text))

    # ---- an account without a password: code alone; the last method stays --------------
    bob = add_user(srv, "bob")
    bb = Browser(srv, "127.0.0.24")
    plant_session(bb, env, db, bob, purpose="register_method")
    r = enrol(bb, "Bob's phone")
    bkey = secret_from_uri(otpauth_uri(r.text))
    conf = form_fields(r.text, "/account/security/totp/confirm")
    r = bb.post("/account/security/totp/confirm", dict(conf, code=totp(bkey)))
    check_eq("a TAP session registers an app: 303", r.status, 303)
    check_eq("... and the session becomes a full one (session_method_registered)",
             sql(db, "select purpose from sessions where user_id = '%s'" % bob), [["full"]])
    page = bb.get("/account/security")
    rem = form_fields(page.text, "/account/security/remove")
    require("the remove form", rem is not None and rem.get("kind") == "totp", page)
    r = bb.post("/account/security/remove", rem)
    check_eq("removing the last method: refused (303 with m=last)", r.header("location"),
             "/account/security?m=last")
    check_eq("... it is still there", sql(db, "select count(*) from totp_authenticators where user_id = '%s'" % bob),
             [["1"]])
    ev = audit(db, "type = 'method.removed'")
    check_eq("... audited as a failure with reason last_method", ev,
             [["method.removed", "failure", "last_method", "totp", "user:" + bob]])
    check("... the page says why", "cannot be removed" in bb.get("/account/security?m=last").text, "")
    bad = dict(rem, csrf="A" * 43)
    check_eq("remove with a wrong CSRF token: 403", bb.post("/account/security/remove", bad).status, 403)

    bc = Browser(srv, "127.0.0.25")
    page = bc.get("/account/security")
    f = form_fields(page.text, "/login/code")
    r = bc.post("/login/code", dict(f, username="Bob", code=totp(bkey, step_now() + 1)))
    check_eq("code alone for an account without a password: 303", (r.status, r.header("location")),
             (303, "/account/security"))
    rows = sql(db, "select amr::text, acr from sessions where user_id = '%s' order by created_at desc limit 1" % bob)
    check_eq("... amr otp", rows, [["{otp}", "urn:regain:acr:password"]])

    # ---- an old sign-in must sign in again -------------------------------------------------
    old = Browser(srv, "127.0.0.26")
    plant_session(old, env, db, alice, age_s=3600)
    page = old.get("/account/security")
    check("a sign-in an hour old: the sign-in page again", page.status == 200
          and form_fields(page.text, "/login") is not None and "sign in again" in page.text, page)

    # ---- the config can allow removing the last method -------------------------------------
    srv.stop()
    srv2 = env.regain({"oidc": {"allow_remove_last_method": True}}, migrate=False)
    bb.srv = srv2
    page = bb.get("/account/security")
    rem = form_fields(page.text, "/account/security/remove")
    r = bb.post("/account/security/remove", rem)
    check_eq("with allow_remove_last_method the last method goes", r.header("location"),
             "/account/security?m=removed")
    ev = audit(db, "type = 'method.removed' and outcome = 'success'")
    check_eq("... audited", [e[:4] for e in ev], [["method.removed", "success", "", "totp"]])
    srv2.stop()


run(main)
