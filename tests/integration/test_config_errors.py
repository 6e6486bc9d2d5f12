"""Bad configuration is refused with exit status 2 and ONE stderr line naming
the key or the file; version and --help work for every command."""

import copy
import json
import os
import re
import subprocess

from harness import check, check_eq, run, run_regain

BASE = {
    "issuer": "https://localhost:8443",
    "dev_mode": True,
    "database": {"url": "host=/nonexistent user=regain dbname=regain", "pool_size": 2, "query_timeout_ms": 5000},
    "listen": [{"address": "127.0.0.1", "port": 1, "tls": {"certificate_file": "cert.pem", "key_file": "key.pem"}},
               {"address": "127.0.0.1", "port": 2}],
    "server": {"threads": 2, "max_request_body_bytes": 1048576, "idle_timeout_ms": 10000,
               "max_streams_per_connection": 100, "shutdown_timeout_ms": 10000},
    "keys": {"encryption_key": "", "refresh_interval_ms": 10000},
    "log": {"level": "info", "access_log": True},
}


def mutate(doc, path, value, delete=False):
    cur = doc
    for k in path[:-1]:
        cur = cur.setdefault(k, {}) if isinstance(cur, dict) else cur[k]
    if delete:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value
    return doc


def regain(cmd, path, env=None):
    try:
        return run_regain(*(cmd + ["--config", path]), timeout=10, env=env)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, "timeout", "", "did not exit within 10 s (started anyway?)")


def check_refused(label, p, *needles):
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check_eq("%s: exit status 2" % label, p.returncode, 2)
    check("%s: exactly one line on stderr" % label, len(lines) == 1, p.stderr[-1500:])
    line = lines[0] if lines else ""
    check("%s: message names the key or file" % label, any(n in line for n in needles),
          "want one of %r in: %s" % (needles, line))
    check("%s: message starts with regain:" % label, line.startswith("regain:"), line)


