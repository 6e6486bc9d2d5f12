"""`regain purge` (oidc/cli_purge.c, schema/033_purge.sql) removes the rows
nothing can use any more and keeps every row that can still change an answer.

One table at a time, rows on both sides of each rule are planted: expired a
moment ago or two days ago, with or without a refresh token in their grant
family, with or without a code or refresh token naming their session. The
command runs with --batch 1, so it takes several rounds, and must still remove
exactly the dead rows. A real grant whose code is long expired but whose
refresh token lives keeps working at /token afterwards."""

import json
import os
import uuid

from harness import check, check_eq, require, run
from tokens_fixture import add_client, add_code, add_user, code_form, lit, sql, token

OLD = "now() - interval '2 days'"
RECENT = "now() - interval '1 hour'"
LATER = "now() + interval '1 hour'"


def session(env, user, expires, ended="NULL"):
    return sql(env, "INSERT INTO sessions (token_hash, user_id, auth_time, amr, acr, expires_at, ended_at) VALUES "
                    "(%s::bytea, %s, now() - interval '3 days', '{pwd}', 'urn:regain:acr:password', %s, %s) "
                    "RETURNING id" % (lit("\\x" + os.urandom(32).hex()), lit(user), expires, ended))[0][0]


def code(env, user, sess, expires, family=None):
    family = family or str(uuid.uuid4())
    sql(env, "INSERT INTO authorization_codes (code_hash, client_id, user_id, session_id, redirect_uri, scope, "
             "code_challenge, auth_time, amr, expires_at, used_at, family_id) VALUES (%s::bytea, 'web', %s, %s, "
             "'https://rp.example/cb', 'openid', 'x', now() - interval '3 days', '{pwd}', %s, %s, %s)"
        % (lit("\\x" + os.urandom(32).hex()), lit(user), lit(sess), expires, expires, lit(family)))
    return family


def refresh(env, user, sess, family, expires):
    h = "\\x" + os.urandom(32).hex()
    sql(env, "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, session_id, scope, auth_time, "
             "amr, expires_at) VALUES (%s::bytea, %s, 'web', %s, %s, 'openid', now() - interval '3 days', '{pwd}', "
             "%s)" % (lit(h), lit(family), lit(user), lit(sess), expires))
    return h


def exists(env, table, where):
    return sql(env, "SELECT count(*) FROM %s WHERE %s" % (table, where))[0][0] == "1"


