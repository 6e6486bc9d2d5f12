"""Revoking all of a user's grants (schema/032_user_grants_revoke.sql) reaches
the access tokens of code exchanges that stored no refresh token.

An access token names its grant family (gid); a client without the
refresh_token grant, or a request without offline_access, gets no refresh
token, so its family appears only in authorization_codes. The end of a
verified recovery (afterRecovery.endSessions), SCIM deactivation and SCIM
deletion each list the user's families in revoked_grants: here every path is
shown to list the family of such a grant, and after a recovery (the account
stays active, so nothing else stops the token) its access token is refused at
/userinfo and /introspect. A code redeemed more than a day ago (longer than
any access token lives) is left out; another user's grant is untouched."""

from harness import check, check_eq, curl, require, run
from tokens_fixture import add_client, add_code, add_session, add_user, code_form, lit, post, sql, token


def userinfo(srv, at):
    return curl("--http2", "-k", "-H", "authorization: Bearer " + at, srv.https("/userinfo")).status


def introspect_active(srv, rs, at):
    r = post(srv, "/introspect", [("token", at)], auth=rs)
    require("/introspect answers", r.status == 200, r.describe())
    return (r.json() or {}).get("active")


def grant(env, srv, client, user, scope="openid profile"):
    """A code exchange for `user` through `client`: (access token, grant family)."""
    code, verifier = add_code(env, client, user, add_session(env, user), scope=scope)
    r = token(srv, code_form(code, verifier, client))
    require("exchange for %s: 200" % client, r.status == 200, r.describe())
    body = r.json() or {}
    require("no refresh token: the family lives only in authorization_codes", "refresh_token" not in body, body)
    fam = sql(env, "SELECT family_id FROM authorization_codes WHERE user_id = %s ORDER BY used_at DESC NULLS LAST "
                   "LIMIT 1" % lit(user))[0][0]
    return body["access_token"], fam


def revoked(env, fam):
    return sql(env, "SELECT count(*) FROM revoked_grants WHERE family_id = %s" % lit(fam))[0][0] == "1"


def recover(env, user):
    """What a verified recovery leaves behind, then the step that completes it:
    the recovery session registers a method (purpose register_method -> full)."""
    att = sql(env, "INSERT INTO recovery_attempts (state, provider_id, matched_user, end_sessions, expires_at) "
                   "VALUES ('tap_issued', 'dev', %s, true, now() + interval '15 minutes') RETURNING id"
              % lit(user))[0][0]
    sess = sql(env, "INSERT INTO sessions (token_hash, user_id, auth_time, amr, acr, expires_at, purpose, "
                    "recovery_attempt_id) VALUES (decode(md5(random()::text) || md5(random()::text), 'hex'), %s, "
                    "now(), '{tap}', 'urn:regain:acr:verified-recovery', now() + interval '1 hour', "
                    "'register_method', %s) RETURNING id" % (lit(user), lit(att)))[0][0]
    sql(env, "UPDATE sessions SET purpose = 'full' WHERE id = %s" % lit(sess))
    return att


def main(env):
    srv = env.regain()
    add_client(srv, "web", grants="authorization_code")
    # A resource server run by the operator (scope admin: it may introspect
    # any token, oidc/introspect.c).
    secret = (add_client(srv, "rs", grants="client_credentials", scopes="admin", auth="client_secret_basic",
                         redirect=None) or {}).get("client_secret")
    require("the resource server's client has a secret", secret)
    rs = ("rs", secret)

    # ---- the end of a verified recovery ----
    rita, bob = add_user(env, "rita"), add_user(env, "bob")
    at, fam = grant(env, srv, "web", rita)
    at_bob, fam_bob = grant(env, srv, "web", bob)
    check_eq("before the recovery, rita's access token works at /userinfo", userinfo(srv, at), 200)
    check_eq("... and is active at /introspect", introspect_active(srv, rs, at), True)
    att = recover(env, rita)
    check_eq("the recovery completed", sql(env, "SELECT completed_at IS NOT NULL FROM recovery_attempts WHERE id = %s"
                                                % lit(att))[0][0], "t")
    check("the recovery lists the family of rita's grant without a refresh token", revoked(env, fam), fam)
    check_eq("after the recovery, that access token is refused at /userinfo", userinfo(srv, at), 401)
    check_eq("... and inactive at /introspect", introspect_active(srv, rs, at), False)
    check("bob's grant is not revoked", not revoked(env, fam_bob), fam_bob)
    check_eq("bob's access token still works", userinfo(srv, at_bob), 200)

    # ---- a code redeemed longer ago than any access token lives ----
    old_at, old_fam = grant(env, srv, "web", rita)
    sql(env, "UPDATE authorization_codes SET used_at = now() - interval '25 hours' WHERE family_id = %s"
        % lit(old_fam))
    recover(env, rita)
    check("a code redeemed 25 hours ago is not listed", not revoked(env, old_fam), old_fam)

    # ---- SCIM deactivation and deletion (scim_user_sign_out, scim_user_delete) ----
    carol, dave = add_user(env, "carol"), add_user(env, "dave")
    _, fam_carol = grant(env, srv, "web", carol)
    _, fam_dave = grant(env, srv, "web", dave)
    sql(env, "SELECT scim_user_sign_out(%s)" % lit(carol))
    check("scim_user_sign_out lists the family of a grant without a refresh token", revoked(env, fam_carol),
          fam_carol)
    sql(env, "SELECT scim_user_delete(%s)" % lit(dave))
    check("scim_user_delete lists it too, before the codes cascade away", revoked(env, fam_dave), fam_dave)
    check_eq("dave is gone", sql(env, "SELECT count(*) FROM users WHERE id = %s" % lit(dave))[0][0], "0")


if __name__ == "__main__":
    run(main)
