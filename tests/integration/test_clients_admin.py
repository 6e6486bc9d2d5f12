"""Admin API for clients, /admin/v1/clients, with a bearer token of scope
`admin` from our own /token: create (201, Location, the secret once), list,
read, replace (the secret stays), rotate the secret, delete; JSON errors
400/404/409/415; no-store on every answer; and every change takes effect in
this process at once (no wait for the cache TTL)."""

import base64
import json
from urllib.parse import quote

from harness import check, check_eq, curl, require, run

WEB = {
    "client_id": "web1",
    "client_name": "Web One",
    "redirect_uris": ["https://app.example/cb"],
    "post_logout_redirect_uris": ["https://app.example/bye"],
    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
    "scope": "openid profile scim",
}


def token(srv, client_id, secret, scope=None):
    form = "grant_type=client_credentials" + ("&scope=" + quote(scope) if scope else "")
    raw = "%s:%s" % (quote(client_id, safe=""), quote(secret, safe=""))
    return curl("--http2", "-k", "-X", "POST", "-H", "content-type: application/x-www-form-urlencoded",
                "-H", "authorization: Basic " + base64.b64encode(raw.encode()).decode(),
                "--data-binary", form, srv.https("/token"))


def api(srv, method, path, bearer, body=None, content_type="application/json"):
    args = ["--http2", "-k", "-X", method]
    if bearer:
        args += ["-H", "authorization: Bearer " + bearer]
    if body is not None:
        args += ["-H", "content-type: " + content_type,
                 "--data-binary", body if isinstance(body, str) else json.dumps(body)]
    return curl(*(args + [srv.https("/admin/v1/clients" + path)]))


def no_store(name, r):
    check_eq("%s: Cache-Control no-store" % name, r.header("cache-control"), "no-store")


def error_is(name, r, status, code="invalid_request"):
    check("%s: %d %s" % (name, status, code), r.status == status and (r.json() or {}).get("error") == code,
          r.describe())
    no_store(name, r)


