"""A passkey sign-in refused before its signature verified writes no audit
event, and every such refusal gets one answer (passkey_signin.c).

Credential ids are not secret, and everything else in an assertion is what
the caller sends. A refusal tied to a known credential id (a userHandle that
is not its owner's, clientDataJSON of another origin, an RP ID hash of
another site, no user verification, a signature that does not verify) was a
method.used failure event against the credential's owner, so anyone who knew
a credential id could fill its owner's audit trail. And a passkey of
another account than the username typed was answered "this passkey does not
belong to that account" at once, while the owner's name got "the passkey's
answer was not valid": the answer told a caller which account owns a
credential id, without any signature.

Here, with Émile's passkey (a P-256 key made here) and Alice's account, every
one of those refusals, an unknown credential id, and a valid assertion with
another account's name typed, are 403 passkey_refused with the same body, and
Émile's audit trail holds none of them (the log does). A valid assertion then
signs in, and one whose counter went backwards, signed by the key, is still
audited against Émile as method.counter_rollback."""

import hashlib
import json
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from authorize_browser import Browser
from harness import b64url, check, check_eq, require, run
from methods_fixture import add_user, data_attr, post_json, sql, stored_p256_passkey


def main(env):
    srv = env.regain()
    db = env.db_url
    emile = add_user(srv, "Émile", "lemon tree 1")
    alice = add_user(srv, "alice", "wonderland 1")

    cred_id = b"\x6a" * 16
    key = stored_p256_passkey(db, emile, cred_id)
    counter = [0]
    src = [100]

    def attempt(typed="", user_handle=uuid.UUID(emile).bytes, rp_id=None, flags=0x05, origin=None,
                bad_sig=False, cred=cred_id, count=None):
        """One sign-in with Émile's key from a fresh browser; any one part
        of the assertion changed as asked."""
        src[0] += 1
        c = Browser(srv, "127.0.0.%d" % src[0])
        csrf = data_attr(c.get("/account/security").text, "passkey", "csrf")
        require("the sign-in page carries the passkey data", csrf, csrf)
        r = post_json(c, "/login/passkey/options", {"request": "", "csrf": csrf})
        require("options: 200", r.status == 200, r)
        pk = r.json["publicKey"]
        cdj = json.dumps({"type": "webauthn.get", "challenge": pk["challenge"],
                          "origin": origin or srv.issuer}).encode()
        if count is None:
            counter[0] += 1
            count = counter[0]
        auth_data = (hashlib.sha256((rp_id or pk["rpId"]).encode()).digest() + bytes([flags])
                     + count.to_bytes(4, "big"))
        sig = bytearray(key.sign(auth_data + hashlib.sha256(cdj).digest(), ec.ECDSA(hashes.SHA256())))
        if bad_sig:
            sig[-1] ^= 1
        response = {"clientDataJSON": b64url(cdj), "authenticatorData": b64url(auth_data),
                    "signature": b64url(bytes(sig))}
        if user_handle is not None:
            response["userHandle"] = b64url(user_handle)
        return post_json(c, "/login/passkey", {"request": "", "csrf": csrf, "username": typed, "credential": {
            "id": b64url(cred), "rawId": b64url(cred), "type": "public-key", "response": response}})

    cases = [
        ("a userHandle that is Alice's", dict(user_handle=uuid.UUID(alice).bytes)),
        ("no userHandle", dict(user_handle=None)),
        ("clientDataJSON of another origin", dict(origin="https://evil.example")),
        ("an RP ID hash of another site", dict(rp_id="evil.example")),
        ("no user verification (UV clear)", dict(flags=0x01)),
        ("a signature that does not verify", dict(bad_sig=True)),
        ("Émile's name typed, a signature that does not verify", dict(typed="Émile", bad_sig=True)),
        ("Alice's name typed, a signature that does not verify", dict(typed="alice", bad_sig=True)),
        ("Alice's name typed, a valid assertion of Émile's passkey", dict(typed="alice")),
        ("an unknown credential id", dict(cred=b"\x6b" * 16)),
    ]
    bodies = set()
    for label, kw in cases:
        r = attempt(**kw)
        check_eq("%s: 403 passkey_refused" % label, (r.status, r.json.get("error")), (403, "passkey_refused"))
        bodies.add(r.text)
    check_eq("... all with the same body", len(bodies), 1)
    check_eq("... and none of them in Émile's audit trail",
             sql(db, "select type, outcome, reason from audit_events where subject_user = '%s' "
                     "and outcome = 'failure'" % emile), [])
    check_eq("... nor anywhere", sql(db, "select count(*) from audit_events where detail->>'kind' = 'passkey'"),
             [["0"]])
    check_eq("... the passkey's counter did not move", sql(db, "select sign_count from webauthn_credentials"),
             [["0"]])

    r = attempt(typed="émile")
    check_eq("a valid assertion, Émile's name typed: a session", (r.status, r.json.get("redirect")),
             (200, "/account/security"))
    stored = int(sql(db, "select sign_count from webauthn_credentials")[0][0])
    r = attempt(count=stored - 1)
    check_eq("a counter that went backwards, signed by the key: 403 passkey_refused",
             (r.status, r.json.get("error")), (403, "passkey_refused"))
    check_eq("... audited against Émile: the signature verified",
             sql(db, "select type, reason from audit_events where subject_user = '%s' and outcome = 'failure'"
                 % emile), [["method.counter_rollback", "counter_rollback"]])
    srv.stop()
    log = open(srv.stderr_path, errors="replace").read()
    for why in ("userHandle is not the owner's", "wrong_origin", "wrong_rp_id", "no_user_verification",
                "bad_signature", "passkey of another account than the username typed", "unknown credential"):
        check("the log says why: %s" % why, why in log, log[-3000:])


run(main)
