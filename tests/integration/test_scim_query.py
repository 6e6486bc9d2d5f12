"""SCIM queries (RFC 7644 §3.4.2, §3.4.3) and cursor pagination (RFC 9865)
on real data: every filter operator, and/or/not, grouping, value paths;
sortBy/sortOrder; startIndex/count/totalResults (count=0: the total only;
count capped at the advertised maximum); attributes on lists; POST /.search
with a SearchRequest; cursors: next page, tampered, from another query;
keyset cursors forth and back (previousCursor), descending, over a sort key
with unassigned values, with a filter, and the offset cursors of a
multi-valued sort key; totalResults from the page, the kept count or a
filtered count."""

from harness import check, check_eq, require, run
from scim_provisioning import GROUP, LIST, USER, Scim, scim_error, scim_token, start

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

PEOPLE = [  # userName, title, active, emails, nickName
    ("amy", "Engineer", True, [("amy@corp.example", "work"), ("amy@home.example", "home")], "A"),
    ("Ben", "Manager", True, [("ben@corp.example", "work")], None),
    ("carl", "engineer", False, [("carl@other.example", "home")], "C"),
    ("dora", "Director", True, [], None),
    ("eve", "Engineer", True, [("eve@corp.example", "work")], "E"),
]


def names(r):
    return [u.get("userName") for u in (r.json() or {}).get("Resources", [])]


