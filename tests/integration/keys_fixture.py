"""Shared by the signing-key tests (test_keys_*.py): access tokens from one
gateway presented to another, the kids a gateway publishes and signs with,
and the signing_keys rows.

Several gateways run side by side against one database, as README promises;
they share one issuer, as gateways behind one name do, so a token from one is
a token for all. Times are moved forward in signing_keys with psql (a key's
activates_at, retired_at) instead of waiting minutes."""

import base64
import json
import os
from urllib.parse import quote

from harness import SLOW, b64url, b64url_decode, check, curl, psql, require, wait_until


class Admin:
    """A client_credentials client with scope admin: its tokens are RFC 9068
    access tokens that every gateway verifies on /admin/v1/clients."""

    def __init__(self, srv):
        p = srv.cli("client", "add", "--id", "keys-admin", "--grant-types", "client_credentials",
                    "--scopes", "admin", "--json")
        require("admin client registered", p.returncode == 0, p.stderr)
        self.secret = json.loads(p.stdout)["client_secret"]

    def token(self, srv):
        """A fresh access token signed by srv."""
        raw = "keys-admin:%s" % quote(self.secret, safe="")
        r = curl("--http2", "-k", "-X", "POST", "-H", "content-type: application/x-www-form-urlencoded",
                 "-H", "authorization: Basic " + base64.b64encode(raw.encode()).decode(),
                 "--data-binary", "grant_type=client_credentials&scope=admin", srv.https("/token"))
        require("%s issues an access token" % srv.name, r.status == 200, r.describe())
        return r.json()["access_token"]


def accepts(srv, at):
    """The status srv answers for a request carrying the access token."""
    return curl("--http2", "-k", "-H", "authorization: Bearer " + at, srv.https("/admin/v1/clients")).status


def accepted_soon(srv, at, timeout=5):
    """True once srv accepts the token (a gateway that reloads its keys)."""
    return bool(wait_until(lambda: accepts(srv, at) == 200, timeout * SLOW, interval=0.2))


def kid_of(tok):
    return json.loads(b64url_decode(tok.split(".")[0])).get("kid")


def kids(srv, alg="ES256"):
    """The kids srv publishes for alg, in its order."""
    r = curl("--http1.1", srv.http("/jwks.json"))
    return [k.get("kid") for k in (r.json() or {}).get("keys", []) if k.get("alg") == alg]


def wait_kids(srv, want, timeout=5):
    """Waits until want(kids) holds; returns the last kids seen."""
    got = wait_until(lambda: (lambda k: k if want(k) else None)(kids(srv)), timeout * SLOW, interval=0.2)
    return got if got is not None else kids(srv)


def signing_kid(srv, admin):
    return kid_of(admin.token(srv))


def wait_signing(srv, admin, kid, timeout=5):
    """True once srv signs with kid."""
    return bool(wait_until(lambda: signing_kid(srv, admin) == kid, timeout * SLOW, interval=0.3))


def sql(env, text):
    rc, rows, err = psql(env.db_url, text)
    require("psql: %s" % text[:70], rc == 0, err)
    return rows


def key_rows(env, alg="ES256"):
    """kid -> {"created", "activates", "retired" (epoch seconds; retired None
    when unset), "published" (now)}."""
    rows = sql(env, "SELECT kid, extract(epoch FROM created_at), extract(epoch FROM activates_at), "
                    "extract(epoch FROM retired_at), retired_at IS NULL OR retired_at > now() "
                    "FROM signing_keys WHERE alg = '%s' ORDER BY created_at" % alg)
    return {r[0]: {"created": float(r[1]), "activates": float(r[2]), "retired": float(r[3]) if r[3] else None,
                   "published": r[4] == "t"} for r in rows}


def since(later, earlier):
    """later - earlier in seconds, or None when either is unset."""
    return None if later is None or earlier is None else later - earlier


def activate_now(env, kid):
    """As though the key's waiting time had passed. Not fatal: a regain
    without activates_at signs with a new key at once anyway."""
    rc, _, err = psql(env.db_url, "UPDATE signing_keys SET activates_at = now() WHERE kid = '%s'" % kid)
    check("the key's time is moved to now", rc == 0, err)


def unknown_kid_token():
    """An access token whose header names a kid no gateway has."""
    header = {"alg": "ES256", "typ": "at+jwt", "kid": b64url(os.urandom(32))}
    return "%s.%s.%s" % (b64url(json.dumps(header).encode()), b64url(b'{"sub":"nobody"}'), b64url(bytes(64)))


def near(name, got, want, slack=5.0):
    return check("%s: about %.1f s" % (name, want), got is not None and abs(got - want) <= slack,
                 "got %r s, want %.1f +- %.1f" % (got, want, slack))
