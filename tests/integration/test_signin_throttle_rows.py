"""The failed-attempt counters (login_throttle) stay bounded. Every password
or code sign-in attempt upserts a row per account name and per address, and
an attempt from an address that is already locked is cheap (no Argon2id, no
code check), so without a clean-up one client could grow the table without
end by typing a new made-up name each time. Each failed attempt now also
removes a few rows whose window has passed and that are not locked: those hold
nothing, since the next attempt on such a key starts a fresh window anyway
(throttle_db.c). So do a TAP sign-in's address counters ('tap-addr:'), which
have the same window and lockout. Keys still in their window, and locked
keys, stay."""

import time

from authorize_browser import Browser, authorize_params, pkce, setup_fixtures
from harness import check, check_eq, require, run
from methods_fixture import form_fields

WINDOW_S = 1


def main(env):
    srv = env.regain({"oidc": {"throttle_window_s": WINDOW_S, "throttle_max_failures": 2,
                               "throttle_addr_max_failures": 3, "throttle_lockout_s": 120}})
    sql = setup_fixtures(srv, env.db_url)

    def count(pattern):
        return int(sql("select count(*) from login_throttle where key like '%s'" % pattern)[0][0])

    b = Browser(srv, src="127.0.0.21")
    page = b.get("/authorize", authorize_params(pkce()[1]))
    require("the sign-in page", page.status == 200, page)
    form = {k: v for k, v in (form_fields(page.text, "/login") or {}).items() if k not in ("username", "password")}
    code_form = form_fields(page.text, "/login/code")
    require("the code-only form", code_form is not None, page)

    # An account locked by three failures (over its limit of two).
    for _ in range(3):
        b.post("/login", dict(form, username="victim", password="guess"))
    rows = sql("select locked_until > now() from login_throttle where key = 'user:victim'")
    require("the account key is locked", rows == [["t"]], rows)

    # Made-up names, by password and by code; the address locks on the way.
    for i in range(12):
        b.post("/login", dict(form, username="junk%d" % i, password="x"))
        b.post("/login/code", dict(code_form, username="junkcode%d" % i, code="123456"))
    check_eq("one row per made-up name", count("user:junk%"), 24)
    rows = sql("select locked_until > now() from login_throttle where key = 'addr:127.0.0.21'")
    require("the address is locked", rows == [["t"]], rows)

    # A TAP sign-in's address counters: one whose window has passed, one locked.
    sql("insert into login_throttle (key, failures, window_start, locked_until) values "
        "('tap-addr:192.0.2.7', 2, now() - interval '1 hour', NULL), "
        "('tap-addr:192.0.2.8', 9, now() - interval '1 hour', now() + interval '1 hour')")

    time.sleep(WINDOW_S + 1.5)
    # Two attempts, one of each kind, after the window: each removes up to
    # 16 rows whose window has passed.
    b.post("/login", dict(form, username="fresh1", password="x"))
    b.post("/login/code", dict(code_form, username="fresh2", code="123456"))
    check_eq("the made-up names' rows are gone", count("user:junk%"), 0)
    check_eq("the new attempts' rows are there", count("user:fresh%"), 2)
    check_eq("the TAP address counter whose window passed is gone", count("tap-addr:192.0.2.7"), 0)
    check_eq("the locked TAP address counter stays", count("tap-addr:192.0.2.8"), 1)
    check_eq("the locked account's row stays", count("user:victim"), 1)
    rows = sql("select failures, locked_until > now() from login_throttle where key = 'addr:127.0.0.21'")
    check("the locked address's row stays, still locked", len(rows) == 1 and rows[0][1] == "t", rows)
    srv.stop()


if __name__ == "__main__":
    run(main)
