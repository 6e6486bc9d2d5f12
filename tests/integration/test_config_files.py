"""The files a configuration names are checked by `regain config check` and by
`regain serve` before anything starts: a TLS certificate or key that is
missing, unreadable, not PEM or not a pair, a provider's private_key_file or
ca_file, a webhook's ca_file.  Each is refused with exit status 2 and one
stderr line naming the config key and the file.  `config check` used to parse
the file only, and `serve` failed later (after the database) with exit 1; a
broken ca_file went unnoticed until the first call to the provider."""

import copy
import json
import os
import subprocess

from harness import check, check_eq, run, run_regain, sh, skip

BASE = {
    "issuer": "https://localhost:8443",
    "dev_mode": False,
    # serve must refuse before it connects: nothing listens here.
    "database": {"url": "host=/nonexistent user=regain dbname=regain", "pool_size": 2, "query_timeout_ms": 5000},
    "listen": [{"address": "127.0.0.1", "port": 1, "tls": {"certificate_file": "cert.pem", "key_file": "key.pem"}},
               {"address": "127.0.0.1", "port": 2}],
    "keys": {"encryption_key": "", "refresh_interval_ms": 10000},
    "providers": [{"id": "idv", "type": "oidc-ida", "issuer": "https://idv.example", "client_id": "regain",
                   "private_key_file": "client-key.pem", "ca_file": "ca.pem"}],
    "recovery": {"notification_webhook": {"url": "https://hooks.example/recovery", "ca_file": "ca.pem"}},
}


def regain(cmd, path):
    try:
        return run_regain(*(cmd + ["--config", path]), timeout=10)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, "timeout", "", "did not exit within 10 s (started anyway?)")


def openssl(*args):
    p = sh(["openssl"] + list(args))
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), p.stderr))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main(env):
    d = os.path.join(env.dir, "files")
    os.makedirs(d)
    BASE["keys"]["encryption_key"] = __import__("base64").b64encode(os.urandom(32)).decode()
    cert = os.path.join(d, "cert.pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", os.path.join(d, "key.pem"), "-out", cert, "-days", "2", "-subj", "/CN=localhost")
    with open(cert) as f:
        cert_pem = f.read()
    write(os.path.join(d, "ca.pem"), cert_pem)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
            os.path.join(d, "client-key.pem"))
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
            os.path.join(d, "other-key.pem"))
    # Not a key regain can sign with (P-384).
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out",
            os.path.join(d, "p384-key.pem"))
    write(os.path.join(d, "garbage.pem"), "this is not PEM\n")
    os.makedirs(os.path.join(d, "a-directory.pem"))
    unreadable = os.path.join(d, "unreadable.pem")
    write(unreadable, cert_pem)
    os.chmod(unreadable, 0)

    def config(name, edit=None):
        doc = copy.deepcopy(BASE)
        if edit:
            edit(doc)
        path = os.path.join(d, name + ".json")
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    good = config("good")
    p = regain(["config", "check"], good)
    check("all files good: config check exits 0 (got %s)" % p.returncode, p.returncode == 0, p.stderr[-1500:])
    p = regain(["serve"], good)
    check("all files good: serve gets past the files (exit 1 at the database, got %s)" % p.returncode,
          p.returncode == 1 and "database" in p.stderr, p.stderr[-1500:])

    def tls(field, value):
        return lambda doc: doc["listen"][0]["tls"].__setitem__(field, value)

    def provider(field, value):
        return lambda doc: doc["providers"][0].__setitem__(field, value)

    def webhook(value):
        return lambda doc: doc["recovery"]["notification_webhook"].__setitem__("ca_file", value)

    cases = [
        ("certificate missing", tls("certificate_file", "no-such-cert.pem"),
         "listen[0].tls.certificate_file", "no-such-cert.pem"),
        ("certificate is a directory", tls("certificate_file", "a-directory.pem"),
         "listen[0].tls.certificate_file", "a-directory.pem"),
        ("certificate not PEM", tls("certificate_file", "garbage.pem"),
         "listen[0].tls.certificate_file", "garbage.pem"),
        ("key missing", tls("key_file", "no-such-key.pem"), "listen[0].tls.key_file", "no-such-key.pem"),
        ("key not PEM", tls("key_file", "garbage.pem"), "listen[0].tls.key_file", "garbage.pem"),
        ("key not the certificate's", tls("key_file", "other-key.pem"), "listen[0].tls.key_file", "other-key.pem"),
        ("provider private_key_file missing", provider("private_key_file", "no-such-client-key.pem"),
         "providers[0].private_key_file", "no-such-client-key.pem"),
        ("provider private_key_file not PEM", provider("private_key_file", "garbage.pem"),
         "providers[0].private_key_file", "garbage.pem"),
        ("provider private_key_file P-384", provider("private_key_file", "p384-key.pem"),
         "providers[0].private_key_file", "p384-key.pem"),
        ("provider ca_file missing", provider("ca_file", "no-such-ca.pem"), "providers[0].ca_file", "no-such-ca.pem"),
        ("provider ca_file not PEM", provider("ca_file", "garbage.pem"), "providers[0].ca_file", "garbage.pem"),
        ("provider ca_file a directory", provider("ca_file", "a-directory.pem"), "providers[0].ca_file",
         "a-directory.pem"),
        ("webhook ca_file missing", webhook("no-such-hook-ca.pem"), "recovery.notification_webhook.ca_file",
         "no-such-hook-ca.pem"),
        ("webhook ca_file not PEM", webhook("garbage.pem"), "recovery.notification_webhook.ca_file", "garbage.pem"),
    ]
    if os.geteuid() != 0:
        cases.append(("certificate unreadable (mode 000)", tls("certificate_file", "unreadable.pem"),
                      "listen[0].tls.certificate_file", "unreadable.pem"))
        cases.append(("provider ca_file unreadable (mode 000)", provider("ca_file", "unreadable.pem"),
                      "providers[0].ca_file", "unreadable.pem"))
    else:
        skip("files of mode 000 are refused", "root reads them anyway")

    for i, (label, edit, key, name) in enumerate(cases):
        path = config("case%d" % i, edit)
        for cmd in (["config", "check"], ["serve"]):
            what = "%s (%s)" % (label, " ".join(cmd))
            p = regain(cmd, path)
            lines = [l for l in p.stderr.splitlines() if l.strip()]
            line = lines[0] if lines else ""
            check_eq("%s: exit status 2" % what, p.returncode, 2)
            check("%s: one stderr line" % what, len(lines) == 1, p.stderr[-1500:])
            check("%s: names %s and the file" % (what, key), line.startswith("regain: config: " + key) and name in line,
                  line)
            check("%s: nothing on stdout" % what, p.stdout == "", p.stdout[-500:])


if __name__ == "__main__":
    run(main, database=False)
