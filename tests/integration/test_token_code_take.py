"""The code exchange of a client without the refresh_token grant, which takes
the code with one UPDATE statement (oidc/token_db.c OIDC_STMT_CODE_TAKE,
schema/025_code_take.sql) instead of regain_code_exchange: the same rules as
test_token_code.py checks for the other path. A good exchange returns signed
tokens carrying the claims request, sid and nonce; the code is one-time, and a
replay fails and revokes the family of the first exchange (its access token no
longer works at /userinfo); an unknown code revokes nothing; a wrong verifier,
another client, another redirect URI, an expired code and a deactivated user
fail and use the code up; of two concurrent exchanges of one code exactly one
succeeds; a session opened with a Temporary Access Pass caps the tokens at the
pass's expiry (its extras are read by a second statement); the user's claims
reach the ID token only for a claims request (read by a statement of their
own), also together with a TAP session's extras."""

import threading

from harness import check, check_eq, require, run
from tokens_fixture import (REDIRECT, add_client, add_code, add_session, add_user, at_hash, code_form, error,
                            families_revoked, jwt_parts, lit, now, secret_hash_hex, sql, token, token_no_cache,
                            userinfo, verify_sig)


def main(env):
    srv = env.regain()
    add_client(srv, "web", grants="authorization_code")
    add_client(srv, "web2", grants="authorization_code")
    uid = add_user(env, "alice")
    sid = add_session(env, uid)

    # ---- without a claims request the ID token carries no user claims ----
    code, verifier = add_code(env, "web", uid, sid, scope="openid profile email")
    r = token(srv, code_form(code, verifier, "web"))
    require("exchange without claims request: 200", r.status == 200, r.describe())
    p = jwt_parts((r.json() or {}).get("id_token", "a.e30.c"))[1]
    check("no claims request: no email or name in the ID token", "email" not in p and "name" not in p, repr(p))
    check_eq("no claims request: sub", p.get("sub"), uid)

    # ---- a good exchange, with a claims request for the ID token ----
    claims = {"id_token": {"email": None, "name": {"essential": True}}}
    code, verifier = add_code(env, "web", uid, sid, scope="openid profile offline_access", claims=claims)
    r = token(srv, code_form(code, verifier, "web"))
    token_no_cache("good exchange", r)
    body = r.json() or {}
    require("good exchange: 200 with tokens", r.status == 200 and "access_token" in body, r.describe())
    check("no refresh token for a client without the refresh_token grant", "refresh_token" not in body, repr(body))
    at, idt = body["access_token"], body.get("id_token", "")
    check("access token signature verifies", verify_sig(srv, at), at)
    check("ID token signature verifies", verify_sig(srv, idt), idt)
    h, p, _ = jwt_parts(at)
    check_eq("access token typ", h.get("typ"), "at+jwt")
    check_eq("access token sub", p.get("sub"), uid)
    check_eq("access token client_id", p.get("client_id"), "web")
    exp_plain = p.get("exp", 0)
    check("access token exp about 600 s ahead", 590 <= exp_plain - now() <= 610, repr(p))
    _, p, _ = jwt_parts(idt)
    check_eq("ID token aud", p.get("aud"), "web")
    check_eq("ID token sid", p.get("sid"), sid)
    check_eq("ID token nonce", p.get("nonce"), "n-0S6_WzA2Mj")
    check_eq("ID token at_hash", p.get("at_hash"), at_hash(at))
    check_eq("ID token amr", p.get("amr"), ["pwd"])
    check_eq("ID token acr", p.get("acr"), "urn:regain:acr:password")
    check_eq("ID token email (claims request)", p.get("email"), "alice@example.com")
    check_eq("ID token name (claims request)", p.get("name"), "Alice Liddell")
    check("ID token without unrequested given_name", "given_name" not in p, repr(p))
    check_eq("the access token works at /userinfo", userinfo(srv, at).status, 200)

    # ---- replay: invalid_grant, the family is revoked ----
    before = families_revoked(env)
    r = token(srv, code_form(code, verifier, "web"))
    token_no_cache("replayed code", r)
    check_eq("replayed code: 400", r.status, 400)
    check_eq("replayed code: invalid_grant", error(r), "invalid_grant")
    check_eq("replay revokes the code's family", families_revoked(env), before + 1)
    family = sql(env, "SELECT family_id FROM authorization_codes WHERE code_hash = %s::bytea"
                 % lit(secret_hash_hex(env, code)))[0][0]
    check_eq("the revoked family is the code's",
             sql(env, "SELECT count(*) FROM revoked_grants WHERE family_id = %s" % lit(family))[0][0], "1")
    check_eq("the first exchange's access token no longer works", userinfo(srv, at).status, 401)

    # ---- an unknown code revokes nothing ----
    before = families_revoked(env)
    r = token(srv, code_form("x" * 43, verifier, "web"))
    check_eq("unknown code: invalid_grant", error(r), "invalid_grant")
    check_eq("unknown code revokes nothing", families_revoked(env), before)

    # ---- failed exchanges use the code up ----
    def used_up(name, code, verifier):
        r = token(srv, code_form(code, verifier, "web"))
        check_eq("%s: the code is used up" % name, error(r), "invalid_grant")

    code, verifier = add_code(env, "web", uid, sid)
    wrong = verifier[:-1] + ("A" if verifier[-1] != "A" else "B")
    r = token(srv, code_form(code, wrong, "web"))
    token_no_cache("wrong verifier", r)
    check_eq("wrong verifier: invalid_grant", error(r), "invalid_grant")
    used_up("wrong verifier", code, verifier)

    code, verifier = add_code(env, "web", uid, sid)
    r = token(srv, code_form(code, verifier, "web2"))
    check_eq("code of another client: invalid_grant", error(r), "invalid_grant")
    used_up("another client", code, verifier)

    code, verifier = add_code(env, "web", uid, sid)
    r = token(srv, code_form(code, verifier, "web", redirect=REDIRECT + "/x"))
    check_eq("other redirect_uri: invalid_grant", error(r), "invalid_grant")
    check("other redirect_uri: says so", "redirect_uri" in (r.json() or {}).get("error_description", ""),
          r.describe())
    used_up("another redirect_uri", code, verifier)

    code, verifier = add_code(env, "web", uid, sid)
    sql(env, "UPDATE authorization_codes SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
    r = token(srv, code_form(code, verifier, "web"))
    check_eq("expired code: invalid_grant", error(r), "invalid_grant")
    check_eq("an expired code is used up too",
             sql(env, "SELECT count(*) FROM authorization_codes WHERE used_at IS NULL")[0][0], "0")

    bob = add_user(env, "bob")
    bob_sid = add_session(env, bob)
    code, verifier = add_code(env, "web", bob, bob_sid)
    sql(env, "UPDATE users SET active = false WHERE id = %s" % lit(bob))
    r = token(srv, code_form(code, verifier, "web"))
    check_eq("deactivated user: invalid_grant", error(r), "invalid_grant")
    sql(env, "UPDATE users SET active = true WHERE id = %s" % lit(bob))
    used_up("deactivated user", code, verifier)

    # ---- two exchanges of one code at once: exactly one wins ----
    for round_ in range(3):
        code, verifier = add_code(env, "web", uid, sid)
        before = families_revoked(env)
        results = [None, None]

        def exchange(i):
            results[i] = token(srv, code_form(code, verifier, "web"))

        threads = [threading.Thread(target=exchange, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status for r in results)
        check_eq("concurrent exchanges (round %d): one 200, one 400" % round_, statuses, [200, 400])
        check_eq("concurrent exchanges (round %d): the loser revokes the family" % round_,
                 families_revoked(env), before + 1)

    # ---- a session from a Temporary Access Pass: tokens end with the pass ----
    carol = add_user(env, "carol")
    tap = sql(env, "INSERT INTO taps (user_id, secret_hash, start_at, expires_at, lifetime_minutes, is_usable_once, "
                   "length, created_by) VALUES (%s, %s::bytea, now() - interval '9 minutes 30 seconds', "
                   "now() - interval '9 minutes 30 seconds' + interval '10 minutes', 10, true, 8, 'test') "
                   "RETURNING id, floor(extract(epoch FROM expires_at))::bigint"
              % (lit(carol), lit("\\x" + "ab" * 32)))[0]
    tap_sid = sql(env, "INSERT INTO sessions (token_hash, user_id, auth_time, amr, acr, expires_at, tap_id) VALUES "
                       "(%s::bytea, %s, now(), '{tap}', 'urn:regain:acr:tap', now() + interval '1 hour', %s) "
                       "RETURNING id" % (lit("\\x" + "cd" * 32), lit(carol), lit(tap[0])))[0][0]
    code, verifier = add_code(env, "web", carol, tap_sid, scope="openid", claims={"id_token": {"email": None}})
    r = token(srv, code_form(code, verifier, "web"))
    body = r.json() or {}
    require("TAP session: 200", r.status == 200 and "access_token" in body, r.describe())
    check_eq("TAP session with a claims request: the user's email in the ID token",
             jwt_parts(body["id_token"])[1].get("email"), "carol@example.com")
    check_eq("TAP session: access token exp is the pass's expiry", jwt_parts(body["access_token"])[1].get("exp"),
             int(tap[1]))
    check_eq("TAP session: ID token exp is the pass's expiry", jwt_parts(body["id_token"])[1].get("exp"), int(tap[1]))
    check("TAP session: expires_in no later than the pass", 0 < body.get("expires_in", 0) <= int(tap[1]) - now() + 1,
          repr(body))
    r = token(srv, code_form(code, verifier, "web"))
    check_eq("TAP session: replay refused", error(r), "invalid_grant")
    srv.stop()


if __name__ == "__main__":
    run(main)
