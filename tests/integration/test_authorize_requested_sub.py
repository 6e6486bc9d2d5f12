"""OIDC Core §3.1.2.2 (and §5.5.1): when a request names the End-User it is
for, by a `sub` value in the claims request's id_token member or by an
id_token_hint, "the Authorization Server MUST only send a positive response
if the End-User identified by that sub value has an active session with the
Authorization Server or has been Authenticated as a result of the request.
The Authorization Server MUST NOT reply with an ID Token or Access Token for
a different user, even if they have an active session". So a browser signed
in as alice gets no code for a request naming bob: prompt=none answers
login_required, otherwise the sign-in page is shown, and signing in as alice
again still gives no code; signing in as bob does. A request naming alice
gets its code at once."""

import json

from authorize_browser import REDIRECT, Browser, authorize_params, pkce, setup_fixtures
from harness import SLOW, check, check_eq, regain_bin, require, run, sh


def code_for(b, challenge, verifier, r):
    """The sub of the ID token the code in r's Location buys, or None."""
    _, q = r.location_params()
    if "code" not in q:
        return None
    tok = b.post("/token", {"grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
                            "client_id": "rp1", "code_verifier": verifier})
    idt = json.loads(tok.text)["id_token"]
    import base64
    payload = idt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def main(env):
    srv = env.regain()
    sql = setup_fixtures(srv, env.db_url)
    p = sh([regain_bin(), "user", "add", "--username", "bob", "--password-stdin", "--config", srv.config_path],
           input="builder 2\n", timeout=60 * SLOW)
    require("user add bob", p.returncode == 0, p.stderr)
    alice = sql("select id from users where user_name = 'alice'")[0][0]
    bob = sql("select id from users where user_name = 'bob'")[0][0]

    # bob's ID token, from another browser, for the id_token_hint cases.
    bb = Browser(srv, src="127.0.0.2")
    v, c = pkce()
    r = bb.follow(bb.sign_in(bb.get("/authorize", authorize_params(c)), "bob", "builder 2"))
    _, q = r.location_params()
    tok = bb.post("/token", {"grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
                             "client_id": "rp1", "code_verifier": v})
    bob_idt = json.loads(tok.text)["id_token"]

    b = Browser(srv)
    v, c = pkce()
    r = b.follow(b.sign_in(b.get("/authorize", authorize_params(c)), "alice", "wonderland 1"))
    require("alice is signed in", code_for(b, c, v, r) == alice, r)

    for label, extra in (("claims id_token sub bob", {"claims": json.dumps({"id_token": {"sub": {"value": bob}}})}),
                         ("id_token_hint of bob", {"id_token_hint": bob_idt})):
        v, c = pkce()
        r = b.get("/authorize", authorize_params(c, prompt="none", **extra))
        _, q = r.location_params()
        check_eq("%s, alice signed in, prompt=none: login_required" % label, q.get("error"), "login_required")
        check("... no code", "code" not in q, r)

        v, c = pkce()
        r = b.get("/authorize", authorize_params(c, **extra))
        check_eq("%s, alice signed in: the sign-in page, no code" % label, r.status, 200)
        page = r
        r = b.follow(b.sign_in(page, "alice", "wonderland 1"))
        check("... signing in as alice again gives no code", "code=" not in (r.header("location") or ""), r)
        r = b.follow(b.sign_in(r if r.status == 200 else page, "bob", "builder 2"))
        check_eq("... signing in as bob gives bob's code", code_for(b, c, v, r), bob)
        # Back to alice for the next case.
        v, c = pkce()
        r = b.follow(b.sign_in(b.get("/authorize", authorize_params(c, prompt="login")), "alice", "wonderland 1"))
        require("alice again", code_for(b, c, v, r) == alice, r)

    v, c = pkce()
    r = b.get("/authorize", authorize_params(c, prompt="none",
                                             claims=json.dumps({"id_token": {"sub": {"value": alice}}})))
    check_eq("a request naming alice, alice signed in: her code", code_for(b, c, v, r), alice)

    v, c = pkce()
    r = b.get("/authorize", authorize_params(c, claims=json.dumps({"id_token": {"sub": {"value": 7}}})))
    _, q = r.location_params()
    check_eq("a sub value that is not a string: invalid_request", q.get("error"), "invalid_request")
    srv.stop()


if __name__ == "__main__":
    run(main)
