"""A Group PATCH answers what `attributes` asks for.

RFC 7644 §3.5.2: with `attributes` the server returns 200 and "the entire
resource" subject to it, so `?attributes=members` shows the members (the
answer without `attributes` stays a 204, and one whose `attributes` leaves
members out does not read them)."""

from harness import check, check_eq, require, run
from scim_provisioning import GROUP, PATCH_OP, USER, Scim, members_of, scim_token, start


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


if __name__ == "__main__":
    run(main)
