"""A gateway shown a token naming a key it does not have checks for new keys
at once (OIDC Core 1.0 §10.1.1: the verifier "knows to go back to the jwks_uri
location to re-retrieve the keys when it sees an unfamiliar kid value"),
without blocking its loop and at most once a second.

This matters after `regain keys rotate --force` (a compromised key), where
the new key signs at once: a gateway polling once an hour refused every token
of the gateways that had switched until its next poll, an hour later."""

import time

from harness import SLOW, check, check_eq, require, run
from keys_fixture import Admin, accepted_soon, accepts, kid_of, kids, unknown_kid_token, wait_kids

MARK = "checking for new signing keys"


def main(env):
    a = env.regain({"keys": {"refresh_interval_ms": 300}})
    b = env.regain({"issuer": a.issuer, "keys": {"refresh_interval_ms": 3600000}, "log": {"level": "debug"}})
    admin = Admin(a)
    old = kid_of(admin.token(a))

    p = a.cli("keys", "rotate", "--force")
    require("regain keys rotate --force exits 0", p.returncode == 0, "exit %d\n%s" % (p.returncode, p.stderr))
    got = wait_kids(a, lambda k: len(k) == 1 and k[0] != old)
    require("the rotating gateway publishes only the new key", len(got) == 1 and got[0] != old, repr(got))
    new = got[0]
    at = admin.token(a)
    check_eq("--force: the new key signs at once", kid_of(at), new)
    check("the hourly gateway has not polled yet", kids(b) == [old], repr(kids(b)))

    first = accepts(b, at)
    check("the hourly gateway accepts the token within moments of seeing its kid", accepted_soon(b, at, 5),
          "first answer %d, and no 200 within 5 s" % first)
    check("... and now publishes the new key, not the retired one", kids(b) == [new], repr(kids(b)))

    # A stream of made-up kids for 2.5 s asks for one check a second.
    time.sleep(1.2)
    before = b.stderr().count(MARK)
    t0 = time.time()
    statuses = []
    while time.time() - t0 < 2.5:
        statuses.append(accepts(b, unknown_kid_token()))
    elapsed = time.time() - t0
    check("tokens naming unknown keys are refused (%d)" % len(statuses), all(s == 401 for s in statuses),
          repr(statuses))
    time.sleep(0.5 * SLOW)  # the log is written by a thread of its own
    asked = b.stderr().count(MARK) - before
    check("the hourly gateway checked again while they came (%d in %.1f s)" % (asked, elapsed), asked >= 2,
          b.stderr()[-1500:])
    check("... at most once a second", asked <= int(elapsed) + 1, b.stderr()[-1500:])
    check_eq("the valid token still works", accepts(b, at), 200)
    b.stop()
    a.stop()


if __name__ == "__main__":
    run(main)
