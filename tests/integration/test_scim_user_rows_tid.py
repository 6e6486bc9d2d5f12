"""List pages read their users' rows by ctid (schema/024_scim_user_rows_tid.sql,
scim/list.c): scim_user_rows(ids, ctids) reads each row straight from the
table (PostgreSQL's own plan, auto_explain: a TID scan, no users_pkey), a
ctid that names another row than its id gives no row (never a wrong one),
and pages show each user's newest version after updates, which move rows
to new ctids: the page query takes the ctids in the same statement."""

from urllib.parse import quote

from harness import check, check_eq, psql, require, run
from scim_provisioning import USER, Scim, scim_token

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def db(env, sql):
    rc, rows, err = psql(env.db_url, sql)
    require("SQL: %s" % sql[:60], rc == 0, err)
    return rows


def main(env):
    srv = env.regain()
    scim = Scim(srv, scim_token(srv, "tidder"))
    names = ["tid%02d" % i for i in range(12)]
    ids = {}
    for n in names:
        r = scim.post("/Users", {"schemas": [USER], "userName": n, "displayName": "Before " + n,
                                 "emails": [{"value": n + "@example.org", "type": "work"}]})
        require("user %s created" % n, r.status == 201, r.describe())
        ids[n] = r.json()["id"]

    # ---- the function, from SQL ------------------------------------------------------------
    arrays = ("(SELECT array_agg(id ORDER BY lower(user_name)) FROM users WHERE user_name LIKE 'tid%%')",
              "(SELECT array_agg(ctid ORDER BY lower(user_name)) FROM users WHERE user_name LIKE 'tid%%')")
    rows = db(env, "SELECT user_name, display_name FROM scim_user_rows(%s, %s)" % arrays)
    check_eq("ids with their ctids: every user, in the order given",
             [r[0] for r in rows], names)
    check_eq("... with their columns", [r[1] for r in rows], ["Before " + n for n in names])
    rows = db(env, "SELECT user_name FROM scim_user_rows(%s, (SELECT array_agg(ctid ORDER BY lower(user_name) DESC)"
                   " FROM users WHERE user_name LIKE 'tid%%'))" % arrays[0])
    check_eq("ctids that name other rows than the ids: no row rather than a wrong one", rows, [])
    # A directory of some size, as the bench's pages see it (with a dozen
    # users, reading the whole table is the planner's best way to anything).
    db(env, "SELECT count(*) FROM scim_users_create_many((SELECT jsonb_agg(jsonb_build_object('doc', "
            "jsonb_build_object('schemas', jsonb_build_array('%s'), 'userName', 'zz-filler' || i, "
            "'emails', jsonb_build_array(jsonb_build_object('type', 'work', 'value', 'f' || i || '@example.org')))))"
            " FROM generate_series(1, 20000) i))" % USER)
    db(env, "VACUUM (ANALYZE) users, user_values, group_members")
    rc, _, log = psql(env.db_url, "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; "
                                  "SET auto_explain.log_nested_statements = on; SET client_min_messages = log; "
                                  "SELECT count(*) FROM scim_user_rows(%s, %s)" % arrays)
    require("auto_explain of scim_user_rows", rc == 0, log)
    inner = [p for p in log.split("LOG:") if "WITH RECURSIVE" in p]
    check("the function's plan was logged", len(inner) == 1, log[-2000:])
    if inner:
        check("users are read by TID scan", "Tid Scan on users u" in inner[0], inner[0][-2500:])
        check("not through users_pkey", "users_pkey on users u " not in inner[0], inner[0][-2500:])

    # ---- pages after updates: rows at new ctids ------------------------------------------------
    before = dict(db(env, "SELECT user_name, ctid::text FROM users WHERE user_name LIKE 'tid%'"))
    for n in names[::2]:
        r = scim.patch("/Users/" + ids[n], {"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "displayName", "value": "After " + n}]})
        require("PATCH %s" % n, r.status == 200, r.describe())
    after = dict(db(env, "SELECT user_name, ctid::text FROM users WHERE user_name LIKE 'tid%'"))
    check("the updated users' rows moved to new ctids",
          all(before[n] != after[n] for n in names[::2]), (before, after))
    want = {n: ("After " if i % 2 == 0 else "Before ") + n for i, n in enumerate(names)}
    flt = "&filter=" + quote('userName sw "tid"', safe="")
    for path, label in (("/Users?sortBy=userName&startIndex=3&count=5", "startIndex page (kept counts)"),
                        ("/Users?sortBy=userName&startIndex=19999&count=5&sortOrder=descending",
                         "descending startIndex page"),
                        ("/Users?startIndex=4&count=6", "default order startIndex page"),
                        ("/Users?sortBy=userName&count=5&cursor=", "first cursor page"),
                        ("/Users?sortBy=displayName&startIndex=3&count=4" + flt, "filtered OFFSET page"),
                        ("/Users?count=20" + flt, "filtered first page")):
        r = scim.get(path)
        got = {u["userName"]: u.get("displayName") for u in (r.json() or {}).get("Resources", [])
               if u.get("userName", "").startswith("tid")}
        check("%s: 200 with users" % label, r.status == 200 and len(got) > 0, r.describe())
        check_eq("%s: every user's newest version" % label, got, {n: want[n] for n in got})
    srv.stop()


if __name__ == "__main__":
    run(main)
