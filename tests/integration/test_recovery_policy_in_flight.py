"""A recovery policy change reaches the attempts already in flight: an
administrator who disables recovery, switches it to evaluation or withdraws
a provider while a person is at the provider must stop that attempt from
getting a TAP, not only the attempts that start later. The callback applies
the policy as it is then (rejected recovery_disabled / provider_not_allowed,
evaluation: matched and no TAP), and recovery_issue_tap (schema/040) refuses
on its own in the statement that would mint the pass.

Real parts: regain over TLS, PostgreSQL, the stand-in OpenID Provider
(tests/integration/idv_provider.py), the admin API for every policy change."""

import urllib.parse

from harness import check, check_eq, require, run
from idv_provider import IdvProvider
from recovery_fixture import Browser, Directory, default_policy, follow_provider, start
from tap_fixture import Admin


def main(env):
    with IdvProvider(env.cert, env.key) as idp:
        run_tests(env, idp)


def run_tests(env, idp):
    def provider(pid):
        return {"id": pid, "type": "oidc-ida", "issuer": idp.issuer, "client_id": idp.client_id,
                "client_secret": idp.client_secret, "ca_file": "../cert.pem", "timeout_ms": 5000}

    srv = env.regain({"providers": [provider("idv"), provider("other")]})
    d = Directory(env.db_url)
    d.add_group()
    d.add_client()
    anna = d.add_user("anna", "Anna", "Smith", "1990-04-01")
    admin = Admin(srv)

    def put(doc):
        r = admin.call("PUT", "/admin/v1/recovery/policy", doc)
        require("PUT /admin/v1/recovery/policy (%s)" % doc.get("mode"), r.status == 200, r.describe())

    ANNA = {"given_name": "Anna", "family_name": "Smith", "birthdate": "1990-04-01"}
    addr = [60]

    def attempt(name, change):
        """Starts under an enabled policy, applies `change` while the person is
        at the provider, comes back: (page, state, reason, TAPs minted)."""
        put(default_policy(["idv", "other"]))
        addr[0] += 1
        b = Browser(srv, "127.0.0.%d" % addr[0])
        idp.identity = {"claims": ANNA}
        before = d.taps_of(anna)
        rid, page, started = start(b, d, "anna", "idv")
        require("%s: POST /recover redirects to the provider" % name, started.status == 303, started)
        if change is not None:
            put(change)
        status, back = follow_provider(started.header("location") or "")
        require("%s: the provider redirects back" % name, status == 302 and back.startswith(srv.issuer),
                (status, back))
        u = urllib.parse.urlsplit(back)
        out = b.get(u.path + "?" + u.query)
        aid, state, reason, matched = d.last_attempt()
        evs = d.events(aid)
        check("%s: the audit log's last event carries the reason" % name,
              evs and evs[-1][2] == reason, (evs, reason))
        return out, state, reason, d.taps_of(anna) - before

    # the control: nothing changes, a TAP
    out, state, reason, minted = attempt("unchanged policy", None)
    check_eq("unchanged policy: tap_issued, one TAP", (state, minted), ("tap_issued", 1))

    out, state, reason, minted = attempt("disabled meanwhile", default_policy(["idv", "other"], mode="disabled"))
    check_eq("disabled meanwhile: rejected recovery_disabled", (state, reason), ("rejected", "recovery_disabled"))
    check("... the neutral outcome", out.status == 200 and "recovery-outcome" in out.text, out)
    check_eq("... no TAP", minted, 0)

    out, state, reason, minted = attempt("provider withdrawn meanwhile", default_policy(["other"]))
    check_eq("provider withdrawn meanwhile: rejected provider_not_allowed", (state, reason),
             ("rejected", "provider_not_allowed"))
    check_eq("... no TAP", minted, 0)

    out, state, reason, minted = attempt("evaluation meanwhile", default_policy(["idv", "other"], mode="evaluation"))
    check_eq("evaluation meanwhile: matched (the flow runs, audited)", state, "matched")
    check_eq("... no TAP", minted, 0)

    # ---- recovery_issue_tap refuses on its own (defence in depth) ----------------------
    def issue(evaluation=False, provider="idv"):
        aid = d.sql("insert into recovery_attempts (state, provider_id, matched_user, evaluation, expires_at) "
                    "values ('matched', '%s', '%s', %s, now() + interval '10 minutes') returning id"
                    % (provider, anna, "true" if evaluation else "false"))[0][0]
        st = d.sql("select o_status from recovery_issue_tap('%s', '%s', '\\x%s'::bytea, NULL, 60, true, 16, "
                   "'system', '127.0.0.1', 'test', 'urn:regain:acr:verified-recovery')"
                   % (aid, anna, aid.replace("-", "")))[0][0]
        row = d.sql("select state, coalesce(reason, ''), tap_id is not null from recovery_attempts "
                    "where id = '%s'" % aid)[0]
        return [st] + row

    put(default_policy(["idv", "other"]))
    check_eq("recovery_issue_tap, enabled and the provider allowed: a TAP",
             issue(), ["ok", "tap_issued", "", "t"])
    check_eq("... not for an evaluation attempt", issue(evaluation=True),
             ["evaluation_mode", "rejected", "evaluation_mode", "f"])
    put(default_policy(["other"]))
    check_eq("... not for a provider the policy no longer lists", issue(),
             ["provider_not_allowed", "rejected", "provider_not_allowed", "f"])
    put(default_policy([]))
    check_eq("... an empty providers list allows every provider", issue()[0], "ok")
    put(default_policy(["idv", "other"], mode="evaluation"))
    check_eq("... not in evaluation mode", issue(), ["evaluation_mode", "rejected", "evaluation_mode", "f"])
    put(default_policy(["idv", "other"], mode="disabled"))
    check_eq("... not when recovery is disabled", issue(), ["recovery_disabled", "rejected", "recovery_disabled", "f"])
    events = d.sql("select count(*) from audit_events where type = 'recovery.rejected' "
                   "and reason in ('recovery_disabled', 'evaluation_mode', 'provider_not_allowed')")[0][0]
    check("... each refusal is audited", int(events) >= 5, events)
    srv.stop()


run(main)
