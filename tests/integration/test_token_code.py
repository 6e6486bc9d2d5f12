"""POST /token with grant_type=authorization_code (RFC 6749 §4.1.3, OIDC Core
§3.1.3, RFC 7636 §4.6): a good exchange returns a signed access token (RFC
9068) and ID token (at_hash, nonce, aud, azp, sid) plus a refresh token with
offline_access; the code is one-time, and a replay fails with invalid_grant
and revokes the refresh token of the first exchange (RFC 9700 §4.14); a wrong
verifier, another client, another redirect URI or an expired code fail; every
answer carries Cache-Control: no-store and Pragma: no-cache."""

from harness import check, check_eq, require, run
from tokens_fixture import (REDIRECT, add_client, add_code, add_session, add_user, at_hash, code_form, jwt_parts,
                            lit, now, sql, token, token_no_cache, verify_sig)


def main(env):
    srv = env.regain()
    add_client(srv, "app")
    add_client(srv, "other")
    add_client(srv, "rsapp", alg="RS256")
    add_client(srv, "nooffline", grants="authorization_code")
    uid = add_user(env, "alice")
    sid = add_session(env, uid)

    # ---- a good exchange ----
    claims = {"id_token": {"email": None, "name": {"essential": True}}, "userinfo": {"given_name": None}}
    code, verifier = add_code(env, "app", uid, sid, claims=claims)
    r = token(srv, code_form(code, verifier, "app"))
    token_no_cache("good exchange", r)
    body = r.json() or {}
    require("good exchange: 200 with tokens", r.status == 200 and "access_token" in body, r.describe())
    check_eq("token_type", body.get("token_type"), "Bearer")
    check("expires_in is a positive integer", isinstance(body.get("expires_in"), int) and body["expires_in"] > 0,
          repr(body))
    check_eq("scope", body.get("scope"), "openid profile offline_access")
    check("refresh token with offline_access", isinstance(body.get("refresh_token"), str), repr(body))
    at, idt = body["access_token"], body.get("id_token")
    require("ID token with openid", isinstance(idt, str), repr(body))

    h, p, _ = jwt_parts(at)
    check_eq("access token typ", h.get("typ"), "at+jwt")
    check("access token has kid", bool(h.get("kid")), repr(h))
    check("access token signature verifies with /jwks.json", verify_sig(srv, at), at)
    check_eq("access token iss", p.get("iss"), srv.issuer)
    check_eq("access token aud", p.get("aud"), srv.issuer)
    check_eq("access token sub", p.get("sub"), uid)
    check_eq("access token client_id", p.get("client_id"), "app")
    check("access token exp/iat", p.get("exp", 0) > now() > p.get("iat", 0) - 5, repr(p))
    check("access token jti and gid", bool(p.get("jti")) and bool(p.get("gid")), repr(p))

    h, p, _ = jwt_parts(idt)
    check_eq("ID token alg (default ES256)", h.get("alg"), "ES256")
    check("ID token signature verifies with /jwks.json", verify_sig(srv, idt), idt)
    check_eq("ID token iss", p.get("iss"), srv.issuer)
    check_eq("ID token aud", p.get("aud"), "app")
    check_eq("ID token azp", p.get("azp"), "app")
    check_eq("ID token sub", p.get("sub"), uid)
    check_eq("ID token nonce", p.get("nonce"), "n-0S6_WzA2Mj")
    check_eq("ID token sid", p.get("sid"), sid)
    check_eq("ID token at_hash", p.get("at_hash"), at_hash(at))
    check_eq("ID token acr", p.get("acr"), "urn:regain:acr:password")
    check_eq("ID token amr", p.get("amr"), ["pwd"])
    check("ID token auth_time", isinstance(p.get("auth_time"), int) and p["auth_time"] <= now(), repr(p))
    check_eq("ID token email (claims request)", p.get("email"), "alice@example.com")
    check_eq("ID token name (claims request)", p.get("name"), "Alice Liddell")
    check("ID token has no unrequested given_name", "given_name" not in p, repr(p))
    rt = body["refresh_token"]

    # ---- replay: invalid_grant, and the first exchange's refresh token dies ----
    r = token(srv, code_form(code, verifier, "app"))
    token_no_cache("replayed code", r)
    check_eq("replayed code: 400", r.status, 400)
    check_eq("replayed code: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")
    r = token(srv, {"grant_type": "refresh_token", "refresh_token": rt, "client_id": "app"})
    check_eq("refresh token of a replayed code no longer works", (r.json() or {}).get("error"), "invalid_grant")
    rows = sql(env, "SELECT count(*) FROM revoked_grants")
    check_eq("the code's grant family is revoked", rows[0][0], "1")

    # ---- wrong verifier; the code is used up afterwards ----
    code, verifier = add_code(env, "app", uid, sid)
    wrong = verifier[:-1] + ("A" if verifier[-1] != "A" else "B")
    r = token(srv, code_form(code, wrong, "app"))
    token_no_cache("wrong verifier", r)
    check_eq("wrong verifier: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")
    r = token(srv, code_form(code, verifier, "app"))
    check_eq("code used up by a wrong verifier", (r.json() or {}).get("error"), "invalid_grant")

    # ---- malformed or missing verifier ----
    code, verifier = add_code(env, "app", uid, sid)
    r = token(srv, code_form(code, "short", "app"))
    check_eq("verifier under 43 chars: invalid_request", (r.json() or {}).get("error"), "invalid_request")
    f = code_form(code, verifier, "app")
    del f["code_verifier"]
    r = token(srv, f)
    check_eq("missing verifier: invalid_request", (r.json() or {}).get("error"), "invalid_request")
    r = token(srv, code_form(code, verifier, "app"))
    check_eq("a rejected-before-redemption code still works", r.status, 200)

    # ---- another client ----
    code, verifier = add_code(env, "app", uid, sid)
    r = token(srv, code_form(code, verifier, "other"))
    token_no_cache("code of another client", r)
    check_eq("code used by another client: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")

    # ---- another redirect URI ----
    code, verifier = add_code(env, "app", uid, sid)
    r = token(srv, code_form(code, verifier, "app", redirect=REDIRECT + "/x"))
    check_eq("other redirect_uri: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")

    # ---- expired ----
    code, verifier = add_code(env, "app", uid, sid)
    sql(env, "UPDATE authorization_codes SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
    r = token(srv, code_form(code, verifier, "app"))
    check_eq("expired code: invalid_grant", (r.json() or {}).get("error"), "invalid_grant")

    # ---- no openid: no ID token; no offline_access or no refresh grant: no refresh token ----
    code, verifier = add_code(env, "app", uid, sid, scope="profile")
    r = token(srv, code_form(code, verifier, "app"))
    b = r.json() or {}
    check("scope without openid: no id_token", r.status == 200 and "id_token" not in b, r.describe())
    check("scope without offline_access: no refresh_token", "refresh_token" not in b, repr(b))
    code, verifier = add_code(env, "nooffline", uid, sid)
    r = token(srv, code_form(code, verifier, "nooffline"))
    b = r.json() or {}
    check("client without refresh_token grant: no refresh_token", r.status == 200 and "refresh_token" not in b,
          r.describe())

    # ---- RS256 ID token for a client that asked for it ----
    code, verifier = add_code(env, "rsapp", uid, sid)
    r = token(srv, code_form(code, verifier, "rsapp"))
    b = r.json() or {}
    require("RS256 client: 200", r.status == 200 and "id_token" in b, r.describe())
    h, p, _ = jwt_parts(b["id_token"])
    check_eq("RS256 client: ID token alg", h.get("alg"), "RS256")
    check("RS256 ID token verifies", verify_sig(srv, b["id_token"]), b["id_token"])
    check_eq("RS256 ID token at_hash", p.get("at_hash"), at_hash(b["access_token"]))

    # ---- a code whose session has ended (sign-out, recovery, TAP revoked) ----
    # Both exchanges: "app" may receive refresh tokens (regain_code_exchange),
    # "nooffline" may not (the one-statement take); a live session's code
    # works on each, the same code after the session ends does not.
    for client in ("app", "nooffline"):
        sid2 = add_session(env, uid)
        live, live_v = add_code(env, client, uid, sid2, scope="openid")
        ended, ended_v = add_code(env, client, uid, sid2, scope="openid")
        r = token(srv, code_form(live, live_v, client))
        check(client + ": a live session's code is exchanged", r.status == 200, r.describe())
        sql(env, "UPDATE sessions SET ended_at = now() WHERE id = %s" % lit(sid2))
        r = token(srv, code_form(ended, ended_v, client))
        token_no_cache(client + ": ended session's code", r)
        check(client + ": a code of an ended session: 400 invalid_grant",
              r.status == 400 and (r.json() or {}).get("error") == "invalid_grant", r.describe())
        check_eq(client + ": ... with the public message of an unknown code",
                 (r.json() or {}).get("error_description"), "authorization code is invalid, expired or already used")
        used = sql(env, "SELECT count(*) FROM authorization_codes WHERE used_at IS NOT NULL AND session_id = %s"
                   % lit(sid2))
        check_eq(client + ": ... and the code is used up", used[0][0], "2")

    # ---- request shape ----
    code, verifier = add_code(env, "app", uid, sid)
    form = list(code_form(code, verifier, "app").items()) + [("code", code)]
    r = token(srv, form)
    token_no_cache("repeated parameter", r)
    check_eq("repeated parameter: invalid_request", (r.json() or {}).get("error"), "invalid_request")
    r = token(srv, {"grant_type": "password", "client_id": "app"})
    check_eq("unsupported grant_type", (r.json() or {}).get("error"), "unsupported_grant_type")
    r = token(srv, {"client_id": "app"})
    check_eq("missing grant_type: invalid_request", (r.json() or {}).get("error"), "invalid_request")
    r = token(srv, {"grant_type": "authorization_code", "client_id": "app", "redirect_uri": REDIRECT,
                    "code_verifier": verifier})
    check_eq("missing code: invalid_request", (r.json() or {}).get("error"), "invalid_request")
    srv.stop()


if __name__ == "__main__":
    run(main)
