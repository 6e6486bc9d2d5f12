"""`regain keys rotate` with a keys.encryption_key (or
REGAIN_KEY_ENCRYPTION_KEY) that does not open the stored signing keys changes
nothing and exits 2 with one line saying so.

Before the fix it sealed a new key with the wrong key-encryption key and
retired an old one: running gateways could no longer load the key set, and a
restarted gateway did not start."""

import base64
import json
import os

from harness import check, check_eq, run, run_regain, require
from keys_fixture import Admin, accepts, kids, sql, wait_kids


def main(env):
    a = env.regain({"keys": {"refresh_interval_ms": 300}})
    admin = Admin(a)
    at = admin.token(a)
    state = "SELECT (to_jsonb(s) - 'private_key' - 'public_jwk')::text FROM signing_keys s ORDER BY kid"
    before = sql(env, state)
    published = kids(a), kids(a, "RS256")
    other = base64.b64encode(os.urandom(32)).decode()

    wrong = dict(a.config, keys=dict(a.config["keys"], encryption_key=other))
    path = os.path.join(a.dir, "wrong-kek.json")
    with open(path, "w") as f:
        json.dump(wrong, f)
    for label, p in (("keys.encryption_key", run_regain("keys", "rotate", "--config", path)),
                     ("REGAIN_KEY_ENCRYPTION_KEY", a.cli("keys", "rotate", env={"REGAIN_KEY_ENCRYPTION_KEY": other})),
                     ("--force with " + "keys.encryption_key", run_regain("keys", "rotate", "--force", "--config",
                                                                           path))):
        check_eq("rotate with the wrong %s: exit status 2" % label, p.returncode, 2)
        lines = p.stderr.strip().splitlines()
        check("... one line on stderr naming keys.encryption_key",
              len(lines) == 1 and "keys.encryption_key" in lines[0] and "nothing changed" in lines[0], p.stderr)
        check_eq("... nothing on stdout", p.stdout, "")
        check_eq("... signing_keys unchanged", sql(env, state), before)

    # The gateway goes on as before, and can restart.
    wait_kids(a, lambda k: False, 1)  # a few polls
    check_eq("the gateway publishes the same keys", (kids(a), kids(a, "RS256")), published)
    check_eq("its tokens still work", accepts(a, at), 200)
    a.stop()
    a.spawn()
    ok, detail = a.wait_healthy()
    require("the gateway restarts", ok, detail)
    check_eq("... with the same keys", (kids(a), kids(a, "RS256")), published)

    # The right key still rotates.
    p = a.cli("keys", "rotate")
    check_eq("rotate with the right key: exit status 0", p.returncode, 0)
    got = wait_kids(a, lambda k: len(k) == 2)
    check("... and the gateway loads the new key", len(got) == 2, repr(got))
    a.stop()


if __name__ == "__main__":
    run(main)