def main(env):
    srv = env.regain()
    p = srv.cli("client", "add", "--id", "admin-cli", "--grant-types", "client_credentials",
                "--scopes", "admin scim", "--json")
    require("admin client registered", p.returncode == 0, p.stderr)
    admin = json.loads(p.stdout)
    r = token(srv, "admin-cli", admin["client_secret"], "admin")
    require("admin token issued", r.status == 200, r.describe())
    at = r.json()["access_token"]
    scim_at = (token(srv, "admin-cli", admin["client_secret"], "scim").json() or {}).get("access_token")

    # ---- protection -------------------------------------------------------------
    r = api(srv, "GET", "", None)
    check("no token: 401", r.status == 401, r.describe())
    check("... with WWW-Authenticate: Bearer", (r.header("www-authenticate") or "").startswith("Bearer"),
          r.describe())
    r = api(srv, "GET", "", scim_at)
    check("token without scope admin: 403", r.status == 403, r.describe())
    r = api(srv, "POST", "", "x.y.z", WEB)
    check("garbage token: 401, nothing created", r.status == 401, r.describe())

    # ---- create --------------------------------------------------------------------
    # An unknown id first, so this process remembers "no such client".
    r = token(srv, "web1", "whatever")
    check_eq("before creation web1 cannot get a token", r.status, 401)
    r = api(srv, "POST", "", at, WEB)
    check("POST creates: 201", r.status == 201, r.describe())
    no_store("create", r)
    check_eq("Location names the client", r.header("location"), srv.issuer + "/admin/v1/clients/web1")
    b = r.json() or {}
    secret = b.get("client_secret", "")
    check("the secret is returned once (43 characters)", len(secret) == 43, repr(b))
    check_eq("client_secret_expires_at 0 (RFC 7591)", b.get("client_secret_expires_at"), 0)
    check_eq("grant types echoed", b.get("grant_types"), WEB["grant_types"])
    check_eq("default auth method", b.get("token_endpoint_auth_method"), "client_secret_basic")
    r = token(srv, "web1", secret, "scim")
    check("the new client gets a token at once (cache entry dropped)", r.status == 200, r.describe())

    r = api(srv, "POST", "", at, WEB)
    error_is("duplicate client_id", r, 409)
    r = api(srv, "POST", "", at, dict(WEB, client_id="web2", redirect_uris=["https://app.example/cb#x"]))
    error_is("redirect URI with a fragment", r, 400)
    check("... the description says why", "fragment" in (r.json() or {}).get("error_description", ""),
          r.describe())
    r = api(srv, "POST", "", at, dict(WEB, client_id="web2", redirect_uris=["http://app.example/cb"]))
    error_is("http redirect URI off loopback", r, 400)
    r = api(srv, "POST", "", at, dict(WEB, client_id="web2", colour="blue"))
    error_is("unknown member", r, 400)
    r = api(srv, "POST", "", at, dict(WEB, client_id="web2", client_secret="mine"))
    error_is("a chosen secret is refused", r, 400)
    r = api(srv, "POST", "", at, '{"client_id": "web2",')
    error_is("malformed JSON", r, 400)
    r = api(srv, "POST", "", at, '{"client_id":"a","client_id":"b"}')
    error_is("duplicate member", r, 400)
    r = api(srv, "POST", "", at, "client_id=web2", content_type="application/x-www-form-urlencoded")
    check("form body: 415", r.status == 415, r.describe())
    r = api(srv, "POST", "", at, "[]")
    error_is("array body", r, 400)
    r = api(srv, "GET", "/web2", at)
    error_is("nothing was stored by the refused requests", r, 404)

    # ---- read ----------------------------------------------------------------------------
    r = api(srv, "GET", "", at)
    check("GET list: 200", r.status == 200, r.describe())
    no_store("list", r)
    ids = [c.get("client_id") for c in (r.json() or {}).get("clients", [])]
    check_eq("list holds both clients", ids, ["admin-cli", "web1"])
    check("list shows no secret", '"client_secret"' not in r.text and secret not in r.text, r.text)
    r = api(srv, "GET", "/web1", at)
    check("GET one: 200", r.status == 200 and (r.json() or {}).get("client_name") == "Web One", r.describe())
    check("GET one shows no secret", '"client_secret"' not in r.text, r.text)
    error_is("GET unknown", api(srv, "GET", "/nobody", at), 404)
    error_is("GET invalid id", api(srv, "GET", "/bad%20id", at), 404)
    error_is("GET deeper path", api(srv, "GET", "/web1/other", at), 404)
    # RFC 9110 §15.5.6: a 405 names the methods of the resource asked for.
    for method, path, allow in (("PUT", "", "GET, HEAD, POST"), ("DELETE", "", "GET, HEAD, POST"),
                                ("PATCH", "", "GET, HEAD, POST"), ("OPTIONS", "", "GET, HEAD, POST"),
                                ("POST", "/web1", "GET, HEAD, PUT, DELETE"),
                                ("PATCH", "/web1", "GET, HEAD, PUT, DELETE"),
                                ("OPTIONS", "/web1", "GET, HEAD, PUT, DELETE"),
                                ("GET", "/web1/secret", "POST"), ("PUT", "/web1/secret", "POST"),
                                ("PATCH", "/web1/secret", "POST")):
        r = api(srv, method, path, at, WEB if method in ("PUT", "POST", "PATCH") else None)
        check("%s on %s: 405, Allow: %s" % (method, path or "the collection", allow),
              r.status == 405 and r.header("allow") == allow, r.describe())

    # ---- replace -------------------------------------------------------------------------
    doc = json.loads(api(srv, "GET", "/web1", at).text)
    doc["scope"] = "openid scim scim.read"
    doc["client_name"] = "Web Uno"
    r = api(srv, "PUT", "/web1", at, doc)
    check("PUT (GET output fed back): 200", r.status == 200, r.describe())
    check("PUT does not show the secret again", "client_secret" not in (r.json() or {}), r.describe())
    check_eq("new name", (r.json() or {}).get("client_name"), "Web Uno")
    r = token(srv, "web1", secret, "scim.read")
    check("the old secret still works and the new scope applies at once", r.status == 200, r.describe())
    r = api(srv, "PUT", "/web1", at, dict(doc, client_id="other"))
    error_is("PUT with another client_id", r, 400)
    error_is("PUT unknown", api(srv, "PUT", "/nobody", at, dict(doc, client_id="nobody")), 404)
    body_no_id = dict(doc)
    body_no_id.pop("client_id")
    check("PUT without client_id in the body: 200", api(srv, "PUT", "/web1", at, body_no_id).status == 200)

    # ---- rotate ----------------------------------------------------------------------------
    r = api(srv, "POST", "/web1/secret", at)
    check("rotate: 200", r.status == 200, r.describe())
    no_store("rotate", r)
    new = (r.json() or {}).get("client_secret", "")
    check("a new secret, different from the old", len(new) == 43 and new != secret, r.describe())
    check_eq("the old secret fails at once", token(srv, "web1", secret, "scim").status, 401)
    check_eq("the new one works", token(srv, "web1", new, "scim").status, 200)
    error_is("rotate unknown", api(srv, "POST", "/nobody/secret", at), 404)

    # secret-less methods: no rotation, and switching back mints a secret once
    jwk = {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
           "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "k1"}
    jdoc = dict(body_no_id, token_endpoint_auth_method="private_key_jwt", jwks={"keys": [jwk]})
    r = api(srv, "PUT", "/web1", at, jdoc)
    check("PUT to private_key_jwt: 200, no secret", r.status == 200 and "client_secret" not in (r.json() or {}),
          r.describe())
    check_eq("the secret no longer works", token(srv, "web1", new, "scim").status, 401)
    error_is("rotate for a private_key_jwt client", api(srv, "POST", "/web1/secret", at), 400)
    r = api(srv, "PUT", "/web1", at, body_no_id)
    back = (r.json() or {}).get("client_secret", "")
    check("PUT back to client_secret_basic shows a fresh secret once", r.status == 200 and len(back) == 43,
          r.describe())
    check_eq("... which works", token(srv, "web1", back, "scim").status, 200)
    error_is("jwks with a private member", api(srv, "PUT", "/web1", at,
                                                dict(jdoc, jwks={"keys": [dict(jwk, d="AAAA")]})), 400)

    # ---- delete -----------------------------------------------------------------------------
    r = api(srv, "DELETE", "/web1", at)
    check("DELETE: 204", r.status == 204, r.describe())
    check_eq("the deleted client fails at once", token(srv, "web1", back, "scim").status, 401)
    error_is("GET after DELETE", api(srv, "GET", "/web1", at), 404)
    error_is("DELETE again", api(srv, "DELETE", "/web1", at), 404)
    srv.stop()


if __name__ == "__main__":
    run(main)
