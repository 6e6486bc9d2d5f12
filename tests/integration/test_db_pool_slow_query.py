"""A query stuck behind a lock does not hold up the queries after it.

Each loop sends its queries to the first of its connections that keeps up
(gateway/store_pick.c), so that PostgreSQL backends run queries back to back
instead of each waking for one. A connection whose oldest query has waited
a moment is passed over. Here one loop with two connections: a SCIM list of
users waits for a lock another session holds on the users table; /readyz,
asked meanwhile, must be answered on the other connection at once, not
after the lock goes."""

import subprocess
import threading
import time

from harness import SLOW, check, check_eq, curl, psql, require, run, wait_until
from scim_provisioning import scim_token

HOLD_S = 4 * SLOW  # how long the other session holds the lock
READY_S = 1 * SLOW  # what five /readyz may take together


def lock_holders(db_url):
    rc, rows, _ = psql(db_url, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                               "WHERE c.relname = 'users' AND l.mode = 'AccessExclusiveLock' AND l.granted")
    return rc == 0 and rows == [["1"]]


def waiting_for_lock(db_url):
    rc, rows, _ = psql(db_url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    return rc == 0 and rows and rows[0][0] != "0"


def main(env):
    srv = env.regain({"server": {"threads": 1},
                      "database": {"pool_size": 2, "query_timeout_ms": int((HOLD_S + 30) * 1000)}})
    token = scim_token(srv)
    users = srv.https("/scim/v2/Users?count=1")
    r = curl("--http2", "-k", "-H", "authorization: Bearer " + token, users)
    require("SCIM list answers before the lock", r.status == 200, r.describe())

    locker = subprocess.Popen(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", env.db_url, "-c",
         "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(%.1f); COMMIT;" % HOLD_S],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        require("the other session holds the lock", wait_until(lambda: lock_holders(env.db_url), 5 * SLOW))
        stuck = {}

        def list_users():
            stuck["r"] = curl("--http2", "-k", "-H", "authorization: Bearer " + token, users, timeout=HOLD_S + 30)

        t = threading.Thread(target=list_users)
        t.start()
        require("the SCIM list waits for the lock", wait_until(lambda: waiting_for_lock(env.db_url), 5 * SLOW))

        t0 = time.time()
        codes = [curl("--http1.1", srv.http("/readyz")).status for _ in range(5)]
        took = time.time() - t0
        held = locker.poll() is None
        check_eq("5 x /readyz while a query waits for a lock", codes, [200] * 5)
        check("... answered at once (%.2f s, bound %.1f s), the lock still held" % (took, READY_S),
              took < READY_S and held, "took %.2f s; lock held: %s" % (took, held))

        t.join(HOLD_S + 40)
        r = stuck.get("r")
        check("the waiting SCIM list answers 200 once the lock goes", r is not None and r.status == 200,
              r.describe() if r else "no answer")
    finally:
        if locker.poll() is None:
            locker.wait(HOLD_S + 30)
    check_eq("the locking session ended cleanly", locker.returncode, 0)
    srv.stop()


if __name__ == "__main__":
    run(main)
