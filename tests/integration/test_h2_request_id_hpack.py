"""HTTP/2 responses carry their request id without filling the HPACK table.

h2o 2.2.5 indexes every response header it encodes; a value that is new on
every response (the request id) then fills the connection's dynamic table with
entries nobody reuses and pushes out the headers that never change
(gateway/hpack_unique.c).  This test speaks HTTP/2 itself, over h2c and over
TLS with ALPN h2, sends many requests on one connection, and decodes every
response header block in order with the `hpack` package, so it sees what a
client's decoder holds afterwards:
  - every response has status 200 and its own x-request-id;
  - no request id ever entered the client's dynamic table;
  - the unchanging headers are still indexed (they are in the table, and the
    later header blocks are short because they refer to it);
  - a request id sent by the client is echoed the same way."""

import socket
import ssl

from h2_raw import H2
from harness import check, check_eq, require, run

REQUESTS = 120  # several times the 32 entries h2o's encoder table holds
BATCH = 20


def table_names(decoder):
    return [name.decode() if isinstance(name, bytes) else name
            for name, _ in decoder.header_table.dynamic_entries]


def exercise(label, sock, authority, scheme, path):
    c = H2(sock, authority, scheme)
    answers = []
    for b in range(REQUESTS // BATCH):
        answers += c.get_many(path, 1 + 2 * BATCH * b, BATCH)
    statuses = sorted({a.get(":status") for a in answers})
    check_eq("%s: %d answers, all 200" % (label, REQUESTS), statuses, ["200"])
    ids = [a.get("x-request-id") for a in answers]
    check("%s: every answer has an x-request-id" % label, all(ids), repr(ids[:5]))
    check_eq("%s: the request ids are all different" % label, len(set(ids)), REQUESTS)
    names = table_names(c.decoder)
    check("%s: no request id entered the client's HPACK table" % label,
          "x-request-id" not in names,
          "%d of %d entries are x-request-id" % (names.count("x-request-id"), len(names)))
    check("%s: the unchanging headers are indexed" % label,
          "x-content-type-options" in names and "content-type" in names, repr(names))
    # Once the table holds the unchanging headers, a header block is the
    # indexed references plus the id literal: short, and no block re-sends
    # the unchanging headers (a churned table re-sent them again and again).
    # The one header that may still come as a new literal is `date`, when a
    # second has passed since the block before (h2o indexes each new value).
    sizes, dates = c.block_sizes, c.block_dates
    long_blocks = [i for i in range(2, len(sizes)) if sizes[i] > 64]
    check("%s: later header blocks stay short (no re-sent literals)" % label,
          len(sizes) > 2 and all(dates[i] != dates[i - 1] for i in long_blocks),
          "long blocks %r of sizes %r" % (long_blocks, sizes[:40]))

    # A client's own id (a proxy's) is kept and sent back the same way.
    mine = "proxy-id-0123456789"
    echoed = c.get_many(path, 1 + 2 * REQUESTS, 2, extra=[("x-request-id", mine)])
    check_eq("%s: the client's request id is echoed" % label,
             [a.get("x-request-id") for a in echoed], [mine, mine])
    names = table_names(c.decoder)
    check("%s: the echoed id did not enter the table either" % label,
          "x-request-id" not in names,
          "%d of %d entries are x-request-id" % (names.count("x-request-id"), len(names)))
    sock.close()


def main(env):
    srv = env.regain()
    for path in ("/.well-known/openid-configuration", "/jwks.json"):
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        exercise("h2c %s" % path, sock, "127.0.0.1:%d" % srv.port, "http", path)

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", srv.tls_port), timeout=10)
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
        require("h2 %s: ALPN selected h2" % path, tls.selected_alpn_protocol() == "h2",
                repr(tls.selected_alpn_protocol()))
        exercise("h2 %s" % path, tls, "localhost:%d" % srv.tls_port, "https", path)
    srv.stop()


if __name__ == "__main__":
    run(main)
