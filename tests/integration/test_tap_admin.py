"""Temporary Access Passes over the admin API (issue 6), shaped like Microsoft
Graph's temporaryAccessPassAuthenticationMethod: issue (the TAP shown once),
list, read, revoke; lifetime and start-time bounds; one-time forced by the
policy; replacement; the TAP policy and the recovery policy (versions, ETag,
If-Match, field-named validation errors); the audit log API (filters, cursor
pagination); the `regain tap` CLI; and the TAP never in a stored row, an
event, a later response or the server's logs."""

import json
import re
import uuid

from harness import check, check_eq, run
from tap_fixture import UUID_RE, Admin, add_user, now, sql

TAP_RE = r"[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}"


def field_error(name, r, field, status=400):
    b = r.json() or {}
    check("%s: %d naming %s" % (name, status, field),
          r.status == status and b.get("error") == "invalid_request" and b.get("field") == field
          and field in b.get("error_description", ""), r.describe())


def rfc3339(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def main(env):
    srv = env.regain()
    admin = Admin(srv)
    alice = add_user(env, "alice")
    add_user(env, "inactive", active=False)
    secrets = []  # every TAP shown, to look for later

    # ---- protection ---------------------------------------------------------------
    r = admin.call("GET", admin.taps_path(alice), token="x.y.z")
    check_eq("a bad bearer token: 401", r.status, 401)
    r = admin.call("GET", "/admin/v1/audit", token="x.y.z")
    check_eq("audit with a bad token: 401", r.status, 401)
    r = admin.call("GET", "/admin/v1/recovery/policy", token="x.y.z")
    check_eq("recovery policy with a bad token: 401", r.status, 401)

    # ---- the default TAP policy ---------------------------------------------------------
    r = admin.call("GET", "/admin/v1/policies/temporaryAccessPass")
    pol = r.json() or {}
    check("GET TAP policy: 200 with Graph's members and the defaults",
          r.status == 200 and pol.get("defaultLength") == 16 and pol.get("defaultLifetimeInMinutes") == 60
          and pol.get("minimumLifetimeInMinutes") == 10 and pol.get("maximumLifetimeInMinutes") == 43200
          and pol.get("isUsableOnce") is True and pol.get("state") == "enabled", r.describe())
    check_eq("... ETag names version 1", r.header("etag"), '"1"')

    # ---- issue ---------------------------------------------------------------------
    t0 = now()
    r = admin.issue(alice)
    b = r.json() or {}
    check_eq("POST temporaryAccessPassMethods: 201", r.status, 201)
    check("... no-store", r.header("cache-control") == "no-store", r.describe())
    tap1 = b.get("temporaryAccessPass", "")
    secrets.append(tap1)
    check("... the TAP: 16 characters of the unambiguous alphabet in groups of 4",
          re.fullmatch(TAP_RE, tap1), b)
    check("... Graph's members: one-time, 60 minutes, usable, EnabledByPolicy",
          b.get("isUsableOnce") is True and b.get("lifetimeInMinutes") == 60 and b.get("isUsable") is True
          and b.get("methodUsabilityReason") == "EnabledByPolicy" and re.fullmatch(UUID_RE, b.get("id", "")),
          b)
    check("... createdDateTime and startDateTime are now (RFC 3339)",
          re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b.get("startDateTime", ""))
          and abs(_epoch(b["startDateTime"]) - t0) < 30 and abs(_epoch(b.get("createdDateTime", "")) - t0) < 30, b)
    check_eq("... Location names the new TAP", r.header("location"),
             srv.issuer + admin.taps_path(alice, b.get("id")))
    tap1_id = b.get("id")
    rows = sql(env, "SELECT to_jsonb(t)::text, length(secret_hash) FROM taps t WHERE id = '%s'" % tap1_id)
    norm = tap1.replace("-", "")
    check("the stored row holds a 32-byte keyed hash, not the TAP",
          rows and rows[0][1] == "32" and norm not in rows[0][0] and tap1 not in rows[0][0], rows)

    r = admin.call("GET", admin.taps_path(alice))
    lst = (r.json() or {}).get("value", [])
    check("GET list: 200, the one TAP, without the secret",
          r.status == 200 and len(lst) == 1 and lst[0]["id"] == tap1_id and "temporaryAccessPass" not in lst[0]
          and norm not in r.text, r.describe())
    r = admin.call("GET", admin.taps_path(alice, tap1_id))
    check("GET one: 200 without the secret",
          r.status == 200 and (r.json() or {}).get("id") == tap1_id and "temporaryAccessPass" not in (r.json() or {})
          and norm not in r.text, r.describe())
    r = admin.call("GET", admin.taps_path("alice", tap1_id))
    check_eq("the user may be named by userName", r.status, 200)
    r = admin.call("GET", admin.taps_path(str(uuid.uuid4())))
    check_eq("an unknown user: 404", r.status, 404)
    r = admin.call("GET", admin.taps_path(alice, str(uuid.uuid4())))
    check_eq("an unknown TAP: 404", r.status, 404)
    r = admin.issue("inactive")
    check_eq("an inactive user gets no TAP: 404", r.status, 404)
    # RFC 9110 §15.5.6: a 405 names the methods of the resource asked for.
    for method, path, allow in (("PUT", admin.taps_path(alice, tap1_id), "GET, HEAD, DELETE"),
                                ("PATCH", admin.taps_path(alice, tap1_id), "GET, HEAD, DELETE"),
                                ("POST", admin.taps_path(alice, tap1_id), "GET, HEAD, DELETE"),
                                ("OPTIONS", admin.taps_path(alice, tap1_id), "GET, HEAD, DELETE"),
                                ("PUT", admin.taps_path(alice), "GET, HEAD, POST"),
                                ("DELETE", admin.taps_path(alice), "GET, HEAD, POST"),
                                ("OPTIONS", admin.taps_path(alice), "GET, HEAD, POST")):
        r = admin.call(method, path, {} if method in ("PUT", "PATCH", "POST") else None)
        check("%s on a TAP%s: 405, Allow: %s" % (method, "" if path.endswith(tap1_id) else "s collection", allow),
              r.status == 405 and r.header("allow") == allow, r.describe())

    # ---- bounds ---------------------------------------------------------------------
    field_error("lifetime 9 minutes", admin.issue(alice, {"lifetimeInMinutes": 9}), "lifetimeInMinutes")
    field_error("lifetime 43201 minutes", admin.issue(alice, {"lifetimeInMinutes": 43201}), "lifetimeInMinutes")
    field_error("lifetime not an integer", admin.issue(alice, {"lifetimeInMinutes": "60"}), "lifetimeInMinutes")
    field_error("lifetime -5", admin.issue(alice, {"lifetimeInMinutes": -5}), "lifetimeInMinutes")
    field_error("a start a day ago", admin.issue(alice, {"startDateTime": rfc3339(now() - 86400)}), "startDateTime")
    field_error("a start 31 days ahead", admin.issue(alice, {"startDateTime": rfc3339(now() + 31 * 86400)}),
                "startDateTime")
    field_error("a start that is no date", admin.issue(alice, {"startDateTime": "tomorrow"}), "startDateTime")
    field_error("isUsableOnce false under a one-time policy", admin.issue(alice, {"isUsableOnce": False}),
                "isUsableOnce")
    field_error("an unknown member", admin.issue(alice, {"lifetime": 60}), "lifetime")
    r = admin.call("POST", admin.taps_path(alice), "{not json")
    check_eq("a body that is not JSON: 400", r.status, 400)
    r = admin.call("GET", admin.taps_path(alice, tap1_id))
    check_eq("no rejected request replaced the TAP", r.status, 200)

    r = admin.issue(alice, {"lifetimeInMinutes": 10})
    check("lifetime 10 minutes (the minimum) is accepted",
          r.status == 201 and (r.json() or {}).get("lifetimeInMinutes") == 10, r.describe())
    secrets.append((r.json() or {}).get("temporaryAccessPass", ""))
    start = now() + 7200
    r = admin.issue(alice, {"lifetimeInMinutes": 43200, "startDateTime": rfc3339(start)})
    b = r.json() or {}
    secrets.append(b.get("temporaryAccessPass", ""))
    check("lifetime 43200 (30 days) starting in 2 hours is accepted",
          r.status == 201 and b.get("lifetimeInMinutes") == 43200 and _epoch(b.get("startDateTime", "")) == start,
          r.describe())
    check("... not yet usable: NotYetValid", b.get("isUsable") is False and b.get("methodUsabilityReason") ==
          "NotYetValid", b)
    check_eq("... it expires 30 days after its start", _epoch(b.get("expirationDateTime", "")), start + 43200 * 60)

    # ---- replacement and revocation -----------------------------------------------------
    late_id = b.get("id")
    r = admin.call("GET", admin.taps_path(alice))
    lst = (r.json() or {}).get("value", [])
    check("one active TAP per user: the list holds only the newest",
          len(lst) == 1 and lst[0]["id"] == late_id, r.describe())
    r = admin.call("GET", admin.taps_path(alice, tap1_id))
    check_eq("the replaced TAP is gone (404)", r.status, 404)
    rows = sql(env, "SELECT count(*) FROM taps WHERE user_id = '%s' AND revoked_at IS NULL" % alice)
    check_eq("... and one row is active in the database", rows[0][0], "1")
    ev = admin.events(user=alice, type="tap.replaced")
    check("tap.replaced events name the old and the new TAP",
          len(ev) == 2 and ev[-1]["detail"].get("tapId") == tap1_id and ev[0]["detail"].get("replacedBy") == late_id,
          ev)
    r = admin.call("DELETE", admin.taps_path(alice, late_id))
    check_eq("DELETE: 204", r.status, 204)
    r = admin.call("GET", admin.taps_path(alice, late_id))
    check_eq("... then GET: 404", r.status, 404)
    r = admin.call("DELETE", admin.taps_path(alice, late_id))
    check_eq("DELETE again: 404", r.status, 404)
    ev = admin.events(user=alice, type="tap.revoked")
    check("tap.revoked event with the actor and the client",
          len(ev) == 1 and ev[0]["detail"].get("tapId") == late_id and ev[0]["actor"] == "admin:admin-cli"
          and ev[0]["outcome"] == "success" and ev[0]["userAgent"] == "tap-tests/1"
          and ev[0]["clientAddress"] == "127.0.0.1", ev)
    ev = admin.events(user=alice, type="tap.issued")
    check_eq("a tap.issued event for each TAP issued", len(ev), 3)
    check("... with lifetime, one-time and length, never the TAP",
          ev and ev[0]["detail"].get("lifetimeInMinutes") == 43200 and ev[0]["detail"].get("length") == 16
          and ev[0]["detail"].get("isUsableOnce") is True, ev)

    # ---- the TAP policy -------------------------------------------------------------------
    P = "/admin/v1/policies/temporaryAccessPass"
    field_error("defaultLength 7", admin.call("PUT", P, {"defaultLength": 7}), "defaultLength")
    field_error("defaultLength 49", admin.call("PUT", P, {"defaultLength": 49}), "defaultLength")
    field_error("minimum 9", admin.call("PUT", P, {"minimumLifetimeInMinutes": 9}), "minimumLifetimeInMinutes")
    field_error("maximum 43201", admin.call("PUT", P, {"maximumLifetimeInMinutes": 43201}),
                "maximumLifetimeInMinutes")
    field_error("minimum above maximum",
                admin.call("PUT", P, {"minimumLifetimeInMinutes": 100, "maximumLifetimeInMinutes": 50,
                                      "defaultLifetimeInMinutes": 60}), "minimumLifetimeInMinutes")
    field_error("default outside min..max",
                admin.call("PUT", P, {"minimumLifetimeInMinutes": 30, "maximumLifetimeInMinutes": 120,
                                      "defaultLifetimeInMinutes": 20}), "defaultLifetimeInMinutes")
    field_error("state not enabled/disabled", admin.call("PUT", P, {"state": "on"}), "state")
    field_error("isUsableOnce not a boolean", admin.call("PUT", P, {"isUsableOnce": "yes"}), "isUsableOnce")
    field_error("an unknown member", admin.call("PUT", P, {"excludeTargets": []}), "excludeTargets")
    r = admin.call("GET", P)
    check_eq("no invalid PUT made a version", r.header("etag"), '"1"')
    newpol = {"minimumLifetimeInMinutes": 30, "maximumLifetimeInMinutes": 120, "defaultLifetimeInMinutes": 45,
              "isUsableOnce": False, "defaultLength": 24}
    r = admin.call("PUT", P, newpol, headers=['if-match: "2"'])
    check_eq("PUT with If-Match of another version: 412", r.status, 412)
    r = admin.call("PUT", P, newpol, headers=['if-match: "1"'])
    b = r.json() or {}
    check("PUT with If-Match of the current version: 200, version 2",
          r.status == 200 and b.get("version") == 2 and r.header("etag") == '"2"'
          and b.get("defaultLength") == 24 and b.get("isUsableOnce") is False, r.describe())
    ev = admin.events(type="policy.changed")
    check("policy.changed event: the TAP policy, version 2 after 1",
          ev and ev[0]["detail"] == {"policy": "temporaryAccessPass", "version": 2, "previousVersion": 1}
          and ev[0]["actor"] == "admin:admin-cli", ev)
    r = admin.issue(alice)
    b = r.json() or {}
    secrets.append(b.get("temporaryAccessPass", ""))
    check("the policy's defaults apply: 45 minutes, 24 characters (6 groups)",
          r.status == 201 and b.get("lifetimeInMinutes") == 45
          and re.fullmatch(r"[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){5}", b.get("temporaryAccessPass", "")), b)
    field_error("29 minutes under a 30..120 policy", admin.issue(alice, {"lifetimeInMinutes": 29}),
                "lifetimeInMinutes")
    field_error("121 minutes under a 30..120 policy", admin.issue(alice, {"lifetimeInMinutes": 121}),
                "lifetimeInMinutes")
    r = admin.issue(alice, {"isUsableOnce": False, "lifetimeInMinutes": 120})
    b = r.json() or {}
    secrets.append(b.get("temporaryAccessPass", ""))
    check("a multi-use TAP once the policy allows it", r.status == 201 and b.get("isUsableOnce") is False, b)
    r = admin.call("PUT", P, dict(newpol, state="disabled"))
    check_eq("the policy disabled: 200", r.status, 200)
    field_error("no TAP is issued while the policy is disabled", admin.issue(alice), "state")
    r = admin.call("GET", admin.taps_path(alice))
    lst = (r.json() or {}).get("value", [])
    check("... and the existing TAP shows DisabledByPolicy",
          lst and lst[0]["isUsable"] is False and lst[0]["methodUsabilityReason"] == "DisabledByPolicy", lst)
    r = admin.call("PUT", P, {})
    check("PUT {} restores every default (version 4)",
          r.status == 200 and (r.json() or {}).get("version") == 4 and (r.json() or {}).get("isUsableOnce") is True
          and (r.json() or {}).get("state") == "enabled", r.describe())

    r = admin.call("PATCH", P, {"defaultLength": 20})
    check("PATCH (as Graph updates it): 204, ETag of version 5", r.status == 204 and r.header("etag") == '"5"',
          r.describe())
    d = admin.call("GET", P).json() or {}
    check("... only the member given changed", d.get("defaultLength") == 20 and d.get("isUsableOnce") is True
          and d.get("defaultLifetimeInMinutes") == 60 and d.get("version") == 5, d)
    field_error("PATCH leaving the default outside the bounds",
                admin.call("PATCH", P, {"maximumLifetimeInMinutes": 30}), "defaultLifetimeInMinutes")
    r = admin.call("PATCH", P, {"defaultLength": 30}, headers=['if-match: "4"'])
    check_eq("PATCH with a stale If-Match: 412", r.status, 412)
    check_eq("... nothing changed", (admin.call("GET", P).json() or {}).get("defaultLength"), 20)
    r = admin.call("PATCH", "/admin/v1/recovery/policy", {"mode": "enabled"})
    check("PATCH on the recovery policy: 405 (PUT the whole document), Allow: GET, HEAD, PUT",
          r.status == 405 and r.header("allow") == "GET, HEAD, PUT", r.describe())
    r = admin.call("DELETE", P)
    check("DELETE on the TAP policy: 405, Allow: GET, HEAD, PUT, PATCH",
          r.status == 405 and r.header("allow") == "GET, HEAD, PUT, PATCH", r.describe())

    # ---- the recovery policy -------------------------------------------------------------
    R = "/admin/v1/recovery/policy"
    r = admin.call("GET", R)
    d = r.json() or {}
    check("GET recovery policy: version 1, ETag, mode disabled",
          r.status == 200 and d.get("version") == 1 and r.header("etag") == '"1"' and d.get("mode") == "disabled",
          r.describe())
    check("... the documented defaults",
          d.get("eligibleGroups") == [] and d.get("providers") == []
          and d.get("matching", {}).get("mode") == "exact"
          and [x["claim"] for x in d.get("matching", {}).get("rules", [])] == ["given_name", "family_name",
                                                                              "birthdate"]
          and d.get("evidence", {}).get("maxAgeSeconds") == 31536000
          and d.get("tap") == {"lifetimeInMinutes": 60, "isUsableOnce": True, "length": 16}
          and d.get("afterRecovery") == {"endSessions": True, "removeOldMethods": False}
          and d.get("rateLimits") == {"perAccount": {"max": 5, "windowSeconds": 3600},
                                      "perAddress": {"max": 20, "windowSeconds": 3600}}
          and d.get("attemptLifetimeSeconds") == 900, d)
    group = str(uuid.uuid4())
    bad_docs = [
        ({"mode": "on"}, "mode"),
        ({"eligibleGroups": ["staff"]}, "eligibleGroups[0]"),
        ({"eligibleGroups": [group, group]}, "eligibleGroups[1]"),
        ({"providers": [{"id": "dev"}, {"id": "dev"}]}, "providers[1].id"),
        ({"providers": [{"id": "dev", "groups": ["x"]}]}, "providers[0].groups[0]"),
        ({"providers": [{"name": "dev"}]}, "providers[0].name"),
        ({"matching": {"mode": "fuzzy"}}, "matching.mode"),
        ({"matching": {"rules": []}}, "matching.rules"),
        ({"matching": {"rules": [{"claim": "given_name"}]}}, "matching.rules[0].attribute"),
        ({"matching": {"rules": [{"claim": "bad claim", "attribute": "x"}]}}, "matching.rules[0].claim"),
        # name-shaped, but not an attribute recovery can compare
        ({"matching": {"rules": [{"claim": "birthdate", "attribute": "birthdate"},
                                 {"claim": "nick", "attribute": "nickName"}]}}, "matching.rules[1].attribute"),
        ({"matching": {"disambiguate": [{"claim": "nick", "attribute": "nickName"}]}},
         "matching.disambiguate[0].attribute"),
        # no birthdate or employee number to look an account up by
        ({"matching": {"rules": [{"claim": "given_name", "attribute": "name.givenName"},
                                 {"claim": "family_name", "attribute": "name.familyName"}]}}, "matching.rules"),
        ({"matching": {"webhook": {"url": "http://hook.example/m"}}}, "matching.webhook.url"),
        ({"matching": {"webhook": {"url": "https://hook.example/m", "timeoutMs": 50}}}, "matching.webhook.timeoutMs"),
        ({"matching": {"webhook": {"url": "https://hook.example/m", "onError": "retry"}}}, "matching.webhook.onError"),
        ({"evidence": {"maxAgeSeconds": 0}}, "evidence.maxAgeSeconds"),
        ({"evidence": {"trustFrameworks": "eidas"}}, "evidence.trustFrameworks"),
        ({"tap": {"length": 7}}, "tap.length"),
        ({"tap": {"lifetimeInMinutes": 43201}}, "tap.lifetimeInMinutes"),
        ({"tap": {"isUsableOnce": 1}}, "tap.isUsableOnce"),
        ({"afterRecovery": {"endSessions": "yes"}}, "afterRecovery.endSessions"),
        ({"rateLimits": {"perAccount": {"max": 0}}}, "rateLimits.perAccount.max"),
        ({"rateLimits": {"perAddress": {"windowSeconds": 1}}}, "rateLimits.perAddress.windowSeconds"),
        ({"attemptLifetimeSeconds": 10}, "attemptLifetimeSeconds"),
        ({"colour": "red"}, "colour"),
    ]
    for doc, field in bad_docs:
        field_error("recovery policy %s" % json.dumps(doc)[:70], admin.call("PUT", R, doc), field)
    check_eq("no invalid PUT made a version", admin.call("GET", R).header("etag"), '"1"')
    doc = {"mode": "evaluation", "eligibleGroups": [group],
           "providers": [{"id": "dev"}, {"id": "idp-1", "groups": [group]}],
           "matching": {"mode": "relaxed", "disambiguate": [
               {"claim": "employee_number",
                "attribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}],
               "webhook": {"url": "https://hook.example/match"}},
           "evidence": {"trustFrameworks": ["eidas"], "assuranceLevels": ["high"]},
           "tap": {"lifetimeInMinutes": 30}}
    r = admin.call("PUT", R, doc, headers=['if-match: W/"1"'])
    d = r.json() or {}
    check("PUT a partial document: 200, version 2, ETag \"2\"",
          r.status == 200 and d.get("version") == 2 and r.header("etag") == '"2"', r.describe())
    check("... stored complete: given members kept, the rest defaulted",
          d.get("mode") == "evaluation" and d.get("eligibleGroups") == [group]
          and d.get("providers") == [{"id": "dev"}, {"id": "idp-1", "groups": [group]}]
          and d.get("matching", {}).get("webhook") == {"url": "https://hook.example/match", "timeoutMs": 2000,
                                                        "onError": "reject"}
          and len(d.get("matching", {}).get("rules", [])) == 3
          and d.get("tap") == {"lifetimeInMinutes": 30, "isUsableOnce": True, "length": 16}
          and d.get("rateLimits", {}).get("perAddress", {}).get("max") == 20, d)
    rows = sql(env, "SELECT recovery_policy()->>'mode', recovery_policy()->'tap'->>'lifetimeInMinutes'")
    check_eq("recovery_policy() (what issue 7 reads) returns the new version", rows[0], ["evaluation", "30"])
    r = admin.call("PUT", R, {"mode": "enabled"}, headers=['if-match: "1"'])
    check_eq("a stale If-Match: 412", r.status, 412)
    check_eq("... with the current ETag", r.header("etag"), '"2"')
    r = admin.call("PUT", R, d)
    check("PUT back what GET returned (version and time included): 200, version 3",
          r.status == 200 and (r.json() or {}).get("version") == 3, r.describe())
    ev = admin.events(type="policy.changed")
    check("policy.changed events for the recovery policy, versions 2 and 3",
          [e["detail"].get("version") for e in ev if e["detail"].get("policy") == "recovery"] == [3, 2], ev)
    rows = sql(env, "SELECT count(*) FROM policy_versions WHERE kind = 'recovery'")
    check_eq("three recovery policy versions are kept", rows[0][0], "3")

    # ---- the CLI -------------------------------------------------------------------------
    bob = add_user(env, "bob")
    p = srv.cli("tap", "issue", "bob", "--lifetime", "20")
    tap20 = r"[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){4}"  # the policy's defaultLength is 20 now
    m = re.search(r"Temporary Access Pass: (%s)\n" % tap20, p.stdout)
    check("regain tap issue USER: exit 0, prints the TAP once, of the policy's length",
          p.returncode == 0 and m, p.stdout + p.stderr)
    if m:
        secrets.append(m.group(1))
    p = srv.cli("tap", "list", bob)
    check("regain tap list: the TAP without its secret",
          p.returncode == 0 and "valid to" in p.stdout and (not m or m.group(1) not in p.stdout), p.stdout + p.stderr)
    p = srv.cli("tap", "issue", "bob", "--json")
    j = json.loads(p.stdout) if p.returncode == 0 else {}
    secrets.append(j.get("temporaryAccessPass", ""))
    check("regain tap issue --json: Graph's object with the TAP", re.fullmatch(tap20, j.get("temporaryAccessPass", "")),
          p.stdout + p.stderr)
    p = srv.cli("tap", "issue", "bob", "--lifetime", "5")
    check("--lifetime 5: exit 2 naming lifetimeInMinutes", p.returncode == 2 and "lifetimeInMinutes" in p.stderr,
          p.stderr)
    p = srv.cli("tap", "issue", "bob", "--multi-use")
    check("--multi-use under a one-time policy: exit 2 naming isUsableOnce",
          p.returncode == 2 and "isUsableOnce" in p.stderr, p.stderr)
    p = srv.cli("tap", "issue", "nobody")
    check_eq("an unknown user: exit 1", p.returncode, 1)
    p = srv.cli("tap", "revoke", "bob")
    check("regain tap revoke USER: exit 0", p.returncode == 0 and "revoked" in p.stdout, p.stdout + p.stderr)
    p = srv.cli("tap", "revoke", "bob")
    check_eq("revoke with nothing left: exit 1", p.returncode, 1)
    ev = admin.events(user=bob)
    check("CLI actions are audited with actor cli (issued, replaced, revoked)",
          sorted(set(e["type"] for e in ev)) == ["tap.issued", "tap.replaced", "tap.revoked"]
          and all(e["actor"] == "cli" for e in ev), ev)

    # ---- the audit API ----------------------------------------------------------------------
    all_ev = admin.events(limit=500)
    ids = [int(e["id"]) for e in all_ev]
    check("events come newest first", ids == sorted(ids, reverse=True) and len(ids) > 10, ids)
    walked, cursor, pages = [], None, 0
    while pages < 50:
        q = {"limit": 3}
        if cursor:
            q["cursor"] = cursor
        r = admin.audit(**q)
        b = r.json() or {}
        walked += [int(e["id"]) for e in b.get("value", [])]
        pages += 1
        cursor = b.get("nextCursor")
        if not cursor:
            break
    check("cursor pagination (limit 3) walks every event once, in order", walked == ids, (walked, ids))
    check_eq("... in ceil(n/3) pages", pages, (len(ids) + 2) // 3)
    fam = admin.events(type="tap.*", limit=500)
    check("type=tap.* gives the TAP family only",
          fam and all(e["type"].startswith("tap.") for e in fam)
          and len(fam) == len([e for e in all_ev if e["type"].startswith("tap.")]), fam)
    mid = all_ev[len(all_ev) // 2]["time"]
    newer = admin.events(since=mid, limit=500)
    older = admin.events(until=mid, limit=500)
    check("since and until split the log at a time",
          len(newer) + len(older) == len(all_ev) and all(e["time"] >= mid for e in newer)
          and all(e["time"] < mid for e in older), (len(newer), len(older), len(all_ev)))
    check_eq("a user filter returns only that user's events", {e["subject"] for e in admin.events(user=alice)},
             {alice})
    field_error("audit user not a uuid", admin.audit(user="alice"), "user")
    field_error("audit type malformed", admin.audit(type="TAP USED"), "type")
    field_error("audit since not RFC 3339", admin.audit(since="yesterday"), "since")
    field_error("audit limit 501", admin.audit(limit=501), "limit")
    field_error("audit limit 0", admin.audit(limit=0), "limit")
    field_error("audit cursor forged", admin.audit(cursor="MTIz"), "cursor")
    field_error("audit unknown filter", admin.audit(actor="cli"), "actor")
    r = admin.call("DELETE", "/admin/v1/audit")
    check("DELETE /admin/v1/audit is refused (405), Allow: GET, HEAD",
          r.status == 405 and r.header("allow") == "GET, HEAD", r.describe())
    rows = sql(env, "SELECT count(*) FROM audit_events")
    check_eq("... nothing was deleted", int(rows[0][0]), len(all_ev))

    # ---- the TAP never again ---------------------------------------------------------------
    secrets = [s for s in secrets if s]
    check("every issued TAP was seen", len(secrets) == 7, secrets)
    rows = sql(env, "SELECT string_agg(detail::text, ' ') FROM audit_events")
    dump = rows[0][0] if rows and rows[0] else ""
    check("no audit event holds a TAP",
          not any(s in dump or s.replace("-", "") in dump for s in secrets), dump[:500])
    srv.stop()
    logs = srv.stderr() + open(srv.stdout_path, errors="replace").read()
    leaked = [s for s in secrets if s in logs or s.replace("-", "") in logs or s.replace("-", "").lower() in logs]
    check("no TAP appears in the server's logs", not leaked and len(logs) > 100, leaked)


def _epoch(s):
    import calendar
    import time
    try:
        return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
    except (ValueError, TypeError):
        return -1


if __name__ == "__main__":
    run(main)
