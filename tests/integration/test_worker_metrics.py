"""The password-hashing pool's counters on /metrics: regain_worker_jobs_total,
regain_worker_cpu_seconds_total (each job's thread CPU clock),
regain_worker_queue_seconds_total (from submit until a worker takes the
job), and regain_worker_held_seconds_total and
regain_worker_handbacks_total (finished jobs held while others wait, to go
back to the event loop together; gateway/workers.c). With one worker, one
sign-in is one job with a hash's CPU time, no wait, and goes back at once;
three sign-ins posted at once are three jobs, the two that find the worker
busy wait for it, about a hash and two hashes, and the first two go back
together when the third is taken."""

import threading

from authorize_browser import Browser, authorize_params, pkce, setup_fixtures
from harness import check, check_eq, curl, require, run
from test_health_metrics import find, parse_metrics

# A hash of about 150 ms: far longer than the three posts below take to
# arrive (each a new TLS connection and a database round trip, under ASan on
# a loaded CI machine), so all three are queued before the first hash ends.
ARGON2_T = 16


def scrape(srv):
    r = curl("--http1.1", srv.http("/metrics"))
    require("/metrics 200", r.status == 200, r.describe())
    m, bad = parse_metrics(r.text)
    require("/metrics parses", not bad, "\n".join(bad[:5]))
    out = {}
    for name in ("regain_worker_jobs_total", "regain_worker_cpu_seconds_total", "regain_worker_queue_seconds_total",
                 "regain_worker_held_seconds_total", "regain_worker_handbacks_total"):
        found = find(m, name)
        require("/metrics has %s" % name, len(found) == 1, r.text[-1500:])
        out[name[len("regain_worker_"):]] = found[0][1]
    return out


def delta(a, b):
    return dict((k, b[k] - a[k]) for k in a)


def signed_in(r):
    loc = r.header("location") or ""
    return r.status == 303 and "code=" in loc


def main(env):
    # A hold far longer than the test, so that only the queue decides when
    # finished jobs go back.
    srv = env.regain({"oidc": {"argon2_t": ARGON2_T}, "server": {"worker_threads": 1, "worker_hold_ms": 1000}})
    setup_fixtures(srv, env.db_url)

    m0 = scrape(srv)
    b = Browser(srv)
    page = b.get("/authorize", authorize_params(pkce()[1]))
    require("sign-in page", page.status == 200, page)
    r = b.sign_in(page, "alice", "wonderland 1")
    require("alice signs in (303 with a code)", signed_in(r), r)
    one = delta(m0, scrape(srv))
    check_eq("one sign-in is one job on the pool", one["jobs_total"], 1.0)
    check("its CPU time is a hash's: more than 1 ms, less than 30 s (%.4f s)" % one["cpu_seconds_total"],
          0.001 < one["cpu_seconds_total"] < 30, repr(one))
    check("with the worker idle it hardly waited: less than the hash took (%.4f s)" % one["queue_seconds_total"],
          0 <= one["queue_seconds_total"] < one["cpu_seconds_total"], repr(one))
    check_eq("with nothing waiting it went back to the loop at once: one hand-back", one["handbacks_total"], 1.0)
    check("... and was not held: less than a tenth of the hash (%.4f s)" % one["held_seconds_total"],
          0 <= one["held_seconds_total"] < one["cpu_seconds_total"] / 10, repr(one))

    browsers, pages = [], []
    for _ in range(3):
        b = Browser(srv)
        page = b.get("/authorize", authorize_params(pkce()[1]))
        require("sign-in page", page.status == 200, page)
        browsers.append(b)
        pages.append(page)
    go = threading.Barrier(3)
    answers = [None] * 3

    def post(i):
        go.wait()
        answers[i] = browsers[i].sign_in(pages[i], "alice", "wonderland 1")

    threads = [threading.Thread(target=post, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check("three sign-ins posted at once all sign in", all(a is not None and signed_in(a) for a in answers),
          repr(answers))
    three = delta(m0, scrape(srv))
    three = dict((k, three[k] - one[k]) for k in three)
    check_eq("three sign-ins are three jobs", three["jobs_total"], 3.0)
    per_hash = three["cpu_seconds_total"] / 3
    check("CPU per hash as for the one alone: more than 1 ms (%.4f s)" % per_hash, per_hash > 0.001, repr(three))
    # Waits of about 0, 1 and 2 hashes: 3 in all. Half a hash leaves room for
    # posts that arrive a little apart.
    check("the jobs that found the worker busy waited for it: %.4f s in all, at least half a hash (%.4f s)"
          % (three["queue_seconds_total"], per_hash / 2), three["queue_seconds_total"] >= per_hash / 2, repr(three))
    # The first ends while the other two wait: held. The second ends while the
    # third waits: held too, until the third is taken; the third goes back as
    # it ends. Handed back one by one, they would be three.
    check_eq("three sign-ins went back in two hand-backs", three["handbacks_total"], 2.0)
    check("the first was held while the second hashed: at least half a hash (%.4f s)"
          % three["held_seconds_total"], three["held_seconds_total"] >= per_hash / 2, repr(three))


if __name__ == "__main__":
    run(main)
