"""`regain client add|list|remove`: registration through the CLI, the secret
shown once and stored only as a hash, the registration rules (bad redirect
URIs, grant/method combinations, private_key_jwt needs public keys), and
exit codes 0 (done), 1 (failed), 2 (usage or invalid input)."""

import json
import os
import subprocess

from harness import check, check_eq, psql, require, run


def ec_jwk(tmpdir, name, private=False):
    """A P-256 key made with the openssl CLI, as a JWKS file (public, or with
    the private member "d" when `private`)."""
    pem = os.path.join(tmpdir, name + ".pem")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", pem], check=True)
    text = subprocess.run(["openssl", "ec", "-in", pem, "-text", "-noout"], capture_output=True, text=True).stdout
    # openssl prints priv: and pub: as colon-separated hex blocks.
    blocks, cur = {}, None
    for line in text.splitlines():
        if line.startswith("priv:") or line.startswith("pub:"):
            cur = line.split(":")[0]
            blocks[cur] = ""
        elif cur and line.startswith(" "):
            blocks[cur] += line.strip().replace(":", "")
        else:
            cur = None
    pub = bytes.fromhex(blocks["pub"])
    d = bytes.fromhex(blocks["priv"]).rjust(32, b"\0")[-32:]
    import base64

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    jwk = {"kty": "EC", "crv": "P-256", "x": b64(pub[1:33]), "y": b64(pub[33:65]), "kid": name}
    if private:
        jwk["d"] = b64(d)
    path = os.path.join(tmpdir, name + ".jwks.json")
    with open(path, "w") as f:
        json.dump({"keys": [jwk]}, f)
    return path


