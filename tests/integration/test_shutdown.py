"""Graceful shutdown: SIGTERM lets in-flight requests finish (HTTP/1.1 and
HTTP/2), refuses new connections, and exits 0.  Uses the dev-only
/__test/sleep route, which must not exist without dev_mode."""

import signal
import subprocess
import time

from harness import check, check_eq, curl, require, run, SLOW

SLEEP_MS = 2000


def background_curl(*args):
    return subprocess.Popen(["curl", "-sS", "-o", "-", "-w", "\n%{http_code} %{http_version}", "--max-time", "20"]
                            + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def main(env):
    srv = env.regain({"server": {"shutdown_timeout_ms": 10000}})
    r = curl("--http1.1", srv.http("/__test/sleep?ms=1"))
    require("dev_mode: /__test/sleep exists", r.status == 200, r.describe())
    t0 = time.time()
    r = curl("--http1.1", srv.http("/__test/sleep?ms=300"))
    took = time.time() - t0
    check("/__test/sleep?ms=300 takes about 300 ms", r.status == 200 and 0.28 <= took < 3 * SLOW, "%.3fs" % took)
    # The sleep must not block the loop: healthz answers meanwhile.
    slow = background_curl("--http1.1", srv.http("/__test/sleep?ms=1500"))
    slow2 = background_curl("--http1.1", srv.http("/__test/sleep?ms=1500"))
    time.sleep(0.3)
    t0 = time.time()
    h = curl("--http2-prior-knowledge", srv.http("/healthz"))
    check("loop not blocked while two sleeps are pending", h.status == 200 and time.time() - t0 < 0.5 * SLOW,
          "%r in %.3fs" % (h, time.time() - t0))
    slow.wait(30)
    slow2.wait(30)

    # In-flight requests over HTTP/1.1 and HTTP/2 (TLS), then SIGTERM.
    h1 = background_curl("--http1.1", srv.http("/__test/sleep?ms=%d" % SLEEP_MS))
    h2 = background_curl("--http2", "-k", srv.https("/__test/sleep?ms=%d" % SLEEP_MS))
    time.sleep(0.5 * SLOW)
    t_term = time.time()
    srv.signal(signal.SIGTERM)
    time.sleep(0.3)
    n = curl("--http1.1", srv.http("/healthz"), timeout=3)
    check("new cleartext connections refused after SIGTERM (curl exit 7)", n.rc == 7, n.describe())
    n = curl("--http2", "-k", srv.https("/healthz"), timeout=3)
    check("new TLS connections refused after SIGTERM (curl exit 7)", n.rc == 7, n.describe())
    check("still running while requests are in flight", srv.alive() or time.time() - t_term > SLEEP_MS / 1000,
          "exited %.2fs after SIGTERM" % (time.time() - t_term))

    for label, p in (("HTTP/1.1", h1), ("HTTP/2", h2)):
        out, err = p.communicate(timeout=30)
        last = out.strip().splitlines()[-1] if out.strip() else ""
        check("in-flight %s request completed with 200" % label, last.startswith("200"), "out %r err %r" % (out, err))
    rc = srv.wait(15)
    took = time.time() - t_term
    check_eq("exit status 0 after SIGTERM", rc, 0)
    check("exited after the in-flight requests, within the shutdown timeout",
          rc is not None and took >= (SLEEP_MS - 500 * SLOW) / 1000 - 0.5 and took < 10 * SLOW, "%.2fs" % took)
    srv.stop(expect_clean=False)  # collects stderr, checks sanitizers

    # An idle keep-alive connection must not hold shutdown up to the idle timeout.
    srv2 = env.regain({"server": {"idle_timeout_ms": 60000}})
    idle = subprocess.Popen(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/%d; printf 'GET /healthz HTTP/1.1\\r\\n"
                             "Host: x\\r\\n\\r\\n' >&3; timeout 30 cat <&3 >/dev/null" % srv2.port])
    time.sleep(0.5)
    t0 = time.time()
    srv2.signal(signal.SIGTERM)
    rc = srv2.wait(15)
    check("idle keep-alive connection does not delay shutdown much", rc == 0 and time.time() - t0 < 5 * SLOW,
          "rc %r after %.1fs" % (rc, time.time() - t0))
    idle.kill()
    idle.wait()
    srv2.stop(expect_clean=False)

    # Without dev_mode the test route does not exist.
    srv3 = env.regain({"dev_mode": False})
    r = curl("--http1.1", srv3.http("/__test/sleep?ms=1"))
    check_eq("without dev_mode /__test/sleep is 404", r.status, 404)
    srv3.stop()


if __name__ == "__main__":
    run(main)
