"""Microsoft Entra ID provisioning, replayed: the request sequence of
Microsoft's "Develop and plan provisioning for a SCIM endpoint in Microsoft
Entra ID" tutorial (user and group operations), in the shapes Entra sends:
capitalised `op` ("Replace", "Add", "Remove"), booleans as strings ("False"),
PATCH on `active`, value paths (`emails[type eq "work"].value`), the
enterprise extension, the query-before-create filters `userName eq` and
`externalId eq`, a Microsoft group schema URN, member add and remove with
"$ref": null.  Exact statuses; bodies checked attribute by attribute (ids,
timestamps and versions are the server's)."""

from harness import check, check_eq, require, run
from scim_provisioning import (ENTERPRISE, GROUP, LIST, PATCH_OP, USER, Scim, media_type, members_of,
                               scim_error, scim_token, start)

MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def listing(name, r, total):
    b = r.json() or {}
    ok = r.status == 200 and b.get("schemas") == [LIST] and b.get("totalResults") == total
    check("%s: 200 ListResponse, totalResults %d" % (name, total), ok, r.describe())
    check("%s: startIndex 1" % name, b.get("startIndex") == 1, b)
    res = b.get("Resources", [])
    check_eq("%s: %d resources" % (name, total), len(res), total)
    return res


def patch(ops):
    return {"schemas": [PATCH_OP], "Operations": ops}


def resource_headers(name, r, doc, kind, issuer):
    loc = (doc.get("meta") or {}).get("location")
    check("%s: meta.location is the resource URL" % name,
          loc == issuer + "/scim/v2/%s/%s" % (kind, doc.get("id")), doc.get("meta"))
    check_eq("%s: ETag header is meta.version" % name, r.header("etag"), (doc.get("meta") or {}).get("version"))
    check_eq("%s: media type" % name, media_type(r), "application/scim+json")


