"""DELETE with If-Match is conditional in the delete itself (RFC 7644 §3.14,
RFC 9110 §13.1.1: the server "MUST NOT perform the requested method if a
received If-Match condition evaluates to false").

The gateway used to compare the version on a read of its own and then delete
by id alone: a write committed between the two was deleted anyway. Here a
write holds the row's lock while the DELETE reads the old version and
matches it; the write then commits a new version and the DELETE must answer
412 and leave the resource. scim_user_delete / scim_group_delete called with
a stale version refuse (RG412) and delete nothing; with the current one, or
none, they delete."""

import threading
import time

from harness import check, check_eq, psql, require, run, wait_until
from scim_provisioning import GROUP, USER, Scim, scim_error, scim_token, start


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def one(env, sql):
    rc, rows, err = psql(env.db_url, sql)
    require("query ok: %s" % sql[:80], rc == 0 and rows, err)
    return rows[0][0]


def sleeping_write(env, table, rid, out):
    """A write of the row that holds its lock for a while, then commits."""
    out["rc"], _, out["err"] = psql(env.db_url, (
        "BEGIN; UPDATE %s SET version = version + 1, updated_at = now() WHERE id = %s; "
        "SELECT pg_sleep(3) /* regain-test-sleeping-write */; COMMIT;") % (table, lit(rid)))


def sleeping(env):
    rc, rows, _ = psql(env.db_url, "SELECT count(*) FROM pg_stat_activity "
                                   "WHERE query LIKE '%regain-test-sleeping-write%' AND pid <> pg_backend_pid()")
    return rc == 0 and rows and rows[0][0] != "0"


def race(env, scim, kind, table, rid):
    """DELETE with the current ETag while a write of the row is under way."""
    r = scim.get("/%s/%s" % (kind, rid))
    require("GET %s: 200" % kind, r.status == 200, r.describe())
    etag = r.header("etag")
    before = one(env, "SELECT version FROM %s WHERE id = %s" % (table, lit(rid)))
    out = {}
    t = threading.Thread(target=sleeping_write, args=(env, table, rid, out))
    t.start()
    require("the concurrent write holds the row", wait_until(lambda: sleeping(env), 10), "")
    t0 = time.time()
    r = scim.delete("/%s/%s" % (kind, rid), headers=["if-match: " + etag])
    t.join()
    check_eq("%s: the concurrent write committed" % kind, out.get("rc"), 0)
    check("%s: the DELETE waited for the write (it ran while the row was locked)" % kind,
          time.time() - t0 > 1, "%.2f s" % (time.time() - t0))
    scim_error("%s: DELETE with the ETag that the concurrent write made stale" % kind, r, 412)
    check_eq("%s: the written row is still there" % kind,
             one(env, "SELECT count(*) FROM %s WHERE id = %s" % (table, lit(rid))), "1")
    check_eq("%s: at the written version" % kind,
             one(env, "SELECT version FROM %s WHERE id = %s" % (table, lit(rid))), str(int(before) + 1))


def main(env):
    srv = start(env)
    scim = Scim(srv, scim_token(srv, "prov"))

    r = scim.post("/Users", {"schemas": [USER], "userName": "dora"})
    require("user created", r.status == 201, r.describe())
    uid = r.json()["id"]
    r = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Doomed", "members": [{"value": uid}]})
    require("group created", r.status == 201, r.describe())
    gid = r.json()["id"]

    # ---- a write commits between the If-Match check and the delete -------------------------
    race(env, scim, "Users", "users", uid)
    race(env, scim, "Groups", "groups", gid)

    # ---- a stale If-Match: 412, nothing deleted; the current one deletes -----------------------
    for kind, rid in (("Users", uid), ("Groups", gid)):
        r = scim.get("/%s/%s" % (kind, rid))
        etag = r.header("etag")
        body = ({"schemas": [USER], "userName": "dora", "nickName": "D"} if kind == "Users"
                else {"schemas": [GROUP], "displayName": "Doomed again"})
        r = scim.put("/%s/%s" % (kind, rid), body)
        require("PUT %s: 200" % kind, r.status == 200, r.describe())
        scim_error("DELETE %s with the ETag before the PUT" % kind,
                   scim.delete("/%s/%s" % (kind, rid), headers=["if-match: " + etag]), 412)
        check_eq("... %s still there" % kind, scim.get("/%s/%s" % (kind, rid)).status, 200)

    # ---- the storage functions check the version themselves --------------------------------------
    for table, fn, rid in (("users", "scim_user_delete", uid), ("groups", "scim_group_delete", gid)):
        v = int(one(env, "SELECT version FROM %s WHERE id = %s" % (table, lit(rid))))
        rc, _, err = psql(env.db_url, "SELECT %s(%s, %d)" % (fn, lit(rid), v - 1))
        check("%s with a stale version: RG412" % fn, rc != 0 and "has changed" in err, err)
        check_eq("... nothing deleted from %s" % table,
                 one(env, "SELECT count(*) FROM %s WHERE id = %s" % (table, lit(rid))), "1")
        check_eq("%s with the current version: deleted" % fn,
                 one(env, "SELECT %s(%s, %d)" % (fn, lit(rid), v)), "t")
        check_eq("%s of a deleted one, with a version: false (404)" % fn,
                 one(env, "SELECT %s(%s, %d)" % (fn, lit(rid), v)), "f")

    # ---- without a version, as before ---------------------------------------------------------------
    r = scim.post("/Users", {"schemas": [USER], "userName": "eve"})
    require("user eve created", r.status == 201, r.describe())
    eid = r.json()["id"]
    check_eq("scim_user_delete(id) without a version still deletes",
             one(env, "SELECT scim_user_delete(%s)" % lit(eid)), "t")
    r = scim.post("/Users", {"schemas": [USER], "userName": "fay"})
    fid = r.json()["id"]
    r = scim.put("/Users/" + fid, {"schemas": [USER], "userName": "fay", "nickName": "F"})
    check_eq("DELETE without If-Match after a PUT: 204", scim.delete("/Users/" + fid).status, 204)
    r = scim.post("/Users", {"schemas": [USER], "userName": "gus"})
    gus = r.json()["id"]
    check_eq("DELETE with If-Match: * : 204",
             scim.delete("/Users/" + gus, headers=["if-match: *"]).status, 204)


if __name__ == "__main__":
    run(main)
