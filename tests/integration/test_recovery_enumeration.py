"""Starting a recovery must not tell whether a username exists. The
per-account rate limit is the place it could: were only names of real
accounts counted, the attempt past the limit would get the neutral page at
once for a real name and still go to the provider for a made-up one. Both
are counted by the name typed (case folded), so both behave alike."""

from harness import check_eq, run
from recovery_fixture import Browser, Directory, default_policy, start


def main(env):
    srv = env.regain({"providers": [{"id": "dev", "type": "dev", "display_name": "Simulated check"}]})
    d = Directory(env.db_url)
    d.add_group()
    d.add_client()
    d.add_user("vera", "Vera", "Lind", "1980-03-04")
    d.set_policy(default_policy(["dev"], rateLimits={"perAccount": {"max": 1, "windowSeconds": 3600},
                                                      "perAddress": {"max": 50, "windowSeconds": 3600}}))

    def outcome(name, src):
        """303 (sent to the provider) or 200 (the neutral page), and the reason stored."""
        _, _, r = start(Browser(srv, src), d, name, "dev")
        return r.status, d.last_attempt()[2]

    seen = {}
    for name, other in (("vera", "VERA"), ("nobody-here", "Nobody-Here")):
        first = outcome(name, "127.0.0.81")
        second = outcome(other, "127.0.0.82")
        seen[name] = (first, second)
    check_eq("a real name: the first attempt goes to the provider, the next is limited",
             seen["vera"], ((303, ""), (200, "rate_limited")))
    check_eq("a name of nobody: exactly the same", seen["nobody-here"], seen["vera"])


if __name__ == "__main__":
    run(main)
