"""A second regain on a port already in use exits non-zero with a message
about the port, instead of silently sharing it through SO_REUSEPORT."""

import socket
import subprocess
import time

from harness import check, curl, run, SLOW


def refused(srv, label, *ports):
    srv.spawn()
    try:
        rc = srv.proc.wait(timeout=10 * SLOW)
    except subprocess.TimeoutExpired:
        rc = None
    check("%s: second serve exits non-zero" % label, rc not in (None, 0),
          "still running after 10 s" if rc is None else "exit %s" % rc)
    err = srv.stderr()
    check("%s: message names the port" % label, any(str(p) in err for p in ports)
          and any(w in err.lower() for w in ("in use", "port", "listen", "bind")), err[-1500:])
    if rc is None:
        srv.kill()
    srv.checked = True
    srv._err.close()
    srv._out.close()
    srv.check_sanitizer()


def main(env):
    first = env.regain()

    # Same cleartext and TLS ports.
    second = env.regain(start=False)
    second.config["listen"][0]["port"] = first.tls_port
    second.config["listen"][1]["port"] = first.port
    second.write_config()
    refused(second, "both ports taken by regain", first.port, first.tls_port)

    # Only the TLS port taken; the cleartext port free.
    third = env.regain(start=False)
    third.config["listen"][0]["port"] = first.tls_port
    third.write_config()
    refused(third, "TLS port taken by regain", first.tls_port)
    # The free port it may have opened before failing is released.
    time.sleep(0.2)
    r = curl("--http1.1", "http://127.0.0.1:%d/healthz" % third.port, timeout=2)
    check("the failed server left nothing listening on its other port", r.rc == 7, r.describe())

    # A port held by another program (plain listener without SO_REUSEPORT).
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    busy = s.getsockname()[1]
    fourth = env.regain(start=False)
    fourth.config["listen"][1]["port"] = busy
    fourth.write_config()
    refused(fourth, "port held by another program", busy)
    s.close()

    # The first server is unaffected and alone on its port.
    for _ in range(6):
        r = curl("--http1.1", first.http("/healthz"))
        if r.status != 200:
            break
    check("first server still answers on its port", r.status == 200 and first.alive(), r.describe())
    first.stop()


if __name__ == "__main__":
    run(main)
