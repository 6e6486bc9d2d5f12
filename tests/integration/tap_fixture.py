"""Shared set-up for the TAP, policy and audit tests (test_tap_*.py).

An admin bearer token from our own /token (client_credentials, scope admin),
the admin API over HTTP/2 with curl, and a small browser over TLS
(http.client: one cookie jar, one source address) for the sign-in form.

The CSRF token of the TAP form is HMAC(server key, label || cookie || request)
(oidc/csrf.c); the test wrote the config, so it knows the key-encryption key
and computes the token for a form without an authorization request itself,
as the sign-in page would render it."""

import base64
import hashlib
import hmac
import json
import os
import re
import ssl
import time
import urllib.parse

import authorize_browser
from harness import b64url, curl, psql, require

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE
REDIRECT = "https://rp.example/cb"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def sql(env, text):
    rc, rows, err = psql(env.db_url, text)
    require("psql: %s" % text[:70], rc == 0, err)
    return rows


def lit(s):
    return "NULL" if s is None else "'" + str(s).replace("'", "''") + "'"


def hash_key(env):
    kek = base64.b64decode(env.encryption_key)
    return hmac.new(kek, b"regain/secret-hash/v1", hashlib.sha256).digest()


def csrf_token(env, cookie, request_id="", context=None):
    """The form token for a request, or for the account page's context."""
    ctx = context if context is not None else (request_id.lower() or "account")
    msg = b"regain/csrf/v1\0" + cookie.encode() + b"\0" + ctx.encode()
    return b64url(hmac.new(hash_key(env), msg, hashlib.sha256).digest())


# ---- admin API ----------------------------------------------------------------


class Admin:
    def __init__(self, srv):
        self.srv = srv
        p = srv.cli("client", "add", "--id", "admin-cli", "--grant-types", "client_credentials",
                    "--scopes", "admin scim", "--json")
        require("admin client registered", p.returncode == 0, p.stderr)
        secret = json.loads(p.stdout)["client_secret"]
        raw = "admin-cli:%s" % urllib.parse.quote(secret, safe="")
        r = curl("--http2", "-k", "-X", "POST", "-H", "content-type: application/x-www-form-urlencoded",
                 "-H", "authorization: Basic " + base64.b64encode(raw.encode()).decode(),
                 "--data-binary", "grant_type=client_credentials&scope=admin", srv.https("/token"))
        require("admin token issued", r.status == 200, r.describe())
        self.token = r.json()["access_token"]

    def call(self, method, path, body=None, headers=(), token=None):
        args = ["--http2", "-k", "-X", method, "-H", "authorization: Bearer " + (token or self.token),
                "-H", "user-agent: tap-tests/1"]
        for h in headers:
            args += ["-H", h]
        if body is not None:
            args += ["-H", "content-type: application/json",
                     "--data-binary", body if isinstance(body, str) else json.dumps(body)]
        return curl(*(args + [self.srv.https(path)]))

    def taps_path(self, user, tap_id=None):
        p = "/admin/v1/users/%s/authentication/temporaryAccessPassMethods" % urllib.parse.quote(user, safe="")
        return p + ("/" + tap_id if tap_id else "")

    def issue(self, user, body=None):
        return self.call("POST", self.taps_path(user), body if body is not None else {})

    def audit(self, **q):
        return self.call("GET", "/admin/v1/audit?" + urllib.parse.urlencode(q))

    def events(self, **q):
        r = self.audit(**q)
        require("GET /admin/v1/audit %r" % q, r.status == 200, r.describe())
        return r.json()["value"]


def add_user(env, name, active=True):
    rows = sql(env, "INSERT INTO users (user_name, given_name, family_name, active) VALUES (%s, 'Given', 'Family', %s) "
                    "RETURNING id" % (lit(name), "true" if active else "false"))
    return rows[0][0]


def add_client(env, client_id, scopes="{openid,offline_access}", grants="{authorization_code,refresh_token}"):
    sql(env, "INSERT INTO clients (id, name, token_endpoint_auth_method, grant_types, scopes, redirect_uris) "
             "VALUES (%s, %s, 'none', %s, %s, %s)" % (lit(client_id), lit(client_id), lit(grants), lit(scopes),
                                                     lit("{%s}" % REDIRECT)))


# ---- a browser --------------------------------------------------------------------


class Browser(authorize_browser.Browser):
    """A browser that already holds a CSRF cookie, so TAP forms can be built
    without loading a page first."""

    def __init__(self, env, srv, src):
        super().__init__(srv, src, user_agent="tap-browser/1")
        self.env = env
        self.jar["__Host-regain-csrf"] = b64url(os.urandom(32))

    def tap_form(self, tap, request_id="", username=None, pending=None):
        form = {"tap": tap, "csrf": csrf_token(self.env, self.jar["__Host-regain-csrf"], request_id)}
        if request_id:
            form["request"] = request_id
        if pending:
            form["pending"] = pending
        if username:
            form["username"] = username
        return form

    def sign_in_tap(self, tap, request_id="", username=None, pending=None):
        """`pending`: the request's box, as the sign-in page's TAP form carries it."""
        return self.post("/login/tap", self.tap_form(tap, request_id, username, pending))

    def session(self):
        return self.jar.get("__Host-regain-session")


def pkce():
    verifier = b64url(os.urandom(32))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def authorize_path(client_id, challenge, extra=None):
    q = {"client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid offline_access",
         "state": "st-" + b64url(os.urandom(6)), "nonce": "n-" + b64url(os.urandom(6)), "code_challenge": challenge,
         "code_challenge_method": "S256"}
    q.update(extra or {})
    return "/authorize?" + urllib.parse.urlencode(q)


def hidden(html, name):
    m = re.search(r'<input[^>]*name="%s"[^>]*value="([^"]*)"' % re.escape(name), html)
    return m.group(1) if m else None


def jwt_claims(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def now():
    return int(time.time())
