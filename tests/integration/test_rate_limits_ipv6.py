"""The per-address limits of TAP sign-in (tap_redeem) and of recovery starts
(recovery_start) count an IPv6 client by its /64, as the passkey challenge
limit does (schema/016: client_addr_key, "an IPv6 address by its /64, which
one customer usually holds whole"). Counted by the exact address, a client
with one /64 had 2^64 addresses to rotate through, so the address lockout
of wrong TAPs and the recovery start limit never applied to it.

The functions are called as regain calls them (the address as gw_req_peer
writes it), against the migrated database: one loopback cannot show 2^64
source addresses. IPv4 and other /64s keep their own counters."""

import os

from harness import check_eq, psql, require, run

WINDOW, ADDR_MAX, LOCKOUT = 300, 5, 900


def main(env):
    srv = env.regain()
    db = env.db_url

    def sql(q):
        rc, rows, err = psql(db, q)
        require("SQL ok: %s" % q[:70], rc == 0, err)
        return rows

    def wrong_tap(addr):
        return sql("select o_status from tap_redeem('\\x%s'::bytea, NULL, '%s', 'ipv6-test', '\\x%s'::bytea, "
                   "3600, 600, %d, %d, %d)" % (os.urandom(32).hex(), addr, os.urandom(32).hex(), WINDOW,
                                               ADDR_MAX, LOCKOUT))[0][0]

    # ---- TAP guesses -------------------------------------------------------------------
    got = [wrong_tap("2001:db8:1:2::%x" % (i + 1)) for i in range(ADDR_MAX + 3)]
    check_eq("wrong TAPs from %d addresses of one /64: locked after %d" % (len(got), ADDR_MAX), got,
             ["invalid"] * ADDR_MAX + ["throttled"] * 3)
    check_eq("... another address of that /64 is locked too", wrong_tap("2001:db8:1:2:ffff:ffff:ffff:fffe"),
             "throttled")
    check_eq("... another /64 is not", wrong_tap("2001:db8:1:3::1"), "invalid")
    got = [wrong_tap("192.0.2.7") for _ in range(ADDR_MAX + 1)]
    check_eq("IPv4: one address, locked after %d as before" % ADDR_MAX, got, ["invalid"] * ADDR_MAX + ["throttled"])
    check_eq("... its neighbour is not", wrong_tap("192.0.2.8"), "invalid")
    check_eq("IPv4-mapped IPv6 counts as the IPv4 address", wrong_tap("::ffff:192.0.2.7"), "throttled")

    # ---- recovery starts -----------------------------------------------------------------
    def start(addr, name):
        return sql("select o_status from recovery_start(NULL, '%s', 'dev', '\\x%s'::bytea, 'n', 'v', 'enabled', "
                   "900, %d, 3, 50, true, false, '%s', 'ipv6-test', NULL)"
                   % (name, os.urandom(32).hex(), WINDOW, addr))[0][0]

    got = [start("2001:db8:9:9::%x" % (i + 1), "name%d" % i) for i in range(5)]
    check_eq("recovery starts from 5 addresses of one /64 naming 5 accounts: 3 go ahead", got,
             ["ok"] * 3 + ["rate_limited"] * 2)
    check_eq("... another /64 starts", start("2001:db8:9:a::1", "other"), "ok")
    srv.stop()


run(main)
