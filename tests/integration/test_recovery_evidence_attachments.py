"""schema/041 removes evidence attachments (OpenID Connect for Identity
Assurance: embedded document images, or links to them) from the verified
claims recovery stored before the oidc-ida provider dropped them: a database
migrated to 040 holds an attempt and a session whose evidence carries
attachments at two depths; `regain migrate` applies 041, and both are gone
while the rest of the evidence, the claims and the rows without attachments
stay as they were."""

import glob
import hashlib
import json
import os
import subprocess

from harness import ROOT, check, check_eq, psql, require, run

IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
CLAIMS = {
    "verification": {
        "trust_framework": "eidas", "time": "2026-01-01T00:00:00Z", "verification_process": "kyc-1",
        "evidence": [{"type": "document", "check_details": [{"check_method": "vpip"}],
                      "document_details": {"type": "idcard",
                                           "attachments": [{"content_type": "image/png", "content": IMAGE}]},
                      "attachments": [{"desc": "Front", "content_type": "image/png", "content": IMAGE},
                                      {"desc": "Back", "url": "https://idv.example/back.png"}]}]},
    "claims": {"given_name": "Anna", "family_name": "Smith", "birthdate": "1990-04-01"},
}
WANT_EVIDENCE = [{"type": "document", "check_details": [{"check_method": "vpip"}],
                  "document_details": {"type": "idcard"}}]
PLAIN = {"verification": {"trust_framework": "eidas", "evidence": [{"type": "electronic_record"}]},
         "claims": {"given_name": "Ben"}}


def main(env):
    url = env.new_database("attach")

    def sql(q):
        rc, rows, err = psql(url, q)
        require("SQL ok: %s" % q[:70], rc == 0, err)
        return rows

    # The database as regain left it at 040, recorded as `regain migrate` records it.
    sql("CREATE TABLE schema_migrations (name text PRIMARY KEY, sha256 text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())")
    for f in sorted(glob.glob(os.path.join(ROOT, "schema", "[0-9][0-9][0-9]_*.sql"))):
        name = os.path.basename(f)[:-4]
        if name >= "041":
            continue
        p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", f, url],
                           capture_output=True, text=True, timeout=120)
        require("%s applied" % name, p.returncode == 0, p.stderr)
        sql("INSERT INTO schema_migrations (name, sha256) VALUES ('%s', '%s')"
            % (name, hashlib.sha256(open(f, "rb").read()).hexdigest()))

    uid = sql("INSERT INTO users (user_name) VALUES ('anna') RETURNING id")[0][0]

    def attempt(claims):
        return sql("INSERT INTO recovery_attempts (state, provider_id, matched_user, verified_claims, expires_at) "
                   "VALUES ('tap_issued', 'idv', '%s', '%s'::jsonb, now()) RETURNING id"
                   % (uid, json.dumps(claims)))[0][0]

    a1, a2 = attempt(CLAIMS), attempt(PLAIN)
    s1 = sql("INSERT INTO sessions (token_hash, user_id, auth_time, amr, expires_at, recovery_attempt_id, "
             "verified_claims) VALUES ('\\x01', '%s', now(), '{tap}', now() + interval '1 hour', '%s', '%s'::jsonb) "
             "RETURNING id" % (uid, a1, json.dumps(CLAIMS)))[0][0]
    before_plain = sql("SELECT verified_claims::text FROM recovery_attempts WHERE id = '%s'" % a2)[0][0]

    srv = env.regain({"database": {"url": url}}, start=False)
    p = srv.cli("migrate")
    require("regain migrate applies 041", p.returncode == 0, p.stderr)
    check_eq("041 recorded", sql("SELECT count(*) FROM schema_migrations WHERE name LIKE '041_%'"), [["1"]])

    for what, q in (("recovery_attempts", "SELECT verified_claims::text FROM recovery_attempts WHERE id = '%s'" % a1),
                    ("sessions", "SELECT verified_claims::text FROM sessions WHERE id = '%s'" % s1)):
        text = sql(q)[0][0]
        got = json.loads(text)
        check("%s: no attachments left, no image, no link" % what,
              "attachments" not in text and IMAGE not in text and "idv.example" not in text, text)
        check_eq("%s: the rest of the evidence kept" % what, got["verification"]["evidence"], WANT_EVIDENCE)
        check_eq("%s: the claims and the rest of the verification kept" % what,
                 (got["claims"], got["verification"]["verification_process"]),
                 (CLAIMS["claims"], "kyc-1"))
    check_eq("an attempt without attachments is unchanged",
             sql("SELECT verified_claims::text FROM recovery_attempts WHERE id = '%s'" % a2)[0][0], before_plain)
    check_eq("the migration's helper is gone",
             sql("SELECT count(*) FROM pg_proc WHERE proname = 'regain_without_attachments'"), [["0"]])


run(main)
