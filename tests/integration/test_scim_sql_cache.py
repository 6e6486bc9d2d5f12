"""SCIM queries are built at run time (filters, sort, pages) and each
connection keeps the texts it ran last prepared (gateway/store.c): a text
seen again runs as the same prepared statement, parsed once; the cache
holds at most STORE_SQL_CACHE statements per connection, the least recently
used deallocated first; a PostgreSQL restart empties it and the statements
are prepared again on the new sessions, with the same answers.

Seen from both sides: regain's counters in /metrics, and PostgreSQL's own
statement log (log_min_duration_statement = 0 logs every parse, bind and
execute with the statement's name) of a cluster of the test's own, served
by one thread with one connection so that one cache is observed."""

import os
import re
from urllib.parse import quote

from harness import SLOW, check, check_eq, curl, psql, require, run, wait_until
from scim_provisioning import USER, Scim, scim_token

CACHE = 32  # STORE_SQL_CACHE in gateway/store.c
NAME = re.compile(r"\b(parse|bind|execute) (regain_sql_\d+|<unnamed>): (.*)$")


class PgLog:
    """The cluster's log, read from where the test last looked."""

    def __init__(self, cluster):
        link = os.path.join(cluster.dir, "cluster")
        self.path = os.path.join(os.path.realpath(link) if os.path.islink(link) else cluster.dir, "log")
        self.pos = 0

    def skip(self):
        self.pos = os.path.getsize(self.path)

    def read(self):
        """[(pid, step, name, sql)] logged since the last read or skip."""
        with open(self.path, errors="replace") as f:
            f.seek(self.pos)
            text = f.read()
            self.pos = f.tell()
        out = []
        for line in text.splitlines():
            m = NAME.search(line)
            pid = line.split(" ", 1)[0]
            if m and pid.isdigit():
                out.append((pid, m.group(1), m.group(2), m.group(3)))
        return out


def counters(srv):
    m = curl("--http1.1", srv.http("/metrics")).text
    out = {}
    for key in ("sql_prepared", "sql_reused", "sql_evicted"):
        v = [l.split()[-1] for l in m.splitlines() if l.startswith("regain_db_%s_total " % key)]
        out[key] = int(float(v[0])) if v else None
    return out


def delta(after, before):
    return {k: (after[k] or 0) - (before[k] or 0) for k in after}


def user_names(r):
    return sorted(u.get("userName") for u in (r.json() or {}).get("Resources", []))


def eq_path(name):
    return "/Users?filter=" + quote('userName eq "%s"' % name, safe="") + "&attributes=userName"


def or_path(names):
    """A filter of len(names) terms: every length is another SQL text."""
    f = " or ".join('userName eq "%s"' % n for n in names)
    return "/Users?filter=" + quote(f, safe="") + "&attributes=userName"


