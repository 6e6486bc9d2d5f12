-- SCIM 2.0 storage (issue 4): RFC 7643 User (+ Enterprise and regain recovery
-- extensions) and Group resources, and the functions scim/ calls, one round
-- trip per operation (contract: scim/internal.h "storage contract").
--
-- Mapping (scim/schema_defs.c holds the same in its `column` / `child`):
--   users            single-valued attributes, one column each; issue 3's
--                    columns keep their meaning for the OpenID Provider
--                    (user_name, given_name, family_name, display_name,
--                    email/email_verified = the primary email, active,
--                    password_hash, updated_at).
--   user_values      one row per value of emails, phoneNumbers, ims, photos,
--                    addresses, entitlements, roles: value, type, "primary",
--                    display in columns, other sub-attributes in `data`.
--   users.x509_certificates  as given (jsonb); large, never filtered.
--   groups, group_members    Groups; membership one row per member.
--
-- Documents are RFC 7643's JSON with canonical attribute names, extension
-- attributes under their schema URN, `schemas` listing the core schema and the
-- extensions present, unassigned attributes omitted (§2.5), meta.created and
-- meta.lastModified as RFC 3339 UTC with milliseconds, meta.version as a bare
-- JSON number (the C side writes W/"n", RFC 7644 §3.14), no meta.location and
-- no $ref (they need the public base URL, which only the C side knows).
--
-- Errors raised for the C side (messages are safe to show a client):
--   RG412  if_version given and not the current version (RFC 7644 §3.14)
--   RG400  a value the schema cannot hold (unknown member, bad birthdate,
--          value too long to index)
--   23505  userName taken, compared without regard to case (RFC 7643 §4.1.1)

-- ---- users ------------------------------------------------------------------

-- RFC 3339 full-date (YYYY-MM-DD) of a day that exists.
CREATE FUNCTION scim_full_date_ok(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE
        WHEN s !~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' THEN false
        WHEN substr(s, 1, 4)::int < 1 THEN false
        ELSE substr(s, 9, 2)::int <= extract(day FROM make_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, 1)
                                                   + interval '1 month' - interval '1 day')
    END
$$;

ALTER TABLE users
    ADD COLUMN name_formatted        text,
    ADD COLUMN name_middle_name      text,
    ADD COLUMN name_honorific_prefix text,
    ADD COLUMN name_honorific_suffix text,
    ADD COLUMN nick_name             text,
    ADD COLUMN profile_url           text,
    ADD COLUMN title                 text,
    ADD COLUMN user_type             text,
    ADD COLUMN preferred_language    text,
    ADD COLUMN locale                text,
    ADD COLUMN timezone              text,
    ADD COLUMN x509_certificates     jsonb,
    -- urn:ietf:params:scim:schemas:extension:enterprise:2.0:User (RFC 7643 §4.3)
    ADD COLUMN employee_number       text,
    ADD COLUMN cost_center           text,
    ADD COLUMN organization          text,
    ADD COLUMN division              text,
    ADD COLUMN department            text,
    ADD COLUMN manager_id            text,   -- manager.value as given (the id of a User)
    -- urn:regain:scim:schemas:extension:recovery:2.0:User. birthdate is text
    -- in full-date form: every SCIM string filter operator applies, and in
    -- this form text order is date order.
    ADD COLUMN birthdate             text CHECK (scim_full_date_ok(birthdate)),
    ADD COLUMN legal_given_name      text,
    ADD COLUMN legal_family_name     text,
    -- meta.version: bumped by every SCIM write of the user.
    ADD COLUMN version               bigint NOT NULL DEFAULT 1;

