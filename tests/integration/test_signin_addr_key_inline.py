"""A password sign-in from an IPv4 address keys its address counter without
calling PL/pgSQL: its statements name client_addr_key_inline (schema/038),
an SQL function the planner inlines, which tests for a dotted quad itself
and leaves only other addresses to client_addr_key (schema/016, 036), whose
key it must equal.

PostgreSQL counts the calls of each function (track_functions, set for this
test's database before regain connects). IPv4 sign-ins, wrong and right,
from 127.0.0.x: the counters are keyed by the address and the function was
never called. Then one sign-in over IPv6 (::1): the function is called, so
the count can move, and the counter's key is the function's ('::/64')."""

import time

from authorize_browser import Browser, authorize_params, pkce, setup_fixtures
from harness import check, check_eq, free_port, psql, require, run


def main(env):
    srv = env.regain({"oidc": {"throttle_max_failures": 50, "throttle_addr_max_failures": 50}}, start=False)
    port6 = free_port()
    srv.config["listen"].append({"address": "::1", "port": port6,
                                 "tls": {"certificate_file": "../cert.pem", "key_file": "../key.pem"}})
    srv.write_config()
    rc, _, err = psql(env.db_url, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET track_functions = ''pl''', "
                                  "current_database()); END $$")
    require("track_functions for this database", rc == 0, err)
    srv.start()
    sql = setup_fixtures(srv, env.db_url)
    _, challenge = pkce()

    def sign_in(br, password):
        page = br.get("/authorize", authorize_params(challenge))
        require("the sign-in page", page.status == 200, page)
        return br.sign_in(page, "alice", password)

    def calls(name):
        rows = sql("select coalesce(sum(calls), 0) from pg_stat_user_functions where funcname = '%s'" % name)
        return int(rows[0][0])

    def published():
        """Stops regain: a backend publishes its function counts when it
        exits (an idle one only within ten seconds). Waits for the exits."""
        srv.stop()
        deadline = time.time() + 20
        while time.time() < deadline and sql(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and backend_type = 'client backend' and pid <> pg_backend_pid()") != [["0"]]:
            time.sleep(0.1)

    for src in ("127.0.0.41", "127.0.0.42"):
        br = Browser(srv, src)
        check_eq("wrong password from %s: the page again" % src, sign_in(br, "guess").status, 200)
        check_eq("right password from %s: signed in" % src, sign_in(br, "wonderland 1").status, 303)
    rows = sql("select key, failures from login_throttle where key like 'addr:%' order by key")
    check_eq("the IPv4 counters are keyed by the address, each attempt forgiven after the right password", rows,
             [["addr:127.0.0.41", "1"], ["addr:127.0.0.42", "1"]])
    published()
    check("the sign-ins' function counts are published (audit_append, PL/pgSQL, ran for each right password)",
          calls("audit_append") >= 2, calls("audit_append"))
    check_eq("IPv4 sign-ins called client_addr_key 0 times", calls("client_addr_key"), 0)

    srv.start()
    br = Browser(srv, "::1", host="::1", port=port6)
    check_eq("right password over IPv6: signed in", sign_in(br, "wonderland 1").status, 303)
    published()
    check("an IPv6 sign-in calls client_addr_key (the attempt and its forgiveness)", calls("client_addr_key") >= 2,
          calls("client_addr_key"))
    rows = sql("select key, key = 'addr:' || client_addr_key('::1') from login_throttle where key like 'addr:%:%'")
    check_eq("... and keys its counter by the function's key", rows, [["addr:::/64", "t"]])

    # The same key as client_addr_key for any text, near-misses of a dotted
    # quad included (those go to the function). Last: these calls count.
    inputs = ["127.0.0.1", "0.0.0.0", "255.255.255.255", "01.2.3.4", "256.1.1.1", "1.2.3", "1.2.3.4.5",
              " 1.2.3.4", "1.2.3.4/32", "1.2.3.4\n", "::ffff:1.2.3.4", "::FFFF:10.0.0.1", "2001:db8:1:2:3:4:5:6",
              "::1", "not an address", ""]
    rows = sql("select a, client_addr_key(a), client_addr_key_inline(a) from unnest(array[%s, NULL]) a "
               "where client_addr_key_inline(a) is distinct from client_addr_key(a)"
               % ", ".join("E'%s'" % i.replace("\\", "\\\\").replace("'", "''") for i in inputs))
    check_eq("client_addr_key_inline gives client_addr_key's key for %d inputs and NULL" % len(inputs), rows, [])


if __name__ == "__main__":
    run(main)
