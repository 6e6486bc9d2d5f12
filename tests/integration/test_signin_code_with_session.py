"""A password sign-in that finishes its authorization request with a code
stores the session and the code in one statement (oidc/code_db.c,
authz_code_with_session), and any other answer stores the session first
(oidc/authorize.c, oidc_az_resume_opening). This checks what that must keep:

  - the code is bound to the new session: its id, its amr, its auth_time to
    the second, and the ID token's sid and auth_time are the session's;
  - a request taken while the password is checked (another tab finished it):
    the session is still stored and its cookie works, the answer is the
    "request expired" page, and no code exists;
  - a code that cannot be stored stores nothing: no session, no audit event,
    the attempt still counted, the request still pending, and the relying
    party gets server_error with state and iss;
  - an answer other than a code (an acr the password cannot reach) stores
    the session first, and the browser's cookie opens it."""

import json
import threading
import time

from authorize_browser import REDIRECT, Browser, authorize_params, field_value, pkce, setup_fixtures
from harness import SLOW, b64url_decode, check, check_eq, require, run

# A slow check (a quarter of a second here, the most passes the config takes)
# leaves time to take the request
# while the password is checked.
ARGON2_T = 16


def main(env):
    srv = env.regain({"oidc": {"argon2_t": ARGON2_T}})
    sql = setup_fixtures(srv, env.db_url)
    alice = sql("select id from users where user_name = 'alice'")[0][0]

    def sessions():
        return sql("select id, extract(epoch from auth_time)::bigint, amr::text from sessions "
                   "where user_id = '%s' and ended_at is null order by auth_time" % alice)

    # ---- a code: bound to the new session --------------------------------------------
    b = Browser(srv, "127.0.0.20")
    verifier, challenge = pkce()
    page = b.get("/authorize", authorize_params(challenge))
    require("the sign-in page", page.status == 200 and field_value(page.text, "request"), page)
    r = b.sign_in(page, "alice", "wonderland 1")
    check_eq("the right password: 303 to the relying party", r.status, 303)
    parts, q = r.location_params()
    check("... with a code, state and iss", q.get("code") and q.get("state") == "st-123"
          and q.get("iss") == srv.issuer, q)
    opened = sessions()
    require("one session", len(opened) == 1, opened)
    sid, auth_time, amr = opened[0]
    check_eq("... the code names it, with its amr and auth_time to the second",
             sql("select session_id, amr::text, extract(epoch from auth_time)::bigint, acr "
                 "from authorization_codes"),
             [[sid, amr, auth_time, "urn:regain:acr:password"]])
    tok = b.post("/token", {"grant_type": "authorization_code", "code": q.get("code", ""),
                            "redirect_uri": REDIRECT, "client_id": "rp1", "code_verifier": verifier})
    check_eq("... the code redeems", tok.status, 200)
    try:
        idt = json.loads(b64url_decode(json.loads(tok.text)["id_token"].split(".")[1]))
    except (ValueError, KeyError, IndexError):
        idt = {}
    check_eq("... the ID token's sid and auth_time are the session's", (idt.get("sid"), idt.get("auth_time")),
             (sid, int(auth_time)))

    # ---- the request taken while the password is checked --------------------------------
    b2 = Browser(srv, "127.0.0.21")
    _, challenge = pkce()
    page = b2.get("/authorize", authorize_params(challenge, state="taken"))
    rid = field_value(page.text, "request")
    require("a second request", page.status == 200 and rid, page)
    # Another door of the page (recovery) stores the request from its box;
    # the password form then finishes the stored row.
    b2.get("/recover", {"request": rid, "pending": field_value(page.text, "pending")})
    require("... stored by the recovery link", sql("select count(*) from authorization_requests where id = '%s'"
                                                  % rid) == [["1"]], rid)
    answer = {}
    t = threading.Thread(target=lambda: answer.update(r=b2.sign_in(page, "alice", "wonderland 1", box=False)))
    t.start()
    # The attempt is counted before the check, in the statement that found
    # the request live: once its counter exists, the check is under way.
    deadline = time.monotonic() + 10 * SLOW
    while time.monotonic() < deadline and sql("select count(*) from login_throttle "
                                              "where key = 'user:alice'") != [["1"]]:
        time.sleep(0.005)
    taken = sql("delete from authorization_requests where id = '%s' returning id" % rid)
    t.join(30 * SLOW)
    r = answer.get("r")
    require("the request was taken during the check, and the sign-in answered", taken and r is not None,
            (taken, r))
    check_eq("... the request-expired page (400)", r.status, 400)
    check("... that says so", "expired" in r.text, r)
    check("... with the new session's cookie", "__Host-regain-session" in r.set_cookies(), r)
    now_open = sessions()
    check_eq("... the session is stored: the password was right", len(now_open), 2)
    check_eq("... no code for it", sql("select count(*) from authorization_codes c join sessions s "
                                       "on s.id = c.session_id where s.id <> '%s'" % sid), [["0"]])
    check_eq("... the attempt forgiven", sql("select count(*) from login_throttle where key = 'user:alice'"),
             [["0"]])
    me = b2.get("/account/security")
    check_eq("... and the cookie opens the session (the account page, not the sign-in page)",
             (me.status, "alice" in me.text), (200, True))

    # ---- a code that cannot be stored stores nothing ---------------------------------------
    sql("create function test_refuse_code() returns trigger language plpgsql as $$ begin "
        "raise exception 'refused by the test'; end $$")
    sql("create trigger test_refuse_code before insert on authorization_codes for each row "
        "when (new.nonce = 'refuse') execute function test_refuse_code()")
    audits = sql("select count(*) from audit_events where type = 'method.used'")
    b3 = Browser(srv, "127.0.0.22")
    _, challenge = pkce()
    page = b3.get("/authorize", authorize_params(challenge, state="refused", nonce="refuse"))
    rid = field_value(page.text, "request")
    r = b3.sign_in(page, "alice", "wonderland 1")
    parts, q = r.location_params()
    check_eq("a code that cannot be stored: 303 to the relying party with server_error, state and iss",
             (r.status, "%s://%s%s" % (parts.scheme, parts.netloc, parts.path), q.get("error"), q.get("state"),
              q.get("iss"), "code" in q),
             (303, REDIRECT, "server_error", "refused", srv.issuer, False))
    check_eq("... no session stored", len(sessions()), 2)
    check_eq("... no method.used event", sql("select count(*) from audit_events where type = 'method.used'"),
             audits)
    check_eq("... the attempt still counted",
             sql("select failures from login_throttle where key = 'user:alice'"), [["1"]])
    check_eq("... the request still only in its box (oidc/pending.c): nothing stored",
             sql("select count(*) from authorization_requests where id = '%s'" % rid), [["0"]])
    sql("drop trigger test_refuse_code on authorization_codes")

    # ---- an answer other than a code: the session first -------------------------------------
    b4 = Browser(srv, "127.0.0.23")
    _, challenge = pkce()
    claims = '{"id_token":{"acr":{"essential":true,"values":["urn:regain:acr:mfa"]}}}'
    page = b4.get("/authorize", authorize_params(challenge, state="mfa", claims=claims))
    rid = field_value(page.text, "request")
    r = b4.sign_in(page, "alice", "wonderland 1")
    check_eq("an essential mfa acr, and a password is all alice has: to the account page to add a method",
             (r.status, (r.header("location") or "").startswith("/account/security?m=acr-mfa&request=" + rid)),
             (303, True))
    check_eq("... the session is stored", len(sessions()), 3)
    check_eq("... no code, the request stored from its box for the account page to come back to",
             sql("select (select count(*) from authorization_codes where nonce <> 'n-456'), "
                 "(select count(*) from authorization_requests where id = '%s')" % rid), [["0", "1"]])
    me = b4.follow(r)
    check_eq("... and the cookie opens the account page", (me.status, "alice" in me.text), (200, True))


if __name__ == "__main__":
    run(main)
