"""A database host given by name is looked up off the event loop.

libpq looks a host name up with a blocking getaddrinfo inside
PQconnectStart; regain looks it up on h2o's resolver threads and hands libpq
the addresses (gateway/store_lookup.c). Here the database is reached by the
name "localhost" over TCP (a relay to the test cluster's Unix socket), and a
preloaded getaddrinfo takes 3 s for that name. After PostgreSQL drops
regain's connections, every connection looks the name up again: /healthz,
answered by the same loops, must stay fast meanwhile (with the lookup on the
loop it waited for it), and the database must come back."""

import os
import re
import socket
import subprocess
import threading
import time

from harness import SLOW, Regain, check, curl, psql, require, run

SLOW_MS = 3000

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* getaddrinfo, SLOW_LOOKUP_MS slower for the name SLOW_LOOKUP_NAME. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
    const char *slow = getenv("SLOW_LOOKUP_NAME"), *ms = getenv("SLOW_LOOKUP_MS");
    if (node != NULL && slow != NULL && ms != NULL && strcmp(node, slow) == 0)
        usleep((useconds_t)atoi(ms) * 1000);
    return real(node, service, hints, res);
}
"""


def relay(listener, unix_path, stop):
    """Each TCP connection to `listener` relayed to PostgreSQL's Unix socket."""
    def pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            client, _ = listener.accept()
        except socket.timeout:
            continue
        except OSError:
            break
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(unix_path)
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()


def main(env):
    shim_c = os.path.join(env.dir, "slow_lookup.c")
    shim_so = os.path.join(env.dir, "slow_lookup.so")
    with open(shim_c, "w") as f:
        f.write(SHIM)
    p = subprocess.run(["cc", "-shared", "-fPIC", "-O1", shim_c, "-o", shim_so, "-ldl"], capture_output=True,
                       text=True)
    require("the getaddrinfo shim builds", p.returncode == 0, p.stderr)

    socket_dir = re.search(r"host=(\S+)", env.db_url)
    require("the test cluster is reached by its socket directory", socket_dir is not None, env.db_url)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()
    threading.Thread(target=relay, args=(listener, os.path.join(socket_dir.group(1), ".s.PGSQL.5432"), stop),
                     daemon=True).start()

    url = "host=localhost port=%d user=regain dbname=%s connect_timeout=10" % (listener.getsockname()[1],
                                                                            env.db_name)
    slow_env = {"LD_PRELOAD": shim_so, "SLOW_LOOKUP_NAME": "localhost", "SLOW_LOOKUP_MS": str(SLOW_MS),
                # The sanitizer runtime must otherwise come first in the library list.
                "ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")}
    srv = Regain(env, {"database": {"url": url, "pool_size": 2}})
    srv.migrate()
    srv.spawn(env=slow_env)
    ok, detail = srv.wait_healthy(timeout=60)
    require("regain starts with the database host given by name", ok, detail)

    def ready(deadline_s):
        end = time.time() + deadline_s * SLOW
        while time.time() < end:
            if curl("--http1.1", srv.http("/readyz"), timeout=5).status == 200:
                return True
            time.sleep(0.1)
        return False

    check("/readyz: the database is reached through the name", ready(20))

    # PostgreSQL drops regain's connections: each looks the name up again.
    rc, out, err = psql(env.admin_url, "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                                       "where datname = '%s' and pid <> pg_backend_pid()" % env.db_name)
    require("regain's connections dropped", rc == 0 and out and int(out[0][0]) >= 1, "%r %s" % (out, err))
    slowest = 0.0
    end = time.time() + 2.5 * SLOW_MS / 1000
    while time.time() < end:
        t0 = time.time()
        r = curl("--http1.1", srv.http("/healthz"), timeout=10)
        took = time.time() - t0
        if r.status == 200:
            slowest = max(slowest, took)
        time.sleep(0.02)
    check("while every connection looks the name up again, /healthz stays fast (slowest %.2f s; a lookup "
          "takes %.1f s)" % (slowest, SLOW_MS / 1000), slowest < 1.0 * SLOW, "%.3f s" % slowest)
    check("... and the database comes back", ready(30))

    srv.stop()
    stop.set()
    listener.close()


run(main)
