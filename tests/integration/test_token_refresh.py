"""grant_type=refresh_token (RFC 6749 §6, RFC 9700 §4.14.2): every use rotates
the token; presenting a rotated token again fails with invalid_grant and
revokes the whole family (the newest refresh token and the access tokens of
the family too); the scope may be narrowed, never widened; the token is bound
to its client."""

from harness import check, check_eq, require, run
from tokens_fixture import add_client, add_code, add_session, add_user, code_form, jwt_parts, post, token, \
    token_no_cache


def refresh(srv, rt, client="app", **extra):
    f = {"grant_type": "refresh_token", "refresh_token": rt, "client_id": client}
    f.update(extra)
    return token(srv, f)


def userinfo(srv, at):
    from harness import curl
    return curl("--http2", "-k", "-H", "authorization: Bearer " + at, srv.https("/userinfo"))


def main(env):
    srv = env.regain()
    add_client(srv, "app")
    add_client(srv, "other")
    add_client(srv, "norefresh", grants="authorization_code")
    uid = add_user(env, "bob")
    sid = add_session(env, uid)
    code, verifier = add_code(env, "app", uid, sid, scope="openid profile email offline_access")
    r = token(srv, code_form(code, verifier, "app"))
    b0 = r.json() or {}
    require("code exchange gives a refresh token", r.status == 200 and "refresh_token" in b0, r.describe())
    rt0 = b0["refresh_token"]

    r = refresh(srv, rt0)
    token_no_cache("refresh", r)
    b1 = r.json() or {}
    require("refresh: 200", r.status == 200 and "access_token" in b1, r.describe())
    rt1 = b1.get("refresh_token")
    check("refresh rotates the token", isinstance(rt1, str) and rt1 != rt0, repr(b1))
    check_eq("refresh keeps the scope", b1.get("scope"), "openid profile email offline_access")
    check("refreshed ID token present (openid)", isinstance(b1.get("id_token"), str), repr(b1))
    _, p, _ = jwt_parts(b1["id_token"])
    check("refreshed ID token has no nonce", "nonce" not in p, repr(p))
    _, p0, _ = jwt_parts(b0["access_token"])
    _, p1, _ = jwt_parts(b1["access_token"])
    check_eq("same grant family across rotation", p1.get("gid"), p0.get("gid"))

    # narrowing, then widening
    r = refresh(srv, rt1, scope="openid profile")
    b2 = r.json() or {}
    check_eq("narrowed scope is granted", b2.get("scope"), "openid profile")
    rt2 = b2.get("refresh_token")
    require("narrowed refresh: new refresh token", isinstance(rt2, str), r.describe())
    r = refresh(srv, rt2, scope="openid profile email admin")
    check_eq("widened scope: invalid_scope", (r.json() or {}).get("error"), "invalid_scope")
    r = refresh(srv, rt2, scope="openid  profile")
    check_eq("malformed scope: invalid_scope", (r.json() or {}).get("error"), "invalid_scope")
    # the refused requests did not use rt2 up; the refreshed token keeps the full grant
    r = refresh(srv, rt2)
    b3 = r.json() or {}
    require("after refusals the token still works", r.status == 200, r.describe())
    check_eq("new refresh token keeps the original grant scope", b3.get("scope"),
             "openid profile email offline_access")
    rt3 = b3["refresh_token"]

    # another client
    r = refresh(srv, rt3, client="other")
    check_eq("another client's refresh token: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")
    r = refresh(srv, rt3, client="norefresh")
    check_eq("client without the refresh grant: unauthorized_client", (r.json() or {}).get("error"),
             "unauthorized_client")

    # access token of the live family works at /userinfo
    u = userinfo(srv, b3["access_token"])
    check_eq("family's access token works before reuse", u.status, 200)

    # reuse of a rotated token revokes the family
    r = refresh(srv, rt1)
    token_no_cache("reused refresh token", r)
    check_eq("reused refresh token: 400", r.status, 400)
    check_eq("reused refresh token: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")
    r = refresh(srv, rt3)
    check_eq("the newest refresh token of the family is revoked too", (r.json() or {}).get("error"),
             "invalid_grant")
    u = userinfo(srv, b3["access_token"])
    check_eq("the family's access tokens are revoked (401)", u.status, 401)
    check("WWW-Authenticate says invalid_token", 'error="invalid_token"' in (u.header("www-authenticate") or ""),
          u.describe())

    r = refresh(srv, "not-a-token")
    check_eq("unknown refresh token: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")
    r = token(srv, {"grant_type": "refresh_token", "client_id": "app"})
    check_eq("missing refresh_token: invalid_request", (r.json() or {}).get("error"), "invalid_request")
    r = post(srv, "/token", [("grant_type", "refresh_token"), ("refresh_token", "a"), ("refresh_token", "b"),
                             ("client_id", "app")])
    check_eq("repeated refresh_token: invalid_request", (r.json() or {}).get("error"), "invalid_request")
    srv.stop()


if __name__ == "__main__":
    run(main)
