"""startIndex pages of Users (RFC 7644 §3.4.2.4) found through the kept row
counts of schema/018_scim_user_ranks.sql: every page equals what a plain
ORDER BY ... OFFSET over the users table gives, with the right totalResults,
for the default order, sortBy=userName and sortBy=meta.created (kept) and
sortBy=displayName (OFFSET), ascending and descending, at many startIndex
and count values including past the end; after creations (/Bulk and POST),
deletions, userName renames, and concurrent /Bulk writes, deletions and
renames. The buckets are made tiny (split_at 8) so a few hundred users
split and merge them many times; after each step the kept counts are
checked against the rows. A skewed count shows in the pages, so the pages
really come from the counts."""

import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
from urllib.parse import quote

from harness import check, check_eq, psql, require, run
from scim_provisioning import USER, Scim, scim_token, start

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SPLIT_AT = 8

# sortBy -> (ascending ORDER BY, descending ORDER BY) over users, as the
# server orders (scim_sort_sql): unique keys need no tie-break.
ORDERS = {
    None: ("created_at, id", "created_at DESC, id DESC"),
    "userName": ("lower(user_name)", "lower(user_name) DESC"),
    "meta.created": ("created_at, id", "created_at DESC, id DESC"),
    "displayName": ("lower(display_name) NULLS LAST, id", "lower(display_name) DESC NULLS FIRST, id DESC"),
}


class Client:
    """Requests over HTTP/2 and TLS with curl, as the other SCIM tests send
    them; many GETs share one curl (one connection)."""

    def __init__(self, srv, token):
        self.srv, self.token = srv, token
        self.tmp = tempfile.mkdtemp(prefix="scim-pages.")

    def _curl(self, args, timeout=120):
        p = subprocess.run(["curl", "--http2", "-k", "-s", "-H", "authorization: Bearer " + self.token,
                            "-H", "accept: application/scim+json"] + args,
                           capture_output=True, text=True, timeout=timeout)
        return p.stdout

    def call(self, method, path, body=None):
        out = os.path.join(self.tmp, "one.%d" % threading.get_ident())
        args = ["-X", method, "-o", out, "-w", "%{http_code}"]
        if body is not None:
            args += ["-H", "content-type: application/scim+json", "--data-binary", json.dumps(body)]
        status = int(self._curl(args + [self.srv.https("/scim/v2" + path)]) or 0)
        with open(out) as f:
            data = f.read()
        os.unlink(out)
        return status, (json.loads(data) if data.strip() else None)

    @staticmethod
    def page_path(sort_by, desc, start, count):
        qs = "startIndex=%d&count=%d&attributes=userName" % (start, count)
        if sort_by:
            qs += "&sortBy=" + quote(sort_by)
        if desc:
            qs += "&sortOrder=descending"
        return "/Users?" + qs

    def page(self, sort_by, desc, start, count):
        return self.call("GET", self.page_path(sort_by, desc, start, count))

    def pages(self, specs):
        """[(status, body)] of the pages (sort_by, desc, start, count), in one curl."""
        base = os.path.join(self.tmp, "p.%d." % threading.get_ident())
        args = ["-w", "%{http_code}\n"]
        for i, spec in enumerate(specs):
            args += ["-o", base + str(i), self.srv.https("/scim/v2" + self.page_path(*spec))]
        codes = self._curl(args).split()
        got = []
        for i in range(len(specs)):
            try:
                with open(base + str(i)) as f:
                    got.append((int(codes[i]), json.loads(f.read())))
                os.unlink(base + str(i))
            except (OSError, ValueError, IndexError):
                got.append((0, None))
        return got


def db(env, sql):
    rc, rows, err = psql(env.db_url, sql)
    require("SQL: %s" % sql[:60], rc == 0, err)
    return rows


def expected(env, sort_by, desc):
    """Every user id in the order: page k of a listing is a slice of it, as
    ORDER BY ... LIMIT ... OFFSET gives it."""
    return [r[0] for r in db(env, "SELECT id FROM users ORDER BY %s" % ORDERS[sort_by][1 if desc else 0])]


