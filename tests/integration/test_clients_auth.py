"""Client authentication at POST /token (RFC 6749 §2.3, OIDC Core §9), seen
through grant_type=client_credentials: client_secret_basic (id and secret
form-urlencoded inside the Basic header, §2.3.1), client_secret_post,
private_key_jwt (RFC 7523 §3: iss = sub = client_id, aud, exp, single-use
jti, signature by a registered key with the algorithm pinned by the key),
exactly one method per request, 401 invalid_client with WWW-Authenticate
(RFC 6749 §5.2 requires it when the header was used; RFC 9110 §15.5.2 for
every 401: "The server generating a 401 response MUST send a
WWW-Authenticate header field"), no-store everywhere, and a removed client
stops working within the cache TTL."""

import base64
import json
import time
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from harness import b64url, check, check_eq, curl, require, run, SLOW

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def q(v):
    from urllib.parse import quote
    return quote(str(v), safe="")


def token(srv, form, authz=None, basic=None):
    """POST /token over h2+TLS; `basic`=(id, secret) form-urlencodes both
    parts as RFC 6749 §2.3.1 says; `authz` is a raw Authorization value."""
    args = ["--http2", "-k", "-X", "POST", "-H", "content-type: application/x-www-form-urlencoded"]
    if basic is not None:
        raw = "%s:%s" % (q(basic[0]), q(basic[1]))
        authz = "Basic " + base64.b64encode(raw.encode()).decode()
    if authz is not None:
        args += ["-H", "authorization: " + authz]
    body = "&".join("%s=%s" % (k, q(v)) for k, v in form)
    return curl(*(args + ["--data-binary", body, srv.https("/token")]))


def cli_add(srv, *args):
    p = srv.cli("client", "add", *args, "--json")
    require("client add %s" % args[1], p.returncode == 0, p.stderr)
    return json.loads(p.stdout)


def jwk_of(pub, kid):
    nums = pub.public_numbers()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return {"kty": "EC", "crv": "P-256", "kid": kid,
                "x": b64url(nums.x.to_bytes(32, "big")), "y": b64url(nums.y.to_bytes(32, "big"))}
    n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
    e = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "kid": kid, "n": b64url(n), "e": b64url(e)}


def sign(key, header, claims):
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(claims, separators=(",", ":")).encode())
    data = ("%s.%s" % (h, p)).encode()
    if header.get("alg") == "ES256":
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif header.get("alg") == "RS256":
        sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        sig = b""
    return "%s.%s.%s" % (h, p, b64url(sig))


def claims_for(srv, client_id, **over):
    now = int(time.time())
    c = {"iss": client_id, "sub": client_id, "aud": srv.issuer + "/token", "iat": now, "exp": now + 60,
         "jti": str(uuid.uuid4())}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def assertion_form(assertion, **extra):
    f = [("grant_type", "client_credentials"), ("client_assertion_type", JWT_BEARER),
         ("client_assertion", assertion)]
    return f + list(extra.items())


def is_invalid_client(name, r, header=False):
    b = r.json() or {}
    check("%s: 401 invalid_client" % name, r.status == 401 and b.get("error") == "invalid_client", r.describe())
    check_eq("%s: Cache-Control no-store" % name, r.header("cache-control"), "no-store")
    # `header`: the client used the Authorization header. Either way the
    # 401 names the scheme (RFC 9110 §15.5.2).
    www = r.header("www-authenticate") or ""
    check("%s: WWW-Authenticate: Basic" % name, www.lower().startswith("basic"), r.describe())


def ok_token(name, r):
    b = r.json() or {}
    check("%s: 200 with an access token" % name, r.status == 200 and "access_token" in b, r.describe())


