"""Integration test harness for regain (Python standard library only).

Each tests/integration/test_*.py file runs standalone:

    REGAIN_BIN=build/regain REGAIN_PG_DIR=/path/to/pg python3 tests/integration/test_x.py

and prints TAP: one `ok N - name` / `not ok N - name` line per assertion, a
`# detail` line under each failure, the plan `1..N` at the end, and exits 1
when anything failed.  tests/run.sh runs every file against the normal and the
sanitizer build.

What a test file gets from here:
  - check(name, cond, detail): one TAP line;
  - run(main): sets up a fresh database, a temporary directory and a
    self-signed certificate, calls main(env), reports an exception as a
    failure, then stops every server still running and drops the database;
  - env.regain(**config_overrides) -> Regain: migrated and started (waits for
    GET /healthz 200); Regain.stop() sends SIGTERM and checks the exit code
    and the captured stderr for sanitizer reports;
  - curl(...), nghttp(...), psql(...), run_regain(...) helpers.

Environment:
  REGAIN_BIN          the regain binary (required)
  REGAIN_PG_DIR       directory of a running private PostgreSQL (scripts/pg.sh)
  REGAIN_PG_URL_BASE  libpq conninfo of that cluster's `postgres` database
                      (default: `pg.sh url DIR postgres`)
  REGAIN_PG_SH        the PostgreSQL helper (default scripts/pg.sh)
  REGAIN_PIDS_FILE    every started server's pid is appended here, so the
                      runner can kill leftovers after a timeout
  REGAIN_SANITIZED    1 for sanitizer builds: longer start-up waits
  REGAIN_KEEP         1 keeps the temporary directory (printed) for debugging
"""

import base64
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
SANITIZED = os.environ.get("REGAIN_SANITIZED") == "1"
# Sanitizer builds start and answer several times slower.
SLOW = 3.0 if SANITIZED else 1.0

# ---- TAP -----------------------------------------------------------------

_count = 0
_failed = 0


def _comment(text):
    for line in str(text).splitlines() or [""]:
        print("# " + line, flush=True)


def check(name, cond, detail=""):
    """Emits one TAP line; `detail` is printed under a failure.  Returns cond."""
    global _count, _failed
    _count += 1
    name = " ".join(str(name).split())
    if cond:
        print("ok %d - %s" % (_count, name), flush=True)
    else:
        _failed += 1
        print("not ok %d - %s" % (_count, name), flush=True)
        _comment(detail if detail != "" else "assertion failed")
    return bool(cond)


def check_eq(name, got, want):
    return check(name, got == want, "got %r, want %r" % (got, want))


def skip(name, reason):
    global _count
    _count += 1
    print("ok %d - %s # SKIP %s" % (_count, name, reason), flush=True)


def diag(text):
    _comment(text)


class Abort(Exception):
    """Raised by require(): the rest of the file cannot run meaningfully."""


def require(name, cond, detail=""):
    if not check(name, cond, detail):
        raise Abort(name)


# ---- small helpers -------------------------------------------------------


def free_ports(n):
    """n different TCP ports that were free a moment ago. All n sockets stay
    bound until every port is read: ports taken one after another may repeat
    (about once in 18,000 pairs here), and regain would then run both of its
    listeners on one port."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    """A TCP port that was free a moment ago."""
    return free_ports(1)[0]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def sh(args, timeout=30, env=None, input=None):
    """Runs a command; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        input=input,
    )


def _regain_env(extra=None):
    env = dict(os.environ)
    # Overrides come only from the config file unless a test asks for one.
    env.pop("REGAIN_DATABASE_URL", None)
    env.pop("REGAIN_KEY_ENCRYPTION_KEY", None)
    if extra:
        env.update(extra)
    return env


def regain_bin():
    b = os.environ.get("REGAIN_BIN")
    if not b:
        raise Abort("REGAIN_BIN is not set")
    return os.path.abspath(b)


def run_regain(*args, timeout=60, env=None):
    """Runs `REGAIN_BIN args...` to completion (CLI commands)."""
    return sh([regain_bin()] + [str(a) for a in args], timeout=timeout * SLOW, env=_regain_env(env))