def main(env):
    srv = start(env)
    scim = Scim(srv, scim_token(srv, "prov"))
    for n, title, active, emails, nick in PEOPLE:
        doc = {"schemas": [USER], "userName": n, "title": title, "active": active,
               "emails": [{"value": v, "type": t} for v, t in emails]}
        if nick:
            doc["nickName"] = nick
        r = scim.post("/Users", doc)
        require("user %s created" % n, r.status == 201, r.describe())
    r = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Readers"})
    require("group created", r.status == 201, r.describe())

    def q(name, flt, want, **extra):
        params = [("filter", flt)] + [(k, v) for k, v in extra.items()]
        r = scim.get("/Users", params)
        b = r.json() or {}
        ok = r.status == 200 and b.get("schemas") == [LIST] and sorted(names(r)) == sorted(want) \
            and b.get("totalResults") == len(want)
        check("filter %s (%s)" % (name, flt), ok, r.describe())
        return r

    q("eq, case-insensitive userName", 'userName eq "BEN"', ["Ben"])
    q("ne", 'title ne "Engineer"', ["Ben", "dora"])
    q("co", 'userName co "a"', ["amy", "carl", "dora"])
    q("sw", 'userName sw "c"', ["carl"])
    q("ew", 'userName ew "e"', ["eve"])
    q("pr", "nickName pr", ["amy", "carl", "eve"])
    q("gt", 'userName gt "carl"', ["dora", "eve"])
    q("ge", 'userName ge "carl"', ["carl", "dora", "eve"])
    q("lt", 'userName lt "Ben"', ["amy"])
    q("le", 'userName le "ben"', ["amy", "Ben"])
    q("boolean eq", "active eq false", ["carl"])
    q("and", 'title eq "engineer" and active eq true', ["amy", "eve"])
    q("or", 'userName eq "amy" or userName eq "dora"', ["amy", "dora"])
    q("not", 'not (title eq "Engineer")', ["Ben", "dora"])
    q("grouping", '(userName eq "amy" or userName eq "Ben") and nickName pr', ["amy"])
    q("value path", 'emails[type eq "work" and value sw "a"]', ["amy"])
    q("sub-attribute", 'emails.type eq "home"', ["amy", "carl"])
    q("value path with co", 'emails[value co "corp"]', ["amy", "Ben", "eve"])
    q("meta.created pr", "meta.created pr", [p[0] for p in PEOPLE])
    r = scim.get("/Users", [("filter", 'userName eq "amy" and')])
    scim_error("malformed filter", r, 400, "invalidFilter")
    r = scim.get("/Users", [("filter", 'noSuchAttr eq "x"')])
    scim_error("filter on an unknown attribute", r, 400, "invalidFilter")
    r = scim.get("/Users", [("filter", "password pr")])
    scim_error("filter on password", r, 400, "invalidFilter")
    # pr on attributes whose columns are not text (id and members.value are
    # uuid, meta.version a number): "has a non-empty value" is every one that
    # has a value, never a database error (500).
    everyone = [p[0] for p in PEOPLE]
    q("id pr", "id pr", everyone)
    q("meta.version pr", "meta.version pr", everyone)
    q("meta pr", "meta pr", everyone)
    q("not (id pr)", "not (id pr)", [])
    r = scim.get("/Groups", [("filter", "id pr and not (members.value pr)")])
    check("Groups: id pr and not (members.value pr): the group without members",
          r.status == 200 and [g.get("displayName") for g in (r.json() or {}).get("Resources", [])] == ["Readers"],
          r.describe())
    # RFC 7643 §2.3.5: a dateTime is a valid xsd:dateTime; one of the right
    # shape naming no instant (month 13, 30 February, year 0) is invalidFilter.
    for bad in ("2020-13-45T99:99:99Z", "2021-02-30T00:00:00Z", "0000-01-01T00:00:00Z", "2020-01-01T00:00:00+15:00"):
        r = scim.get("/Users", [("filter", 'meta.lastModified gt "%s"' % bad)])
        scim_error("meta.lastModified gt %s" % bad, r, 400, "invalidFilter")
    q("meta.created lt a far date", 'meta.created lt "9999-12-31T23:59:59Z"', everyone)
    # meta.version is a number in the database: a UUID there is just a value
    # no version has (the uuid columns keep their type for a UUID).
    q("meta.version ne a UUID", 'meta.version ne "00000000-0000-4000-8000-000000000000"', everyone)
    q("meta.version eq a UUID", 'meta.version eq "00000000-0000-4000-8000-000000000000"', [])

    # ---- sorting (§3.4.2.3) -------------------------------------------------------------------------
    r = scim.get("/Users", [("sortBy", "userName")])
    check_eq("sortBy=userName ascending (case-insensitive)", names(r), ["amy", "Ben", "carl", "dora", "eve"])
    r = scim.get("/Users", [("sortBy", "userName"), ("sortOrder", "descending")])
    check_eq("sortOrder=descending", names(r), ["eve", "dora", "carl", "Ben", "amy"])
    r = scim.get("/Users", [("sortBy", "userName"), ("sortOrder", "sideways")])
    scim_error("sortOrder neither", r, 400, "invalidValue")

    # ---- paging (§3.4.2.4) ---------------------------------------------------------------------------
    r = scim.get("/Users", [("sortBy", "userName"), ("startIndex", "2"), ("count", "2")])
    b = r.json() or {}
    check("startIndex=2&count=2: the 2nd and 3rd, totalResults 5",
          names(r) == ["Ben", "carl"] and b.get("totalResults") == 5 and b.get("startIndex") == 2
          and b.get("itemsPerPage") == 2, r.describe())
    r = scim.get("/Users", [("count", "0")])
    b = r.json() or {}
    check("count=0: totalResults only", r.status == 200 and b.get("totalResults") == 5
          and not b.get("Resources"), r.describe())
    r = scim.get("/Users", [("startIndex", "0"), ("count", "-3")])
    b = r.json() or {}
    check("startIndex<1 is 1, count<0 is 0", r.status == 200 and b.get("startIndex") == 1
          and b.get("totalResults") == 5 and not b.get("Resources"), r.describe())
    r = scim.get("/Users", [("startIndex", "100")])
    b = r.json() or {}
    check("past the end: no resources, the true total", r.status == 200 and b.get("totalResults") == 5
          and not b.get("Resources"), r.describe())
    r = scim.get("/Users", [("count", "100000")])
    check("count above the maximum is capped", r.status == 200 and len(names(r)) == 5, r.describe())
    scim_error("count not a number", scim.get("/Users", [("count", "ten")]), 400, "invalidValue")

    # ---- attributes on a list (§3.9) -----------------------------------------------------------------
    r = scim.get("/Users", [("filter", 'userName eq "amy"'), ("attributes", "userName")])
    res = (r.json() or {}).get("Resources") or [{}]
    check("attributes=userName on a list", r.status == 200 and res[0].get("userName") == "amy"
          and "emails" not in res[0] and "title" not in res[0] and res[0].get("id"), r.describe())

    # ---- POST /.search (§3.4.3) ----------------------------------------------------------------------
    r = scim.post("/Users/.search", {"schemas": [SEARCH], "filter": 'title eq "Engineer"', "sortBy": "userName",
                                     "attributes": ["userName"], "startIndex": 1, "count": 10})
    check("POST /Users/.search", r.status == 200 and names(r) == ["amy", "carl", "eve"], r.describe())
    r = scim.post("/Users/.search", {"schemas": [USER], "filter": 'userName eq "amy"'})
    scim_error("/.search without the SearchRequest schema", r, 400, "invalidSyntax")
    r = scim.post("/Groups/.search", {"schemas": [SEARCH], "filter": 'displayName eq "readers"'})
    check("POST /Groups/.search", r.status == 200 and (r.json() or {}).get("totalResults") == 1, r.describe())
    r = scim.post("/.search", {"schemas": [SEARCH]})
    scim_error("POST /.search at the root (not supported)", r, 501)

    # ---- cursors (RFC 9865) ----------------------------------------------------------------------------
    r = scim.get("/Users", [("sortBy", "userName"), ("count", "2"), ("cursor", "")])
    b = r.json() or {}
    check("cursor= : the first page with nextCursor", names(r) == ["amy", "Ben"] and b.get("nextCursor")
          and "previousCursor" not in b and b.get("totalResults") == 5, r.describe())
    cur = b.get("nextCursor") or ""
    r = scim.get("/Users", [("sortBy", "userName"), ("count", "2"), ("cursor", cur)])
    b = r.json() or {}
    check("nextCursor: the second page", names(r) == ["carl", "dora"] and b.get("nextCursor")
          and b.get("previousCursor"), r.describe())
    r = scim.get("/Users", [("sortBy", "userName"), ("count", "2"), ("cursor", b.get("nextCursor") or "")])
    b = r.json() or {}
    check("the last page has no nextCursor", names(r) == ["eve"] and "nextCursor" not in b, r.describe())
    bad = cur[:-2] + ("AA" if cur[-2:] != "AA" else "BA")
    r = scim.get("/Users", [("sortBy", "userName"), ("count", "2"), ("cursor", bad)])
    scim_error("a tampered cursor", r, 400, "invalidCursor")
    r = scim.get("/Users", [("sortBy", "title"), ("count", "2"), ("cursor", cur)])
    scim_error("a cursor of another query", r, 400, "invalidCursor")
    r = scim.get("/Users", [("startIndex", "2"), ("cursor", cur)])
    scim_error("startIndex with a cursor", r, 400, "invalidValue")

    # ---- keyset cursors: back and forth, descending, NULL keys, filters ---------------------------------
    def walk(params, back=False):
        """Every page from the first, following nextCursor; then, when asked,
        back to the first following previousCursor. The names page by page."""
        seen, cursor, pages, totals = [], "", 0, set()
        while pages < 10:
            r = scim.get("/Users", params + [("cursor", cursor)])
            b = r.json() or {}
            if r.status != 200:
                return None, r
            seen.append(names(r))
            totals.add(b.get("totalResults"))
            pages += 1
            cursor = b.get("nextCursor")
            if not cursor:
                break
        if back:
            prev = b.get("previousCursor")
            while prev and pages < 20:
                r = scim.get("/Users", params + [("cursor", prev)])
                b = r.json() or {}
                seen.append(names(r))
                totals.add(b.get("totalResults"))
                pages += 1
                prev = b.get("previousCursor")
        return (seen, totals), r

    got, r = walk([("sortBy", "userName"), ("count", "2")], back=True)
    check("cursors forth and back by userName", got is not None and got[0] == [
        ["amy", "Ben"], ["carl", "dora"], ["eve"], ["carl", "dora"], ["amy", "Ben"]] and got[1] == {5},
        repr(got) + " " + r.describe())
    got, r = walk([("sortBy", "userName"), ("sortOrder", "descending"), ("count", "2")], back=True)
    check("cursors forth and back, descending", got is not None and got[0] == [
        ["eve", "dora"], ["carl", "Ben"], ["amy"], ["carl", "Ben"], ["eve", "dora"]], repr(got) + " " + r.describe())
    # nickName is unassigned for Ben and dora: NULL keys last ascending, first descending (§3.4.2.3)
    got, r = walk([("sortBy", "nickName"), ("count", "2")], back=True)
    flat = [n for page in (got[0] if got else [])[:3] for n in page]
    check("cursors over a sort key with unassigned values", got is not None and flat[:3] == ["amy", "carl", "eve"]
          and sorted(flat[3:]) == ["Ben", "dora"] and len(got[0]) == 5 and got[0][3:] == got[0][1::-1],
          repr(got) + " " + r.describe())
    got, r = walk([("sortBy", "nickName"), ("sortOrder", "descending"), ("count", "1")])
    flat = [n for page in (got[0] if got else []) for n in page]
    check("descending: unassigned first, then by value", sorted(flat[:2]) == ["Ben", "dora"]
          and flat[2:] == ["eve", "carl", "amy"], repr(got) + " " + r.describe())
    got, r = walk([("filter", 'title eq "engineer"'), ("count", "1")])
    check("cursors with a filter: default order, exact total", got is not None and
          [n for page in got[0] for n in page] == ["amy", "carl", "eve"] and got[1] == {3},
          repr(got) + " " + r.describe())
    got, r = walk([("sortBy", "emails.value"), ("count", "2")])
    check("cursors sorted by a multi-valued attribute (offsets)", got is not None and
          len([n for page in got[0] for n in page]) == 5 and got[1] == {5}, repr(got) + " " + r.describe())

    # ---- totalResults without count(*) OVER () ---------------------------------------------------------
    for params, want in (([("count", "2")], 5), ([("count", "2"), ("startIndex", "5")], 5),
                         ([("count", "2"), ("startIndex", "9")], 5),
                         ([("filter", 'title eq "engineer"'), ("count", "2")], 3),
                         ([("filter", 'title eq "engineer"'), ("count", "2"), ("startIndex", "3")], 3),
                         ([("filter", 'title eq "engineer"'), ("count", "5")], 3),
                         ([("count", "0")], 5)):
        r = scim.get("/Users", params)
        check_eq("totalResults with %r" % (params,), (r.json() or {}).get("totalResults"), want)


run(main)
