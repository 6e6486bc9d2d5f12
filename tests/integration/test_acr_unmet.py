"""A relying party asks for an acr the person's account cannot reach yet
(issue 5): instead of the sign-in page again and again,
  - after signing in with the best the account has, the person is sent to
    the account security page (m=acr-mfa / acr-pr, the request kept), adds an
    authenticator app or a passkey there, and signs in with it to continue:
    the relying party gets its code with the acr it asked for, and the first
    (weaker) session is never raised;
  - or gives up there: the relying party gets unmet_authentication_requirements
    (OpenID Connect Core Error Code unmet_authentication_requirements 1.0) and
    the request is gone;
  - a session weaker than what the account has (a password where a passkey
    exists) is stepped up on the sign-in page as before, not sent to add one;
  - on the phishing-resistant page the password form is folded under
    "No passkey yet?"."""

import os
import urllib.parse

from authorize_browser import REDIRECT, Browser, authorize_params, field_value, pkce, setup_fixtures
from harness import check, check_eq, require, run
from methods_fixture import add_user, form_fields, otpauth_uri, secret_from_uri, step_now, totp

MFA = "urn:regain:acr:mfa"
PHR = "urn:regain:acr:phishing-resistant"


def location(r):
    return r.header("location") or ""


def query_of(loc):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)


def main(env):
    srv = env.regain()
    db = env.db_url
    sql = setup_fixtures(srv, db)
    pat = add_user(srv, "pat", "pat password 1")
    add_user(srv, "quinn", "quinn password 1")
    rae = add_user(srv, "rae", "rae password 1")
    _, challenge = pkce()

    # ---- mfa asked, a password-only account ---------------------------------------------------
    b = Browser(srv, "127.0.0.80")
    page = b.get("/authorize", authorize_params(challenge, acr_values=MFA))
    rid = field_value(page.text, "request")
    require("the sign-in page for the request", page.status == 200 and rid, page)
    r = b.sign_in(page, "pat", "pat password 1")
    check_eq("the password: to the account page to add a method, the request kept", (r.status, location(r)),
             (303, "/account/security?m=acr-mfa&request=" + rid))
    page = b.follow(r)
    check("... which says why", page.status == 200 and "asks for two-step sign-in" in page.text, page)
    check("... and offers to go back without it",
          'href="/authorize/resume?request=%s&amp;unmet=1"' % rid in page.text, page)
    rows = sql("select acr from sessions where user_id = '%s' and ended_at is null" % pat)
    check_eq("the password session stays a password session", rows, [["urn:regain:acr:password"]])

    f = form_fields(page.text, "/account/security/totp")
    require("the add-app form keeps the request", f is not None and f.get("request") == rid, page)
    r = b.post("/account/security/totp", dict(f, name="Phone"))
    key = secret_from_uri(otpauth_uri(r.text))
    conf = form_fields(r.text, "/account/security/totp/confirm")
    confirm_step = step_now()
    r = b.post("/account/security/totp/confirm", dict(conf, code=totp(key, confirm_step)))
    check_eq("the app confirmed: on to resume", (r.status, location(r)), (303, "/authorize/resume?request=" + rid))
    page = b.follow(r)
    check("resume: now the sign-in page (step-up), no code yet", page.status == 200
          and field_value(page.text, "request") == rid and "two-step sign-in" in page.text, page)
    r = b.sign_in(page, "pat", "pat password 1")
    step = form_fields(r.text, "/login/code")
    require("the password, then the code step", step and step.get("step"), r)
    r = b.post("/login/code", dict(step, code=totp(key, confirm_step + 1)))
    check_eq("the code: on to resume", (r.status, location(r)), (303, "/authorize/resume?request=" + rid))
    r = b.follow(r)
    q = query_of(location(r))
    check("resume: the relying party gets its code", r.status in (302, 303) and location(r).startswith(REDIRECT)
          and q.get("code") and q.get("state") == ["st-123"], r)
    rows = sql("select c.acr from authorization_codes c join users u on u.id = c.user_id where u.user_name = 'pat'")
    check_eq("... for a session with acr mfa", rows, [[MFA]])

    # ---- phishing-resistant asked: the folded password form, then giving up ---------------
    q_b = Browser(srv, "127.0.0.81")
    page = q_b.get("/authorize", authorize_params(challenge, acr_values=PHR, state="st-q"))
    rid = field_value(page.text, "request")
    check("the phishing-resistant page folds the password under 'No passkey yet?'",
          page.status == 200 and '<details id="no-passkey">' in page.text
          and page.text.index('id="passkey-signin"') < page.text.index('name="password"'), page)
    f = form_fields(page.text, "/login")
    r = q_b.post("/login", dict(f, username="quinn", password="quinn password 1"))
    check_eq("the password: to the account page to add a passkey", location(r),
             "/account/security?m=acr-pr&request=" + rid)
    page = q_b.follow(r)
    check("... which says a passkey is asked for", "asks you to sign in with a passkey" in page.text, page)
    r = q_b.get("/authorize/resume?request=%s&unmet=1" % rid)
    q = query_of(location(r))
    check("giving up: the relying party gets unmet_authentication_requirements with its state",
          r.status in (302, 303) and location(r).startswith(REDIRECT)
          and q.get("error") == ["unmet_authentication_requirements"] and q.get("state") == ["st-q"]
          and "code" not in q, r)
    r = q_b.get("/authorize/resume?request=" + rid)
    check_eq("... and the request is gone", r.status, 400)
    r = q_b.get("/authorize/resume?request=%s&unmet=1" % rid)
    check_eq("... also for a second give-up", r.status, 400)

    # ---- an account with a passkey and a password-only session: stepped up, not enrolled ------
    sql("insert into webauthn_credentials (user_id, credential_id, public_key, alg, backup_eligible, backed_up, "
        "attestation_fmt, name) values ('%s', '\\x%s', '\\x00', -7, false, false, 'none', 'Key')"
        % (rae, os.urandom(16).hex()))
    rb = Browser(srv, "127.0.0.82")
    page = rb.get("/authorize", authorize_params(challenge, acr_values=PHR))
    rid = field_value(page.text, "request")
    f = form_fields(page.text, "/login")
    r = rb.post("/login", dict(f, username="rae", password="rae password 1"))
    check("rae has a passkey: the password leads back to the sign-in page, not to add one",
          r.status == 200 and field_value(r.text, "request") == rid and 'id="passkey-signin"' in r.text, r)

    # ---- no acr asked: nothing changes ------------------------------------------------------------
    nb = Browser(srv, "127.0.0.83")
    page = nb.get("/authorize", authorize_params(challenge))
    check("without acr_values the page is the usual one", '<details id="no-passkey">' not in page.text, page)
    r = nb.sign_in(page, "quinn", "quinn password 1")
    check("... and a password gets the code", r.status in (302, 303) and "code=" in location(r), r)
    srv.stop()


run(main)
