"""A password sign-in ends the browser's previous session, as a sign-in with
a passkey or an authenticator app does (oidc/signin_finish.c), and so does a
sign-in with a Temporary Access Pass (oidc/tap_signin.c): the browser gets a
fresh cookie, and the session row of the cookie it replaced gets ended_at,
so a copy of the old cookie taken before the sign-in (another person's on a
shared computer, or a thief's) stops working at once instead of living on
until its expiry. A session that another browser holds is not touched."""

from authorize_browser import Browser, authorize_params, pkce, setup_fixtures
from harness import check, check_eq, require, run
from tap_fixture import Admin, csrf_token

COOKIE = "__Host-regain-session"


def sign_in(b, label, **extra):
    r = b.get("/authorize", authorize_params(pkce()[1], **extra))
    require("%s: the sign-in page" % label, r.status == 200, r)
    r = b.sign_in(r, "alice", "wonderland 1")
    require("%s: signed in (303)" % label, r.status == 303 and COOKIE in b.jar, r)
    return b.jar[COOKIE]


def main(env):
    srv = env.regain()
    sql = setup_fixtures(srv, env.db_url)

    def live():
        return sorted(row[0] for row in sql("select id from sessions where ended_at is null"))

    other = Browser(srv, src="127.0.0.2")
    sign_in(other, "another browser")
    other_live = live()
    require("one live session", len(other_live) == 1, other_live)

    b = Browser(srv)
    first = sign_in(b, "first sign-in")
    first_live = live()
    check_eq("two live sessions (two browsers)", len(first_live), 2)

    # prompt=login: a new sign-in in the same browser, which sends its cookie.
    second = sign_in(b, "second sign-in", prompt="login")
    check("the cookie was replaced", second != first, "")
    now_live = live()
    check_eq("the replaced cookie's session has ended; the other browser's is live",
             len(now_live), 2)
    check("... the other browser's session is one of them", other_live[0] in now_live, now_live)

    # The old cookie no longer signs anyone in: prompt=none with it alone
    # gets login_required.
    stale = Browser(srv)
    stale.jar[COOKIE] = first
    r = stale.get("/authorize", authorize_params(pkce()[1], prompt="none"))
    _, q = r.location_params()
    check_eq("the old cookie: prompt=none gets login_required", q.get("error"), "login_required")

    # The new cookie still works.
    r = b.get("/authorize", authorize_params(pkce()[1], prompt="none"))
    _, q = r.location_params()
    check("the new cookie: prompt=none gets a code", "code" in q, r)

    # A TAP sign-in in the same browser (the account page's form, which sends
    # the cookie) ends the session of the cookie it replaces too.
    second_ids = [i for i in now_live if i not in other_live]
    require("the second sign-in's session is known", len(second_ids) == 1, now_live)
    r = Admin(srv).issue("alice")
    tap = (r.json() or {}).get("temporaryAccessPass")
    require("a TAP issued for alice", r.status == 201 and tap, r.describe())
    r = b.post("/login/tap", {"tap": tap, "csrf": csrf_token(env, b.jar.get("__Host-regain-csrf", ""))})
    require("signed in with the TAP (303 to the account page)",
            r.status == 303 and r.header("location") == "/account/security", r)
    third = b.jar.get(COOKIE)
    check("the cookie was replaced again", third not in (None, second), "")
    check_eq("the TAP sign-in ended the replaced cookie's session (ended_at set)",
             sql("select ended_at is not null from sessions where id = '%s'" % second_ids[0]), [["t"]])
    check("... the other browser's session is still live", other_live[0] in live(), live())
    stale = Browser(srv)
    stale.jar[COOKIE] = second
    r = stale.get("/authorize", authorize_params(pkce()[1], prompt="none"))
    _, q = r.location_params()
    check_eq("the cookie before the TAP sign-in: prompt=none gets login_required", q.get("error"),
             "login_required")
    # The TAP session itself must register a method first (test_tap_signin.py).
    r = b.get("/authorize", authorize_params(pkce()[1], prompt="none"))
    _, q = r.location_params()
    check_eq("the TAP session's cookie: prompt=none gets interaction_required", q.get("error"),
             "interaction_required")
    srv.stop()


if __name__ == "__main__":
    run(main)
