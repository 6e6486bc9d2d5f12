"""Passkey challenges are bounded (issue 5): each call of
POST /login/passkey/options (no account needed) and of the account page's
POST /account/security/passkey/options stores a challenge for five minutes,
so the live ones are capped per browser (oidc.passkey_challenges_per_browser)
and per client address (oidc.passkey_challenges_per_address, an IPv6 address
by its /64), with a 429 in the endpoints' JSON error format and Retry-After;
expired challenges are cleared as new ones are made, and an expired one never
counts against anyone."""


from authorize_browser import Browser
from harness import check, check_eq, require, run
from methods_fixture import add_user, data_attr, plant_session, post_json, sql

PER_BROWSER = 4
PER_ADDRESS = 6




def signin_options(b):
    """A browser that loaded the sign-in page asks for options."""
    if not hasattr(b, "pk_csrf"):
        b.pk_csrf = data_attr(b.get("/account/security").text, "passkey", "csrf")
        require("the sign-in page's passkey data", b.pk_csrf, "")
    return post_json(b, "/login/passkey/options", {"request": "", "csrf": b.pk_csrf})


def live(db, where="true"):
    return int(sql(db, "select count(*) from webauthn_challenges where %s" % where)[0][0])


def main(env):
    srv = env.regain({"oidc": {"passkey_challenges_per_browser": PER_BROWSER,
                               "passkey_challenges_per_address": PER_ADDRESS}})
    db = env.db_url

    # ---- per browser ------------------------------------------------------------------------
    b1 = Browser(srv, "127.0.0.70")
    codes = [signin_options(b1).status for _ in range(PER_BROWSER)]
    check_eq("%d options calls from one browser: 200 each" % PER_BROWSER, codes, [200] * PER_BROWSER)
    r = signin_options(b1)
    check_eq("one more: 429 too_many_requests in the JSON error format", (r.status, r.json.get("error")),
             (429, "too_many_requests"))
    check("... saying what to do", "wait a few minutes" in r.json.get("error_description", ""), r.json)
    check_eq("... with Retry-After", r.header("retry-after"), "60")
    check_eq("... no challenge stored for it", live(db), PER_BROWSER)

    # ---- per address: other browsers at the same address ----------------------------------
    b2 = Browser(srv, "127.0.0.70")
    codes = [signin_options(b2).status for _ in range(PER_ADDRESS - PER_BROWSER)]
    check_eq("a second browser at the address fills it up to %d" % PER_ADDRESS, codes,
             [200] * (PER_ADDRESS - PER_BROWSER))
    b3 = Browser(srv, "127.0.0.70")
    r = signin_options(b3)
    check_eq("a third browser there, with none of its own: 429", (r.status, r.json.get("error")),
             (429, "too_many_requests"))
    check("... the message names the network", "network" in r.json.get("error_description", ""), r.json)
    b4 = Browser(srv, "127.0.0.71")
    check_eq("another address is not affected", signin_options(b4).status, 200)

    # ---- the account page's registration options count too --------------------------------
    alice = add_user(srv, "alice", "pw alice 1")
    ba = Browser(srv, "127.0.0.72")
    plant_session(ba, env, db, alice)
    page = ba.get("/account/security")
    reg_csrf = data_attr(page.text, "passkey-register", "csrf")
    require("the account page's passkey data", reg_csrf, page)
    codes = [post_json(ba, "/account/security/passkey/options", {"csrf": reg_csrf}).status
             for _ in range(PER_BROWSER)]
    check_eq("registration options: %d allowed" % PER_BROWSER, codes, [200] * PER_BROWSER)
    r = post_json(ba, "/account/security/passkey/options", {"csrf": reg_csrf})
    check_eq("... then 429 too_many_requests", (r.status, r.json.get("error")), (429, "too_many_requests"))

    # ---- expired challenges do not count, and are cleared ------------------------------------
    sql(db, "update webauthn_challenges set expires_at = now() - interval '1 second' "
            "where addr_key = '127.0.0.70'")
    check_eq("once the address's challenges expired, the full browser may ask again", signin_options(b1).status,
             200)
    check_eq("... its expired ones were cleared by that call", live(db, "addr_key = '127.0.0.70'"), 1)
    sql(db, "insert into webauthn_challenges (challenge, ceremony, context, browser, expires_at, addr_key) "
            "select sha256(i::text::bytea), 'get', 'account', '\\x00', now() - interval '1 minute', "
            "'192.0.2.' || (i % 200) from generate_series(1, 250) i")
    check_eq("250 expired challenges of other addresses", live(db, "expires_at <= now()"), 250)
    signin_options(b4)
    signin_options(b4)
    check_eq("two calls anywhere clear up to 100 each", live(db, "expires_at <= now()"), 50)
    check_eq("... and the challenges still live are kept", live(db, "expires_at > now()"),
             1 + 3 + PER_BROWSER)

    # ---- the address key: IPv4-mapped counts as IPv4, IPv6 by its /64 -------------------------
    rows = sql(db, "select client_addr_key('::ffff:192.0.2.7'), client_addr_key('2001:db8:1:2:3:4:5:6'), "
                   "client_addr_key('2001:db8:1:2::9'), client_addr_key('192.0.2.7'), client_addr_key('')")
    check_eq("client_addr_key", rows, [["192.0.2.7", "2001:db8:1:2::/64", "2001:db8:1:2::/64", "192.0.2.7", ""]])
    srv.stop()


run(main)
