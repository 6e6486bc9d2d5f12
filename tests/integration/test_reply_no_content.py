"""204 (No Content) and 304 (Not Modified) answers carry no Content-Length.

RFC 9110 §8.6: "A server MUST NOT send a Content-Length header field in any
response with a status code of 1xx (Informational) or 204 (No Content)", and
in a 304 only the length a 200 would have had. The reply path used to set
the length of every answer, so these went out with "Content-Length: 0".
Checked on HTTP/1.1 (with the connection still kept alive: h2o 2.2.5 closes
non-200 answers without a length, DEPENDENCIES.md §9.3, but not 204/304) and
on HTTP/2, for an admin DELETE (204) and a SCIM GET with a matching
If-None-Match (304), which do get the right status."""

import json
import re

from harness import check, check_eq, require, run, sh
from scim_provisioning import USER, Scim, bearer, scim_token

WEB = {"client_id": "web1", "client_name": "Web One", "redirect_uris": ["https://app.example/cb"],
       "grant_types": ["authorization_code"], "scope": "openid"}


def verbose(args):
    """curl -v, two requests on one connection when --next is given: the
    response heads as (status, {name: value}) and curl's stderr."""
    p = sh(["curl", "-sS", "-v", "-k", "--max-time", "10"] + args, timeout=30)
    heads, cur = [], None
    for line in p.stderr.splitlines():
        m = re.match(r"< HTTP/[\d.]+ (\d{3})", line)
        if m:
            cur = (int(m.group(1)), {})
            heads.append(cur)
        elif cur is not None and line.startswith("< ") and ":" in line:
            name, _, value = line[2:].partition(":")
            cur[1][name.strip().lower()] = value.strip()
    return heads, p.stderr


def no_length(label, args, status):
    heads, err = verbose(args)
    require("%s: answered" % label, len(heads) >= 1, err[-1500:])
    check_eq("%s: status" % label, heads[0][0], status)
    check("%s: no Content-Length" % label, "content-length" not in heads[0][1], heads[0][1])
    check("%s: no Transfer-Encoding" % label, "transfer-encoding" not in heads[0][1], heads[0][1])
    return heads, err


def main(env):
    srv = env.regain()
    p = srv.cli("client", "add", "--id", "admin-cli", "--grant-types", "client_credentials", "--scopes", "admin",
                "--json")
    require("admin client registered", p.returncode == 0, p.stderr)
    scim = Scim(srv, scim_token(srv, "prov"))
    admin_token = bearer(srv, "admin-cli", json.loads(p.stdout)["client_secret"], "admin")

    # ---- 204: DELETE of an admin client, HTTP/1.1 then HTTP/2 ------------------------------
    for proto, flags, url in (("h1", ["--http1.1"], srv.http), ("h2", ["--http2", "-k"], srv.https)):
        r = sh(["curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                "-H", "authorization: Bearer " + admin_token, "-H", "content-type: application/json",
                "--data-binary", json.dumps(WEB), srv.https("/admin/v1/clients")])
        require("%s: client web1 created" % proto, r.stdout == "201", r.stdout + r.stderr)
        heads, err = no_length("%s DELETE /admin/v1/clients/web1" % proto,
                               flags + ["-X", "DELETE", "-H", "authorization: Bearer " + admin_token,
                                        url("/admin/v1/clients/web1"), "-o", "/dev/null",
                                        "--next"] + flags + [url("/healthz"), "-o", "/dev/null"], 204)
        check_eq("%s: the next request on the connection is answered" % proto,
                 [h[0] for h in heads], [204, 200])
        check("%s: the connection is kept after the 204" % proto, "Re-using existing connection" in err,
              err[-1500:])

    # ---- 304: SCIM GET with the current ETag -----------------------------------------------
    r = scim.post("/Users", {"schemas": [USER], "userName": "nolen"})
    require("SCIM user created", r.status == 201 and r.header("etag"), r.describe())
    uid, etag = r.json()["id"], r.header("etag")
    for proto, flags, url in (("h1", ["--http1.1"], srv.http), ("h2", ["--http2", "-k"], srv.https)):
        path = url("/scim/v2/Users/" + uid)
        heads, err = no_length("%s GET If-None-Match current" % proto,
                               flags + ["-H", "authorization: Bearer " + scim.token, "-H", "if-none-match: " + etag,
                                        path, "-o", "/dev/null", "--next"] + flags + [url("/healthz"), "-o",
                                                                                    "/dev/null"], 304)
        check_eq("%s: 304 carries the ETag" % proto, heads[0][1].get("etag"), etag)
        check("%s: the connection is kept after the 304" % proto, "Re-using existing connection" in err,
              err[-1500:])
        # A 200 still says how long it is.
        heads, err = verbose(flags + ["-H", "authorization: Bearer " + scim.token, path, "-o", "/dev/null"])
        check("%s GET without If-None-Match: 200 with a Content-Length" % proto,
              heads and heads[0][0] == 200 and int(heads[0][1].get("content-length", "0")) > 0, err[-1500:])
    srv.stop()


if __name__ == "__main__":
    run(main)
