"""Okta provisioning, replayed: the request sequence of Okta's "SCIM 2.0 API
reference" — look the user up (`userName eq` with startIndex=1&count=100),
create it (with a password and an empty read-only `groups`), read it,
replace it with PUT, deactivate and reactivate it with a path-less PATCH
`{"active": false}`, change its password; push a group (create, find by
displayName, rename, add and remove a member by `members[value eq ...]`,
PUT, delete).  Exact statuses; bodies checked attribute by attribute.

Then what deactivation must mean for security (issue 4 §8): once `active`
is false the user's password no longer signs in, the browser session they
had no longer counts, and a refresh token issued before stops working."""

from authorize_browser import REDIRECT, Browser, authorize_params, field_value, pkce, setup_fixtures
from harness import check, check_eq, require, run
from scim_provisioning import GROUP, LIST, PATCH_OP, USER, Scim, members_of, scim_error, scim_token, start
from tokens_fixture import add_client, add_code, add_session, code_form, token

USER_NAME = "test.user@okta.local"
PASSWORD = "1mz050nq-Okta-initial"


def listing(name, r, total):
    b = r.json() or {}
    ok = r.status == 200 and b.get("schemas") == [LIST] and b.get("totalResults") == total
    check("%s: 200 ListResponse, totalResults %d" % (name, total), ok, r.describe())
    check_eq("%s: startIndex 1" % name, b.get("startIndex"), 1)
    res = b.get("Resources", [])
    check_eq("%s: %d resources" % (name, total), len(res), total)
    return res


def patch(ops):
    return {"schemas": [PATCH_OP], "Operations": ops}


def sign_in(srv, username, password):
    """A fresh browser through /authorize and the sign-in form; the browser
    and the answer to POST /login."""
    b = Browser(srv)
    _, challenge = pkce()
    page = b.get("/authorize", authorize_params(challenge))
    require("sign-in page", page.status == 200 and field_value(page.text, "request"), page)
    return b, b.sign_in(page, username, password)


def signed_in(r):
    """The sign-in finished the request: back to the relying party with a code."""
    loc = r.header("location") or ""
    return r.status == 303 and loc.startswith(REDIRECT + "?") and "code=" in loc


