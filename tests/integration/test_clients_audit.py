"""Every change to a client is an audit event, written in the same statement
as the change (schema/008_audit.sql): registering, replacing, rotating the
secret and removing, through the admin API (actor admin:<client id>, the
caller's address and User-Agent) and through `regain client` (actor cli).

A client and its secret are credentials to the whole OpenID Provider: one
with the `admin` scope holds the admin API, one with `scim` the directory.
Until now the TAP and policy changes were audited but none of these: whoever
held an admin token could register a client, mint it a new secret or remove
one, and the audit log (GET /admin/v1/audit) showed nothing. A refused change
leaves no event."""

import json

from harness import check, check_eq, curl, require, run
from scim_provisioning import bearer

UA = "audit-test/1.0"


def api(srv, method, path, at, body=None):
    args = ["--http2", "-k", "-X", method, "-A", UA, "-H", "authorization: Bearer " + at]
    if body is not None:
        args += ["-H", "content-type: application/json", "--data-binary", json.dumps(body)]
    return curl(*(args + [srv.https("/admin/v1/clients" + path)]))


def events(srv, at):
    r = curl("--http2", "-k", "-H", "authorization: Bearer " + at,
             srv.https("/admin/v1/audit?type=client.*&limit=500"))
    require("audit list", r.status == 200, r.describe())
    return list(reversed((r.json() or {}).get("value", [])))  # oldest first


def detail(e):
    return e.get("detail") or {}


def main(env):
    srv = env.regain()
    p = srv.cli("client", "add", "--id", "boss", "--grant-types", "client_credentials", "--scopes", "admin", "--json")
    require("admin client registered", p.returncode == 0, p.stderr)
    at = bearer(srv, "boss", json.loads(p.stdout)["client_secret"], "admin")

    ev = events(srv, at)
    require("the CLI's registration is one event", len(ev) == 1, repr(ev))
    check_eq("CLI add: type", ev[0].get("type"), "client.registered")
    check_eq("CLI add: actor", ev[0].get("actor"), "cli")
    check_eq("CLI add: clientId", detail(ev[0]).get("clientId"), "boss")

    web = {"client_id": "web1", "redirect_uris": ["https://app.example/cb"], "scope": "openid"}
    check_eq("create: 201", api(srv, "POST", "", at, web).status, 201)
    web["client_name"] = "Web One"
    check_eq("replace: 200", api(srv, "PUT", "/web1", at, web).status, 200)
    check_eq("rotate: 200", api(srv, "POST", "/web1/secret", at).status, 200)
    check_eq("delete: 204", api(srv, "DELETE", "/web1", at).status, 204)
    # Refused changes: nothing happened, so nothing is recorded.
    check_eq("create again with a taken id: 409", api(srv, "POST", "", at, dict(web, client_id="boss")).status, 409)
    check_eq("delete an unknown client: 404", api(srv, "DELETE", "/web1", at).status, 404)
    check_eq("rotate an unknown client: 404", api(srv, "POST", "/web1/secret", at).status, 404)

    ev = events(srv, at)[1:]
    check_eq("one event per change, in order", [e.get("type") for e in ev],
             ["client.registered", "client.updated", "client.secret_rotated", "client.removed"])
    for e in ev:
        t = e.get("type")
        check_eq("%s: actor is the admin client" % t, e.get("actor"), "admin:boss")
        check_eq("%s: clientId" % t, detail(e).get("clientId"), "web1")
        check_eq("%s: outcome" % t, e.get("outcome"), "success")
        check_eq("%s: User-Agent" % t, e.get("userAgent"), UA)
        check("%s: client address" % t, e.get("clientAddress") in ("127.0.0.1", "::1"), repr(e))
    blob = json.dumps(ev)
    check("the events carry no client secret", '"client_secret"' not in blob, blob[:400])

    p = srv.cli("client", "remove", "boss")
    check("CLI remove exits 0", p.returncode == 0, p.stderr)
    # boss is gone, so read the log with a new admin client.
    p = srv.cli("client", "add", "--id", "boss2", "--grant-types", "client_credentials", "--scopes", "admin",
                "--json")
    require("second admin client", p.returncode == 0, p.stderr)
    at2 = bearer(srv, "boss2", json.loads(p.stdout)["client_secret"], "admin")
    ev = events(srv, at2)
    removed = [e for e in ev if e.get("type") == "client.removed" and detail(e).get("clientId") == "boss"]
    check("CLI remove: one client.removed for boss", len(removed) == 1, repr(ev))
    check("... by the cli", removed and removed[0].get("actor") == "cli", repr(removed))
    srv.stop()


if __name__ == "__main__":
    run(main)
