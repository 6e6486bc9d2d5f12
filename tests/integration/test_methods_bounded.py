"""How many methods one account may hold is bounded (issue 5), so that no
session can make one account cost the server without limit.

Each POST /account/security/totp stored one more row, and nothing bounded
how many apps or passkeys an account gathered. Every row is drawn on the
account page (about 1 KiB of HTML each, built in memory in one go), every
confirmed app is opened and checked three times over for each code typed at
sign-in (on the event loop), and every passkey is listed in the
registration options' excludeCredentials. Measured before the bound: one
client on one connection started 336 enrolments a second (300 made a
322 KB page; 2000 confirmed apps a 2.1 MB page), and an unconfirmed
enrolment lives half an hour.

Now an account holds at most 10 authenticator apps (confirmed or being set
up) and 50 passkeys:
  - starting an app's set-up makes room by dropping the oldest set-ups not
    yet confirmed; with 10 confirmed apps it is refused (m=too-many-apps),
    nothing stored;
  - passkey options and a passkey's registration are refused with 409
    too_many_passkeys at 50, nothing stored."""



from authorize_browser import Browser
from harness import check, check_eq, require, run
from methods_fixture import (add_user, data_attr, form_fields, otpauth_uri, passkey_credential, plant_session,
                             post_json, secret_from_uri, totp, sql)


def start_app(b, name):
    """POST /account/security/totp from the account page's form."""
    f = form_fields(b.get("/account/security").text, "/account/security/totp")
    require("the account page has the add-app form", f is not None, f)
    f["name"] = name
    return b.post("/account/security/totp", f)


def confirm_app(b, enrolment_page):
    key = secret_from_uri(otpauth_uri(enrolment_page.text))
    c = form_fields(enrolment_page.text, "/account/security/totp/confirm")
    c["code"] = totp(key)
    return b.post("/account/security/totp/confirm", c)


def main(env):
    srv = env.regain()
    db = env.db_url

    # ---- set-ups not confirmed: the oldest make room --------------------------------
    bob = add_user(srv, "bob", "builder 1")
    b = Browser(srv, "127.0.0.46")
    plant_session(b, env, db, bob)
    pages = [start_app(b, "Setup %d" % i) for i in range(15)]
    check("fifteen set-ups started: each shows its enrolment page",
          all(p.status == 200 and otpauth_uri(p.text) for p in pages), [p.status for p in pages])
    check_eq("... at most ten rows are kept, the newest",
             sql(db, "select count(*), min(name), max(name) from totp_authenticators where user_id = '%s'" % bob),
             [["10", "Setup 10", "Setup 9"]])
    r = confirm_app(b, pages[-1])
    check_eq("the newest set-up is confirmed: 303", r.status, 303)
    r = confirm_app(b, pages[0])
    check_eq("the oldest, dropped, is gone: m=expired", r.header("location"), "/account/security?m=expired")

    # ---- ten confirmed apps: no eleventh ----------------------------------------------
    alice = add_user(srv, "alice", "wonderland 1")
    a = Browser(srv, "127.0.0.47")
    plant_session(a, env, db, alice)
    for i in range(10):
        r = confirm_app(a, start_app(a, "App %d" % i))
        require("app %d confirmed" % i, r.status == 303, r)
    check_eq("ten apps confirmed", sql(db, "select count(*) from totp_authenticators where user_id = '%s' "
                                           "and confirmed" % alice), [["10"]])
    r = start_app(a, "App 10")
    check_eq("an eleventh: refused, back with m=too-many-apps", (r.status, r.header("location")),
             (303, "/account/security?m=too-many-apps"))
    check_eq("... nothing stored", sql(db, "select count(*) from totp_authenticators where user_id = '%s'"
                                           % alice), [["10"]])
    check("... the page says why", "remove one" in a.get("/account/security?m=too-many-apps").text, "")

    # ---- fifty passkeys: no fifty-first ------------------------------------------------
    carol = add_user(srv, "carol", "christmas 1")
    c = Browser(srv, "127.0.0.48")
    plant_session(c, env, db, carol)
    csrf = data_attr(c.get("/account/security").text, "passkey-register", "csrf")
    require("the account page carries the registration data", csrf, csrf)

    def plant_passkeys(first, n):
        sql(db, "insert into webauthn_credentials (user_id, credential_id, public_key, alg, backup_eligible, "
                "backed_up, attestation_fmt, name) select '%s', decode(lpad(to_hex(g), 32, '0'), 'hex'), "
                "'\\x00', -7, false, false, 'none', 'Key ' || g from generate_series(%d, %d) g"
                % (carol, first, first + n - 1))

    plant_passkeys(1, 49)
    r = post_json(c, "/account/security/passkey/options", {"csrf": csrf})
    check_eq("with 49 passkeys the options are given", r.status, 200)
    pk = r.json["publicKey"]
    check_eq("... listing the 49 to exclude", len(pk["excludeCredentials"]), 49)
    plant_passkeys(100, 1)  # meanwhile, another tab registered the fiftieth
    r = post_json(c, "/account/security/passkey", {"csrf": csrf, "name": "One more",
                                                    "credential": passkey_credential(srv, pk, b"\x77" * 16)})
    check_eq("the fifty-first passkey: 409 too_many_passkeys", (r.status, r.json.get("error")),
             (409, "too_many_passkeys"))
    check_eq("... not stored", sql(db, "select count(*) from webauthn_credentials where user_id = '%s'" % carol),
             [["50"]])
    r = post_json(c, "/account/security/passkey/options", {"csrf": csrf})
    check_eq("with 50 passkeys the options are refused: 409 too_many_passkeys", (r.status, r.json.get("error")),
             (409, "too_many_passkeys"))
    check("... saying what to do", "remove one" in r.json.get("error_description", ""), r.json)
    srv.stop()
    log = open(srv.stderr_path, errors="replace").read()
    check("no database error was logged", "database:" not in log, log[-2000:])


run(main)
