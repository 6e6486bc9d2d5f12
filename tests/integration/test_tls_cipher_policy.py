"""TLS suites: the client's order decides among the allowed ones, and nothing
outside them is accepted (gateway/server.c, tls_context).

Every suite regain allows is a forward-secret AEAD, so the client picks the
one it prefers (Mozilla's "intermediate" profile: no server preference).  The
test offers the same suites in different orders with `openssl s_client` and
reads the suite the handshake settled on; then it offers only suites or
versions that must be refused and checks the handshake fails."""

import re
import subprocess

from harness import check, check_eq, require, run

TLS13 = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
# The harness's certificate is ECDSA (P-256).
TLS12 = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]


def handshake(port, *args):
    """-> (protocol, suite) the server agreed to, or (None, output) when refused."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost",
                        *args], input=b"", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"^New, (TLSv1\.[0-3]), Cipher is (\S+)", out, re.M)
    if p.returncode == 0 and m:
        return m.group(1), m.group(2)
    return None, out[-800:]


def main(env):
    srv = env.regain()
    port = srv.tls_port

    # Sanity: a default client gets TLS 1.3, so the version options below
    # are what changes the outcome.
    proto, _ = handshake(port)
    require("a default client completes a TLS handshake", proto is not None)
    check_eq("a default client gets TLS 1.3", proto, "TLSv1.3")

    # TLS 1.3: each allowed suite wins when the client lists it first, the
    # others following in both orders.
    for first in TLS13:
        for rest in ([s for s in TLS13 if s != first], [s for s in reversed(TLS13) if s != first]):
            offer = ":".join([first] + rest)
            check_eq("TLS 1.3, client offers %s: the client's first choice" % offer,
                     handshake(port, "-tls1_3", "-ciphersuites", offer), ("TLSv1.3", first))

    # TLS 1.2: the same with the ECDHE AEAD suites.
    for first in TLS12:
        for rest in ([s for s in TLS12 if s != first], [s for s in reversed(TLS12) if s != first]):
            offer = ":".join([first] + rest)
            check_eq("TLS 1.2, client offers %s: the client's first choice" % offer,
                     handshake(port, "-tls1_2", "-cipher", offer), ("TLSv1.2", first))

    # A client that lists a suite the server does not allow first still gets
    # its first allowed one, not the refused one.
    check_eq("TLS 1.2, a refused CBC suite listed first is skipped",
             handshake(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:" + TLS12[2] + ":" + TLS12[0]),
             ("TLSv1.2", TLS12[2]))

    # Refused: suites without forward secrecy or without an AEAD, the TLS 1.3
    # CCM suites, and protocol versions below 1.2.
    refused = [
        ("TLS 1.2 CBC suite ECDHE-ECDSA-AES128-SHA", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"]),
        ("TLS 1.2 CBC suite ECDHE-ECDSA-AES256-SHA384", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384"]),
        ("TLS 1.2 static-RSA suite AES128-GCM-SHA256", ["-tls1_2", "-cipher", "AES128-GCM-SHA256"]),
        ("TLS 1.3 TLS_AES_128_CCM_SHA256", ["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"]),
        ("TLS 1.3 TLS_AES_128_CCM_8_SHA256", ["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_8_SHA256"]),
        ("TLS 1.1", ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]),
        ("TLS 1.0", ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]),
    ]
    for label, args in refused:
        proto, detail = handshake(port, *args)
        check("%s is refused" % label, proto is None, "negotiated %s %s" % (proto, detail))

    srv.stop()


if __name__ == "__main__":
    run(main)
