"""The sign-in page carries its pending authorization request in a box
(oidc/pending.c) instead of a row written at every /authorize: the password
form finishes the request from the box alone; every other door of the page
stores the box as the row the rest of the flow comes back to; a box that is
altered, belongs to another request or names a removed client gets nothing;
a request too large for a box is stored as before."""

import json

from authorize_browser import Browser, authorize_params, code_from, field_value, pkce, setup_fixtures
from harness import check, check_eq, require, run
from methods_fixture import add_app, add_user, form_fields, plant_session, totp


def altered(box):
    """The box with one character in the middle changed."""
    i = len(box) // 2
    return box[:i] + ("A" if box[i] != "A" else "B") + box[i + 1:]


def main(env):
    srv = env.regain()
    sql = setup_fixtures(srv, env.db_url)
    _, challenge = pkce()

    def stored():
        return int(sql("select count(*) from authorization_requests")[0][0])

    def counters():
        return sql("select key, failures from login_throttle order by key")

    def page_for(b, state, **extra):
        page = b.get("/authorize", authorize_params(challenge, state=state, **extra))
        require("%s: the sign-in page" % state, page.status == 200 and field_value(page.text, "request"), page)
        return page

    # ---- the page carries the request, and nothing is stored -----------------------------
    b = Browser(srv, "127.0.0.31")
    page = page_for(b, "box-1")
    rid, box = field_value(page.text, "request"), field_value(page.text, "pending")
    check("the sign-in page carries a box", box is not None and len(box) > 100, page)
    for action in ("/login", "/login/code", "/login/tap"):
        check_eq("... in the %s form" % action, (form_fields(page.text, action) or {}).get("pending"), box)
    check("... for the passkey script", 'data-pending="%s"' % box in page.text, page)
    check("... in the recovery link", 'href="/recover?request=%s&amp;pending=%s"' % (rid, box) in page.text, page)
    check_eq("... and no row is stored", stored(), 0)

    r = b.sign_in(page, "alice", "wonderland 1")
    code_from(r, "the password form finishes the request from its box", srv, state="box-1")
    check_eq("... with no row stored at any point", stored(), 0)
    check_eq("... the account's counter forgiven, as after any sign-in", counters(), [["addr:127.0.0.31", "0"]])

    # ---- boxes that do not open ---------------------------------------------------------
    b2 = Browser(srv, "127.0.0.32")
    page2 = page_for(b2, "box-2")
    form2 = dict(form_fields(page2.text, "/login"), username="alice", password="wonderland 1")
    r = b2.post("/login", dict(form2, pending=altered(form2["pending"])))
    check_eq("an altered box: the request-expired page (400)", (r.status, "expired" in r.text), (400, True))
    check("... no session", "__Host-regain-session" not in r.set_cookies(), r)
    check_eq("... nothing counted against the account or the address", counters(),
             [["addr:127.0.0.31", "0"]])
    page3 = page_for(b2, "box-3")
    form3 = dict(form_fields(page3.text, "/login"), username="alice", password="wonderland 1")
    r = b2.post("/login", dict(form3, pending=form2["pending"]))
    check_eq("another request's box under this request's id and token: 400", (r.status, "expired" in r.text),
             (400, True))
    r = b2.post("/login", dict(form2, request=form3["request"], csrf=form3["csrf"]))
    check_eq("... and the other way round: 400", r.status, 400)
    r = b2.post("/login", dict(form3, pending=""))
    check_eq("no box and no row: 400", r.status, 400)
    check_eq("... still nothing counted", counters(), [["addr:127.0.0.31", "0"]])
    check_eq("... nor stored", stored(), 0)

    r = b2.post("/login", form2)
    code_from(r, "the box with its own request finishes it", srv, state="box-2")
    # Documented (oidc/pending.c): a box cannot be used up. Finishing its
    # request again takes another sign-in and gives what the same /authorize
    # URL would give.
    r = b2.post("/login", form2)
    code_from(r, "the same box again, with the password again: another code", srv, state="box-2")

    # ---- a failed sign-in stores the request, and the page comes back without a box ----------
    b3 = Browser(srv, "127.0.0.33")
    page4 = page_for(b3, "box-4")
    rid4 = field_value(page4.text, "request")
    r = b3.sign_in(page4, "alice", "wrong password")
    check_eq("a wrong password: the page again", (r.status, field_value(r.text, "request")), (200, rid4))
    check("... without a box: the request is stored now", field_value(r.text, "pending") is None, r)
    check_eq("... one row, with the box's parameters",
             sql("select client_id, params->>'state' from authorization_requests where id = '%s'" % rid4),
             [["rp1", "box-4"]])
    r = b3.sign_in(r, "alice", "wonderland 1")
    code_from(r, "... then the right password finishes the stored request", srv, state="box-4")
    check_eq("... which takes the row", stored(), 0)

    # ---- the other doors store the box first ---------------------------------------------
    b4 = Browser(srv, "127.0.0.34")
    page5 = page_for(b4, "box-5")
    tap = dict(form_fields(page5.text, "/login/tap"), username="alice", tap="NOT-A-PASS")
    r = b4.post("/login/tap", tap)
    check_eq("the TAP form with a wrong pass: the page again", r.status, 200)
    check_eq("... the request stored from the box",
             sql("select params->>'state' from authorization_requests where id = '%s'"
                 % field_value(page5.text, "request")), [["box-5"]])
    page6 = page_for(b4, "box-6")
    r = b4.get("/recover", {"request": field_value(page6.text, "request"),
                            "pending": field_value(page6.text, "pending")})
    check_eq("the recovery link stores it too", sql("select params->>'state' from authorization_requests where "
                                                    "id = '%s'" % field_value(page6.text, "request")),
             [["box-6"]])
    r = b4.get("/recover", {"request": field_value(page6.text, "request"),
                            "pending": field_value(page6.text, "pending")})
    check_eq("... once: the second use finds the row", stored(), 2)
    r = b4.get("/recover?request=%s&pending=a&pending=b" % field_value(page6.text, "request"))
    check_eq("... a link with a repeated box is refused", r.status, 400)

    # ---- an authenticator app: the code step and the code alone store the box ----------------
    add_user(srv, "carol", "carol password 1")
    bc = Browser(srv, "127.0.0.35")
    signin = form_fields(bc.get("/account/security").text, "/login")
    bc.post("/login", dict(signin, username="carol", password="carol password 1"))
    ckey, cstep = add_app(bc)
    bd = Browser(srv, "127.0.0.36")
    page9 = page_for(bd, "box-9")
    rid9 = field_value(page9.text, "request")
    r = bd.sign_in(page9, "carol", "carol password 1")
    step = form_fields(r.text, "/login/code") or {}
    check("password and app: the code step after the right password", r.status == 200 and step.get("step"), r)
    check_eq("... for the request, stored from its box now",
             (step.get("request"), sql("select params->>'state' from authorization_requests where id = '%s'"
                                       % rid9)), (rid9, [["box-9"]]))
    r = bd.post("/login/code", dict(step, code=totp(ckey, cstep + 1)))
    check_eq("... the code: on to resume the request", (r.status, r.header("location")),
             (303, "/authorize/resume?request=" + rid9))
    code_from(bd.follow(r), "... which answers the relying party", srv, state="box-9")

    dan = add_user(srv, "dan")
    bp = Browser(srv, "127.0.0.37")
    plant_session(bp, env, env.db_url, dan)
    dkey, dstep = add_app(bp)
    be = Browser(srv, "127.0.0.38")
    page10 = page_for(be, "box-10")
    rid10 = field_value(page10.text, "request")
    alone = form_fields(page10.text, "/login/code")
    r = be.post("/login/code", dict(alone, username="dan", code=totp(dkey, dstep + 1)))
    check_eq("a code alone (an account without a password) from the page: on to resume",
             (r.status, r.header("location")), (303, "/authorize/resume?request=" + rid10))
    check_eq("... the request stored from its box",
             sql("select params->>'state' from authorization_requests where id = '%s'" % rid10), [["box-10"]])
    code_from(be.follow(r), "... which answers the relying party", srv, state="box-10")

    # ---- a client removed after the page was shown -----------------------------------------
    sql("insert into clients (id, name, token_endpoint_auth_method, grant_types, scopes, redirect_uris) "
        "select 'rp-gone', name, token_endpoint_auth_method, grant_types, scopes, redirect_uris "
        "from clients where id = 'rp1'")
    page7 = b4.get("/authorize", authorize_params(challenge, state="box-7", client_id="rp-gone"))
    require("rp-gone: the sign-in page", page7.status == 200 and field_value(page7.text, "pending"), page7)
    sql("delete from clients where id = 'rp-gone'")
    b4.get("/recover", {"request": field_value(page7.text, "request"),
                        "pending": field_value(page7.text, "pending")})
    check_eq("a box whose client is gone stores nothing", sql("select count(*) from authorization_requests "
                                                              "where client_id = 'rp-gone'"), [["0"]])

    # ---- too large for a box: stored at /authorize, as before ------------------------------------
    claims = json.dumps({"userinfo": {"email": {"essential": True, "values": ["x" * 60] * 40}}})
    page8 = page_for(b4, "box-8", claims=claims)
    check("a request too large for a box (a long claims parameter): no box",
          field_value(page8.text, "pending") is None, page8)
    check_eq("... stored at once", sql("select params->>'state' from authorization_requests where id = '%s'"
                                       % field_value(page8.text, "request")), [["box-8"]])
    r = b4.sign_in(page8, "alice", "wonderland 1")
    code_from(r, "... and the password form finishes it", srv, state="box-8")
    srv.stop()


if __name__ == "__main__":
    run(main)
