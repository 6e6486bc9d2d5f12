"""Registering a passkey whose authenticator data is well-formed but odd
(issue 5), against the real server and PostgreSQL, with attestation "none"
built here (a P-256 key, CBOR written by hand):

  - a credential id shorter than 16 bytes. WebAuthn Level 3 §4 (Credential
    ID): authenticators make ids of "at least 16 bytes that include at least
    100 bits of entropy" (or an encrypted credential source, longer still),
    and webauthn_credentials keeps 16..1023 bytes. Such an id used to pass
    the ceremony's checks and fail the INSERT's CHECK, which the page got as
    503 temporarily_unavailable and the log as a database error; it is a
    refused passkey (400, reason malformed), and nothing is stored;
  - the same registration with a 16-byte id is accepted, so the refusal is
    the id's length and not the test's construction."""



from authorize_browser import Browser, setup_fixtures
from harness import check, check_eq, require, run
from methods_fixture import data_attr, plant_session, register_passkey




def main(env):
    srv = env.regain()
    db = env.db_url
    sql = setup_fixtures(srv, db)
    alice = sql("select id from users where user_name = 'alice'")[0][0]
    me = Browser(srv, "127.0.0.44")
    plant_session(me, env, db, alice)
    page = me.get("/account/security")
    csrf = data_attr(page.text, "passkey-register", "csrf")
    require("the account page carries the registration data", csrf, page)

    def register(cred_id):
        return register_passkey(srv, me, csrf, cred_id, ["internal"])

    for n in (1, 8, 15):
        r = register(bytes(range(1, n + 1)))
        check_eq("a %d-byte credential id: 400 passkey_refused, reason malformed" % n,
                 (r.status, r.json.get("error"), r.json.get("reason")), (400, "passkey_refused", "malformed"))
    check_eq("... nothing stored", sql("select count(*) from webauthn_credentials"), [["0"]])

    r = register(b"\x07" * 16)
    check_eq("a 16-byte credential id: 200", r.status, 200)
    check_eq("... stored", sql("select length(credential_id) from webauthn_credentials"), [["16"]])
    srv.stop()
    log = open(srv.stderr_path, errors="replace").read()
    check("no database error was logged", "database:" not in log, log[-2000:])


run(main)
