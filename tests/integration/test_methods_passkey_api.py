"""The passkey ceremonies' JSON endpoints (issue 5) and their errors, without
a browser (tests/browser drives the real thing): media type, CSRF and
request checks; the options (RP ID, user verification, no credentials
listed); challenges stored, single use, bound to the browser, expiring;
registration behind the account page's gate; refused credentials (403: a
401 would owe a WWW-Authenticate challenge, RFC 9110 §15.5.2). Also the
acr step-up rules at /authorize and discovery's acr_values_supported."""

import json
import re
import uuid

from authorize_browser import Browser, authorize_params, field_value, pkce, setup_fixtures
from harness import b64url, check, check_eq, require, run
from methods_fixture import data_attr, plant_session, post_json

PHR = "urn:regain:acr:phishing-resistant"
MFA = "urn:regain:acr:mfa"




def client_data(challenge_b64, typ="webauthn.get", origin="https://localhost"):
    return b64url(json.dumps({"type": typ, "challenge": challenge_b64, "origin": origin}).encode())


def assertion(csrf, cdj, cred_id=b"\x01" * 32, request="", user_handle=None):
    return {"request": request, "csrf": csrf, "credential": {
        "id": b64url(cred_id), "rawId": b64url(cred_id), "type": "public-key",
        "response": {"clientDataJSON": cdj, "authenticatorData": b64url(b"\x00" * 37),
                     "signature": b64url(b"\x30\x06\x02\x01\x01\x02\x01\x01"),
                     "userHandle": user_handle}}}


