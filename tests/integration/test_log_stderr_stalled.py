"""An event loop never waits for stderr (gateway/log_sink.c).

regain's stderr is a pipe whose reader has stopped reading: the 64 KiB the
kernel holds fill up with access-log lines after a few hundred requests.
regain must go on answering at full speed, its log lines waiting in its own
buffer; before, the loop that flushed its access log blocked in write(2)
and every connection it held stalled with it. Once the reader reads again,
the lines that were waiting arrive, whole."""

import http.client
import json
import os
import select
import signal
import tempfile
import time

from harness import SLOW, check, check_eq, curl, require, run

REQUESTS = 3000


def drain(fd, seconds):
    """Everything the pipe yields within `seconds` of quiet."""
    out = b""
    while True:
        ready, _, _ = select.select([fd], [], [], seconds)
        if not ready:
            return out
        chunk = os.read(fd, 65536)
        if not chunk:
            return out
        out += chunk


def requests_on_one_connection(port, n, timeout):
    """GET /healthz?n=i for i < n on one HTTP/1.1 connection; the statuses,
    as many as came before one took longer than `timeout` seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    codes = []
    try:
        for i in range(n):
            conn.request("GET", "/healthz?n=%d" % i)
            resp = conn.getresponse()
            resp.read()
            codes.append(resp.status)
    except OSError:
        pass
    finally:
        conn.close()
    return codes


def main(env):
    srv = env.regain({"server": {"threads": 1}}, start=False)
    srv.migrate()
    fifo = os.path.join(tempfile.mkdtemp(prefix="regain-stderr-"), "stderr")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    srv.stderr_path = fifo  # spawn() opens it for writing: regain's stderr is the pipe
    srv.spawn()
    try:
        ok, detail = srv.wait_healthy()
        require("regain answers with a pipe for stderr", ok, detail)
        # The reader stops here. Each request leaves an access-log line of
        # about 200 bytes, so the pipe is full long before the last.
        t0 = time.time()
        codes = requests_on_one_connection(srv.port, REQUESTS, 10 * SLOW)
        check_eq("%d requests answered while nobody reads stderr" % REQUESTS, (len(codes), set(codes)),
                 (REQUESTS, {200}))
        check("... in the time they take anyway (%.1f s)" % (time.time() - t0), time.time() - t0 < 20 * SLOW, "")
        r = curl("--http1.1", "--max-time", str(int(5 * SLOW)), srv.http("/healthz"), timeout=10 * SLOW)
        check_eq("and one more", r.status, 200)

        out = drain(reader, 2 * SLOW)
        lines = out.decode("utf-8", "replace").splitlines()
        access = [ln for ln in lines if '"route":"/healthz"' in ln]
        check("once read again, the waiting lines arrive (%d of %d)" % (len(access), REQUESTS),
              len(access) >= REQUESTS * 0.99, lines[-3:])

        def whole(ln):
            try:
                return isinstance(json.loads(ln), dict)
            except ValueError:
                return False

        broken = [ln for ln in lines if not whole(ln)]
        check_eq("... every one of them whole", broken[:3], [])
    finally:
        # The rest of stderr (a sanitizer's report included) goes to a file,
        # where srv.stop() looks for it.
        log = fifo + ".log"
        with open(log, "wb") as f:
            if srv.alive():
                srv.signal(signal.SIGTERM)
                srv.wait(20)
            f.write(drain(reader, 1))
        srv.stderr_path = log
        srv.stop()
        os.close(reader)
        for path in (fifo, log):
            os.unlink(path)
        os.rmdir(os.path.dirname(fifo))


if __name__ == "__main__":
    run(main)
