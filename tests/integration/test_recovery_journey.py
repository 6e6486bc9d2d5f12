"""The whole verified-recovery journey over HTTP (issue 7), through the real
pages and a real external identity-verification provider
(tests/integration/idv_provider.py, OpenID Connect over TLS with ES256
ID tokens carrying verified_claims):

a relying party asks for acr_values=urn:regain:acr:verified-recovery and, with
the claims parameter, for verified_claims in the ID token -> /authorize sends
the browser to /recover -> the person names the account and chooses the
provider -> the provider verifies them -> regain matches the directory account
and shows the TAP once -> the TAP signs in -> the account page registers an
authenticator app -> the relying party gets its code -> the ID token (checked
against /jwks.json) carries acr verified-recovery, amr ["tap"], and the
verified_claims; the owner's notification webhook receives a signed event;
the claim-validation webhook is consulted (pass, fail, and down with each
configured behaviour)."""

import base64
import http.server
import json
import socketserver
import threading
import urllib.parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from harness import SLOW, check, check_eq, curl, require, run, wait_until
from idv_provider import IdvProvider
from methods_fixture import form_fields, otpauth_uri, secret_from_uri, totp
from recovery_fixture import Directory, default_policy, follow_provider
from tap_fixture import REDIRECT, Browser, add_client, pkce
from tokens_fixture import jwt_parts, verify_sig


class Receiver:
    """A loopback webhook receiver: records posts, answers with `answer`."""

    def __init__(self):
        self.posts = []
        self.answer = (200, {"result": "pass"})
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                rec.posts.append((self.path, self.headers.get("Content-Type"), self.rfile.read(n).decode()))
                status, body = rec.answer
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.srv = S(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def main(env):
    idp = IdvProvider(env.cert, env.key).start()
    hooks = Receiver()
    try:
        journey(env, idp, hooks)
    finally:
        idp.stop()
        hooks.stop()


def token_for(srv, b, claims):
    """Another code for the recovered session with `claims` (a dict), redeemed: the token response."""
    verifier, challenge = pkce()
    q = {"client_id": "rp1", "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid",
         "state": "st-2", "nonce": "n-ida", "code_challenge": challenge, "code_challenge_method": "S256",
         "claims": json.dumps(claims)}
    r = b.get("/authorize?" + urllib.parse.urlencode(q))
    loc = r.header("location") or ""
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query).get("code", [None])[0]
    require("the recovered session gets another code", loc.startswith(REDIRECT) and code, r)
    r = curl("--http2", "-k", "-X", "POST", "-H", "content-type: application/x-www-form-urlencoded",
             "--data-binary", urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                                      "redirect_uri": REDIRECT, "code_verifier": verifier,
                                                      "client_id": "rp1"}), srv.https("/token"))
    tok = r.json() or {}
    require("... redeemed", r.status == 200 and tok.get("id_token"), r.describe())
    return tok


