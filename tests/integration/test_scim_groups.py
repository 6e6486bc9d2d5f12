"""SCIM Groups (RFC 7644 §3.3, §3.4.1, §3.5.1, §3.5.2, §3.6): create with
members, read (members shown unless excluded), PUT replaces members, PATCH
member add/remove by value path (applied in the database, answered 204 per
§3.5.2 unless `attributes` is asked for), unknown members refused with
nothing changed, If-Match, deleting a user removes its memberships, deleting
a group; exact statuses, headers and bodies."""

from harness import check, check_eq, psql, require, run
from scim_provisioning import GROUP, PATCH_OP, USER, Scim, media_type, members_of, scim_error, scim_token, start


def count(env, text):
    rc, rows, err = psql(env.db_url, text)
    require("psql: %s" % text[:60], rc == 0, err)
    return rows[0][0]


def patch(ops):
    return {"schemas": [PATCH_OP], "Operations": ops}


def main(env):
    srv = start(env)
    scim = Scim(srv, scim_token(srv, "prov"))
    base = srv.issuer + "/scim/v2"
    ids = []
    for n in ("ann", "bob", "cat"):
        r = scim.post("/Users", {"schemas": [USER], "userName": n})
        require("user %s created" % n, r.status == 201, r.describe())
        ids.append(r.json()["id"])
    ann, bob, cat = ids

    # ---- POST with members ----------------------------------------------------------------------
    r = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Eligible", "externalId": "g-1",
                              "members": [{"value": ann}, {"value": bob, "type": "User"}]})
    require("POST /Groups: 201", r.status == 201, r.describe())
    g = r.json() or {}
    gid = g.get("id")
    check_eq("POST: Location", r.header("location"), base + "/Groups/" + str(gid))
    check_eq("POST: media type", media_type(r), "application/scim+json")
    check_eq("POST: ETag equals meta.version", r.header("etag"), (g.get("meta") or {}).get("version"))
    check_eq("POST: members", members_of(g), sorted([ann, bob]))
    check_eq("POST: displayName", g.get("displayName"), "Eligible")

    r = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Bad",
                              "members": [{"value": "00000000-0000-4000-8000-000000000000"}]})
    scim_error("POST with an unknown member", r, 400, "invalidValue")
    check_eq("... no group created", count(env, "SELECT count(*) FROM groups WHERE display_name = 'Bad'"), "0")

    # ---- GET -----------------------------------------------------------------------------------
    r = scim.get("/Groups/" + gid)
    check("GET: 200 with members", r.status == 200 and members_of(r.json()) == sorted([ann, bob]), r.describe())
    etag = r.header("etag")
    r = scim.get("/Groups/" + gid, [("excludedAttributes", "members")])
    check("GET excludedAttributes=members: no members", r.status == 200 and "members" not in (r.json() or {}),
          r.describe())
    # RFC 7644 §3.9: excludedAttributes removes the attributes it names; a
    # sub-attribute of members names only that sub-attribute.
    for excluded in ("members.display", "urn:ietf:params:scim:schemas:core:2.0:Group:members.display"):
        r = scim.get("/Groups/" + gid, [("excludedAttributes", excluded)])
        got = (r.json() or {}).get("members") or []
        check("GET excludedAttributes=%s: members without display" % excluded,
              r.status == 200 and members_of(r.json()) == sorted([ann, bob])
              and all("display" not in m for m in got), r.describe())
        r = scim.get("/Groups", [("filter", 'displayName eq "Eligible"'), ("excludedAttributes", excluded)])
        docs = (r.json() or {}).get("Resources") or [{}]
        check("list excludedAttributes=%s: members without display" % excluded,
              r.status == 200 and members_of(docs[0]) == sorted([ann, bob])
              and all("display" not in m for m in docs[0].get("members") or []), r.describe())
    r = scim.get("/Groups/" + gid, headers=["if-none-match: " + str(etag)])
    check_eq("GET If-None-Match: 304", r.status, 304)
    scim_error("GET malformed group id", scim.get("/Groups/zzz"), 404)

    # ---- PATCH members (value paths) -------------------------------------------------------------
    r = scim.patch("/Groups/" + gid, patch([{"op": "add", "path": "members", "value": [{"value": cat}]}]))
    check_eq("PATCH add member: 204", r.status, 204)
    check("PATCH: a new ETag", r.header("etag") and r.header("etag") != etag, r.describe())
    r = scim.get("/Groups/" + gid)
    check_eq("... cat is a member", members_of(r.json()), sorted([ann, bob, cat]))
    r = scim.patch("/Groups/" + gid, patch([{"op": "remove", "path": 'members[value eq "%s"]' % bob}]))
    check_eq("PATCH remove by value path: 204", r.status, 204)
    check_eq("... bob is gone", members_of(scim.get("/Groups/" + gid).json()), sorted([ann, cat]))
    before = count(env, "SELECT count(*) FROM group_members WHERE group_id = '%s'" % gid)
    r = scim.patch("/Groups/" + gid, patch([
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "add", "path": "members", "value": [{"value": "00000000-0000-4000-8000-000000000000"}]}]))
    scim_error("PATCH adding an unknown member", r, 400, "invalidValue")
    check_eq("... membership unchanged", count(env, "SELECT count(*) FROM group_members WHERE group_id = '%s'"
                                                % gid), before)
    check_eq("... displayName unchanged (one transaction)",
             count(env, "SELECT display_name FROM groups WHERE id = '%s'" % gid), "Eligible")
    r = scim.patch("/Groups/" + gid + "?attributes=displayName",
                   patch([{"op": "replace", "path": "displayName", "value": "Renamed"}]))
    check("PATCH with attributes: 200 and the resource", r.status == 200
          and (r.json() or {}).get("displayName") == "Renamed", r.describe())
    r = scim.patch("/Groups/" + gid, patch([{"op": "replace", "path": "displayName", "value": "X"}]),
                   headers=['if-match: W/"999999"'])
    scim_error("PATCH with a stale If-Match", r, 412)

    # ---- PUT replaces members ----------------------------------------------------------------------
    r = scim.put("/Groups/" + gid, {"schemas": [GROUP], "displayName": "Eligible", "members": [{"value": bob}]})
    check("PUT: 200", r.status == 200, r.describe())
    check_eq("PUT: members replaced", members_of(scim.get("/Groups/" + gid).json()), [bob])

    # ---- deleting a user removes its memberships ----------------------------------------------------
    r = scim.delete("/Users/" + bob)
    check_eq("DELETE member user: 204", r.status, 204)
    check_eq("... membership gone", members_of(scim.get("/Groups/" + gid).json()), [])
    check_eq("... no group_members rows", count(env, "SELECT count(*) FROM group_members WHERE member_id = '%s'"
                                                % bob), "0")

    # ---- DELETE ---------------------------------------------------------------------------------------
    r = scim.delete("/Groups/" + gid)
    check_eq("DELETE group: 204", r.status, 204)
    scim_error("GET deleted group", scim.get("/Groups/" + gid), 404)
    check_eq("users stay", count(env, "SELECT count(*) FROM users WHERE id IN ('%s', '%s')" % (ann, cat)), "2")


run(main)
