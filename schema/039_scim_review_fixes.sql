-- SCIM fixes from a review of RFC 7644 conformance.
--
-- DELETE with If-Match (RFC 7644 §3.14, RFC 9110 §13.1.1: the server "MUST
-- NOT perform the requested method if a received If-Match condition
-- evaluates to false"). The gateway compared the version on a read of its
-- own and then deleted by id alone, so a PUT or PATCH committed between the
-- two was deleted anyway. The delete functions now take the version the
-- gateway matched and refuse, under the row's lock, when it is no longer
-- the current one (RG412), as the writes do (007). p_if_version NULL: no
-- precondition, as before. The one-argument forms are dropped so a call
-- with one argument still names exactly one function.
DROP FUNCTION scim_user_delete(uuid);
DROP FUNCTION scim_group_delete(uuid);

-- As in 032 (grants revoked before the row goes), conditional on the version.
CREATE FUNCTION scim_user_delete(p_id uuid, p_if_version bigint DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_version bigint;
BEGIN
    SELECT u.version INTO v_version FROM users u WHERE u.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF p_if_version IS NOT NULL AND v_version <> p_if_version THEN
        RAISE EXCEPTION USING ERRCODE = 'RG412', MESSAGE = 'the resource has changed (version mismatch)';
    END IF;
    PERFORM regain_user_grants_revoke(p_id);
    DELETE FROM users WHERE id = p_id;
    RETURN FOUND;
END
$$;

-- As in 007: its own member rows cascade, its memberships in other groups go
-- by trigger (which also bumps those groups); conditional on the version.
CREATE FUNCTION scim_group_delete(p_id uuid, p_if_version bigint DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM groups g WHERE g.id = p_id AND (p_if_version IS NULL OR g.version = p_if_version);
    IF FOUND THEN
        RETURN true;
    END IF;
    IF p_if_version IS NOT NULL AND EXISTS (SELECT 1 FROM groups g WHERE g.id = p_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'RG412', MESSAGE = 'the resource has changed (version mismatch)';
    END IF;
    RETURN false;
END
$$;

-- PATCH /Groups/{id}?attributes=members (RFC 7644 §3.5.2: with
-- "attributes" the server returns the entire resource subject to it)
-- answered 200 without members: the document scim_group_write returned
-- had members only when it had just replaced them. p_doc_members says
-- whether the returned document shows the members; NULL keeps the old rule
-- (p_replace_members), so a PATCH whose response leaves the members out
-- still does not read them. Otherwise as in 007.
DROP FUNCTION scim_group_write(uuid, jsonb, bigint, boolean, boolean);

CREATE FUNCTION scim_group_write(p_id uuid, p_doc jsonb, p_if_version bigint, p_replace_members boolean,
                                 p_return_doc boolean DEFAULT true, p_doc_members boolean DEFAULT NULL)
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
    RETURN QUERY SELECT v_id, v_version,
                        CASE WHEN p_return_doc THEN scim_group_doc(v_id, coalesce(p_doc_members, p_replace_members)) END;
END
$$;

-- PATCH remove members[value eq "X"] of a group X is no member of answered
-- 204. RFC 7644 §3.12: noTarget "when the specified "path" value contains a
-- filter that yields no match", as Users already answer. The gateway
-- decides it when the PATCH's earlier operations added or removed the ids a
-- filter names; the other filters come as p_must, a JSON array of arrays of
-- ids: of each array at least one id must be a member before the changes,
-- or RG4NT and nothing changes. Each id is one probe of group_members'
-- primary key: the group's other members are never read. Otherwise as in
-- 007.
DROP FUNCTION scim_group_members_change(uuid, jsonb, jsonb, boolean, bigint);

CREATE FUNCTION scim_group_members_change(p_id uuid, p_add jsonb, p_remove jsonb, p_remove_all boolean,
                                          p_if_version bigint, p_must jsonb DEFAULT NULL)
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
    IF jsonb_typeof(p_must) = 'array' AND EXISTS (
        SELECT 1 FROM jsonb_array_elements(p_must) l
         WHERE CASE WHEN jsonb_typeof(l) = 'array' THEN NOT EXISTS (
                   SELECT 1 FROM jsonb_array_elements_text(l) x
                     JOIN group_members gm
                       ON gm.group_id = p_id
                      AND gm.member_id = CASE WHEN x ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
                                              THEN x::uuid END)
               ELSE true END) THEN
        RAISE EXCEPTION USING ERRCODE = 'RG4NT', MESSAGE = 'no member matches the filter';
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
