"""List pages write users' documents in C (scim/user_doc.c, from the columns
of scim_user_rows), while GET, POST, PUT and PATCH return the documents
PostgreSQL builds (scim_user_docs). The two must be the same document: for
users carrying every attribute, a few carrying almost none, extensions alone,
direct and indirect groups, and text that needs escaping, every list form
(filter, sortBy page, cursor page, POST /.search, attributes) gives exactly
what GET gives."""

from harness import check, check_eq, require, run
from scim_provisioning import GROUP, USER, Scim, scim_token, start

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
REC = "urn:regain:scim:schemas:extension:recovery:2.0:User"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def full_user(manager_id):
    return {
        "schemas": [USER, ENT, REC],
        "externalId": "hr-0001",
        "userName": "ldoc-full",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
                 "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": False,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True, "display": "Work"},
                   {"value": "babs@jensen.org", "type": "home"}],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                       "region": "CA", "postalCode": "91608", "country": "USA",
                       "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": True},
                      {"type": "home", "locality": "Emerald City", "country": "USA"}],
        "entitlements": [{"value": "delete-users"}],
        "roles": [{"value": "admin", "primary": True}, {"value": "auditor"}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
        ENT: {"employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
              "division": "Theme Park", "department": "Tour Operations", "manager": {"value": manager_id}},
        REC: {"birthdate": "1980-02-29", "legalGivenName": "Barbara", "legalFamilyName": "Jensen"},
    }


OTHERS = [
    {"schemas": [USER], "userName": "ldoc-minimal"},
    {"schemas": [USER, ENT], "userName": "ldoc-ent-only", ENT: {"department": "Ops"}},
    {"schemas": [USER, ENT], "userName": "ldoc-manager-unknown",
     ENT: {"manager": {"value": "not-a-user-id"}}},
    {"schemas": [USER, REC], "userName": "ldoc-rec-only", REC: {"birthdate": "2001-12-31"}},
    {"schemas": [USER], "userName": "ldoc-escapes", "displayName": 'Zo\u00eb "Q" \\ / \u2028 \t \U0001F600',
     "name": {"givenName": "\u00c5sa"}, "active": True,
     "emails": [{"value": "zoe@example.com"}]},
]


def main(env):
    srv = start(env)
    scim = Scim(srv, scim_token(srv, "prov"))
    r = scim.post("/Users", {"schemas": [USER], "userName": "ldoc-boss", "displayName": "The Boss"})
    require("manager created", r.status == 201, r.describe())
    boss = r.json()["id"]
    r = scim.post("/Users", full_user(boss))
    require("user with every attribute created", r.status == 201, r.describe())
    full = r.json()["id"]
    ids = {"ldoc-boss": boss, "ldoc-full": full}
    for doc in OTHERS:
        r = scim.post("/Users", doc)
        require("user %s created" % doc["userName"], r.status == 201, r.describe())
        ids[doc["userName"]] = r.json()["id"]
    # Groups: full is a direct member of team and, through team, an indirect
    # member of dept; minimal is a direct member of dept too.
    r = scim.post("/Groups", {"schemas": [GROUP], "displayName": "ldoc team",
                              "members": [{"value": full}]})
    require("group team created", r.status == 201, r.describe())
    team = r.json()["id"]
    r = scim.post("/Groups", {"schemas": [GROUP], "displayName": "ldoc dept",
                              "members": [{"value": team}, {"value": ids["ldoc-minimal"]}]})
    require("group dept created", r.status == 201, r.describe())

    got = {}
    for name, uid in ids.items():
        r = scim.get("/Users/" + uid)
        require("GET %s" % name, r.status == 200, r.describe())
        got[name] = r.json()
    # The comparison below means something only if GET carries what we think.
    f = got["ldoc-full"]
    check("GET shows the direct and the indirect group",
          sorted((g.get("display"), g.get("type")) for g in f.get("groups", [])) ==
          [("ldoc dept", "indirect"), ("ldoc team", "direct")], f.get("groups"))
    check("GET shows the manager's displayName", (f.get(ENT) or {}).get("manager", {}).get("displayName") ==
          "The Boss", f.get(ENT))
    check("GET shows address parts", (f.get("addresses") or [{}])[0].get("postalCode") == "91608",
          f.get("addresses"))
    check_eq("GET schemas of a user with both extensions", f.get("schemas"), [USER, ENT, REC])

    def compare(how, resources):
        by_name = {u.get("userName"): u for u in resources}
        for name in ids:
            check_eq("%s: %s is the document GET returns" % (how, name), by_name.get(name), got[name])

    r = scim.get("/Users", [("filter", 'userName sw "ldoc-"'), ("sortBy", "userName")])
    require("filtered list", r.status == 200, r.describe())
    compare("filter + sortBy", r.json().get("Resources", []))
    for name, uid in ids.items():
        r = scim.get("/Users", [("filter", 'id eq "%s"' % uid)])
        check_eq("filter id eq: %s" % name, (r.json() or {}).get("Resources"), [got[name]])

    r = scim.get("/Users", [("sortBy", "userName"), ("count", "3"), ("startIndex", "1")])
    pages = list((r.json() or {}).get("Resources", []))
    r = scim.get("/Users", [("sortBy", "userName"), ("count", "3"), ("startIndex", "4")])
    pages += (r.json() or {}).get("Resources", [])
    r = scim.get("/Users", [("sortBy", "userName"), ("count", "3"), ("startIndex", "7")])
    pages += (r.json() or {}).get("Resources", [])
    compare("startIndex pages", pages)

    walked, cursor = [], ""
    for _ in range(10):
        r = scim.get("/Users", [("sortBy", "userName"), ("count", "2"), ("cursor", cursor)])
        b = r.json() or {}
        walked += b.get("Resources", [])
        cursor = b.get("nextCursor")
        if not cursor:
            break
    compare("cursor pages", walked)

    r = scim.post("/Users/.search", {"schemas": [SEARCH], "filter": 'userName sw "ldoc-"', "count": 50})
    compare("POST /.search", (r.json() or {}).get("Resources", []))

    attrs = [("attributes", "emails,groups," + ENT)]
    r = scim.get("/Users", [("filter", 'userName eq "ldoc-full"')] + attrs)
    one = ((r.json() or {}).get("Resources") or [{}])[0]
    want = scim.get("/Users/" + full, attrs).json()
    check("attributes on GET: a projection", set(want or {}) == {"schemas", "id", "emails", "groups", ENT}, want)
    check_eq("attributes on a list: the projection GET gives", one, want)


run(main)
