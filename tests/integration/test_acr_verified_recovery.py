"""A relying party that asks for urn:regain:acr:verified-recovery (acr_values
or an essential acr claim) must not be answered by an ordinary sign-in: a
browser with a live password session is sent to recovery, not back with a
code asserting acr password (which a relying party that did not check the
acr claim would take for a verified identity). Without that acr, the same
session gets its code at once, which shows the session is a good one."""

import json
import urllib.parse

from harness import check, check_eq, run
from methods_fixture import plant_session
from tap_fixture import REDIRECT, Browser, add_client, add_user, authorize_path, pkce, sql

ACR = "urn:regain:acr:verified-recovery"


def main(env):
    srv = env.regain()
    uid = add_user(env, "walt")
    add_client(env, "rp1")
    b = Browser(env, srv, "127.0.0.91")
    plant_session(b, env, env.db_url, uid)
    sql(env, "UPDATE sessions SET acr = 'urn:regain:acr:password', amr = '{pwd}' WHERE user_id = '%s'" % uid)
    _, challenge = pkce()

    def location(extra=None):
        r = b.get(authorize_path("rp1", challenge, extra))
        return r.status, r.header("location") or ""

    status, loc = location()
    check("no acr asked: the session answers with a code",
          status in (302, 303) and loc.startswith(REDIRECT) and "code=" in loc, (status, loc))

    status, loc = location({"acr_values": ACR})
    check("acr_values verified-recovery: sent to /recover, no code",
          status == 303 and loc.startswith("/recover?request=") and "code=" not in loc, (status, loc))

    claims = json.dumps({"id_token": {"acr": {"essential": True, "value": ACR}}})
    status, loc = location({"claims": claims})
    check("an essential acr claim verified-recovery: no code for the password session",
          not loc.startswith(REDIRECT) and "code=" not in loc, (status, loc))

    status, loc = location({"acr_values": ACR, "prompt": "none"})
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    check_eq("prompt=none: an error to the relying party, no code",
             (loc.startswith(REDIRECT), "code" in q, bool(q.get("error"))), (True, False, True))


if __name__ == "__main__":
    run(main)
