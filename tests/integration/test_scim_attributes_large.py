"""A query's attributes / excludedAttributes (RFC 7644 §3.9, §3.4.3) cannot
make the server work in proportion to their length times the page.

Each resource of a list page was projected with the whole list parsed again,
every name looked up in the schemas, and a SearchRequest's array was joined
with strcat: a body under 1 MB naming "a" 200,000 times held the event loop
for 3.6 s on a page of 100 users, 36 s on a page of 1,000 — with a read-only
token.  A list of more names than the schemas could use (256) or longer than
64 kB is now invalidValue; lists of real size work as before.  Both lists at
once (RFC 7644 §3.9: "mutually exclusive") are invalidValue whatever the page
holds, and before a write, not after it."""

from harness import check, check_eq, require, run
from scim_provisioning import PATCH_OP, USER, Scim, scim_error, scim_token, while_answering

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
USERS = 300


def main(env):
    srv = env.regain({"server": {"max_request_body_bytes": 8 * 1024 * 1024, "threads": 1}})
    scim = Scim(srv, scim_token(srv, "prov"))
    r = scim.bulk([{"method": "POST", "path": "/Users", "bulkId": "u%d" % i,
                    "data": {"schemas": [USER], "userName": "user%03d" % i, "title": "t%d" % i}}
                   for i in range(USERS)])
    require("%d users" % USERS, r.status == 200
            and all(o.get("status") == "201" for o in (r.json() or {}).get("Operations", [])), r.describe())

    body = {"schemas": [SEARCH], "attributes": ["a"] * 200000, "count": USERS}
    r = while_answering(scim, "a search names 200,000 attributes",
                        lambda: scim.post("/Users/.search", body, timeout=300), timeout=300)
    scim_error("200,000 attribute names", r, 400, "invalidValue")

    names = ",".join("name%d" % i for i in range(257))
    scim_error("GET with 257 attribute names", scim.get("/Users", [("attributes", names)]), 400, "invalidValue")
    scim_error("GET with 257 excluded names", scim.get("/Users", [("excludedAttributes", names)]), 400,
               "invalidValue")
    r = scim.get("/Users", [("filter", 'userName eq "user000"')])
    uid = ((r.json() or {}).get("Resources") or [{}])[0].get("id", "")
    scim_error("GET one user with 257 attribute names", scim.get("/Users/" + uid, [("attributes", names)]), 400,
               "invalidValue")

    # RFC 7644 §3.9: attributes and excludedAttributes are mutually
    # exclusive; the answer cannot depend on whether a resource matched.
    for flt in ('userName eq "user000"', 'userName eq "nobody"'):
        r = scim.get("/Users", [("filter", flt), ("attributes", "userName"), ("excludedAttributes", "title")])
        scim_error("attributes and excludedAttributes, filter %s" % flt, r, 400, "invalidValue")
    r = scim.post("/Users/.search", {"schemas": [SEARCH], "filter": 'userName eq "nobody"',
                                     "attributes": ["userName"], "excludedAttributes": ["title"]})
    scim_error("a SearchRequest with both, matching nothing", r, 400, "invalidValue")

    # ... and a write asking for both is refused before it changes anything
    # (the projection of the answer used to refuse it after the write).
    r = scim.patch("/Users/%s?attributes=userName&excludedAttributes=title" % uid,
                   {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "changed"}]})
    scim_error("PATCH asking for attributes and excludedAttributes", r, 400, "invalidValue")
    check_eq("... title unchanged", (scim.get("/Users/" + uid).json() or {}).get("title"), "t0")

    # Lists of real size: as before, the unknown names selecting nothing.
    few = ["userName", "urn:ietf:params:scim:schemas:core:2.0:User:title"] + ["nosuch%d" % i for i in range(250)]
    r = scim.post("/Users/.search", {"schemas": [SEARCH], "attributes": few, "filter": 'userName eq "user007"'})
    check_eq("a search naming 252 attributes: the two known ones", r.status == 200 and
             [{k: v for k, v in d.items() if k != "schemas"} for d in (r.json() or {}).get("Resources", [])],
             [{"id": (r.json() or {}).get("Resources", [{}])[0].get("id"), "userName": "user007", "title": "t7"}])
    r = scim.get("/Users/" + uid, [("excludedAttributes", ",".join(["title", "meta"] + ["x%d" % i for i in range(200)]))])
    check("GET one user excluding title and meta among 202 names", r.status == 200 and "title" not in (r.json() or {})
          and "meta" not in (r.json() or {}) and (r.json() or {}).get("userName") == "user000", r.describe())


run(main)
