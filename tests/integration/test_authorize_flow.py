"""The code flow through the real sign-in form (OIDC Core §3.1.2, RFC 6749
§4.1, RFC 7636, RFC 9207): /authorize -> sign-in page -> POST /login -> 303
straight to the redirect URI with code, state and iss; the
code stored only as its keyed hash; a pending request resumed at most once;
an existing session used at once; prompt=login and max_age=0 force a new
sign-in; prompt=none with a session; form_post; the code redeemed at /token."""

import json
import re
import time

from authorize_browser import (REDIRECT, Browser, authorize_params, code_from, field_value, pkce, setup_fixtures)
from harness import b64url_decode, check, check_eq, require, run


def main(env):
    srv = env.regain()
    sql = setup_fixtures(srv, env.db_url)
    b = Browser(srv)
    verifier, challenge = pkce()

    # ---- first sign-in ---------------------------------------------------------
    claims = '{"id_token":{"acr":{"essential":true}},"userinfo":{"email":null}}'
    r = b.get("/authorize", authorize_params(challenge, claims=claims))
    require("no session: the sign-in page", r.status == 200 and field_value(r.text, "request"), r)
    rid = field_value(r.text, "request")
    check("... which carries the request in its box", len(field_value(r.text, "pending") or "") > 100, r)
    check_eq("... and stores nothing", sql("select count(*) from authorization_requests"), [["0"]])
    r = b.sign_in(r, "alice", "wonderland 1")
    check("POST /login: the new session cookie on the same answer", "__Host-regain-session" in r.set_cookies(), r)
    code = code_from(r, "POST /login finishes the request", srv)
    rows = sql("select count(*) from authorization_requests where id = '%s'" % rid)
    check_eq("the pending request was never stored", rows, [["0"]])

    # ---- the stored code ---------------------------------------------------------
    rows = sql("select encode(code_hash, 'hex'), client_id, redirect_uri, scope, nonce, code_challenge, "
               "claims::text, amr::text, session_id is not null, used_at is null, "
               "round(extract(epoch from expires_at - created_at)) from authorization_codes")
    require("one code row", len(rows) == 1, rows)
    row = rows[0]
    check("the code is stored as a 32-byte hash, not the plaintext", len(row[0]) == 64 and code not in row[0]
          and code.encode().hex() not in row[0], row)
    rows = sql("select count(*) from authorization_codes where code_hash::text like '%%%s%%'" % code[:20])
    check_eq("... no column holds the plaintext", rows, [["0"]])
    check_eq("... client, redirect URI, scope, nonce, challenge", row[1:6],
             ["rp1", REDIRECT, "openid profile", "n-456", challenge])
    check_eq("... the claims request", json.loads(row[6]) if row[6] else None, json.loads(claims))
    check("... amr from the session", row[7].startswith("{") and "pwd" in row[7], row)
    check_eq("... session bound, unused", row[8:10], ["t", "t"])
    check_eq("... expires after oidc.code_ttl_s (60 s)", row[10], "60")

    r = b.get("/authorize/resume?request=" + rid)
    check_eq("resuming the same request again: 400", r.status, 400)
    check("... no Location", r.header("location") is None, r)

    # ---- the code at /token (tokens area) ------------------------------------------
    tok = b.post("/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                            "client_id": "rp1", "code_verifier": verifier})
    check_eq("the code redeems at /token with the PKCE verifier", tok.status, 200)
    try:
        body = json.loads(tok.text)
        idt = json.loads(b64url_decode(body["id_token"].split(".")[1]))
        check_eq("... the ID token's nonce", idt.get("nonce"), "n-456")
        check_eq("... its aud", idt.get("aud"), "rp1")
    except (ValueError, KeyError, IndexError) as e:
        check("... a JSON body with an id_token", False, "%r: %s" % (e, tok.text[:300]))

    # ---- a session is used at once -------------------------------------------------
    v2, c2 = pkce()
    r = b.get("/authorize", authorize_params(c2, state="two"))
    code_from(r, "with a session: a code at once", srv, state="two")
    r = b.post("/authorize", authorize_params(c2, state="post"))
    code_from(r, "POST /authorize with a session", srv, state="post")
    r = b.get("/authorize", authorize_params(c2, state="none", prompt="none"))
    code_from(r, "prompt=none with a session", srv, state="none")
    r = b.get("/authorize", authorize_params(c2, state="age", max_age="3600"))
    code_from(r, "max_age=3600 with a fresh session", srv, state="age")

    # ---- form_post success ------------------------------------------------------------
    r = b.get("/authorize", authorize_params(c2, state="fp", response_mode="form_post"))
    check_eq("form_post: 200 page", r.status, 200)
    check("... posts to the exact redirect URI",
          re.search(r'<form method="post"[^>]*action="%s"' % re.escape(REDIRECT), r.text), r)
    check("... a code", field_value(r.text, "code") and len(field_value(r.text, "code")) == 43, r)
    check_eq("... state", field_value(r.text, "state"), "fp")
    check_eq("... iss", field_value(r.text, "iss"), srv.issuer)
    check("... no-store", "no-store" in (r.header("cache-control") or ""), r)

    # ---- prompt=login and max_age=0 need a new sign-in ---------------------------------
    for label, extra in (("prompt=login", {"prompt": "login"}), ("max_age=0", {"max_age": "0"})):
        time.sleep(1.1)  # auth_time has a resolution of one second
        r = b.get("/authorize", authorize_params(c2, state="fresh", **extra))
        check("%s with a session: the sign-in page" % label, r.status == 200 and field_value(r.text, "request"), r)
        rid = field_value(r.text, "request")
        # The page's recovery link stores the request from its box: only a
        # stored request can be resumed.
        b.get("/recover", {"request": rid, "pending": field_value(r.text, "pending")})
        again = b.get("/authorize/resume?request=%s" % rid)
        check("%s: resume without signing in again shows the sign-in page" % label,
              again.status == 200 and field_value(again.text, "request") == rid, again)
        check("... of the stored request: no box", field_value(again.text, "pending") is None, again)
        r = b.sign_in(again, "alice", "wonderland 1")
        code_from(r, "%s: a code after signing in again" % label, srv, state="fresh")

    # ---- a different browser has no session ---------------------------------------------
    other = Browser(srv)
    r = other.get("/authorize", authorize_params(c2, prompt="none"))
    _, q = r.location_params()
    check_eq("another browser, prompt=none: login_required", q.get("error"), "login_required")
    srv.stop()


if __name__ == "__main__":
    run(main)
