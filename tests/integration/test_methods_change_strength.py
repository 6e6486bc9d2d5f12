"""Adding, renaming or removing a sign-in method needs a sign-in as strong
as the account's methods allow (issue 5, account security page): a password
alone may not add a passkey or an app to an account that has a passkey, nor
remove its passkey (a phished password would otherwise add the phisher's
passkey and pass any phishing-resistant request), nor rename it. Renaming
went through with a password alone, so a phished password could relabel the
owner's passkey ("Old key, remove me") to talk the owner into removing it; a
passkey-strength session still renames it. An account with only a password
adds its first second factor with it; a TAP session registers whatever it
has."""

import json
import os
import re

from authorize_browser import Browser
from harness import check, check_eq, require, run
from methods_fixture import add_user, form_fields, plant_session, sql


def password_session(b, username, password):
    page = b.get("/account/security")
    f = form_fields(page.text, "/login")
    r = b.post("/login", dict(f, username=username, password=password))
    require("password sign-in for %s" % username, r.status == 303, r)
    return b.get("/account/security")


def passkey_options(b, page):
    m = re.search(r'<div id="passkey-register"[^>]*data-csrf="([^"]*)"', page.text)
    r = b.request("POST", "/account/security/passkey/options", raw_body=json.dumps({"csrf": m.group(1) if m else ""}),
                  content_type="application/json")
    try:
        r.json = json.loads(r.text)
    except ValueError:
        r.json = {}
    return r


def main(env):
    srv = env.regain()
    db = env.db_url
    rae = add_user(srv, "rae", "rae password 1")
    add_user(srv, "pat", "pat password 1")
    sql(db, "insert into webauthn_credentials (user_id, credential_id, public_key, alg, backup_eligible, backed_up, "
            "attestation_fmt, name) values ('%s', '\\x%s', '\\x00', -7, false, false, 'none', 'Key')"
        % (rae, os.urandom(16).hex()))

    # ---- rae has a passkey: her password alone changes nothing --------------------------------
    b = Browser(srv, "127.0.0.90")
    page = password_session(b, "rae", "rae password 1")
    check("a password session opens rae's account page", page.status == 200 and "Sign-in methods" in page.text,
          page)
    f = form_fields(page.text, "/account/security/totp")
    r = b.post("/account/security/totp", dict(f, name="Phone"))
    check_eq("adding an app: refused, back with m=stronger-first", (r.status, r.header("location")),
             (303, "/account/security?m=stronger-first"))
    check_eq("... no app row", sql(db, "select count(*) from totp_authenticators"), [["0"]])
    check("... the page says why", "sign in with your strongest one first" in b.get(
        "/account/security?m=stronger-first").text, "")
    r = passkey_options(b, page)
    check_eq("passkey options: 403 step_up_required", (r.status, r.json.get("error")), (403, "step_up_required"))
    check_eq("... no challenge stored", sql(db, "select count(*) from webauthn_challenges"), [["0"]])
    rem = form_fields(page.text, "/account/security/remove")
    require("the remove form", rem is not None and rem.get("kind") == "passkey", page)
    r = b.post("/account/security/remove", rem)
    check_eq("removing her passkey: refused", r.header("location"), "/account/security?m=stronger-first")
    check_eq("... it is still there", sql(db, "select count(*) from webauthn_credentials"), [["1"]])
    ren = form_fields(page.text, "/account/security/rename")
    require("the rename form", ren is not None and ren.get("kind") == "passkey", page)
    r = b.post("/account/security/rename", dict(ren, name="Old key, remove me"))
    check_eq("renaming her passkey: refused, back with m=stronger-first", (r.status, r.header("location")),
             (303, "/account/security?m=stronger-first"))
    check_eq("... its name is unchanged", sql(db, "select name from webauthn_credentials"), [["Key"]])
    check_eq("... no method.renamed event", sql(db, "select count(*) from audit_events "
                                                    "where type = 'method.renamed'"), [["0"]])
    check("... the page says why, naming renaming", "To add, rename or remove a sign-in method" in b.get(
        "/account/security?m=stronger-first").text, "")

    # ---- rae signed in with her passkey renames it ------------------------------------------------
    k = Browser(srv, "127.0.0.93")
    plant_session(k, env, db, rae, purpose="full", acr="urn:regain:acr:phishing-resistant")
    page = k.get("/account/security")
    ren = form_fields(page.text, "/account/security/rename")
    require("the rename form in a passkey session", ren is not None and ren.get("kind") == "passkey", page)
    r = k.post("/account/security/rename", dict(ren, name="Laptop key"))
    check_eq("a passkey session renames it", r.header("location"), "/account/security?m=renamed")
    check_eq("... stored", sql(db, "select name from webauthn_credentials"), [["Laptop key"]])

    # ---- pat has only a password: it adds his first second factor ------------------------------
    p = Browser(srv, "127.0.0.91")
    page = password_session(p, "pat", "pat password 1")
    f = form_fields(page.text, "/account/security/totp")
    r = p.post("/account/security/totp", dict(f, name="Phone"))
    check("pat (password only) may add an app with his password", r.status == 200 and "otpauth://" in r.text, r)
    check_eq("... and may ask for passkey options", passkey_options(p, page).status, 200)

    # ---- a TAP session registers whatever the account has ---------------------------------------
    t = Browser(srv, "127.0.0.92")
    plant_session(t, env, db, rae, purpose="register_method")
    page = t.get("/account/security")
    check_eq("a TAP session for rae may ask for passkey options", passkey_options(t, page).status, 200)
    srv.stop()


run(main)
