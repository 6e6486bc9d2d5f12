"""A TAP minted by verified recovery obeys the tenant's Temporary Access
Pass policy like one an administrator issues (issue 6, issue 7): the
policy's isUsableOnce ("all the passes in the tenant will be restricted to
one-time use", Microsoft Graph's temporaryAccessPassAuthenticationMethod-
Configuration) and its minimum / maximum lifetime bound the recovery
policy's own tap settings. Before, recovery took its tap.isUsableOnce and
tap.lifetimeInMinutes as they were, so a recovery policy could mint a
reusable or month-long pass that the TAP policy forbids (the admin API
refuses the same request with 400).

Real parts: regain over TLS, PostgreSQL, the dev provider, the TAP sign-in
form."""

import json
import re

from harness import check_eq, require, run
from recovery_fixture import Browser, Directory, default_policy, field_value, start
from tap_fixture import Browser as TapBrowser

ANNA = {"given_name": "Anna", "family_name": "Smith", "birthdate": "1990-04-01"}


def tap_policy(**over):
    doc = {"state": "enabled", "defaultLength": 16, "defaultLifetimeInMinutes": 60, "minimumLifetimeInMinutes": 10,
           "maximumLifetimeInMinutes": 43200, "isUsableOnce": True, "maxFailedAttempts": 5}
    doc.update(over)
    return doc


def main(env):
    srv = env.regain({"providers": [{"id": "dev", "type": "dev", "display_name": "Simulated check"}]})
    d = Directory(env.db_url)
    d.add_group()
    d.add_client()
    anna = d.add_user("anna", "Anna", "Smith", "1990-04-01")
    addr = [80]

    def put(kind, doc):
        d.sql("select o_status from policy_put('%s', '%s'::jsonb, NULL, 'test', NULL, NULL)"
              % (kind, json.dumps(doc).replace("'", "''")))

    def recover(name):
        """One dev-provider recovery for anna: the TAP shown, and its row."""
        addr[0] += 1
        b = Browser(srv, "127.0.0.%d" % addr[0])
        rid, page, started = start(b, d, "anna", "dev")
        loc = started.header("location") or ""
        require("%s: the start redirects to the dev provider" % name, started.status == 303 and "handle=" in loc,
                started)
        dev = b.get(loc)
        form = {"state": field_value(dev.text, "state") or "", "trust_framework": "dev"}
        form.update(ANNA)
        done = b.post("/recover/callback", form)
        tap = re.search(r'<output id="tap">([^<]+)</output>', done.text)
        require("%s: the TAP is shown" % name, done.status == 200 and tap, done)
        row = d.sql("select is_usable_once, lifetime_minutes from taps where user_id = '%s' and revoked_at is null"
                    % anna)[0]
        return tap.group(1), (row[0] == "t", int(row[1]))

    def sign_ins(tap):
        """How many of two sign-ins with `tap` succeed."""
        ok = 0
        for i in range(2):
            addr[0] += 1
            tb = TapBrowser(env, srv, "127.0.0.%d" % addr[0])
            r = tb.sign_in_tap(tap)
            ok += r.status == 303
        return ok

    # the TAP policy makes every pass one-time; the recovery policy asks for a reusable one
    put("temporaryAccessPass", tap_policy(isUsableOnce=True))
    put("recovery", default_policy(["dev"], tap={"lifetimeInMinutes": 60, "isUsableOnce": False, "length": 16}))
    tap, row = recover("one-time TAP policy")
    check_eq("one-time TAP policy, recovery asks for reusable: the recovered TAP is one-time", row, (True, 60))
    check_eq("... and signs in once only", sign_ins(tap), 1)

    # the TAP policy's lifetime bounds
    put("temporaryAccessPass", tap_policy(isUsableOnce=False, minimumLifetimeInMinutes=10,
                                          maximumLifetimeInMinutes=30, defaultLifetimeInMinutes=20))
    put("recovery", default_policy(["dev"], tap={"lifetimeInMinutes": 600, "isUsableOnce": True, "length": 16}))
    tap, row = recover("maximum lifetime 30")
    check_eq("TAP policy maximum 30 minutes, recovery asks 600: 30 minutes", row, (True, 30))
    put("temporaryAccessPass", tap_policy(isUsableOnce=False, minimumLifetimeInMinutes=90,
                                          maximumLifetimeInMinutes=600, defaultLifetimeInMinutes=120))
    put("recovery", default_policy(["dev"], tap={"lifetimeInMinutes": 60, "isUsableOnce": True, "length": 16}))
    tap, row = recover("minimum lifetime 90")
    check_eq("TAP policy minimum 90 minutes, recovery asks 60: 90 minutes", row, (True, 90))

    # where the TAP policy allows it, the recovery policy's choices stand
    put("temporaryAccessPass", tap_policy(isUsableOnce=False))
    put("recovery", default_policy(["dev"], tap={"lifetimeInMinutes": 45, "isUsableOnce": False, "length": 16}))
    tap, row = recover("permissive TAP policy")
    check_eq("a TAP policy allowing reusable passes: the recovery policy's reusable 45 minutes", row, (False, 45))
    check_eq("... which signs in twice", sign_ins(tap), 2)
    srv.stop()


run(main)
