-- The audit log (issue 6) and the session fields that sign-in methods, TAPs
-- and recovery share (issues 5-7).
--
-- Audit events are append-only: no API updates or deletes them, and the
-- triggers below refuse it even to a statement that tries. Each area records
-- its events in the same statement as the change they describe (through
-- audit_append), so a change never lands without its event.
--
-- Event types are dotted lower-case names, the area first:
--   method.added, method.removed, method.used, method.counter_rollback,
--   tap.issued, tap.used, tap.failed, tap.locked, tap.revoked,
--   policy.changed, recovery.<state>.
-- Actors: 'user:<uuid>', 'admin:<client id>', 'cli', 'system', 'anonymous'.

CREATE TABLE audit_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- cursor order
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    type          text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' AND length(type) <= 64),
    actor         text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    subject_user  uuid,             -- no foreign key: events outlive the users they name
    client_addr   inet,
    user_agent    text CHECK (length(user_agent) <= 512),
    outcome       text NOT NULL CHECK (outcome IN ('success', 'failure')),
    reason        text CHECK (reason ~ '^[a-z][a-z0-9_]{0,63}$'),
    detail        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object')
);
CREATE INDEX audit_events_subject ON audit_events (subject_user, id) WHERE subject_user IS NOT NULL;
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE FUNCTION audit_events_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'RG403';
END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_immutable();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_immutable();

-- Records one event and returns its id. p_addr is a textual address (or
-- NULL; an unparsable one is kept in detail rather than failing the change);
-- p_user_agent is cut to 512 characters.
CREATE FUNCTION audit_append(p_type text, p_actor text, p_subject uuid, p_addr text, p_user_agent text,
                             p_outcome text, p_reason text, p_detail jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_addr inet;
    v_detail jsonb := coalesce(p_detail, '{}');
    v_id bigint;
BEGIN
    BEGIN
        v_addr := p_addr::inet;
    EXCEPTION WHEN invalid_text_representation THEN
        v_detail := v_detail || jsonb_build_object('client_addr_text', left(p_addr, 100));
    END;
    INSERT INTO audit_events (type, actor, subject_user, client_addr, user_agent, outcome, reason, detail)
    VALUES (p_type, p_actor, p_subject, v_addr, left(p_user_agent, 512), p_outcome, p_reason, v_detail)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

-- What a session may be used for. A session from a Temporary Access Pass is
-- 'register_method' until its holder registers a new sign-in method: until
-- then it opens only the account security page, never another relying party.
ALTER TABLE sessions
    ADD COLUMN purpose text NOT NULL DEFAULT 'full' CHECK (purpose IN ('full', 'register_method')),
    ADD COLUMN tap_id uuid,                 -- the TAP the session came from (issue 6)
    ADD COLUMN recovery_attempt_id uuid,    -- the recovery it came from (issue 7)
    ADD COLUMN verified_claims jsonb;       -- the verified identity attached by recovery (issue 7)

-- Called in the statement that stores a newly registered method: lifts a
-- 'register_method' session to 'full'. True when it did.
CREATE FUNCTION session_method_registered(p_session uuid) RETURNS boolean
LANGUAGE sql AS $$
    WITH up AS (
        UPDATE sessions SET purpose = 'full'
        WHERE id = p_session AND purpose = 'register_method' AND ended_at IS NULL AND expires_at > now()
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM up)
$$;
