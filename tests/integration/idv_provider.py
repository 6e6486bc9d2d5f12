"""A stand-in identity-verification provider for the recovery tests: a real
OpenID Provider over TLS that speaks the protocol regain's `oidc-ida`
provider uses (Discovery, JWKS, PAR (RFC 9126), the authorization code flow
with PKCE S256, client_secret_basic, and ID tokens signed ES256 carrying
OpenID Connect for Identity Assurance `verified_claims`).

It "verifies" whoever comes: the test sets `idp.identity` (the claims and the
verification data the next ID token carries: "claims", "txn" (the txn claim; None
leaves it out), "jti", "process" (verification_process, by default the same in every
token, as banks do), "trust_framework", "assurance_level", "age") and `idp.tamper` (one of None,
"wrong_nonce", "forged", "wrong_aud", "wrong_iss", "expired", "not_yet_valid", "nbf_within_skew",
"no_verified_claims",
"unknown_kid", and for the authorization response itself (RFC 9207)
"response_wrong_iss", "response_no_iss") before sending the browser to it; `idp.mutate`, when set, is
called with the ID token's payload just before it is signed (hostile but correctly signed results). It
records what it was asked
(`idp.requests`): the tests check the claims request, PKCE and PAR.

Python standard library + python3-cryptography only."""

import base64
import hashlib
import http.server
import json
import secrets
import socketserver
import ssl
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ec_jwk(key, kid):
    nums = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64u(nums.x.to_bytes(32, "big")), "y": b64u(nums.y.to_bytes(32, "big")),
            "kid": kid, "alg": "ES256", "use": "sig"}


