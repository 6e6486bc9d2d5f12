"""A provider's trust anchors (`ca_file`) are loaded when regain starts
(prov_registry_init, providers/http.c prov_http_preload), not read from disk
on an event loop at the first outbound call.

The test starts regain with a copy of the provider's CA certificate, then
deletes the copy: the recovery that follows must still reach the provider
over verified TLS and end with a TAP. Before, the first call read the file
then, and with it gone the attempt failed ("cannot load the CA file")."""

import os
import shutil
import urllib.parse

from harness import check_eq, require, run
from idv_provider import IdvProvider
from recovery_fixture import Browser, Directory, default_policy, follow_provider, start

ANNA = {"given_name": "Anna", "family_name": "Smith", "birthdate": "1990-04-01"}


def main(env):
    with IdvProvider(env.cert, env.key) as idp:
        run_tests(env, idp)


def run_tests(env, idp):
    copy = os.path.join(os.path.dirname(env.cert), "ca-copy.pem")
    shutil.copyfile(env.cert, copy)
    srv = env.regain({"providers": [{"id": "idv", "type": "oidc-ida", "display_name": "Identity check",
                                     "issuer": idp.issuer, "client_id": idp.client_id,
                                     "client_secret": idp.client_secret, "ca_file": "../ca-copy.pem",
                                     "timeout_ms": 5000}]})
    os.unlink(copy)
    d = Directory(env.db_url)
    d.add_group()
    d.add_client()
    anna = d.add_user("anna", "Anna", "Smith", "1990-04-01")
    d.set_policy(default_policy(["idv"]))

    b = Browser(srv, "127.0.0.70")
    idp.identity = {"claims": ANNA, "txn": "preload-1"}
    _, _, started = start(b, d, "anna", "idv")
    require("with the CA file gone, POST /recover still redirects to the provider", started.status == 303,
            started)
    status, back = follow_provider(started.header("location") or "")
    require("the provider redirects back", status == 302 and back.startswith(srv.issuer), (status, back))
    u = urllib.parse.urlsplit(back)
    out = b.get(u.path + "?" + u.query)
    check_eq("the callback answers", out.status, 200)
    _, state, reason, _ = d.last_attempt()
    check_eq("the attempt ends with a TAP (the token and JWKS calls verified TLS with the loaded anchors)",
             (state, reason, d.taps_of(anna)), ("tap_issued", "", 1))
    srv.stop()


if __name__ == "__main__":
    run(main)
