"""RP-Initiated Logout 1.0 at /logout: never an open redirect (an
unregistered post_logout_redirect_uri gets a page, no Location); without an
id_token_hint the user confirms first; with a valid hint for the current
session the session ends at once and the browser goes back with state; a
forged or mismatched hint is refused; the session row gets ended_at and the
cookie is cleared."""

import json
import re

from authorize_browser import (POST_LOGOUT, Browser, authorize_params, field_value, live_sessions, logout_form,
                              pkce, setup_fixtures)
from harness import b64url, b64url_decode, check, check_eq, require, run

COOKIE = "__Host-regain-session"


def sign_in(b, label):
    """Signs in through /authorize; returns (session id, id_token or None)."""
    verifier, challenge = pkce()
    r = b.get("/authorize", authorize_params(challenge))
    if r.status == 200:
        r = b.follow(b.sign_in(r, "alice", "wonderland 1"))
    require("%s: a code" % label, r.status == 303 and "code=" in (r.header("location") or ""), r)
    _, q = r.location_params()
    tok = b.post("/token", {"grant_type": "authorization_code", "code": q["code"],
                            "redirect_uri": authorize_params(challenge)["redirect_uri"], "client_id": "rp1",
                            "code_verifier": verifier})
    id_token = None
    try:
        id_token = json.loads(tok.text)["id_token"]
    except (ValueError, KeyError):
        pass
    return id_token


def main(env):
    srv = env.regain()
    sql = setup_fixtures(srv, env.db_url)


    def no_location(label, r, status=400):
        check_eq("%s: %d" % (label, status), r.status, status)
        check("%s: no Location" % label, r.header("location") is None, r)
        check("%s: an HTML page" % label, (r.header("content-type") or "").startswith("text/html"), r)

    # ---- nothing to end -----------------------------------------------------------
    b0 = Browser(srv)
    r = b0.get("/logout")
    check_eq("no session, no parameters: 200", r.status, 200)
    check("... the signed-out page", "signed out" in r.text, r)

    # ---- never an open redirect -------------------------------------------------------
    b = Browser(srv)
    id_token = sign_in(b, "first sign-in")
    require("a live session", live_sessions(sql) == 1, "")
    for label, params in (
            ("unregistered post_logout_redirect_uri",
             {"client_id": "rp1", "post_logout_redirect_uri": "https://evil.example/", "state": "s"}),
            ("trailing slash", {"client_id": "rp1", "post_logout_redirect_uri": POST_LOGOUT + "/"}),
            ("the login redirect URI is not a logout URI",
             {"client_id": "rp1", "post_logout_redirect_uri": "https://rp.example/cb"}),
            ("unknown client", {"client_id": "nobody", "post_logout_redirect_uri": POST_LOGOUT}),
            ("no client identified", {"post_logout_redirect_uri": POST_LOGOUT}),
            ("repeated state", None)):
        if params is None:
            r = b.get("/logout?client_id=rp1&state=a&state=b")
        else:
            r = b.get("/logout", params)
        no_location(label, r)
    check_eq("... the session was not ended by any of them", live_sessions(sql), 1)

    # ---- without id_token_hint: confirm first --------------------------------------------
    r = b.get("/logout", {"client_id": "rp1", "post_logout_redirect_uri": POST_LOGOUT, "state": "bye-1"})
    check_eq("no hint: 200 confirmation page", r.status, 200)
    check("... a POST form to /logout", '<form method="post" action="/logout">' in r.text, r)
    check_eq("... carries state", field_value(r.text, "state"), "bye-1")
    check_eq("... the session is still live", live_sessions(sql), 1)
    # A GET cannot confirm (only the form's POST does; SameSite=Lax keeps
    # cross-site POSTs cookie-less).
    r2 = b.get("/logout", {"client_id": "rp1", "post_logout_redirect_uri": POST_LOGOUT, "confirm": "yes"})
    check("confirm=yes on a GET still asks", r2.status == 200 and "confirm" in r2.text, r2)
    form = logout_form(r.text)
    r = b.post("/logout", form)
    check_eq("confirmed: 303", r.status, 303)
    check_eq("... to the registered post-logout URI with state", r.header("location"), POST_LOGOUT + "?state=bye-1")
    check_eq("... the session row has ended_at", live_sessions(sql), 0)
    check("... the cookie is cleared", COOKIE not in b.jar, b.jar)
    r = b.get("/authorize", authorize_params(pkce()[1], prompt="none"))
    _, q = r.location_params()
    check_eq("... afterwards prompt=none gets login_required", q.get("error"), "login_required")

    # ---- with id_token_hint --------------------------------------------------------------
    b = Browser(srv)
    id_token = sign_in(b, "second sign-in")
    if id_token is None:
        check("an id_token from /token for the hint tests", False, "no id_token")
        srv.stop()
        return
    claims = json.loads(b64url_decode(id_token.split(".")[1]))
    sid = claims.get("sid")
    # Tampered: one byte of the signature changed.
    head, body, sig = id_token.split(".")
    bad_sig = head + "." + body + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    no_location("a tampered hint", b.get("/logout", {"id_token_hint": bad_sig,
                                                       "post_logout_redirect_uri": POST_LOGOUT}))
    # Another payload under the same signature.
    forged = dict(claims, sub="someone-else")
    forged_tok = head + "." + b64url(json.dumps(forged).encode()) + "." + sig
    no_location("a hint with a changed payload", b.get("/logout", {"id_token_hint": forged_tok}))
    # alg none.
    none_tok = b64url(b'{"alg":"none"}') + "." + body + "."
    no_location("an unsigned hint", b.get("/logout", {"id_token_hint": none_tok}))
    no_location("client_id not the hint's audience",
                b.get("/logout", {"id_token_hint": id_token, "client_id": "m2m"}))
    check_eq("... the session is still live", live_sessions(sql), 1)

    r = b.get("/logout", {"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT, "state": "bye-2",
                          "ui_locales": "fr"})
    check_eq("a valid hint for the current session: 303 at once", r.status, 303)
    check_eq("... with state", r.header("location"), POST_LOGOUT + "?state=bye-2")
    if sid:
        rows = sql("select ended_at is not null from sessions where id = '%s'" % sid)
        check_eq("... the hint's session (sid) has ended_at", rows, [["t"]])
    check_eq("... no live session left", live_sessions(sql), 0)
    check("... the cookie is cleared", COOKIE not in b.jar, b.jar)

    # A hint for an old session while another one is current: ask first.
    b2 = Browser(srv)
    id_token2 = sign_in(b2, "third sign-in")
    r = b2.get("/logout", {"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT})
    check_eq("a hint for another session: the confirmation page", r.status, 200)
    check("... a form", re.search(r'name="confirm"', r.text), r)
    check_eq("... nothing ended yet", live_sessions(sql), 1)

    # A valid hint from a browser with no session of ours (an ID token is no
    # key to someone's session): nothing here to end, and the session the
    # hint names, in another browser, stays live.
    r = Browser(srv).get("/logout", {"id_token_hint": id_token2, "post_logout_redirect_uri": POST_LOGOUT,
                                     "state": "bye-3"})
    check_eq("a hint from a browser without a session: back to the client", (r.status, r.header("location")),
             (303, POST_LOGOUT + "?state=bye-3"))
    check_eq("... the hint's session in the other browser is still live", live_sessions(sql), 1)
    r = b2.get("/authorize", authorize_params(pkce()[1], prompt="none"))
    check("... and still answers prompt=none there with a code", "code=" in (r.header("location") or ""), r)
    srv.stop()


if __name__ == "__main__":
    run(main)
