"""The recovery start limits hold against a burst: many attempts started at
the same instant from one address (each its own browser and connection,
released together by a barrier) start at most perAddress.max attempts, and
the same for one typed username from many addresses. A limit that counts
and then inserts without taking turns lets every concurrent start count
the same rows and pass."""

import threading

from harness import SLOW, check, check_eq, run
from recovery_fixture import Browser, Directory, default_policy, field_value

N = 24
MAX = 2


def burst(srv, d, sources, names):
    """Prepares N starts (a request and its form each), then posts them at once."""
    prepared = []
    for i in range(N):
        b = Browser(srv, sources[i])
        rid = d.new_request()
        page = b.get("/recover?request=" + rid)
        prepared.append((b, {"request": rid, "csrf": field_value(page.text, "csrf") or "", "username": names[i],
                             "provider": "dev"}))
    barrier = threading.Barrier(N)
    out = [None] * N

    def go(i):
        b, form = prepared[i]
        barrier.wait(timeout=60 * SLOW)
        try:
            out[i] = b.post("/recover", form).status
        except Exception as e:  # counted as not answered below
            out[i] = repr(e)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120 * SLOW)
    return out


def main(env):
    srv = env.regain({"providers": [{"id": "dev", "type": "dev", "display_name": "Simulated check"}],
                      "server": {"threads": 2}, "database": {"pool_size": 8}})
    d = Directory(env.db_url)
    d.add_group()
    d.add_client()
    d.set_policy(default_policy(["dev"], rateLimits={"perAccount": {"max": 1000, "windowSeconds": 3600},
                                                      "perAddress": {"max": MAX, "windowSeconds": 3600}}))

    def started(where):
        return int(d.sql("SELECT count(*) FROM recovery_attempts WHERE state <> 'rejected' AND %s" % where)[0][0])

    out = burst(srv, d, ["127.0.0.95"] * N, ["burst-%d" % i for i in range(N)])
    check("per address: every start answered", all(o in (200, 303) for o in out), out)
    check_eq("per address: at most %d of %d concurrent starts go ahead" % (MAX, N),
             min(started("client_addr = '127.0.0.95'"), MAX + 1), MAX)

    d.set_policy(default_policy(["dev"], rateLimits={"perAccount": {"max": MAX, "windowSeconds": 3600},
                                                      "perAddress": {"max": 1000, "windowSeconds": 3600}}))
    out = burst(srv, d, ["127.0.1.%d" % (i + 1) for i in range(N)], ["Burst-Name"] * N)
    check("per account: every start answered", all(o in (200, 303) for o in out), out)
    check_eq("per account: at most %d of %d concurrent starts naming one account go ahead" % (MAX, N),
             min(started("lower(named_username) = 'burst-name'"), MAX + 1), MAX)


if __name__ == "__main__":
    run(main)
