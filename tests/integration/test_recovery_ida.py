"""Verified recovery through an external identity-verification provider
(issue 7, the `oidc-ida` provider): regain as the relying party of a real
OpenID Provider over TLS (tests/integration/idv_provider.py) that returns
OpenID Connect for Identity Assurance verified_claims in ES256-signed ID
tokens. Checks what regain asks (PAR, PKCE S256, state, nonce, the claims
request for verified_claims) and what it accepts: the good result gets a TAP;
a wrong nonce, a forged signature, an unknown key, a wrong audience or
issuer, an expired token, a token without verified_claims, a stale
verification and a replayed result are each refused with their reason, the
account unchanged. TLS to the provider is verified against the test CA."""

import json
import re
import urllib.parse

from harness import check, check_eq, require, run
from idv_provider import IdvProvider
from recovery_fixture import Browser, Directory, default_policy, follow_provider, start
from tap_fixture import Admin

def main(env):
    # plain advertises no PAR endpoint
    with IdvProvider(env.cert, env.key) as idp, IdvProvider(env.cert, env.key, par=False) as plain:
        run_tests(env, idp, plain)


def run_tests(env, idp, plain):
    srv = env.regain({"providers": [{"id": "idv", "type": "oidc-ida", "display_name": "Identity check",
                                     "issuer": idp.issuer, "client_id": idp.client_id,
                                     "client_secret": idp.client_secret, "ca_file": "../cert.pem",
                                     "timeout_ms": 5000},
                                    # the same provider without its CA: TLS must fail verification
                                    {"id": "untrusted", "type": "oidc-ida", "issuer": idp.issuer,
                                     "client_id": idp.client_id, "client_secret": idp.client_secret},
                                    {"id": "plain", "type": "oidc-ida", "issuer": plain.issuer,
                                     "client_id": plain.client_id, "client_secret": plain.client_secret,
                                     "ca_file": "../cert.pem"}]})
    d = Directory(env.db_url)
    d.add_group()
    d.add_client()
    anna = d.add_user("anna", "Anna", "Smith", "1990-04-01")
    # the policy through the administrator's API (its validation is issue 6's)
    admin = Admin(srv)
    doc = default_policy(["idv", "untrusted", "plain"], evidence={"trustFrameworks": ["eidas"],
                                                         "assuranceLevels": ["substantial"], "maxAgeSeconds": 600})
    r = admin.call("PUT", "/admin/v1/recovery/policy", doc)
    require("PUT /admin/v1/recovery/policy accepts the recovery policy", r.status == 200, r.describe())
    r = admin.call("GET", "/admin/v1/recovery/providers")
    listed = (r.json() or {}).get("providers", [])
    check_eq("GET /admin/v1/recovery/providers lists the configured providers",
             [(p.get("id"), p.get("type")) for p in listed],
             [("idv", "oidc-ida"), ("untrusted", "oidc-ida"), ("plain", "oidc-ida")])
    check("... without their secrets", idp.client_secret not in r.text, r.text)
    r = admin.call("GET", "/admin/v1/recovery/providers", token="not-a-token")
    check_eq("... and only with an admin token", r.status, 401)
    ANNA = {"given_name": "Anna Maria", "family_name": "Smith", "birthdate": "1990-04-01"}
    addr = [40]

    def attempt(identity, tamper=None, username="anna"):
        addr[0] += 1
        b = Browser(srv, "127.0.0.%d" % addr[0])
        idp.identity = identity
        idp.tamper = tamper
        rid, page, started = start(b, d, username, "idv")
        require("POST /recover redirects to the provider", started.status == 303, started)
        loc = started.header("location") or ""
        status, back = follow_provider(loc)
        require("the provider redirects back", status == 302 and back.startswith(srv.issuer), (status, back))
        u = urllib.parse.urlsplit(back)
        return b, loc, b.get(u.path + "?" + u.query)

    # ---- the good path -------------------------------------------------------------
    before = d.taps_of(anna)
    b, loc, done = attempt({"claims": ANNA, "txn": "idv-txn-1"})
    check("regain sends the browser to the provider's authorization endpoint",
          loc.startswith(idp.issuer + "/authorize?"), loc)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
    check_eq("... with PAR: only client_id and request_uri in the URL", sorted(q.keys()), ["client_id", "request_uri"])
    asked = idp.requests[-1]
    check("the request was pushed (RFC 9126)", asked.get("_via_par") is True, asked)
    check_eq("response_type code", asked.get("response_type"), "code")
    check_eq("PKCE S256", asked.get("code_challenge_method"), "S256")
    check("a state and a nonce of 43 characters", len(asked.get("state", "")) == 43 and len(asked.get("nonce", "")) == 43,
          asked)
    check_eq("redirect_uri is regain's callback", asked.get("redirect_uri"), srv.issuer + "/recover/callback")
    check("scope openid identity_assurance", asked.get("scope") == "openid identity_assurance", asked)
    claims_req = json.loads(asked.get("claims", "{}"))
    vc = claims_req.get("id_token", {}).get("verified_claims", {})
    check("the claims request asks for verified_claims with the matching claims",
          set(["given_name", "family_name", "birthdate"]) <= set(vc.get("claims", {}).keys())
          and "trust_framework" in vc.get("verification", {}), claims_req)
    check_eq("the callback shows the TAP", done.status, 200)
    check("... once", re.search(r'<output id="tap">[^<]+</output>', done.text), done)
    aid, state, reason, matched = d.last_attempt()
    check_eq("attempt tap_issued for anna", (state, matched), ("tap_issued", anna))
    check_eq("one new TAP", d.taps_of(anna), before + 1)
    row = d.sql("select verified_claims::text, provider_txn from recovery_attempts where id = '%s'" % aid)[0]
    stored = json.loads(row[0])
    check_eq("stored: the trust framework from the provider", stored["verification"]["trust_framework"], "eidas")
    check_eq("stored: the provider's transaction id (the txn claim)", row[1], "idv-txn-1")
    check_eq("stored: verification_process as the provider wrote it, not the txn",
             stored["verification"].get("verification_process"), "kyc-process-2019-07")
    check("stored: the evidence, no document images", "evidence" in stored["verification"]
          and "image" not in row[0], row[0])
    check_eq("stored: not the provider's raw result (aggregate_result is off)",
             d.sql("select provider_result is null from recovery_attempts where id = '%s'" % aid), [["t"]])

    # ---- refusals ----------------------------------------------------------------------
    def refused(name, reason_want, identity, tamper=None, expect_state="failed"):
        before = d.taps_of(anna)
        b, loc, out = attempt(identity, tamper)
        check("%s: the neutral outcome" % name, out.status == 200 and "recovery-outcome" in out.text, out)
        aid, state, reason, matched = d.last_attempt()
        check_eq("%s: %s with reason %s" % (name, expect_state, reason_want), (state, reason),
                 (expect_state, reason_want))
        evs = d.events(aid)
        check("%s: the audit event carries the reason" % name, evs and evs[-1][2] == reason_want, evs)
        check_eq("%s: no TAP" % name, d.taps_of(anna), before)

    refused("wrong nonce", "wrong_nonce", {"claims": ANNA}, "wrong_nonce")
    refused("forged signature", "bad_signature", {"claims": ANNA}, "forged")
    jwks_before = idp.jwks_calls
    refused("unknown signing key", "bad_signature", {"claims": ANNA}, "unknown_kid")
    check("an unknown kid refetches the JWKS at most once", idp.jwks_calls - jwks_before <= 1,
          idp.jwks_calls - jwks_before)
    refused("wrong audience", "wrong_audience", {"claims": ANNA}, "wrong_aud")
    refused("wrong issuer", "wrong_issuer", {"claims": ANNA}, "wrong_iss")
    tokens_before = idp.token_calls
    refused("authorization response from another issuer (RFC 9207)", "wrong_issuer", {"claims": ANNA},
            "response_wrong_iss")
    refused("authorization response without iss, which the provider advertises (RFC 9207)", "wrong_issuer",
            {"claims": ANNA}, "response_no_iss")
    check_eq("... neither code was redeemed at the token endpoint", idp.token_calls, tokens_before)
    refused("expired ID token", "token_expired", {"claims": ANNA}, "expired")
    refused("no verified_claims", "no_verified_claims", {"claims": ANNA}, "no_verified_claims")
    # RFC 7519 §4.1.5: not accepted before nbf (the clock skew allowed, as for iat and exp)
    refused("ID token not valid yet (nbf 10 minutes ahead)", "token_not_yet_valid", {"claims": ANNA},
            "not_yet_valid")
    idp.mutate = lambda payload: payload.update(nbf="soon")
    refused("nbf not a number", "malformed_result", {"claims": ANNA})
    idp.mutate = None
    refused("stale verification", "verification_stale", {"claims": ANNA, "age": 4000}, expect_state="rejected")
    refused("assurance level below the policy", "evidence_assurance_level",
            {"claims": ANNA, "assurance_level": "low"}, expect_state="rejected")
    refused("replayed provider result", "replayed", {"claims": ANNA, "txn": "idv-txn-1"}, expect_state="rejected")

    # verification_process names the provider's process, which a bank repeats in
    # every token (IDA): a fresh transaction under the same process is no replay
    def accepted(name, identity, txn_want):
        before = d.taps_of(anna)
        b, loc, out = attempt(identity)
        aid, state, reason, matched = d.last_attempt()
        check_eq("%s: tap_issued" % name, (state, reason), ("tap_issued", ""))
        check_eq("%s: one more TAP" % name, d.taps_of(anna), before + 1)
        row = d.sql("select verified_claims::text, provider_txn from recovery_attempts where id = '%s'" % aid)[0]
        check_eq("%s: provider_txn" % name, row[1], txn_want)
        return json.loads(row[0])["verification"]

    ver = accepted("the same verification_process with a fresh txn", {"claims": ANNA, "txn": "idv-txn-2"},
                   "idv-txn-2")
    check_eq("... verification_process stored as sent", ver.get("verification_process"), "kyc-process-2019-07")
    ver = accepted("no txn claim: the token's jti is the transaction id",
                   {"claims": ANNA, "txn": None, "jti": "idv-jti-1"}, "idv-jti-1")
    check_eq("... and verification_process is still the provider's, not the jti",
             ver.get("verification_process"), "kyc-process-2019-07")
    ver = accepted("no verification_process", {"claims": ANNA, "txn": None, "jti": "idv-jti-2", "process": None},
                   "idv-jti-2")
    check("... then none is stored: a jti is never presented as verification_process",
          "verification_process" not in ver, ver)
    b, loc, out = attempt({"claims": ANNA}, "nbf_within_skew")
    check_eq("an nbf 30 seconds ahead is within the clock skew: tap_issued", d.last_attempt()[1:3],
             ["tap_issued", ""])
    # verified_claims as an array (IDA): the element carrying the claims the match
    # needs is read, with its own verification, wherever it stands
    def split(payload):
        whole = payload["verified_claims"]
        whole["verification"]["verification_process"] = "document-check"
        address = {"verification": {"trust_framework": "de_aml", "assurance_level": "low",
                                    "time": whole["verification"]["time"], "verification_process": "utility-bill"},
                   "claims": {"address": {"locality": "Berlin", "country": "DE"}}}
        name_only = {"verification": dict(whole["verification"], verification_process="name-only"),
                     "claims": {"given_name": "Anna Maria"}}
        payload["verified_claims"] = [address, name_only, whole]
    idp.mutate = split
    ver = accepted("verified_claims array: the element with the name and birthdate claims",
                   {"claims": ANNA, "txn": "idv-txn-split"}, "idv-txn-split")
    check_eq("... read with its own verification", (ver.get("trust_framework"), ver.get("verification_process")),
             ("eidas", "document-check"))
    idp.mutate = lambda payload: payload.update(verified_claims=[{"claims": ANNA}, {"verification": {}}])
    refused("verified_claims array without a usable element", "no_verified_claims", {"claims": ANNA})
    idp.mutate = None
    # evidence may embed the documents themselves (IDA attachments): never stored or passed on
    IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

    def with_attachments(payload):
        payload["verified_claims"]["verification"]["evidence"] = [{
            "type": "document", "check_details": [{"check_method": "vpip", "txn": "check-1"}],
            "document_details": {"type": "idcard", "attachments": [{"desc": "chip photo", "content_type": "image/png",
                                                                    "content": IMAGE}]},
            "attachments": [{"desc": "Front of id document", "content_type": "image/png", "content": IMAGE},
                            {"desc": "Back", "url": "https://idv.example/docs/back.png",
                             "digest": {"alg": "sha-256", "value": "qGa6dLSf8LQA2jbF4Hu4ng=="}}]}]
    idp.mutate = with_attachments
    ver = accepted("evidence with attachments", {"claims": ANNA, "txn": "idv-txn-attach"}, "idv-txn-attach")
    idp.mutate = None
    stored = d.sql("select verified_claims::text from recovery_attempts where provider_txn = 'idv-txn-attach'")[0][0]
    check("... the evidence is kept", ver.get("evidence", [{}])[0].get("type") == "document"
          and ver["evidence"][0].get("check_details") == [{"check_method": "vpip", "txn": "check-1"}], ver)
    check("... without its attachments, at any depth", "attachments" not in stored and IMAGE not in stored
          and "idv.example/docs" not in stored, stored)
    refused("replayed jti", "replayed", {"claims": ANNA, "txn": None, "jti": "idv-jti-1"}, expect_state="rejected")
    refused("claims of nobody", "no_match",
            {"claims": {"given_name": "Zed", "family_name": "Nobody", "birthdate": "1990-04-01"}},
            expect_state="rejected")

    # the person cancels at the provider: error=access_denied comes back
    addr[0] += 1
    b = Browser(srv, "127.0.0.%d" % addr[0])
    rid, page, started = start(b, d, "anna", "idv")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(started.header("location") or "").query))
    pushed = idp.pushed.get(q.get("request_uri"), {})
    out = b.get("/recover/callback?" + urllib.parse.urlencode({"error": "access_denied", "state": pushed.get("state", ""),
                                                               "iss": idp.issuer}))
    aid, state, reason, matched = d.last_attempt()
    check_eq("cancelled at the provider: failed cancelled", (state, reason), ("failed", "cancelled"))

    # TLS is verified: a provider whose certificate the trust store does not know
    addr[0] += 1
    b = Browser(srv, "127.0.0.%d" % addr[0])
    calls = len(idp.requests) + len(idp.pushed)
    rid, page, started = start(b, d, "anna", "untrusted")
    check("an unverifiable provider certificate: the neutral outcome, no redirect",
          started.status == 200 and "recovery-outcome" in started.text, started)
    aid, state, reason, matched = d.last_attempt()
    check_eq("... failed provider_error", (state, reason), ("failed", "provider_error"))
    check_eq("... and nothing reached the provider", len(idp.requests) + len(idp.pushed), calls)

    # a provider without PAR: the request travels in the URL, with the same bindings
    addr[0] += 1
    b = Browser(srv, "127.0.0.%d" % addr[0])
    plain.identity = {"claims": ANNA, "txn": "plain-txn-1"}
    before = d.taps_of(anna)
    rid, page, started = start(b, d, "anna", "plain")
    loc = started.header("location") or ""
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
    check("without PAR: the authorization request is in the URL (PKCE, state, nonce, claims)",
          loc.startswith(plain.issuer + "/authorize?") and q.get("code_challenge_method") == "S256"
          and len(q.get("state", "")) == 43 and len(q.get("nonce", "")) == 43
          and "verified_claims" in q.get("claims", ""), loc)
    status, back = follow_provider(loc)
    u = urllib.parse.urlsplit(back)
    out = b.get(u.path + "?" + u.query)
    check("without PAR: the TAP is issued", re.search(r'<output id="tap">', out.text), out)
    check_eq("without PAR: one more TAP", d.taps_of(anna), before + 1)

    srv.stop()
    log = open(srv.stderr_path, errors="replace").read()
    check("the provider's client secret is not in the log", idp.client_secret not in log, "")


run(main)
