"""Shared by test_methods_*.py: TOTP codes (RFC 6238, computed here from the
otpauth:// link the page shows), sessions planted for users who have no
method yet, and small readers of the pages.  Standard library only."""

import base64
import hashlib
import hmac
import html
import json
import re
import struct
import time
import urllib.parse

from cryptography.hazmat.primitives.asymmetric import ec

from harness import SLOW, b64url, psql, regain_bin, require, sh


def sql(db, q):
    """Runs one statement against the test database; its rows."""
    rc, rows, err = psql(db, q)
    require("SQL ok: %s" % q[:70], rc == 0, err)
    return rows


def hotp(key, counter, digits=6):
    """RFC 4226 §5.3."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    value = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return "%0*d" % (digits, value % 10 ** digits)


def step_now():
    return int(time.time()) // 30


def totp(key, step=None):
    return hotp(key, step_now() if step is None else step)


def secret_from_uri(uri):
    """The key of an otpauth://totp/ URI (base32 `secret`)."""
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query))
    s = q["secret"].upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def otpauth_uri(page_text):
    m = re.search(r'<code id="totp-uri"[^>]*>([^<]*)</code>', page_text)
    return html.unescape(m.group(1)) if m else None


def form_fields(text, action):
    """The hidden and filled fields of the first form posting to `action`."""
    m = re.search(r'<form method="post" action="%s"[^>]*>(.*?)</form>' % re.escape(action), text, re.S)
    if not m:
        return None
    out = {}
    for inp in re.finditer(r"<input([^>]*)>", m.group(1)):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', inp.group(1)))
        if "name" in attrs:
            out[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return out


def add_app(b):
    """Adds an authenticator app on the account page `b` is signed in to and
    confirms it with the current step's code; returns its key and that step."""
    page = b.get("/account/security")
    f = form_fields(page.text, "/account/security/totp")
    require("the add-app form", f is not None, page)
    r = b.post("/account/security/totp", dict(f, name="Phone"))
    key = secret_from_uri(otpauth_uri(r.text))
    conf = form_fields(r.text, "/account/security/totp/confirm")
    step = step_now()
    r = b.post("/account/security/totp/confirm", dict(conf, code=totp(key, step)))
    require("app confirmed", r.status == 303, r)
    return key, step


def secret_hash_hex(kek_b64, token):
    """What regain stores for a cookie token: HMAC-SHA-256 under the key
    derived from the key-encryption key (gateway/secrets.c)."""
    kek = base64.b64decode(kek_b64)
    key = hmac.new(kek, b"regain/secret-hash/v1", hashlib.sha256).digest()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def plant_session(browser, env, db, user_id, purpose="full", age_s=0, acr=None):
    """A session row for `user_id` and its cookie in `browser`'s jar: by
    default as a TAP sign-in leaves it (acr urn:regain:acr:tap)."""
    acr = acr or "urn:regain:acr:tap"
    token = base64.urlsafe_b64encode(__import__("os").urandom(32)).rstrip(b"=").decode()
    h = secret_hash_hex(env.encryption_key, token)
    rc, _, err = psql(db, "insert into sessions (token_hash, user_id, auth_time, amr, acr, expires_at, purpose) "
                          "values ('\\x%s', '%s', now() - interval '%d seconds', '{tap}', '%s', "
                          "now() + interval '1 hour', '%s')" % (h, user_id, age_s, acr, purpose))
    require("session planted", rc == 0, err)
    browser.jar["__Host-regain-session"] = token
    return token


def add_user(srv, username, password=None):
    args = [regain_bin(), "user", "add", "--username", username, "--config", srv.config_path]
    if password is not None:
        args.append("--password-stdin")
    p = sh(args, input=(password + "\n") if password is not None else None, timeout=60 * SLOW)
    require("user add %s" % username, p.returncode == 0, p.stderr)
    rc, rows, err = psql(srv.env.db_url, "select id from users where user_name = '%s'" % username)
    require("user %s has an id" % username, rc == 0 and rows, err)
    return rows[0][0]


def audit(db, where):
    rc, rows, err = psql(db, "select type, outcome, coalesce(reason, ''), detail->>'kind', actor "
                             "from audit_events where %s order by id" % where)
    require("audit query", rc == 0, err)
    return rows


def post_json(b, path, body, content_type="application/json"):
    """POST a JSON body (a dict, or raw text) from browser b; the reply with
    .json set to the parsed body ({} when it is not JSON)."""
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    r = b.request("POST", path, raw_body=raw, content_type=content_type)
    try:
        r.json = json.loads(r.text)
    except ValueError:
        r.json = {}
    return r


def data_attr(text, element_id, name):
    """The data-NAME attribute of the <div id=ELEMENT_ID> of a page."""
    m = re.search(r'<div id="%s"[^>]*data-%s="([^"]*)"' % (element_id, name), text)
    return m.group(1) if m else None


def cbor(v):
    """The CBOR (RFC 8949) of ints, bytes, str and dicts: what a COSE key
    and an attestation object need."""
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


def passkey_credential(srv, pk, cred_id, transports=None):
    """The credential a browser sends for the registration options `pk`
    (their publicKey): a none attestation of a new P-256 key."""
    cdj = json.dumps({"type": "webauthn.create", "challenge": pk["challenge"], "origin": srv.issuer})
    response = {"clientDataJSON": b64url(cdj.encode()),
                "attestationObject": b64url(attestation_none(pk["rp"]["id"], cred_id))}
    if transports is not None:
        response["transports"] = transports
    return {"id": b64url(cred_id), "rawId": b64url(cred_id), "type": "public-key", "response": response}


def register_passkey(srv, b, csrf, cred_id, transports):
    """Registration options, then the passkey `cred_id` named "Key"; the
    answer to the second."""
    r = post_json(b, "/account/security/passkey/options", {"csrf": csrf})
    require("registration options: 200", r.status == 200, r)
    credential = passkey_credential(srv, r.json["publicKey"], cred_id, transports)
    return post_json(b, "/account/security/passkey", {"csrf": csrf, "name": "Key", "credential": credential})


def stored_p256_passkey(db, user_id, cred_id):
    """A fresh P-256 key whose public half is stored as `user_id`'s passkey
    `cred_id` (no backup, attestation none), as registration would leave
    it; the private key, to sign assertions with."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    sql(db, "insert into webauthn_credentials (user_id, credential_id, public_key, alg, backup_eligible, "
            "backed_up, attestation_fmt, name) values ('%s', '\\x%s', '\\x%s', -7, false, false, 'none', 'Key')"
            % (user_id, cred_id.hex(), spki.hex()))
    return key