def sanitizer_report(text):
    """The first lines of a sanitizer report in text, or ''."""
    for pat in SANITIZER_PATTERNS:
        i = text.find(pat)
        if i >= 0:
            start = text.rfind("\n", 0, max(0, i - 200)) + 1
            return text[start : start + 3000]
    return ""


# ---- HTTP clients --------------------------------------------------------


class Response:
    def __init__(self, rc, status, proto, headers, body, stdout, stderr):
        self.rc = rc  # curl's exit code
        self.status = status  # int, 0 when no response
        self.proto = proto  # "HTTP/2", "HTTP/1.1"
        self.headers = headers  # lower-case name -> list of values
        self.body = body  # bytes
        self.stdout = stdout
        self.stderr = stderr

    def header(self, name, default=None):
        v = self.headers.get(name.lower())
        return v[0] if v else default

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<%s %s, %d bytes, curl rc %d%s>" % (
            self.proto,
            self.status,
            len(self.body),
            self.rc,
            (": " + self.stderr.strip()[:300]) if self.stderr.strip() else "",
        )

    def describe(self):
        hdrs = "; ".join("%s: %s" % (k, ", ".join(v)) for k, v in sorted(self.headers.items()))
        return "%r\nheaders: %s\nbody: %s" % (self, hdrs, self.body[:400])


def _parse_head(text):
    """Status, protocol and headers of the LAST header block in curl -D output."""
    blocks = [b for b in re.split(r"\r?\n\r?\n", text) if b.strip().startswith("HTTP/")]
    if not blocks:
        return 0, "", {}
    lines = blocks[-1].strip().splitlines()
    m = re.match(r"(HTTP/[0-9.]+)\s+(\d{3})", lines[0])
    if not m:
        return 0, "", {}
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), []).append(v.strip())
    return int(m.group(2)), m.group(1), headers


_tmp_for_bodies = None


def curl(*args, timeout=10, data_file=None):
    """Runs `curl -sS -D - -o BODY --max-time T args...`.

    Pass protocol flags (`--http2`, `--http2-prior-knowledge`, `--http1.1`,
    `-k`) and the URL in args.  Returns a Response (status 0 when curl got no
    response; then rc and stderr say why)."""
    global _tmp_for_bodies
    if _tmp_for_bodies is None:
        _tmp_for_bodies = tempfile.mkdtemp(prefix="regain-curl.")
    fd, body_path = tempfile.mkstemp(dir=_tmp_for_bodies)
    os.close(fd)
    cmd = ["curl", "-sS", "-D", "-", "-o", body_path, "--max-time", str(timeout * SLOW)]
    cmd += [str(a) for a in args]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout * SLOW + 10)
        stdout = p.stdout.decode("latin-1")
        stderr = p.stderr.decode("latin-1")
        rc = p.returncode
    except subprocess.TimeoutExpired:
        stdout, stderr, rc = "", "curl did not finish", -1
    with open(body_path, "rb") as f:
        body = f.read()
    os.unlink(body_path)
    status, proto, headers = _parse_head(stdout)
    return Response(rc, status, proto, headers, body, stdout, stderr)


def raw_http(port, data, timeout=5, host="127.0.0.1"):
    """Writes raw bytes to a cleartext port and returns what comes back
    until the server closes or `timeout` seconds pass (b'' on refusal)."""
    out = b""
    try:
        with socket.create_connection((host, port), timeout=timeout * SLOW) as s:
            try:
                s.sendall(data)
            except OSError:
                pass  # the server may answer and close before reading it all
            deadline = time.time() + timeout * SLOW
            while time.time() < deadline:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out and b"content-length: 0" in out.lower():
                    break
    except OSError:
        pass
    return out


def raw_status(data):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(m.group(1)) if m else 0