def buckets_exact(env, step):
    """Each bucket's count equals the users whose key lies in its range; no
    bucket over split_at; the totals equal the users."""
    bad = db(env, """
        WITH b AS (SELECT lo, n, lead(lo) OVER (ORDER BY lo) AS hi FROM scim_rank_user_name)
        SELECT 'userName', b.lo, b.n, (SELECT count(*) FROM users u WHERE lower(u.user_name) >= b.lo
                                        AND (b.hi IS NULL OR lower(u.user_name) < b.hi)) AS real
          FROM b WHERE b.n <> (SELECT count(*) FROM users u WHERE lower(u.user_name) >= b.lo
                                 AND (b.hi IS NULL OR lower(u.user_name) < b.hi)) OR b.n > %d
        UNION ALL
        SELECT 'created', b.lo_at::text || ' ' || b.lo_id, b.n, 0 FROM
          (SELECT lo_at, lo_id, n, lead(lo_at) OVER w AS hi_at, lead(lo_id) OVER w AS hi_id
             FROM scim_rank_created WINDOW w AS (ORDER BY lo_at, lo_id)) b
         WHERE b.n <> (SELECT count(*) FROM users u WHERE (u.created_at, u.id) >= (b.lo_at, b.lo_id)
                         AND (b.hi_at IS NULL OR (u.created_at, u.id) < (b.hi_at, b.hi_id))) OR b.n > %d
    """ % (SPLIT_AT, SPLIT_AT))
    check("%s: every kept count equals its users" % step, bad == [], bad[:5])
    total = db(env, "SELECT (SELECT count(*) FROM users), (SELECT sum(n) FROM scim_rank_user_name),"
                    " (SELECT sum(n) FROM scim_rank_created), (SELECT count(*) FROM scim_rank_user_name),"
                    " (SELECT count(*) FROM scim_rank_created)")[0]
    check("%s: the buckets add up to the %s users (%s and %s buckets)" % (step, total[0], total[3], total[4]),
          total[0] == total[1] == total[2], total)
    return int(total[0]), int(total[3])