def main(env):
    srv = start(env)
    setup_fixtures(srv, env.db_url)  # rp1, the public client of the sign-in tests
    scim = Scim(srv, scim_token(srv, "okta"))

    # ---- Users ----------------------------------------------------------------------------------
    r = scim.get("/Users", [("filter", 'userName eq "%s"' % USER_NAME), ("startIndex", 1), ("count", 100)])
    listing("look the user up before creating it", r, 0)

    create = {
        "schemas": [USER],
        "userName": USER_NAME,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": USER_NAME, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": PASSWORD,
        "active": True,
    }
    r = scim.post("/Users", create)
    require("POST /Users: 201", r.status == 201, r.describe())
    u = r.json() or {}
    uid = u.get("id")
    check_eq("... Location", r.header("location"), srv.issuer + "/scim/v2/Users/%s" % uid)
    check_eq("... userName, displayName, locale, externalId, active",
             [u.get(k) for k in ("userName", "displayName", "locale", "externalId", "active")],
             [USER_NAME, "Test User", "en-US", "00ujl29u0le5T6Aj10h7", True])
    check_eq("... name", u.get("name"), create["name"])
    check_eq("... emails", u.get("emails"), create["emails"])
    check("... the password is never returned", "password" not in u and PASSWORD not in r.text, r.describe())

    r = scim.get("/Users/" + uid)
    check_eq("GET /Users/{id}: 200", r.status, 200)
    check("... no password", "password" not in (r.json() or {}), r.describe())
    r = scim.get("/Users", [("filter", 'userName eq "%s"' % USER_NAME), ("startIndex", 1), ("count", 100)])
    res = listing("look the user up after creating it", r, 1)
    check_eq("... the user", res[0].get("id") if res else None, uid)

    # PUT: Okta sends the whole user back, id included, with the change.
    put = dict(create, id=uid, name={"givenName": "Another", "familyName": "User"})
    put.pop("password")
    r = scim.put("/Users/" + uid, put)
    check_eq("PUT /Users/{id}: 200", r.status, 200)
    u = r.json() or {}
    check_eq("... name replaced", u.get("name"), {"givenName": "Another", "familyName": "User"})
    check_eq("... the rest kept", [u.get(k) for k in ("userName", "displayName", "externalId", "active")],
             [USER_NAME, "Test User", "00ujl29u0le5T6Aj10h7", True])
    check_eq("... same id", u.get("id"), uid)

    # ---- before deactivation: the password signs in; a refresh token works ------------------------------
    b_before, r = sign_in(srv, USER_NAME, PASSWORD)
    check("the SCIM password signs in", signed_in(r), r)
    add_client(srv, "app")
    sid = add_session(env, uid)
    code, verifier = add_code(env, "app", uid, sid, scope="openid profile offline_access")
    r = token(srv, code_form(code, verifier, "app"))
    rt = (r.json() or {}).get("refresh_token")
    require("a refresh token for the user", r.status == 200 and rt, r.describe())
    r = token(srv, {"grant_type": "refresh_token", "refresh_token": rt, "client_id": "app"})
    check_eq("... it refreshes while the user is active", r.status, 200)
    rt = (r.json() or {}).get("refresh_token") or rt

    # ---- deactivate, as Okta does ------------------------------------------------------------------------
    r = scim.patch("/Users/" + uid, patch([{"op": "replace", "value": {"active": False}}]))
    check_eq("PATCH replace {active: false}: 200", r.status, 200)
    check("... active false", (r.json() or {}).get("active") is False, r.describe())

    r = token(srv, {"grant_type": "refresh_token", "refresh_token": rt, "client_id": "app"})
    check("a refresh token from before deactivation: invalid_grant",
          r.status == 400 and (r.json() or {}).get("error") == "invalid_grant", r.describe())
    _, r = sign_in(srv, USER_NAME, PASSWORD)
    check("the right password no longer signs in", not signed_in(r), r)
    _, challenge = pkce()
    r = b_before.get("/authorize", authorize_params(challenge))
    check("the session from before no longer counts: the sign-in page again",
          r.status == 200 and field_value(r.text, "request"), r)

    # ---- reactivate; a new password --------------------------------------------------------------------
    r = scim.patch("/Users/" + uid, patch([{"op": "replace", "value": {"active": True}}]))
    check("PATCH replace {active: true}: 200, active", r.status == 200 and (r.json() or {}).get("active") is True,
          r.describe())
    r = token(srv, {"grant_type": "refresh_token", "refresh_token": rt, "client_id": "app"})
    check_eq("... the revoked refresh token stays revoked", r.status, 400)
    _, r = sign_in(srv, USER_NAME, PASSWORD)
    check("... the password signs in again", signed_in(r), r)
    r = scim.patch("/Users/" + uid, patch([{"op": "replace", "value": {"password": "a-new-Okta-password-2"}}]))
    check_eq("PATCH replace {password}: 200", r.status, 200)
    check("... not echoed", "password" not in (r.json() or {}) and "a-new-Okta" not in r.text, r.describe())
    _, r = sign_in(srv, USER_NAME, PASSWORD)
    check("... the old password no longer signs in", not signed_in(r), r)
    _, r = sign_in(srv, USER_NAME, "a-new-Okta-password-2")
    check("... the new one does", signed_in(r), r)

    # ---- Groups (group push) -------------------------------------------------------------------------------
    r = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})
    require("POST /Groups: 201", r.status == 201, r.describe())
    g = r.json() or {}
    gid = g.get("id")
    check_eq("... Location", r.header("location"), srv.issuer + "/scim/v2/Groups/%s" % gid)
    check_eq("... displayName", g.get("displayName"), "Test SCIMv2")
    r = scim.get("/Groups", [("filter", 'displayName eq "Test SCIMv2"'), ("startIndex", 1), ("count", 100)])
    res = listing("look the group up", r, 1)
    check_eq("... the group", res[0].get("id") if res else None, gid)
    r = scim.get("/Groups/" + gid)
    check_eq("GET /Groups/{id}: 200", r.status, 200)

    r = scim.patch("/Groups/" + gid, patch([{"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2 b"}}]))
    check("rename by PATCH replace {id, displayName}: 204 (or 200)", r.status in (200, 204), r.describe())
    check_eq("... renamed", (scim.get("/Groups/" + gid).json() or {}).get("displayName"), "Test SCIMv2 b")

    r = scim.patch("/Groups/" + gid, patch([{"op": "add", "path": "members",
                                              "value": [{"value": uid, "display": USER_NAME}]}]))
    check("add a member: 204 (or 200)", r.status in (200, 204), r.describe())
    check_eq("... members", members_of(scim.get("/Groups/" + gid).json()), [uid])
    r = scim.patch("/Groups/" + gid, patch([{"op": "remove", "path": 'members[value eq "%s"]' % uid}]))
    check("remove it by members[value eq ...]: 204 (or 200)", r.status in (200, 204), r.describe())
    check_eq("... no members", members_of(scim.get("/Groups/" + gid).json()), [])

    r = scim.put("/Groups/" + gid, {"schemas": [GROUP], "id": gid, "displayName": "Test SCIMv2",
                                    "members": [{"value": uid, "display": USER_NAME}]})
    check_eq("PUT /Groups/{id}: 200", r.status, 200)
    check_eq("... displayName and members replaced",
             ((r.json() or {}).get("displayName"), members_of(r.json())), ("Test SCIMv2", [uid]))

    r = scim.delete("/Groups/" + gid)
    check_eq("DELETE /Groups/{id}: 204", r.status, 204)
    scim_error("... gone", scim.get("/Groups/" + gid), 404)
    check("... the user remains", scim.get("/Users/" + uid).status == 200)

    srv.stop()


run(main)