class NghttpResult:
    def __init__(self, rc, out, err):
        self.rc = rc
        self.out = out
        self.err = err
        m = re.search(r"negotiated protocol: (\S+)", out)
        self.protocol = m.group(1) if m else ""
        # The response HEADERS frame of stream 1 (nghttp -v prints received
        # header fields as `[  0.001] recv (stream_id=1) name: value`).
        self.headers = {}
        for m in re.finditer(r"recv \(stream_id=\d+\) ([^:\s][^:]*|:[a-z]+): (.*)", out):
            self.headers.setdefault(m.group(1).strip().lower(), []).append(m.group(2).strip())
        st = self.headers.get(":status")
        self.status = int(st[0]) if st else 0

    def header(self, name, default=None):
        v = self.headers.get(name.lower())
        return v[0] if v else default

    def __repr__(self):
        return "<nghttp rc %d, protocol %r, status %d: %s>" % (
            self.rc,
            self.protocol,
            self.status,
            (self.err or "").strip()[:300],
        )


def nghttp(url, *args, timeout=10):
    """Runs `nghttp -nv [args] URL` (verbose, body discarded)."""
    cmd = ["nghttp", "-nv", "-t", str(int(timeout * SLOW))] + [str(a) for a in args] + [url]
    try:
        p = sh(cmd, timeout=timeout * SLOW + 10)
        return NghttpResult(p.returncode, p.stdout, p.stderr)
    except subprocess.TimeoutExpired:
        return NghttpResult(-1, "", "nghttp did not finish")


# ---- PostgreSQL ----------------------------------------------------------


def pg_sh():
    return os.environ.get("REGAIN_PG_SH") or os.path.join(ROOT, "scripts", "pg.sh")


def conninfo_with_db(conninfo, dbname):
    """The libpq key=value conninfo with dbname replaced."""
    parts = [p for p in shlex.split(conninfo) if not p.startswith("dbname=")]
    return " ".join(shlex.quote(p) for p in parts + ["dbname=" + dbname])


def pg_url_base(pg_dir=None):
    """Conninfo of the `postgres` database of the cluster in pg_dir."""
    if pg_dir is None:
        base = os.environ.get("REGAIN_PG_URL_BASE")
        if base:
            return conninfo_with_db(base, "postgres")
        pg_dir = os.environ.get("REGAIN_PG_DIR")
        if not pg_dir:
            raise Abort("REGAIN_PG_DIR is not set")
    p = sh(["bash", pg_sh(), "url", pg_dir, "postgres"])
    if p.returncode != 0 or not p.stdout.strip():
        raise Abort("pg.sh url failed: %s" % p.stderr.strip())
    return conninfo_with_db(p.stdout.strip(), "postgres")


def psql(conninfo, sql, timeout=30):
    """Runs one SQL command; returns (rc, rows as lists of strings, stderr)."""
    p = sh(
        ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", conninfo, "-c", sql],
        timeout=timeout,
    )
    rows = [line.split("\t") for line in p.stdout.splitlines() if line != ""]
    return p.returncode, rows, p.stderr


