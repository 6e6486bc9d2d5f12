-- The code exchange of a client that may not receive refresh tokens, as one
-- statement (oidc/token_db.c, OIDC_STMT_CODE_TAKE) instead of a call of
-- regain_code_exchange (017).
--
-- Why: PostgreSQL builds executor state for every statement it runs, every
-- time. regain_code_exchange runs three (the outer SELECT over a function
-- returning 22 columns, whose result row type is rebuilt from pg_proc on
-- each call, then the UPDATE and the users/sessions SELECT inside PL/pgSQL)
-- plus 22 PL/pgSQL assignments; the backend spent about 362,000 instructions
-- per exchange (callgrind, pgbench -M prepared). A top-level UPDATE ...
-- FROM users ... RETURNING that computes the same status does the same work
-- in about 264,000.
--
-- What stays with regain_code_exchange: a client allowed the refresh_token
-- grant, whose first refresh token must be stored in the same transaction
-- as the code is taken (a replay that revokes the family in between must not
-- miss it).
--
-- Same decisions as 017: one-time (the UPDATE ... WHERE used_at IS NULL is
-- the lock), a failed redemption still uses the code up, the status checks
-- in the same order. Two cases need a second statement, both rare:
--   * the UPDATE takes no row: regain_code_replayed below revokes the grant
--     family when the code exists and was used (RFC 6749 §4.1.2, RFC 9700
--     §4.14); used_at is never cleared, so this needs no common transaction
--     with the UPDATE;
--   * the session came from a TAP or a recovery: regain_session_extras (017)
--     reads the TAP's expiry, the verified claims and the provider's result,
--     which do not change once the session exists.

-- 'replayed' (and the family revoked) for a code that exists and was used,
-- 'unknown' for anything else.
CREATE FUNCTION regain_code_replayed(p_code_hash bytea) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_family uuid;
BEGIN
    SELECT family_id INTO v_family FROM authorization_codes
     WHERE code_hash = p_code_hash AND used_at IS NOT NULL;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;
    PERFORM regain_family_revoke(v_family);
    RETURN 'replayed';
END
$$;
