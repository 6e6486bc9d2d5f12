-- The token endpoint's per-session lookups in PL/pgSQL, same results.
--
-- tap_session_cap (010) and recovery_session_verified_claims (011) run in
-- every code exchange and refresh (oidc/token_db.c). As LANGUAGE sql
-- functions with a FROM clause they cannot be inlined, and PostgreSQL parses
-- and plans their query again on every call: the two took 40% of
-- PostgreSQL's time per code exchange (0.33-0.48 ms per pair against
-- 0.06-0.07 ms here, pgbench, prepared). PL/pgSQL keeps each function's plan
-- for the life of the connection. Whoever changes what these return changes
-- it here (this file is applied after 010 and 011).
CREATE OR REPLACE FUNCTION tap_session_cap(p_session uuid) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT floor(extract(epoch FROM t.expires_at))::bigint
              FROM sessions s JOIN taps t ON t.id = s.tap_id WHERE s.id = p_session);
END
$$;

CREATE OR REPLACE FUNCTION recovery_session_verified_claims(p_session uuid) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT verified_claims::text FROM sessions WHERE id = p_session);
END
$$;
