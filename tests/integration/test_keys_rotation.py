"""`regain keys rotate` publishes a new signing key without a restart, keeps
the old one published (tokens already issued still verify), and the private
keys in signing_keys are stored encrypted, never as plaintext."""

import re

from harness import check, check_eq, curl, psql, require, run, wait_until, SLOW

# Plaintext private-key shapes: PEM armour, a JWK private member, and the
# DER prefixes of SEC1 / PKCS#8 P-256 keys (as hex, as psql prints bytea, and
# as base64, as a text column would hold them).
PLAINTEXT = [
    re.compile(r"-----BEGIN"),
    re.compile(r"PRIVATE KEY"),
    re.compile(r'"d"\s*:'),
    re.compile(r"30770201010420", re.I),
    re.compile(r"308187020100301306072a8648ce3d0201", re.I),
    re.compile(r"MHcCAQEEI"),
    re.compile(r"MIGHAgEAMBMGByqGSM49AgEG"),
]


def kids(srv, alg="ES256"):
    """The published kids of one algorithm (regain keeps an ES256 and an RS256 set)."""
    r = curl("--http1.1", srv.http("/jwks.json"))
    doc = r.json() or {}
    return [k.get("kid") for k in doc.get("keys", []) if k.get("alg") == alg], r


def main(env):
    srv = env.regain({"keys": {"refresh_interval_ms": 500}})
    first, r = kids(srv)
    require("fresh database: JWKS has exactly one ES256 key", len(first) == 1, r.describe())
    old = first[0]

    p = srv.cli("keys", "rotate")
    check("regain keys rotate exits 0", p.returncode == 0, "exit %d\n%s" % (p.returncode, p.stderr))

    got = wait_until(lambda: (lambda ks: ks if len(ks) >= 2 else None)(kids(srv)[0]), 5 * SLOW, interval=0.2)
    got = got or kids(srv)[0]
    new = [k for k in got if k != old]
    check("a new kid is published within a few refresh intervals", len(new) == 1, repr(got))
    check("the old kid is still published", old in got, repr(got))
    check_eq("JWKS has two keys after one rotation", len(got), 2)
    # Over HTTP/2 as well (each loop thread has its own cache).
    for _ in range(4):
        r = curl("--http2", "-k", srv.https("/jwks.json"))
        ks = [k.get("kid") for k in (r.json() or {}).get("keys", []) if k.get("alg") == "ES256"]
        if sorted(ks) != sorted(got):
            break
    check("every thread serves the rotated JWKS (4 x h2)", sorted(ks) == sorted(got), "%r vs %r" % (ks, got))

    # A second process against the same database sees the same keys at start.
    other = env.regain({"keys": {"refresh_interval_ms": 500}})
    ks2, r = kids(other)
    check("another regain process publishes the same keys", sorted(ks2) == sorted(got), "%r vs %r" % (ks2, got))
    other.stop()

    # Storage: nothing that looks like a plaintext private key.
    rc, rows, err = psql(env.db_url, "select count(*) from signing_keys where alg = 'ES256'")
    require("signing_keys table readable", rc == 0, err)
    check_eq("signing_keys holds two ES256 keys", rows and rows[0][0], "2")
    rc, rows, err = psql(env.db_url, "select row_to_json(s)::text from signing_keys s")
    require("signing_keys rows readable as JSON", rc == 0 and rows, err)
    text = "\n".join(r[0] for r in rows)
    for pat in PLAINTEXT:
        m = pat.search(text)
        check("signing_keys holds no plaintext private key (%s)" % pat.pattern, m is None,
              "matched near: %r" % text[max(0, m.start() - 40):m.end() + 40] if m else "")
    check("the published kids are stored", old in text and all(k in text for k in new), text[:500])

    # A wrong encryption key must not silently produce a new plaintext-readable
    # key or crash: rotate with another key either fails cleanly or succeeds;
    # serve with it must not start signing with garbage.
    srv.stop()


if __name__ == "__main__":
    run(main)
