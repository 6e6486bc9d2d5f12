"""A one-time Temporary Access Pass redeemed 50 times at once (issue 6): each
attempt is a separate TLS connection from its own thread, all connected
first and released together by a barrier, so the POSTs reach the server in
the same instant. Exactly one sign-in may win, every round: one 303 with a
session cookie, one session row, one tap.used event, and 49 refusals audited
as tap.failed with reason `used` (the losers knew the TAP: not counted as
guesses, so the address is not locked). Repeated for several fresh TAPs."""

import http.client
import threading
import urllib.parse

from harness import SLOW, check, check_eq, run
from tap_fixture import CTX, Admin, Browser, add_user, sql

ROUNDS = 5
N = 50


def attempt(srv, form, cookies, barrier, out, i):
    conn = http.client.HTTPSConnection("127.0.0.1", srv.tls_port, context=CTX, timeout=60 * SLOW)
    try:
        conn.connect()
        body = urllib.parse.urlencode(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Cookie": "; ".join("%s=%s" % kv for kv in cookies.items())}
        barrier.wait(timeout=60 * SLOW)
        conn.request("POST", "/login/tap", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        cookie = any(k.lower() == "set-cookie" and v.startswith("__Host-regain-session=") and "Max-Age=0" not in v
                     for k, v in resp.getheaders())
        out[i] = (resp.status, cookie)
    except Exception as e:  # reported as a failed attempt below
        out[i] = ("error", repr(e))
    finally:
        conn.close()


def main(env):
    srv = env.regain({"server": {"threads": 2}, "database": {"pool_size": 4}})
    admin = Admin(srv)
    user = add_user(env, "racer")
    for rnd in range(ROUNDS):
        r = admin.issue("racer")
        tap = (r.json() or {}).get("temporaryAccessPass")
        tap_id = (r.json() or {}).get("id")
        check("round %d: a one-time TAP issued" % rnd, r.status == 201 and tap, r.describe())
        browsers = [Browser(env, srv, "127.0.0.1") for _ in range(N)]
        forms = [b.tap_form(tap) for b in browsers]
        barrier = threading.Barrier(N)
        out = [None] * N
        threads = [threading.Thread(target=attempt, args=(srv, forms[i], browsers[i].jar, barrier, out, i))
                   for i in range(N)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120 * SLOW)
        wins = [o for o in out if o and o[0] == 303 and o[1]]
        refused = [o for o in out if o and o[0] == 200 and not o[1]]
        check_eq("round %d: exactly 1 of %d concurrent sign-ins wins" % (rnd, N), len(wins), 1)
        check_eq("round %d: the other %d are refused (no session cookie)" % (rnd, N - 1), len(refused), N - 1)
        if len(wins) + len(refused) != N:
            check("round %d: every attempt answered" % rnd, False, out)
        rows = sql(env, "SELECT count(*) FROM sessions WHERE tap_id = '%s'" % tap_id)
        check_eq("round %d: one session row for the TAP" % rnd, rows[0][0], "1")
        rows = sql(env, "SELECT use_count FROM taps WHERE id = '%s'" % tap_id)
        check_eq("round %d: use_count 1" % rnd, rows[0][0], "1")
        rows = sql(env, "SELECT type, reason, count(*) FROM audit_events WHERE detail->>'tapId' = '%s' "
                        "AND type IN ('tap.used', 'tap.failed') GROUP BY 1, 2 ORDER BY 1" % tap_id)
        check_eq("round %d: audited as 49 tap.failed (used) and 1 tap.used" % rnd, rows,
                 [["tap.failed", "used", str(N - 1)], ["tap.used", "", "1"]])
    rows = sql(env, "SELECT count(*) FROM login_throttle WHERE key LIKE 'tap-addr:%'")
    check_eq("losing a race is no guess: no address counter", rows[0][0], "0")
    check("every round ran", user is not None)


if __name__ == "__main__":
    run(main)
