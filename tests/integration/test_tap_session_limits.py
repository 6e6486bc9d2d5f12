"""A session from a Temporary Access Pass ('register_method') may register a
sign-in method on the account page and do nothing else there: removing or
renaming the account's existing methods is refused (a TAP obtained by
someone else must not let them strip the owner's methods first). Once a
method is registered the session is full and both work, which also shows
the forms used here are right."""

from harness import check, check_eq, require, run
from methods_fixture import form_fields, otpauth_uri, secret_from_uri, totp
from tap_fixture import Admin, Browser, add_user, sql


def main(env):
    srv = env.regain()
    admin = Admin(srv)
    uid = add_user(env, "rita")
    old = sql(env, "INSERT INTO totp_authenticators (id, user_id, secret_sealed, name, confirmed) "
                   "VALUES (gen_random_uuid(), '%s', '\\x00', 'Old phone', true) RETURNING id" % uid)[0][0]

    r = admin.issue("rita")
    tap = (r.json() or {}).get("temporaryAccessPass")
    require("the administrator issues a TAP", r.status == 201 and tap, r.describe())
    b = Browser(env, srv, "127.0.0.71")
    r = b.sign_in_tap(tap)
    require("the TAP signs in to the account page", r.status == 303, r)
    page = b.get("/account/security")
    add = form_fields(page.text, "/account/security/totp")
    require("the account page of the TAP session offers to add an app", page.status == 200 and add is not None, page)
    check("... and shows no remove or rename form",
          form_fields(page.text, "/account/security/remove") is None and
          form_fields(page.text, "/account/security/rename") is None, page)

    csrf = add["csrf"]
    r = b.post("/account/security/remove", {"csrf": csrf, "kind": "totp", "id": old})
    check_eq("removing an existing method from the TAP session: back to the page, refused",
             (r.status, r.header("location")), (303, "/account/security?m=register-first"))
    check_eq("... the old app is still there",
             sql(env, "SELECT name FROM totp_authenticators WHERE id = '%s'" % old), [["Old phone"]])
    r = b.post("/account/security/rename", {"csrf": csrf, "kind": "totp", "id": old, "name": "Mine now"})
    check_eq("renaming it: refused the same way", (r.status, r.header("location")),
             (303, "/account/security?m=register-first"))
    check_eq("... the name is unchanged",
             sql(env, "SELECT name FROM totp_authenticators WHERE id = '%s'" % old), [["Old phone"]])
    check_eq("no method.removed or method.renamed event",
             sql(env, "SELECT count(*) FROM audit_events WHERE subject_user = '%s' "
                      "AND type IN ('method.removed', 'method.renamed')" % uid), [["0"]])
    page = b.get("/account/security?m=register-first")
    check("the page says why", "Add a passkey or an authenticator app first" in page.text, page)

    # Registering a method lifts the session; then the same forms work.
    r = b.post("/account/security/totp", dict(add, name="New phone"))
    uri = otpauth_uri(r.text)
    conf = form_fields(r.text, "/account/security/totp/confirm")
    require("the enrolment page", uri and conf is not None, r)
    r = b.post("/account/security/totp/confirm", dict(conf, code=totp(secret_from_uri(uri))))
    check_eq("the new app is confirmed", (r.status, r.header("location")), (303, "/account/security?m=totp-added"))
    page = b.get("/account/security")
    f = form_fields(page.text, "/account/security/rename")
    require("the full session's page has rename and remove forms", f is not None, page)
    r = b.post("/account/security/rename", {"csrf": f["csrf"], "kind": "totp", "id": old, "name": "Lost phone"})
    check_eq("renaming now works", (r.status, r.header("location")), (303, "/account/security?m=renamed"))
    r = b.post("/account/security/remove", {"csrf": f["csrf"], "kind": "totp", "id": old})
    check_eq("removing now works", (r.status, r.header("location")), (303, "/account/security?m=removed"))
    check_eq("... the old app is gone", sql(env, "SELECT count(*) FROM totp_authenticators WHERE id = '%s'" % old),
             [["0"]])


if __name__ == "__main__":
    run(main)
