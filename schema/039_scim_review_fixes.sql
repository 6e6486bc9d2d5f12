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
