"""A username typed on the sign-in page before choosing a passkey is a
constraint (passkey_signin.c): the passkey must belong to that account. It
names the account as every other form does, without regard to case
(userName is caseExact=false, RFC 7643 §4.1.1; schema/002_oidc.sql keeps it
unique by lower(user_name), and the password form looks it up that way).

The passkey endpoint compared the name typed with strcasecmp(), which folds
ASCII letters only, so "émile" was not Émile's name there while the
password form signed Émile in with it: the passkey of the very account was
refused with "this passkey does not belong to that account". Here Émile
signs in with a real assertion (P-256, made here) typing "Émile", "émile"
and "ÉMILE"; typing another account's name is still refused.

A name over 256 bytes was dropped as a constraint (the passkey signed in
whoever owned it), though a userName is up to 256 characters, 1024 bytes:
one of 300 bytes that is not Émile's is refused now, and one longer than
any userName is a 400."""

import hashlib
import json
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from authorize_browser import Browser
from harness import b64url, check_eq, require, run
from methods_fixture import add_user, data_attr, form_fields, post_json, sql, stored_p256_passkey


def main(env):
    srv = env.regain()
    db = env.db_url
    emile = add_user(srv, "Émile", "lemon tree 1")
    add_user(srv, "alice", "wonderland 1")

    b = Browser(srv, "127.0.0.49")
    f = form_fields(b.get("/account/security").text, "/login")
    r = b.post("/login", {"request": "", "csrf": f["csrf"], "username": "émile", "password": "lemon tree 1"})
    check_eq("the password form takes \"émile\" for Émile", (r.status, r.header("location")),
             (303, "/account/security"))

    cred_id = b"\x5e" * 16
    key = stored_p256_passkey(db, emile, cred_id)
    counter = [0]

    def passkey_signin(typed, src):
        c = Browser(srv, src)
        csrf = data_attr(c.get("/account/security").text, "passkey", "csrf")
        require("the sign-in page carries the passkey data", csrf, csrf)
        r = post_json(c, "/login/passkey/options", {"request": "", "csrf": csrf})
        require("options: 200", r.status == 200, r)
        pk = r.json["publicKey"]
        cdj = json.dumps({"type": "webauthn.get", "challenge": pk["challenge"], "origin": srv.issuer}).encode()
        counter[0] += 1
        auth_data = hashlib.sha256(pk["rpId"].encode()).digest() + bytes([0x05]) + counter[0].to_bytes(4, "big")
        sig = key.sign(auth_data + hashlib.sha256(cdj).digest(), ec.ECDSA(hashes.SHA256()))
        return post_json(c, "/login/passkey", {"request": "", "csrf": csrf, "username": typed, "credential": {
            "id": b64url(cred_id), "rawId": b64url(cred_id), "type": "public-key",
            "response": {"clientDataJSON": b64url(cdj), "authenticatorData": b64url(auth_data),
                         "signature": b64url(sig), "userHandle": b64url(uuid.UUID(emile).bytes)}}})

    for i, typed in enumerate(("Émile", "émile", "ÉMILE", "")):
        r = passkey_signin(typed, "127.0.0.%d" % (50 + i))
        check_eq("a passkey sign-in typing %r: a session" % typed, (r.status, r.json.get("redirect")),
                 (200, "/account/security"))
    r = passkey_signin("alice", "127.0.0.55")
    check_eq("typing another account's name: refused", (r.status, r.json.get("error")), (403, "passkey_refused"))
    r = passkey_signin("é" * 150, "127.0.0.56")
    check_eq("typing a name of 150 characters (300 bytes) that is not Émile's: refused, not ignored",
             (r.status, r.json.get("error")), (403, "passkey_refused"))
    r = passkey_signin("x" * 1025, "127.0.0.57")
    check_eq("typing a name longer than any userName: 400 invalid_request", (r.status, r.json.get("error")),
             (400, "invalid_request"))
    check_eq("the passkey's counter moved once per sign-in", sql(db, "select sign_count from webauthn_credentials"),
             [["4"]])


run(main)
