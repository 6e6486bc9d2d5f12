"""Discovery and JWKS are sent from where they live, without a copy
(gw_reply_borrowed): GET and HEAD over HTTP/1.1, h2c and h2 answer the same
length, HEAD without a body; the JWKS request holds the key set it sends from
and drops it when it ends, so a key rotation while requests come and go frees
the old set exactly once (a missing release shows as a leak and a doubled one
as a use after free in the sanitizer build, which Regain.stop() checks)."""

from harness import check, check_eq, curl, run, wait_until, SLOW

PATHS = ("/.well-known/openid-configuration", "/jwks.json")


def modes(srv, path):
    return (("HTTP/1.1", ["--http1.1", srv.http(path)]),
            ("h2c", ["--http2-prior-knowledge", srv.http(path)]),
            ("h2", ["--http2", "-k", srv.https(path)]))


def get_and_head(srv, tag):
    for path in PATHS:
        for label, args in modes(srv, path):
            g = curl(*args)
            check_eq("%s GET %s %s: 200" % (tag, path, label), g.status, 200)
            check("%s GET %s %s: a body" % (tag, path, label), len(g.body or b"") > 100, g.describe())
            h = curl("-I", *args)
            check_eq("%s HEAD %s %s: 200" % (tag, path, label), h.status, 200)
            check_eq("%s HEAD %s %s: content-length of the GET body" % (tag, path, label),
                     h.header("content-length"), str(len(g.body or b"")))
            check("%s HEAD %s %s: request id" % (tag, path, label), bool(h.header("x-request-id")), h.describe())


def es256_kids(srv):
    r = curl("--http1.1", srv.http("/jwks.json"))
    return sorted(k.get("kid") for k in (r.json() or {}).get("keys", []) if k.get("alg") == "ES256")


def main(env):
    srv = env.regain({"keys": {"refresh_interval_ms": 300}})
    get_and_head(srv, "before rotation")
    before = es256_kids(srv)
    p = srv.cli("keys", "rotate")
    check("regain keys rotate exits 0", p.returncode == 0, p.stderr)
    after = wait_until(lambda: (lambda k: k if len(k) > len(before) else None)(es256_kids(srv)), 5 * SLOW,
                       interval=0.2) or es256_kids(srv)
    check("the rotated key set is served", len(after) == len(before) + 1, "%r -> %r" % (before, after))
    get_and_head(srv, "after rotation")
    srv.stop()


if __name__ == "__main__":
    run(main)
