"""An authenticator app can be added to every account, whatever its
userName: the schema keeps 1 to 256 characters (schema/002_oidc.sql, and
SCIM's check counts characters), which in UTF-8 is up to 1 KiB.

mth_totp_uri (methods/totp_uri.c) refused an account name over 256 bytes,
so for a userName of 200 "é" (200 characters, 400 bytes) every POST
/account/security/totp stored a set-up and answered 500 "The authenticator
app link could not be made". Now the link is made (the name
percent-encoded) with its QR code, and the code it shows confirms the app;
a name of 256 four-byte characters still gets its link (its QR code would
not fit, so the page gives the link alone).

Such an account without a password signs in with a code alone (POST
/login/code): that form refused a username over 256 bytes, so the app just
added could not sign in; it now takes the 1024 bytes a userName may be."""

from authorize_browser import Browser
from harness import check, check_eq, require, run
from methods_fixture import form_fields, otpauth_uri, plant_session, secret_from_uri, step_now, totp, sql


def main(env):
    srv = env.regain()
    db = env.db_url
    for i, (name, qr) in enumerate((("é" * 200, True), ("😀" * 256, False))):
        uid = sql(db, "insert into users (user_name) values ('%s') returning id" % name)[0][0]
        b = Browser(srv, "127.0.0.%d" % (60 + i))
        plant_session(b, env, db, uid)
        f = form_fields(b.get("/account/security").text, "/account/security/totp")
        require("the account page has the add-app form", f is not None, f)
        f["name"] = "Phone"
        r = b.post("/account/security/totp", f)
        label = "%d characters, %d bytes" % (len(name), len(name.encode()))
        check_eq("a userName of %s: the enrolment page" % label, r.status, 200)
        uri = otpauth_uri(r.text) or ""
        check("... its link names the account, percent-encoded",
              uri.startswith("otpauth://totp/localhost:" + "".join("%%%02X" % c for c in name.encode()) + "?"),
              uri[:120])
        check_eq("... with a QR code" if qr else "... the link alone (too long for a QR code)",
                 'src="data:image/svg+xml;base64,' in r.text, qr)
        c = form_fields(r.text, "/account/security/totp/confirm")
        require("the confirm form", c is not None, r)
        key = secret_from_uri(uri)
        c["code"] = totp(key)
        check_eq("... and the app's code confirms it", b.post("/account/security/totp/confirm", c).status, 303)
        s = Browser(srv, "127.0.0.%d" % (70 + i))
        lf = form_fields(s.get("/account/security").text, "/login/code")
        require("the sign-in page has the code-only form", lf is not None, lf)
        r = s.post("/login/code", dict(lf, username=name.upper(), code=totp(key, step_now() + 1)))
        check_eq("... and signs in with a code alone (no password), the name typed in capitals",
                 (r.status, r.header("location")), (303, "/account/security"))
    check_eq("both apps confirmed", sql(db, "select count(*) from totp_authenticators where confirmed"), [["2"]])


run(main)