def main(env):
    srv = env.regain()
    db = env.db_url
    sql = setup_fixtures(srv, db)
    origin = srv.issuer

    # ---- sign-in options ------------------------------------------------------------
    b = Browser(srv, "127.0.0.30")
    page = b.get("/account/security")
    csrf = data_attr(page.text, "passkey", "csrf")
    require("the sign-in page carries the passkey script's data", csrf and data_attr(page.text, "passkey",
                                                                                        "request") == "", page)
    r = post_json(b, "/login/passkey/options", "csrf=" + csrf, "application/x-www-form-urlencoded")
    check_eq("options as a form: 415", r.status, 415)
    r = post_json(b, "/login/passkey/options", "{not json")
    check_eq("options with a broken body: 400 invalid_request", (r.status, r.json.get("error")),
             (400, "invalid_request"))
    r = post_json(b, "/login/passkey/options", {"request": ""})
    check_eq("options without the CSRF token: 403 invalid_csrf", (r.status, r.json.get("error")),
             (403, "invalid_csrf"))
    r = post_json(b, "/login/passkey/options", {"request": "nope", "csrf": csrf})
    check_eq("options with a malformed request id: 400", r.status, 400)
    other = Browser(srv, "127.0.0.31")
    other.get("/account/security")
    r = post_json(other, "/login/passkey/options", {"request": "", "csrf": csrf})
    check_eq("another browser's CSRF token: 403", r.status, 403)

    r = post_json(b, "/login/passkey/options", {"request": "", "csrf": csrf})
    require("options: 200", r.status == 200, r)
    pk = r.json.get("publicKey", {})
    check_eq("... RP ID is the issuer's host, user verification required, no credentials listed",
             (pk.get("rpId"), pk.get("userVerification"), pk.get("allowCredentials")), ("localhost", "required", []))
    check("... a 32-byte challenge", re.fullmatch(r"[A-Za-z0-9_-]{43}", pk.get("challenge", "")), pk)
    check("... not cached", "no-store" in (r.header("cache-control") or ""), r)
    rows = sql("select ceremony, context, user_id is null, expires_at > now() + interval '4 minutes' "
               "from webauthn_challenges")
    check_eq("... stored: a get challenge for the account context, five minutes", rows, [["get", "account", "t", "t"]])
    ch = pk["challenge"]

    # ---- the assertion endpoint's errors ----------------------------------------------
    r = post_json(b, "/login/passkey", {"request": "", "csrf": csrf})
    check_eq("an assertion without a credential: 400 invalid_request", (r.status, r.json.get("error")),
             (400, "invalid_request"))
    bad = assertion(csrf, client_data(b64url(b"\x07" * 32), origin=origin))
    r = post_json(b, "/login/passkey", bad)
    check_eq("a challenge we never issued: 400 invalid_challenge", (r.status, r.json.get("error")),
             (400, "invalid_challenge"))
    r = post_json(b, "/login/passkey", assertion(csrf, client_data(ch, origin=origin)))
    # RFC 9110 §15.5.2: a 401 MUST carry WWW-Authenticate with a challenge, and
    # no HTTP authentication scheme applies to a passkey or a session cookie:
    # refusals are 403 (§15.5.4, the credentials given are not good enough).
    check_eq("our challenge, an unknown credential: 403 passkey_refused", (r.status, r.json.get("error")),
             (403, "passkey_refused"))
    check_eq("... the challenge is gone", sql("select count(*) from webauthn_challenges"), [["0"]])
    r = post_json(b, "/login/passkey", assertion(csrf, client_data(ch, origin=origin)))
    check_eq("the same challenge again: 400 invalid_challenge (single use)", (r.status, r.json.get("error")),
             (400, "invalid_challenge"))
    check("no session came of any of it", "__Host-regain-session" not in b.jar, b.jar)

    ocsrf = data_attr(other.get("/account/security").text, "passkey", "csrf")
    och = post_json(other, "/login/passkey/options", {"request": "", "csrf": ocsrf}).json["publicKey"]["challenge"]
    r = post_json(b, "/login/passkey", assertion(csrf, client_data(och, origin=origin)))
    check_eq("a challenge issued to another browser: 400 invalid_challenge", r.status, 400)
    r = post_json(other, "/login/passkey", assertion(ocsrf, client_data(och, origin=origin)))
    check_eq("... and it was used up by that attempt", r.json.get("error"), "invalid_challenge")

    ch2 = post_json(b, "/login/passkey/options", {"request": "", "csrf": csrf}).json["publicKey"]["challenge"]
    sql("update webauthn_challenges set expires_at = now() - interval '1 second'")
    r = post_json(b, "/login/passkey", assertion(csrf, client_data(ch2, origin=origin)))
    check_eq("an expired challenge: 400 invalid_challenge", r.status, 400)

    # ---- registration needs the account page's gate -------------------------------------
    anon = Browser(srv, "127.0.0.32")
    anon.get("/account/security")
    r = post_json(anon, "/account/security/passkey/options", {"csrf": "x"})
    check_eq("registration options without a session: 403 login_required", (r.status, r.json.get("error")),
             (403, "login_required"))
    alice = sql("select id from users where user_name = 'alice'")[0][0]
    stale = Browser(srv, "127.0.0.33")
    plant_session(stale, env, db, alice, age_s=3600)
    r = post_json(stale, "/account/security/passkey/options", {"csrf": "x"})
    check_eq("... with a sign-in an hour old: 403", r.status, 403)

    me = Browser(srv, "127.0.0.34")
    plant_session(me, env, db, alice)
    page = me.get("/account/security")
    rcsrf = data_attr(page.text, "passkey-register", "csrf")
    require("the account page carries the registration data", rcsrf, page)
    r = post_json(me, "/account/security/passkey/options", {"csrf": csrf})
    check_eq("registration options with a wrong CSRF token: 403", r.status, 403)
    r = post_json(me, "/account/security/passkey/options", {"csrf": rcsrf})
    require("registration options: 200", r.status == 200, r)
    pk = r.json["publicKey"]
    sel = pk.get("authenticatorSelection", {})
    check_eq("... rp id, resident key and user verification required, attestation none",
             (pk["rp"]["id"], sel.get("residentKey"), sel.get("requireResidentKey"), sel.get("userVerification"),
              pk.get("attestation")), ("localhost", "required", True, "required", "none"))
    check_eq("... ES256, EdDSA, RS256", [p["alg"] for p in pk["pubKeyCredParams"]], [-7, -8, -257])
    check_eq("... the user handle is the account's uuid", pk["user"]["id"], b64url(uuid.UUID(alice).bytes))
    check_eq("... and its name", pk["user"]["name"], "alice")
    rows = sql("select ceremony, user_id::text from webauthn_challenges where ceremony = 'create'")
    check_eq("... a create challenge bound to the user", rows, [["create", alice]])
    att = {"csrf": rcsrf, "name": "Key", "credential": {
        "id": b64url(b"\x02" * 32), "rawId": b64url(b"\x02" * 32), "type": "public-key",
        "response": {"clientDataJSON": client_data(pk["challenge"], "webauthn.create", origin),
                     "attestationObject": b64url(b"\xa0"), "transports": ["internal"]}}}
    r = post_json(me, "/account/security/passkey", dict(att, name="\x01bad"))
    check_eq("a name with a control character: 400", r.status, 400)
    r = post_json(me, "/account/security/passkey", att)
    check_eq("an attestation that does not parse: 400 passkey_refused", (r.status, r.json.get("error")),
             (400, "passkey_refused"))
    r = post_json(me, "/account/security/passkey", att)
    check_eq("... its challenge is used up", r.json.get("error"), "invalid_challenge")
    check_eq("nothing was stored", sql("select count(*) from webauthn_credentials"), [["0"]])

    # ---- acr: step-up at /authorize ----------------------------------------------------------
    disc = Browser(srv).get("/.well-known/openid-configuration")
    acrs = json.loads(disc.text).get("acr_values_supported", [])
    check("discovery lists the mfa and phishing-resistant acr values", MFA in acrs and PHR in acrs, acrs)

    u = Browser(srv, "127.0.0.35")
    verifier, challenge = pkce()
    page = u.get("/authorize", authorize_params(challenge))
    r = u.sign_in(page, "alice", "wonderland 1")
    u.follow(r)
    rows = sql("select acr from sessions where user_id = '%s' order by created_at desc limit 1" % alice)
    check_eq("a password session", rows, [["urn:regain:acr:password"]])
    r = u.get("/authorize", authorize_params(challenge))
    check_eq("no acr asked: the session is used at once (303)", r.status, 303)

    def asks_for(extra, label):
        r = u.get("/authorize", authorize_params(challenge, **extra))
        check("%s: the password session is not accepted (the sign-in page)" % label,
              r.status == 200 and field_value(r.text, "request"), r)
        return r

    r = asks_for({"acr_values": PHR}, "acr_values phishing-resistant")
    folded = lambda t: ('<details id="no-passkey">' in t and 'id="passkey"' in t
                        and t.index('id="passkey"') < t.index('<details id="no-passkey">') < t.index('name="password"'))
    check("... which asks for a passkey: the password only folded under 'No passkey yet?'", folded(r.text)
          and "sign in with a passkey" in r.text, r.text)
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": [PHR]}}})
    r = asks_for({"claims": claims}, "an essential acr claim phishing-resistant")
    check("... passkey first, the password folded", folded(r.text), r.text)
    r = asks_for({"acr_values": MFA}, "acr_values mfa")
    check("... which says two steps are needed", "two-step" in r.text and 'name="password"' in r.text, r.text)
    r = u.get("/authorize", authorize_params(challenge, acr_values="urn:regain:acr:password " + PHR))
    check_eq("acr_values naming password among others: the session answers", r.status, 303)
    loose = json.dumps({"id_token": {"acr": {"values": [PHR]}}})
    r = u.get("/authorize", authorize_params(challenge, claims=loose))
    check_eq("a voluntary (not essential) acr claim does not force a step-up", r.status, 303)
    r = u.get("/authorize", authorize_params(challenge, acr_values=PHR, prompt="none"))
    check("prompt=none with a too-weak session: an error to the relying party, no page",
          r.status in (302, 303) and "error=" in (r.header("location") or ""), r)


run(main)
