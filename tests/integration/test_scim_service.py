"""SCIM discovery endpoints (RFC 7644 §4): /ServiceProviderConfig (RFC 7643
§5 plus RFC 9865's pagination), /ResourceTypes (RFC 7643 §6) and /Schemas
(RFC 7643 §7): served without a token, as application/scim+json, complete
(every attribute of RFC 7643 §4.1-§4.3 and the recovery extension, with all
its characteristics), the security-relevant characteristics as the server
enforces them, single resources by id, 404 for unknown ones, 403 for a filter,
405 for writes."""

from harness import check, check_eq, curl, quote, require, run

BASE = "/scim/v2"
URN_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
URN_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
URN_ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
URN_REC = "urn:regain:scim:schemas:extension:recovery:2.0:User"
URN_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

# What every schema must describe: attribute -> sub-attributes (RFC 7643 §4).
EXPECTED = {
    URN_USER: {
        "id": [], "externalId": [],
        "meta": ["resourceType", "created", "lastModified", "location", "version"],
        "userName": [],
        "name": ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"],
        "displayName": [], "nickName": [], "profileUrl": [], "title": [], "userType": [],
        "preferredLanguage": [], "locale": [], "timezone": [], "active": [], "password": [],
        "emails": ["value", "display", "type", "primary"],
        "phoneNumbers": ["value", "display", "type", "primary"],
        "ims": ["value", "display", "type", "primary"],
        "photos": ["value", "display", "type", "primary"],
        "addresses": ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type",
                      "primary"],
        "groups": ["value", "$ref", "display", "type"],
        "entitlements": ["value", "display", "type", "primary"],
        "roles": ["value", "display", "type", "primary"],
        "x509Certificates": ["value", "display", "type", "primary"],
    },
    URN_ENT: {
        "employeeNumber": [], "costCenter": [], "organization": [], "division": [], "department": [],
        "manager": ["value", "$ref", "displayName"],
    },
    URN_REC: {"birthdate": [], "legalGivenName": [], "legalFamilyName": []},
    URN_GROUP: {
        "id": [], "externalId": [],
        "meta": ["resourceType", "created", "lastModified", "location", "version"],
        "displayName": [], "members": ["value", "$ref", "type", "display"],
    },
}

TYPES = {"string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex"}
CHARACTERISTICS = ("name", "type", "multiValued", "description", "required", "caseExact", "mutability",
                   "returned", "uniqueness")


def get(srv, path, *extra):
    return curl("--http2", "-k", *(list(extra) + [srv.https(BASE + path)]))


def scim_json(label, r, status=200):
    check_eq("%s: status" % label, r.status, status)
    ct = (r.header("content-type") or "").split(";")[0].strip().lower()
    check_eq("%s: content-type" % label, ct, "application/scim+json")
    return r.json() or {}


def check_attr(where, a):
    for k in CHARACTERISTICS:
        check("%s: has %s" % (where, k), k in a, repr(a))
    check("%s: known type" % where, a.get("type") in TYPES, repr(a))
    check("%s: mutability" % where, a.get("mutability") in ("readOnly", "readWrite", "immutable", "writeOnly"),
          repr(a))
    check("%s: returned" % where, a.get("returned") in ("always", "never", "default", "request"), repr(a))
    check("%s: uniqueness" % where, a.get("uniqueness") in ("none", "server", "global"), repr(a))
    check("%s: description is text" % where, isinstance(a.get("description"), str) and a["description"], repr(a))
    if a.get("type") == "reference":
        check("%s: referenceTypes" % where, isinstance(a.get("referenceTypes"), list) and a["referenceTypes"],
              repr(a))
    if a.get("type") == "complex":
        check("%s: subAttributes" % where, isinstance(a.get("subAttributes"), list), repr(a))


def by_name(attrs):
    return {a.get("name"): a for a in attrs or []}


