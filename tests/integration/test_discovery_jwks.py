"""Discovery document and JWKS over every protocol regain speaks.

HTTP/2 over TLS (ALPN), HTTP/1.1 over TLS, h2c with prior knowledge, HTTP/1.1
cleartext, and nghttp; content checks (issuer, jwks_uri, public EC keys whose
kid is their RFC 7638 thumbprint) and the security headers on every answer."""

import gzip
import hashlib
import json

from harness import b64url, b64url_decode, check, check_eq, curl, nghttp, require, run

JSON_PATHS = ("/.well-known/openid-configuration", "/jwks.json")


def thumbprint(jwk):
    # RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
    if jwk.get("kty") == "EC":
        members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    elif jwk.get("kty") == "RSA":
        members = {k: jwk[k] for k in ("e", "kty", "n")}
    else:
        members = {k: jwk[k] for k in ("crv", "kty", "x")}
    canon = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return b64url(hashlib.sha256(canon.encode()).digest())


def check_headers(label, r, tls):
    ct = r.header("content-type", "")
    check("%s: content-type application/json" % label,
          ct.split(";")[0].strip().lower() == "application/json", r.describe())
    check_eq("%s: x-content-type-options" % label, r.header("x-content-type-options"), "nosniff")
    check("%s: referrer-policy present" % label, bool(r.header("referrer-policy")), r.describe())
    check("%s: x-request-id present" % label, bool(r.header("x-request-id")), r.describe())
    check("%s: no server header" % label, r.header("server") is None, r.describe())
    hsts = r.header("strict-transport-security")
    if tls:
        check("%s: strict-transport-security on TLS" % label,
              bool(hsts) and "max-age=" in hsts, r.describe())
    else:
        check("%s: no strict-transport-security in cleartext" % label, hsts is None, r.describe())


def check_discovery(label, doc, srv):
    require("%s: discovery is a JSON object" % label, isinstance(doc, dict), repr(doc))
    check_eq("%s: issuer equals the configured issuer" % label, doc.get("issuer"), srv.issuer)
    check_eq("%s: jwks_uri is issuer + /jwks.json" % label, doc.get("jwks_uri"), srv.issuer + "/jwks.json")
    for field in ("authorization_endpoint", "token_endpoint", "response_types_supported",
                  "subject_types_supported", "id_token_signing_alg_values_supported"):
        check("%s: discovery has %s" % (label, field), field in doc, sorted(doc))
    algs = doc.get("id_token_signing_alg_values_supported") or []
    check("%s: ES256 among id_token_signing_alg_values_supported" % label, "ES256" in algs, repr(algs))
    # No provider here hands its signed result on as an aggregated claim.
    check_eq("%s: claim_types_supported" % label, doc.get("claim_types_supported"), ["normal"])


def check_jwks(label, jwks):
    require("%s: JWKS has a keys array" % label,
            isinstance(jwks, dict) and isinstance(jwks.get("keys"), list), repr(jwks))
    keys = jwks["keys"]
    ec = [k for k in keys if k.get("kty") == "EC" and k.get("crv") == "P-256"]
    check("%s: at least one EC P-256 key" % label, len(ec) >= 1, repr(keys))
    for i, k in enumerate(keys):
        tag = "%s: key %d (%s)" % (label, i, k.get("kid"))
        check("%s has no private member d" % tag, "d" not in k, sorted(k))
        for priv in ("p", "q", "dp", "dq", "qi"):
            if priv in k:
                check("%s has no private RSA member %s" % (tag, priv), False, sorted(k))
        if k.get("kty") != "EC":
            continue
        check("%s has kid, x, y" % tag, all(isinstance(k.get(m), str) and k.get(m) for m in ("kid", "x", "y")),
              repr(k))
        check_eq("%s alg" % tag, k.get("alg"), "ES256")
        check_eq("%s use" % tag, k.get("use"), "sig")
        try:
            lens = (len(b64url_decode(k["x"])), len(b64url_decode(k["y"])))
        except Exception as e:  # noqa: BLE001 - any decoding error is the finding
            lens = repr(e)
        check_eq("%s x and y are 32-byte base64url" % tag, lens, (32, 32))
        if all(m in k for m in ("crv", "kty", "x", "y")):
            check_eq("%s kid is the RFC 7638 thumbprint" % tag, k.get("kid"), thumbprint(k))
    kids = [k.get("kid") for k in keys]
    check("%s: kids are unique" % label, len(kids) == len(set(kids)), repr(kids))