def main(env):
    key = __import__("base64").b64encode(os.urandom(32)).decode()
    BASE["keys"]["encryption_key"] = key
    cases = [
        ("unknown top-level key", lambda d: mutate(d, ["bogus"], 1), ["bogus"]),
        ("unknown nested key", lambda d: mutate(d, ["server", "treads"], 2), ["server.treads"]),
        ("wrong type server.threads", lambda d: mutate(d, ["server", "threads"], "two"), ["server.threads"]),
        ("wrong type dev_mode", lambda d: mutate(d, ["dev_mode"], "yes"), ["dev_mode"]),
        ("wrong type listen port", lambda d: mutate(d, ["listen", 1, "port"], "80"), ["port"]),
        ("port out of range", lambda d: mutate(d, ["listen", 1, "port"], 70000), ["port"]),
        # One SO_REUSEPORT group would share the port's connections between
        # the TLS and the cleartext listener.
        ("two listeners on one port", lambda d: mutate(d, ["listen", 1, "port"], 1),
         ["listen[1]: port 1 on 127.0.0.1 is already listen[0]'s"]),
        ("listener address not numeric", lambda d: mutate(d, ["listen", 0, "address"], "localhost"),
         ["listen[0].address"]),
        ("negative threads", lambda d: mutate(d, ["server", "threads"], -1), ["server.threads"]),
        ("worker hold over a second", lambda d: mutate(d, ["server", "worker_hold_ms"], 1001),
         ["server.worker_hold_ms"]),
        ("missing issuer", lambda d: mutate(d, ["issuer"], None, delete=True), ["issuer"]),
        ("issuer not https", lambda d: mutate(d, ["issuer"], "ftp://x"), ["issuer"]),
        ("missing database url", lambda d: mutate(d, ["database", "url"], None, delete=True), ["database.url"]),
        ("encryption key not 32 bytes", lambda d: mutate(d, ["keys", "encryption_key"], "c2hvcnQ="),
         ["keys.encryption_key"]),
        ("log level unknown", lambda d: mutate(d, ["log", "level"], "loud"), ["log.level"]),
        # Below every Argon2id setting OWASP lists (7 MiB x 5 passes at the least).
        ("argon2 memory under 7 MiB", lambda d: mutate(d, ["oidc", "argon2_m_kib"], 4096), ["oidc.argon2_m_kib"]),
        ("argon2 19 MiB with one pass", lambda d: mutate(d, ["oidc", "argon2_t"], 1), ["oidc.argon2_t"]),
    ]
    for label, fn, needles in cases:
        doc = fn(copy.deepcopy(BASE))
        path = os.path.join(env.dir, re.sub(r"\W+", "_", label) + ".json")
        with open(path, "w") as f:
            json.dump(doc, f)
        for cmd in (["serve"], ["migrate"]):
            check_refused("%s (%s)" % (label, cmd[0]), regain(cmd, path), *needles)

    missing = os.path.join(env.dir, "no-such-config.json")
    check_refused("unreadable file", regain(["serve"], missing), "no-such-config.json")
    check_refused("config path is a directory", regain(["serve"], env.dir), os.path.basename(env.dir))
    bad = os.path.join(env.dir, "malformed.json")
    with open(bad, "w") as f:
        f.write('{"issuer": "https://localhost:8443",, }')
    check_refused("malformed JSON", regain(["serve"], bad), "malformed.json")
    trunc = os.path.join(env.dir, "truncated.json")
    with open(trunc, "w") as f:
        f.write(json.dumps(BASE)[:-20])
    check_refused("truncated JSON", regain(["migrate"], trunc), "truncated.json")
    notobj = os.path.join(env.dir, "array.json")
    with open(notobj, "w") as f:
        f.write("[1, 2]")
    check_refused("top level not an object", regain(["serve"], notobj), "array.json", "object")

    # Environment overrides satisfy a missing key.
    doc = mutate(copy.deepcopy(BASE), ["database", "url"], None, delete=True)
    doc = mutate(doc, ["keys", "encryption_key"], None, delete=True)
    path = os.path.join(env.dir, "env-override.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    p = regain(["migrate"], path, env={"REGAIN_DATABASE_URL": env.db_url, "REGAIN_KEY_ENCRYPTION_KEY": key})
    check("REGAIN_DATABASE_URL / REGAIN_KEY_ENCRYPTION_KEY replace missing keys (migrate exits 0)",
          p.returncode == 0, "exit %s\n%s" % (p.returncode, p.stderr))
    p = regain(["migrate"], path, env={"REGAIN_DATABASE_URL": env.db_url, "REGAIN_KEY_ENCRYPTION_KEY": "zz-not-a-key-zz"})
    check_refused("bad REGAIN_KEY_ENCRYPTION_KEY", p, "REGAIN_KEY_ENCRYPTION_KEY", "encryption_key")
    check("the bad key value is not echoed", "zz-not-a-key-zz" not in p.stderr, p.stderr)

    # OWASP's lowest-memory Argon2id setting (7 MiB, 5 passes) is accepted.
    doc = mutate(copy.deepcopy(BASE), ["database", "url"], env.db_url)
    doc = mutate(doc, ["keys", "encryption_key"], key)
    doc["oidc"] = {"argon2_m_kib": 7168, "argon2_t": 5}
    path = os.path.join(env.dir, "argon2-low-memory.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    p = regain(["migrate"], path)
    check("argon2_m_kib 7168 with argon2_t 5 is accepted (migrate exits 0)", p.returncode == 0,
          "exit %s\n%s" % (p.returncode, p.stderr))

    # The configuration README.md shows, as a deployment would fill it in:
    # every key it documents is accepted (server.worker_threads was refused
    # as unknown, so the README's own example did not start).
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")) as f:
        readme = f.read()
    shown = re.search(r"```json\n(\{\n  \"issuer\".*?)```", readme, re.S)
    check("README.md shows a whole configuration", shown is not None, "")
    if shown:
        doc = json.loads(shown.group(1))
        doc = mutate(doc, ["database", "url"], env.db_url)
        doc = mutate(doc, ["keys", "encryption_key"], key)
        os.makedirs(os.path.join(env.dir, "readme", "tls"), exist_ok=True)
        for name, src in (("cert.pem", env.cert), ("key.pem", env.key)):
            with open(src) as a, open(os.path.join(env.dir, "readme", "tls", name), "w") as b:
                b.write(a.read())
        path = os.path.join(env.dir, "readme", "regain.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        p = regain(["config", "check"], path)
        check("README.md's configuration passes regain config check (exit %s)" % p.returncode, p.returncode == 0,
              p.stderr[-1500:])

    # CLI surface.
    p = run_regain("version")
    check_eq("regain version exits 0", p.returncode, 0)
    check("regain version prints a version", re.search(r"\d+\.\d+", p.stdout) is not None, p.stdout + p.stderr)
    for cmd in (["serve"], ["migrate"], ["keys", "rotate"], ["version"]):
        p = run_regain(*(cmd + ["--help"]))
        out = p.stdout + p.stderr
        check_eq("regain %s --help exits 0" % " ".join(cmd), p.returncode, 0)
        if cmd != ["version"]:
            check("regain %s --help prints usage" % " ".join(cmd), "usage" in out.lower(), out[:500])
        if cmd != ["version"]:
            check("regain %s --help mentions --config" % " ".join(cmd), "--config" in out, out[:500])
    p = run_regain("--help")
    check("regain --help exits 0 and lists commands",
          p.returncode == 0 and all(c in p.stdout + p.stderr for c in ("serve", "migrate", "keys")),
          p.stdout + p.stderr)
    p = run_regain("frobnicate")
    check_eq("unknown command exits 2", p.returncode, 2)
    p = run_regain("serve")
    check("serve without --config fails", p.returncode != 0, p.stderr)


if __name__ == "__main__":
    run(main)
