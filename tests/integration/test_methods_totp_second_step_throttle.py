"""The codes typed after a right password (the second step, POST /login/code
with `step`) count against the account and the client address, before they
are checked, as a password and a code typed alone do (throttle_db.c).

They used to count only against their half-finished sign-in (five codes per
signin_pending row), and every right password makes a new one, while the
password itself added one to the account's counter: whoever knew the
password got five code guesses per password, 25 per lockout window with the
default limit of five, and the owner's own sign-ins reset the account's
counter. RFC 4226 §7.3: "The delay or lockout schemes MUST be across login
sessions to prevent attacks based on multiple parallel guessing
techniques."

With an account limit of three here:
  - the budget survives fresh half-finished sign-ins: a right password and
    two wrong codes use it up, and the next right password is refused
    (before, three rounds of a password and two codes checked six codes);
  - an account locked meanwhile (by wrong passwords from elsewhere) refuses
    the second step, even the right code, with the page a wrong code gets,
    audited as method.failed throttled (kind totp);
  - the address counts the codes too, and a sign-in that succeeds forgives
    the account's count and, on the address, its password and its right code:
    a wrong code on the way stays counted;
  - an account deactivated between its password and its code (the second
    step may take minutes) gets no session, even with the right code."""

from authorize_browser import Browser
from harness import check, check_eq, require, run
from methods_fixture import add_app, add_user, form_fields, plant_session, sql, step_now, totp

MAX_FAILURES = 3


def wrong(key):
    good = {totp(key, step_now() + d) for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in good)


def failed(db, user_id):
    return sql(db, "select reason, detail->>'kind' from audit_events where type = 'method.failed' "
                   "and subject_user = '%s' order by id" % user_id)


def with_app(env, srv, db, name, src):
    """A user with a password and a confirmed app; its key and confirming step."""
    uid = add_user(srv, name, name + " password 1")
    b = Browser(srv, src)
    plant_session(b, env, db, uid)
    key, step = add_app(b)
    return uid, key, step


def at_code_step(env, srv, db, name, app_src, src):
    """with_app, then a browser from `src` past the right password: the
    user, key and confirming step, that browser and the code form's fields."""
    uid, key, confirmed = with_app(env, srv, db, name, app_src)
    b = Browser(srv, src)
    r, step = password(b, name, name + " password 1")
    require("%s's right password: the code step" % name, step and step.get("step"), r)
    return uid, key, confirmed, b, step


def password(b, username, pw):
    """The account page's sign-in form with a username and password: the
    reply, and the code form's fields when it is the code step."""
    f = form_fields(b.get("/account/security").text, "/login")
    require("the sign-in form", f is not None, f)
    r = b.post("/login", dict(f, username=username, password=pw))
    return r, form_fields(r.text, "/login/code") if r.status == 200 else None


def session_set(r):
    return "__Host-regain-session" in r.set_cookies()


def refused_unchecked(db, r, whose, user_id, confirmed_step, reason):
    """`r` answered the right code of `whose` half-finished sign-in: no
    session, audited as method.failed `reason` (kind totp), and the code
    never checked (the app's last used step is still its confirming one)."""
    check("the right code on the half-finished sign-in of %s: refused, no session" % whose,
          r.status == 200 and not session_set(r), r)
    check_eq("... no code session for the user", sql(db, "select count(*) from sessions where user_id = '%s' "
                                                          "and 'otp' = any(amr)" % user_id), [["0"]])
    check_eq("... audited as method.failed %s, kind totp" % reason, failed(db, user_id)[-1], [reason, "totp"])
    check_eq("... the app's last used step did not move (the code was not checked)",
             sql(db, "select last_used_step from totp_authenticators where user_id = '%s'" % user_id),
             [[str(confirmed_step)]])


