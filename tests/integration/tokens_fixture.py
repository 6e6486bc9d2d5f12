"""Shared set-up for the tokens area's integration tests (test_token_*.py,
test_userinfo.py, test_revoke_introspect.py).

Codes are minted here rather than through /authorize + sign-in: the test
knows the server's key-encryption key (it wrote the config), so it can compute
the keyed hash the server stores (gateway/secrets.c: HMAC-SHA-256 under
HMAC-SHA-256(kek, "regain/secret-hash/v1")) and insert authorization_codes
rows with psql, exactly as the authorize area stores them.  That isolates the
token endpoint's rules (one-time, expiry, client, redirect URI, PKCE) from the
browser flow, which test_token_code_flow.py exercises end to end.

Signatures are checked against /jwks.json with python3-cryptography."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import uuid

from harness import SLOW, b64url, b64url_decode, check, curl, psql, require, Abort

REDIRECT = "https://rp.example/cb"


def hash_key(env):
    kek = base64.b64decode(env.encryption_key)
    return hmac.new(kek, b"regain/secret-hash/v1", hashlib.sha256).digest()


def secret_hash_hex(env, secret):
    return "\\x" + hmac.new(hash_key(env), secret.encode(), hashlib.sha256).hexdigest()


def sql(env, text):
    rc, rows, err = psql(env.db_url, text)
    require("psql: %s" % text[:60], rc == 0, err)
    return rows


def lit(s):
    """A SQL literal (these tests control every value)."""
    if s is None:
        return "NULL"
    return "'" + str(s).replace("'", "''") + "'"


def add_client(srv, client_id, grants="authorization_code,refresh_token", scopes="openid profile email offline_access",
               auth="none", alg=None, redirect=REDIRECT):
    args = ["client", "add", "--id", client_id, "--name", client_id, "--grant-types", grants, "--scopes", scopes,
            "--auth-method", auth, "--json"]
    if redirect:
        args += ["--redirect-uri", redirect]
    if alg:
        args += ["--id-token-alg", alg]
    p = srv.cli(*args)
    require("regain client add %s" % client_id, p.returncode == 0, p.stderr + p.stdout)
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise Abort("client add --json printed no JSON: %r" % p.stdout[:300])


def add_user(env, username, given="Alice", family="Liddell", email=None, verified=True):
    email = email or "%s@example.com" % username
    rows = sql(env, "INSERT INTO users (user_name, given_name, family_name, display_name, email, email_verified) "
                    "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"
               % (lit(username), lit(given), lit(family), lit(given + " " + family), lit(email),
                  "true" if verified else "false"))
    return rows[0][0]


def add_session(env, user_id, amr="{pwd}", acr="urn:regain:acr:password"):
    rows = sql(env, "INSERT INTO sessions (token_hash, user_id, auth_time, amr, acr, expires_at) VALUES "
                    "(%s::bytea, %s, now() - interval '5 seconds', %s, %s, now() + interval '1 hour') RETURNING id"
               % (lit("\\x" + os.urandom(32).hex()), lit(user_id), lit(amr), lit(acr)))
    return rows[0][0]


def pkce_pair():
    verifier = b64url(os.urandom(32))
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge


def add_code(env, client_id, user_id, session_id, scope="openid profile offline_access", nonce="n-0S6_WzA2Mj",
             claims=None, redirect=REDIRECT, ttl_s=60, challenge=None):
    """Inserts an authorization code; returns (code, verifier)."""
    verifier, ch = pkce_pair()
    code = b64url(os.urandom(32))
    sql(env, "INSERT INTO authorization_codes (code_hash, client_id, user_id, session_id, redirect_uri, scope, nonce, "
             "code_challenge, claims, auth_time, acr, amr, expires_at) VALUES (%s::bytea, %s, %s, %s, %s, %s, %s, %s, "
             "%s::jsonb, now() - interval '5 seconds', 'urn:regain:acr:password', '{pwd}', "
             "now() + make_interval(secs => %d))"
        % (lit(secret_hash_hex(env, code)), lit(client_id), lit(user_id), lit(session_id), lit(redirect), lit(scope),
           lit(nonce), lit(challenge or ch), lit(json.dumps(claims) if claims else None), ttl_s))
    return code, verifier


def error(r):
    """The OAuth error code of a token endpoint answer, or None."""
    return (r.json() or {}).get("error")


def families_revoked(env):
    return int(sql(env, "SELECT count(*) FROM revoked_grants")[0][0])


def userinfo(srv, at):
    return curl("--http2", "-k", "-H", "authorization: Bearer " + at, srv.https("/userinfo"))


def post(srv, path, form, auth=None, proto="--http2", extra=(), content_type="application/x-www-form-urlencoded"):
    """POST form to srv over TLS; auth=(id, secret) uses client_secret_basic."""
    args = [proto, "-k", "-X", "POST", "-H", "content-type: " + content_type]
    if auth is not None:
        args += ["-u", "%s:%s" % auth]
    body = "&".join("%s=%s" % (k, _q(v)) for k, v in form)
    args += ["--data-binary", body] + list(extra) + [srv.https(path)]
    return curl(*args)


def _q(v):
    from urllib.parse import quote
    return quote(str(v), safe="")


def token(srv, form, auth=None, **kw):
    return post(srv, "/token", list(form.items()) if isinstance(form, dict) else form, auth, **kw)


def code_form(code, verifier, client_id=None, redirect=REDIRECT):
    f = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier}
    if client_id:
        f["client_id"] = client_id
    return f


# ---- JWT ------------------------------------------------------------------


def jwt_parts(tok):
    h, p, s = tok.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), s


def jwks(srv):
    r = curl("--http1.1", srv.http("/jwks.json"))
    return {k["kid"]: k for k in (r.json() or {}).get("keys", [])}


def verify_sig(srv, tok):
    """True when tok's signature verifies with the JWKS key its kid names,
    using the algorithm of that key (never the token's word alone)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
    from cryptography.exceptions import InvalidSignature

    header, _, sig = jwt_parts(tok)
    key = jwks(srv).get(header.get("kid"))
    if key is None or key.get("alg") != header.get("alg"):
        return False
    data = tok.rsplit(".", 1)[0].encode()
    raw = b64url_decode(sig)
    try:
        if key["kty"] == "EC":
            pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64url_decode(key["x"]), "big"),
                                                int.from_bytes(b64url_decode(key["y"]), "big"),
                                                ec.SECP256R1()).public_key()
            if len(raw) != 64:
                return False
            der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            pub.verify(der, data, ec.ECDSA(hashes.SHA256()))
        else:
            pub = rsa.RSAPublicNumbers(int.from_bytes(b64url_decode(key["e"]), "big"),
                                       int.from_bytes(b64url_decode(key["n"]), "big")).public_key()
            pub.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def at_hash(tok):
    return b64url(hashlib.sha256(tok.encode()).digest()[:16])


def no_store(name, r):
    check("%s: Cache-Control no-store" % name, r.header("cache-control") == "no-store", r.describe())


def token_no_cache(name, r):
    no_store(name, r)
    check("%s: Pragma no-cache" % name, r.header("pragma") == "no-cache", r.describe())


def tamper(tok):
    """The same token with one payload character changed."""
    h, p, s = tok.split(".")
    mid = len(p) // 2
    c = "A" if p[mid] != "A" else "B"
    return "%s.%s%s%s.%s" % (h, p[:mid], c, p[mid + 1:], s)


def now():
    return int(time.time())


def uid():
    return str(uuid.uuid4())


class RowLock:
    """Another session holding the rows `select` names (`select` FOR UPDATE,
    the session's last statement while it waits) until release(), which
    returns psql's exit status; a second release() does nothing."""

    def __init__(self, env, select):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", env.db_url],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.proc.stdin.write("BEGIN;\n%s FOR UPDATE;\n" % select)
        self.proc.stdin.flush()

    def release(self):
        if not self.proc.stdin.closed:
            self.proc.stdin.write("COMMIT;\n")
            self.proc.stdin.close()
        return self.proc.wait(30 * SLOW)
