"""The SCIM storage contract (schema/007_scim.sql, scim/internal.h) exercised
directly with psql on a migrated database: user and group documents,
create/replace/delete, version bumps, RG412 on a stale if_version, 23505 on
a userName taken in another case, RG400 on a bad birthdate or an unknown
member, deactivation ending a session and revoking a refresh token (and its
grant family), deletion cascading, incremental member changes that leave the
other members alone, and group documents without members. Batch creation
(scim_users_create_many: per-item results, 23505 within a batch), the kept
row counts (scim_counts) and writes that do not build the document."""

import json

from harness import check, check_eq, psql, require, run


def q(env, sql):
    rc, rows, err = psql(env.db_url, sql)
    return rc, rows, err


def one(env, sql):
    rc, rows, err = q(env, sql)
    require("query ok: %s" % sql[:80], rc == 0 and rows, err)
    return rows[0]


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def jlit(obj):
    return lit(json.dumps(obj)) + "::jsonb"


def write_user(env, uid, doc, pw=None, ifv=None):
    return q(env, "SELECT id, version, doc FROM scim_user_write(%s, %s, %s, %s)" % (
        lit(uid) + "::uuid" if uid else "NULL", jlit(doc), lit(pw) if pw else "NULL",
        str(ifv) if ifv is not None else "NULL"))


def user_doc(env, uid):
    return json.loads(one(env, "SELECT scim_user_doc(%s::uuid)" % lit(uid))[0])


def group_doc(env, gid, members):
    v = one(env, "SELECT scim_group_doc(%s::uuid, %s)" % (lit(gid), "true" if members else "false"))[0]
    return json.loads(v) if v else None


