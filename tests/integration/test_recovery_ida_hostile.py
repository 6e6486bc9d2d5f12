"""Hostile but correctly signed results from an `oidc-ida` provider (issue 7):
the ID token's signature, issuer, audience and nonce are right, and what it
carries is odd. regain must read it strictly and never crash on it.

  - verification.time not an RFC 3339 date-time (§5.6: time-offset is
    "Z" or "+HH:MM" / "-HH:MM", every field two digits): a short offset
    ("+5:00", which the parser once read past the end of the string, a heap
    over-read under ASan) or a signed field ("-1" seconds, which sscanf took
    for a number) is a malformed result, the attempt fails, no TAP;
  - audiences (OpenID Connect Core §3.1.3.7 steps 3-5): the token "MUST be
    rejected if the ID Token does not list the Client as a valid audience,
    or if it contains additional audiences not trusted by the Client", and
    regain trusts no other audience; "If an azp (authorized party) Claim is
    present, the Client SHOULD verify that its client_id is the Claim
    Value". Before, a second audience passed when azp named regain, and
    azp was not looked at beside a single audience;
  - exp at the largest JSON integer (RFC 7519 §4.1.4: the token is good
    until then): the expiry check once added the clock skew to it, a signed
    overflow (UBSan stops the server), and the token is accepted.

The server must answer every attempt and stop cleanly with no sanitizer
report (the harness checks its stderr)."""

import re
import time
import urllib.parse

from harness import check, check_eq, require, run
from idv_provider import IdvProvider
from recovery_fixture import Browser, Directory, default_policy, follow_provider, start

ANNA = {"given_name": "Anna", "family_name": "Smith", "birthdate": "1990-04-01"}


def main(env):
    with IdvProvider(env.cert, env.key) as idp:
        run_tests(env, idp)


def run_tests(env, idp):
    srv = env.regain({"providers": [{"id": "idv", "type": "oidc-ida", "display_name": "Identity check",
                                     "issuer": idp.issuer, "client_id": idp.client_id,
                                     "client_secret": idp.client_secret, "ca_file": "../cert.pem",
                                     "timeout_ms": 5000}]})
    d = Directory(env.db_url)
    d.add_group()
    d.add_client()
    anna = d.add_user("anna", "Anna", "Smith", "1990-04-01")
    d.set_policy(default_policy(["idv"]))
    addr = [60]

    def attempt(name, mutate):
        addr[0] += 1
        b = Browser(srv, "127.0.0.%d" % addr[0])
        idp.identity = {"claims": ANNA, "txn": "hostile-%d" % addr[0]}
        idp.mutate = mutate
        before = d.taps_of(anna)
        rid, page, started = start(b, d, "anna", "idv")
        require("%s: POST /recover redirects to the provider" % name, started.status == 303, started)
        status, back = follow_provider(started.header("location") or "")
        require("%s: the provider redirects back" % name, status == 302 and back.startswith(srv.issuer),
                (status, back))
        u = urllib.parse.urlsplit(back)
        out = b.get(u.path + "?" + u.query)
        check_eq("%s: the callback answers" % name, out.status, 200)
        aid, state, reason, matched = d.last_attempt()
        return out, (state, reason), d.taps_of(anna) - before

    def with_time(text):
        def mutate(payload):
            payload["verified_claims"]["verification"]["time"] = text
        return mutate

    def fresh(offset_s=30):
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - offset_s))

    # the reference: a well-formed result gets its TAP (so a refusal below is the time's doing)
    out, st, taps = attempt("well-formed time", with_time(fresh() + "Z"))
    check_eq("well-formed time: tap_issued, one TAP", (st, taps), (("tap_issued", ""), 1))
    out, st, taps = attempt("time with a +HH:MM offset", with_time(
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3600 - 30)) + "+01:00"))
    check_eq("time with a +01:00 offset: tap_issued", (st, taps), (("tap_issued", ""), 1))

    # offsets shorter than +HH:MM: the parser used to step six bytes past the sign
    for text in (fresh() + "+5:00", fresh() + "+5:0", fresh() + "-0:0"):
        out, st, taps = attempt("time %r" % text, with_time(text))
        check_eq("time %r: failed malformed_result, no TAP" % text, (st, taps), (("failed", "malformed_result"), 0))
        check("time %r: the neutral outcome page" % text, "recovery-outcome" in out.text, out)

    # fields that are not two digits: "-1" seconds is no time of day
    stamp = fresh()
    for text in (stamp[:17] + "-1Z", stamp[:11] + "+" + stamp[12:] + "Z", " " + stamp[1:] + "Z"):
        out, st, taps = attempt("time %r" % text, with_time(text))
        check_eq("time %r: failed malformed_result, no TAP" % text, (st, taps), (("failed", "malformed_result"), 0))

    # audiences: exactly regain, and azp, when present, regain too
    def claims_of(**kv):
        def mutate(payload):
            payload.update(kv)
        return mutate
    cid = idp.client_id
    for label, kv, want in (
            ("aud [regain]", {"aud": [cid]}, (("tap_issued", ""), 1)),
            ("aud [regain] with azp regain", {"aud": [cid], "azp": cid}, (("tap_issued", ""), 1)),
            ("aud regain with azp another client", {"aud": cid, "azp": "other-rp"},
             (("failed", "wrong_audience"), 0)),
            ("aud [regain] with azp another client", {"aud": [cid], "azp": "other-rp"},
             (("failed", "wrong_audience"), 0)),
            ("aud [regain, another client] with azp regain", {"aud": [cid, "other-rp"], "azp": cid},
             (("failed", "wrong_audience"), 0)),
            ("aud [another client, regain] without azp", {"aud": ["other-rp", cid]},
             (("failed", "wrong_audience"), 0))):
        out, st, taps = attempt(label, claims_of(**kv))
        check_eq("%s: %s" % (label, want[0][0] + (" " + want[0][1] if want[0][1] else "")), (st, taps), want)

    # exp at the top of the int64 range: a valid, long-lived token
    def far_exp(payload):
        payload["exp"] = 2 ** 63 - 1
    out, st, taps = attempt("exp 2^63-1", far_exp)
    check_eq("exp 2^63-1: tap_issued (not expired, no overflow)", (st, taps), (("tap_issued", ""), 1))
    check("exp 2^63-1: the TAP is shown", re.search(r'<output id="tap">[^<]+</output>', out.text), out)

    def old_exp(payload):
        payload["exp"] = -(2 ** 63)
    out, st, taps = attempt("exp -2^63", old_exp)
    check_eq("exp -2^63: failed token_expired", (st, taps), (("failed", "token_expired"), 0))

    check("the server is still up", srv.alive(), srv.stderr()[-2000:])
    srv.stop()


run(main)
