"""Shared pieces of the recovery tests (test_recovery_*.py): a browser with
its own cookie jar and loopback source address, the policy, the directory
users and the steps of an attempt."""

import http.client
import json
import re
import ssl
import urllib.parse

import authorize_browser
from harness import SLOW, psql, require

CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE

GROUP = "6f1c0b6e-5a2d-4c43-9b8e-0d6f3c1a2b70"


def field_value(html, name):
    m = re.search(r'<input[^>]*name="%s"[^>]*value="([^"]*)"' % re.escape(name), html)
    return m.group(1) if m else None


class Browser(authorize_browser.Browser):
    def __init__(self, srv, src):
        super().__init__(srv, src, user_agent="recovery-test")


def default_policy(providers, **over):
    doc = {
        "mode": "enabled",
        "eligibleGroups": [GROUP],
        "providers": [{"id": p} for p in providers],
        "matching": {"mode": "relaxed", "rules": [
            {"claim": "given_name", "attribute": "name.givenName"},
            {"claim": "family_name", "attribute": "name.familyName"},
            {"claim": "birthdate", "attribute": "urn:regain:scim:schemas:extension:recovery:2.0:User:birthdate"}],
            "disambiguate": []},
        "evidence": {"trustFrameworks": [], "assuranceLevels": [], "maxAgeSeconds": 600},
        "tap": {"lifetimeInMinutes": 60, "isUsableOnce": True, "length": 16},
        "afterRecovery": {"endSessions": True, "removeOldMethods": False},
        "rateLimits": {"perAccount": {"max": 50, "windowSeconds": 3600},
                       "perAddress": {"max": 50, "windowSeconds": 3600}},
        "attemptLifetimeSeconds": 900,
    }
    doc.update(over)
    return doc


class Directory:
    """SQL helpers over the test database."""

    def __init__(self, db):
        self.db = db

    def sql(self, q):
        rc, rows, err = psql(self.db, q)
        require("SQL ok: %s" % q[:70], rc == 0, err)
        return rows

    def set_policy(self, doc):
        self.sql("select o_status from policy_put('recovery', '%s'::jsonb, NULL, 'test', NULL, NULL)"
                 % json.dumps(doc).replace("'", "''"))

    def add_group(self):
        self.sql("insert into groups (id, display_name) values ('%s', 'recovery-eligible') on conflict do nothing"
                 % GROUP)

    def add_user(self, name, given, family, birth, active=True, eligible=True, employee=None):
        rows = self.sql("insert into users (user_name, given_name, family_name, birthdate, active, employee_number) "
                        "values ('%s', '%s', '%s', '%s', %s, %s) returning id"
                        % (name, given, family, birth, "true" if active else "false",
                           "'%s'" % employee if employee else "NULL"))
        uid = rows[0][0]
        if eligible:
            self.sql("insert into group_members (group_id, member_id, member_type) values ('%s', '%s', 'User')"
                     % (GROUP, uid))
        return uid

    def add_client(self):
        self.sql("insert into clients (id, name, token_endpoint_auth_method, grant_types, scopes, redirect_uris) "
                 "values ('rp1', 'RP one', 'none', '{authorization_code}', '{openid}', '{https://rp.example/cb}') "
                 "on conflict do nothing")

    def new_request(self, hint=None):
        params = '{"login_hint": "%s"}' % hint if hint else "{}"
        return self.sql("insert into authorization_requests (client_id, params, expires_at) values "
                        "('rp1', '%s', now() + interval '10 minutes') returning id" % params)[0][0]

    def last_attempt(self):
        return self.sql("select id, state, coalesce(reason, ''), coalesce(matched_user::text, '') "
                        "from recovery_attempts order by created_at desc, id limit 1")[0]

    def events(self, attempt):
        return self.sql("select type, outcome, coalesce(reason, '') from audit_events "
                        "where detail->>'attemptId' = '%s' order by id" % attempt)

    def taps_of(self, uid):
        return int(self.sql("select count(*) from taps where user_id = '%s'" % uid)[0][0])


def start(b, directory, username, provider, hint=None):
    """GET /recover, then POST it: (request id, page, reply)."""
    rid = directory.new_request(hint)
    page = b.get("/recover?request=" + rid)
    require("GET /recover is 200", page.status == 200, page)
    form = {"request": rid, "csrf": field_value(page.text, "csrf") or "", "username": username,
            "provider": provider}
    return rid, page, b.post("/recover", form)


def follow_provider(location):
    """The browser at the provider: GET the authorization URL, return (status, Location)."""
    u = urllib.parse.urlsplit(location)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=CTX, timeout=20 * SLOW)
    try:
        conn.request("GET", u.path + "?" + u.query)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Location") or ""
    finally:
        conn.close()
