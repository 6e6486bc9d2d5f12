-- Less work per sign-in for PostgreSQL, with the same answers.
--
-- A password sign-in runs beside an Argon2id hash that fills the caches, so
-- every call into PL/pgSQL and every subtransaction it opens costs several
-- times what it costs on an idle server (make bench, complete flows). Three
-- of them ran on every sign-in without changing anything:
--
--   * client_addr_key() opened a subtransaction (its EXCEPTION block) on every
--     call, twice per sign-in, for an address regain itself formatted;
--   * audit_append() did the same to parse the address of every event;
--   * the BEFORE INSERT trigger of sessions called PL/pgSQL for every new
--     session, though only a session from a recovery has anything to copy.
--
-- A dotted-quad IPv4 address whose octets are 0-255 without leading zeros
-- (inet_ntop's form) always parses as inet and is its own key, so both
-- functions take it without a subtransaction; anything else goes the old way.

-- The key of an address (as schema/016 defines it), now inlinable SQL: an
-- IPv4 address is its own key; everything else goes to the PL/pgSQL body,
-- unchanged. Same results for every input, so the expression index on
-- recovery_attempts (schema/031) stays valid.
ALTER FUNCTION client_addr_key(text) RENAME TO client_addr_key_parse;

CREATE FUNCTION client_addr_key(p_addr text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_addr ~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$'
                THEN p_addr ELSE client_addr_key_parse(p_addr) END
$$;

-- The index was built on the old function; it now names the renamed one,
-- which gives the same key, so queries that call client_addr_key() must
-- find an index on the new one: rebuild it (recovery attempts are few).
DROP INDEX recovery_attempts_addr_key;
CREATE INDEX recovery_attempts_addr_key ON recovery_attempts (client_addr_key(client_addr), created_at);

CREATE OR REPLACE FUNCTION audit_append(p_type text, p_actor text, p_subject uuid, p_addr text,
                                        p_user_agent text, p_outcome text, p_reason text,
                                        p_detail jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_addr inet;
    v_detail jsonb := coalesce(p_detail, '{}');
    v_id bigint;
BEGIN
    IF p_addr IS NULL
       OR p_addr ~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$' THEN
        v_addr := p_addr::inet;
    ELSE
        BEGIN
            v_addr := p_addr::inet;
        EXCEPTION WHEN invalid_text_representation THEN
            v_detail := v_detail || jsonb_build_object('client_addr_text', left(p_addr, 100));
        END;
    END IF;
    INSERT INTO audit_events (type, actor, subject_user, client_addr, user_agent, outcome, reason, detail)
    VALUES (p_type, p_actor, p_subject, v_addr, left(p_user_agent, 512), p_outcome, p_reason, v_detail)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

DROP TRIGGER sessions_recovery_claims ON sessions;
CREATE TRIGGER sessions_recovery_claims BEFORE INSERT ON sessions
    FOR EACH ROW WHEN (NEW.recovery_attempt_id IS NOT NULL) EXECUTE FUNCTION recovery_session_claims();
