"""Removing a client ends the access tokens it holds.

Access tokens are self-contained JWTs (RFC 9068), so deleting a client's row
(DELETE /admin/v1/clients/{id} or `regain client remove`) took its refresh
tokens and codes with it (ON DELETE CASCADE) but left every access token it
had been issued valid until its exp: a client removed because it leaked kept
admin or SCIM power, and its users' tokens kept reading /userinfo, for up to
oidc.access_token_ttl_s. RFC 7662 §2.2 calls a token active when it "has been
issued by this authorization server, has not been revoked ..., and is within
its given time window of validity"; a removed client's registration is
revoked, and RFC 7592 §2.3 asks the server to invalidate "currently-active
access tokens associated with this client" on deletion.

A client registered again under the same id is a new registration: the
tokens of the old one stay dead, the new one's work."""

import json
import time

from harness import check, check_eq, curl, require, run
from scim_provisioning import bearer
from tokens_fixture import add_code, add_session, add_user, code_form, post, token as form_token


def admin_get(srv, at, path=""):
    return curl("--http2", "-k", "-H", "authorization: Bearer " + at, srv.https("/admin/v1/clients" + path))


def admin_delete(srv, at, client_id):
    return curl("--http2", "-k", "-X", "DELETE", "-H", "authorization: Bearer " + at,
                srv.https("/admin/v1/clients/" + client_id))


def userinfo(srv, at):
    return curl("--http2", "-k", "-H", "authorization: Bearer " + at, srv.https("/userinfo"))


def introspect(srv, tok, auth):
    return post(srv, "/introspect", [("token", tok)], auth=auth)


def add(srv, *args):
    p = srv.cli("client", "add", *args, "--json")
    require("client add %s" % args[1], p.returncode == 0, p.stderr)
    return json.loads(p.stdout)


def invalid_token(name, r):
    check("%s: 401" % name, r.status == 401, r.describe())
    check("%s: WWW-Authenticate says invalid_token" % name,
          'error="invalid_token"' in (r.header("www-authenticate") or ""), r.describe())


def main(env):
    srv = env.regain()
    boss = add(srv, "--id", "boss", "--grant-types", "client_credentials", "--scopes", "admin")
    leaked = add(srv, "--id", "leaked", "--grant-types", "client_credentials", "--scopes", "admin scim")
    app = add(srv, "--id", "app", "--redirect-uri", "https://rp.example/cb", "--grant-types",
              "authorization_code,refresh_token", "--scopes", "openid profile offline_access")
    BOSS = ("boss", boss["client_secret"])
    boss_at = bearer(srv, "boss", boss["client_secret"], "admin")
    leaked_at = bearer(srv, "leaked", leaked["client_secret"], "admin")

    uid = add_user(env, "gwen")
    sid = add_session(env, uid)
    code, verifier = add_code(env, "app", uid, sid, scope="openid profile offline_access")
    r = form_token(srv, code_form(code, verifier), auth=("app", app["client_secret"]))
    require("code exchange for app", r.status == 200, r.describe())
    user_at = r.json()["access_token"]

    # Before: every token works.
    check_eq("leaked client's admin token works", admin_get(srv, leaked_at).status, 200)
    check_eq("app's user token works at /userinfo", userinfo(srv, user_at).status, 200)
    check_eq("introspection: leaked client's token active",
             (introspect(srv, leaked_at, BOSS).json() or {}).get("active"), True)

    # Remove both through the admin API.
    check_eq("DELETE leaked: 204", admin_delete(srv, boss_at, "leaked").status, 204)
    check_eq("DELETE app: 204", admin_delete(srv, boss_at, "app").status, 204)

    invalid_token("removed client's admin token at /admin/v1/clients", admin_get(srv, leaked_at))
    invalid_token("removed client's user token at /userinfo", userinfo(srv, user_at))
    check_eq("introspection: removed client's token inactive", introspect(srv, leaked_at, BOSS).json(),
             {"active": False})
    check_eq("introspection: removed client's user token inactive", introspect(srv, user_at, BOSS).json(),
             {"active": False})
    check_eq("a client still registered keeps working", admin_get(srv, boss_at).status, 200)

    # Registered again under the same id: a new registration, the old tokens
    # stay dead and the new ones work.
    again = add(srv, "--id", "leaked", "--grant-types", "client_credentials", "--scopes", "admin")
    invalid_token("old token after the id is registered again", admin_get(srv, leaked_at))
    check_eq("introspection: old token after re-registration inactive", introspect(srv, leaked_at, BOSS).json(),
             {"active": False})
    # iat has whole seconds, so a token issued within the second of the
    # removal is refused as well (schema/035_client_removed_tokens.sql).
    time.sleep(1.1)
    new_at = bearer(srv, "leaked", again["client_secret"], "admin")
    check_eq("the new registration's token works", admin_get(srv, new_at).status, 200)
    check_eq("introspection: the new registration's token active",
             (introspect(srv, new_at, BOSS).json() or {}).get("active"), True)

    # The CLI's remove has the same effect. The server learns of it only
    # when its cached copy expires (OIDC_CLIENT_CACHE_TTL_MS), so the removed
    # client can still be handed a token meanwhile: that token must not
    # outlive the client either.
    p = srv.cli("client", "remove", "leaked")
    check("client remove exits 0", p.returncode == 0, p.stderr)
    invalid_token("token of a client removed with the CLI", admin_get(srv, new_at))
    time.sleep(1.1)  # past the second of the removal, within the cache's 5 s
    late_at = bearer(srv, "leaked", again["client_secret"], "admin")
    invalid_token("token handed out from the cache after the removal", admin_get(srv, late_at))
    check_eq("introspection: that token inactive", introspect(srv, late_at, BOSS).json(), {"active": False})
    srv.stop()


if __name__ == "__main__":
    run(main)
