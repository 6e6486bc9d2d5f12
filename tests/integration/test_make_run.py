"""`make run` (scripts/run.sh), the README's first command: a private
PostgreSQL, the config and certificate, migrations, the demo data in the
database and in var/demo.json, regain serving; SIGTERM stops regain and the
database. Run twice: the second run reuses everything. Then the cluster is
lost (pg.sh may keep it under /tmp, which a reboot empties) while var/ stays:
the next run recreates the demo user with the password var/demo.json
recorded, so the credentials printed before still sign in. Last, `make
clean-run` removes var/ and the cluster.

The script runs in a directory of its own, with the binary under test as
build/regain (a Makefile there says it is up to date) and a config naming
free ports, so a developer's own `make run` on 8443 is left alone."""

import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

from authorize_browser import Browser, form_fields
from harness import SLOW, check, check_eq, curl, free_ports, pg_sh, psql, regain_bin, require, run, wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Site:
    """What authorize_browser.Browser needs of a server."""

    def __init__(self, tls_port):
        self.tls_port = tls_port
        self.issuer = "https://localhost:%d" % tls_port


def start_run(top, log):
    return subprocess.Popen(["bash", os.path.join(top, "scripts", "run.sh")], cwd=top, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_run(proc, label):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        rc = proc.wait(60 * SLOW)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        rc = "hung"
    check_eq("%s: SIGTERM stops make run (exit 143)" % label, rc, 143)


def db_url(top):
    with open(os.path.join(top, "var", "regain.json")) as f:
        return json.load(f)["database"]["url"]


def sign_in(site, demo, label):
    """The demo user signs in to demo-web with the recorded password: the
    code flow's first two steps, up to the redirect with a code."""
    web = next(c for c in demo["clients"] if c["client_id"] == "demo-web")
    user = next(u for u in demo["users"] if u["username"] == "demo")
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    b = Browser(site)
    page = b.get("/authorize", {"client_id": "demo-web", "redirect_uri": web["redirect_uris"][0],
                                "response_type": "code", "scope": "openid", "state": "s1", "nonce": "n1",
                                "code_challenge": challenge, "code_challenge_method": "S256"})
    require("%s: the sign-in page" % label, page.status == 200 and form_fields(page.text, "/login"), page)
    r = b.follow(b.sign_in(page, "demo", user["password"]))
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("location") or "").query)
    check("%s: demo signs in with the recorded password (a code)" % label, r.status == 303 and "code" in q, r)


def main(env):
    top = tempfile.mkdtemp(prefix="regain-make-run-")
    shutil.copytree(os.path.join(ROOT, "scripts"), os.path.join(top, "scripts"))
    os.makedirs(os.path.join(top, "build"))
    os.symlink(regain_bin(), os.path.join(top, "build", "regain"))
    with open(os.path.join(top, "Makefile"), "w") as f:
        f.write("# the binary under test, already built\nbuild/regain: ;\n")
    tls_port, http_port = free_ports(2)
    os.makedirs(os.path.join(top, "var"))
    # run.sh keeps a config it finds (adding the dev provider, setting the
    # database address); this one differs from its own only in the ports.
    with open(os.path.join(top, "var", "regain.json"), "w") as f:
        json.dump({"issuer": "https://localhost:%d" % tls_port, "dev_mode": True,
                   "database": {"url": "postgresql:///none", "pool_size": 2, "query_timeout_ms": 5000},
                   "listen": [{"address": "127.0.0.1", "port": tls_port,
                               "tls": {"certificate_file": "tls/cert.pem", "key_file": "tls/key.pem"}},
                              {"address": "127.0.0.1", "port": http_port}],
                   "server": {"threads": 1, "shutdown_timeout_ms": 10000},
                   "keys": {"encryption_key": base64.b64encode(os.urandom(32)).decode()},
                   "log": {"level": "info"}}, f)
    os.chmod(os.path.join(top, "var", "regain.json"), 0o600)
    site = Site(tls_port)
    log = open(os.path.join(top, "run.log"), "ab")

    def healthy():
        return curl("--http1.1", "http://127.0.0.1:%d/healthz" % http_port, timeout=2).status == 200

    def demo_users():
        rc, rows, _ = psql(db_url(top), "SELECT user_name FROM users ORDER BY 1")
        return [r[0] for r in rows] if rc == 0 else None

    try:
        passwords = []
        for label in ("first make run", "second make run", "make run on a lost cluster"):
            if label == "make run on a lost cluster":
                p = subprocess.run(["bash", pg_sh(), "destroy", os.path.join(top, "var", "pg")],
                                   capture_output=True, text=True, timeout=120)
                require("the cluster is destroyed (pg.sh destroy)", p.returncode == 0, p.stderr)
            proc = start_run(top, log)
            try:
                up = wait_until(healthy, 120 * SLOW, interval=0.5)
                if not up:
                    log.flush()
                    with open(os.path.join(top, "run.log"), "rb") as f:
                        tail = f.read()[-3000:].decode("utf-8", "replace")
                    require("%s: regain answers /healthz" % label, False, tail)
                with open(os.path.join(top, "var", "demo.json")) as f:
                    demo = json.load(f)
                check_eq("%s: var/demo.json lists the demo clients" % label,
                         sorted(c["client_id"] for c in demo["clients"]), ["demo-admin", "demo-spa", "demo-web"])
                check_eq("%s: the database has the demo user" % label, demo_users(), ["demo"])
                passwords.append(next(u["password"] for u in demo["users"] if u["username"] == "demo"))
                sign_in(site, demo, label)
            finally:
                stop_run(proc, label)
        check_eq("every run kept the recorded password", len(set(passwords)), 1)
        rc, _, _ = psql(db_url(top), "SELECT 1", timeout=10)
        check("make run stopped its PostgreSQL", rc != 0, rc)

        # `make clean-run`, the README's way to start afresh: var/ goes, and
        # so does the cluster, wherever pg.sh keeps it (here under /tmp: the
        # directory is private to this user, which PostgreSQL's is not).
        cluster = os.path.realpath(os.path.join(top, "var", "pg", "cluster"))
        require("the cluster is somewhere", os.path.isdir(cluster), cluster)
        p = subprocess.run(["make", "--no-print-directory", "-C", top, "-f", os.path.join(ROOT, "Makefile"),
                            "clean-run"], capture_output=True, text=True, timeout=120)
        check_eq("make clean-run exits 0", p.returncode, 0)
        check("make clean-run removes var/", not os.path.exists(os.path.join(top, "var")), p.stdout + p.stderr)
        check("make clean-run removes the cluster (%s)" % cluster, not os.path.exists(cluster),
              p.stdout + p.stderr)
    finally:
        log.close()
        subprocess.run(["bash", pg_sh(), "destroy", os.path.join(top, "var", "pg")], capture_output=True,
                       timeout=120)
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    run(main)