def ida_requests(srv, b, rita, ident):
    """OpenID Connect for Identity Assurance 1.0: discovery (§8) and the
    request semantics (§5, §6) against the session recovery opened."""
    r = curl("-k", srv.https("/.well-known/openid-configuration"))
    meta = r.json() or {}
    check_eq("discovery: verified_claims_supported, trust_frameworks_supported from the config",
             (meta.get("verified_claims_supported"), meta.get("trust_frameworks_supported")), (True, ["eidas"]))
    check_eq("discovery: claims_in_verified_claims_supported",
             sorted(meta.get("claims_in_verified_claims_supported") or []), ["birthdate", "family_name", "given_name"])
    check("discovery: no evidence_supported (evidence is never passed on)",
          "evidence_supported" not in meta and "documents_supported" not in meta, meta)
    # The provider is set to aggregate_result: ID tokens carry its signed
    # result as an aggregated claim (OIDC Core §5.6.2), and Discovery §3 says
    # an absent "aggregated" means normal claims only.
    check_eq("discovery: claim_types_supported", meta.get("claim_types_supported"), ["normal", "aggregated"])

    def id_token(claims):
        tok = token_for(srv, b, claims)
        _, idt, _ = jwt_parts(tok["id_token"])
        return idt, tok

    vc_only = lambda vc: {"id_token": {"verified_claims": vc}}  # noqa: E731
    idt, _ = id_token(vc_only({"verification": {"trust_framework": None}, "claims": {"given_name": None}}))
    check_eq("trimmed: only the requested claim, verification only trust_framework",
             idt.get("verified_claims"), {"verification": {"trust_framework": "eidas"},
                                          "claims": {"given_name": ident["claims"]["given_name"]}})
    idt, _ = id_token(vc_only({"verification": {"trust_framework": {"value": "de_aml"}},
                               "claims": {"given_name": None, "family_name": None}}))
    check("a trust_framework value the verification does not meet: no verified_claims, no claim source",
          "verified_claims" not in idt and "_claim_names" not in idt and "_claim_sources" not in idt, idt)
    idt, _ = id_token(vc_only({"verification": {"trust_framework": {"values": ["de_aml", "eidas"]},
                                                "time": {"max_age": 86400}},
                               "claims": {"birthdate": None}}))
    vc = idt.get("verified_claims") or {}
    check("values met, time within max_age: birthdate and the time",
          vc.get("claims") == {"birthdate": ident["claims"]["birthdate"]}
          and sorted(vc.get("verification", {})) == ["time", "trust_framework"], idt)
    idt, _ = id_token(vc_only({"verification": {"trust_framework": None, "assurance_level": {"value": "high"}},
                               "claims": {"given_name": None}}))
    check("an assurance_level constraint the verification cannot meet: no verified_claims",
          "verified_claims" not in idt, idt)
    idt, _ = id_token(vc_only([{"verification": {"trust_framework": {"value": "de_aml"}},
                                "claims": {"given_name": None}},
                               {"verification": {"trust_framework": None}, "claims": {"family_name": None}}]))
    check_eq("an array of requests: the one that can be met, as an array",
             idt.get("verified_claims"), [{"verification": {"trust_framework": "eidas"},
                                           "claims": {"family_name": ident["claims"]["family_name"]}}])
    idt, _ = id_token(vc_only({"verification": {"trust_framework": None, "evidence": None},
                               "claims": {"given_name": None}}))
    check_eq("evidence asked for (the provider returned some) is not passed on",
             (idt.get("verified_claims") or {}).get("verification"), {"trust_framework": "eidas"})
    idt, _ = id_token(vc_only({"verification": {"trust_framework": None}, "claims": {"nationalities": None}}))
    check("only claims we do not pass on: no verified_claims", "verified_claims" not in idt, idt)
    idt, _ = id_token(vc_only({"verification": {"trust_framework": None},
                               "claims": {"given_name": {"value": "Someone Else"}, "family_name": None}}))
    check_eq("a claim whose value constraint is not met is left out",
             (idt.get("verified_claims") or {}).get("claims"), {"family_name": ident["claims"]["family_name"]})

    def userinfo(tok):
        r = curl("--http2", "-k", "-H", "authorization: Bearer " + tok.get("access_token", ""), srv.https("/userinfo"))
        require("/userinfo answers", r.status == 200, r.describe())
        return r.json() or {}

    _, tok = id_token(vc_only({"verification": {"trust_framework": None}, "claims": {"given_name": None}}))
    check("/userinfo: no verified_claims when only the ID token asked for them",
          "verified_claims" not in userinfo(tok), tok)
    idt, tok = id_token({"userinfo": {"verified_claims": {"verification": {"trust_framework": None,
                                                                          "assurance_level": None},
                                                          "claims": {"family_name": None}}}})
    check("verified_claims asked for under userinfo: none in the ID token", "verified_claims" not in idt, idt)
    ui = userinfo(tok)
    check_eq("/userinfo: verified_claims trimmed to the userinfo request (sub %s)" % rita,
             (ui.get("sub"), ui.get("verified_claims")),
             (rita, {"verification": {"trust_framework": "eidas", "assurance_level": "substantial"},
                     "claims": {"family_name": ident["claims"]["family_name"]}}))
    _, tok = id_token({"userinfo": {"verified_claims": {"verification": {"trust_framework": {"value": "de_aml"}},
                                                        "claims": {"family_name": None}}}})
    check("/userinfo: a trust_framework the verification does not meet: no verified_claims",
          "verified_claims" not in userinfo(tok), tok)


