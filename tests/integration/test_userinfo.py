"""GET|POST /userinfo (OIDC Core §5.3) behind bearer verification (RFC 6750):
claims follow the granted scopes and the claims request's userinfo member; a
missing, expired, tampered, revoked or wrongly typed token gets 401 with
WWW-Authenticate: Bearer ... error="invalid_token" (§3.1), a token without
openid gets 403 insufficient_scope; the body form (§2.2) works for POST."""

import time

from harness import check, check_eq, curl, require, run, skip
from tokens_fixture import add_client, add_code, add_session, add_user, code_form, no_store, post, sql, tamper, \
    token


def get(srv, at, proto="--http2"):
    args = [proto, "-k"]
    if at is not None:
        args += ["-H", "authorization: Bearer " + at]
    return curl(*(args + [srv.https("/userinfo")]))


def challenge(name, r, error):
    wa = r.header("www-authenticate") or ""
    check("%s: WWW-Authenticate Bearer realm" % name, wa.startswith('Bearer realm="regain"'), r.describe())
    if error:
        check('%s: error="%s"' % (name, error), 'error="%s"' % error in wa, wa)
    else:
        check("%s: no error code without credentials" % name, "error=" not in wa, wa)


def exchange(env, srv, uid, sid, scope, claims=None):
    code, verifier = add_code(env, "app", uid, sid, scope=scope, claims=claims)
    r = token(srv, code_form(code, verifier, "app"))
    require("code exchange (%s)" % scope, r.status == 200, r.describe())
    return r.json()


def main(env):
    srv = env.regain()
    add_client(srv, "app")
    svc = add_client(srv, "svc", grants="client_credentials", scopes="scim", auth="client_secret_basic",
                     redirect=None)
    uid = add_user(env, "carol", given="Carol", family="Kim")
    sid = add_session(env, uid)

    b = exchange(env, srv, uid, sid, "openid profile email")
    at = b["access_token"]
    r = get(srv, at)
    no_store("userinfo", r)
    u = r.json() or {}
    require("valid token: 200", r.status == 200, r.describe())
    check_eq("content type", r.header("content-type"), "application/json")
    check_eq("sub", u.get("sub"), uid)
    check_eq("name", u.get("name"), "Carol Kim")
    check_eq("given_name", u.get("given_name"), "Carol")
    check_eq("family_name", u.get("family_name"), "Kim")
    check_eq("preferred_username", u.get("preferred_username"), "carol")
    check("updated_at is a number", isinstance(u.get("updated_at"), int), repr(u))
    check_eq("email", u.get("email"), "carol@example.com")
    check_eq("email_verified", u.get("email_verified"), True)
    r = post(srv, "/userinfo", [], extra=("-H", "authorization: Bearer " + at))
    check_eq("POST with the header: 200", r.status, 200)
    r = post(srv, "/userinfo", [("access_token", at)])
    check_eq("POST with access_token in the form body (RFC 6750 §2.2): 200", r.status, 200)
    r = post(srv, "/userinfo", [("access_token", at)], extra=("-H", "authorization: Bearer " + at))
    check_eq("token in header and body: 400", r.status, 400)
    challenge("token in header and body", r, "invalid_request")
    r = get(srv, at, proto="--http1.1")
    check_eq("HTTP/1.1: 200", r.status, 200)

    # scope openid only: just sub; plus claims request userinfo member
    b = exchange(env, srv, uid, sid, "openid")
    u = get(srv, b["access_token"]).json() or {}
    check_eq("openid only: sub alone", sorted(u), ["sub"])
    b = exchange(env, srv, uid, sid, "openid", claims={"userinfo": {"email": None, "nickname": None}})
    u = get(srv, b["access_token"]).json() or {}
    check_eq("claims request userinfo member: email added", sorted(u), ["email", "sub"])

    # failures
    r = get(srv, None)
    check_eq("no token: 401", r.status, 401)
    challenge("no token", r, None)
    r = get(srv, tamper(at))
    check_eq("tampered token: 401", r.status, 401)
    challenge("tampered token", r, "invalid_token")
    r = get(srv, "abc.def.ghi")
    check_eq("garbage token: 401", r.status, 401)
    challenge("garbage token", r, "invalid_token")
    r = get(srv, b["id_token"])
    check_eq("an ID token is not an access token: 401", r.status, 401)
    r = curl("--http2", "-k", "-H", "authorization: Basic " + at, srv.https("/userinfo"))
    check_eq("another scheme: 401", r.status, 401)

    r = token(srv, {"grant_type": "client_credentials"}, auth=("svc", svc["client_secret"]))
    r = get(srv, (r.json() or {}).get("access_token", "x"))
    check_eq("client_credentials token (no openid): 403", r.status, 403)
    challenge("no openid scope", r, "insufficient_scope")

    b = exchange(env, srv, uid, sid, "profile")
    r = get(srv, b["access_token"])
    check_eq("token without openid: 403", r.status, 403)
    challenge("token without openid", r, "insufficient_scope")

    # a deactivated user's token stops working
    other = add_user(env, "dave")
    osid = add_session(env, other)
    b2 = exchange(env, srv, other, osid, "openid")
    sql(env, "UPDATE users SET active = false WHERE id = '%s'" % other)
    r = get(srv, b2["access_token"])
    check_eq("inactive user: 401", r.status, 401)

    srv.stop()

    # expiry: a server whose access tokens live 10 s (the minimum)
    short = env.regain({"oidc": {"access_token_ttl_s": 10}}, start=False)
    p = short.cli("migrate")
    if p.returncode != 0:
        skip("expired token: 401", "config refuses oidc.access_token_ttl_s: %s" % p.stderr.strip()[:200])
        return
    short.spawn()
    ok, detail = short.wait_healthy()
    require("short-lived server is healthy", ok, detail)
    b = exchange(env, short, uid, sid, "openid")
    at = b["access_token"]
    check_eq("short-lived token works at first", get(short, at).status, 200)
    time.sleep(11)
    r = get(short, at)
    check_eq("expired token: 401", r.status, 401)
    challenge("expired token", r, "invalid_token")
    check("expired token: error_description says expired", "expired" in (r.header("www-authenticate") or ""),
          r.describe())
    short.stop()

if __name__ == "__main__":
    run(main)
