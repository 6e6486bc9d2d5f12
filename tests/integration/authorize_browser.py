"""Shared by test_authorize_*.py and test_logout.py: a browser with a cookie
jar over TLS (the session cookie is Secure and `__Host-`), PKCE values, and
the fixtures (a public client, a user with a password).  Standard library only."""

import base64
import hashlib
import html
import http.client
import os
import re
import ssl
import urllib.parse

from harness import SLOW, check, check_eq, psql, regain_bin, require, sh
from methods_fixture import form_fields

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE

REDIRECT = "https://rp.example/cb"
POST_LOGOUT = "https://rp.example/bye"


def pkce():
    """(verifier, S256 challenge) per RFC 7636 §4.1-4.2."""
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Reply:
    def __init__(self, status, headers, body, seconds=None):
        self.status = status
        self.headers = headers  # list of (lower-case name, value)
        self.body = body
        self.text = body.decode("utf-8", "replace")
        self.seconds = seconds  # how long the request took, when the caller timed it

    def header(self, name):
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def location_params(self):
        loc = self.header("location") or ""
        return urllib.parse.urlsplit(loc), dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))

    def set_cookies(self):
        """name -> (value, [attributes]) of every Set-Cookie."""
        out = {}
        for k, v in self.headers:
            if k == "set-cookie":
                parts = [p.strip() for p in v.split(";")]
                name, _, value = parts[0].partition("=")
                out[name] = (value, parts[1:])
        return out

    def __repr__(self):
        return "<%d %r %s>" % (self.status, self.headers, self.text[:800])


class Browser:
    """One browser: its own cookie jar, source address and User-Agent; a new
    TLS connection per request."""

    def __init__(self, srv, src="127.0.0.1", user_agent=None, host="127.0.0.1", port=None):
        self.srv = srv
        self.src = src
        self.user_agent = user_agent
        self.host, self.port = host, port  # another listener than the server's TLS one on 127.0.0.1
        self.jar = {}

    def request(self, method, path, form=None, raw_body=None, content_type=None, headers=None):
        conn = http.client.HTTPSConnection(self.host, self.port or self.srv.tls_port, context=CTX,
                                           timeout=30 * SLOW, source_address=(self.src, 0))
        headers = dict(headers or {})
        if self.user_agent:
            headers["User-Agent"] = self.user_agent
        if self.jar:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in self.jar.items())
        body = raw_body
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if content_type:
            headers["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            r = Reply(resp.status, [(k.lower(), v) for k, v in resp.getheaders()], resp.read())
        finally:
            conn.close()
        self.keep(r)
        return r

    def keep(self, r):
        """Stores the reply's cookies; Max-Age=0 deletes one."""
        for name, (value, attrs) in r.set_cookies().items():
            if any(a.lower() == "max-age=0" for a in attrs):
                self.jar.pop(name, None)
            else:
                self.jar[name] = value

    def get(self, path, params=None):
        if params is not None:
            path += "?" + urllib.parse.urlencode(params)
        return self.request("GET", path)

    def post(self, path, form):
        return self.request("POST", path, form=form)

    def sign_in(self, page, username, password, box=True):
        """Submits the sign-in form of `page` (the HTML /authorize rendered)
        as a browser does: its fields, with the two typed. box=False leaves
        out the request's box (oidc/pending.c), for a request stored as a row."""
        form = form_fields(page.text, "/login") or {}
        if not box:
            form.pop("pending", None)
        form.setdefault("request", "")
        form.setdefault("csrf", "")
        form.update({"username": username, "password": password})
        return self.post("/login", form)

    def follow(self, r):
        """GET the Location of a same-origin redirect. A redirect that leaves
        regain (to the relying party: a URL with another origin) is where
        the browser would go next; `r` itself is returned for the caller to
        read it."""
        loc = r.header("location") or ""
        parts = urllib.parse.urlsplit(loc)
        if parts.netloc and "%s://%s" % (parts.scheme, parts.netloc) != self.srv.issuer:
            return r
        path = parts.path + ("?" + parts.query if parts.query else "")
        return self.get(path)


def code_from(r, label, srv, state="st-123"):
    """Checks that `r` sends the browser back to the relying party with a
    code, `state` and iss (RFC 9207); returns the code."""
    check_eq("%s: 303" % label, r.status, 303)
    parts, q = r.location_params()
    check_eq("%s: to the redirect URI" % label, "%s://%s%s" % (parts.scheme, parts.netloc, parts.path), REDIRECT)
    check("%s: a code" % label, q.get("code") and re.fullmatch(r"[A-Za-z0-9_-]{43}", q["code"]), q)
    check_eq("%s: state" % label, q.get("state"), state)
    check_eq("%s: iss" % label, q.get("iss"), srv.issuer)
    check("%s: no error" % label, "error" not in q, q)
    return q.get("code")


def field_value(text, name):
    m = re.search(r'<input[^>]*name="%s"[^>]*value="([^"]*)"' % re.escape(name), text)
    return html.unescape(m.group(1)) if m else None


def authorize_params(challenge, **extra):
    p = {"client_id": "rp1", "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid profile",
         "state": "st-123", "nonce": "n-456", "code_challenge": challenge, "code_challenge_method": "S256"}
    for k, v in extra.items():
        if v is None:
            p.pop(k, None)
        else:
            p[k] = v
    return p


def setup_fixtures(srv, db):
    """A public client rp1 (and a confidential-looking one without the code
    grant), and user alice with a password."""

    def sql(q):
        rc, rows, err = psql(db, q)
        require("SQL ok: %s" % q[:60], rc == 0, err)
        return rows

    sql("insert into clients (id, name, token_endpoint_auth_method, grant_types, scopes, redirect_uris, "
        "post_logout_redirect_uris) values ('rp1', 'RP one', 'none', '{authorization_code,refresh_token}', "
        "'{openid,profile,email}', '{%s,https://rp.example/cb?x=1}', '{%s}')" % (REDIRECT, POST_LOGOUT))
    sql("insert into clients (id, name, token_endpoint_auth_method, secret_hash, grant_types, scopes, "
        "redirect_uris) values ('m2m', 'Machine', 'client_secret_basic', '\\x%s', '{client_credentials}', "
        "'{openid,scim}', '{%s}')" % ("00" * 32, REDIRECT))
    p = sh([regain_bin(), "user", "add", "--username", "alice", "--password-stdin", "--config", srv.config_path],
           input="wonderland 1\n", timeout=60 * SLOW)
    require("user add alice", p.returncode == 0, p.stderr)
    return sql


def live_sessions(sql):
    """How many sessions have not ended (sql: setup_fixtures' query function)."""
    return int(sql("select count(*) from sessions where ended_at is null")[0][0])


def logout_form(text):
    """The fields of the sign-out confirmation page's form, as it would post them."""
    return {k: field_value(text, k) for k in ("client_id", "post_logout_redirect_uri", "state", "confirm", "csrf")}
