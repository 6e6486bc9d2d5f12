"""Shared by the signing-key tests (test_keys_*.py): access tokens from one
gateway presented to another, the kids a gateway publishes and signs with,
and the signing_keys rows.

Several gateways run side by side against one database, as README promises;
they share one issuer, as gateways behind one name do, so a token from one is
a token for all."""

import base64
import json
from urllib.parse import quote

from harness import SLOW, b64url_decode, curl, psql, require, wait_until


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


def sql(env, text):
    rc, rows, err = psql(env.db_url, text)
    require("psql: %s" % text[:70], rc == 0, err)
    return rows
