"""schema/036: client_addr_key() and audit_append() take a dotted-quad IPv4
address without a PL/pgSQL subtransaction, and must answer exactly as the
old bodies did for every input, or throttle counters would split and the
expression index on recovery_attempts would hold stale keys.

client_addr_key() is checked against its schema/016 body (read from that
file, created as a temporary function) for addresses near every edge of the
fast path's pattern (octet bounds, leading zeros, masks, IPv4-mapped and
plain IPv6, garbage, empty, NULL) and a few hundred random IPv4 addresses;
the recovery query still finds its index; a database with recovery attempts
survives pg_dump and a restore (which runs with an empty search_path, and
evaluates the index's function for every row); audit_append() keeps a
parsable address as inet and an unparsable one (including the empty string)
as detail.client_addr_text."""

import os
import random
import re

from harness import ROOT, check, check_eq, psql, require, run, sh


EDGE_INPUTS = [
    "0.0.0.0", "255.255.255.255", "10.0.0.1", "127.0.0.1", "192.168.1.254", "9.99.199.249",
    "256.1.1.1", "1.2.3.256", "01.2.3.4", "1.02.3.4", "1.2.3.004", "00.0.0.0", "1.2.3", "1.2.3.4.5",
    "1.2.3.4/24", "1.2.3.4/32", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n", "1..2.3", "-1.2.3.4", "+1.2.3.4",
    "1.2.3.4a", "a1.2.3.4", "\u0661.2.3.4", "::ffff:1.2.3.4", "::FFFF:10.0.0.1", "::1",
    "2001:db8:1:2:3:4:5:6", "2001:DB8::1", "fe80::1%lo", "::", "bad", "", "x" * 300,
]


def lit(s):
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


def main(env):
    srv = env.regain(start=False)
    srv.migrate()
    url = env.db_url

    rnd = random.Random(36)
    inputs = EDGE_INPUTS + [None] + [".".join(str(rnd.randrange(256)) for _ in range(4)) for _ in range(300)]
    values = ", ".join("(%d, %s)" % (i, lit(s)) for i, s in enumerate(inputs))
    with open(os.path.join(ROOT, "schema", "016_methods_tap_polish.sql")) as f:
        body = re.search(r"CREATE FUNCTION client_addr_key\(.*?END \$\$;", f.read(), re.S)
    require("schema/016 defines client_addr_key", body is not None, "")
    reference = body.group(0).replace("FUNCTION client_addr_key(", "FUNCTION pg_temp.addr_key_016(", 1)
    rc, rows, err = psql(url, reference + " SELECT count(*), coalesce(string_agg(i::text, ',' ORDER BY i) FILTER "
                              "(WHERE client_addr_key(a) IS DISTINCT FROM pg_temp.addr_key_016(a)), '') "
                              "FROM (VALUES %s) v (i, a)" % values)
    require("client_addr_key over %d inputs" % len(inputs), rc == 0 and rows and rows[0][0] == str(len(inputs)),
            err or rows)
    differ = [inputs[int(i)] for i in rows[0][1].split(",") if i]
    check_eq("client_addr_key gives the old body's key for every input", differ, [])
    named = [a for a in inputs[:len(EDGE_INPUTS)] if "\n" not in a]
    rc, rows, err = psql(url, "SELECT i, client_addr_key(a) FROM (VALUES %s) v (i, a) ORDER BY i"
                         % ", ".join("(%d, %s)" % (i, lit(a)) for i, a in enumerate(named)))
    require("the keys of the edge inputs", rc == 0 and len(rows) == len(named), err)
    keys = dict((named[int(i)], key) for i, key in rows)
    check_eq("an IPv4 address is its own key", keys["192.168.1.254"], "192.168.1.254")
    check_eq("an IPv4-mapped address counts as its IPv4 address", keys["::ffff:1.2.3.4"], "1.2.3.4")
    check_eq("an IPv6 address counts by its /64", keys["2001:db8:1:2:3:4:5:6"], "2001:db8:1:2::/64")
    check_eq("an unparsable address is kept as given", keys["256.1.1.1"], "256.1.1.1")

    # The recovery per-address limit (schema/031) looks attempts up by the
    # key of their address: its index must be on the function it calls.
    rc, rows, err = psql(url, "SET enable_seqscan = off; EXPLAIN SELECT count(*) FROM recovery_attempts "
                              "WHERE client_addr_key(client_addr) = client_addr_key('10.1.2.3') "
                              "AND created_at > now() - interval '1 hour'")
    plan = "\n".join(r[0] for r in rows)
    check("the recovery lookup by address key uses recovery_attempts_addr_key",
          rc == 0 and "recovery_attempts_addr_key" in plan, plan or err)

    # pg_dump, then a restore into an empty database: the index on
    # recovery_attempts is built again over the rows.
    rc, _, err = psql(url, "INSERT INTO recovery_attempts (state, provider_id, expires_at, client_addr) "
                           "SELECT 'started', 'dev', now() + interval '1 hour', a "
                           "FROM unnest(ARRAY['10.1.2.3', '2001:db8::5', '::ffff:10.9.8.7', 'junk']) a")
    require("recovery attempts planted", rc == 0, err)
    dump = sh(["pg_dump", "--no-owner", url], timeout=60)
    require("pg_dump", dump.returncode == 0, dump.stderr[-1500:])
    copy_url = env.new_database("restored")
    restore = sh(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", copy_url], timeout=120, input=dump.stdout)
    check("the dump restores without an error", restore.returncode == 0, restore.stderr[-1500:])
    rc, rows, err = psql(copy_url, "SELECT count(*) FROM recovery_attempts WHERE client_addr_key(client_addr) "
                                   "IN ('10.1.2.3', '2001:db8::/64', '10.9.8.7', 'junk')")
    check_eq("the restored attempts and their keys", rows[0][0] if rc == 0 and rows else err, "4")

    cases = [("10.20.30.40", "10.20.30.40", None), ("2001:db8::7", "2001:db8::7", None),
             ("300.1.1.1", None, "300.1.1.1"), ("", None, ""), (None, None, None)]
    for addr, want_inet, want_text in cases:
        rc, rows, err = psql(url, "SELECT audit_append('method.used', 'cli', NULL, %s, NULL, 'success', NULL, "
                                  "jsonb_build_object('kind', 'test'))" % lit(addr))
        require("audit_append(%r) records an event" % addr, rc == 0 and len(rows) == 1, err)
        rc, rows, err = psql(url, "SELECT coalesce(host(client_addr), '<null>'), "
                                  "coalesce(detail->>'client_addr_text', '<none>'), detail->>'kind' "
                                  "FROM audit_events WHERE id = %d" % int(rows[0][0]))
        require("audit_append with address %r" % addr, rc == 0 and len(rows) == 1, err)
        check_eq("audit_append(%r): the event's address, its kept text, its detail" % addr, rows[0],
                 [want_inet or "<null>", "<none>" if want_text is None else want_text, "test"])


if __name__ == "__main__":
    run(main)