def main(env):
    srv = env.regain(start=False)
    srv.migrate()

    # ---- create ------------------------------------------------------------
    doc = {
        "userName": "Bjensen",
        "externalId": "ext-1",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "honorificPrefix": "Ms."},
        "displayName": "Babs Jensen",
        "emails": [{"value": "bjensen@example.com", "type": "work"},
                   {"value": "babs@home.example", "type": "home", "primary": True}],
        "addresses": [{"locality": "Hollywood", "postalCode": "91608", "type": "work"}],
        "roles": [{"value": "admin"}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984",
                                                                       "department": "Tour Operations"},
        "urn:regain:scim:schemas:extension:recovery:2.0:User": {"birthdate": "1984-02-29"},
    }
    rc, rows, err = write_user(env, None, doc, pw="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
    require("create a user", rc == 0 and len(rows) == 1, err)
    uid, version, created = rows[0][0], rows[0][1], json.loads(rows[0][2])
    check_eq("new user version 1", version, "1")
    check_eq("doc id", created.get("id"), uid)
    check_eq("doc userName as given", created.get("userName"), "Bjensen")
    check_eq("doc schemas: core and both extensions", created.get("schemas"), [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:regain:scim:schemas:extension:recovery:2.0:User"])
    check_eq("doc emails in order", [e["value"] for e in created.get("emails", [])],
             ["bjensen@example.com", "babs@home.example"])
    check_eq("doc addresses keep their parts", created.get("addresses"),
             [{"locality": "Hollywood", "postalCode": "91608", "type": "work"}])
    check_eq("doc name", created.get("name"),
             {"givenName": "Barbara", "familyName": "Jensen", "honorificPrefix": "Ms."})
    check_eq("doc x509Certificates", created.get("x509Certificates"), doc["x509Certificates"])
    check_eq("doc enterprise", created.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
             doc["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"])
    check_eq("doc birthdate", created.get("urn:regain:scim:schemas:extension:recovery:2.0:User"),
             {"birthdate": "1984-02-29"})
    check_eq("doc active defaults to true", created.get("active"), True)
    meta = created.get("meta") or {}
    check_eq("meta.resourceType", meta.get("resourceType"), "User")
    check_eq("meta.version is the bare number", meta.get("version"), 1)
    check("meta.created is RFC 3339 UTC", str(meta.get("created", "")).endswith("Z")
          and "T" in meta.get("created", ""), repr(meta))
    check("no password in the doc", "password" not in created and "argon2" not in rows[0][2], rows[0][2])
    row = one(env, "SELECT email, email_verified, given_name, password_hash IS NOT NULL FROM users "
                   "WHERE id = %s" % lit(uid))
    check_eq("OIDC email is the primary email", row[0], "babs@home.example")
    check_eq("a directory email is not verified", row[1], "f")
    check_eq("OIDC given_name", row[2], "Barbara")
    check_eq("password hash stored", row[3], "t")
    check_eq("user_values rows", one(env, "SELECT count(*) FROM user_values WHERE user_id = %s" % lit(uid))[0],
             "4")

    # ---- uniqueness and validation -----------------------------------------
    rc, _, err = write_user(env, None, {"userName": "BJENSEN"})
    check("userName taken in another case: 23505", rc != 0 and "users_user_name_ci" in err, err)
    rc, _, err = write_user(env, None, {"userName": "x1", "urn:regain:scim:schemas:extension:recovery:2.0:User":
                                        {"birthdate": "1983-02-29"}})
    check("a date that does not exist: RG400", rc != 0 and "full-date" in err, err)
    rc, _, err = write_user(env, None, {"userName": "x2", "urn:regain:scim:schemas:extension:recovery:2.0:User":
                                        {"birthdate": "29.02.1984"}})
    check("birthdate not YYYY-MM-DD: RG400", rc != 0 and "full-date" in err, err)
    rc, _, err = write_user(env, None, {"userName": "x3", "emails": [{"value": "a" * 3000}]})
    check("a value too long to index: RG400", rc != 0 and "too long" in err, err)
    rc, rows, err = q(env, "DO $$ BEGIN PERFORM scim_user_write(NULL, '{\"userName\":\"bjensen\"}', NULL, NULL);"
                           " EXCEPTION WHEN unique_violation THEN RAISE NOTICE 'ok 23505'; END $$")
    check("the unique violation is SQLSTATE 23505", rc == 0 and "ok 23505" in err, err)

    # ---- replace, version, RG412 --------------------------------------------
    doc2 = dict(doc)
    doc2["displayName"] = "Barbara J"
    doc2["emails"] = [{"value": "babs@home.example", "primary": True}]
    del doc2["roles"]
    rc, rows, err = write_user(env, uid, doc2, ifv=1)
    require("replace with the current version", rc == 0 and len(rows) == 1, err)
    check_eq("version bumped", rows[0][1], "2")
    replaced = json.loads(rows[0][2])
    check_eq("replaced displayName", replaced.get("displayName"), "Barbara J")
    check("omitted roles cleared", "roles" not in replaced, rows[0][2])
    check_eq("meta.version 2", replaced["meta"]["version"], 2)
    check_eq("password kept when none is given",
             one(env, "SELECT password_hash IS NOT NULL FROM users WHERE id = %s" % lit(uid))[0], "t")
    rc, rows, err = write_user(env, uid, doc2, ifv=1)
    check("stale if_version: RG412", rc != 0 and "version mismatch" in err, err)
    rc, rows, err = q(env, "DO $$ BEGIN PERFORM scim_user_write(%s::uuid, '{\"userName\":\"z\"}', NULL, 1);"
                           " EXCEPTION WHEN SQLSTATE 'RG412' THEN RAISE NOTICE 'ok RG412'; END $$" % lit(uid))
    check("the SQLSTATE is RG412", rc == 0 and "ok RG412" in err, err)
    check_eq("the stale write changed nothing", user_doc(env, uid)["meta"]["version"], 2)
    rc, rows, err = write_user(env, "00000000-0000-0000-0000-000000000000", {"userName": "nobody"})
    check("replace of an unknown id: no row", rc == 0 and rows == [], repr(rows) + err)

    # ---- deactivation ends sessions and revokes refresh tokens --------------
    one(env, "INSERT INTO clients (id, name, token_endpoint_auth_method, grant_types, scopes) "
             "VALUES ('app', 'app', 'none', '{authorization_code}', '{openid}') RETURNING id")
    sid = one(env, "INSERT INTO sessions (token_hash, user_id, auth_time, amr, expires_at) VALUES "
                   "('\\x01', %s, now(), '{pwd}', now() + interval '1 hour') RETURNING id" % lit(uid))[0]
    fam = one(env, "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, session_id, scope, "
                   "auth_time, amr, expires_at) VALUES ('\\x02', gen_random_uuid(), 'app', %s, %s, 'openid', now(), "
                   "'{pwd}', now() + interval '1 day') RETURNING family_id" % (lit(uid), lit(sid)))[0]
    doc3 = dict(doc2)
    doc3["active"] = True
    rc, rows, err = write_user(env, uid, doc3)
    check_eq("active true -> true leaves the session", one(env, "SELECT ended_at IS NULL FROM sessions")[0], "t")
    doc3["active"] = False
    rc, rows, err = write_user(env, uid, doc3)
    require("deactivate", rc == 0 and rows, err)
    check_eq("deactivated doc", json.loads(rows[0][2]).get("active"), False)
    check_eq("session ended", one(env, "SELECT ended_at IS NOT NULL FROM sessions WHERE id = %s" % lit(sid))[0],
             "t")
    check_eq("refresh token revoked",
             one(env, "SELECT revoked_at IS NOT NULL FROM refresh_tokens WHERE token_hash = '\\x02'")[0], "t")
    check_eq("grant family revoked",
             one(env, "SELECT count(*) FROM revoked_grants WHERE family_id = %s" % lit(fam))[0], "1")
    doc4 = dict(doc3)
    del doc4["active"]
    rc, rows, err = write_user(env, uid, doc4)
    check_eq("a PUT without active keeps the user disabled", json.loads(rows[0][2]).get("active"), False)

    # ---- groups -------------------------------------------------------------
    rc, rows, err = write_user(env, None, {"userName": "other", "displayName": "Other One"})
    uid2 = rows[0][0]
    rc, rows, err = q(env, "SELECT id, version, doc FROM scim_group_write(NULL, %s, NULL, true)" % jlit(
        {"displayName": "Recovery eligible", "externalId": "g-ext",
         "members": [{"value": uid, "type": "User"}, {"value": uid2}]}))
    require("create a group with members", rc == 0 and rows, err)
    gid, gdoc = rows[0][0], json.loads(rows[0][2])
    check_eq("group version 1", rows[0][1], "1")
    check_eq("created group doc lists the members",
             sorted(m["value"] for m in gdoc.get("members", [])), sorted([uid, uid2]))
    check_eq("member display", {m["value"]: m.get("display") for m in gdoc["members"]}[uid2], "Other One")
    check("a group doc without members leaves them out", "members" not in group_doc(env, gid, False),
          repr(group_doc(env, gid, False)))
    check_eq("group meta", group_doc(env, gid, False)["meta"]["resourceType"], "Group")
    ug = user_doc(env, uid).get("groups") or []
    check_eq("the user's groups", [(g.get("value"), g.get("display"), g.get("type")) for g in ug],
             [(gid, "Recovery eligible", "direct")])

    rc, rows, err = q(env, "SELECT id FROM scim_group_write(NULL, %s, NULL, true)" % jlit(
        {"displayName": "Outer", "members": [{"value": gid, "type": "Group"}]}))
    outer = rows[0][0]
    ug = {g["value"]: g["type"] for g in user_doc(env, uid).get("groups") or []}
    check_eq("nested membership is indirect", ug, {gid: "direct", outer: "indirect"})
    rc, _, err = q(env, "SELECT * FROM scim_group_members_change(%s, %s, NULL, false, NULL)" % (
        lit(gid), jlit([{"value": outer}])))
    check("a group cannot contain itself: RG400", rc != 0 and "contain itself" in err, err)
    rc, _, err = q(env, "SELECT * FROM scim_group_members_change(%s, %s, NULL, false, NULL)" % (
        lit(gid), jlit([{"value": "00000000-0000-0000-0000-000000000001"}])))
    check("an unknown member id: RG400", rc != 0 and "no User or Group" in err, err)
    rc, _, err = q(env, "SELECT * FROM scim_group_members_change(%s, %s, NULL, false, NULL)" % (
        lit(gid), jlit([{"value": uid2, "type": "Group"}])))
    check("a member type that contradicts the id: RG400", rc != 0 and "is a User" in err, err)
    rc, _, err = q(env, "SELECT id FROM scim_group_write(NULL, %s, NULL, true)" % jlit(
        {"displayName": "bad", "members": [{"value": "not-a-uuid"}]}))
    check("a member value that is no id: RG400", rc != 0 and "members" in err, err)

    # Incremental change: the untouched member row keeps its physical
    # identity (ctid), so nothing rewrote it.
    ctid_before = one(env, "SELECT ctid FROM group_members WHERE group_id = %s AND member_id = %s" % (
        lit(gid), lit(uid)))[0]
    rc, _, err = write_user(env, None, {"userName": "third"})
    uid3 = one(env, "SELECT id FROM users WHERE user_name = 'third'")[0]
    rc, rows, err = q(env, "SELECT * FROM scim_group_members_change(%s, %s, %s, false, 1)" % (
        lit(gid), jlit([{"value": uid3}]), jlit([{"value": uid2}])))
    require("add one, remove one", rc == 0 and rows, err)
    check_eq("members change bumps the version", rows[0][0], "2")
    members = sorted(m["value"] for m in group_doc(env, gid, True)["members"])
    check_eq("members after the change", members, sorted([uid, uid3]))
    check_eq("the other member was not touched", one(
        env, "SELECT ctid FROM group_members WHERE group_id = %s AND member_id = %s" % (lit(gid), lit(uid)))[0],
        ctid_before)
    rc, _, err = q(env, "SELECT * FROM scim_group_members_change(%s, NULL, NULL, false, 1)" % lit(gid))
    check("stale members change: RG412", rc != 0 and "version mismatch" in err, err)
    rc, rows, err = q(env, "SELECT * FROM scim_group_members_change(%s, %s, NULL, false, 2)" % (
        lit(gid), jlit([{"value": uid3}])))
    check_eq("adding a present member is harmless", (rc, rows[0][0] if rows else None), (0, "3"))

    # Replace without members keeps them; with them, only the difference.
    rc, rows, err = q(env, "SELECT version, doc FROM scim_group_write(%s, %s, 3, false)" % (
        lit(gid), jlit({"displayName": "Recovery eligible (EU)"})))
    check_eq("rename bumps the version", rows[0][0] if rows else None, "4")
    check("a rename's doc leaves members out", rows and "members" not in json.loads(rows[0][1]), repr(rows))
    check_eq("a rename keeps the members", one(
        env, "SELECT count(*) FROM group_members WHERE group_id = %s" % lit(gid))[0], "2")
    rc, rows, err = q(env, "SELECT version FROM scim_group_write(%s, %s, 3, true)" % (
        lit(gid), jlit({"displayName": "x", "members": []})))
    check("stale group write: RG412", rc != 0 and "version mismatch" in err, err)
    rc, rows, err = q(env, "SELECT * FROM scim_group_members_change(%s, NULL, NULL, true, NULL)" % lit(gid))
    check_eq("remove_all empties the group", one(
        env, "SELECT count(*) FROM group_members WHERE group_id = %s" % lit(gid))[0], "0")
    q(env, "SELECT * FROM scim_group_members_change(%s, %s, NULL, false, NULL)" % (
        lit(gid), jlit([{"value": uid}, {"value": uid2}])))

    # ---- deletes --------------------------------------------------------------
    v_before = int(one(env, "SELECT version FROM groups WHERE id = %s" % lit(gid))[0])
    check_eq("delete the user", one(env, "SELECT scim_user_delete(%s)" % lit(uid))[0], "t")
    check_eq("delete again: false", one(env, "SELECT scim_user_delete(%s)" % lit(uid))[0], "f")
    for table, col in (("user_values", "user_id"), ("sessions", "user_id"), ("refresh_tokens", "user_id"),
                       ("group_members", "member_id")):
        check_eq("%s rows of the deleted user gone" % table, one(
            env, "SELECT count(*) FROM %s WHERE %s = %s" % (table, col, lit(uid)))[0], "0")
    check_eq("its group's version bumped", int(one(env, "SELECT version FROM groups WHERE id = %s" % lit(gid))[0]),
             v_before + 1)
    check_eq("deleted user's doc is NULL", one(env, "SELECT scim_user_doc(%s) IS NULL" % lit(uid))[0], "t")
    check_eq("delete the inner group", one(env, "SELECT scim_group_delete(%s)" % lit(gid))[0], "t")
    check_eq("its member rows gone", one(
        env, "SELECT count(*) FROM group_members WHERE group_id = %s OR member_id = %s" % (lit(gid), lit(gid)))[0],
        "0")
    check("the outer group no longer lists it", "members" not in group_doc(env, outer, True),
          repr(group_doc(env, outer, True)))
    check_eq("unknown group doc is NULL", one(
        env, "SELECT scim_group_doc('00000000-0000-0000-0000-000000000000', true) IS NULL")[0], "t")


    # ---- scim_users_create_many, scim_counts, p_return_doc ------------------------------------------
    before = int(one(env, "SELECT n FROM scim_counts WHERE resource = 'User'")[0])
    check_eq("scim_counts matches count(*)", before, int(one(env, "SELECT count(*) FROM users")[0]))
    rc, rows, err = q(env, "SELECT ord, id IS NOT NULL, version, sqlstate, message FROM scim_users_create_many(%s)"
                      % jlit([{"doc": {"userName": "many-1", "emails": [{"value": "m1@x.example", "type": "work"},
                                                                        {"value": "m1@p.example", "primary": True}]},
                               "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"},
                              {"doc": {"userName": "MANY-1"}},
                              {"doc": {"userName": 7}},
                              {"doc": {"userName": "many-bd", "urn:regain:scim:schemas:extension:recovery:2.0:User":
                                       {"birthdate": "2001-02-30"}}},
                              {"doc": {"userName": "many-2", "active": False}},
                              {"doc": {"userName": "x" * 300}}]))
    require("scim_users_create_many runs", rc == 0, err)
    check_eq("one row per item, in order", [r[0] for r in rows], ["1", "2", "3", "4", "5", "6"])
    check("created: id and version 1", rows[0][1:4] == ["t", "1", ""] and rows[4][1:4] == ["t", "1", ""], repr(rows))
    check("a userName taken by an earlier item, in another case: 23505", rows[1][3] == "23505", repr(rows))
    check("bad values: RG400 with the reason", rows[2][3] == "RG400" and "userName" in rows[2][4]
          and rows[3][3] == "RG400" and "full-date" in rows[3][4] and rows[5][3] == "RG400"
          and "too long" in rows[5][4], repr(rows))
    m1 = one(env, "SELECT id FROM users WHERE user_name = 'many-1'")[0]
    d = user_doc(env, m1)
    check("the created document", d.get("userName") == "many-1" and d["meta"]["version"] == 1
          and [e["value"] for e in d.get("emails", [])] == ["m1@x.example", "m1@p.example"] and d.get("active") is True
          and "password" not in json.dumps(d), repr(d))
    check_eq("email is the primary one, unverified", one(
        env, "SELECT email, email_verified, password_hash IS NOT NULL FROM users WHERE id = %s" % lit(m1)),
        ["m1@p.example", "f", "t"])
    check_eq("active false kept", one(env, "SELECT active FROM users WHERE user_name = 'many-2'")[0], "f")
    check_eq("scim_counts follows inserts", int(one(env, "SELECT n FROM scim_counts WHERE resource = 'User'")[0]),
             before + 2)
    rc, rows, err = q(env, "SELECT * FROM scim_users_create_many(%s)" % jlit([{"doc": {"userName": "many-1"}}]))
    check("a name taken before the call: 23505", rc == 0 and rows and rows[0][3] == "23505", err or repr(rows))
    rc, rows, err = q(env, "SELECT count(*) FROM scim_users_create_many('[]')")
    check("no items: no rows", rc == 0 and rows == [["0"]], err or repr(rows))
    rc, _, err = q(env, "SELECT * FROM scim_users_create_many('{}')")
    check("items not an array: RG400", rc != 0 and "array" in err, err)
    rc, rows, err = q(env, "SELECT id IS NOT NULL, version, doc IS NULL FROM scim_user_write(NULL, %s, NULL, NULL, false)"
                      % jlit({"userName": "nodoc"}))
    check("p_return_doc false: id and version, no document", rc == 0 and rows == [["t", "1", "t"]],
          err or repr(rows))
    one(env, "SELECT scim_user_delete(%s)" % lit(m1))
    check_eq("scim_counts follows deletes", int(one(env, "SELECT n FROM scim_counts WHERE resource = 'User'")[0]),
             int(one(env, "SELECT count(*) FROM users")[0]))
    check_eq("groups counted too", one(env, "SELECT n FROM scim_counts WHERE resource = 'Group'")[0],
             one(env, "SELECT count(*) FROM groups")[0])

    # ---- a page's documents together (list.c) ---------------------------------------
    ids = [r[0] for r in q(env, "SELECT id FROM users ORDER BY lower(user_name) DESC")[1]]
    require("users to list", len(ids) >= 3, repr(ids))
    gone = "00000000-0000-4000-8000-000000000000"
    asked = ids + [ids[0], gone]  # a repeated id, an id of no user
    rc, rows, err = q(env, "SELECT d.id, d.doc FROM scim_user_docs(ARRAY[%s]::uuid[]) d" % ",".join(lit(x) for x in asked))
    check_eq("scim_user_docs: each user once, in the order asked, none for an unknown id",
             [r[0] for r in rows] if rc == 0 else err, ids)
    check("scim_user_docs: the same documents as scim_user_doc",
          rc == 0 and all(json.loads(r[1]) == user_doc(env, r[0]) for r in rows), err)
    rc, rows, err = q(env, "SELECT count(*) FROM scim_user_docs('{}')")
    check("scim_user_docs of no ids: no rows", rc == 0 and rows == [["0"]], err or repr(rows))
    check("scim_user_doc of no user: NULL", one(env, "SELECT scim_user_doc(%s) IS NULL" % lit(gone))[0] == "t")


run(main)