def journey(env, idp, hooks):
    srv = env.regain({
        "providers": [{"id": "idv", "type": "oidc-ida", "display_name": "Identity check", "issuer": idp.issuer,
                       "client_id": idp.client_id, "client_secret": idp.client_secret, "ca_file": "../cert.pem",
                       "aggregate_result": True}],
        "recovery": {"trust_frameworks": ["eidas"],
                     "notification_webhook": {"url": hooks.url("/notify"), "timeout_ms": 3000},
                     "claim_validation_webhook": {"url": hooks.url("/validate"), "timeout_ms": 1000,
                                                  "on_error": "fail"}},
    })
    d = Directory(env.db_url)
    d.add_group()
    add_client(env, "rp1")
    rita = d.add_user("rita", "Rita", "Hayworth", "1918-10-17")
    d.set_policy(default_policy(["idv"], afterRecovery={"endSessions": True, "removeOldMethods": True}))
    # the methods rita lost: an old passkey and an old authenticator app
    d.sql("insert into webauthn_credentials (user_id, credential_id, public_key, alg, backup_eligible, backed_up, "
          "attestation_fmt, name, created_at) values ('%s', '\\x00112233445566778899aabbccddeeff', '\\x00', -7, "
          "false, false, 'none', 'Lost key', now() - interval '1 day')" % rita)
    d.sql("insert into totp_authenticators (id, user_id, secret_sealed, name, confirmed, created_at) values "
          "(gen_random_uuid(), '%s', '\\x00', 'Lost phone', true, now() - interval '1 day')" % rita)
    ident = {"claims": {"given_name": "Rita", "family_name": "Hayworth", "birthdate": "1918-10-17"}}

    claims_param = json.dumps({"id_token": {"acr": {"essential": True,
                                                    "value": "urn:regain:acr:verified-recovery"},
                                            "verified_claims": {"verification": {"trust_framework": None,
                                                                                 "time": None},
                                                                "claims": {"given_name": None, "family_name": None,
                                                                           "birthdate": None}}}})

    def begin(src, extra=None):
        b = Browser(env, srv, src)
        b.jar.clear()
        verifier, challenge = pkce()
        q = {"client_id": "rp1", "redirect_uri": REDIRECT, "response_type": "code", "scope": "openid",
             "state": "st-1", "nonce": "n-journey", "code_challenge": challenge, "code_challenge_method": "S256",
             "acr_values": "urn:regain:acr:verified-recovery", "claims": claims_param}
        q.update(extra or {})
        r = b.get("/authorize?" + urllib.parse.urlencode(q))
        return b, verifier, r

    def through_provider(b, r, username="rita"):
        loc = r.header("location") or ""
        page = b.get(loc)
        f = form_fields(page.text, "/recover")
        require("the recovery page has its form", page.status == 200 and f is not None, page)
        r = b.post("/recover", dict(f, username=username, provider="idv"))
        require("the start goes to the provider", r.status == 303, r)
        status, back = follow_provider(r.header("location"))
        require("the provider answers with a redirect to regain", status == 302, (status, back))
        u = urllib.parse.urlsplit(back)
        return b.get(u.path + "?" + u.query)

    # ---- the journey ---------------------------------------------------------------------
    idp.identity, idp.tamper = ident, None
    hooks.answer = (200, {"result": "pass"})
    b, verifier, r = begin("127.0.0.71")
    check("acr_values=verified-recovery: /authorize sends the browser to /recover",
          r.status == 303 and (r.header("location") or "").startswith("/recover?request="), r)
    rid = (r.header("location") or "").split("request=")[-1]
    done = through_provider(b, r)
    f = form_fields(done.text, "/login/tap")
    require("the TAP page, with the form that signs in with it", done.status == 200 and f is not None, done)
    validate = [p for p in hooks.posts if p[0] == "/validate"]
    check("the claim-validation webhook was asked, with the verified claims",
          validate and json.loads(validate[-1][2]).get("userId") == rita
          and "verified_claims" in json.loads(validate[-1][2]), validate)
    # sent without waiting for the receiver: give it a moment
    wait_until(lambda: any(p[0] == "/notify" for p in hooks.posts), 10 * SLOW)
    notify = [p for p in hooks.posts if p[0] == "/notify"]
    check("the owner is notified: a signed event (application/jwt)",
          notify and notify[-1][1] == "application/jwt", notify)
    if notify:
        sig_ok = verify_sig(srv, notify[-1][2])
        hdr, claims, _ = jwt_parts(notify[-1][2])
        check("... signed with the server's key (checked against /jwks.json)", sig_ok, notify[-1][2][:80])
        check("... typ recovery-event+jwt, about rita's recovery",
              hdr.get("typ") == "recovery-event+jwt" and claims.get("sub") == rita
              and claims.get("event") == "recovery.tap_issued" and claims.get("iss") == srv.issuer, (hdr, claims))
        check("... addressed to its receiver (aud) and short-lived (exp)",
              claims.get("aud") == hooks.url("/notify") and 0 < claims.get("exp", 0) - claims.get("iat", 0) <= 600,
              claims)
    r = b.post("/login/tap", f)
    check_eq("the TAP signs in: 303 to the account page with the request", (r.status, r.header("location")),
             (303, "/account/security?request=" + rid))
    page = b.get("/account/security?request=" + rid)
    f = form_fields(page.text, "/account/security/totp")
    require("the account page offers an authenticator app", f is not None, page)
    r = b.post("/account/security/totp", dict(f, name="New phone"))
    uri = otpauth_uri(r.text)
    conf = form_fields(r.text, "/account/security/totp/confirm")
    require("the enrolment shows the otpauth URI", uri and conf is not None, r)
    r = b.post("/account/security/totp/confirm", dict(conf, code=totp(secret_from_uri(uri))))
    check_eq("confirming the app continues the relying party's request", (r.status, r.header("location")),
             (303, "/authorize/resume?request=" + rid))
    r = b.get(r.header("location"))
    loc = r.header("location") or ""
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query).get("code", [None])[0]
    check("the relying party gets a code", loc.startswith(REDIRECT) and code, r)
    r = curl("--http2", "-k", "-X", "POST", "-H", "content-type: application/x-www-form-urlencoded",
             "--data-binary", urllib.parse.urlencode({"grant_type": "authorization_code", "code": code or "",
                                                      "redirect_uri": REDIRECT, "code_verifier": verifier,
                                                      "client_id": "rp1"}), srv.https("/token"))
    tok = r.json() or {}
    require("the code is redeemed", r.status == 200 and tok.get("id_token"), r.describe())
    check("the ID token's signature verifies against /jwks.json", verify_sig(srv, tok["id_token"]))
    _, idt, _ = jwt_parts(tok["id_token"])
    check_eq("ID token: sub, acr verified-recovery, amr tap",
             (idt.get("sub"), idt.get("acr"), idt.get("amr")), (rita, "urn:regain:acr:verified-recovery", ["tap"]))
    vc = idt.get("verified_claims") or {}
    check_eq("ID token: verified_claims.claims as verified", vc.get("claims"), ident["claims"])
    check_eq("ID token: verified_claims.verification.trust_framework", vc.get("verification", {}).get("trust_framework"),
             "eidas")
    check("ID token: verified_claims.verification.time present", "time" in vc.get("verification", {}), vc)
    # aggregate_result: the provider's own signed result as an aggregated claim source
    src = (idt.get("_claim_sources") or {}).get((idt.get("_claim_names") or {}).get("verified_claims"), {})
    agg = src.get("JWT", "")
    check("ID token: _claim_names/_claim_sources name the provider's signed result for verified_claims", agg, idt)
    if agg:
        signing_input, _, sig = agg.rpartition(".")
        raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        try:
            idp.key.public_key().verify(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                                             int.from_bytes(raw[32:], "big")),
                                        signing_input.encode(), ec.ECDSA(hashes.SHA256()))
            provider_sig = True
        except Exception:  # noqa: BLE001 - any failure is a failed check
            provider_sig = False
        check("... which the provider's own key verifies", provider_sig)
        _, agg_claims, _ = jwt_parts(agg)
        check_eq("... issued by the provider, carrying the same claims",
                 (agg_claims.get("iss"), agg_claims.get("verified_claims", {}).get("claims")),
                 (idp.issuer, ident["claims"]))

    ida_requests(srv, b, rita, ident)

    # ---- post-recovery actions ran ----------------------------------------------------------
    check_eq("removeOldMethods: the lost passkey and app are gone, the new app stays",
             d.sql("select (select count(*) from webauthn_credentials where user_id = '{0}'), "
                   "(select string_agg(name, ',') from totp_authenticators where user_id = '{0}')".format(rita)),
             [["0", "New phone"]])
    check_eq("... each with method.removed (reason recovery)",
             d.sql("select count(*) from audit_events where type = 'method.removed' and subject_user = '%s' "
                   "and reason = 'recovery'" % rita), [["2"]])
    done_events = d.sql("select count(*) from audit_events where type = 'recovery.completed' and subject_user = '%s'"
                        % rita)
    check_eq("recovery.completed after the new method", done_events, [["1"]])

    # ---- claim validation says no, or is down -----------------------------------------------
    def refused_by_hook(name, answer, reason):
        hooks.answer = answer
        before = d.taps_of(rita)
        b, verifier, r = begin("127.0.0.%d" % (72 + len(hooks.posts) % 100))
        out = through_provider(b, r)
        check("%s: the neutral outcome" % name, "recovery-outcome" in out.text, out)
        aid, state, why, matched = d.last_attempt()
        check_eq("%s: rejected %s" % (name, reason), (state, why), ("rejected", reason))
        check_eq("%s: no TAP" % name, d.taps_of(rita), before)

    refused_by_hook("claim validation fails", (200, {"result": "fail"}), "claim_validation_failed")
    refused_by_hook("claim validation answers 500 (on_error fail)", (500, {}), "claim_validation_error")

    # the policy's own webhook (matching.webhook) replaces the config's; onError accept
    doc = default_policy(["idv"])
    doc["matching"]["webhook"] = {"url": hooks.url("/policy-hook"), "timeoutMs": 1000, "onError": "accept"}
    d.set_policy(doc)
    hooks.answer = (503, {})
    before = d.taps_of(rita)
    b, verifier, r = begin("127.0.0.90")
    out = through_provider(b, r)
    check("policy webhook down, onError accept: the TAP is issued", form_fields(out.text, "/login/tap") is not None,
          out)
    check("... the policy's webhook was the one asked", any(p[0] == "/policy-hook" for p in hooks.posts),
          [p[0] for p in hooks.posts])
    check_eq("... one more TAP", d.taps_of(rita), before + 1)


run(main)
