"""The sign-out confirmation (RP-Initiated Logout 1.0 §2: asked when no ID
token of the current session is given) is confirmed only by the form the OP
showed. SameSite=Lax keeps the session cookie off cross-site POSTs, but not
off same-site ones: a page on a sibling host of the same site (another
relying party, or any script injected there) could post confirm=yes and
sign the person out unasked. The form now carries the signed double-submit
token of the sign-in forms (oidc/csrf.c), bound to the sign-out; a POST
without it, or with a wrong one, only shows the confirmation again, unless
the browser marks it Sec-Fetch-Site: same-origin (the account page's
sign-out button; Fetch Metadata, sent by current browsers whatever the
Referrer-Policy, which makes them send "Origin: null")."""

import urllib.parse

from authorize_browser import (POST_LOGOUT, Browser, authorize_params, field_value, live_sessions, logout_form,
                              pkce, setup_fixtures)
from harness import check, check_eq, require, run


def main(env):
    srv = env.regain()
    sql = setup_fixtures(srv, env.db_url)


    b = Browser(srv)
    r = b.follow(b.sign_in(b.get("/authorize", authorize_params(pkce()[1])), "alice", "wonderland 1"))
    require("signed in", r.status == 303 and live_sessions(sql) == 1, r)

    forged = {"client_id": "rp1", "post_logout_redirect_uri": POST_LOGOUT, "state": "x", "confirm": "yes"}
    r = b.post("/logout", forged)
    check_eq("confirm=yes without the form's token: the confirmation page (200)", r.status, 200)
    check("... no Location", r.header("location") is None, r)
    check_eq("... the session is still live", live_sessions(sql), 1)
    r = b.post("/logout", dict(forged, csrf="A" * 43))
    check_eq("a wrong token: the confirmation page (200)", r.status, 200)
    check_eq("... the session is still live", live_sessions(sql), 1)

    body = urllib.parse.urlencode(forged)
    ct = "application/x-www-form-urlencoded"
    r = b.request("POST", "/logout", raw_body=body, content_type=ct, headers={"Sec-Fetch-Site": "same-site"})
    check_eq("from a sibling host (Sec-Fetch-Site: same-site): the confirmation page (200)", r.status, 200)
    check_eq("... the session is still live", live_sessions(sql), 1)
    r = b.request("POST", "/logout", raw_body=urllib.parse.urlencode({"confirm": "yes"}), content_type=ct,
                  headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"})
    check_eq("from the OP's own page (the account page's button): signed out (200)", r.status, 200)
    check("... the signed-out page", "signed out" in r.text, r.text[:400])
    check_eq("... the session ended", live_sessions(sql), 0)

    r = b.follow(b.sign_in(b.get("/authorize", authorize_params(pkce()[1])), "alice", "wonderland 1"))
    require("signed in again", r.status == 303 and live_sessions(sql) == 1, r)
    page = b.get("/logout", {"client_id": "rp1", "post_logout_redirect_uri": POST_LOGOUT, "state": "bye"})
    check_eq("the confirmation page", page.status, 200)
    token = field_value(page.text, "csrf")
    check("... carries a token", token is not None and len(token) == 43, page.text[:600])
    form = logout_form(page.text)
    r = b.post("/logout", form)
    check_eq("the form as shown: 303", r.status, 303)
    check_eq("... to the post-logout URI with state", r.header("location"), POST_LOGOUT + "?state=bye")
    check_eq("... the session ended", live_sessions(sql), 0)
    srv.stop()


if __name__ == "__main__":
    run(main)
