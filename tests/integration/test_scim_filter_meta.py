"""Filters on meta compare what the client was served (RFC 7644 §3.4.2.2).

meta.created and meta.lastModified are served with milliseconds while the
columns hold microseconds: `meta.lastModified eq "<served value>"` must find
the resource, and `gt "<served value>"` (an incremental sync asking for what
changed since) must not return it again. meta.version is served as the weak
entity tag W/"n" (§3.14): a filter with that value finds the resource, as
one with the bare number does."""

from harness import check_eq, psql, require, run
from scim_provisioning import GROUP, USER, Scim, scim_error, scim_token, start


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def ids(scim, kind, flt):
    r = scim.get("/" + kind, [("filter", flt)])
    require("GET /%s?filter=%s: 200" % (kind, flt), r.status == 200, r.describe())
    return sorted(x["id"] for x in (r.json() or {}).get("Resources", []))


def main(env):
    srv = start(env)
    scim = Scim(srv, scim_token(srv, "prov"))
    made = {}
    for kind, table, body in (("Users", "users", {"schemas": [USER], "userName": "tia"}),
                              ("Groups", "groups", {"schemas": [GROUP], "displayName": "Timely"})):
        r = scim.post("/" + kind, body)
        require("%s created" % kind, r.status == 201, r.describe())
        rid = r.json()["id"]
        made[kind] = rid
        # Sub-millisecond digits that rounding and truncation disagree on;
        # a neighbour 0.4 ms later shows the same millisecond, one 1 ms
        # later the next.
        rc, _, err = psql(env.db_url, "UPDATE %s SET created_at = '2025-03-04T05:06:07.123789Z', "
                                      "updated_at = '2025-03-04T05:06:08.456789Z' WHERE id = %s"
                          % (table, lit(rid)))
        require("timestamps set", rc == 0, err)
        r = scim.get("/%s/%s" % (kind, rid))
        meta = (r.json() or {}).get("meta") or {}
        check_eq("%s: meta.created served with milliseconds" % kind, meta.get("created"),
                 "2025-03-04T05:06:07.123Z")
        check_eq("%s: meta.lastModified served with milliseconds" % kind, meta.get("lastModified"),
                 "2025-03-04T05:06:08.456Z")
        for attr, served, prev, nxt in (("meta.created", meta.get("created"), "2025-03-04T05:06:07.122Z",
                                         "2025-03-04T05:06:07.124Z"),
                                        ("meta.lastModified", meta.get("lastModified"),
                                         "2025-03-04T05:06:08.455Z", "2025-03-04T05:06:08.457Z")):
            want = [rid]
            for op, value, expect in (("eq", served, want), ("ne", served, []), ("gt", served, []),
                                      ("ge", served, want), ("lt", served, []), ("le", served, want),
                                      ("gt", prev, want), ("lt", nxt, want), ("eq", prev, []), ("eq", nxt, []),
                                      ("ge", nxt, []), ("le", prev, [])):
                check_eq('%s: %s %s "%s"' % (kind, attr, op, value),
                         ids(scim, kind, '%s %s "%s"' % (attr, op, value)), expect)
            # The same instant in another offset, and with microseconds
            # inside the served millisecond (not the served value: no match).
            check_eq("%s: %s eq in another offset" % (kind, attr),
                     ids(scim, kind, '%s eq "%s"' % (attr, served.replace("05:06", "07:06").replace("Z", "+02:00"))),
                     want)
            check_eq("%s: %s eq a value with microseconds" % (kind, attr),
                     ids(scim, kind, '%s eq "%s"' % (attr, served.replace("Z", "500Z"))), [])

        # ---- meta.version as served: W/"n" --------------------------------------------------------
        r = scim.get("/%s/%s" % (kind, rid))
        etag = (r.json() or {}).get("meta", {}).get("version")
        check_eq("%s: meta.version is the ETag" % kind, etag, r.header("etag"))
        number = etag[3:-1] if etag else ""
        quoted = etag.replace('"', '\\"') if etag else ""
        check_eq('%s: meta.version eq the served W/"n"' % kind, ids(scim, kind, 'meta.version eq "%s"' % quoted),
                 [rid])
        check_eq("%s: meta.version eq the bare number" % kind, ids(scim, kind, 'meta.version eq "%s"' % number),
                 [rid])
        check_eq('%s: meta.version eq the strong "n"' % kind,
                 ids(scim, kind, 'meta.version eq "\\"%s\\""' % number), [rid])
        check_eq('%s: meta.version ne the served W/"n"' % kind,
                 ids(scim, kind, 'meta.version ne "%s"' % quoted), [])
        check_eq('%s: meta.version eq another W/"n"' % kind,
                 ids(scim, kind, 'meta.version eq "W/\\"%d\\""' % (int(number) + 1)), [])
        scim_error("%s: meta.lastModified eq a non-date" % kind,
                   scim.get("/" + kind, [("filter", 'meta.lastModified eq "yesterday"')]), 400, "invalidFilter")


if __name__ == "__main__":
    run(main)
