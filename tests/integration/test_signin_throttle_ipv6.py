"""The per-address counter of password sign-in counts an IPv6 client by its
/64 (client_addr_key, schema/016), as the passkey, TAP and recovery limits
do. Counted by the exact address, a client holding one /64 had 2^64 fresh
counters, so the address limit never stopped it spraying guesses across
accounts (each account's own limit still applied).

Real sign-ins over TLS from several source addresses of one /64: the test
gives the loopback interface a few addresses of a random documentation
prefix (2001:db8::/32), which needs root (CI runs as root; elsewhere the test
is skipped), and removes them at the end. regain listens on ::1 as well.
After the address limit of wrong guesses, each from a new address and for a
new name, the right password of a real account is refused from yet another
address of that /64 (one counter, now locked), and accepted from another /64."""

import os
import shutil
import subprocess

from authorize_browser import Browser, authorize_params, pkce, setup_fixtures
from harness import check, check_eq, free_port, psql, require, run, skip

ADDR_MAX = 4


def ip(*args):
    return subprocess.run(["ip", "-6"] + list(args), capture_output=True, text=True)


def main(env):
    if os.geteuid() != 0 or shutil.which("ip") is None:
        skip("password throttle by IPv6 /64", "needs root and iproute2 to add loopback addresses")
        return
    a, b = os.urandom(2).hex(), os.urandom(2).hex()
    prefix, other = "2001:db8:%s:%s:" % (a, b), "2001:db8:%s:%x:" % (a, (int(b, 16) + 1) % 65536)
    addrs = ["%s:%x" % (prefix, i + 1) for i in range(ADDR_MAX + 2)] + [other + ":1"]
    added = []
    try:
        for addr in addrs:
            p = ip("addr", "add", addr + "/128", "dev", "lo", "nodad")
            require("ip -6 addr add %s" % addr, p.returncode == 0, p.stderr)
            added.append(addr)
        scenario(env, addrs[:ADDR_MAX + 2], addrs[-1])
    finally:
        for addr in added:
            ip("addr", "del", addr + "/128", "dev", "lo")


def scenario(env, same64, other64):
    srv = env.regain({"oidc": {"throttle_max_failures": 50, "throttle_addr_max_failures": ADDR_MAX,
                               "throttle_window_s": 600, "throttle_lockout_s": 600}}, start=False)
    port6 = free_port()
    srv.config["listen"].append({"address": "::1", "port": port6,
                                 "tls": {"certificate_file": "../cert.pem", "key_file": "../key.pem"}})
    srv.write_config()
    srv.start()
    setup_fixtures(srv, env.db_url)
    _, challenge = pkce()

    def attempt(src, username, password):
        br = Browser(srv, src, host="::1", port=port6)
        page = br.get("/authorize", authorize_params(challenge))
        require("the sign-in page from %s" % src, page.status == 200, page)
        return br.sign_in(page, username, password)

    for i, src in enumerate(same64[:ADDR_MAX]):
        r = attempt(src, "nobody-%d" % i, "guess")
        check_eq("wrong guess %d from %s: refused" % (i + 1, src), r.status, 200)
    r = attempt(same64[ADDR_MAX], "alice", "wonderland 1")
    check("the right password from another address of that /64: refused (throttled)",
          r.status == 200 and "Sign-in failed" in r.text, r)
    rc, rows, err = psql(env.db_url, "select key, failures, locked_until > now() from login_throttle "
                                     "where key like 'addr:2001:db8:%%' and key = 'addr:' || client_addr_key('%s')"
                         % same64[0])
    require("login_throttle read", rc == 0, err)
    check_eq("one counter for the /64: %d guesses and that attempt, locked" % ADDR_MAX, [row[1:] for row in rows],
             [[str(ADDR_MAX + 1), "t"]])
    check("... keyed by the /64", rows and rows[0][0].endswith("::/64"), rows)
    r = attempt(other64, "alice", "wonderland 1")
    check_eq("the right password from another /64: signed in", r.status, 303)


if __name__ == "__main__":
    run(main)