def pages_match(env, cl, step, rnd, probes=10):
    """Pages at fixed and random startIndex/count, each order and direction,
    against the slices of the full ORDER BY."""
    n = int(db(env, "SELECT count(*) FROM users")[0][0])
    bad = []
    checked = 0
    for sort_by in ORDERS:
        for desc in (False, True):
            want = expected(env, sort_by, desc)
            picks = [(1, 5), (2, 3), (SPLIT_AT // 2 + 1, 4), (SPLIT_AT + 1, 10), (n - 2, 10), (n, 3),
                     (n + 1, 5), (n + 50, 1)]
            picks += [(rnd.randint(1, n), rnd.choice((1, 3, 7, 25, 100))) for _ in range(probes)]
            answers = cl.pages([(sort_by, desc, first, count) for first, count in picks])
            for (first, count), (status, body) in zip(picks, answers):
                got = [u["id"] for u in (body or {}).get("Resources", [])]
                slice_ = want[first - 1:first - 1 + count]
                checked += 1
                if status != 200 or got != slice_ or body.get("totalResults") != n \
                        or body.get("startIndex") != first or body.get("itemsPerPage") != len(slice_):
                    bad.append((sort_by, "desc" if desc else "asc", first, count, status,
                                (body or {}).get("totalResults"), len(got), len(slice_)))
    check("%s: %d pages (4 orders x 2 directions) equal ORDER BY ... OFFSET, totalResults %d" % (step, checked, n),
          bad == [], bad[:5])


def user(name, display=None):
    d = {"schemas": [USER], "userName": name}
    if display is not None:
        d["displayName"] = display
    return d


def main(env):
    srv = start(env)
    token = scim_token(srv, "pager")
    scim = Scim(srv, token)
    cl = Client(srv, token)
    rnd = random.Random(4)
    rows = db(env, "SELECT (SELECT count(*) FROM scim_rank_user_name), (SELECT count(*) FROM scim_rank_created)")
    check_eq("an empty directory has one bucket per kept order", rows, [["1", "1"]])
    db(env, "UPDATE scim_rank_settings SET split_at = %d" % SPLIT_AT)

    # ---- creations: /Bulk (one statement per request) and POST ----------------------------
    names = ["%s%03d" % (rnd.choice(("a", "B", "c", "D", "e")), i) for i in range(240)]
    rnd.shuffle(names)
    for k in range(0, 200, 50):
        ops = [{"method": "POST", "path": "/Users", "bulkId": "b%d" % i,
                "data": user(names[i], rnd.choice((None, "Person %d" % rnd.randint(1, 40))))}
               for i in range(k, k + 50)]
        status, body = cl.call("POST", "/Bulk", {"schemas": [BULK], "Operations": ops})
        require("/Bulk created 50 users", status == 200 and all(o.get("status") == "201"
                                                                for o in body.get("Operations", [])),
                json.dumps(body)[:300])
    for nm in names[200:220]:
        r = scim.post("/Users", user(nm, "Solo"))
        require("user %s created" % nm, r.status == 201, r.describe())
    n, nb = buckets_exact(env, "after 220 creations")
    check("the buckets were split (%d userName buckets for %d users)" % (nb, n), nb >= n // SPLIT_AT, nb)
    pages_match(env, cl, "after creations", rnd)

    # ---- the pages come from the kept counts ------------------------------------------------------
    lo = db(env, "SELECT lo FROM scim_rank_user_name ORDER BY lo LIMIT 1 OFFSET 3")[0][0]
    db(env, "UPDATE scim_rank_user_name SET n = n + 1 WHERE lo = '%s'" % lo.replace("'", "''"))
    want = expected(env, "userName", False)
    _, body = cl.page("userName", False, 150, 5)
    got = [u["id"] for u in (body or {}).get("Resources", [])]
    check("a skewed count shifts a deep userName page (it is found through the counts)",
          got != want[149:154] and got == want[148:153], (got, want[148:154]))
    db(env, "UPDATE scim_rank_user_name SET n = n - 1 WHERE lo = '%s'" % lo.replace("'", "''"))
    _, body = cl.page("userName", False, 150, 5)
    check_eq("restored, the page is right again", [u["id"] for u in body.get("Resources", [])], want[149:154])

    # ---- deletions: scattered, and a run of neighbours (empties buckets: merges) -------------------
    by_name = [r for r in db(env, "SELECT id, user_name FROM users ORDER BY lower(user_name)")]
    gone = [by_name[i][0] for i in range(40, 70)] + [r[0] for r in rnd.sample(by_name, 25)]
    for uid in set(gone):
        status, _ = cl.call("DELETE", "/Users/" + uid)
        require("user deleted", status == 204, status)
    buckets_exact(env, "after %d deletions" % len(set(gone)))
    pages_match(env, cl, "after deletions", rnd)

    # ---- renames: across buckets, to the ends, and in case only ------------------------------------
    left = db(env, "SELECT id, user_name FROM users ORDER BY lower(user_name)")
    renames = rnd.sample(left, 24)
    for i, (uid, old) in enumerate(renames):
        if i % 4 == 0:
            new = old.swapcase()  # same key: stays in its bucket
        elif i % 4 == 1:
            new = "0first%02d" % i
        elif i % 4 == 2:
            new = "zz-last%02d" % i
        else:
            new = "%s%03dx" % (rnd.choice("aBcDe"), rnd.randint(0, 239))
        body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": new}]}
        status, b = cl.call("PATCH", "/Users/" + uid, body)
        require("user %s renamed %s" % (old, new), status == 200, (status, b))
    r = scim.put("/Users/" + left[0][0], user("mid-put", "Put"))
    require("PUT renames a user", r.status == 200, r.describe())
    buckets_exact(env, "after 25 renames")
    pages_match(env, cl, "after renames", rnd)

    # ---- concurrent writers, and readers checking each page against its own total ---------------
    stop = time.time() + 6
    errors = []
    seq = [0]
    lock = threading.Lock()

    def next_names(k):
        with lock:
            seq[0] += k
            return ["w%05d" % (seq[0] - j) for j in range(k)]

    def writer(wid):
        c = cl
        wr = random.Random(wid)
        mine = []
        while time.time() < stop:
            ops = [{"method": "POST", "path": "/Users", "bulkId": "c%d" % j,
                    "data": user(nm, "W%d" % wr.randint(0, 9))} for j, nm in enumerate(next_names(wr.randint(1, 12)))]
            status, body = c.call("POST", "/Bulk", {"schemas": [BULK], "Operations": ops})
            if status != 200:
                errors.append(("bulk", status))
                continue
            for o in body.get("Operations", []):
                if o.get("status") == "201":
                    mine.append(o["location"].rsplit("/", 1)[-1])
                else:
                    errors.append(("bulk op", o.get("status")))
            if mine and wr.random() < 0.5:
                uid = mine.pop(wr.randrange(len(mine)))
                status, _ = c.call("DELETE", "/Users/" + uid)
                if status != 204:
                    errors.append(("delete", status))
            if mine and wr.random() < 0.5:
                uid = wr.choice(mine)
                body = {"schemas": [PATCH_OP], "Operations": [
                    {"op": "replace", "path": "userName", "value": next_names(1)[0] + "r"}]}
                status, _ = c.call("PATCH", "/Users/" + uid, body)
                if status != 200:
                    errors.append(("rename", status))

    inconsistent = []
    reads = [0]
    full = [0]

    def reader(rid):
        c = cl
        rr = random.Random(100 + rid)
        while time.time() < stop:
            sort_by = rr.choice((None, "userName"))
            desc = rr.random() < 0.5
            start, count = rr.randint(1, 400), rr.choice((5, 20))
            status, body = c.page(sort_by, desc, start, count)
            reads[0] += 1
            if status != 200:
                inconsistent.append(("status", status))
                continue
            total, items = body.get("totalResults", -1), body.get("Resources", [])
            # One snapshot: a page is as long as its own total allows. (An
            # empty page's total comes from a count run after it, in a later
            # snapshot: list.c counts when the page holds no row.)
            if items and len(items) != max(0, min(count, total - (start - 1))):
                inconsistent.append((sort_by, desc, start, count, total, len(items)))
            full[0] += len(items) == count
            if sort_by == "userName":
                keys = [u["userName"].lower() for u in items]
                if keys != sorted(keys, reverse=desc):
                    inconsistent.append(("order", start, keys[:3]))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check("concurrent writers: no failed request", errors == [], errors[:5])
    check("%d pages read during the writes, each as long as its own totalResults allows, in order" % reads[0],
          reads[0] > 0 and inconsistent == [], inconsistent[:5])
    check("the readers saw full pages during the writes", full[0] > 0, full[0])
    buckets_exact(env, "after concurrent writes (%d names used)" % seq[0])
    pages_match(env, cl, "after concurrent writes", rnd, probes=14)

    # ---- a filtered list pages with OFFSET, and is right too ----------------------------------------
    want = [r[0] for r in db(env, "SELECT id FROM users WHERE lower(user_name) LIKE 'w%' ORDER BY lower(user_name)")]
    status, body = cl.call("GET", "/Users?filter=%s&sortBy=userName&startIndex=7&count=9" % quote('userName sw "w"'))
    check("a filtered page equals its ORDER BY ... OFFSET, with its own total",
          status == 200 and [u["id"] for u in body.get("Resources", [])] == want[6:15]
          and body.get("totalResults") == len(want), (status, len(want)))

    # ---- rebuilt from the users (scim_rank_rebuild, 021) -------------------------------------------
    db(env, "UPDATE scim_rank_settings SET split_at = 6")
    db(env, "SELECT scim_rank_rebuild()")
    n, nb = buckets_exact(env, "rebuilt in buckets of 3")
    check("the rebuild cut %d users into %d buckets of 3" % (n, nb), nb == (n + 2) // 3, nb)
    db(env, "UPDATE scim_rank_settings SET split_at = %d" % SPLIT_AT)
    pages_match(env, cl, "after the rebuild", rnd)
    db(env, "DELETE FROM users")
    buckets_exact(env, "after deleting everyone")
    status, body = cl.page("userName", True, 3, 5)
    check("an empty directory: no page, totalResults 0",
          status == 200 and body.get("totalResults") == 0 and body.get("Resources", []) == [], (status, body))
    shutil.rmtree(cl.tmp, ignore_errors=True)


run(main)
