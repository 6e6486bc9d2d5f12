"""HTTP/1.1 request framing that two parsers could read two ways is refused,
and the connection closed, so nothing pipelined behind it is answered.

RFC 9112 §6.1: "A server MAY reject a request that contains both
Content-Length and Transfer-Encoding or process such a request in accordance
with the Transfer-Encoding alone. Regardless, the server MUST close the
connection after responding to such a request to avoid the potential
attacks." §6.3 (5): Content-Length fields with differing values make the
framing invalid; "the server MUST respond with a 400 (Bad Request) status
code and then close the connection." h2o 2.2.5 took the chunked body, or the
first length, and kept reading requests on the connection: behind a proxy
that framed by the other reading, the bytes after the body were a second,
smuggled request. gateway/http1_framing.c turns such a head into a parse
error, which h2o answers with its own 400 and a closed connection. Well-formed framing (chunked alone, one length, a length
repeated with the same value) keeps working on a kept-alive connection.
RFC 9112 §3.2: an HTTP/1.1 request without Host, or any with two, gets 400."""

import re

from harness import check, check_eq, raw_http, raw_status, run

FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"
NEXT = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def statuses(data):
    return [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3})", data)]


def main(env):
    srv = env.regain()

    refused = (
        ("Content-Length and Transfer-Encoding: chunked",
         b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("Transfer-Encoding: chunked then Content-Length",
         b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
        ("two Content-Length fields that differ",
         b"Content-Length: 4\r\nContent-Length: 9\r\n\r\na=bcGET /x"),
    )
    for label, head_and_body in refused:
        got = raw_http(srv.port, b"POST /token HTTP/1.1\r\nHost: x\r\n" + FORM + head_and_body + NEXT)
        check_eq("%s: one answer, 400" % label, statuses(got), [400])
        head = got.split(b"\r\n\r\n", 1)[0]
        check("%s: the answer closes the connection" % label, b"\r\nConnection: close" in head, got[:400])
        check("%s: nothing reached /token" % label, b"grant_type" not in got, got[:600])

    fine = (
        ("chunked alone", b"Transfer-Encoding: chunked\r\n\r\n4\r\na=bc\r\n0\r\n\r\n"),
        ("one Content-Length", b"Content-Length: 4\r\n\r\na=bc"),
        ("Content-Length repeated with the same value", b"Content-Length: 4\r\nContent-Length: 4\r\n\r\na=bc"),
    )
    for label, head_and_body in fine:
        got = raw_http(srv.port, b"POST /token HTTP/1.1\r\nHost: x\r\n" + FORM + head_and_body + NEXT)
        # /token answers this form 400 (no grant_type): the body reached it.
        check_eq("%s: both requests answered on one connection" % label, statuses(got), [400, 200])
        check("%s: the body reached /token" % label, b"grant_type is required" in got, got[:600])

    # RFC 9112 §3.2: an HTTP/1.1 request without Host, or any with two, gets 400.
    for label, req in (("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"),
                       ("two Host fields", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + NEXT)):
        got = raw_http(srv.port, req)
        check_eq("%s: one answer, 400" % label, statuses(got), [400])
    for label, req in (("HTTP/1.1 with one Host", b"GET /healthz HTTP/1.1\r\nhost: a\r\nConnection: close\r\n\r\n"),
                       ("HTTP/1.0 without Host", b"GET /healthz HTTP/1.0\r\n\r\n")):
        got = raw_http(srv.port, req)
        check("%s: 200" % label, raw_status(got) == 200, got[:300])

    check("server still alive", srv.alive())
    srv.stop()


if __name__ == "__main__":
    run(main)
