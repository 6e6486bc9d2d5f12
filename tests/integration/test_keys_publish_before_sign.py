"""`regain keys rotate` publishes the new signing key at once and signs with
it only later (OIDC Core 1.0 §10.1.1): 2 x keys.refresh_interval_ms + the
300 s max-age of /jwks.json after the rotation, so every gateway has loaded it
and no cached /jwks.json lacks it before a token names it.

Before the fix the new key signed as soon as one gateway had loaded it: a
gateway polling less often (here hourly) refused that gateway's tokens ("token
signed by an unknown key"), and its /jwks.json did not list their kid."""

from harness import check, check_eq, curl, require, run
from keys_fixture import Admin, accepts, activate_now, key_rows, kid_of, kids, near, since, wait_kids, \
    wait_signing


def main(env):
    a = env.regain({"keys": {"refresh_interval_ms": 500}})
    # Another gateway of the same deployment, polling for keys once an hour.
    b = env.regain({"issuer": a.issuer, "keys": {"refresh_interval_ms": 3600000}})
    admin = Admin(a)
    at0 = admin.token(a)
    old = kid_of(at0)
    require("one ES256 key, which signs", kids(a) == [old], repr(kids(a)))
    check_eq("the other gateway accepts it", accepts(b, at0), 200)

    p = a.cli("keys", "rotate")
    require("regain keys rotate exits 0", p.returncode == 0, "exit %d\n%s" % (p.returncode, p.stderr))
    check("it says when the new key starts signing", "signs from" in p.stdout, p.stdout)
    got = wait_kids(a, lambda k: len(k) == 2)
    new = [k for k in got if k != old]
    require("the new key is published within a few refresh intervals", len(new) == 1 and old in got, repr(got))
    new = new[0]

    # The gateway that has loaded the new key still signs with the old one,
    # which every gateway has.
    at1 = admin.token(a)
    check_eq("a token issued right after the rotation names the old key", kid_of(at1), old)
    check_eq("the gateway that has not reloaded accepts it", accepts(b, at1), 200)
    check("... and its /jwks.json lists the key that signed it", kid_of(at1) in kids(b), repr(kids(b)))
    check_eq("the rotating gateway accepts it", accepts(a, at1), 200)
    r = curl("--http1.1", a.http("/jwks.json"))
    check_eq("/jwks.json may be cached for the 300 s the wait counts with", r.header("cache-control"),
             "public, max-age=300")
    rows = key_rows(env)
    near("it signs 2 x refresh_interval_ms + 300 s after it was created",
         since(rows[new]["activates"], rows[new]["created"]), 2 * 0.5 + 300)
    check("the old key is given no end before the new one signs",
          (since(rows[old]["retired"], rows[new]["activates"]) or 0) > 0, repr(rows))

    # Its time comes (moved forward here): the gateway switches at its next poll.
    activate_now(env, new)
    check("the new key signs once its time has come", wait_signing(a, admin, new, 5), "still %s" % old)
    at2 = admin.token(a)
    check_eq("a token of the new key works", accepts(a, at2), 200)
    check_eq("a token of the old key still works", accepts(a, at0), 200)
    check("the old key stays published", old in kids(a), repr(kids(a)))

    # A restarted gateway comes up with the same choice.
    a.stop()
    a.spawn()
    ok, detail = a.wait_healthy()
    require("the rotating gateway restarts", ok, detail)
    check_eq("after a restart the new key signs", kid_of(admin.token(a)), new)
    b.stop()
    a.stop()

    # Before any gateway ever ran there is no key whose tokens could be
    # about: a rotation then signs at once, as the first key would.
    c = env.regain({"database": {"url": env.new_database("fresh")}}, start=False)
    c.migrate()
    p = c.cli("keys", "rotate")
    check("a rotation on an empty key set signs at once", p.returncode == 0 and "(in 0 s)" in p.stdout,
          p.stdout + p.stderr)
    c.spawn()
    ok, detail = c.wait_healthy()
    require("a gateway starts on it", ok, detail)
    check_eq("... and signs with that key", kids(c), [kid_of(Admin(c).token(c))])
    c.stop()


if __name__ == "__main__":
    run(main)