-- Filtered and sorted on (lower() where caseExact is false, so the filter
-- SQL's lower(u.col) = lower($n) and ORDER BY lower(u.col) use them; the
-- (x, id) pairs serve sorting with id as the tie-break and cursors).
CREATE INDEX users_external_id ON users (external_id);
CREATE INDEX users_created ON users (created_at, id);
CREATE INDEX users_updated ON users (updated_at, id);
CREATE INDEX users_display_name_ci ON users (lower(display_name));
-- userName eq and sortBy=userName: issue 3's unique index on lower(user_name),
-- rebuilt to carry id and user_name, so a page in userName order is an
-- index-only scan: startIndex (OFFSET) skips index entries without visiting
-- the heap (100,000 entries: 10 ms instead of 42 ms at a million users),
-- and the key and id a cursor needs come from the index. Same name, same
-- key: the 23505 it raises and ON CONFLICT ((lower(user_name))) are unchanged.
DROP INDEX users_user_name_ci;
CREATE UNIQUE INDEX users_user_name_ci ON users (lower(user_name)) INCLUDE (id, user_name);
-- userName sw "..." (LIKE 'x%' under any collation).
CREATE INDEX users_user_name_prefix ON users (lower(user_name) text_pattern_ops);
-- Deprovisioning: the rows that cascade from users need an index on user_id.
CREATE INDEX sessions_user_all ON sessions (user_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX authorization_codes_user ON authorization_codes (user_id);

CREATE TABLE user_values (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attr       text NOT NULL,   -- canonical attribute name: 'emails', 'phoneNumbers'...
    ord        integer NOT NULL, -- position in the client's array, from 1
    value      text,
    type       text,
    "primary"  boolean,
    display    text,
    data       jsonb,            -- the other sub-attributes (addresses' parts)
    PRIMARY KEY (user_id, attr, ord)
);
-- emails[value eq "x"], value sw "x" (caseExact false: lower(); text_pattern_ops
-- so LIKE 'x%' can use the index under any collation) and
-- emails[type eq "work" and value sw "x"].
CREATE INDEX user_values_value ON user_values (attr, lower(value) text_pattern_ops);
CREATE INDEX user_values_type_value ON user_values (attr, lower(type), lower(value) text_pattern_ops);

-- ---- groups -----------------------------------------------------------------

CREATE TABLE groups (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    display_name  text NOT NULL,
    external_id   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    version       bigint NOT NULL DEFAULT 1
);
-- displayName is not unique (RFC 7643 §4.2), but looked up without regard to case.
CREATE INDEX groups_display_name_ci ON groups (lower(display_name) text_pattern_ops);
CREATE INDEX groups_external_id ON groups (external_id);
CREATE INDEX groups_created ON groups (created_at, id);
CREATE INDEX groups_updated ON groups (updated_at, id);

-- A member is a User or a Group (nested groups, RFC 7643 §4.2); member_id has
-- no foreign key because it points into one of two tables: the triggers below
-- remove memberships of deleted users and groups.
CREATE TABLE group_members (
    group_id     uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id    uuid NOT NULL,
    member_type  text NOT NULL CHECK (member_type IN ('User', 'Group')),
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

-- A membership that goes away with its member changes the group: bump it.
CREATE FUNCTION scim_member_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE groups SET version = version + 1, updated_at = now()
     WHERE id IN (SELECT group_id FROM group_members WHERE member_id = OLD.id);
    DELETE FROM group_members WHERE member_id = OLD.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_memberships_gone AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION scim_member_gone();
CREATE TRIGGER groups_memberships_gone AFTER DELETE ON groups
    FOR EACH ROW EXECUTE FUNCTION scim_member_gone();

-- ---- counts -----------------------------------------------------------------

-- totalResults of an unfiltered list (RFC 7644 §3.4.2): count(*) over a
-- million users reads the whole table on every page, so each resource table
-- keeps its exact row count here, maintained per statement (transition
-- tables: one UPDATE per statement, however many rows it wrote). The row of
-- a resource type is locked until the writing transaction ends, which
-- orders concurrent creations briefly; every write of ours is one short
-- statement. Filtered lists count with their own query, which uses the
-- filter's indexes.
CREATE TABLE scim_counts (
    resource  text PRIMARY KEY CHECK (resource IN ('User', 'Group')),
    n         bigint NOT NULL
);
INSERT INTO scim_counts (resource, n)
SELECT 'User', count(*) FROM users UNION ALL SELECT 'Group', count(*) FROM groups;

CREATE FUNCTION scim_count_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO d FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT -count(*) INTO d FROM old_rows;
    ELSE -- TRUNCATE
        UPDATE scim_counts SET n = 0 WHERE resource = TG_ARGV[0];
        RETURN NULL;
    END IF;
    IF d <> 0 THEN
        UPDATE scim_counts SET n = n + d WHERE resource = TG_ARGV[0];
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_count_insert AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scim_count_rows('User');
CREATE TRIGGER users_count_delete AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scim_count_rows('User');
CREATE TRIGGER users_count_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION scim_count_rows('User');
CREATE TRIGGER groups_count_insert AFTER INSERT ON groups REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scim_count_rows('Group');
CREATE TRIGGER groups_count_delete AFTER DELETE ON groups REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scim_count_rows('Group');
CREATE TRIGGER groups_count_truncate AFTER TRUNCATE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION scim_count_rows('Group');

-- ---- documents --------------------------------------------------------------

CREATE FUNCTION scim_time(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- The canonical documents of users p_ids, in the order given (a repeated id
-- once, at its first place; ids of no user left out); never the password.
-- `groups` lists direct memberships ("direct") and those through nested
-- groups ("indirect"), RFC 7643 §4.1.2.
-- Set-based: a page of 100 users is one pass over user_values and
-- group_members for all their ids (= ANY, the primary key and
-- group_members_member), not 100 calls each running its own subqueries;
-- that more than halves the database's part of a page (8.4 -> 3.3 ms at a
-- million users). scim_user_doc below is this for one id, so there is one
-- definition of the document.
-- plpgsql, not sql: PostgreSQL 15 plans a non-inlinable SQL function's body
-- on every call, while plpgsql keeps the plan of its query for the session;
-- forced generic, because the plan cache otherwise kept choosing custom
-- plans, planning this query (0.3 ms) on every call: 72 us instead of 500 us
-- for one document, 3.3 ms instead of 4.1 ms for 100 (the plan is the same
-- for any number of ids: index lookups by = ANY).
-- The timestamps are to_char() written out rather than scim_time(): an
-- IMMUTABLE SQL function over STABLE to_char() is never inlined, a call
-- per timestamp.
CREATE FUNCTION scim_user_docs(p_ids uuid[]) RETURNS TABLE (id uuid, doc jsonb)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH RECURSIVE
    ids AS (SELECT DISTINCT ON (t.id) t.id, t.pos FROM unnest(p_ids) WITH ORDINALITY t (id, pos)
             ORDER BY t.id, t.pos),
    vals AS (
        SELECT s.user_id, jsonb_object_agg(s.attr, s.vals) AS o
          FROM (SELECT v.user_id, v.attr,
                       jsonb_agg(coalesce(v.data, '{}'::jsonb)
                                 || jsonb_build_object('value', v.value, 'type', v.type,
                                                       'primary', v."primary", 'display', v.display)
                                 ORDER BY v.ord) AS vals
                  FROM user_values v WHERE v.user_id = ANY (p_ids) GROUP BY v.user_id, v.attr) s
         GROUP BY s.user_id),
    m (user_id, group_id, direct) AS (
        SELECT gm.member_id, gm.group_id, true FROM group_members gm WHERE gm.member_id = ANY (p_ids)
        UNION
        SELECT m.user_id, gm.group_id, false FROM group_members gm JOIN m ON gm.member_id = m.group_id),
    grp AS (
        SELECT d.user_id,
               jsonb_agg(jsonb_build_object('value', g.id, 'display', g.display_name,
                                            'type', CASE WHEN d.direct THEN 'direct' ELSE 'indirect' END)
                         ORDER BY g.display_name, g.id) AS groups
          FROM (SELECT m.user_id, m.group_id, bool_or(m.direct) AS direct FROM m GROUP BY m.user_id, m.group_id) d
          JOIN groups g ON g.id = d.group_id
         GROUP BY d.user_id)
    SELECT u.id, jsonb_strip_nulls(
        jsonb_build_object(
            'schemas', jsonb_build_array('urn:ietf:params:scim:schemas:core:2.0:User')
                || CASE WHEN e.ent IS NULL THEN '[]'::jsonb
                        ELSE '["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]' END
                || CASE WHEN r.rec IS NULL THEN '[]'::jsonb
                        ELSE '["urn:regain:scim:schemas:extension:recovery:2.0:User"]' END,
            'id', u.id,
            'externalId', u.external_id,
            'userName', u.user_name,
            'name', nullif(jsonb_strip_nulls(jsonb_build_object(
                'formatted', u.name_formatted, 'familyName', u.family_name, 'givenName', u.given_name,
                'middleName', u.name_middle_name, 'honorificPrefix', u.name_honorific_prefix,
                'honorificSuffix', u.name_honorific_suffix)), '{}'),
            'displayName', u.display_name,
            'nickName', u.nick_name,
            'profileUrl', u.profile_url,
            'title', u.title,
            'userType', u.user_type,
            'preferredLanguage', u.preferred_language,
            'locale', u.locale,
            'timezone', u.timezone,
            'active', u.active,
            'x509Certificates', u.x509_certificates,
            'groups', grp.groups,
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', e.ent,
            'urn:regain:scim:schemas:extension:recovery:2.0:User', r.rec,
            'meta', jsonb_build_object(
                'resourceType', 'User',
                'created', to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'lastModified', to_char(u.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'version', u.version))
        || coalesce(vals.o, '{}'::jsonb))
      FROM ids
      JOIN users u ON u.id = ids.id
      LEFT JOIN vals ON vals.user_id = u.id
      LEFT JOIN grp ON grp.user_id = u.id,
           LATERAL (SELECT nullif(jsonb_strip_nulls(jsonb_build_object(
                        'employeeNumber', u.employee_number, 'costCenter', u.cost_center,
                        'organization', u.organization, 'division', u.division, 'department', u.department,
                        'manager', CASE WHEN u.manager_id IS NOT NULL THEN jsonb_build_object(
                            'value', u.manager_id,
                            'displayName', (SELECT coalesce(mu.display_name, mu.user_name) FROM users mu
                                             WHERE u.manager_id ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
                                               AND mu.id = u.manager_id::uuid)) END)),
                        '{}') AS ent) e,
           LATERAL (SELECT nullif(jsonb_strip_nulls(jsonb_build_object(
                        'birthdate', u.birthdate, 'legalGivenName', u.legal_given_name,
                        'legalFamilyName', u.legal_family_name)), '{}') AS rec) r
     ORDER BY ids.pos;
END
$$;

-- The user's canonical document (NULL when there is no such user).
CREATE FUNCTION scim_user_doc(p_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT d.doc FROM scim_user_docs(ARRAY[p_id]) d);
END
$$;

-- The group's canonical document (NULL when there is no such group). members
-- only when p_with_members: a group may have 100,000 of them, so listing and
-- PATCH responses leave them out unless asked.
CREATE FUNCTION scim_group_doc(p_id uuid, p_with_members boolean) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
        'schemas', '["urn:ietf:params:scim:schemas:core:2.0:Group"]'::jsonb,
        'id', g.id,
        'externalId', g.external_id,
        'displayName', g.display_name,
        'members', CASE WHEN p_with_members THEN (
            SELECT jsonb_agg(jsonb_build_object('value', gm.member_id, 'type', gm.member_type,
                                                'display', coalesce(mu.display_name, mu.user_name, mg.display_name))
                             ORDER BY gm.member_id)
              FROM group_members gm
              LEFT JOIN users mu ON gm.member_type = 'User' AND mu.id = gm.member_id
              LEFT JOIN groups mg ON gm.member_type = 'Group' AND mg.id = gm.member_id
             WHERE gm.group_id = g.id) END,
        'meta', jsonb_build_object('resourceType', 'Group', 'created', scim_time(g.created_at),
                                   'lastModified', scim_time(g.updated_at), 'version', g.version)))
      FROM groups g WHERE g.id = p_id);
END
$$;

-- ---- user writes ------------------------------------------------------------

-- Ends every session of a user and revokes their grants: refresh tokens, and
-- through revoked_grants the access tokens of those families (RFC 7009 §2.1;
-- issue 4: deactivation signs the user out everywhere).
CREATE FUNCTION scim_user_sign_out(p_id uuid) RETURNS void
LANGUAGE sql AS $$
    UPDATE sessions SET ended_at = now() WHERE user_id = p_id AND ended_at IS NULL;
    SELECT regain_family_revoke(f.family_id)
      FROM (SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = p_id AND revoked_at IS NULL) f;
$$;

-- A string of the document at `path`, RG400 when present but not a string
-- or too long for an index (btree entries are limited to about 2.7 kB).
CREATE FUNCTION scim_str(p_doc jsonb, p_path text[], p_max integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := p_doc #> p_path;
BEGIN
    IF v IS NULL OR v = 'null'::jsonb THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' THEN
        RAISE EXCEPTION USING ERRCODE = 'RG400', MESSAGE = format('%s must be a string', array_to_string(p_path, '.'));
    END IF;
    IF octet_length(v #>> '{}') > p_max THEN
        RAISE EXCEPTION USING ERRCODE = 'RG400', MESSAGE = format('%s is too long', array_to_string(p_path, '.'));
    END IF;
    RETURN v #>> '{}';
END
$$;

-- Why the document `p_doc` cannot be a user, or NULL when it can: every
-- string short enough for the indexes (btree entries are limited to about
-- 2.7 kB), userName present, active a boolean, birthdate a full-date, the
-- multi-valued attributes arrays of objects whose value, type and display
-- are strings and whose primary is a boolean (RFC 7643 §2.4). The messages
-- are safe to show a client. One query per check instead of a function call
-- per attribute: scim_user_write and scim_users_create_many run it for
-- every user they write.
CREATE FUNCTION scim_user_problem(p_doc jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    ent jsonb := p_doc -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    rec jsonb := p_doc -> 'urn:regain:scim:schemas:extension:recovery:2.0:User';
    msg text;
    a text;
BEGIN
    IF jsonb_typeof(p_doc) IS DISTINCT FROM 'object' THEN
        RETURN 'the resource must be a JSON object';
    END IF;
    SELECT format(CASE WHEN jsonb_typeof(s.v) <> 'string' THEN '%s must be a string' ELSE '%s is too long' END,
                  s.name)
      INTO msg
      FROM (VALUES (1, 'userName', p_doc -> 'userName', 256),
                   (2, 'birthdate', rec -> 'birthdate', 10),
                   (3, 'externalId', p_doc -> 'externalId', 1024),
                   (4, 'name.formatted', p_doc #> '{name,formatted}', 65536),
                   (5, 'name.familyName', p_doc #> '{name,familyName}', 65536),
                   (6, 'name.givenName', p_doc #> '{name,givenName}', 65536),
                   (7, 'name.middleName', p_doc #> '{name,middleName}', 65536),
                   (8, 'name.honorificPrefix', p_doc #> '{name,honorificPrefix}', 65536),
                   (9, 'name.honorificSuffix', p_doc #> '{name,honorificSuffix}', 65536),
                   (10, 'displayName', p_doc -> 'displayName', 1024),
                   (11, 'nickName', p_doc -> 'nickName', 65536),
                   (12, 'profileUrl', p_doc -> 'profileUrl', 65536),
                   (13, 'title', p_doc -> 'title', 65536),
                   (14, 'userType', p_doc -> 'userType', 65536),
                   (15, 'preferredLanguage', p_doc -> 'preferredLanguage', 65536),
                   (16, 'locale', p_doc -> 'locale', 65536),
                   (17, 'timezone', p_doc -> 'timezone', 65536),
                   (18, 'employeeNumber', ent -> 'employeeNumber', 65536),
                   (19, 'costCenter', ent -> 'costCenter', 65536),
                   (20, 'organization', ent -> 'organization', 65536),
                   (21, 'division', ent -> 'division', 65536),
                   (22, 'department', ent -> 'department', 65536),
                   (23, 'manager.value', ent #> '{manager,value}', 1024),
                   (24, 'legalGivenName', rec -> 'legalGivenName', 65536),
                   (25, 'legalFamilyName', rec -> 'legalFamilyName', 65536)) s (k, name, v, mx)
     WHERE s.v IS NOT NULL AND s.v <> 'null'::jsonb
       AND (jsonb_typeof(s.v) <> 'string' OR octet_length(s.v #>> '{}') > s.mx)
     ORDER BY s.k LIMIT 1;
    IF msg IS NOT NULL THEN
        RETURN msg;
    END IF;
    IF p_doc ->> 'userName' IS NULL OR length(p_doc ->> 'userName') < 1 THEN
        RETURN 'userName is required (1 to 256 characters)';
    END IF;
    IF jsonb_typeof(p_doc -> 'active') NOT IN ('boolean', 'null') THEN
        RETURN 'active must be a boolean';
    END IF;
    IF rec ->> 'birthdate' IS NOT NULL AND NOT scim_full_date_ok(rec ->> 'birthdate') THEN
        RETURN 'birthdate must be a full-date, YYYY-MM-DD, of a day that exists';
    END IF;
    FOREACH a IN ARRAY ARRAY['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles',
                             'x509Certificates'] LOOP
        IF jsonb_typeof(p_doc -> a) NOT IN ('array', 'null') THEN
            RETURN format('%s must be an array', a);
        END IF;
    END LOOP;
    SELECT format(CASE WHEN jsonb_typeof(x.e) <> 'object'
                            OR jsonb_typeof(x.e -> 'value') NOT IN ('string', 'null')
                            OR jsonb_typeof(x.e -> 'type') NOT IN ('string', 'null')
                            OR jsonb_typeof(x.e -> 'display') NOT IN ('string', 'null')
                            OR jsonb_typeof(x.e -> 'primary') NOT IN ('boolean', 'null')
                       THEN '%s: a value has the wrong shape' ELSE '%s: a value is too long' END, t.attr)
      INTO msg
      FROM unnest(ARRAY['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles'])
               WITH ORDINALITY t (attr, k),
           jsonb_array_elements(CASE WHEN jsonb_typeof(p_doc -> t.attr) = 'array' THEN p_doc -> t.attr
                                     ELSE '[]' END) WITH ORDINALITY x (e, pos)
     WHERE jsonb_typeof(x.e) <> 'object'
        OR jsonb_typeof(x.e -> 'value') NOT IN ('string', 'null')
        OR jsonb_typeof(x.e -> 'type') NOT IN ('string', 'null')
        OR jsonb_typeof(x.e -> 'display') NOT IN ('string', 'null')
        OR jsonb_typeof(x.e -> 'primary') NOT IN ('boolean', 'null')
        OR octet_length(x.e ->> 'value') > 2000 OR octet_length(x.e ->> 'type') > 256
     ORDER BY t.k, x.pos LIMIT 1;
    RETURN msg;
END
$$;

-- Creates (p_id NULL) or replaces a user from its canonical document; the
-- attributes the document leaves out are cleared (RFC 7644 §3.5.1), except
--   password_hash  NULL keeps the current one (password is writeOnly: a
--                  client cannot send back what it cannot read);
--   active         absent keeps the current value (true for a new user), so a
--                  PUT that forgets it never re-enables a disabled account.
-- email / email_verified follow the primary email (or the first one);
-- email_verified becomes false when the address changes: the directory said
-- what the address is, not that its owner proved it (OIDC Core §5.1).
-- `doc` is the stored document when p_return_doc, else NULL: building it
-- costs as much as the write, and a caller that only needs id and version
-- (/Bulk without a response body) should not pay for it.
-- No row: no user with that id. Errors: RG412, RG400, 23505 (see the top).
CREATE FUNCTION scim_user_write(p_id uuid, p_doc jsonb, p_password_hash text, p_if_version bigint,
                                p_return_doc boolean DEFAULT true)
RETURNS TABLE (id uuid, version bigint, doc jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n users%ROWTYPE;
    was_active boolean;
    ent jsonb := coalesce(p_doc -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', '{}');
    rec jsonb := coalesce(p_doc -> 'urn:regain:scim:schemas:extension:recovery:2.0:User', '{}');
    v_problem text;
    v_email text;
    v_id uuid;
    v_version bigint;
BEGIN
    v_problem := scim_user_problem(p_doc);
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'RG400', MESSAGE = v_problem;
    END IF;
    -- The OpenID Connect email claim: the primary email, else the first.
    SELECT x.em ->> 'value' INTO v_email
      FROM jsonb_array_elements(coalesce(nullif(p_doc -> 'emails', 'null'), '[]')) WITH ORDINALITY AS x (em, pos)
     ORDER BY (x.em -> 'primary' = 'true'::jsonb) IS TRUE DESC, x.pos LIMIT 1;

    IF p_id IS NULL THEN
        n.id := gen_random_uuid();
        n.created_at := now();
        n.active := true;
        n.email_verified := false;
        n.version := 0;
    ELSE
        SELECT * INTO n FROM users u WHERE u.id = p_id FOR UPDATE;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF p_if_version IS NOT NULL AND n.version <> p_if_version THEN
            RAISE EXCEPTION USING ERRCODE = 'RG412', MESSAGE = 'the resource has changed (version mismatch)';
        END IF;
    END IF;
    was_active := n.active;
    -- scim_user_problem checked that each of these is a string or absent.
    n.user_name := p_doc ->> 'userName';
    n.external_id := p_doc ->> 'externalId';
    n.name_formatted := p_doc #>> '{name,formatted}';
    n.family_name := p_doc #>> '{name,familyName}';
    n.given_name := p_doc #>> '{name,givenName}';
    n.name_middle_name := p_doc #>> '{name,middleName}';
    n.name_honorific_prefix := p_doc #>> '{name,honorificPrefix}';
    n.name_honorific_suffix := p_doc #>> '{name,honorificSuffix}';
    n.display_name := p_doc ->> 'displayName';
    n.nick_name := p_doc ->> 'nickName';
    n.profile_url := p_doc ->> 'profileUrl';
    n.title := p_doc ->> 'title';
    n.user_type := p_doc ->> 'userType';
    n.preferred_language := p_doc ->> 'preferredLanguage';
    n.locale := p_doc ->> 'locale';
    n.timezone := p_doc ->> 'timezone';
    n.active := coalesce((p_doc ->> 'active')::boolean, n.active);
    n.x509_certificates := nullif(p_doc -> 'x509Certificates', 'null');
    n.employee_number := ent ->> 'employeeNumber';
    n.cost_center := ent ->> 'costCenter';
    n.organization := ent ->> 'organization';
    n.division := ent ->> 'division';
    n.department := ent ->> 'department';
    n.manager_id := ent #>> '{manager,value}';
    n.birthdate := rec ->> 'birthdate';
    n.legal_given_name := rec ->> 'legalGivenName';
    n.legal_family_name := rec ->> 'legalFamilyName';
    n.email_verified := n.email_verified AND v_email IS NOT DISTINCT FROM n.email;
    n.email := v_email;
    n.password_hash := coalesce(p_password_hash, n.password_hash);
    n.version := n.version + 1;
    n.updated_at := now();
    IF p_id IS NULL THEN
        INSERT INTO users SELECT n.*;
    ELSE
        UPDATE users u SET (
            user_name, external_id, name_formatted, family_name, given_name, name_middle_name,
            name_honorific_prefix, name_honorific_suffix, display_name, nick_name, profile_url, title,
            user_type, preferred_language, locale, timezone, active, x509_certificates, employee_number,
            cost_center, organization, division, department, manager_id, birthdate, legal_given_name,
            legal_family_name, email, email_verified, password_hash, version, updated_at
        ) = (
            n.user_name, n.external_id, n.name_formatted, n.family_name, n.given_name, n.name_middle_name,
            n.name_honorific_prefix, n.name_honorific_suffix, n.display_name, n.nick_name, n.profile_url,
            n.title, n.user_type, n.preferred_language, n.locale, n.timezone, n.active, n.x509_certificates,
            n.employee_number, n.cost_center, n.organization, n.division, n.department, n.manager_id,
            n.birthdate, n.legal_given_name, n.legal_family_name, n.email, n.email_verified, n.password_hash,
            n.version, n.updated_at
        )
         WHERE u.id = n.id;
    END IF;
    v_id := n.id;
    v_version := n.version;

    IF p_id IS NOT NULL THEN
        DELETE FROM user_values v WHERE v.user_id = v_id;
    END IF;
    INSERT INTO user_values (user_id, attr, ord, value, type, "primary", display, data)
    SELECT v_id, a.attr, x.pos, x.val ->> 'value', x.val ->> 'type', (x.val ->> 'primary')::boolean,
           x.val ->> 'display', nullif(x.val - 'value' - 'type' - 'primary' - 'display', '{}')
      FROM unnest(ARRAY['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles']) a (attr),
           jsonb_array_elements(coalesce(nullif(p_doc -> a.attr, 'null'), '[]')) WITH ORDINALITY x (val, pos);
    IF was_active AND NOT n.active THEN
        PERFORM scim_user_sign_out(v_id);
    END IF;
    RETURN QUERY SELECT v_id, v_version, CASE WHEN p_return_doc THEN scim_user_doc(v_id) END;
END
$$;

-- Creates many users in one statement (runs of POST /Users in /Bulk).
-- p_items is a JSON array of {"doc": <canonical user document>,
-- "password_hash": text or null}; each is created as by
-- scim_user_write(NULL, doc, password_hash, NULL, false). One row per item,
-- in order (ord counts from 1): id and version of the new user, or sqlstate
-- and message of why not ('RG400' with scim_user_problem's message, '23505'
-- when the userName is taken, also by an earlier item of the same call). A
-- failing item leaves the others alone.
-- Set-based: one INSERT into users (ON CONFLICT on lower(user_name), so a
-- taken name skips its row instead of failing the statement) and one into
-- user_values, about 5 times cheaper per user than a call per user. Should
-- that statement fail for a reason checked nowhere above, the items are
-- written again one at a time, each in its own subtransaction, so the
-- failure lands on its own item only.
CREATE FUNCTION scim_users_create_many(p_items jsonb)
RETURNS TABLE (ord integer, id uuid, version bigint, sqlstate text, message text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r_ord integer[];
    r_id uuid[];
    r_state text[];
    r_msg text[];
    it record;
    v_id uuid;
    v_version bigint;
    v_state text;
    v_msg text;
BEGIN
    IF jsonb_typeof(p_items) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'RG400', MESSAGE = 'the items must be a JSON array';
    END IF;
    BEGIN
        WITH items AS MATERIALIZED (
            SELECT x.pos::integer AS ord, x.e -> 'doc' AS doc,
                   CASE WHEN jsonb_typeof(x.e -> 'password_hash') = 'string' THEN x.e ->> 'password_hash' END AS ph,
                   scim_user_problem(x.e -> 'doc') AS problem, gen_random_uuid() AS nid
              FROM jsonb_array_elements(p_items) WITH ORDINALITY x (e, pos)),
        ins AS (
            INSERT INTO users AS u (
                id, user_name, external_id, name_formatted, family_name, given_name, name_middle_name,
                name_honorific_prefix, name_honorific_suffix, display_name, nick_name, profile_url, title,
                user_type, preferred_language, locale, timezone, active, x509_certificates, employee_number,
                cost_center, organization, division, department, manager_id, birthdate, legal_given_name,
                legal_family_name, email, email_verified, password_hash, version, created_at, updated_at)
            SELECT i.nid, d ->> 'userName', d ->> 'externalId', d #>> '{name,formatted}', d #>> '{name,familyName}',
                   d #>> '{name,givenName}', d #>> '{name,middleName}', d #>> '{name,honorificPrefix}',
                   d #>> '{name,honorificSuffix}', d ->> 'displayName', d ->> 'nickName', d ->> 'profileUrl',
                   d ->> 'title', d ->> 'userType', d ->> 'preferredLanguage', d ->> 'locale', d ->> 'timezone',
                   coalesce((d ->> 'active')::boolean, true), nullif(d -> 'x509Certificates', 'null'),
                   e ->> 'employeeNumber', e ->> 'costCenter', e ->> 'organization', e ->> 'division',
                   e ->> 'department', e #>> '{manager,value}', r ->> 'birthdate', r ->> 'legalGivenName',
                   r ->> 'legalFamilyName',
                   (SELECT x.em ->> 'value'
                      FROM jsonb_array_elements(coalesce(nullif(d -> 'emails', 'null'), '[]'))
                           WITH ORDINALITY AS x (em, pos)
                     ORDER BY (x.em -> 'primary' = 'true'::jsonb) IS TRUE DESC, x.pos LIMIT 1),
                   false, i.ph, 1, now(), now()
              FROM items i,
                   LATERAL (SELECT i.doc AS d,
                                   i.doc -> 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' AS e,
                                   i.doc -> 'urn:regain:scim:schemas:extension:recovery:2.0:User' AS r) j
             WHERE i.problem IS NULL
             ORDER BY i.ord
            ON CONFLICT ((lower(user_name))) DO NOTHING
            RETURNING u.id),
        vals AS (
            INSERT INTO user_values (user_id, attr, ord, value, type, "primary", display, data)
            SELECT i.nid, a.attr, x.pos, x.val ->> 'value', x.val ->> 'type', (x.val ->> 'primary')::boolean,
                   x.val ->> 'display', nullif(x.val - 'value' - 'type' - 'primary' - 'display', '{}')
              FROM items i
              JOIN ins ON ins.id = i.nid,
                   unnest(ARRAY['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles'])
                       a (attr),
                   jsonb_array_elements(coalesce(nullif(i.doc -> a.attr, 'null'), '[]')) WITH ORDINALITY x (val, pos))
        SELECT array_agg(i.ord ORDER BY i.ord), array_agg(ins.id ORDER BY i.ord),
               array_agg(CASE WHEN i.problem IS NOT NULL THEN 'RG400' WHEN ins.id IS NULL THEN '23505' END
                         ORDER BY i.ord),
               array_agg(coalesce(i.problem, CASE WHEN ins.id IS NULL THEN 'userName is already taken' END)
                         ORDER BY i.ord)
          INTO r_ord, r_id, r_state, r_msg
          FROM items i
          LEFT JOIN ins ON ins.id = i.nid;
    EXCEPTION WHEN OTHERS THEN
        r_ord := NULL; -- the fallback below
    END;
    IF r_ord IS NOT NULL OR jsonb_array_length(p_items) = 0 THEN
        RETURN QUERY SELECT t.o, t.i, CASE WHEN t.i IS NOT NULL THEN 1::bigint END, t.s, t.m
                       FROM unnest(r_ord, r_id, r_state, r_msg) t (o, i, s, m);
        RETURN;
    END IF;
    FOR it IN SELECT x.pos::integer AS o, x.e -> 'doc' AS d,
                     CASE WHEN jsonb_typeof(x.e -> 'password_hash') = 'string' THEN x.e ->> 'password_hash' END AS ph
                FROM jsonb_array_elements(p_items) WITH ORDINALITY x (e, pos) LOOP
        v_id := NULL;
        v_version := NULL;
        v_state := NULL;
        v_msg := NULL;
        BEGIN
            SELECT w.id, w.version INTO v_id, v_version FROM scim_user_write(NULL, it.d, it.ph, NULL, false) w;
        EXCEPTION WHEN OTHERS THEN
            v_state := SQLSTATE;
            -- Only our own messages are safe to show a client.
            v_msg := CASE WHEN SQLSTATE = '23505' THEN 'userName is already taken'
                          WHEN SQLSTATE = 'RG400' THEN SQLERRM END;
        END;
        -- (the handler's SQLSTATE hides the output column `sqlstate`)
        ord := it.o;
        id := v_id;
        version := v_version;
        sqlstate := v_state;
        message := v_msg;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Deletes a user; user_values, sessions, codes and refresh tokens cascade,
-- memberships go by trigger. The families of their refresh tokens are listed
-- in revoked_grants first, so access tokens already issued die with them.
-- Later credential tables reference users ON DELETE CASCADE too.
CREATE FUNCTION scim_user_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO revoked_grants (family_id)
    SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = p_id
    ON CONFLICT DO NOTHING;
    DELETE FROM users WHERE id = p_id;
    RETURN FOUND;
END
$$;

-- ---- group writes -----------------------------------------------------------

-- The members of a JSON array [{"value": id, "type"?: "User"|"Group"}, ...]
-- as (member_id, member_type), each checked against users and groups:
-- RG400 for a value that is not the id of one, or a type that contradicts it
-- (RFC 7643 §4.2: the server knows what each id is). Duplicates collapse.
CREATE FUNCTION scim_members_resolve(p_members jsonb)
RETURNS TABLE (member_id uuid, member_type text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    ids uuid[];
    found_types text[];
    given_types text[];
BEGIN
    IF p_members IS NULL OR p_members = 'null'::jsonb THEN
        RETURN;
    END IF;
    IF jsonb_typeof(p_members) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'RG400', MESSAGE = 'members must be an array';
    END IF;
    PERFORM 1 FROM jsonb_array_elements(p_members) x
      WHERE jsonb_typeof(x) IS DISTINCT FROM 'object'
         OR jsonb_typeof(x -> 'value') IS DISTINCT FROM 'string'
         OR x ->> 'value' !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
         OR jsonb_typeof(x -> 'type') NOT IN ('string', 'null');
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'RG400', MESSAGE = 'members: a value is not the id of a User or Group';
    END IF;
    -- One pass, set-based: a 100,000-member PUT is one join, not a loop of lookups.
    SELECT array_agg(r.id), array_agg(r.found), array_agg(r.given)
      INTO ids, found_types, given_types
      FROM (SELECT DISTINCT ON (v.id) v.id, v.given,
                   CASE WHEN u.id IS NOT NULL THEN 'User' WHEN g.id IS NOT NULL THEN 'Group' END AS found
              FROM (SELECT (x ->> 'value')::uuid AS id, x ->> 'type' AS given
                      FROM jsonb_array_elements(p_members) x) v
              LEFT JOIN users u ON u.id = v.id
              LEFT JOIN groups g ON g.id = v.id
             ORDER BY v.id) r;
    FOR i IN 1 .. coalesce(cardinality(ids), 0) LOOP
        IF found_types[i] IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'RG400',
                MESSAGE = format('members: no User or Group has the id %s', ids[i]);
        END IF;
        IF given_types[i] IS NOT NULL AND lower(given_types[i]) <> lower(found_types[i]) THEN
            RAISE EXCEPTION USING ERRCODE = 'RG400',
                MESSAGE = format('members: %s is a %s, not a %s', ids[i], found_types[i], left(given_types[i], 20));
        END IF;
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(ids, found_types);
END
$$;

-- RG400 when group p_group now contains itself, directly or through nesting.
CREATE FUNCTION scim_members_no_cycle(p_group uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        WITH RECURSIVE down (id) AS (
            SELECT gm.member_id FROM group_members gm WHERE gm.group_id = p_group AND gm.member_type = 'Group'
            UNION
            SELECT gm.member_id FROM group_members gm JOIN down ON gm.group_id = down.id
             WHERE gm.member_type = 'Group'
        )
        SELECT 1 FROM down WHERE id = p_group) THEN
        RAISE EXCEPTION USING ERRCODE = 'RG400', MESSAGE = 'members: a group cannot contain itself';
    END IF;
END
$$;

-- Creates (p_id NULL) or replaces a group: displayName and externalId from
-- the document; members from the document only when p_replace_members (then
-- only the difference is written, and the returned doc includes members:
-- the client just sent them), otherwise untouched. doc is NULL unless
-- p_return_doc. No row: no such group. Errors: RG412, RG400.
CREATE FUNCTION scim_group_write(p_id uuid, p_doc jsonb, p_if_version bigint, p_replace_members boolean,
                                 p_return_doc boolean DEFAULT true)
RETURNS TABLE (id uuid, version bigint, doc jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old groups%ROWTYPE;
    v_name text;
    v_id uuid;
    v_version bigint;
    new_ids uuid[];
    new_types text[];
BEGIN
    IF jsonb_typeof(p_doc) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'RG400', MESSAGE = 'the resource must be a JSON object';
    END IF;
    v_name := scim_str(p_doc, '{displayName}', 1024);
    IF v_name IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'RG400', MESSAGE = 'displayName is required';
    END IF;
    IF p_id IS NULL THEN
        INSERT INTO groups (display_name, external_id) VALUES (v_name, scim_str(p_doc, '{externalId}', 1024))
        RETURNING * INTO old;
        v_id := old.id;
        v_version := 1;
    ELSE
        SELECT * INTO old FROM groups g WHERE g.id = p_id FOR UPDATE;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF p_if_version IS NOT NULL AND old.version <> p_if_version THEN
            RAISE EXCEPTION USING ERRCODE = 'RG412', MESSAGE = 'the resource has changed (version mismatch)';
        END IF;
        v_id := p_id;
        v_version := old.version + 1;
        UPDATE groups g SET display_name = v_name, external_id = scim_str(p_doc, '{externalId}', 1024),
                            version = v_version, updated_at = now()
         WHERE g.id = v_id;
    END IF;
    IF p_replace_members THEN
        SELECT array_agg(r.member_id), array_agg(r.member_type) INTO new_ids, new_types
          FROM scim_members_resolve(p_doc -> 'members') r;
        new_ids := coalesce(new_ids, '{}');
        new_types := coalesce(new_types, '{}');
        DELETE FROM group_members gm WHERE gm.group_id = v_id AND gm.member_id <> ALL (new_ids);
        INSERT INTO group_members (group_id, member_id, member_type)
        SELECT v_id, n.id, n.t FROM unnest(new_ids, new_types) n (id, t)
        ON CONFLICT DO NOTHING;
        IF 'Group' = ANY (new_types) THEN
            PERFORM scim_members_no_cycle(v_id);
        END IF;
    END IF;
    RETURN QUERY SELECT v_id, v_version, CASE WHEN p_return_doc THEN scim_group_doc(v_id, p_replace_members) END;
END
$$;

-- Changes membership incrementally (PATCH, RFC 7644 §3.5.2): p_remove_all
-- first, then the ids of p_remove ([{"value": id}], ids that are not members
-- are ignored), then p_add ([{"value", "type"?}], already present ones are
-- kept). Only the named rows are touched, however large the group. No row:
-- no such group. Errors: RG412, RG400 (an added id that is no User or Group,
-- or a cycle).
CREATE FUNCTION scim_group_members_change(p_id uuid, p_add jsonb, p_remove jsonb, p_remove_all boolean,
                                          p_if_version bigint)
RETURNS TABLE (version bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old groups%ROWTYPE;
    added_group boolean;
BEGIN
    SELECT * INTO old FROM groups g WHERE g.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_if_version IS NOT NULL AND old.version <> p_if_version THEN
        RAISE EXCEPTION USING ERRCODE = 'RG412', MESSAGE = 'the resource has changed (version mismatch)';
    END IF;
    IF p_remove_all THEN
        DELETE FROM group_members gm WHERE gm.group_id = p_id;
    END IF;
    IF jsonb_typeof(p_remove) = 'array' THEN
        DELETE FROM group_members gm
         WHERE gm.group_id = p_id
           AND gm.member_id IN (
               SELECT (x ->> 'value')::uuid FROM jsonb_array_elements(p_remove) x
                WHERE x ->> 'value' ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$');
    ELSIF p_remove IS NOT NULL AND p_remove <> 'null'::jsonb THEN
        RAISE EXCEPTION USING ERRCODE = 'RG400', MESSAGE = 'members to remove must be an array';
    END IF;
    WITH ins AS (
        INSERT INTO group_members (group_id, member_id, member_type)
        SELECT p_id, r.member_id, r.member_type FROM scim_members_resolve(p_add) r
        ON CONFLICT DO NOTHING
        RETURNING member_type)
    SELECT bool_or(member_type = 'Group') INTO added_group FROM ins;
    IF added_group THEN
        PERFORM scim_members_no_cycle(p_id);
    END IF;
    UPDATE groups g SET version = g.version + 1, updated_at = now() WHERE g.id = p_id;
    RETURN QUERY SELECT old.version + 1;
END
$$;

-- Deletes a group; its own member rows cascade, its memberships in other
-- groups go by trigger (which also bumps those groups).
CREATE FUNCTION scim_group_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM groups WHERE id = p_id;
    RETURN FOUND;
END
$$;
