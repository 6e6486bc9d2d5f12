"""The transports a browser reports when a passkey is registered
(PublicKeyCredential.response.getTransports(), WebAuthn Level 3 §5.2.1,
values of §5.8.4) are stored as sent, each known value once, whatever the
server's memory held before (issue 5).

The list was built in a buffer that was not NUL-terminated while it was
searched for duplicates (strstr), so the search read memory the request had
not written: where an earlier request had left "internal" at that place, a
reported "internal" was taken for a duplicate and dropped, and the search
could run past the buffer. Here several registrations, each with the same
shape of body, report ["internal", "hybrid"]; every row must keep both."""



from authorize_browser import Browser, setup_fixtures
from harness import check_eq, require, run
from methods_fixture import data_attr, plant_session, register_passkey


def main(env):
    srv = env.regain()
    db = env.db_url
    sql = setup_fixtures(srv, db)
    alice = sql("select id from users where user_name = 'alice'")[0][0]
    me = Browser(srv, "127.0.0.45")
    plant_session(me, env, db, alice)
    page = me.get("/account/security")
    csrf = data_attr(page.text, "passkey-register", "csrf")
    require("the account page carries the registration data", csrf, page)

    def register(cred_id, transports):
        return register_passkey(srv, me, csrf, cred_id, transports)

    for i in range(1, 7):
        r = register(bytes([i]) * 16, ["internal", "hybrid"])
        require("registration %d: 200" % i, r.status == 200, r)
    check_eq("every passkey keeps the transports its browser reported",
             sql("select transports::text, count(*) from webauthn_credentials group by 1"),
             [["{internal,hybrid}", "6"]])

    # Unknown values are dropped, repeats kept once, the order kept.
    r = register(b"\x20" * 16, ["hybrid", "carrier-pigeon", "hybrid", "usb", "internal", "usb"])
    require("registration with odd transports: 200", r.status == 200, r)
    check_eq("... known values once each",
             sql("select transports::text from webauthn_credentials where credential_id = '\\x%s'"
                 % ("20" * 16)), [["{hybrid,usb,internal}"]])


run(main)