def sign_es256(key, kid, payload):
    header = {"alg": "ES256", "typ": "JWT", "kid": kid}
    signing_input = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(payload).encode())
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return signing_input + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class IdvProvider:
    def __init__(self, cert, key, client_id="regain", client_secret="idv-secret", par=True):
        self.client_id = client_id
        self.client_secret = client_secret
        self.par = par
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = "idv-key-1"
        self.other_key = ec.generate_private_key(ec.SECP256R1())  # not in the JWKS: forgeries
        self.identity = None
        self.tamper = None
        self.mutate = None
        self.requests = []
        self.pushed = {}
        self.codes = {}
        self.token_calls = 0
        self.jwks_calls = 0
        self._srv = _Server(("127.0.0.1", 0), self._handler())
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self._srv.socket = ctx.wrap_socket(self._srv.socket, server_side=True)
        self.port = self._srv.server_address[1]
        self.issuer = "https://localhost:%d" % self.port
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._srv.shutdown()
        self._srv.server_close()

    # `with IdvProvider(cert, key) as idp:` starts it and stops it whatever happens.
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -------------------------------------------------------------------------------
    def discovery(self):
        d = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "claims_parameter_supported": True,
            "authorization_response_iss_parameter_supported": True,
            "verified_claims_supported": True,
            "trust_frameworks_supported": ["eidas", "de_aml"],
            "claims_in_verified_claims_supported": ["given_name", "family_name", "birthdate"],
        }
        if self.par:
            d["pushed_authorization_request_endpoint"] = self.issuer + "/par"
        return d

    def id_token(self, params):
        ident = self.identity or {}
        now = int(time.time())
        verification = {
            "trust_framework": ident.get("trust_framework", "eidas"),
            "assurance_level": ident.get("assurance_level", "substantial"),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - ident.get("age", 30))),
            # a reference to the provider's verification process: like a bank's,
            # the same for every token unless the test says otherwise
            "verification_process": ident.get("process", "kyc-process-2019-07"),
            "evidence": [{"type": "electronic_record", "record": {"type": "eid"}}],
        }
        payload = {
            "iss": self.issuer,
            "sub": "idv-" + secrets.token_hex(4),
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": params.get("nonce"),
            "verified_claims": {"verification": verification, "claims": ident.get("claims", {})},
            # per token (RFC 7519 §4.1.7)
            "jti": ident.get("jti", secrets.token_hex(12)),
        }
        # the transaction id (RFC 8417 §2.2, used by IDA): per transaction unless
        # the test sets it; None leaves it out
        txn = ident.get("txn", secrets.token_hex(8))
        if txn is not None:
            payload["txn"] = txn
        t = self.tamper
        if t == "wrong_nonce":
            payload["nonce"] = "not-the-nonce"
        elif t == "wrong_aud":
            payload["aud"] = "someone-else"
        elif t == "wrong_iss":
            payload["iss"] = "https://evil.example"
        elif t == "not_yet_valid":
            payload["nbf"] = now + 600  # beyond any clock skew
        elif t == "nbf_within_skew":
            payload["nbf"] = now + 30
        elif t == "expired":
            payload["iat"] = now - 7200
            payload["exp"] = now - 3600
        elif t == "no_verified_claims":
            del payload["verified_claims"]
        if self.mutate is not None:
            self.mutate(payload)
        if t == "forged":
            return sign_es256(self.other_key, self.kid, payload)
        if t == "unknown_kid":
            return sign_es256(self.other_key, "rotated-away", payload)
        return sign_es256(self.key, self.kid, payload)

    def _client_ok(self, headers):
        auth = headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        ident, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        return (urllib.parse.unquote(ident) == self.client_id and
                secrets.compare_digest(urllib.parse.unquote(secret), self.client_secret))

    def _handler(self):
        idp = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send(self, status, body, ctype="application/json", location=None):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(data)

            def form(self):
                n = int(self.headers.get("Content-Length", "0"))
                return dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                if u.path == "/.well-known/openid-configuration":
                    return self.send(200, json.dumps(idp.discovery()))
                if u.path == "/jwks":
                    idp.jwks_calls += 1
                    return self.send(200, json.dumps({"keys": [ec_jwk(idp.key, idp.kid)]}))
                if u.path == "/authorize":
                    if "request_uri" in q:
                        params = idp.pushed.pop(q["request_uri"], None)
                        if params is None or q.get("client_id") != idp.client_id:
                            return self.send(400, "unknown request_uri", "text/plain")
                        params["_via_par"] = True
                    else:
                        params = dict(q)
                        params["_via_par"] = False
                    idp.requests.append(params)
                    if params.get("client_id") != idp.client_id:
                        return self.send(400, "unknown client", "text/plain")
                    code = secrets.token_urlsafe(24)
                    idp.codes[code] = params
                    resp = {"code": code, "state": params.get("state", ""), "iss": idp.issuer}
                    if idp.tamper == "response_wrong_iss":
                        resp["iss"] = "https://evil.example"
                    elif idp.tamper == "response_no_iss":
                        del resp["iss"]
                    loc = params["redirect_uri"] + "?" + urllib.parse.urlencode(resp)
                    return self.send(302, "", "text/plain", location=loc)
                return self.send(404, "{}")

            def do_POST(self):
                u = urllib.parse.urlsplit(self.path)
                f = self.form()
                if u.path == "/par":
                    if not idp._client_ok(self.headers):
                        return self.send(401, json.dumps({"error": "invalid_client"}))
                    uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(16)
                    idp.pushed[uri] = f
                    return self.send(201, json.dumps({"request_uri": uri, "expires_in": 60}))
                if u.path == "/token":
                    idp.token_calls += 1
                    if not idp._client_ok(self.headers):
                        return self.send(401, json.dumps({"error": "invalid_client"}))
                    params = idp.codes.pop(f.get("code", ""), None)
                    if params is None or f.get("grant_type") != "authorization_code":
                        return self.send(400, json.dumps({"error": "invalid_grant"}))
                    if f.get("redirect_uri") != params.get("redirect_uri"):
                        return self.send(400, json.dumps({"error": "invalid_grant", "error_description": "redirect"}))
                    challenge = b64u(hashlib.sha256(f.get("code_verifier", "").encode()).digest())
                    if params.get("code_challenge_method") != "S256" or challenge != params.get("code_challenge"):
                        return self.send(400, json.dumps({"error": "invalid_grant", "error_description": "pkce"}))
                    return self.send(200, json.dumps({"access_token": secrets.token_urlsafe(16),
                                                      "token_type": "Bearer", "expires_in": 300,
                                                      "id_token": idp.id_token(params)}))
                return self.send(404, "{}")

        return H


if __name__ == "__main__":
    # Standalone, for the browser test: idv_provider.py CERT KEY IDENTITY_JSON
    # prints the issuer on one line, then serves until stdin closes.
    import sys

    idp = IdvProvider(sys.argv[1], sys.argv[2]).start()
    idp.identity = json.loads(sys.argv[3])
    print(idp.issuer, flush=True)
    sys.stdin.read()
    idp.stop()
