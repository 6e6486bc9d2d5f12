"""Every command has --help (README): `regain <command> [<action>] ... --help`
prints that command's usage to stdout and exits 0, wherever --help stands,
without a config file or a database.  `client add --help` used to require
--config and connect to the database before the tool saw --help."""

import os

from harness import check, check_eq, run, run_regain

# (arguments before --help, what the usage must mention)
CASES = [
    (["serve"], "regain serve"),
    (["migrate"], "regain migrate"),
    (["keys"], "regain keys rotate"),
    (["keys", "rotate"], "regain keys rotate"),
    (["config"], "regain config check"),
    (["config", "check"], "regain config check"),
    (["client"], "regain client add"),
    (["client", "add"], "--redirect-uri"),
    (["client", "add", "--id", "web", "--json"], "--redirect-uri"),
    (["client", "list"], "regain client list"),
    (["client", "remove", "web"], "regain client remove"),
    (["user", "add"], "--username"),
    (["user", "add", "--username", "alice"], "--password-stdin"),
    (["tap", "issue", "alice"], "regain tap issue"),
    (["tap", "list", "alice"], "regain tap list"),
    (["tap", "revoke", "alice"], "regain tap revoke"),
    (["purge", "--json"], "--batch"),
    (["version"], "regain version"),
]


def main(env):
    # A config path that does not exist: --help must not read it.
    missing = os.path.join(env.dir, "no-such-config.json")
    for args, needle in CASES:
        for flag in ("--help", "-h"):
            for extra in ([], ["--config", missing]):
                argv = args + [flag] + extra
                label = "regain %s%s" % (" ".join(args + [flag]), " --config MISSING" if extra else "")
                p = run_regain(*argv, timeout=10)
                check_eq("%s: exit status 0" % label, p.returncode, 0)
                check("%s: usage on stdout" % label, p.stdout.startswith("usage: regain ") and needle in p.stdout,
                      "want %r in stdout:\n%s" % (needle, p.stdout[:1500]))
                check("%s: nothing on stderr" % label, p.stderr == "", p.stderr[:1500])

    # Usage errors still go to stderr with exit status 2.
    p = run_regain("client", "add", timeout=10)
    check_eq("regain client add without --config: exit status 2", p.returncode, 2)
    check("regain client add without --config: says --config is required", "--config" in p.stderr, p.stderr)
    p = run_regain("client", timeout=10)
    check_eq("regain client without an action: exit status 2", p.returncode, 2)
    check("regain client without an action: usage on stderr, not stdout",
          "usage:" in p.stderr and p.stdout == "", "stdout: %r\nstderr: %r" % (p.stdout, p.stderr))
    p = run_regain("config", "frobnicate", timeout=10)
    check_eq("regain config frobnicate: exit status 2", p.returncode, 2)


if __name__ == "__main__":
    run(main, database=False)
