"""Malformed, oversized and misrouted requests get clean HTTP errors.

404 with a JSON error body, 405 with Allow, 413 for bodies over
server.max_request_body_bytes (HTTP/1.1; HTTP/2 may reset the stream), a 4xx
for over-long URLs and headers, keep-alive kept after a 404, and the server
stays up through all of it."""

import os
import re

from harness import check, check_eq, curl, raw_http, raw_status, run, sh

LIMIT = 4096  # server.max_request_body_bytes for this file


def healthy(srv, label):
    r = curl("--http1.1", srv.http("/healthz"))
    check("server still healthy after %s" % label, r.status == 200 and srv.alive(), r.describe())


def check_json_error(label, r, status):
    check_eq("%s: status" % label, r.status, status)
    doc = r.json()
    check("%s: JSON body with an error member" % label,
          isinstance(doc, dict) and isinstance(doc.get("error"), str) and doc["error"] != "", r.describe())
    ct = (r.header("content-type") or "").split(";")[0].strip()
    check_eq("%s: content-type" % label, ct, "application/json")


def main(env):
    srv = env.regain({"server": {"max_request_body_bytes": LIMIT}})

    # ---- unknown routes
    for flags, url, proto in ((["--http1.1"], srv.http, "h1"), (["--http2", "-k"], srv.https, "h2"),
                              (["--http2-prior-knowledge"], srv.http, "h2c")):
        for path in ("/nope", "/.well-known/nope", "/jwks.json/extra", "/%2e%2e/etc/passwd"):
            r = curl(*flags, url(path))
            check_json_error("%s GET %s" % (proto, path), r, 404)
            check("%s GET %s: x-request-id" % (proto, path), bool(r.header("x-request-id")), r.describe())

    # ---- wrong methods
    for method, path, allowed in (("POST", "/jwks.json", "GET"),
                                  ("DELETE", "/.well-known/openid-configuration", "GET"),
                                  ("PUT", "/healthz", "GET")):
        for flags, url, proto in ((["--http1.1"], srv.http, "h1"), (["--http2", "-k"], srv.https, "h2")):
            r = curl(*flags, "-X", method, url(path))
            label = "%s %s %s" % (proto, method, path)
            check_json_error(label, r, 405)
            allow = r.header("allow") or ""
            toks = [t.strip().upper() for t in allow.split(",")]
            check("%s: Allow header lists %s" % (label, allowed), allowed in toks, r.describe())
            check("%s: Allow does not list %s" % (label, method), method not in toks, r.describe())
            check_eq("%s: Allow exactly" % label, allow, "GET, HEAD")

    # ---- oversized bodies
    big = os.path.join(env.dir, "big.bin")
    with open(big, "wb") as f:
        f.write(b"a" * (LIMIT * 4))
    small = os.path.join(env.dir, "small.bin")
    with open(small, "wb") as f:
        f.write(b"a" * 16)
    r = curl("--http1.1", "-X", "POST", "-H", "content-type: application/octet-stream",
             "--data-binary", "@" + big, srv.http("/jwks.json"))
    check_eq("h1 POST body over the limit: 413", r.status, 413)
    healthy(srv, "h1 413")
    r = curl("--http1.1", "-X", "POST", "-H", "transfer-encoding: chunked",
             "--data-binary", "@" + big, srv.http("/jwks.json"))
    check_eq("h1 chunked POST body over the limit: 413", r.status, 413)
    healthy(srv, "h1 chunked 413")
    r = curl("--http1.1", "-X", "POST", "--data-binary", "@" + small, srv.http("/jwks.json"))
    check_eq("h1 POST small body to GET-only route: still 405", r.status, 405)
    for flags, url, proto in ((["--http2", "-k"], srv.https, "h2"), (["--http2-prior-knowledge"], srv.http, "h2c")):
        r = curl(*flags, "-X", "POST", "--data-binary", "@" + big, url("/jwks.json"))
        reset = r.status == 0 and r.rc in (16, 18, 52, 55, 56, 92)
        check("%s POST body over the limit: 413 or stream reset" % proto, r.status == 413 or reset, r.describe())
        healthy(srv, "%s oversized body" % proto)

    # ---- over-long URL and header
    long_path = "/jwks.json?x=" + "a" * 70000
    for flags, url, proto in ((["--http1.1"], srv.http, "h1"), (["--http2-prior-knowledge"], srv.http, "h2c"),
                              (["--http2", "-k"], srv.https, "h2")):
        r = curl(*flags, url(long_path))
        ok = 400 <= r.status < 500 or (proto != "h1" and r.status == 0 and r.rc in (16, 52, 55, 56, 92))
        check("%s 70 kB URL: clean 4xx (got %s)" % (proto, r.status or "no response"), ok, r.describe())
        healthy(srv, "%s long URL" % proto)
        r = curl(*flags, "-H", "x-big: " + "b" * 70000, url("/jwks.json"))
        ok = 400 <= r.status < 500 or (proto != "h1" and r.status == 0 and r.rc in (16, 52, 55, 56, 92))
        check("%s 70 kB header: clean 4xx (got %s)" % (proto, r.status or "no response"), ok, r.describe())
        healthy(srv, "%s long header" % proto)
    # Far beyond anything h2o buffers for a request head: must still be clean.
    # (too long for a command line: written on a raw socket)
    got = raw_http(srv.port, b"GET /jwks.json?x=" + b"a" * 600000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    check("h1 600 kB URL: clean 4xx (got %s)" % (raw_status(got) or "no response"),
          400 <= raw_status(got) < 500, repr(got[:300]))
    healthy(srv, "h1 600 kB URL")

    # ---- garbage on the wire
    got = raw_http(srv.port, b"BLAH\r\n\r\n")
    check_eq("garbage request line: 400 answer", raw_status(got), 400)
    healthy(srv, "garbage request line")

    # ---- keep-alive after a 404 (HTTP/1.1): two requests, one connection
    p = sh(["curl", "-sS", "-v", "--http1.1", "--max-time", "10", "-o", "/dev/null", "-o", "/dev/null",
            srv.http("/nope"), srv.http("/healthz")], timeout=30)
    statuses = re.findall(r"< HTTP/1\.1 (\d{3})", p.stderr)
    check_eq("keep-alive: statuses of 404 then 200", statuses, ["404", "200"])
    check("keep-alive: connection re-used after the 404", "Re-using existing connection" in p.stderr,
          p.stderr[-1500:])
    check("keep-alive: no Connection: close on the 404",
          not re.search(r"< connection: close", p.stderr, re.I), p.stderr[-1500:])
    p = sh(["curl", "-sS", "-v", "--http1.1", "--max-time", "10", "-o", "/dev/null", "-o", "/dev/null",
            "-X", "DELETE", srv.http("/jwks.json"), srv.http("/healthz")], timeout=30)
    check("keep-alive: connection re-used after a 405", "Re-using existing connection" in p.stderr,
          p.stderr[-1500:])

    healthy(srv, "all bad requests")
    srv.stop()


if __name__ == "__main__":
    run(main)
