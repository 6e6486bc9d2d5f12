"""A Group PATCH answers what `attributes` asks for, and removing a member
by a filter that matches none is noTarget.

RFC 7644 §3.5.2: with `attributes` the server returns 200 and "the entire
resource" subject to it, so `?attributes=members` shows the members (the
answer without `attributes` stays a 204, and one whose `attributes` leaves
members out does not read them). §3.12: noTarget (400) "when the specified
"path" value contains a filter that yields no match", as Users already do:
`members[value eq "X"]` for an X that is no member, taking the operations
before it in the same PATCH into account; nothing changes."""

from harness import check, check_eq, psql, require, run
from scim_provisioning import GROUP, PATCH_OP, USER, Scim, members_of, scim_error, scim_token, start


def patch(ops):
    return {"schemas": [PATCH_OP], "Operations": ops}


def rm(*ids):
    return {"op": "remove", "path": "members[%s]" % " or ".join('value eq "%s"' % i for i in ids)}


def add(*ids):
    return {"op": "add", "path": "members", "value": [{"value": i} for i in ids]}


def main(env):
    srv = start(env)
    scim = Scim(srv, scim_token(srv, "prov"))
    users = []
    for n in ("ann", "bob", "cat", "dan"):
        r = scim.post("/Users", {"schemas": [USER], "userName": n})
        require("user %s created" % n, r.status == 201, r.describe())
        users.append(r.json()["id"])
    ann, bob, cat, dan = users
    r = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Crew", "members": [{"value": ann}]})
    require("group created", r.status == 201, r.describe())
    gid = r.json()["id"]
    path = "/Groups/" + gid

    # ---- §3.5.2: the response subject to `attributes` ---------------------------------------
    r = scim.patch(path + "?attributes=members", patch([add(bob)]))
    check("PATCH add ?attributes=members: 200 with the members",
          r.status == 200 and members_of(r.json()) == sorted([ann, bob]), r.describe())
    check_eq("... and only what was asked (plus id and schemas)", sorted((r.json() or {}).keys()),
             ["id", "members", "schemas"])
    check_eq("... ETag is the new version", r.header("etag"), scim.get(path).header("etag"))
    r = scim.patch(path + "?attributes=members.value",
                   patch([{"op": "replace", "path": "displayName", "value": "Crew 2"}]))
    check("PATCH without member operations ?attributes=members.value: the members",
          r.status == 200 and members_of(r.json()) == sorted([ann, bob])
          and all(set(m) == {"value"} for m in r.json().get("members", [])), r.describe())
    r = scim.patch(path + "?attributes=displayName", patch([add(cat)]))
    check("PATCH ?attributes=displayName: 200 without members",
          r.status == 200 and (r.json() or {}).get("displayName") == "Crew 2" and "members" not in r.json(),
          r.describe())
    r = scim.patch(path, patch([rm(cat)]))
    check_eq("PATCH without attributes: 204 as before", r.status, 204)

    # ---- §3.12 noTarget: a member filter that matches nothing ------------------------------------
    def unchanged(name, r):
        before = unchanged.etag
        scim_error(name, r, 400, "noTarget")
        g = scim.get(path)
        check_eq("... the group is unchanged (%s)" % name, (members_of(g.json()), g.header("etag")),
                 (sorted([ann, bob]), before))

    unchanged.etag = scim.get(path).header("etag")
    unchanged("remove a user who is not a member", scim.patch(path, patch([rm(dan)])))
    unchanged("remove an id of nothing", scim.patch(path, patch([rm("00000000-0000-4000-8000-000000000000")])))
    unchanged("remove a value that is no id", scim.patch(path, patch([rm("nobody")])))
    unchanged("remove one that an earlier operation removed", scim.patch(path, patch([rm(bob), rm(bob)])))
    unchanged("remove after removing every member",
              scim.patch(path, patch([{"op": "remove", "path": "members"}, rm(ann)])))
    unchanged("remove after replacing the members",
              scim.patch(path, patch([{"op": "replace", "path": "members", "value": [{"value": cat}]}, rm(ann)])))
    unchanged("a valid operation before it is not applied either",
              scim.patch(path, patch([add(dan), rm(cat)])))
    unchanged("one filter for each of two: the second matches nothing",
              scim.patch(path, patch([rm(ann), rm(dan)])))

    # ---- a filter with at least one match is applied -------------------------------------------------
    r = scim.patch(path, patch([rm(dan, bob)]))
    check_eq("remove bob or dan (bob is a member): 204", r.status, 204)
    check_eq("... bob is gone", members_of(scim.get(path).json()), [ann])
    r = scim.patch(path, patch([add(cat), rm(cat)]))
    check_eq("remove one added earlier in the same PATCH: 204", r.status, 204)
    check_eq("... cat is not a member", members_of(scim.get(path).json()), [ann])
    r = scim.patch(path, patch([{"op": "remove", "path": "members"}, add(dan), rm(dan), add(bob)]))
    check_eq("remove all, add, remove it again, add another: 204", r.status, 204)
    check_eq("... bob alone", members_of(scim.get(path).json()), [bob])
    # Entra ID removes by value, not by filter: no precondition there.
    r = scim.patch(path, patch([{"op": "remove", "path": "members", "value": [{"value": dan}]}]))
    check_eq("remove with a value of a non-member (Entra ID): 204 as before", r.status, 204)
    # /Bulk runs the same PATCH.
    r = scim.bulk([{"method": "PATCH", "path": path, "bulkId": "p1", "data": patch([rm(ann)])}])
    res = ((r.json() or {}).get("Operations") or [{}])[0]
    check_eq("/Bulk PATCH with a filter that matches nothing: 400", res.get("status"), "400")
    check_eq("... noTarget", (res.get("response") or {}).get("scimType"), "noTarget")
    rc, rows, err = psql(env.db_url, "SELECT count(*) FROM group_members WHERE group_id = '%s'" % gid)
    check_eq("... still one member", rows[0][0] if rc == 0 and rows else err, "1")


if __name__ == "__main__":
    run(main)