def main(env):
    srv = env.regain(start=False)
    srv.migrate()

    # ---- add: a confidential web client, secret shown once ----------------
    p = srv.cli("client", "add", "--id", "web1", "--name", "Web One",
                "--redirect-uri", "https://app.example/cb", "--redirect-uri", "http://127.0.0.1:8080/cb",
                "--post-logout-redirect-uri", "https://app.example/bye",
                "--grant-types", "authorization_code,refresh_token",
                "--scopes", "openid profile email offline_access", "--json")
    require("client add web1 --json exits 0", p.returncode == 0, p.stderr)
    out = json.loads(p.stdout)
    secret = out.get("client_secret", "")
    check_eq("--json output names the client", out.get("client_id"), "web1")
    check("--json output carries a 43-character secret", len(secret) == 43, repr(out))
    check_eq("default auth method is client_secret_basic", out.get("token_endpoint_auth_method"),
             "client_secret_basic")
    check_eq("default id token alg is ES256", out.get("id_token_signed_response_alg"), "ES256")
    check_eq("redirect URIs kept in order", out.get("redirect_uris"),
             ["https://app.example/cb", "http://127.0.0.1:8080/cb"])
    check_eq("scope kept", out.get("scope"), "openid profile email offline_access")

    rc, rows, err = psql(env.db_url, "select encode(secret_hash, 'hex') from clients where id = 'web1'")
    require("web1 row stored", rc == 0 and rows, err)
    check("the stored secret hash is 32 bytes", len(rows[0][0]) == 64, rows)
    rc, rows, err = psql(env.db_url, "select row_to_json(c)::text from clients c")
    check("the plaintext secret is stored nowhere", secret and secret not in rows[0][0], rows)

    # plain text output
    p = srv.cli("client", "add", "--id", "svc1", "--grant-types", "client_credentials", "--scopes", "scim",
                "--auth-method", "client_secret_post")
    check("client add svc1 (client_credentials, post) exits 0", p.returncode == 0, p.stderr)
    check("text output shows the secret once", "client_secret: " in p.stdout, p.stdout)

    # ---- duplicate id: exit 1 ----------------------------------------------
    p = srv.cli("client", "add", "--id", "web1", "--redirect-uri", "https://x.example/cb")
    check_eq("adding an existing id exits 1", p.returncode, 1)
    check("... and says it exists", "already exists" in p.stderr, p.stderr)

    # ---- invalid input: exit 2 ------------------------------------------------
    bad = [
        ("fragment in redirect URI", ["--redirect-uri", "https://app.example/cb#frag"], "fragment"),
        ("relative redirect URI", ["--redirect-uri", "/cb"], "absolute"),
        ("http on a public host", ["--redirect-uri", "http://app.example/cb"], "https"),
        ("userinfo in redirect URI", ["--redirect-uri", "https://user@app.example/cb"], "userinfo"),
        ("no redirect URI for the code flow", [], "redirect_uris"),
        ("unknown grant type", ["--redirect-uri", "https://a.example/cb", "--grant-types", "password"],
         "grant_types"),
        ("unknown scope", ["--redirect-uri", "https://a.example/cb", "--scopes", "openid root"], "root"),
        ("none with client_credentials", ["--grant-types", "client_credentials", "--auth-method", "none"],
         "none"),
        ("unknown auth method", ["--redirect-uri", "https://a.example/cb", "--auth-method", "magic"],
         "token_endpoint_auth_method"),
        ("RS512 id token alg", ["--redirect-uri", "https://a.example/cb", "--id-token-alg", "RS512"], "ES256"),
        ("private_key_jwt without jwks",
         ["--grant-types", "client_credentials", "--auth-method", "private_key_jwt"], "jwks"),
        ("missing jwks file", ["--grant-types", "client_credentials", "--auth-method", "private_key_jwt",
                               "--jwks", "/nonexistent/jwks.json"], "jwks"),
    ]
    for name, args, word in bad:
        p = srv.cli("client", "add", "--id", "bad1", *args)
        check("%s: exit 2" % name, p.returncode == 2, "exit %d\n%s" % (p.returncode, p.stderr))
        check("%s: message mentions %r" % (name, word), word in p.stderr, p.stderr)
    p = srv.cli("client", "add", "--id", "bad id!", "--redirect-uri", "https://a.example/cb")
    check_eq("invalid client id: exit 2", p.returncode, 2)
    p = srv.cli("client", "add", "--redirect-uri", "https://a.example/cb")
    check_eq("add without --id: exit 2", p.returncode, 2)
    p = srv.cli("client", "add", "--id", "x", "--frobnicate")
    check_eq("unknown option: exit 2", p.returncode, 2)
    p = srv.cli("client", "explode")
    check_eq("unknown action: exit 2", p.returncode, 2)
    rc, rows, _ = psql(env.db_url, "select count(*) from clients where id in ('bad1', 'x')")
    check_eq("nothing was stored by the refused commands", rows and rows[0][0], "0")

    # ---- private_key_jwt: public keys only -------------------------------------
    pub = ec_jwk(env.dir, "k1")
    p = srv.cli("client", "add", "--id", "jwt1", "--grant-types", "client_credentials", "--scopes", "scim",
                "--auth-method", "private_key_jwt", "--jwks", pub, "--json")
    check("private_key_jwt client with a public JWKS: exit 0", p.returncode == 0, p.stderr)
    out = json.loads(p.stdout or "{}")
    check("no secret for a private_key_jwt client", "client_secret" not in out, p.stdout)
    keys = (out.get("jwks") or {}).get("keys") or [{}]
    check_eq("the JWKS is kept, with its kid", keys[0].get("kid"), "k1")
    priv = ec_jwk(env.dir, "k2", private=True)
    p = srv.cli("client", "add", "--id", "jwt2", "--grant-types", "client_credentials",
                "--auth-method", "private_key_jwt", "--jwks", priv)
    check_eq("a JWKS with a private member is refused (exit 2)", p.returncode, 2)

    # public client
    p = srv.cli("client", "add", "--id", "spa1", "--redirect-uri", "http://localhost:3000/cb",
                "--auth-method", "none", "--json")
    check("public client (none) with a loopback redirect: exit 0", p.returncode == 0, p.stderr)
    check("no secret for a public client", "client_secret" not in json.loads(p.stdout or "{}"), p.stdout)

    # ---- list ------------------------------------------------------------------
    p = srv.cli("client", "list", "--json")
    check("client list --json exits 0", p.returncode == 0, p.stderr)
    doc = json.loads(p.stdout or "{}")
    ids = [c.get("client_id") for c in doc.get("clients", [])]
    check_eq("list shows every client, sorted", ids, ["jwt1", "spa1", "svc1", "web1"])
    check("list never shows a secret", "\"client_secret\":" not in p.stdout and secret not in p.stdout, p.stdout)
    p = srv.cli("client", "list")
    check("client list (text) exits 0 with one line per client",
          p.returncode == 0 and len(p.stdout.strip().splitlines()) == 4, p.stdout)
    p = srv.cli("client", "list", "--bogus")
    check_eq("client list --bogus: exit 2", p.returncode, 2)

    # ---- remove ------------------------------------------------------------------
    p = srv.cli("client", "remove", "spa1")
    check("client remove spa1 exits 0", p.returncode == 0, p.stderr)
    p = srv.cli("client", "remove", "spa1")
    check_eq("removing it again exits 1", p.returncode, 1)
    p = srv.cli("client", "remove")
    check_eq("remove without an id: exit 2", p.returncode, 2)
    p = srv.cli("client", "remove", "a", "b")
    check_eq("remove with two ids: exit 2", p.returncode, 2)
    rc, rows, _ = psql(env.db_url, "select string_agg(id, ',' order by id) from clients")
    check_eq("remaining clients", rows and rows[0][0], "jwt1,svc1,web1")


if __name__ == "__main__":
    run(main)