def main(env):
    cluster = env.cluster()
    p = cluster.start()
    require("own PostgreSQL cluster started", p.returncode == 0, p.stdout + p.stderr)
    url = cluster.url("regain")
    for sql in ("ALTER SYSTEM SET log_min_duration_statement = 0", "ALTER SYSTEM SET log_line_prefix = '%p '",
                "SELECT pg_reload_conf()"):
        rc, _, err = psql(url, sql)
        require(sql, rc == 0, err)
    log = PgLog(cluster)
    require("the cluster's log is readable", os.path.isfile(log.path), log.path)
    srv = env.regain({"database": {"url": url, "pool_size": 1, "query_timeout_ms": 5000},
                      "server": {"threads": 1}})
    scim = Scim(srv, scim_token(srv, "cacher"))
    names = ["cache%02d" % i for i in range(45)]
    for n in names:
        r = scim.post("/Users", {"schemas": [USER], "userName": n, "externalId": "ext-" + n})
        require("user %s created" % n, r.status == 201, r.describe())

    # ---- one text, many values: one statement, parsed once ---------------------------------
    log.skip()
    c0 = counters(srv)
    require("the cache's counters are in /metrics", None not in c0.values(), c0)
    for n in names[:6]:
        r = scim.get(eq_path(n))
        check_eq("userName eq %s finds that user" % n, (r.status, user_names(r)), (200, [n]))
    d = delta(counters(srv), c0)
    check_eq("6 queries of one text: prepared once, then reused 5 times", (d["sql_prepared"], d["sql_reused"]),
             (1, 5))
    lines = log.read()
    page = [l for l in lines if "lower(u.user_name) = lower($1)" in l[3]]
    executes = [l for l in page if l[1] == "execute"]
    check_eq("PostgreSQL executed the filter 6 times, each as a named statement",
             [l[2].startswith("regain_sql_") for l in executes], [True] * 6)
    check_eq("... always the same statement", len({l[2] for l in executes}), 1)
    check_eq("... parsed once", len([l for l in page if l[1] == "parse"]), 1)
    check_eq("... on one connection", len({l[0] for l in executes}), 1)
    backend = executes[0][0] if executes else None

    # ---- more texts than the cache holds ---------------------------------------------------------
    log.skip()
    c0 = counters(srv)
    shapes = list(range(2, CACHE + 10))  # 40 texts: 2 to 41 terms (1 term is the text above)
    for k in shapes:
        r = scim.get(or_path(names[:k]))
        check("a filter of %d terms finds its %d users" % (k, k), r.status == 200 and user_names(r) == names[:k],
              r.describe())
    d = delta(counters(srv), c0)
    # The cache already held the userName eq text (and regain's own lookups
    # are prepared statements of their own, not counted here).
    check_eq("40 new texts were prepared", d["sql_prepared"], 40)
    check_eq("and 41 - %d pushed out the least recently used" % CACHE, d["sql_evicted"], 41 - CACHE)
    check_eq("... and none reused", d["sql_reused"], 0)
    lines = log.read()
    parsed = [l[2] for l in lines if l[1] == "parse" and l[2].startswith("regain_sql_")]
    freed = [re.search(r"DEALLOCATE (regain_sql_\d+)", l[3]).group(1) for l in lines
             if l[1] == "execute" and "DEALLOCATE" in l[3]]
    check_eq("PostgreSQL prepared 40 statements", len(parsed), 40)
    check_eq("and deallocated %d" % (41 - CACHE), len(freed), 41 - CACHE)
    check("the first deallocated was the oldest, the userName eq statement",
          bool(freed) and bool(executes) and freed[0] == executes[0][2], (freed[:1], executes[:1]))
    check_eq("the deallocated were the oldest, in order", freed[1:], parsed[:len(freed) - 1])
    check_eq("all on the one connection", {l[0] for l in lines if l[2].startswith("regain_sql_")}, {backend})
    alive = set(parsed) - set(freed)
    check_eq("%d statements stay prepared on the connection: the bound" % CACHE, len(alive), CACHE)

    # The newest text is still there; the oldest is prepared again.
    log.skip()
    c0 = counters(srv)
    r = scim.get(or_path(names[:shapes[-1]]))
    check_eq("the newest text again: same answer", (r.status, user_names(r)), (200, names[:shapes[-1]]))
    r = scim.get(or_path(names[:2]))
    check_eq("the oldest text again: same answer", (r.status, user_names(r)), (200, names[:2]))
    d = delta(counters(srv), c0)
    check_eq("the newest reused, the oldest prepared again (pushing out one more)",
             (d["sql_reused"], d["sql_prepared"], d["sql_evicted"]), (1, 1, 1))
    lines = log.read()
    check_eq("PostgreSQL parsed only the oldest again",
             len([l for l in lines if l[1] == "parse" and l[2].startswith("regain_sql_")]), 1)

    # ---- pages: the text does not depend on startIndex or count --------------------------------------
    log.skip()
    c0 = counters(srv)
    for start, count in ((2, 5), (7, 3), (20, 10), (3, 1)):
        r = scim.get("/Users?sortBy=userName&startIndex=%d&count=%d&attributes=userName" % (start, count))
        got = [u.get("userName") for u in (r.json() or {}).get("Resources", [])]
        check_eq("userName page startIndex=%d count=%d" % (start, count), (r.status, got),
                 (200, names[start - 1:start - 1 + count]))
    d = delta(counters(srv), c0)
    check_eq("4 userName pages at other places and sizes: one statement", (d["sql_prepared"], d["sql_reused"]),
             (1, 3))

    # ---- PostgreSQL restarts: the statements are prepared again ----------------------------------
    p = cluster.stop()
    require("PostgreSQL stopped", p.returncode == 0, p.stdout + p.stderr)
    wait_until(lambda: curl("--http1.1", srv.http("/readyz")).status == 503 or None, 10 * SLOW)
    p = cluster.start()
    require("PostgreSQL started again", p.returncode == 0, p.stdout + p.stderr)
    r = wait_until(lambda: (lambda x: x if x.status == 200 else None)(curl("--http1.1", srv.http("/readyz"))),
                   10 * SLOW, interval=0.25)
    require("regain ready again", r is not None, srv.stderr()[-2000:])
    log = PgLog(cluster)
    log.skip()
    c0 = counters(srv)
    err_from = len(srv.stderr())
    errors0 = [l for l in curl("--http1.1", srv.http("/metrics")).text.splitlines()
               if l.startswith("regain_db_errors_total")]
    for n in names[:3]:
        r = scim.get(eq_path(n))
        check_eq("after the restart, userName eq %s finds that user" % n, (r.status, user_names(r)), (200, [n]))
    r = scim.get(or_path(names[:shapes[-1]]))
    check_eq("after the restart, the 41-term filter too", (r.status, user_names(r)), (200, names[:shapes[-1]]))
    d = delta(counters(srv), c0)
    check_eq("after the restart: prepared again on the new session, then reused",
             (d["sql_prepared"], d["sql_reused"], d["sql_evicted"]), (2, 2, 0))
    errors1 = [l for l in curl("--http1.1", srv.http("/metrics")).text.splitlines()
               if l.startswith("regain_db_errors_total")]
    check_eq("no database error after the restart (no statement missing on the new session)", errors1, errors0)
    lines = log.read()
    check_eq("PostgreSQL parsed the two texts on the new session",
             len([l for l in lines if l[1] == "parse" and l[2].startswith("regain_sql_")]), 2)
    check("regain logged no error after the restart", '"level":"error"' not in srv.stderr()[err_from:],
          srv.stderr()[err_from:][-2000:])
    srv.stop()


if __name__ == "__main__":
    run(main)