def main(env):
    srv = env.regain()
    add_client(srv, "web")
    u = add_user(env, "alice")
    keep, gone = {}, {}

    # ---- sessions, codes, refresh tokens, revoked families ----
    gone["session ended 2 days ago"] = ("sessions", "id = %s" % lit(session(env, u, LATER, OLD)))
    gone["session expired 2 days ago"] = ("sessions", "id = %s" % lit(session(env, u, OLD)))
    keep["session ended an hour ago"] = ("sessions", "id = %s" % lit(session(env, u, LATER, RECENT)))
    keep["live session"] = ("sessions", "id = %s" % lit(session(env, u, LATER)))

    s1 = session(env, u, OLD)
    f1 = code(env, u, s1, OLD)
    gone["code expired 2 days ago, family without refresh token"] = ("authorization_codes",
                                                                     "family_id = %s" % lit(f1))
    gone["... and then its expired session"] = ("sessions", "id = %s" % lit(s1))

    s2 = session(env, u, OLD)
    f2 = code(env, u, s2, OLD)
    rt_live = refresh(env, u, s2, f2, LATER)
    keep["code expired 2 days ago whose family has a live refresh token"] = ("authorization_codes",
                                                                            "family_id = %s" % lit(f2))
    keep["expired session named by that refresh token"] = ("sessions", "id = %s" % lit(s2))
    keep["live refresh token"] = ("refresh_tokens", "token_hash = %s::bytea" % lit(rt_live))

    s3 = session(env, u, LATER)
    f3 = code(env, u, s3, RECENT)
    keep["code expired an hour ago"] = ("authorization_codes", "family_id = %s" % lit(f3))
    keep["live session named by a code"] = ("sessions", "id = %s" % lit(s3))

    f4 = str(uuid.uuid4())
    gone["refresh token expired 2 days ago"] = ("refresh_tokens", "token_hash = %s::bytea"
                                                % lit(refresh(env, u, None, f4, OLD)))
    keep["refresh token expired an hour ago"] = ("refresh_tokens", "token_hash = %s::bytea"
                                                 % lit(refresh(env, u, None, str(uuid.uuid4()), RECENT)))

    def revoked(family, when):
        sql(env, "INSERT INTO revoked_grants (family_id, revoked_at) VALUES (%s, %s)" % (lit(family), when))
        return ("revoked_grants", "family_id = %s" % lit(family))

    gone["family revoked 2 days ago, nothing left"] = revoked(f4, OLD)
    keep["family revoked 2 days ago with a live refresh token"] = revoked(f2, OLD)
    keep["family revoked an hour ago"] = revoked(str(uuid.uuid4()), RECENT)

    # ---- short-lived rows ----
    def short(table, columns, values, key, expires):
        rows = sql(env, "INSERT INTO %s (%s, expires_at) VALUES (%s, %s) RETURNING %s"
                   % (table, columns, values, expires, key))
        return (table, "%s = %s" % (key, lit(rows[0][0])))

    for label, when, side in (("expired", "now() - interval '1 second'", gone), ("live", LATER, keep)):
        side["%s revoked access token" % label] = short("revoked_access_tokens", "jti", lit(str(uuid.uuid4())),
                                                        "jti", when)
        side["%s authorization request" % label] = short("authorization_requests", "client_id, params",
                                                         "'web', '{}'", "id", when)
        side["%s private_key_jwt jti" % label] = short("client_assertion_jtis", "client_id, jti",
                                                       "'web', %s" % lit(str(uuid.uuid4())), "jti", when)
        side["%s passkey challenge" % label] = short(
            "webauthn_challenges", "challenge, ceremony, context, browser",
            "%s::bytea, 'get', 'x', '\\x00'::bytea" % lit("\\x" + os.urandom(32).hex()),
            "encode(challenge, 'hex')", when)
        side["%s pending second step" % label] = short(
            "signin_pending", "token_hash, user_id, context, amr",
            "%s::bytea, %s, 'x', '{pwd}'" % (lit("\\x" + os.urandom(32).hex()), lit(u)),
            "encode(token_hash, 'hex')", when)

    # ---- sign-in counters ----
    def counter(key, window, locked="NULL"):
        sql(env, "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES (%s, 3, %s, %s)"
            % (lit(key), window, locked))
        return ("login_throttle", "key = %s" % lit(key))

    gone["account counter whose window passed 2 days ago"] = counter("user:old-guess", OLD)
    keep["locked account counter"] = counter("user:locked", OLD, LATER)
    keep["address counter in its window"] = counter("addr:192.0.2.1", RECENT)
    # A TAP sign-in's address counter has the same window and lockout as the
    # others (oidc/tap_signin.c passes them to tap_redeem).
    gone["TAP address counter whose window passed 2 days ago"] = counter("tap-addr:192.0.2.2", OLD)
    keep["locked TAP address counter"] = counter("tap-addr:192.0.2.3", OLD, LATER)
    keep["TAP address counter in its window"] = counter("tap-addr:192.0.2.4", RECENT)

    # ---- a real grant: its code long expired, its refresh token alive ----
    code_text, verifier = add_code(env, "web", u, session(env, u, LATER), scope="openid offline_access")
    r = token(srv, code_form(code_text, verifier, "web"))
    require("a real exchange with a refresh token", r.status == 200 and "refresh_token" in (r.json() or {}),
            r.describe())
    real_rt = r.json()["refresh_token"]
    sql(env, "UPDATE authorization_codes SET expires_at = %s, used_at = %s WHERE code_hash = (SELECT code_hash "
             "FROM refresh_tokens WHERE client_id = 'web' AND code_hash IS NOT NULL ORDER BY created_at DESC "
             "LIMIT 1)" % (OLD, OLD))

    for label, (table, where) in list(gone.items()) + list(keep.items()):
        require("planted: %s" % label, exists(env, table, where), (table, where))

    p = srv.cli("purge", "--batch", "1", "--json")
    check_eq("regain purge exits 0", p.returncode, 0)
    out = json.loads(p.stdout or "{}")
    check_eq("... reports as many rows removed as were dead", out.get("removed"), len(gone))
    for label, (table, where) in gone.items():
        check("removed: %s" % label, not exists(env, table, where), (table, where))
    for label, (table, where) in keep.items():
        check("kept: %s" % label, exists(env, table, where), (table, where))

    r = token(srv, {"grant_type": "refresh_token", "refresh_token": real_rt, "client_id": "web"})
    check_eq("the real grant's refresh token still works after the purge", r.status, 200)
    p = srv.cli("purge")
    check("a second run removes nothing", p.returncode == 0 and "removed 0 rows" in p.stdout, p.stdout)
    p = srv.cli("purge", "--batch", "0")
    check_eq("--batch 0: usage error", p.returncode, 2)


if __name__ == "__main__":
    run(main)