def waiting_for_lock(conninfo):
    """True while some session of the cluster waits for a lock."""
    rc, rows, _ = psql(conninfo, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    return rc == 0 and rows and rows[0][0] != "0"


class Cluster:
    """A private PostgreSQL of a test's own (scripts/pg.sh in a temp dir)."""

    def __init__(self, parent_dir):
        self.dir = tempfile.mkdtemp(prefix="pg.", dir=parent_dir)
        os.chmod(self.dir, 0o755)
        self.running = False

    def start(self):
        env = dict(os.environ, PG_FAST="1")
        p = sh(["bash", pg_sh(), "start", self.dir], timeout=120, env=env)
        self.running = p.returncode == 0
        return p

    def stop(self):
        p = sh(["bash", pg_sh(), "stop", self.dir], timeout=120)
        if p.returncode == 0:
            self.running = False
        return p

    def url(self, db="regain"):
        p = sh(["bash", pg_sh(), "url", self.dir, db])
        return p.stdout.strip()


# ---- regain --------------------------------------------------------------


def _merge(base, over):
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        elif v is None:
            base.pop(k, None)
        else:
            base[k] = v
    return base


class Regain:
    """One `regain serve` process with its own config file and ports."""

    _seq = 0

    def __init__(self, env, overrides=None, db_url=None):
        Regain._seq += 1
        self.env = env
        self.name = "regain%d" % Regain._seq
        self.dir = os.path.join(env.dir, self.name)
        os.makedirs(self.dir)
        self.tls_port, self.port = free_ports(2)
        self.issuer = "https://localhost:%d" % self.tls_port
        self.config = {
            "issuer": self.issuer,
            "dev_mode": True,
            "database": {
                "url": db_url or env.db_url,
                "pool_size": 2,
                "query_timeout_ms": 5000,
            },
            "listen": [
                {
                    "address": "127.0.0.1",
                    "port": self.tls_port,
                    "tls": {"certificate_file": "../cert.pem", "key_file": "../key.pem"},
                },
                {"address": "127.0.0.1", "port": self.port},
            ],
            "server": {
                "threads": 2,
                "max_request_body_bytes": 1048576,
                "idle_timeout_ms": 10000,
                "max_streams_per_connection": 100,
                "shutdown_timeout_ms": 10000,
            },
            "keys": {"encryption_key": env.encryption_key, "refresh_interval_ms": 10000},
            "log": {"level": "info", "access_log": True},
        }
        if overrides:
            _merge(self.config, overrides)
        self.config_path = os.path.join(self.dir, "regain.json")
        self.write_config()
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.proc = None
        self.checked = False

    def write_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    # URLs
    def http(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def https(self, path="/"):
        return "https://localhost:%d%s" % (self.tls_port, path)

    def cli(self, *args, timeout=60, env=None):
        """Runs `regain args... --config F` to completion."""
        return run_regain(*(list(args) + ["--config", self.config_path]), timeout=timeout, env=env)

    def migrate(self):
        p = self.cli("migrate")
        require(
            "%s: regain migrate exits 0" % self.name,
            p.returncode == 0,
            "exit %d\nstderr: %s" % (p.returncode, p.stderr.strip()[-2000:]),
        )
        return p

    def spawn(self, env=None):
        """Starts `regain serve` without waiting for it (again after stop():
        the new process is checked when it stops)."""
        self.checked = False
        self._err = open(self.stderr_path, "ab")
        self._out = open(self.stdout_path, "ab")
        self.proc = subprocess.Popen(
            [regain_bin(), "serve", "--config", self.config_path],
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            env=_regain_env(env),
        )
        self.env.track(self)
        pids = os.environ.get("REGAIN_PIDS_FILE")
        if pids:
            with open(pids, "a") as f:
                f.write("%d\n" % self.proc.pid)
        return self.proc

    def wait_healthy(self, timeout=15):
        deadline = time.time() + timeout * SLOW
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False, "regain exited with %d before it was healthy\nstderr:\n%s" % (
                    self.proc.returncode,
                    self.stderr()[-3000:],
                )
            last = curl("--http1.1", self.http("/healthz"), timeout=2)
            if last.status == 200:
                return True, ""
            time.sleep(0.1)
        return False, "no 200 from /healthz in %ds (last: %r)\nstderr:\n%s" % (
            timeout * SLOW,
            last,
            self.stderr()[-3000:],
        )

    def start(self, migrate=True):
        if migrate:
            self.migrate()
        self.spawn()
        ok, detail = self.wait_healthy()
        require("%s: serve answers GET /healthz 200" % self.name, ok, detail)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pid(self):
        return self.proc.pid

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, expect_clean=True):
        """SIGTERM, wait, and check: exit 0 and no sanitizer report."""
        if self.proc is None or self.checked:
            return None
        self.checked = True
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            limit = self.config["server"].get("shutdown_timeout_ms", 10000) / 1000 + 10
            rc = self.wait(limit)
            if rc is None:
                self.proc.kill()
                self.proc.wait()
                rc = "hung (killed after %ds)" % (limit * SLOW)
        self._err.close()
        self._out.close()
        err = self.stderr()
        if expect_clean:
            check(
                "%s: exits 0 after SIGTERM" % self.name,
                rc == 0,
                "exit %s\nstderr tail:\n%s" % (rc, err[-2000:]),
            )
        self.check_sanitizer()
        return rc

    def check_sanitizer(self):
        report = sanitizer_report(self.stderr())
        check("%s: no sanitizer report in server stderr" % self.name, not report, report)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Env:
    """Per-file fixture: temp dir, certificate, fresh database."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="regain-it.%s." % name)
        # Searchable, so pg.sh's unprivileged server user reaches a cluster
        # created below it (Env.cluster) instead of relocating it under /tmp.
        os.chmod(self.dir, 0o711)
        self.servers = []
        self.clusters = []
        self.encryption_key = base64.b64encode(os.urandom(32)).decode()
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        self.db_name = None
        self.admin_url = None
        self.db_url = None

    def setup(self):
        p = sh(
            [
                "openssl", "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", self.key, "-out", self.cert, "-days", "2",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ]
        )
        require("self-signed certificate created", p.returncode == 0, p.stderr)
        self.admin_url = pg_url_base()
        self.db_name = "t_%s_%d_%d" % (re.sub(r"\W", "_", self.name), os.getpid(), int(time.time()) % 100000)
        self.db_name = self.db_name.lower()[:60]
        rc, _, err = psql(self.admin_url, 'create database "%s"' % self.db_name)
        require("fresh database %s created" % self.db_name, rc == 0, err)
        self.db_url = conninfo_with_db(self.admin_url, self.db_name)

    def track(self, server):
        if server not in self.servers:
            self.servers.append(server)

    def regain(self, overrides=None, start=True, migrate=True, db_url=None):
        r = Regain(self, overrides, db_url)
        if start:
            r.start(migrate=migrate)
        return r

    def new_database(self, suffix):
        """Another empty database on the shared cluster; returns its conninfo."""
        name = (self.db_name + "_" + suffix)[:63]
        rc, _, err = psql(self.admin_url, 'create database "%s"' % name)
        require("database %s created" % name, rc == 0, err)
        self._extra_dbs = getattr(self, "_extra_dbs", []) + [name]
        return conninfo_with_db(self.admin_url, name)

    def cluster(self):
        c = Cluster(self.dir)
        self.clusters.append(c)
        return c

    def teardown(self):
        for s in self.servers:
            if s.proc is not None and not s.checked:
                s.stop()
            s.kill()
        for c in self.clusters:
            if c.running or os.path.isdir(os.path.join(c.dir, "data")):
                c.stop()
        if self.admin_url and self.db_name:
            for name in getattr(self, "_extra_dbs", []) + [self.db_name]:
                psql(self.admin_url, 'drop database if exists "%s" with (force)' % name)
        if os.environ.get("REGAIN_KEEP") == "1":
            diag("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if _tmp_for_bodies:
            shutil.rmtree(_tmp_for_bodies, ignore_errors=True)


def run(main, database=True):
    """Runs main(env) with the fixture; prints the plan; exits 1 on failure."""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    env = Env(name)

    def on_term(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_term)
    try:
        env.setup() if database else None
        main(env)
    except Abort as e:
        diag("stopping %s early: %s" % (name, e))
    except KeyboardInterrupt:
        check("%s interrupted" % name, False, "SIGTERM/SIGINT (runner timeout?)")
    except Exception:
        check("%s raised no exception" % name, False, traceback.format_exc())
    finally:
        try:
            env.teardown()
        except Exception:
            check("%s teardown" % name, False, traceback.format_exc())
    print("1..%d" % _count, flush=True)
    sys.exit(1 if _failed or _count == 0 else 0)


def wait_until(fn, timeout, interval=0.2):
    """Calls fn until it returns a truthy value or timeout (seconds) passes."""
    deadline = time.time() + timeout
    v = fn()
    while not v and time.time() < deadline:
        time.sleep(interval)
        v = fn()
    return v


def quote(s):
    return urllib.parse.quote(s, safe="")