def check_schema(s):
    urn = s.get("id")
    want = EXPECTED.get(urn)
    require("schema %s is expected" % urn, want is not None, repr(urn))
    check_eq("%s: schemas" % urn, s.get("schemas"), ["urn:ietf:params:scim:schemas:core:2.0:Schema"])
    check("%s: meta.location" % urn, (s.get("meta") or {}).get("location", "").endswith("/Schemas/" + urn),
          repr(s.get("meta")))
    attrs = by_name(s.get("attributes"))
    check_eq("%s: attribute names" % urn, sorted(attrs), sorted(want))
    for name, subs in want.items():
        a = attrs.get(name)
        if a is None:
            continue
        check_attr("%s %s" % (urn, name), a)
        if subs:
            sub = by_name(a.get("subAttributes"))
            check_eq("%s %s: sub-attributes" % (urn, name), sorted(sub), sorted(subs))
            for sn, sa in sub.items():
                check_attr("%s %s.%s" % (urn, name, sn), sa)
    return attrs


def expect(label, a, **kv):
    for k, v in kv.items():
        check_eq("%s %s" % (label, k), (a or {}).get(k), v)


def main(env):
    srv = env.regain()

    # ---- ServiceProviderConfig (RFC 7643 §5), no token needed ------------
    r = get(srv, "/ServiceProviderConfig")
    spc = scim_json("ServiceProviderConfig", r)
    check_eq("spc schemas", spc.get("schemas"), ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    check_eq("patch supported", (spc.get("patch") or {}).get("supported"), True)
    bulk = spc.get("bulk") or {}
    check_eq("bulk supported", bulk.get("supported"), True)
    check_eq("bulk maxOperations", bulk.get("maxOperations"), 1000)
    # What /Bulk really reads: 4 MiB, or the server's request body limit when
    # smaller (h2o refuses a bigger body first); this server runs with the
    # default server.max_request_body_bytes, 1 MiB.
    check_eq("bulk maxPayloadSize: server.max_request_body_bytes (1 MiB) when below 4 MiB",
             bulk.get("maxPayloadSize"), 1024 * 1024)
    check_eq("filter supported", (spc.get("filter") or {}).get("supported"), True)
    check_eq("filter maxResults", (spc.get("filter") or {}).get("maxResults"), 1000)
    for f in ("changePassword", "sort", "etag"):
        check_eq("%s supported" % f, (spc.get(f) or {}).get("supported"), True)
    pg = spc.get("pagination") or {}
    check_eq("RFC 9865 pagination.cursor", pg.get("cursor"), True)
    check_eq("RFC 9865 pagination.index", pg.get("index"), True)
    check_eq("RFC 9865 pagination.maxPageSize", pg.get("maxPageSize"), 1000)
    check_eq("RFC 9865 pagination.defaultPageSize", pg.get("defaultPageSize"), 100)
    check("RFC 9865 defaultPaginationMethod", pg.get("defaultPaginationMethod") in ("index", "cursor"), repr(pg))
    schemes = spc.get("authenticationSchemes") or []
    check("an OAuth bearer token scheme", any(s.get("type") == "oauthbearertoken" and s.get("name")
                                              and s.get("description") for s in schemes), repr(schemes))
    check_eq("spc meta.resourceType", (spc.get("meta") or {}).get("resourceType"), "ServiceProviderConfig")
    check("spc meta.location", (spc.get("meta") or {}).get("location", "").endswith(
        BASE + "/ServiceProviderConfig"), repr(spc.get("meta")))

    r = get(srv, "/ServiceProviderConfig", "--http1.1")
    check_eq("HTTP/1.1 works too", r.status, 200)
    r = get(srv, "/ServiceProviderConfig?filter=" + quote('patch.supported eq true'))
    err = scim_json("filter on ServiceProviderConfig", r, 403)
    check_eq("403 is a SCIM error", err.get("schemas"), ["urn:ietf:params:scim:api:messages:2.0:Error"])
    check_eq("403 status string", err.get("status"), "403")
    r = get(srv, "/ServiceProviderConfig", "-X", "POST", "-H", "content-type: application/scim+json",
            "--data", "{}")
    err = scim_json("POST ServiceProviderConfig", r, 405)
    check_eq("405 status string", err.get("status"), "405")
    check_eq("405 Allow", r.header("allow"), "GET, HEAD")

    # ---- ResourceTypes (RFC 7643 §6) ---------------------------------------
    r = get(srv, "/ResourceTypes")
    lst = scim_json("ResourceTypes", r)
    check_eq("ResourceTypes is a ListResponse", lst.get("schemas"), [URN_LIST])
    check_eq("two resource types", lst.get("totalResults"), 2)
    rts = {t.get("id"): t for t in lst.get("Resources") or []}
    check_eq("ids", sorted(rts), ["Group", "User"])
    u = rts.get("User") or {}
    expect("User type", u, name="User", endpoint="/Users", schema=URN_USER)
    check_eq("User extensions", sorted(e.get("schema") for e in u.get("schemaExtensions") or []),
             sorted([URN_ENT, URN_REC]))
    check("extensions not required", all(e.get("required") is False for e in u.get("schemaExtensions") or []),
          repr(u))
    check_eq("User type schemas", u.get("schemas"), ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"])
    check("User type meta.location", (u.get("meta") or {}).get("location", "").endswith(
        BASE + "/ResourceTypes/User"), repr(u.get("meta")))
    expect("Group type", rts.get("Group"), name="Group", endpoint="/Groups", schema=URN_GROUP)
    for rid in ("User", "Group"):
        one = scim_json("ResourceTypes/%s" % rid, get(srv, "/ResourceTypes/" + rid))
        check_eq("ResourceTypes/%s is the same" % rid, one, rts.get(rid))
    scim_json("unknown resource type", get(srv, "/ResourceTypes/Printer"), 404)

    # ---- Schemas (RFC 7643 §7) ---------------------------------------------
    r = get(srv, "/Schemas")
    lst = scim_json("Schemas", r)
    check_eq("Schemas is a ListResponse", lst.get("schemas"), [URN_LIST])
    schemas = {s.get("id"): s for s in lst.get("Resources") or []}
    check_eq("schema ids", sorted(schemas), sorted(EXPECTED))
    check_eq("totalResults", lst.get("totalResults"), len(EXPECTED))
    attrs = {}
    for urn, s in schemas.items():
        attrs[urn] = check_schema(s)
        one = scim_json("Schemas/%s" % urn, get(srv, "/Schemas/" + urn))
        check_eq("Schemas/%s is the same" % urn, one, s)
    one = scim_json("Schemas by percent-encoded URN", get(srv, "/Schemas/" + quote(URN_ENT)))
    check_eq("percent-encoded URN finds the schema", one.get("id"), URN_ENT)
    scim_json("unknown schema", get(srv, "/Schemas/urn:example:nope"), 404)

    ua = attrs.get(URN_USER, {})
    # The characteristics that security and matching rely on.
    expect("User id", ua.get("id"), mutability="readOnly", returned="always", uniqueness="server",
           caseExact=True)
    expect("User userName", ua.get("userName"), required=True, caseExact=False, uniqueness="server",
           mutability="readWrite")
    expect("User password", ua.get("password"), mutability="writeOnly", returned="never")
    expect("User groups", ua.get("groups"), mutability="readOnly", multiValued=True)
    expect("User active", ua.get("active"), type="boolean")
    expect("User externalId", ua.get("externalId"), caseExact=True)
    expect("User meta", ua.get("meta"), mutability="readOnly")
    emails = by_name((ua.get("emails") or {}).get("subAttributes"))
    check_eq("emails.type canonicalValues", (emails.get("type") or {}).get("canonicalValues"),
             ["work", "home", "other"])
    expect("emails.value", emails.get("value"), caseExact=False)
    groups = by_name((ua.get("groups") or {}).get("subAttributes"))
    check("groups sub-attributes readOnly", all(g.get("mutability") == "readOnly" for g in groups.values()),
          repr(groups))
    expect("photos.value", by_name((ua.get("photos") or {}).get("subAttributes")).get("value"),
           type="reference", referenceTypes=["external"])
    ra = attrs.get(URN_REC, {})
    bd = ra.get("birthdate") or {}
    expect("recovery birthdate", bd, type="string", multiValued=False)
    check("birthdate described as YYYY-MM-DD", "YYYY-MM-DD" in (bd.get("description") or ""), repr(bd))
    ga = attrs.get(URN_GROUP, {})
    expect("Group displayName", ga.get("displayName"), required=True)
    members = by_name((ga.get("members") or {}).get("subAttributes"))
    expect("members.value", members.get("value"), mutability="immutable")
    expect("members.type", members.get("type"), canonicalValues=["User", "Group"])
    expect("members.$ref", members.get("$ref"), type="reference", referenceTypes=["User", "Group"])
    manager = by_name((attrs.get(URN_ENT, {}).get("manager") or {}).get("subAttributes"))
    expect("manager.displayName", manager.get("displayName"), mutability="readOnly")


run(main)
