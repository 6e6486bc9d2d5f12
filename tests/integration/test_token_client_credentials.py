"""grant_type=client_credentials (RFC 6749 §4.4): a confidential client gets
an RFC 9068 access token for itself (sub = client_id, no ID token, no refresh
token), limited to its allowed non-user scopes; public clients and clients
without the grant are refused; errors per §5.2; no-store on every answer."""

from harness import check, check_eq, require, run
from tokens_fixture import add_client, jwt_parts, now, post, token, token_no_cache, verify_sig


def main(env):
    srv = env.regain()
    svc = add_client(srv, "svc", grants="client_credentials", scopes="scim scim.read admin", auth="client_secret_basic",
                     redirect=None)
    post_c = add_client(srv, "svcpost", grants="client_credentials", scopes="scim openid",
                        auth="client_secret_post", redirect=None)
    # The clients area refuses public clients with client_credentials at
    # registration; a public client asking for it anyway is refused here too.
    add_client(srv, "pub", grants="authorization_code", scopes="openid scim", auth="none")
    nocc = add_client(srv, "nocc", grants="authorization_code", scopes="scim", auth="client_secret_basic")
    require("client add printed a secret", isinstance(svc.get("client_secret"), str), repr(svc))
    auth = ("svc", svc["client_secret"])

    r = token(srv, {"grant_type": "client_credentials", "scope": "scim"}, auth=auth)
    token_no_cache("client_credentials", r)
    b = r.json() or {}
    require("client_credentials: 200", r.status == 200 and "access_token" in b, r.describe())
    check_eq("scope as asked", b.get("scope"), "scim")
    check("no id_token, no refresh_token", "id_token" not in b and "refresh_token" not in b, repr(b))
    h, p, _ = jwt_parts(b["access_token"])
    check_eq("typ at+jwt", h.get("typ"), "at+jwt")
    check("signature verifies with /jwks.json", verify_sig(srv, b["access_token"]), b["access_token"])
    check_eq("sub is the client", p.get("sub"), "svc")
    check_eq("client_id", p.get("client_id"), "svc")
    check_eq("aud is the issuer", p.get("aud"), srv.issuer)
    check("exp in the future", p.get("exp", 0) > now(), repr(p))
    check("no user claims", not any(k in p for k in ("auth_time", "gid", "amr", "acr")), repr(p))

    r = token(srv, {"grant_type": "client_credentials"}, auth=auth)
    check_eq("no scope: the client's default set", (r.json() or {}).get("scope"), "scim scim.read admin")
    r = token(srv, {"grant_type": "client_credentials", "scope": "scim admin"}, auth=auth)
    check_eq("two allowed scopes", (r.json() or {}).get("scope"), "scim admin")
    r = token(srv, {"grant_type": "client_credentials", "scope": "scim email"}, auth=auth)
    token_no_cache("invalid_scope", r)
    check_eq("scope not allowed: invalid_scope", (r.json() or {}).get("error"), "invalid_scope")

    r = token(srv, {"grant_type": "client_credentials", "client_id": "svcpost",
                    "client_secret": post_c["client_secret"]})
    check_eq("client_secret_post, default scope leaves out openid", (r.json() or {}).get("scope"), "scim")
    r = token(srv, {"grant_type": "client_credentials", "scope": "openid", "client_id": "svcpost",
                    "client_secret": post_c["client_secret"]})
    check_eq("openid is a user scope: invalid_scope", (r.json() or {}).get("error"), "invalid_scope")

    r = token(srv, {"grant_type": "client_credentials", "client_id": "pub"})
    check_eq("public client: unauthorized_client", (r.json() or {}).get("error"), "unauthorized_client")
    r = token(srv, {"grant_type": "client_credentials"}, auth=("nocc", nocc["client_secret"]))
    check_eq("client without the grant: unauthorized_client", (r.json() or {}).get("error"), "unauthorized_client")

    r = token(srv, {"grant_type": "client_credentials"}, auth=("svc", "wrong-secret"))
    token_no_cache("wrong secret", r)
    check_eq("wrong secret: 401", r.status, 401)
    check_eq("wrong secret: invalid_client", (r.json() or {}).get("error"), "invalid_client")

    r = post(srv, "/token", [("grant_type", "client_credentials"), ("scope", "scim"), ("scope", "admin")], auth=auth)
    check_eq("repeated scope: invalid_request", (r.json() or {}).get("error"), "invalid_request")
    r = post(srv, "/token", [("grant_type", "client_credentials")], auth=auth, content_type="text/plain")
    check("JSON or text body refused (form only)", r.status in (400, 415), r.describe())
    # HTTP/1.1 too (benchmarks use it)
    r = token(srv, {"grant_type": "client_credentials"}, auth=auth, proto="--http1.1")
    token_no_cache("HTTP/1.1", r)
    check_eq("HTTP/1.1: 200", r.status, 200)
    srv.stop()


if __name__ == "__main__":
    run(main)
