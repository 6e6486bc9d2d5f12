"""POST /revoke (RFC 7009) and POST /introspect (RFC 7662): revoking an access
token or a refresh token makes introspection say inactive and the token stop
working; a refresh token revokes its family; unknown tokens get 200 without
effect; a live token of another client is refused with invalid_grant (RFC
7009 §2.1) and stays live, while a dead one of another client is just an
invalid token (200); introspection shows active tokens' members only to the
client they were issued to (or an admin client), and {"active":false}
otherwise."""

from harness import check, check_eq, curl, require, run
from tokens_fixture import add_client, add_code, add_session, add_user, code_form, no_store, post, token


def introspect(srv, tok, auth):
    return post(srv, "/introspect", [("token", tok)], auth=auth)


def revoke(srv, tok, auth, hint=None):
    form = [("token", tok)] + ([("token_type_hint", hint)] if hint else [])
    return post(srv, "/revoke", form, auth=auth)


def userinfo(srv, at):
    return curl("--http2", "-k", "-H", "authorization: Bearer " + at, srv.https("/userinfo"))


def main(env):
    srv = env.regain()
    app = add_client(srv, "app", auth="client_secret_basic")
    other = add_client(srv, "other", auth="client_secret_basic")
    admin = add_client(srv, "rs", grants="client_credentials", scopes="admin", auth="client_secret_basic",
                       redirect=None)
    add_client(srv, "pub")
    A, O, R = ("app", app["client_secret"]), ("other", other["client_secret"]), ("rs", admin["client_secret"])
    uid = add_user(env, "erin")
    sid = add_session(env, uid)

    def exchange():
        code, verifier = add_code(env, "app", uid, sid, scope="openid offline_access")
        r = token(srv, code_form(code, verifier), auth=A)
        require("code exchange", r.status == 200, r.describe())
        return r.json()

    b = exchange()
    at, rt = b["access_token"], b["refresh_token"]

    r = introspect(srv, at, A)
    no_store("introspect", r)
    i = r.json() or {}
    require("introspect own access token: active", r.status == 200 and i.get("active") is True, r.describe())
    check_eq("introspect: client_id", i.get("client_id"), "app")
    check_eq("introspect: sub", i.get("sub"), uid)
    check_eq("introspect: username", i.get("username"), "erin")
    check_eq("introspect: scope", i.get("scope"), "openid offline_access")
    check_eq("introspect: token_type", i.get("token_type"), "Bearer")
    check_eq("introspect: iss", i.get("iss"), srv.issuer)
    check("introspect: exp, iat, jti", all(k in i for k in ("exp", "iat", "jti", "aud")), repr(i))
    i = (introspect(srv, rt, A).json() or {})
    check("introspect own refresh token: active, without a token_type (RFC 7662 §2.2 means RFC 6749 §5.1's)",
          i.get("active") is True and "token_type" not in i and i.get("client_id") == "app",
          repr(i))
    check_eq("another client sees inactive", introspect(srv, at, O).json(), {"active": False})
    check_eq("another client sees a refresh token inactive", introspect(srv, rt, O).json(), {"active": False})
    check_eq("an admin client sees it active", (introspect(srv, at, R).json() or {}).get("active"), True)
    r = post(srv, "/introspect", [("token", at), ("client_id", "pub")])
    check_eq("a public client learns nothing", r.json(), {"active": False})
    check_eq("garbage is inactive", introspect(srv, "garbage", A).json(), {"active": False})
    check_eq("wrong credentials: 401", post(srv, "/introspect", [("token", at)], auth=("app", "x")).status, 401)

    # revoke by another client: refused (§2.1), no effect
    r = revoke(srv, at, O)
    no_store("revoke", r)
    check_eq("revoke another client's access token: invalid_grant", (r.status, (r.json() or {}).get("error")),
             (400, "invalid_grant"))
    check_eq("... still active", (introspect(srv, at, A).json() or {}).get("active"), True)
    r = revoke(srv, rt, O, hint="refresh_token")
    check_eq("revoke another client's refresh token: invalid_grant", (r.status, (r.json() or {}).get("error")),
             (400, "invalid_grant"))
    check_eq("... still active", (introspect(srv, rt, A).json() or {}).get("active"), True)
    check_eq("revoke an unknown token: 200", revoke(srv, "no-such-token", A).status, 200)
    check_eq("revoke without token: 400", revoke(srv, "", A).status, 400)
    for path in ("/revoke", "/introspect"):
        r = post(srv, path, [("token_type_hint", "access_token")], auth=A)
        check_eq(path + " with no token parameter: invalid_request", (r.status, (r.json() or {}).get("error")),
                 (400, "invalid_request"))
        r = post(srv, path, [("token", at), ("token_type_hint", "access_token"), ("token_type_hint", "x")], auth=A)
        check_eq(path + " with a repeated hint: invalid_request", (r.status, (r.json() or {}).get("error")),
                 (400, "invalid_request"))

    # revoke the access token
    r = revoke(srv, at, A, hint="access_token")
    check_eq("revoke own access token: 200", r.status, 200)
    check_eq("revoked access token: introspection inactive", introspect(srv, at, A).json(), {"active": False})
    check_eq("revoked access token: userinfo 401", userinfo(srv, at).status, 401)
    check_eq("the refresh token is unaffected", (introspect(srv, rt, A).json() or {}).get("active"), True)

    # revoke the refresh token: the family goes, access tokens included
    b2 = token(srv, {"grant_type": "refresh_token", "refresh_token": rt}, auth=A).json() or {}
    rt2, at2 = b2.get("refresh_token", ""), b2.get("access_token", "")
    check_eq("family access token works", userinfo(srv, at2).status, 200)
    r = revoke(srv, rt2, A, hint="refresh_token")
    check_eq("revoke own refresh token: 200", r.status, 200)
    check_eq("revoked refresh token: introspection inactive", introspect(srv, rt2, A).json(), {"active": False})
    r = token(srv, {"grant_type": "refresh_token", "refresh_token": rt2}, auth=A)
    check_eq("revoked refresh token: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")
    check_eq("another client revoking the revoked refresh token: 200 (an invalid token, §2.2)",
             revoke(srv, rt2, O).status, 200)
    check_eq("another client revoking the rotated one: 200", revoke(srv, rt, O).status, 200)
    check_eq("the family's access token is revoked with it", userinfo(srv, at2).status, 401)
    check_eq("... and introspects inactive", introspect(srv, at2, A).json(), {"active": False})
    srv.stop()


if __name__ == "__main__":
    run(main)
