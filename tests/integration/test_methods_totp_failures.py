"""Refused authenticator app codes are audited (issue 5, issue 6's "every
failed use"): method.failed with outcome failure and a reason, against the
account, with the client address (and user agent):
  - wrong_code: a wrong code after a right password, and a wrong code typed
    alone for an account without a password;
  - too_many_attempts: a code for a half-finished sign-in that already took
    five (recorded by the statement that counted the attempt);
  - no_code_sign_in: a code alone for an account that has a password;
  - throttled: a code alone once the account is locked (recorded by the
    statement that counted the attempt);
and a name that is nobody's records nothing. The pages stay the same."""

from authorize_browser import Browser
from harness import check, check_eq, require, run
from methods_fixture import add_app, add_user, form_fields, plant_session, step_now, totp, sql

# Above a password and the five codes of one half-finished sign-in, which
# count against the account too: here the half-finished sign-in's own limit
# refuses the sixth code (the account's limit for the second step:
# test_methods_totp_second_step_throttle.py).
MAX_FAILURES = 7


def failed(db, user_id):
    return sql(db, "select outcome, reason, detail->>'kind', actor, host(client_addr) "
                   "from audit_events where type = 'method.failed' and subject_user = '%s' order by id" % user_id)


def enrol_confirmed(b, key_out):
    key_out.append(add_app(b)[0])


def wrong(key):
    good = {totp(key, step_now() + d) for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in good)


def main(env):
    srv = env.regain({"oidc": {"throttle_max_failures": MAX_FAILURES, "throttle_window_s": 600,
                               "throttle_lockout_s": 600}})
    db = env.db_url
    alice = add_user(srv, "alice", "wonderland 1")
    bob = add_user(srv, "bob")
    keys = []
    a = Browser(srv, "127.0.0.60")
    plant_session(a, env, db, alice)
    enrol_confirmed(a, keys)
    b = Browser(srv, "127.0.0.61")
    plant_session(b, env, db, bob, purpose="register_method")
    enrol_confirmed(b, keys)
    akey, bkey = keys
    check_eq("no method.failed before any wrong code", sql(db, "select count(*) from audit_events "
                                                                "where type = 'method.failed'"), [["0"]])

    # ---- a wrong code after a right password ----------------------------------------------
    br = Browser(srv, "127.0.0.62")
    page = br.get("/account/security")
    f = form_fields(page.text, "/login")
    r = br.post("/login", dict(f, username="alice", password="wonderland 1"))
    step = form_fields(r.text, "/login/code")
    require("the code step", step and step.get("step"), r)
    r = br.post("/login/code", dict(step, code=wrong(akey)))
    check("a wrong code: the code page again, no session", r.status == 200 and 'role="alert"' in r.text
          and "__Host-regain-session" not in r.set_cookies(), r)
    ev = failed(db, alice)
    check_eq("... method.failed, reason wrong_code, kind totp, anonymous, with the client address",
             ev, [["failure", "wrong_code", "totp", "anonymous", "127.0.0.62"]])
    for _ in range(4):  # five codes in all: the half-finished sign-in is spent
        br.post("/login/code", dict(step, code=wrong(akey)))
    r = br.post("/login/code", dict(step, code=totp(akey)))
    check("the sixth code, even a right one: expired, no session", r.status == 200 and "expired" in r.text
          and "__Host-regain-session" not in r.set_cookies(), r)
    reasons = [e[1] for e in failed(db, alice)]
    check_eq("... five wrong_code events, then too_many_attempts", reasons, ["wrong_code"] * 5 + ["too_many_attempts"])

    # ---- a code alone: an account without a password ---------------------------------------
    bc = Browser(srv, "127.0.0.63")
    page = bc.get("/account/security")
    cf = form_fields(page.text, "/login/code")
    require("the code-only form", cf is not None, page)
    r_bob = bc.post("/login/code", dict(cf, username="bob", code=wrong(bkey)))
    check("a wrong code alone: the failure page, no session", r_bob.status == 200 and "Sign-in failed" in r_bob.text
          and "__Host-regain-session" not in r_bob.set_cookies(), r_bob)
    check_eq("... method.failed wrong_code against bob", [e[:4] for e in failed(db, bob)],
             [["failure", "wrong_code", "totp", "anonymous"]])

    # ---- a code alone for an account with a password ------------------------------------------
    r_alice = bc.post("/login/code", dict(cf, username="ALICE", code=totp(akey)))
    check("a code alone for alice (who has a password): refused", r_alice.status == 200
          and "__Host-regain-session" not in r_alice.set_cookies(), r_alice)
    check_eq("... method.failed no_code_sign_in against alice", failed(db, alice)[-1][1], "no_code_sign_in")

    # ---- nobody's name: nothing to audit, the same page ---------------------------------------
    before = sql(db, "select count(*) from audit_events where type = 'method.failed'")
    r_nobody = bc.post("/login/code", dict(cf, username="nobody", code="123456"))
    check_eq("a name that is nobody's records nothing",
             sql(db, "select count(*) from audit_events where type = 'method.failed'"), before)
    norm = lambda t, u: t.replace('value="%s"' % u, 'value=""')
    check("... and gets the same page as bob's wrong code", norm(r_nobody.text, "nobody") == norm(r_bob.text, "bob"),
          "%s\n---\n%s" % (r_nobody.text, r_bob.text))

    # ---- throttled: audited by the statement that counted -----------------------------------------
    bt = Browser(srv, "127.0.0.64")
    page = bt.get("/account/security")
    tf = form_fields(page.text, "/login/code")
    for _ in range(MAX_FAILURES):
        bt.post("/login/code", dict(tf, username="bob", code=wrong(bkey)))
    r = bt.post("/login/code", dict(tf, username="bob", code=totp(bkey)))
    check("over the limit even the right code is refused", r.status == 200
          and "__Host-regain-session" not in r.set_cookies(), r)
    ev = failed(db, bob)
    check_eq("... the refusal is method.failed, reason throttled", ev[-1][:2], ["failure", "throttled"])
    # bob's account counter: one wrong code above, then MAX_FAILURES here:
    # the attempt over MAX_FAILURES (the last wrong one here) and the right
    # code are refused unchecked.
    check_eq("... each code checked is a wrong_code, each refused unchecked is throttled", [e[1] for e in ev],
             ["wrong_code"] * MAX_FAILURES + ["throttled"] * 2)
    rows = sql(db, "select count(*) from audit_events where type = 'method.failed' and subject_user is null")
    check_eq("no method.failed event without an account", rows, [["0"]])
    srv.stop()


run(main)
