"""RP-Initiated Logout 1.0 §2 takes an ID token as id_token_hint; our other
signed tokens (the RFC 9068 access token, typ at+jwt) carry our issuer and
the user's sub too, and must not pass for one (RFC 8725 §3.11: explicit
typing keeps one kind of JWT from being taken for another). An access token
given as the hint is refused like any hint not issued here: an error page,
no redirection, the session kept. Without the check it ended the session at
once, without the confirmation that §2 requires when no ID token of the
current session is given."""

import json

from authorize_browser import POST_LOGOUT, Browser, authorize_params, live_sessions, pkce, setup_fixtures
from harness import b64url_decode, check, check_eq, require, run


def main(env):
    srv = env.regain()
    sql = setup_fixtures(srv, env.db_url)


    b = Browser(srv)
    verifier, challenge = pkce()
    r = b.get("/authorize", authorize_params(challenge))
    r = b.follow(b.sign_in(r, "alice", "wonderland 1"))
    require("a code", r.status == 303 and "code=" in (r.header("location") or ""), r)
    _, q = r.location_params()
    tok = b.post("/token", {"grant_type": "authorization_code", "code": q["code"],
                            "redirect_uri": authorize_params(challenge)["redirect_uri"], "client_id": "rp1",
                            "code_verifier": verifier})
    body = json.loads(tok.text)
    at, idt = body["access_token"], body["id_token"]
    require("the access token is typed at+jwt",
            json.loads(b64url_decode(at.split(".")[0])).get("typ") == "at+jwt", at)
    require("one live session", live_sessions(sql) == 1, "")

    for label, params in (("access token as the hint", {"id_token_hint": at}),
                          ("access token as the hint, with client_id",
                           {"id_token_hint": at, "client_id": "rp1", "post_logout_redirect_uri": POST_LOGOUT})):
        r = b.get("/logout", params)
        check_eq("%s: 400" % label, r.status, 400)
        check("%s: no Location" % label, r.header("location") is None, r)
        check_eq("%s: the session is still live" % label, live_sessions(sql), 1)

    # The ID token itself still works.
    r = b.get("/logout", {"id_token_hint": idt, "post_logout_redirect_uri": POST_LOGOUT, "state": "s1"})
    check_eq("the ID token as the hint: 303", r.status, 303)
    check_eq("... to the post-logout URI", r.header("location"), POST_LOGOUT + "?state=s1")
    check_eq("... the session ended", live_sessions(sql), 0)
    srv.stop()


if __name__ == "__main__":
    run(main)
