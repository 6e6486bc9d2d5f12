"""OIDC Core §5.5.1.1: "If the acr Claim was requested as an Essential Claim
with a values parameter requesting specific Authentication Context Class
Reference values and the implementation supports the claims parameter, the
Authorization Server MUST return an acr Claim Value that matches one of the
requested values. [...] If this is an Essential Claim and the requirement
cannot be met, then the Authorization Server MUST treat that outcome as a
failed authentication attempt." A request whose essential acr names only
values regain never asserts cannot be met: it is answered with
unmet_authentication_requirements (OpenID Connect Core Error Code
unmet_authentication_requirements 1.0), where a code with the session's
own acr used to go back. Among the values, one regain knows is enough; a
voluntary acr (acr_values, or the claim without essential) stays a wish."""

import base64
import json

from authorize_browser import REDIRECT, Browser, authorize_params, pkce, setup_fixtures
from harness import check, check_eq, require, run


def acr_of_code(b, verifier, r):
    _, q = r.location_params()
    if "code" not in q:
        return None
    tok = b.post("/token", {"grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
                            "client_id": "rp1", "code_verifier": verifier})
    p = json.loads(tok.text)["id_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))).get("acr")


def claims(acr):
    return json.dumps({"id_token": {"acr": acr}})


def main(env):
    srv = env.regain()
    setup_fixtures(srv, env.db_url)
    b = Browser(srv)
    v, c = pkce()
    r = b.follow(b.sign_in(b.get("/authorize", authorize_params(c)), "alice", "wonderland 1"))
    require("alice is signed in", acr_of_code(b, v, r) == "urn:regain:acr:password", r)

    for label, extra in (("prompt=none", {"prompt": "none"}), ("interactive", {})):
        for what, acr in (("values", {"essential": True, "values": ["urn:example:silver", "urn:example:gold"]}),
                          ("value", {"essential": True, "value": "urn:example:silver"})):
            v, c = pkce()
            r = b.get("/authorize", authorize_params(c, claims=claims(acr), **extra))
            loc, q = r.location_params()
            check_eq("essential acr %s regain never asserts, %s: unmet_authentication_requirements" % (what, label),
                     (r.status, q.get("error")), (303, "unmet_authentication_requirements"))
            check("... no code, state and iss kept", "code" not in q and q.get("state") == "st-123"
                  and q.get("iss") == srv.issuer, r)

    v, c = pkce()
    r = b.get("/authorize", authorize_params(c, prompt="none", claims=claims(
        {"essential": True, "values": ["urn:example:silver", "urn:regain:acr:password"]})))
    check_eq("one known value among them: a code whose acr is that value", acr_of_code(b, v, r),
             "urn:regain:acr:password")
    v, c = pkce()
    r = b.get("/authorize", authorize_params(c, prompt="none", claims=claims({"values": ["urn:example:silver"]})))
    check_eq("the same unknown values, not essential: a code (a wish)", acr_of_code(b, v, r),
             "urn:regain:acr:password")
    v, c = pkce()
    r = b.get("/authorize", authorize_params(c, prompt="none", acr_values="urn:example:silver"))
    check_eq("acr_values naming only unknown values: a code (voluntary)", acr_of_code(b, v, r),
             "urn:regain:acr:password")
    srv.stop()


if __name__ == "__main__":
    run(main)
