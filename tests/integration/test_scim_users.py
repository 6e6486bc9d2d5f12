"""SCIM Users (RFC 7644 §3.3 POST, §3.4.1 GET, §3.5.1 PUT, §3.5.2 PATCH, §3.6
DELETE, §3.14 ETags) against the real server and PostgreSQL, with bearer
tokens from our own /token: exact statuses, headers (Location, ETag,
Content-Type) and bodies; userName unique without regard to case; password
write-only and stored as an Argon2id hash; attributes / excludedAttributes;
a read-only token (scope scim.read) reads but cannot write; deactivation
ends the user's sessions and refresh tokens."""

from harness import check, check_eq, psql, require, run
from scim_provisioning import (ENTERPRISE, PATCH_OP, USER, Scim, add_scim_client, bearer, media_type, scim_error,
                               scim_token, start)


def sql(env, text):
    rc, rows, err = psql(env.db_url, text)
    require("psql: %s" % text[:60], rc == 0, err)
    return rows


def lit(s):
    return "'" + str(s).replace("'", "''") + "'"


def main(env):
    srv = start(env)
    scim = Scim(srv, scim_token(srv, "prov"))
    reader = Scim(srv, bearer(srv, "reader", add_scim_client(srv, "reader", "scim.read"), "scim.read"))
    base = srv.issuer + "/scim/v2"

    # ---- POST (§3.3): 201, Location, ETag, the resource -------------------------------------
    alice = {"schemas": [USER, ENTERPRISE], "userName": "alice", "externalId": "e-1",
             "name": {"givenName": "Alice", "familyName": "Liddell"}, "displayName": "Alice L",
             "emails": [{"value": "alice@example.com", "type": "work", "primary": True}],
             "password": "correct horse battery staple",
             ENTERPRISE: {"employeeNumber": "42", "department": "R&D"}}
    r = scim.post("/Users", alice)
    require("POST /Users: 201", r.status == 201, r.describe())
    u = r.json() or {}
    uid = u.get("id")
    check_eq("POST: media type application/scim+json", media_type(r), "application/scim+json")
    check_eq("POST: Location is the new resource", r.header("location"), base + "/Users/" + str(uid))
    check_eq("POST: meta.location equals Location", (u.get("meta") or {}).get("location"), r.header("location"))
    etag = r.header("etag") or ""
    check("POST: a weak ETag", etag.startswith('W/"'), r.describe())
    check_eq("POST: ETag equals meta.version", (u.get("meta") or {}).get("version"), etag)
    check_eq("POST: meta.resourceType", (u.get("meta") or {}).get("resourceType"), "User")
    check_eq("POST: userName", u.get("userName"), "alice")
    check_eq("POST: name.givenName", (u.get("name") or {}).get("givenName"), "Alice")
    check_eq("POST: enterprise employeeNumber", (u.get(ENTERPRISE) or {}).get("employeeNumber"), "42")
    check("POST: password absent from the body", "password" not in u, u)
    rows = sql(env, "SELECT password_hash FROM users WHERE id = %s" % lit(uid))
    check("POST: password stored as Argon2id", rows and rows[0][0].startswith("$argon2id$"), rows)

    # ---- uniqueness (§3.3, RFC 7643 §4.1.1: userName case-insensitive) ------------------------
    r = scim.post("/Users", {"schemas": [USER], "userName": "ALICE"})
    scim_error("POST same userName other case", r, 409, "uniqueness")
    check_eq("... nothing created", sql(env, "SELECT count(*) FROM users WHERE lower(user_name) = 'alice'")[0][0],
             "1")

    # ---- GET (§3.4.1) and If-None-Match (§3.14) -----------------------------------------------
    r = scim.get("/Users/" + uid)
    check("GET: 200", r.status == 200, r.describe())
    g = r.json() or {}
    check_eq("GET: same id", g.get("id"), uid)
    check_eq("GET: ETag as on create", r.header("etag"), etag)
    check("GET: no password", "password" not in g, g)
    r = scim.get("/Users/" + uid, headers=["if-none-match: " + etag])
    check_eq("GET If-None-Match current: 304", r.status, 304)
    check_eq("304 carries the ETag", r.header("etag"), etag)
    r = scim.get("/Users/" + uid, headers=['if-none-match: W/"999999"'])
    check_eq("GET If-None-Match stale: 200", r.status, 200)
    r = scim.get("/Users/" + uid, token=reader.token)
    check_eq("GET with scope scim.read: 200", r.status, 200)

    # ---- attributes / excludedAttributes (§3.9) -----------------------------------------------
    r = scim.get("/Users/" + uid, [("attributes", "userName,name.givenName")])
    b = r.json() or {}
    check("attributes=userName,name.givenName: those plus id and schemas",
          r.status == 200 and b.get("userName") == "alice" and b.get("id") == uid
          and (b.get("name") or {}).get("givenName") == "Alice" and "emails" not in b
          and "familyName" not in (b.get("name") or {}) and "displayName" not in b, r.describe())
    r = scim.get("/Users/" + uid, [("excludedAttributes", "emails,name")])
    b = r.json() or {}
    check("excludedAttributes=emails,name: those gone, the rest there",
          r.status == 200 and "emails" not in b and "name" not in b and b.get("displayName") == "Alice L",
          r.describe())

    # ---- unknown and malformed ids: 404 in the SCIM format --------------------------------------
    scim_error("GET unknown id", scim.get("/Users/00000000-0000-4000-8000-000000000000"), 404)
    scim_error("GET malformed id", scim.get("/Users/not-a-uuid"), 404)
    scim_error("GET id with a quote", scim.get("/Users/x'y"), 404)
    scim_error("DELETE malformed id", scim.delete("/Users/123"), 404)

    # ---- PUT (§3.5.1) with If-Match (§3.14) -----------------------------------------------------
    put = {"schemas": [USER], "userName": "alice", "externalId": "e-1",
           "name": {"givenName": "Alicia", "familyName": "Liddell"},
           "emails": [{"value": "alicia@example.com", "type": "work", "primary": True}]}
    r = scim.put("/Users/" + uid, put, headers=['if-match: W/"999999"'])
    scim_error("PUT with a stale If-Match", r, 412)
    check_eq("... nothing changed", scim.get("/Users/" + uid).json().get("name", {}).get("givenName"), "Alice")
    r = scim.put("/Users/" + uid, put, headers=["if-match: " + etag])
    check("PUT with the current If-Match: 200", r.status == 200, r.describe())
    p = r.json() or {}
    check_eq("PUT: givenName replaced", (p.get("name") or {}).get("givenName"), "Alicia")
    check("PUT: displayName (not sent) cleared", "displayName" not in p, p)
    check("PUT: enterprise extension (not sent) cleared", ENTERPRISE not in p, p)
    etag2 = r.header("etag")
    check("PUT: a new ETag", etag2 and etag2 != etag, r.describe())
    check_eq("PUT: ETag equals meta.version", (p.get("meta") or {}).get("version"), etag2)
    r = scim.put("/Users/" + uid, put, headers=["if-match: " + etag])
    scim_error("PUT again with the old ETag", r, 412)
    r = scim.put("/Users/00000000-0000-4000-8000-000000000000", put)
    scim_error("PUT unknown id", r, 404)
    rows = sql(env, "SELECT password_hash IS NOT NULL FROM users WHERE id = %s" % lit(uid))
    check_eq("PUT without password keeps the password", rows[0][0], "t")

    # ---- PATCH (§3.5.2) ---------------------------------------------------------------------------
    r = scim.patch("/Users/" + uid, {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "name.givenName", "value": "Ally"},
        {"op": "add", "path": "nickName", "value": "Al"}]}, headers=["if-match: " + etag2])
    check("PATCH: 200 with the resource", r.status == 200, r.describe())
    p = r.json() or {}
    check("PATCH: both operations applied", (p.get("name") or {}).get("givenName") == "Ally"
          and p.get("nickName") == "Al", p)
    etag3 = r.header("etag")
    check("PATCH: a new ETag", etag3 and etag3 != etag2, r.describe())
    r = scim.patch("/Users/" + uid, {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "nickName", "value": "X"}]}, headers=["if-match: " + etag2])
    scim_error("PATCH with a stale If-Match", r, 412)
    r = scim.patch("/Users/" + uid, {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "password", "value": "a new secret phrase"}]})
    check("PATCH password: 200, not returned", r.status == 200 and "password" not in (r.json() or {}), r.describe())
    rows = sql(env, "SELECT password_hash FROM users WHERE id = %s" % lit(uid))
    check("PATCH password: a new Argon2id hash", rows[0][0].startswith("$argon2id$"), rows)

    # ---- read-only token cannot write (403), no token (401) ---------------------------------------
    r = reader.post("/Users", {"schemas": [USER], "userName": "mallory"})
    scim_error("POST with scope scim.read", r, 403)
    check("... with a Bearer insufficient_scope challenge",
          "insufficient_scope" in (r.header("www-authenticate") or ""), r.describe())
    r = reader.patch("/Users/" + uid, {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    check_eq("PATCH with scope scim.read: 403", r.status, 403)
    r = reader.delete("/Users/" + uid)
    check_eq("DELETE with scope scim.read: 403", r.status, 403)
    check_eq("... nothing written", sql(env, "SELECT count(*) FROM users WHERE user_name = 'mallory'")[0][0], "0")
    r = scim.get("/Users/" + uid, token="")
    check("no token: 401 with a Bearer challenge", r.status == 401
          and (r.header("www-authenticate") or "").startswith("Bearer"), r.describe())

    # ---- deactivation ends sessions and refresh tokens (issue 4 §8) --------------------------------
    sql(env, "INSERT INTO sessions (token_hash, user_id, auth_time, amr, acr, expires_at) VALUES "
             "('\\x%s'::bytea, %s, now(), '{pwd}', 'urn:regain:acr:password', now() + interval '1 hour')"
        % ("ab" * 32, lit(uid)))
    live = "SELECT count(*) FROM sessions WHERE user_id = %s AND ended_at IS NULL AND expires_at > now()" % lit(uid)
    check_eq("a live session before deactivation", sql(env, live)[0][0], "1")
    r = scim.patch("/Users/" + uid, {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    check("PATCH active=false: 200, active false", r.status == 200 and (r.json() or {}).get("active") is False,
          r.describe())
    check_eq("deactivation ended the session", sql(env, live)[0][0], "0")

    # ---- DELETE (§3.6) ----------------------------------------------------------------------------
    r = scim.delete("/Users/" + uid, headers=['if-match: W/"999999"'])
    scim_error("DELETE with a stale If-Match", r, 412)
    r = scim.delete("/Users/" + uid)
    check_eq("DELETE: 204", r.status, 204)
    check_eq("DELETE: empty body", r.body, b"")
    scim_error("GET after DELETE", scim.get("/Users/" + uid), 404)
    scim_error("DELETE again", scim.delete("/Users/" + uid), 404)
    check_eq("the row is gone", sql(env, "SELECT count(*) FROM users WHERE id = %s" % lit(uid))[0][0], "0")

    # ---- methods ----------------------------------------------------------------------------------
    r = scim.request("DELETE", "/Users")
    check("DELETE on the collection: 405, Allow: GET, HEAD, POST",
          r.status == 405 and r.header("allow") == "GET, HEAD, POST", r.describe())
    r = scim.post("/Users/00000000-0000-4000-8000-000000000000", {"schemas": [USER], "userName": "x"})
    check("POST on a resource: 405, Allow: GET, HEAD, PUT, PATCH, DELETE",
          r.status == 405 and r.header("allow") == "GET, HEAD, PUT, PATCH, DELETE", r.describe())


run(main)
