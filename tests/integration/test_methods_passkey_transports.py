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

import hashlib
import json

from cryptography.hazmat.primitives.asymmetric import ec

from authorize_browser import Browser, setup_fixtures
from harness import b64url, check_eq, require, run
from methods_fixture import data_attr, plant_session, post_json


def cbor(v):
    """The CBOR (RFC 8949) of ints, bytes, str and dicts."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        return bytes([major << 5 | 25]) + n.to_bytes(2, "big")
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        return head(3, len(v.encode())) + v.encode()
    return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())


def attestation_none(rp_id, cred_id):
    nums = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    cose = cbor({1: 2, 3: -7, -1: 1, -2: nums.x.to_bytes(32, "big"), -3: nums.y.to_bytes(32, "big")})
    auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([0x45]) + b"\x00\x00\x00\x00" + b"\x00" * 16
                 + len(cred_id).to_bytes(2, "big") + cred_id + cose)
    return cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})


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
        r = post_json(me, "/account/security/passkey/options", {"csrf": csrf})
        require("registration options: 200", r.status == 200, r)
        pk = r.json["publicKey"]
        cdj = json.dumps({"type": "webauthn.create", "challenge": pk["challenge"], "origin": srv.issuer})
        body = {"csrf": csrf, "name": "Key", "credential": {
            "id": b64url(cred_id), "rawId": b64url(cred_id), "type": "public-key",
            "response": {"clientDataJSON": b64url(cdj.encode()),
                         "attestationObject": b64url(attestation_none(pk["rp"]["id"], cred_id)),
                         "transports": transports}}}
        return post_json(me, "/account/security/passkey", body)

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
