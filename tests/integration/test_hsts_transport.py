"""Strict-Transport-Security follows the connection, not the request's scheme.

RFC 6797 §7.2: "An HSTS Host MUST NOT include the STS header field in HTTP
responses conveyed over non-secure transport."  Over h2c the request's scheme
is whatever the client puts in :scheme (h2o 2.2.5 copies it into the
request), so this test speaks HTTP/2 itself (h2_raw.py) to say otherwise:
  - h2c (cleartext, prior knowledge) with :scheme https: no HSTS;
  - h2c with :scheme http: no HSTS;
  - h2 over TLS with :scheme https: HSTS;
  - h2 over TLS with :scheme http: HSTS all the same (the transport is secure);
  - HTTP/1.1 (curl), cleartext and TLS: none and HSTS."""

import socket
import ssl

from h2_raw import H2
from harness import check, check_eq, curl, require, run

PATH = "/.well-known/openid-configuration"


def h2_headers(sock, authority, scheme):
    """The response header fields of one GET on a fresh connection."""
    c = H2(sock, authority, scheme)
    answers = c.get_many(PATH, 1, 1)
    sock.close()
    return {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in answers[0].items()}


def tls_socket(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    tls = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    require("TLS: ALPN selected h2", tls.selected_alpn_protocol() == "h2", repr(tls.selected_alpn_protocol()))
    return tls


def main(env):
    srv = env.regain()
    clear = "127.0.0.1:%d" % srv.port
    secure = "localhost:%d" % srv.tls_port

    for scheme in ("https", "http"):
        h = h2_headers(socket.create_connection(("127.0.0.1", srv.port), timeout=10), clear, scheme)
        check_eq("h2c, :scheme %s: 200" % scheme, h.get(":status"), "200")
        check("h2c, :scheme %s: no strict-transport-security (cleartext)" % scheme,
              "strict-transport-security" not in h, repr(h))

    for scheme in ("https", "http"):
        h = h2_headers(tls_socket(srv.tls_port), secure, scheme)
        check_eq("h2 over TLS, :scheme %s: 200" % scheme, h.get(":status"), "200")
        check_eq("h2 over TLS, :scheme %s: strict-transport-security" % scheme,
                 h.get("strict-transport-security"), "max-age=63072000; includeSubDomains")

    r = curl("--http1.1", srv.http(PATH))
    check("HTTP/1.1 cleartext: 200, no strict-transport-security",
          r.status == 200 and r.header("strict-transport-security") is None, r.describe())
    r = curl("--http1.1", "-k", srv.https(PATH))
    check_eq("HTTP/1.1 over TLS: strict-transport-security", r.header("strict-transport-security"),
             "max-age=63072000; includeSubDomains")
    srv.stop()


if __name__ == "__main__":
    run(main)