def main(env):
    srv = start(env)
    scim = Scim(srv, scim_token(srv, "entra"))
    user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
    external_id = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"

    # ---- Get User by query (before create): zero results -----------------------------------
    r = scim.get("/Users", [("filter", 'userName eq "%s"' % user_name)])
    listing("query before create", r, 0)
    r = scim.get("/Users", [("filter", 'userName eq "non-existent user"')])
    listing("query for a user that does not exist", r, 0)

    # ---- Create User ----------------------------------------------------------------------------
    create = {
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    }
    r = scim.post("/Users", create)
    require("Create User: 201", r.status == 201, r.describe())
    u = r.json() or {}
    uid = u.get("id")
    check("... an id assigned by the server", isinstance(uid, str) and len(uid) > 0, u)
    check_eq("... Location header", r.header("location"), srv.issuer + "/scim/v2/Users/%s" % uid)
    resource_headers("Create User", r, u, "Users", srv.issuer)
    check("... schemas include the core User schema", USER in (u.get("schemas") or []), u.get("schemas"))
    check_eq("... userName, externalId, active",
             (u.get("userName"), u.get("externalId"), u.get("active")), (user_name, external_id, True))
    check_eq("... emails", u.get("emails"), create["emails"])
    check_eq("... name", u.get("name"), create["name"])
    check_eq("... meta.resourceType", (u.get("meta") or {}).get("resourceType"), "User")
    check("... meta.created and lastModified", (u.get("meta") or {}).get("created") and
          (u.get("meta") or {}).get("lastModified"), u.get("meta"))

    r = scim.post("/Users", create)
    scim_error("Create User again (same userName)", r, 409, "uniqueness")
    dup = dict(create, userName=user_name.upper(), externalId="other")
    r = scim.post("/Users", dup)
    scim_error("... userName differing only in case", r, 409, "uniqueness")

    # ---- Get User, Get User by query --------------------------------------------------------------
    r = scim.get("/Users/" + uid)
    check_eq("Get User: 200", r.status, 200)
    check_eq("... the same resource", ((r.json() or {}).get("id"), (r.json() or {}).get("userName")), (uid, user_name))
    r = scim.get("/Users", [("filter", 'userName eq "%s"' % user_name)])
    res = listing("Get User by query (userName eq)", r, 1)
    check_eq("... the user", res[0].get("id") if res else None, uid)
    r = scim.get("/Users", [("filter", 'userName eq "%s"' % user_name.lower())])
    listing("... userName is caseExact false", r, 1)
    r = scim.get("/Users", [("filter", 'externalId eq "%s"' % external_id)])
    res = listing("Get User by query (externalId eq)", r, 1)
    check_eq("... the user", res[0].get("id") if res else None, uid)

    # ---- Update User [Multi-valued properties] --------------------------------------------------
    r = scim.patch("/Users/" + uid, patch([
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]))
    check_eq("Update User [Multi-valued properties]: 200", r.status, 200)
    u = r.json() or {}
    check_eq("... the work email", [e.get("value") for e in u.get("emails", []) if e.get("type") == "work"],
             ["updatedEmail@microsoft.com"])
    check_eq("... familyName", (u.get("name") or {}).get("familyName"), "updatedFamilyName")
    check_eq("... givenName untouched", (u.get("name") or {}).get("givenName"), "givenName")

    # ---- Update User [Single-valued properties] ---------------------------------------------------
    new_name = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    r = scim.patch("/Users/" + uid, patch([{"op": "Replace", "path": "userName", "value": new_name}]))
    check_eq("Update User [Single-valued properties]: 200", r.status, 200)
    check_eq("... userName", (r.json() or {}).get("userName"), new_name)
    listing("... found by its new userName", scim.get("/Users", [("filter", 'userName eq "%s"' % new_name)]), 1)
    listing("... not by the old one", scim.get("/Users", [("filter", 'userName eq "%s"' % user_name)]), 0)

    # Enterprise extension attribute by its full path, as Entra maps department.
    r = scim.patch("/Users/" + uid, patch([{"op": "Add", "path": ENTERPRISE + ":department", "value": "Finance"}]))
    check_eq("Add an enterprise attribute by URN path: 200", r.status, 200)
    check_eq("... department", ((r.json() or {}).get(ENTERPRISE) or {}).get("department"), "Finance")

    # ---- Disable User: "False" as Entra sends it, then the documented boolean ------------------------
    r = scim.patch("/Users/" + uid, patch([{"op": "Replace", "path": "active", "value": "False"}]))
    check_eq("Disable User with the string \"False\": 200", r.status, 200)
    check("... active is the boolean false", (r.json() or {}).get("active") is False, r.describe())
    r = scim.patch("/Users/" + uid, patch([{"op": "Replace", "path": "active", "value": "True"}]))
    check("... \"True\" enables again", r.status == 200 and (r.json() or {}).get("active") is True, r.describe())
    r = scim.patch("/Users/" + uid, patch([{"op": "Replace", "path": "active", "value": False}]))
    check_eq("Disable User (documented request): 200", r.status, 200)
    check("... active false", (r.json() or {}).get("active") is False, r.describe())
    check("... and on GET", (scim.get("/Users/" + uid).json() or {}).get("active") is False)
    r = scim.patch("/Users/" + uid, patch([{"op": "Replace", "value": {"active": "True"}}]))
    check("a Replace without path whose value holds \"True\": active again",
          r.status == 200 and (r.json() or {}).get("active") is True, r.describe())

    # ---- Create Group ---------------------------------------------------------------------------------
    gext = "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    create_group = {"schemas": [GROUP, MS_GROUP], "externalId": gext, "displayName": "displayName",
                    "meta": {"resourceType": "Group"}}
    # Microsoft's group URN names no attribute of the body: ignored (RFC 7643
    # §3, RFC 7644 §3.3), not invalidValue; the stored group lists the core
    # schema only.
    r = scim.post("/Groups", create_group)
    require("Create Group (with Microsoft's group schema URN): 201", r.status == 201, r.describe())
    g = r.json() or {}
    check_eq("... schemas: the core Group schema", g.get("schemas"), [GROUP])
    r2 = scim.post("/Groups", dict(create_group, displayName="with MS attributes", externalId="other",
                                   **{MS_GROUP: {"objectId": "x"}}))
    scim_error("... an attribute under that URN is still refused", r2, 400, "invalidValue")
    gid = g.get("id")
    resource_headers("Create Group", r, g, "Groups", srv.issuer)
    check_eq("... displayName, externalId", (g.get("displayName"), g.get("externalId")), ("displayName", gext))
    check_eq("... no members yet", g.get("members") or [], [])

    # ---- Get Group, Get Group by displayName ----------------------------------------------------------
    r = scim.get("/Groups/" + gid, [("excludedAttributes", "members")])
    check_eq("Get Group (excludedAttributes=members): 200", r.status, 200)
    check("... no members attribute", "members" not in (r.json() or {}), r.describe())
    r = scim.get("/Groups", [("excludedAttributes", "members"), ("filter", 'displayName eq "displayName"')])
    res = listing("Get Group by displayName", r, 1)
    check_eq("... the group, without members", (res[0].get("id"), "members" in res[0]) if res else None,
             (gid, False))

    # ---- Update Group [Non-member attributes] ------------------------------------------------------------
    new_display = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    r = scim.patch("/Groups/" + gid, patch([{"op": "Replace", "path": "displayName", "value": new_display}]))
    check("Update Group [Non-member attributes]: 204 (or 200 with the group)", r.status in (200, 204), r.describe())
    check_eq("... renamed", (scim.get("/Groups/" + gid).json() or {}).get("displayName"), new_display)

    # ---- Update Group [Add Members] / [Remove Members] --------------------------------------------------
    r = scim.patch("/Groups/" + gid, patch([{"op": "Add", "path": "members",
                                              "value": [{"$ref": None, "value": uid}]}]))
    check("Update Group [Add Members]: 204 (or 200)", r.status in (200, 204), r.describe())
    check_eq("... the member", members_of(scim.get("/Groups/" + gid).json()), [uid])
    r = scim.get("/Users/" + uid)
    check_eq("... the user's groups list it", [x.get("value") for x in (r.json() or {}).get("groups", [])], [gid])
    r = scim.patch("/Groups/" + gid, patch([{"op": "Add", "path": "members",
                                              "value": [{"$ref": None, "value": uid}]}]))
    check("... adding the same member again is not an error", r.status in (200, 204), r.describe())
    check_eq("... still one member", members_of(scim.get("/Groups/" + gid).json()), [uid])
    r = scim.patch("/Groups/" + gid, patch([{"op": "Add", "path": "members",
                                              "value": [{"$ref": None, "value": "0b5f2bdc-7c06-4a59-9b0f-000000000000"}]}]))
    check("... a member that does not exist: 400 or 404", r.status in (400, 404), r.describe())
    r = scim.patch("/Groups/" + gid, patch([{"op": "Remove", "path": "members",
                                              "value": [{"$ref": None, "value": uid}]}]))
    check("Update Group [Remove Members]: 204 (or 200)", r.status in (200, 204), r.describe())
    check_eq("... no members", members_of(scim.get("/Groups/" + gid).json()), [])
    scim.patch("/Groups/" + gid, patch([{"op": "Add", "path": "members", "value": [{"value": uid}]}]))
    r = scim.patch("/Groups/" + gid, patch([{"op": "Remove", "path": 'members[value eq "%s"]' % uid}]))
    check("Remove Members by value filter: 204 (or 200)", r.status in (200, 204), r.describe())
    check_eq("... no members", members_of(scim.get("/Groups/" + gid).json()), [])

    # ---- Delete User, Delete Group --------------------------------------------------------------------
    scim.patch("/Groups/" + gid, patch([{"op": "Add", "path": "members", "value": [{"value": uid}]}]))
    r = scim.delete("/Users/" + uid)
    check_eq("Delete User: 204", r.status, 204)
    check_eq("... empty body", r.body, b"")
    scim_error("... then Get User", scim.get("/Users/" + uid), 404)
    check_eq("... and its membership went with it", members_of(scim.get("/Groups/" + gid).json()), [])
    scim_error("Delete User again", scim.delete("/Users/" + uid), 404)
    r = scim.delete("/Groups/" + gid)
    check_eq("Delete Group: 204", r.status, 204)
    scim_error("... then Get Group", scim.get("/Groups/" + gid), 404)

    srv.stop()


run(main)
