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

-- The key of an address, as schema/016 defines it, with the fast path first.
-- Same results for every input, so the expression index on recovery_attempts
-- (schema/031) stays valid. The body calls only built-in functions: the
-- index evaluates it, and a restore (pg_restore runs with an empty
-- search_path) would not find a function of ours named without a schema.
CREATE OR REPLACE FUNCTION client_addr_key(p_addr text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v inet;
BEGIN
    IF p_addr ~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$' THEN
        RETURN p_addr;
    END IF;
    IF p_addr IS NULL OR p_addr = '' THEN
        RETURN '';
    END IF;
    IF p_addr ~* '^::ffff:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' THEN
        RETURN substr(p_addr, 8);
    END IF;
    BEGIN
        v := p_addr::inet;
    EXCEPTION WHEN invalid_text_representation THEN
        RETURN left(p_addr, 100);
    END;
    IF family(v) = 6 THEN
        RETURN host(network(set_masklen(v, 64))) || '/64';
    END IF;
    RETURN host(v);
END $$;

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
