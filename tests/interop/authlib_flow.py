"""regain against Debian's python3-authlib as the relying party: the
authorization code flow with PKCE S256 (authlib's requests OAuth2Session),
the browser part driven through the real sign-in form with `requests`, the
ID token validated with authlib's jose (ES256 pinned; iss, aud, exp, nonce,
at_hash), refresh with rotation, client_credentials.  TAP output through
tests/integration/harness.py; run by tests/run.sh for every build."""

import html
import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))

from harness import SLOW, check, check_eq, regain_bin, require, run, sh  # noqa: E402

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, JsonWebToken  # noqa: E402
from authlib.jose.errors import JoseError  # noqa: E402
from authlib.oidc.core import CodeIDToken  # noqa: E402

REDIRECT = "https://rp.example/authlib/cb"
PASSWORD = "through the looking glass"


def inputs(page):
    out = {}
    for tag in re.findall(r"<input\b[^>]*>", page, re.I):
        n = re.search(r'\bname="([^"]*)"', tag)
        v = re.search(r'\bvalue="([^"]*)"', tag)
        if n:
            out[n.group(1)] = html.unescape(v.group(1)) if v else ""
    return out


def main(env):
    srv = env.regain()
    p = srv.cli("client", "add", "--id", "authlib", "--redirect-uri", REDIRECT,
                "--grant-types", "authorization_code,refresh_token",
                "--scopes", "openid profile email offline_access", "--auth-method", "client_secret_basic", "--json")
    require("client add authlib", p.returncode == 0, p.stderr)
    secret = json.loads(p.stdout)["client_secret"]
    p = srv.cli("client", "add", "--id", "authlib-m2m", "--grant-types", "client_credentials", "--scopes", "scim",
                "--auth-method", "client_secret_basic", "--json")
    require("client add authlib-m2m", p.returncode == 0, p.stderr)
    m2m_secret = json.loads(p.stdout)["client_secret"]
    p = sh([regain_bin(), "user", "add", "--username", "bob", "--given-name", "Bob", "--family-name", "Builder",
            "--email", "bob@example.com", "--email-verified", "--password-stdin", "--config", srv.config_path],
           input=PASSWORD + "\n", timeout=60 * SLOW)
    require("user add bob", p.returncode == 0, p.stderr)
    sub = p.stdout.strip()

    timeout = 30 * SLOW
    meta = requests.get(srv.https("/.well-known/openid-configuration"), verify=env.cert, timeout=timeout).json()
    check_eq("discovery issuer", meta.get("issuer"), srv.issuer)
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], verify=env.cert, timeout=timeout).json())
    es256 = JsonWebToken(["ES256"])  # pinned: the token's own alg header is not trusted

    rp = OAuth2Session("authlib", secret, scope="openid profile email offline_access", redirect_uri=REDIRECT,
                       code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")
    rp.verify = env.cert
    rp.trust_env = False  # else REQUESTS_CA_BUNDLE / proxy variables override verify
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    check_eq("authlib sends code_challenge_method S256", q.get("code_challenge_method"), "S256")

    # The browser: its own cookie jar, never following redirects by itself.
    browser = requests.Session()
    browser.verify = env.cert
    browser.trust_env = False
    r = browser.get(url, allow_redirects=False, timeout=timeout)
    check("GET /authorize: the sign-in page", r.status_code == 200 and 'type="password"' in r.text,
          "%d %s" % (r.status_code, r.text[:300]))
    form = inputs(r.text)
    require("the page carries request and csrf fields", form.get("request") and form.get("csrf"), repr(form))
    form.update(username="bob", password=PASSWORD)
    r = browser.post(srv.https("/login"), data=form, allow_redirects=False, timeout=timeout)
    check_eq("POST /login: 303", r.status_code, 303)
    check("... sets __Host-regain-session", "__Host-regain-session" in browser.cookies.keys(),
          repr(browser.cookies.keys()))
    # The sign-in finishes the pending request: straight back to the relying party.
    callback = r.headers.get("location", "")
    check("... the registered redirect URI", callback.startswith(REDIRECT + "?"), callback)
    cq = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))
    check_eq("... iss (RFC 9207)", cq.get("iss"), srv.issuer)

    try:
        tok = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state,
                             code_verifier=verifier)
    except Exception as e:  # authlib raises OAuthError subclasses
        require("fetch_token() exchanges the code", False, repr(e))
    check("fetch_token(): access, refresh and ID tokens",
          all(k in tok for k in ("access_token", "refresh_token", "id_token")), repr(list(tok)))

    try:
        claims = es256.decode(tok["id_token"], keys, claims_cls=CodeIDToken,
                              claims_options={"iss": {"essential": True, "value": srv.issuer}},
                              claims_params={"nonce": nonce, "client_id": "authlib",
                                             "access_token": tok["access_token"]})
        claims.validate(leeway=5)
        check("authlib jose: ID token signature (ES256), iss, aud, exp, iat, nonce, at_hash", True)
        check_eq("ID token sub", claims.get("sub"), sub)
        check("ID token has at_hash (validated above)", bool(claims.get("at_hash")), repr(dict(claims)))
    except JoseError as e:
        check("authlib jose: ID token signature (ES256), iss, aud, exp, iat, nonce, at_hash", False, repr(e))

    try:
        bad = es256.decode(tok["id_token"], keys, claims_cls=CodeIDToken,
                           claims_params={"nonce": "another", "client_id": "authlib"})
        bad.validate()
        check("a wrong nonce is caught", False, "validated")
    except JoseError as e:
        check("a wrong nonce is caught", "nonce" in str(getattr(e, "description", "")), repr(e))
    try:
        JsonWebToken(["RS256"]).decode(tok["id_token"], keys)
        check("ES256 token refused when only RS256 is allowed", False, "decoded")
    except JoseError as e:
        check("ES256 token refused when only RS256 is allowed", True, repr(e))

    try:
        at = es256.decode(tok["access_token"], keys)
        at.validate(leeway=5)
        check_eq("access token typ header at+jwt", at.header.get("typ"), "at+jwt")
        check_eq("access token iss", at.get("iss"), srv.issuer)
        check_eq("access token client_id", at.get("client_id"), "authlib")
    except JoseError as e:
        check("access token verifies (ES256)", False, repr(e))

    r = rp.get(meta["userinfo_endpoint"], timeout=timeout)
    check_eq("userinfo through the session's bearer token: 200", r.status_code, 200)
    check_eq("userinfo sub", (r.json() if r.status_code == 200 else {}).get("sub"), sub)

    old_rt = tok["refresh_token"]
    try:
        new = rp.refresh_token(meta["token_endpoint"], refresh_token=old_rt)
        check("refresh_token(): rotated", new.get("refresh_token") not in (None, old_rt), repr(list(new)))
    except Exception as e:
        check("refresh_token(): rotated", False, repr(e))

    cc = OAuth2Session("authlib-m2m", m2m_secret, scope="scim", token_endpoint_auth_method="client_secret_basic")
    cc.verify = env.cert
    cc.trust_env = False
    try:
        ct = cc.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        at = es256.decode(ct["access_token"], keys)
        at.validate(leeway=5)
        check_eq("client_credentials: at+jwt, sub the client", (at.header.get("typ"), at.get("sub")),
                 ("at+jwt", "authlib-m2m"))
    except Exception as e:
        check("client_credentials: at+jwt, sub the client", False, repr(e))
    srv.stop()


if __name__ == "__main__":
    run(main)
