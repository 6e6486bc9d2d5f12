"""A query stuck behind a lock does not hold up the queries after it.

Each loop sends its queries to the first of its connections that keeps up
(gateway/store_pick.c), so that PostgreSQL backends run queries back to back
instead of each waking for one. A connection whose backend has been on one
query for a moment, or that runs a search, is passed over. Here one loop
with two connections, twice: a SCIM read of one user (a prepared statement)
and then a SCIM list (a search) wait for a lock another session holds on
the users table; /readyz, asked meanwhile, must be answered on the other
connection at once, not after the lock goes."""

import subprocess
import threading
import time

from harness import SLOW, check, check_eq, curl, psql, require, run, wait_until, waiting_for_lock
from scim_provisioning import Scim, scim_token

HOLD_S = 4 * SLOW  # how long the other session holds the lock
READY_S = 1 * SLOW  # what five /readyz may take together


def lock_granted(db_url):
    rc, rows, _ = psql(db_url, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                               "WHERE c.relname = 'users' AND l.mode = 'AccessExclusiveLock' AND l.granted")
    return rc == 0 and rows == [["1"]]


def while_locked(env, srv, what, blocked):
    """Runs `blocked` (a request that reads users) while another session
    holds the users table, and checks /readyz meanwhile."""
    locker = subprocess.Popen(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", env.db_url, "-c",
         "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(%.1f); COMMIT;" % HOLD_S],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        require("the other session holds the lock (%s)" % what, wait_until(lambda: lock_granted(env.db_url), 5 * SLOW))
        answer = {}
        t = threading.Thread(target=lambda: answer.update(r=blocked()))
        t.start()
        require("the %s waits for the lock" % what, wait_until(lambda: waiting_for_lock(env.db_url), 5 * SLOW))

        t0 = time.time()
        codes = [curl("--http1.1", srv.http("/readyz")).status for _ in range(5)]
        took = time.time() - t0
        held = locker.poll() is None
        check_eq("5 x /readyz while a %s waits for a lock" % what, codes, [200] * 5)
        check("... answered at once (%.2f s, bound %.1f s), the lock still held" % (took, READY_S),
              took < READY_S and held, "took %.2f s; lock held: %s" % (took, held))

        t.join(HOLD_S + 40)
        r = answer.get("r")
        check("the waiting %s answers 200 once the lock goes" % what, r is not None and r.status == 200,
              r.describe() if r else "no answer")
    finally:
        if locker.poll() is None:
            locker.wait(HOLD_S + 30)
    check_eq("the locking session ended cleanly (%s)" % what, locker.returncode, 0)


def main(env):
    srv = env.regain({"server": {"threads": 1},
                      "database": {"pool_size": 2, "query_timeout_ms": int((HOLD_S + 30) * 1000)}})
    scim = Scim(srv, scim_token(srv))
    r = scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "held"})
    require("a SCIM user to read", r.status == 201 and (r.json() or {}).get("id"), r.describe())
    uid = r.json()["id"]

    while_locked(env, srv, "read of one user", lambda: scim.get("/Users/" + uid))
    while_locked(env, srv, "list of users", lambda: scim.get("/Users", [("count", "1")]))
    srv.stop()


if __name__ == "__main__":
    run(main)
