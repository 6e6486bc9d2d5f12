"""A signing key replaced by `regain keys rotate` stays published, and keeps
verifying the tokens it signed, until they have expired (OIDC Core 1.0
§10.1.1: the JWK Set "SHOULD retain recently decommissioned signing keys for
a reasonable period of time"): the longest token lifetime + the 300 s
max-age of /jwks.json + one refresh interval after the new key signs. An
algorithm keeps at most 4 published keys; `--force` retires the others at
once (a compromised key).

Before the fix a second rotation retired the previous-but-one key at once:
its access and ID tokens, valid for up to a day, failed everywhere."""

from harness import check, check_eq, require, run
from keys_fixture import Admin, accepts, activate_now, key_rows, kid_of, kids, near, since, sql, wait_kids, \
    wait_signing

TTL = 900  # oidc.access_token_ttl_s and id_token_ttl_s here
KEEP = 0.3 + TTL + 300


def rotate(srv, *extra):
    p = srv.cli("keys", "rotate", *extra)
    return p


def main(env):
    a = env.regain({"keys": {"refresh_interval_ms": 300},
                    "oidc": {"access_token_ttl_s": TTL, "id_token_ttl_s": 600}})
    admin = Admin(a)
    rs256 = kids(a, "RS256")
    at0 = admin.token(a)
    k0 = kid_of(at0)

    p = rotate(a)
    require("first rotation exits 0", p.returncode == 0, p.stderr)
    k1 = [k for k in wait_kids(a, lambda k: len(k) == 2) if k != k0]
    require("first rotation: a new key is published", len(k1) == 1, repr(kids(a)))
    k1 = k1[0]
    activate_now(env, k1)
    require("the new key signs once its time has come", wait_signing(a, admin, k1), repr(kids(a)))
    at1 = admin.token(a)
    end_of = "SELECT coalesce(retired_at::text, 'unset') FROM signing_keys WHERE kid = '%s'"
    k0_end = sql(env, end_of % k0)[0][0]

    # The second rotation: k0, which signed at0, is the previous-but-one key.
    p = rotate(a)
    require("second rotation exits 0", p.returncode == 0, p.stderr)
    got = wait_kids(a, lambda k: len(k) == 3)
    k2 = [k for k in got if k not in (k0, k1)]
    check("second rotation: three keys are published", len(got) == 3 and len(k2) == 1, repr(got))
    check("the previous-but-one key is still published", k0 in got, repr(got))
    check_eq("a token it signed still works", accepts(a, at0), 200)
    check_eq("a token of the previous key works", accepts(a, at1), 200)
    check_eq("the previous key still signs until the new one's time", kid_of(admin.token(a)), k1)
    check_eq("the previous-but-one key keeps the end the first rotation gave it",
             sql(env, end_of % k0)[0][0], k0_end)
    rows = key_rows(env)
    near("the first rotation gave it the wait of the new key + the longest token lifetime + 300 s + a poll",
         since(rows[k0]["retired"], rows[k1]["created"]), 2 * 0.3 + 300 + KEEP)
    if k2:
        near("the previous key leaves the set as long after the new one signs",
             since(rows[k1]["retired"], rows[k2[0]]["activates"]), KEEP)
    check_eq("RS256 keys are untouched", kids(a, "RS256"), rs256)

    # Its time passes (moved forward here): it leaves the set and verifies no more.
    sql(env, "UPDATE signing_keys SET retired_at = now() WHERE kid = '%s'" % k0)
    got = wait_kids(a, lambda k: k0 not in k)
    check("a key whose tokens have expired leaves the set at the next poll", k0 not in got, repr(got))
    check_eq("... and its tokens are refused", accepts(a, at0), 401)

    # At most 4 published keys of one algorithm.
    for n in (3, 4):
        p = rotate(a)
        check("rotation up to %d published keys exits 0" % n, p.returncode == 0, p.stderr)
    published = [k for k, v in key_rows(env).items() if v["published"]]
    check_eq("four ES256 keys are published", len(published), 4)
    p = rotate(a)
    check_eq("a rotation to a fifth published key is refused with exit status 1", p.returncode, 1)
    check("... saying when the oldest leaves, and naming --force", "4 published keys" in p.stderr and
          "--force" in p.stderr, p.stderr)
    check_eq("... and adds no key", sorted(k for k, v in key_rows(env).items() if v["published"]),
             sorted(published))
    got = wait_kids(a, lambda k: len(k) == 4)
    check_eq("the gateway publishes the four", sorted(got), sorted(published))
    check_eq("a token of the signing key still works", accepts(a, at1), 200)

    # --force: the new key signs now and every other ES256 key is retired.
    p = rotate(a, "--force")
    require("rotate --force exits 0", p.returncode == 0, p.stderr)
    got = wait_kids(a, lambda k: len(k) == 1)
    check("after --force one ES256 key is published", len(got) == 1 and got[0] not in published, repr(got))
    check("... and signs at once", wait_signing(a, admin, got[0] if got else None), kids(a))
    check_eq("tokens of the retired keys are refused", accepts(a, at1), 401)
    check_eq("RS256 keys are untouched by --force --alg ES256", kids(a, "RS256"), rs256)
    a.stop()


if __name__ == "__main__":
    run(main)