def main(env):
    srv = env.regain({"oidc": {"throttle_max_failures": MAX_FAILURES, "throttle_window_s": 600,
                               "throttle_lockout_s": 600}})
    db = env.db_url

    # ---- the budget survives a new half-finished sign-in ----------------------------------------
    ann, akey, _ = with_app(env, srv, db, "Ann", "127.0.0.70")
    x = Browser(srv, "127.0.0.71")
    rounds = 0
    for _ in range(3):
        r, step = password(x, "ANN", "Ann password 1")
        if not step or not step.get("step"):
            break
        rounds += 1
        for _ in range(2):
            x.post("/login/code", dict(step, code=wrong(akey)))
    check_eq("a right password and two wrong codes use up the account's budget of three: one round only",
             rounds, 1)
    check("... the next right password gets the failure page, no code step",
          r.status == 200 and "Sign-in failed" in r.text and not session_set(r), r)
    check_eq("... two codes checked (wrong_code), then the password refused unchecked (throttled)",
             failed(db, ann), [["wrong_code", "totp"], ["wrong_code", "totp"], ["throttled", "password"]])
    check_eq("... the account key (as the password form names it) is locked",
             sql(db, "select failures, locked_until > now() from login_throttle where key = 'user:ann'"),
             [["4", "t"]])
    check_eq("... the codes counted against the address as well",
             sql(db, "select failures from login_throttle where key = 'addr:127.0.0.71'"), [["4"]])

    # ---- an account locked meanwhile refuses the second step ------------------------------------
    bea, bkey, bstep, owner, step = at_code_step(env, srv, db, "bea", "127.0.0.72", "127.0.0.73")
    r_wrong = owner.post("/login/code", dict(step, code=wrong(bkey)))
    check("a wrong code: the code page again, no session",
          r_wrong.status == 200 and 'role="alert"' in r_wrong.text and not session_set(r_wrong), r_wrong)
    other = Browser(srv, "127.0.0.74")
    for _ in range(MAX_FAILURES + 1):  # whatever the wrong code counted
        password(other, "bea", "not her password")
    require("bea's account is locked now",
            sql(db, "select locked_until > now() from login_throttle where key = 'user:bea'") == [["t"]],
            sql(db, "select * from login_throttle where key = 'user:bea'"))
    r = owner.post("/login/code", dict(step, code=totp(bkey, bstep + 1)))
    refused_unchecked(db, r, "a locked account", bea, bstep, "throttled")
    check_eq("... the same page a wrong code gets", r.text, r_wrong.text)

    # ---- success forgives what it proved right ----------------------------------------------------
    cid, ckey, cstep, c, step = at_code_step(env, srv, db, "cid", "127.0.0.75", "127.0.0.76")
    c.post("/login/code", dict(step, code=wrong(ckey)))
    check_eq("a password and a wrong code: two on the account, two on the address",
             sql(db, "select key, failures from login_throttle where key in ('user:cid', 'addr:127.0.0.76') "
                     "order by key"), [["addr:127.0.0.76", "2"], ["user:cid", "2"]])
    r = c.post("/login/code", dict(step, code=totp(ckey, cstep + 1)))
    check_eq("the right code: signed in", (r.status, r.header("location"), session_set(r)),
             (303, "/account/security", True))
    check_eq("... the account's count is forgiven",
             sql(db, "select count(*) from login_throttle where key = 'user:cid'"), [["0"]])
    check_eq("... the address loses the password and the right code; the wrong code stays counted",
             sql(db, "select failures from login_throttle where key = 'addr:127.0.0.76'"), [["1"]])

    # ---- an account deactivated meanwhile gets no session ---------------------------------------
    dee, dkey, dstep, d, step = at_code_step(env, srv, db, "dee", "127.0.0.77", "127.0.0.78")
    sql(db, "update users set active = false where id = '%s'" % dee)
    r = d.post("/login/code", dict(step, code=totp(dkey, dstep + 1)))
    refused_unchecked(db, r, "an account deactivated since its password", dee, dstep, "account_inactive")
    srv.stop()


run(main)
