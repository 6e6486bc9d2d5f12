"""A userName is 1 to 256 characters (schema/002_oidc.sql, RFC 7643), so up
to 1 KiB of UTF-8. The password sign-in counted the name typed against 256
bytes: an account named with 200 "é" (400 bytes) got "Sign-in failed" with
the right password, and a login_hint that long was not shown on the page.
`regain user add` counted bytes too, while the schema counts characters."""

from authorize_browser import REDIRECT, Browser, authorize_params, field_value, pkce, setup_fixtures
from harness import check, check_eq, require, run


def main(env):
    srv = env.regain()
    setup_fixtures(srv, env.db_url)
    for i, name in enumerate(("é" * 200, "😀" * 256)):
        label = "%d characters, %d bytes" % (len(name), len(name.encode()))
        p = srv.cli("user", "add", "--username", name, "--password", "long name pw %d" % i)
        require("user add, a userName of %s" % label, p.returncode == 0, p.stderr)

        b = Browser(srv, "127.0.0.%d" % (90 + i))
        page = b.get("/authorize", authorize_params(pkce()[1], login_hint=name))
        require("the sign-in page", page.status == 200 and field_value(page.text, "request"), page)
        check_eq("%s: the login_hint fills the username field" % label, field_value(page.text, "username"), name)
        r = b.sign_in(page, name, "long name pw %d" % i)
        loc = r.header("location") or ""
        check("%s: the right password signs in, back to the relying party with a code" % label,
              r.status == 303 and loc.startswith(REDIRECT + "?") and "code=" in loc, r)

    p = srv.cli("user", "add", "--username", "é" * 257, "--password", "x")
    check_eq("user add: 257 characters is a usage error", p.returncode, 2)
    check("... the message counts characters", "1 to 256 characters" in p.stderr, p.stderr)
    srv.stop()


run(main)