def main(env):
    srv = env.regain()
    basic = cli_add(srv, "--id", "cc.basic", "--grant-types", "client_credentials", "--scopes", "scim")
    post = cli_add(srv, "--id", "cc-post", "--grant-types", "client_credentials", "--scopes", "scim",
                   "--auth-method", "client_secret_post")
    cli_add(srv, "--id", "pub", "--redirect-uri", "http://127.0.0.1/cb", "--auth-method", "none")
    cc = [("grant_type", "client_credentials")]

    # ---- client_secret_basic ----------------------------------------------
    ok_token("basic", token(srv, cc, basic=("cc.basic", basic["client_secret"])))
    # RFC 6749 §2.3.1: the id is form-urlencoded; an escaped id decodes.
    raw = "cc%2Ebasic:" + q(basic["client_secret"])
    ok_token("basic with a percent-encoded id",
             token(srv, cc, authz="Basic " + base64.b64encode(raw.encode()).decode()))
    ok_token("basic scheme name in another case",
             token(srv, cc, authz="bAsIc " + base64.b64encode(raw.encode()).decode()))
    # One character changed (to one it is not: a random secret starts with
    # "x" once in 64 runs).
    secret = basic["client_secret"]
    is_invalid_client("basic, wrong secret", token(srv, cc, basic=("cc.basic", ("y" if secret[0] == "x" else "x") +
                                                                    secret[1:])), header=True)
    wrong = token(srv, cc, basic=("cc.basic", "nope"))
    unknown = token(srv, cc, basic=("nobody", "nope"))
    is_invalid_client("basic, unknown client", unknown, header=True)
    check_eq("unknown client and wrong secret read the same", (unknown.json() or {}).get("error_description"),
             (wrong.json() or {}).get("error_description"))
    is_invalid_client("basic, bad base64", token(srv, cc, authz="Basic !!!"), header=True)
    is_invalid_client("basic, no colon",
                      token(srv, cc, authz="Basic " + base64.b64encode(b"cc.basic").decode()), header=True)
    is_invalid_client("Bearer instead of Basic", token(srv, cc, authz="Bearer abc"), header=True)
    is_invalid_client("basic client using client_secret_post",
                      token(srv, cc + [("client_id", "cc.basic"), ("client_secret", basic["client_secret"])]))
    r = token(srv, cc + [("client_id", "cc-post")], basic=("cc.basic", basic["client_secret"]))
    is_invalid_client("client_id in the body naming another client", r, header=True)

    # ---- client_secret_post ------------------------------------------------
    ok_token("post", token(srv, cc + [("client_id", "cc-post"), ("client_secret", post["client_secret"])]))
    is_invalid_client("post, wrong secret", token(srv, cc + [("client_id", "cc-post"), ("client_secret", "x")]))
    is_invalid_client("post client using basic", token(srv, cc, basic=("cc-post", post["client_secret"])),
                      header=True)
    r = token(srv, cc + [("client_id", "cc-post"), ("client_secret", post["client_secret"]),
                         ("client_secret", post["client_secret"])])
    check("post, client_secret twice: 400 invalid_request",
          r.status == 400 and (r.json() or {}).get("error") == "invalid_request", r.describe())

    # ---- exactly one method (RFC 6749 §2.3) -------------------------------------
    r = token(srv, cc + [("client_id", "cc-post"), ("client_secret", post["client_secret"])],
              basic=("cc-post", post["client_secret"]))
    check("basic and post together: 400 invalid_request",
          r.status == 400 and (r.json() or {}).get("error") == "invalid_request", r.describe())
    check_eq("... no-store", r.header("cache-control"), "no-store")

    # ---- none ----------------------------------------------------------------------
    is_invalid_client("public client presenting a secret",
                      token(srv, cc + [("client_id", "pub"), ("client_secret", "anything")]))
    is_invalid_client("no credentials at all", token(srv, cc))

    # ---- private_key_jwt -----------------------------------------------------------
    eck = ec.generate_private_key(ec.SECP256R1())
    rsak = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = ec.generate_private_key(ec.SECP256R1())
    jwks_path = env.dir + "/jwt.jwks.json"
    with open(jwks_path, "w") as f:
        json.dump({"keys": [jwk_of(eck.public_key(), "ec1"), jwk_of(rsak.public_key(), "rsa1")]}, f)
    cli_add(srv, "--id", "cc-jwt", "--grant-types", "client_credentials", "--scopes", "scim",
            "--auth-method", "private_key_jwt", "--jwks", jwks_path)

    a = sign(eck, {"alg": "ES256", "kid": "ec1", "typ": "JWT"}, claims_for(srv, "cc-jwt"))
    ok_token("private_key_jwt ES256", token(srv, assertion_form(a)))
    r = token(srv, assertion_form(a))
    is_invalid_client("the same assertion again (jti replay)", r)
    check("... says the jti was used", "jti" in (r.json() or {}).get("error_description", ""), r.describe())
    ok_token("private_key_jwt RS256, aud = issuer, no kid",
             token(srv, assertion_form(sign(rsak, {"alg": "RS256"}, claims_for(srv, "cc-jwt", aud=srv.issuer)))))
    ok_token("private_key_jwt with a matching client_id in the body",
             token(srv, assertion_form(sign(eck, {"alg": "ES256", "kid": "ec1"}, claims_for(srv, "cc-jwt")),
                                       client_id="cc-jwt")))
    ok_token("aud as an array",
             token(srv, assertion_form(sign(eck, {"alg": "ES256"},
                                            claims_for(srv, "cc-jwt", aud=["x", srv.issuer + "/token"])))))

    bad = [
        ("signed by an unregistered key", other, {"alg": "ES256", "kid": "ec1"}, {}),
        ("kid names the RSA key but ES256", eck, {"alg": "ES256", "kid": "rsa1"}, {}),
        ("alg none", None, {"alg": "none"}, {}),
        ("alg HS256", None, {"alg": "HS256", "kid": "ec1"}, {}),
        ("expired", eck, {"alg": "ES256"}, {"exp": int(time.time()) - 120}),
        ("no exp", eck, {"alg": "ES256"}, {"exp": None}),
        ("exp an hour ahead", eck, {"alg": "ES256"}, {"exp": int(time.time()) + 3600}),
        ("no jti", eck, {"alg": "ES256"}, {"jti": None}),
        ("wrong aud", eck, {"alg": "ES256"}, {"aud": "https://elsewhere.example/token"}),
        ("sub is not the client", eck, {"alg": "ES256"}, {"sub": "someone"}),
        ("nbf in the future", eck, {"alg": "ES256"}, {"nbf": int(time.time()) + 300}),
    ]
    for name, key, hdr, over in bad:
        c = claims_for(srv, "cc-jwt", **over)
        tok = sign(key, hdr, c) if key is not None else sign(None, hdr, c)
        is_invalid_client("private_key_jwt, %s" % name, token(srv, assertion_form(tok)))
    tok = sign(eck, {"alg": "ES256"}, claims_for(srv, "cc-jwt"))
    h, p, s = tok.split(".")
    flipped = s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1]
    is_invalid_client("private_key_jwt, flipped signature byte", token(srv, assertion_form(h + "." + p + "." + flipped)))
    is_invalid_client("private_key_jwt, iss names another client",
                      token(srv, assertion_form(sign(eck, {"alg": "ES256"}, claims_for(srv, "cc-post")))))
    r = token(srv, [("grant_type", "client_credentials"), ("client_assertion_type", "urn:example:other"),
                    ("client_assertion", tok)])
    is_invalid_client("private_key_jwt, wrong client_assertion_type", r)
    is_invalid_client("private_key_jwt, garbage assertion", token(srv, assertion_form("a.b.c")))
    r = token(srv, assertion_form(sign(eck, {"alg": "ES256"}, claims_for(srv, "cc-jwt"))),
              basic=("cc.basic", basic["client_secret"]))
    check("assertion and Basic together: 400 invalid_request",
          r.status == 400 and (r.json() or {}).get("error") == "invalid_request", r.describe())
    is_invalid_client("secret client sending an assertion",
                      token(srv, assertion_form(sign(eck, {"alg": "ES256"}, claims_for(srv, "cc.basic")))))
    is_invalid_client("jwt client sending a secret",
                      token(srv, cc + [("client_id", "cc-jwt"), ("client_secret", "x" * 43)]))

    # ---- a removed client stops working within the cache TTL (5 s) -----------------
    ok_token("basic client still works", token(srv, cc, basic=("cc.basic", basic["client_secret"])))
    p = srv.cli("client", "remove", "cc.basic")
    check("client remove exits 0", p.returncode == 0, p.stderr)
    time.sleep(5.5 * SLOW)
    is_invalid_client("removed client after the cache TTL",
                      token(srv, cc, basic=("cc.basic", basic["client_secret"])), header=True)

    # ---- many unknown ids: answered, and the server stays healthy ----------------
    for i in range(30):
        r = token(srv, cc, basic=("ghost%d" % (i % 3), "x"))
    is_invalid_client("repeated unknown client", r, header=True)
    srv.stop()


if __name__ == "__main__":
    run(main)