def main(env):
    srv = env.regain()
    modes = [
        ("h2 TLS", ["--http2", "-k"], srv.https, "HTTP/2", True),
        ("http/1.1 TLS", ["--http1.1", "-k"], srv.https, "HTTP/1.1", True),
        ("h2c prior knowledge", ["--http2-prior-knowledge"], srv.http, "HTTP/2", False),
        ("http/1.1 cleartext", ["--http1.1"], srv.http, "HTTP/1.1", False),
    ]
    bodies = {}
    for mode, flags, url, proto, tls in modes:
        for path in JSON_PATHS:
            label = "%s %s" % (mode, path)
            r = curl(*flags, url(path))
            check("%s: 200 over %s" % (label, proto), r.status == 200 and r.proto == proto, r.describe())
            check_headers(label, r, tls)
            doc = r.json()
            check("%s: body is JSON" % label, doc is not None, r.describe())
            bodies.setdefault(path, []).append((label, doc))

    for label, doc in bodies["/.well-known/openid-configuration"]:
        if doc is not None:
            check_discovery(label, doc, srv)
    for label, doc in bodies["/jwks.json"]:
        if doc is not None:
            check_jwks(label, doc)
    # Every protocol serves the same documents.
    for path, lst in bodies.items():
        docs = [json.dumps(d, sort_keys=True) for _, d in lst if d is not None]
        check("%s identical over every protocol" % path, len(set(docs)) == 1, "\n".join(docs))

    # nghttp: ALPN h2 over TLS and h2c prior knowledge (nghttp's default for http://).
    for label, url, proto in (("nghttp TLS", srv.https, "h2"), ("nghttp h2c", srv.http, None)):
        for path in JSON_PATHS:
            n = nghttp(url(path))
            check("%s %s: status 200" % (label, path), n.rc == 0 and n.status == 200, repr(n) + "\n" + n.out[-1500:])
            if proto:
                check_eq("%s %s: negotiated protocol" % (label, path), n.protocol, proto)
            ct = (n.header("content-type") or "").split(";")[0].strip()
            check_eq("%s %s: content-type" % (label, path), ct, "application/json")

    # Content coding (RFC 9110 §8.4, §12.5.3): a client that takes gzip gets
    # the gzip form, which inflates to the very body others get; one that
    # does not offer it, or refuses it with q=0, gets the body as it is; both
    # answers say Vary: Accept-Encoding so a cache keeps them apart.
    for path in JSON_PATHS:
        plain = curl("-k", "--http2", srv.https(path))
        for offer, want_gzip in (("gzip, deflate, br", True), ("br;q=1, *;q=0.5", True),
                                 ("gzip;q=0, *", False), ("identity", False), (None, False)):
            args = ["-k", "--http2"] + (["-H", "accept-encoding: " + offer] if offer is not None else [])
            r = curl(*(args + [srv.https(path)]))
            label = "%s with Accept-Encoding %r" % (path, offer)
            check_eq("%s: status" % label, r.status, 200)
            check_eq("%s: Vary" % label, (r.header("vary") or "").lower(), "accept-encoding")
            check_eq("%s: Content-Encoding" % label, r.header("content-encoding"), "gzip" if want_gzip else None)
            check_eq("%s: Content-Length is the bytes sent" % label, r.header("content-length"), str(len(r.body)))
            body = r.body
            if want_gzip:
                check("%s: the gzip form is smaller" % label, len(body) < len(plain.body),
                      "%d >= %d" % (len(body), len(plain.body)))
                try:
                    body = gzip.decompress(body)
                except OSError as e:
                    body = b"not gzip: %r" % e
            check("%s: the same document" % label, body == plain.body and len(body) > 100, body[:200])
        # HTTP/1.1 too, and HEAD names the gzip form's length.
        r = curl("--http1.1", "-H", "accept-encoding: gzip", srv.http(path))
        h = curl("--http1.1", "-I", "-H", "accept-encoding: gzip", srv.http(path))
        check("%s HTTP/1.1 gzip: inflates to the document" % path,
              r.header("content-encoding") == "gzip" and gzip.decompress(r.body) == plain.body, r.describe())
        check_eq("%s HEAD with gzip: Content-Length of the gzip form" % path, h.header("content-length"),
                 str(len(r.body)))

    # HEAD-less sanity: a JWKS fetched twice names the same keys (cached, stable).
    a = curl("--http1.1", srv.http("/jwks.json")).json() or {}
    b = curl("--http1.1", srv.http("/jwks.json")).json() or {}
    check("jwks stable between two fetches", a == b and a != {}, "%r\n%r" % (a, b))

    srv.stop()


if __name__ == "__main__":
    run(main)
