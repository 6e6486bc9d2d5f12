"""Verified recovery with the `dev` provider (issue 7): the whole flow from
"can't sign in" to the TAP shown once, and every refusal (no match, two
matches, not eligible, disabled, evaluation, stale verification, replayed
result, expired attempt, rate limit, another browser, another account named,
evidence not allowed). Each refusal must leave the account unchanged (no
TAP), show the same neutral page, and leave an audit event with its reason.

Real parts: regain over TLS, PostgreSQL, Python's http.client as the browser
(cookies kept per browser, one loopback source address per scenario)."""

import json
import re

from harness import check, check_eq, curl, psql, require, run
from recovery_fixture import GROUP, Browser, field_value

def main(env):
    srv = env.regain({"providers": [{"id": "dev", "type": "dev", "display_name": "Simulated check"}]})
    # no recovery.trust_frameworks: regain passes no verified_claims on, and says so
    meta = curl("-k", srv.https("/.well-known/openid-configuration")).json() or {}
    check_eq("discovery without recovery.trust_frameworks: verified_claims_supported false, no IDA metadata",
             (meta.get("verified_claims_supported"), "trust_frameworks_supported" in meta,
              "claims_in_verified_claims_supported" in meta, "verified_claims" in meta.get("claims_supported", [])),
             (False, False, False, False))
    db = env.db_url

    def sql(q):
        rc, rows, err = psql(db, q)
        require("SQL ok: %s" % q[:70], rc == 0, err)
        return rows

    def set_policy(**over):
        doc = {
            "mode": "enabled",
            "eligibleGroups": [GROUP],
            "providers": [{"id": "dev"}],
            "matching": {"mode": "relaxed", "rules": [
                {"claim": "given_name", "attribute": "name.givenName"},
                {"claim": "family_name", "attribute": "name.familyName"},
                {"claim": "birthdate", "attribute": "urn:regain:scim:schemas:extension:recovery:2.0:User:birthdate"}],
                "disambiguate": []},
            "evidence": {"trustFrameworks": ["dev"], "assuranceLevels": [], "maxAgeSeconds": 600},
            "tap": {"lifetimeInMinutes": 60, "isUsableOnce": True, "length": 16},
            "afterRecovery": {"endSessions": True, "removeOldMethods": False},
            "rateLimits": {"perAccount": {"max": 50, "windowSeconds": 3600},
                           "perAddress": {"max": 50, "windowSeconds": 3600}},
            "attemptLifetimeSeconds": 900,
        }
        doc.update(over)
        sql("select o_status from policy_put('recovery', '%s'::jsonb, NULL, 'test', NULL, NULL)"
            % json.dumps(doc).replace("'", "''"))

    def add_user(name, given, family, birth, active=True, eligible=True, employee=None):
        rows = sql("insert into users (user_name, given_name, family_name, birthdate, active, employee_number) "
                   "values ('%s', '%s', '%s', '%s', %s, %s) returning id"
                   % (name, given, family, birth, "true" if active else "false",
                      "'%s'" % employee if employee else "NULL"))
        uid = rows[0][0]
        if eligible:
            sql("insert into group_members (group_id, member_id, member_type) values ('%s', '%s', 'User')"
                % (GROUP, uid))
        return uid

    sql("insert into groups (id, display_name) values ('%s', 'recovery-eligible')" % GROUP)
    anna = add_user("anna", "Anna", "Sm\u00edth", "1990-04-01")
    add_user("ben", "Ben", "Jones", "1985-01-02")
    add_user("carl1", "Carl", "Twin", "1970-07-07")
    add_user("carl2", "Carl", "Twin", "1970-07-07")
    add_user("dora", "Dora", "Outside", "1980-08-08", eligible=False)
    add_user("emil", "Emil", "Gone", "1981-09-09", active=False)
    sql("insert into clients (id, name, token_endpoint_auth_method, grant_types, scopes, redirect_uris) "
        "values ('rp1', 'RP one', 'none', '{authorization_code}', '{openid}', '{https://rp.example/cb}')")
    set_policy()

    def new_request(hint=None):
        params = '{"login_hint": "%s"}' % hint if hint else "{}"
        return sql("insert into authorization_requests (client_id, params, expires_at) values "
                   "('rp1', '%s', now() + interval '10 minutes') returning id" % params)[0][0]

    addr = [20]

    def browser():
        addr[0] += 1
        return Browser(srv, "127.0.0.%d" % addr[0])

    def start(b, username, hint=None, provider="dev"):
        rid = new_request(hint)
        page = b.get("/recover?request=" + rid)
        require("GET /recover is 200", page.status == 200, page)
        form = {"request": rid, "csrf": field_value(page.text, "csrf") or "", "username": username,
                "provider": provider}
        return rid, page, b.post("/recover", form)

    def verify(b, started, claims):
        loc = started.header("location") or ""
        m = re.search(r"handle=([A-Za-z0-9_-]+)", loc)
        require("the start redirects to the dev provider", started.status == 303 and m, started)
        dev = b.get(loc)
        require("the dev page is 200", dev.status == 200, dev)
        form = {"state": field_value(dev.text, "state") or ""}
        form.update(claims)
        return b.post("/recover/callback", form)

    def last_attempt():
        rows = sql("select id, state, coalesce(reason, ''), coalesce(matched_user::text, '') "
                   "from recovery_attempts order by created_at desc, id limit 1")
        return rows[0]

    def events(attempt):
        return sql("select type, outcome, coalesce(reason, '') from audit_events "
                   "where detail->>'attemptId' = '%s' order by id" % attempt)

    def taps_of(uid):
        return int(sql("select count(*) from taps where user_id = '%s'" % uid)[0][0])

    ANNA = {"given_name": "Anna Maria", "family_name": "SMITH", "birthdate": "1990-04-01"}

    # ---- the sign-in page links here ----------------------------------------------
    b = browser()
    rid = new_request()
    signin = b.get("/login?request=" + rid)
    check("the sign-in page links to recovery for its request",
          ('href="/recover?request=%s"' % rid) in signin.text, signin)

    # ---- success ---------------------------------------------------------------------
    b = browser()
    rid, page, started = start(b, "anna")
    check("the recovery page has a username field and the dev provider",
          'name="username"' in page.text and 'value="dev"' in page.text, page)
    check("no evaluation notice in enabled mode", "evaluation-notice" not in page.text, page)
    check_eq("POST /recover answers 303", started.status, 303)
    check("... and sets the __Host- recovery cookie",
          "__Host-regain-recovery" in started.set_cookies(), started.set_cookies())
    done = verify(b, started, ANNA)
    check_eq("the callback answers 200", done.status, 200)
    tap = re.search(r'<output id="tap">([^<]+)</output>', done.text)
    check("the TAP is shown once", tap, done)
    check("... with a form that signs in with it", 'action="/login/tap"' in done.text, done)
    aid, state, reason, matched = last_attempt()
    check_eq("the attempt ends tap_issued", state, "tap_issued")
    check_eq("... matched to anna", matched, anna)
    check_eq("the transitions are audited in order", [e[0] for e in events(aid)],
             ["recovery.started", "recovery.verifying", "recovery.verified", "recovery.matched",
              "recovery.tap_issued"])
    rows = sql("select acr, recovery_attempt_id::text, is_usable_once from taps where user_id = '%s' "
               "and revoked_at is null" % anna)
    check_eq("a TAP exists for anna with the recovery acr and attempt", rows,
             [["urn:regain:acr:verified-recovery", aid, "t"]])
    stored = sql("select verified_claims::text, provider_txn is not null, result_hash is not null, "
                 "nonce is null, handle_hash is null from recovery_attempts where id = '%s'" % aid)[0]
    vc = json.loads(stored[0])
    check_eq("stored verified_claims has the matched claims only", sorted(vc.get("claims", {}).keys()),
             ["birthdate", "family_name", "given_name"])
    check_eq("... and the trust framework", vc.get("verification", {}).get("trust_framework"), "dev")
    check_eq("txn and result hash stored, nonce and handle spent", stored[1:], ["t", "t", "t", "t"])
    matched_event = sql("select detail::text from audit_events where type = 'recovery.matched' and "
                        "detail->>'attemptId' = '%s'" % aid)
    check("the matched event records each rule's result",
          matched_event and all(r["passed"] for r in json.loads(matched_event[0][0])["rules"]), matched_event)
    # ---- signing in with the TAP: a recovery session --------------------------------
    # an older session of anna, and a refresh token, that recovery must end
    sql("insert into sessions (token_hash, user_id, auth_time, amr, acr, expires_at) values "
        "('\\x01', '%s', now(), '{pwd}', 'urn:regain:acr:password', now() + interval '1 hour')" % anna)
    sql("insert into refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time, amr, expires_at) "
        "values ('\\x02', gen_random_uuid(), 'rp1', '%s', 'openid', now(), '{pwd}', now() + interval '1 day')"
        % anna)
    form = {k: field_value(done.text, k) for k in ("request", "csrf", "username", "tap")}
    signed = b.post("/login/tap", form)
    check_eq("signing in with the shown TAP answers 303", signed.status, 303)
    check("... to the account security page", (signed.header("location") or "").startswith("/account/security"),
          signed)
    rows = sql("select acr, amr::text, purpose, recovery_attempt_id::text, verified_claims is not null, id "
               "from sessions where user_id = '%s' and tap_id is not null" % anna)
    check_eq("the session: acr verified-recovery, amr tap, register_method, the attempt, verified claims",
             [r[:5] for r in rows],
             [["urn:regain:acr:verified-recovery", "{tap}", "register_method", aid, "t"]])
    sess = rows[0][5] if rows else None
    # the holder registers a new method (the account page calls this in the same statement)
    sql("select session_method_registered('%s')" % sess)
    check_eq("after the new method: anna's other sessions are ended",
             sql("select count(*) from sessions where user_id = '%s' and ended_at is null and id <> '%s'"
                 % (anna, sess))[0][0], "0")
    check_eq("... and her refresh tokens revoked",
             sql("select count(*) from refresh_tokens where user_id = '%s' and revoked_at is null" % anna)[0][0], "0")
    check_eq("... the recovery session itself lives on",
             sql("select ended_at is null, purpose from sessions where id = '%s'" % sess), [["t", "full"]])
    done_ev = sql("select detail->>'sessionsEnded', detail->>'refreshTokensRevoked' from audit_events "
                  "where type = 'recovery.completed' and detail->>'attemptId' = '%s'" % aid)
    check_eq("recovery.completed is audited with what it ended", done_ev, [["1", "1"]])

    again = b.post("/recover/callback", {"state": "x" * 43})
    check("a spent or unknown handle gets the neutral page", "recovery-outcome" in again.text, again)
    neutral = None

    # ---- refusals ----------------------------------------------------------------------
    def refused(name, reason_want, username, claims=None, uid=None, prepare=None, expect_state="rejected"):
        nonlocal neutral
        b = browser()
        before = taps_of(uid) if uid else 0
        rid, page, started = start(b, username)
        if prepare:
            prepare()
        if claims is not None:
            out = verify(b, started, claims)
        else:
            out = started
        check_eq("%s: 200" % name, out.status, 200)
        check("%s: the neutral outcome" % name, "recovery-outcome" in out.text and "<output" not in out.text, out)
        body = re.sub(r"\s+", " ", out.text)
        if neutral is None:
            neutral = body
        check("%s: the same page as every other refusal" % name, body == neutral, body)
        aid, state, reason, matched = last_attempt()
        check_eq("%s: attempt %s with reason" % (name, expect_state), (state, reason), (expect_state, reason_want))
        evs = events(aid)
        check("%s: an audit event with the reason" % name,
              evs and evs[-1][1] == "failure" and evs[-1][2] == reason_want, evs)
        if uid:
            check_eq("%s: the account has no new TAP" % name, taps_of(uid), before)
        return aid

    ben = sql("select id from users where user_name = 'ben'")[0][0]
    refused("no match", "no_match", "ben", {"given_name": "Ben", "family_name": "Jones", "birthdate": "1985-01-03"},
            uid=ben)
    refused("two matches", "ambiguous", "carl1", {"given_name": "Carl", "family_name": "Twin",
                                                  "birthdate": "1970-07-07"})
    dora = sql("select id from users where user_name = 'dora'")[0][0]
    refused("not in an eligible group", "not_eligible", "dora",
            {"given_name": "Dora", "family_name": "Outside", "birthdate": "1980-08-08"}, uid=dora)
    refused("inactive account", "account_inactive", "emil",
            {"given_name": "Emil", "family_name": "Gone", "birthdate": "1981-09-09"})
    refused("another account named", "not_named_account", "ben", ANNA, uid=anna)
    refused("stale verification", "verification_stale", "anna", dict(ANNA, verified_seconds_ago="4000"), uid=anna)
    refused("trust framework not allowed", "evidence_trust_framework", "anna",
            dict(ANNA, trust_framework="selfie"), uid=anna)

    # replay: the same provider transaction twice
    b1 = browser()
    rid, page, started = start(b1, "ben")
    verify(b1, started, {"given_name": "Ben", "family_name": "Jones", "birthdate": "1985-01-02", "txn": "txn-1"})
    first = last_attempt()
    check_eq("replay: the first use of txn-1 is matched and issued", first[1], "tap_issued")
    taps_ben = taps_of(ben)
    refused("replayed provider result", "replayed", "ben",
            {"given_name": "Ben", "family_name": "Jones", "birthdate": "1985-01-02", "txn": "txn-1"}, uid=ben)
    check_eq("replay: ben still has exactly the one TAP", taps_of(ben), taps_ben)

    # expired attempt
    def expire():
        sql("update recovery_attempts set expires_at = now() - interval '1 second' "
            "where id = (select id from recovery_attempts order by created_at desc limit 1)")
    refused("expired attempt", "expired", "anna", ANNA, uid=anna, prepare=expire, expect_state="expired")

    # the answer brought back by another browser
    b1 = browser()
    rid, page, started = start(b1, "anna")
    before = taps_of(anna)
    b2 = browser()
    loc = started.header("location") or ""
    handle = re.search(r"handle=([A-Za-z0-9_-]+)", loc)
    out = b2.post("/recover/callback", dict(ANNA, state=handle.group(1) if handle else ""))
    check("another browser: neutral outcome", "recovery-outcome" in out.text, out)
    aid, state, reason, matched = last_attempt()
    check_eq("another browser: failed browser_mismatch", (state, reason), ("failed", "browser_mismatch"))
    check_eq("another browser: no TAP", taps_of(anna), before)

    # disabled
    set_policy(mode="disabled")
    refused("recovery disabled", "recovery_disabled", "anna", None, uid=anna)

    # evaluation: the flow runs, no TAP, the evaluation notice
    set_policy(mode="evaluation")
    b = browser()
    before = taps_of(anna)
    rid, page, started = start(b, "anna")
    check("evaluation: the notice on the start page", "evaluation-notice" in page.text, page)
    out = verify(b, started, ANNA)
    check("evaluation: the notice, no TAP", "evaluation-notice" in out.text and "<output" not in out.text, out)
    aid, state, reason, matched = last_attempt()
    check_eq("evaluation: the attempt is matched (and audited)", (state, matched), ("matched", anna))
    check("evaluation: recovery.matched recorded with evaluation true",
          sql("select count(*) from audit_events where type = 'recovery.matched' and detail->>'attemptId' = '%s' "
              "and (detail->>'evaluation')::boolean" % aid)[0][0] == "1")
    check_eq("evaluation: no TAP", taps_of(anna), before)

    # rate limit per address
    set_policy(rateLimits={"perAccount": {"max": 50, "windowSeconds": 3600},
                           "perAddress": {"max": 2, "windowSeconds": 3600}})
    b = browser()
    for i in range(2):
        start(b, "ben")
    before = taps_of(ben)
    rid, page, started = start(b, "ben")
    check("rate limit: the third attempt from one address gets the neutral page",
          started.status == 200 and "recovery-outcome" in started.text, started)
    aid, state, reason, matched = last_attempt()
    check_eq("rate limit: rejected rate_limited", (state, reason), ("rejected", "rate_limited"))
    check_eq("rate limit: no TAP", taps_of(ben), before)

    # rate limit per account: attempts naming ben from different addresses
    set_policy(rateLimits={"perAccount": {"max": 1, "windowSeconds": 3600},
                           "perAddress": {"max": 50, "windowSeconds": 3600}})
    before = taps_of(ben)
    rid, page, started = start(browser(), "ben")
    check("rate limit per account: refused at start", started.status == 200 and "recovery-outcome" in started.text,
          started)
    aid, state, reason, matched = last_attempt()
    check_eq("rate limit per account: rejected rate_limited", (state, reason), ("rejected", "rate_limited"))
    check_eq("rate limit per account: no TAP", taps_of(ben), before)

    # a provider the policy does not allow
    set_policy(providers=[{"id": "other"}])
    b = browser()
    rid, page, started = start(b, "ben")
    aid, state, reason, matched = last_attempt()
    check_eq("provider not allowed: rejected", (state, reason), ("rejected", "provider_not_allowed"))

    # a provider allowed for another group only: refused once the account is known
    other = "7a7a7a7a-7a7a-4a7a-8a7a-7a7a7a7a7a7a"
    sql("insert into groups (id, display_name) values ('%s', 'contractors')" % other)
    set_policy(providers=[{"id": "dev", "groups": [other]}])
    refused("provider for another group only", "provider_not_allowed", "ben",
            {"given_name": "Ben", "family_name": "Jones", "birthdate": "1985-01-02"}, uid=ben)

    # ---- minting and tap_issued are one statement (schema/022) ----------------------
    # An attempt that expires between the match and the mint must not leave a
    # TAP behind that replaced the user's active one unseen.
    carl = add_user("carl", "Carl", "Berg", "1970-03-03")
    sql("select o_status from tap_issue('%s', '\\x01', NULL, 60, true, 16, 'test', NULL, NULL)" % carl)
    old_tap = sql("select id from taps where user_id = '%s' and revoked_at is null" % carl)[0][0]

    def matched_attempt(expires):
        return sql("insert into recovery_attempts (state, provider_id, matched_user, expires_at) "
                   "values ('matched', 'dev', '%s', now() + interval '%s') returning id" % (carl, expires))[0][0]

    def issue(aid, user=carl):
        return sql("select o_status, coalesce(o_id::text, '') from recovery_issue_tap('%s', '%s', '\\x02', "
                   "NULL, 60, true, 16, 'system', NULL, NULL, 'urn:regain:acr:verified-recovery')"
                   % (aid, user))[0]

    late = matched_attempt("-1 second")
    check_eq("expired before the mint: status expired, nothing minted", issue(late), ["expired", ""])
    check_eq("... the attempt is expired", sql("select state, reason from recovery_attempts where id = '%s'"
                                              % late)[0], ["expired", "expired"])
    check_eq("... the user's active TAP is untouched",
             sql("select id from taps where user_id = '%s' and revoked_at is null" % carl), [[old_tap]])
    check_eq("... no tap.issued event for it",
             sql("select count(*) from audit_events where type = 'tap.issued' "
                 "and detail->>'recoveryAttemptId' = '%s'" % late), [["0"]])
    check_eq("an attempt matched to another user: wrong_state, nothing minted", issue(matched_attempt("5 minutes"), ben),
             ["wrong_state", ""])
    ontime = matched_attempt("5 minutes")
    status, new_tap = issue(ontime)
    check_eq("in time: ok", status, "ok")
    check_eq("... the attempt is tap_issued with the new TAP",
             sql("select state, tap_id from recovery_attempts where id = '%s'" % ontime)[0], ["tap_issued", new_tap])
    check_eq("... the old TAP is replaced",
             sql("select revoked_reason from taps where id = '%s'" % old_tap), [["replaced"]])
    check_eq("a second mint for the same attempt: wrong_state", issue(ontime), ["wrong_state", ""])

    srv.stop()
    log = open(srv.stderr_path, errors="replace").read()
    check("no TAP text in the server log", tap is None or tap.group(1) not in log, "")


run(main)
