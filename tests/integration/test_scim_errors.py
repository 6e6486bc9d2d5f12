"""SCIM errors (RFC 7644 §3.12): each bad request gets its status and
scimType in the SCIM error format with the SCIM media type, and changes
nothing in the database: malformed JSON, duplicate keys, a body that is not
an object, a wrong media type (415), a wrong type, an unknown attribute, a
missing required attribute, a read-only attribute, an oversized body (413),
a bad PATCH, an unknown id (404), an unsupported method (405), an unknown
endpoint under /scim/v2 (404) and the unsupported /Me alias (501)."""

from harness import check, check_eq, psql, require, run
from scim_provisioning import PATCH_OP, USER, Scim, media_type, scim_error, scim_token, start


def users(env):
    rc, rows, err = psql(env.db_url, "SELECT count(*), coalesce(max(version), 0) FROM users")
    require("psql", rc == 0, err)
    return rows[0]


def main(env):
    srv = start(env)
    scim = Scim(srv, scim_token(srv, "prov"))
    r = scim.post("/Users", {"schemas": [USER], "userName": "zoe", "title": "CTO"})
    require("a user", r.status == 201, r.describe())
    uid = r.json()["id"]
    before = users(env)

    def unchanged(name):
        check_eq("%s: nothing changed" % name, users(env), before)

    r = scim.request("POST", "/Users", '{"schemas": ["%s"], "userName": "x",' % USER)
    scim_error("malformed JSON", r, 400, "invalidSyntax")
    check_eq("... media type application/scim+json", media_type(r), "application/scim+json")
    unchanged("malformed JSON")
    r = scim.request("POST", "/Users", '{"schemas": ["%s"], "userName": "x", "UserName": "y"}' % USER)
    scim_error("keys differing only in case", r, 400, "invalidSyntax")
    r = scim.request("POST", "/Users", '["not an object"]')
    scim_error("an array body", r, 400, "invalidSyntax")
    r = scim.request("POST", "/Users", '{"schemas": ["%s"], "userName": "x"}' % USER, content_type="text/plain")
    scim_error("text/plain body", r, 415)
    r = scim.request("POST", "/Users", '{"schemas": ["%s"], "userName": "x"}' % USER,
                     content_type="application/json")
    check_eq("application/json is accepted (RFC 7644 §8.1)", r.status, 201)
    before = users(env)
    r = scim.post("/Users", {"schemas": [USER], "userName": 12})
    scim_error("wrong type", r, 400, "invalidValue")
    unchanged("wrong type")
    r = scim.post("/Users", {"schemas": [USER], "userName": "y", "favouriteColour": "blue"})
    check("unknown attribute: 400 invalidSyntax or invalidValue", r.status == 400
          and (r.json() or {}).get("scimType") in ("invalidSyntax", "invalidValue"), r.describe())
    unchanged("unknown attribute")
    r = scim.post("/Users", {"schemas": [USER], "displayName": "no userName"})
    scim_error("missing userName", r, 400, "invalidValue")
    unchanged("missing userName")
    r = scim.post("/Users", {"schemas": [USER], "userName": "y" * 2 * 1024 * 1024})
    scim_error("oversized body", r, 413)
    unchanged("oversized body")
    r = scim.patch("/Users/" + uid, {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "id", "value": "00000000-0000-4000-8000-000000000000"}]})
    scim_error("PATCH of the read-only id", r, 400, "mutability")
    unchanged("PATCH of id")
    r = scim.patch("/Users/" + uid, {"schemas": [PATCH_OP], "Operations": [{"op": "jump", "path": "title"}]})
    check("PATCH with an unknown op: 400", r.status == 400 and (r.json() or {}).get("status") == "400",
          r.describe())
    r = scim.patch("/Users/" + uid, {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "title[", "value": "x"}]})
    scim_error("PATCH with a bad path", r, 400, "invalidPath")
    r = scim.patch("/Users/" + uid, {"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": 'emails[type eq "work"]'}]})
    check("PATCH remove of no target: 400 noTarget or 200",
          r.status == 200 or (r.json() or {}).get("scimType") == "noTarget", r.describe())
    r = scim.patch("/Users/" + uid, {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "title", "value": "CEO"}, {"op": "replace", "path": "active", "value": 7}]})
    check("PATCH: a bad second operation fails the whole request", r.status == 400, r.describe())
    check_eq("... the first operation was not applied", (scim.get("/Users/" + uid).json() or {}).get("title"),
             "CTO")
    unchanged("failed PATCH")
    r = scim.put("/Users/" + uid, {"schemas": [USER], "userName": "zoe", "title": "CTO",
                                   "meta": {"created": "1999-01-01T00:00:00Z"}, "id": "whatever"})
    check("PUT: read-only id/meta ignored (§3.5.1)", r.status == 200 and (r.json() or {}).get("id") == uid
          and not ((r.json() or {}).get("meta") or {}).get("created", "").startswith("1999"), r.describe())
    scim_error("unknown id", scim.get("/Users/11111111-1111-4111-8111-111111111111"), 404)
    r = scim.request("PUT", "/Users")
    check_eq("PUT on the collection: 405", r.status, 405)
    check_eq("... with Allow", r.header("allow"), "GET, HEAD, POST")
    # A method the gateway does not know reaches SCIM too: a 405 in SCIM's
    # format naming the resource's own methods (RFC 9110 §15.5.6), not every
    # method some SCIM resource takes.
    for path, allow in (("/Users", "GET, HEAD, POST"), ("/Users/" + uid, "GET, HEAD, PUT, PATCH, DELETE"),
                        ("/Groups", "GET, HEAD, POST"), ("/Users/.search", "POST"),
                        ("/ServiceProviderConfig", "GET, HEAD"), ("/Schemas", "GET, HEAD")):
        r = scim.request("OPTIONS", path)
        scim_error("OPTIONS %s" % path, r, 405)
        check_eq("... Allow: %s" % allow, r.header("allow"), allow)
    scim_error("OPTIONS on an unknown endpoint", scim.request("OPTIONS", "/Nope"), 404)
    scim_error("unknown path below a resource", scim.get("/Users/%s/extra" % uid), 404)
    # Everything else under /scim/v2 is SCIM's too, errors included.
    for path in ("/Nope", "/Userz", "/ServiceProviderConfig/x"):
        r = scim.get(path)
        scim_error("unknown endpoint %s" % path, r, 404)
        check_eq("... media type application/scim+json", media_type(r), "application/scim+json")
    for method, path in (("GET", "/Me"), ("PATCH", "/Me"), ("GET", "/Me/x")):
        scim_error("%s %s: the /Me alias is not supported (RFC 7644 §3.11)" % (method, path),
                   scim.request(method, path, "{}" if method == "PATCH" else None), 501)
    check_eq("/Users still answers beside the catch-all", scim.get("/Users?count=1").status, 200)


run(main)
