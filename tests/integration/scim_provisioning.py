"""Shared by test_scim_bulk.py, test_scim_entra.py and test_scim_okta.py: a
regain with a SCIM client, bearer tokens from our own /token
(client_credentials, client_secret_basic), and a SCIM request helper over
HTTP/2 + TLS with curl.  Standard library only."""

import base64
import json
import os
import tempfile
import threading
import time
from urllib.parse import quote

from harness import SLOW, Abort, check, curl, require

SCIM = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def start(env, body_limit=None):
    """A regain whose request body limit is above /Bulk's maxPayloadSize, so
    the SCIM layer (not h2o) answers an oversized BulkRequest."""
    return env.regain({"server": {"max_request_body_bytes": body_limit or 8 * 1024 * 1024}})


def add_scim_client(srv, client_id, scopes="scim"):
    p = srv.cli("client", "add", "--id", client_id, "--grant-types", "client_credentials", "--scopes", scopes,
                "--auth-method", "client_secret_basic", "--json")
    require("regain client add %s" % client_id, p.returncode == 0, p.stderr + p.stdout)
    try:
        return json.loads(p.stdout)["client_secret"]
    except (ValueError, KeyError):
        raise Abort("client add --json printed no secret: %r" % p.stdout[:300])


def bearer(srv, client_id, secret, scope="scim"):
    raw = "%s:%s" % (quote(client_id, safe=""), quote(secret, safe=""))
    r = curl("--http2", "-k", "-X", "POST", "-H", "content-type: application/x-www-form-urlencoded",
             "-H", "authorization: Basic " + base64.b64encode(raw.encode()).decode(),
             "--data-binary", "grant_type=client_credentials&scope=" + quote(scope), srv.https("/token"))
    require("token for %s (scope %s)" % (client_id, scope), r.status == 200 and (r.json() or {}).get("access_token"),
            r.describe())
    return r.json()["access_token"]


def scim_token(srv, client_id="scim-client", scopes="scim"):
    return bearer(srv, client_id, add_scim_client(srv, client_id, scopes), scopes.split()[0])


class Scim:
    """SCIM requests as a provisioning client sends them."""

    def __init__(self, srv, token):
        self.srv = srv
        self.token = token

    def url(self, path):
        return self.srv.https(SCIM + path)

    def request(self, method, path, body=None, token=None, headers=(), content_type="application/scim+json",
                timeout=30, raw=None):
        args = ["--http2", "-k", "-X", method, "-H", "accept: application/scim+json"]
        tok = self.token if token is None else token
        if tok:
            args += ["-H", "authorization: Bearer " + tok]
        for h in headers:
            args += ["-H", h]
        if raw is not None:
            args += ["-H", "content-type: " + content_type, "--data-binary", "@" + raw]
        elif body is not None:
            data = body if isinstance(body, str) else json.dumps(body)
            if len(data) > 60000:  # past what one argv string may hold
                fd, tmp = tempfile.mkstemp(suffix=".json")
                with os.fdopen(fd, "w") as f:
                    f.write(data)
                try:
                    return self.request(method, path, token=token, headers=headers, content_type=content_type,
                                        timeout=timeout, raw=tmp)
                finally:
                    os.unlink(tmp)
            args += ["-H", "content-type: " + content_type, "--data-binary", data]
        return curl(*(args + [self.url(path)]), timeout=timeout)

    def get(self, path, params=None, **kw):
        if params:
            path += "?" + "&".join("%s=%s" % (k, quote(str(v), safe="")) for k, v in params)
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def bulk(self, ops, fail_on_errors=None, **kw):
        body = {"schemas": [BULK_REQUEST], "Operations": ops}
        if fail_on_errors is not None:
            body["failOnErrors"] = fail_on_errors
        return self.post("/Bulk", body, **kw)

    def find_user(self, user_name):
        """The users whose userName equals `user_name` (a filter query)."""
        r = self.get("/Users", [("filter", 'userName eq "%s"' % user_name)])
        return (r.json() or {}).get("Resources", []) if r.status == 200 else None


def scim_error(name, r, status, scim_type=None):
    """Checks an RFC 7644 §3.12 error answer."""
    b = r.json() or {}
    ok = (r.status == status and b.get("schemas") == [ERROR] and b.get("status") == str(status)
          and b.get("scimType") == scim_type)
    return check("%s: %d%s in the SCIM error format" % (name, status, " " + scim_type if scim_type else ""), ok,
                 r.describe())


def media_type(r):
    return (r.header("content-type") or "").split(";")[0].strip()


def members_of(doc):
    return sorted(m.get("value") for m in (doc or {}).get("members", []) or [])


# What a request on the same loop thread may wait while a big one is applied
# (the stalls the callers were written for lasted 10 s and more).
MAX_WAIT_S = 3.0 * SLOW


def while_answering(scim, name, fn, timeout=60):
    """Runs fn (a big request) in a thread while GET /ServiceProviderConfig
    is asked again and again (on the same loop thread when the server has
    one); checks that none waited MAX_WAIT_S and returns fn's answer."""
    out = {}

    def big():
        out["r"] = fn()

    t = threading.Thread(target=big)
    t.start()
    worst, asked = 0.0, 0
    while t.is_alive():
        t0 = time.time()
        r = scim.get("/ServiceProviderConfig", timeout=timeout)
        worst = max(worst, time.time() - t0)
        asked += 1
        if r.status != 200:  # one check per call, however many GETs the timing allowed
            require("GET /ServiceProviderConfig while %s: 200" % name, False, r.describe())
    t.join()
    check("GETs while %s: all 200, each within %.0f s" % (name, MAX_WAIT_S), worst < MAX_WAIT_S,
          "%d GETs, the slowest %.2f s" % (asked, worst))
    return out["r"]
