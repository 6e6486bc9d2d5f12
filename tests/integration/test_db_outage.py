"""PostgreSQL goes away and comes back: regain degrades, then recovers.

Uses a cluster of its own so the other test files are not affected."""

import time

from harness import check, check_eq, curl, require, run, wait_until, SLOW


def main(env):
    cluster = env.cluster()
    p = cluster.start()
    require("own PostgreSQL cluster started", p.returncode == 0, p.stdout + p.stderr)
    srv = env.regain({"database": {"url": cluster.url("regain"), "query_timeout_ms": 2000}})

    r = curl("--http1.1", srv.http("/readyz"))
    check_eq("/readyz 200 while the database is up", r.status, 200)
    jwks = curl("--http1.1", srv.http("/jwks.json"))
    check_eq("/jwks.json 200 while the database is up", jwks.status, 200)

    p = cluster.stop()
    require("PostgreSQL stopped", p.returncode == 0, p.stdout + p.stderr)

    r = wait_until(lambda: (lambda x: x if x.status == 503 else None)(curl("--http1.1", srv.http("/readyz"))), 10 * SLOW)
    r = r or curl("--http1.1", srv.http("/readyz"))
    check_eq("/readyz 503 with the database down", r.status, 503)
    ra = r.header("retry-after") or ""
    check("/readyz 503 carries Retry-After (seconds)", ra.isdigit(), r.describe())
    check("/readyz 503 body is JSON", isinstance(r.json(), dict), r.describe())
    r2 = curl("--http2", "-k", srv.https("/readyz"))
    check_eq("/readyz 503 over h2 too", r2.status, 503)

    for flags, url in ((["--http1.1"], srv.http), (["--http2", "-k"], srv.https)):
        j = curl(*flags, url("/jwks.json"))
        check_eq("/jwks.json %s 200 from cache with the database down" % flags[0], j.status, 200)
        check("/jwks.json %s same keys as before the outage" % flags[0], j.json() == jwks.json(),
              "%r\n%r" % (j.json(), jwks.json()))
    d = curl("--http1.1", srv.http("/.well-known/openid-configuration"))
    check_eq("discovery 200 with the database down", d.status, 200)
    h = curl("--http1.1", srv.http("/healthz"))
    check_eq("/healthz 200 with the database down (process up)", h.status, 200)
    # Hammer readyz a bit while down: no crash, no hang.
    t0 = time.time()
    codes = [curl("--http1.1", srv.http("/readyz")).status for _ in range(10)]
    check("10 x /readyz while down all 503, quickly", codes == [503] * 10 and time.time() - t0 < 10 * SLOW,
          "%r in %.1fs" % (codes, time.time() - t0))
    check("regain alive during the outage", srv.alive(), srv.stderr()[-2000:])

    p = cluster.start()
    require("PostgreSQL started again", p.returncode == 0, p.stdout + p.stderr)
    t0 = time.time()
    r = wait_until(lambda: (lambda x: x if x.status == 200 else None)(curl("--http1.1", srv.http("/readyz"))),
                   10 * SLOW, interval=0.25)
    check("/readyz back to 200 within 10 s of PostgreSQL returning, same process",
          r is not None and srv.alive(), "after %.1fs; last %r" % (time.time() - t0, curl("--http1.1", srv.http("/readyz"))))
    # Both threads' connections must come back, not just one: several requests
    # in a row. Each thread retries on its own backoff (at most 5 s), so the
    # second may come back a few seconds after the first.
    def eight():
        codes = [curl("--http2-prior-knowledge", srv.http("/readyz")).status for _ in range(8)]
        return codes if codes == [200] * 8 else None

    codes = wait_until(eight, 10 * SLOW, interval=0.25) or [
        curl("--http2-prior-knowledge", srv.http("/readyz")).status for _ in range(8)]
    check_eq("8 x /readyz after recovery all 200", codes, [200] * 8)
    m = curl("--http1.1", srv.http("/metrics")).text
    errs = [l for l in m.splitlines() if l.startswith("regain_db_errors_total")]
    check("regain_db_errors_total counted the outage",
          any(float(l.split()[-1]) > 0 for l in errs), "\n".join(errs) or m[:1000])

    srv.stop()


if __name__ == "__main__":
    run(main)
