"""Every recovery policy the admin API accepts is the policy recovery runs
(issue 6 validates it, issue 7 reads it): a value the validator allows must
not be dropped by the reader, above all where an empty list means "any".

  - evidence.trustFrameworks and evidence.assuranceLevels take strings of
    up to 128 characters (a trust framework may well be named by a URI);
    the reader kept only those under 64 and dropped the rest, so a policy
    naming one long framework accepted every framework ("none: any"), and
    one naming one long assurance level every level;
  - providers[].id takes up to 64 characters; the reader dropped one of 64
    from the id list but not from the per-provider groups, so the groups of
    the next provider moved onto the one after it, and a provider limited
    to some groups could be used by every eligible account.

Real parts: regain over TLS, the admin API (PUT /admin/v1/recovery/policy),
PostgreSQL, the dev provider."""

import re

from harness import check_eq, require, run
from recovery_fixture import Browser, Directory, default_policy, field_value, start
from tap_fixture import Admin

ANNA = {"given_name": "Anna", "family_name": "Smith", "birthdate": "1990-04-01"}
LONG_TF = "https://trust.example/frameworks/national-digital-identity/attributes/level-high/2024"
LONG_AL = "https://trust.example/assurance/identity-proofing/remote-with-document-and-liveness-check"
OTHER_GROUP = "0b7c58a4-3a0e-4a9f-8d3c-2f6e1c9b5a11"


def main(env):
    srv = env.regain({"providers": [{"id": "dev", "type": "dev", "display_name": "Simulated check"}]})
    d = Directory(env.db_url)
    d.add_group()
    d.add_client()
    d.sql("insert into groups (id, display_name) values ('%s', 'someone else')" % OTHER_GROUP)
    anna = d.add_user("anna", "Anna", "Smith", "1990-04-01")
    admin = Admin(srv)
    require("the long names are 65 to 128 characters", 64 < len(LONG_TF) <= 128 and 64 < len(LONG_AL) <= 128)
    addr = [100]

    def put(doc):
        r = admin.call("PUT", "/admin/v1/recovery/policy", doc)
        require("PUT /admin/v1/recovery/policy accepts it", r.status == 200, r.describe())

    def recover(name, trust_framework="dev", assurance_level="substantial"):
        addr[0] += 1
        b = Browser(srv, "127.0.0.%d" % addr[0])
        before = d.taps_of(anna)
        rid, page, started = start(b, d, "anna", "dev")
        loc = started.header("location") or ""
        require("%s: the start redirects to the dev provider" % name, started.status == 303 and "handle=" in loc,
                started)
        dev = b.get(loc)
        form = {"state": field_value(dev.text, "state") or "", "trust_framework": trust_framework,
                "assurance_level": assurance_level}
        form.update(ANNA)
        done = b.post("/recover/callback", form)
        require("%s: the callback answers 200" % name, done.status == 200, done)
        aid, state, reason, matched = d.last_attempt()
        shown = re.search(r'<output id="tap">', done.text) is not None
        return state, reason, d.taps_of(anna) - before, shown

    # ---- one long trust framework ------------------------------------------------------
    put(default_policy(["dev"], evidence={"trustFrameworks": [LONG_TF], "assuranceLevels": [],
                                          "maxAgeSeconds": 600}))
    check_eq("trust frameworks [an 85-character URI]: the framework 'dev' is refused",
             recover("other framework"), ("rejected", "evidence_trust_framework", 0, False))
    check_eq("... the listed one is accepted", recover("listed framework", trust_framework=LONG_TF),
             ("tap_issued", "", 1, True))

    # ---- one long assurance level ------------------------------------------------------
    put(default_policy(["dev"], evidence={"trustFrameworks": [], "assuranceLevels": [LONG_AL],
                                          "maxAgeSeconds": 600}))
    check_eq("assurance levels [an 89-character URI]: 'low' is refused",
             recover("other level", assurance_level="low"), ("rejected", "evidence_assurance_level", 0, False))
    check_eq("... the listed one is accepted", recover("listed level", assurance_level=LONG_AL),
             ("tap_issued", "", 1, True))

    # ---- a 64-character provider id before a provider limited to other groups ----------
    def with_providers(providers):
        doc = default_policy(["dev"])
        doc["providers"] = providers
        return doc

    put(with_providers([{"id": "p" * 64}, {"id": "dev", "groups": [OTHER_GROUP]}]))
    check_eq("dev limited to another group, after a 64-character id: anna may not use it",
             recover("provider groups"), ("rejected", "provider_not_allowed", 0, False))
    put(with_providers([{"id": "p" * 64}, {"id": "dev"}]))
    check_eq("... and without the limit she may", recover("no provider groups"), ("tap_issued", "", 1, True))

    # ---- lists: what the API accepts is what recovery keeps ---------------------------
    groups = ["00000000-0000-4000-8000-%012d" % i for i in range(1, 17)]
    for g in groups:
        d.sql("insert into groups (id, display_name) values ('%s', 'g') on conflict do nothing" % g)
    d.sql("delete from group_members where member_id = '%s'" % anna)
    d.sql("insert into group_members (group_id, member_id, member_type) values ('%s', '%s', 'User')"
          % (groups[15], anna))
    doc = default_policy(["dev"])
    doc["eligibleGroups"] = groups
    put(doc)
    check_eq("16 eligible groups, anna in the 16th: a TAP", recover("16th group"), ("tap_issued", "", 1, True))

    def refused(label, doc, field):
        r = admin.call("PUT", "/admin/v1/recovery/policy", doc)
        check_eq("%s: 400 naming %s" % (label, field), (r.status, (r.json() or {}).get("field")), (400, field))

    doc = default_policy(["dev"])
    doc["eligibleGroups"] = groups + ["00000000-0000-4000-8000-000000000017"]
    refused("17 eligible groups", doc, "eligibleGroups")
    doc = default_policy(["dev"])
    doc["providers"] = [{"id": "dev", "groups": groups + ["00000000-0000-4000-8000-000000000017"]}]
    refused("a provider limited to 17 groups", doc, "providers[0].groups")
    doc = default_policy(["dev"])
    doc["matching"]["rules"] = doc["matching"]["rules"] * 3
    refused("9 matching rules", doc, "matching.rules")
    check_eq("... and the policy in force is still the last one accepted", recover("after the refusals"),
             ("tap_issued", "", 1, True))
    srv.stop()


run(main)
