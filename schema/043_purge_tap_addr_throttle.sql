-- `regain purge` also removes a TAP sign-in's address counters
-- ('tap-addr:' || client_addr_key(addr), tap_redeem in schema/031) whose
-- window has passed and that are not locked, as it removes the 'user:' and
-- 'addr:' ones.
--
-- schema/033 kept them, as though they had a window of their own, but
-- oidc/tap_signin.c gives tap_redeem the same oidc.throttle_window_s and
-- throttle_lockout_s as every other counter, and tap_redeem starts a fresh
-- window on the next failure once the window has passed or a lock has ended:
-- such a row holds nothing, and every address that ever typed a wrong TAP
-- stayed a row for ever. The sign-in path's clean-up (OIDC_THROTTLE_GC,
-- oidc/signin_internal.h) takes them too, under the same condition.
--
-- regain_purge is restated whole; only the pattern of the login_throttle
-- keys changed.

CREATE OR REPLACE FUNCTION regain_purge(p_batch integer)
RETURNS TABLE (o_kind text, o_rows integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_day constant interval := interval '86400 seconds';
BEGIN
    o_kind := 'authorization_requests';
    DELETE FROM authorization_requests WHERE id IN (
        SELECT id FROM authorization_requests WHERE expires_at < now() LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;

    o_kind := 'webauthn_challenges';
    DELETE FROM webauthn_challenges WHERE challenge IN (
        SELECT challenge FROM webauthn_challenges WHERE expires_at < now() LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;

    o_kind := 'signin_pending';
    DELETE FROM signin_pending WHERE token_hash IN (
        SELECT token_hash FROM signin_pending WHERE expires_at < now() LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;

    o_kind := 'client_assertion_jtis';
    DELETE FROM client_assertion_jtis WHERE (client_id, jti) IN (
        SELECT client_id, jti FROM client_assertion_jtis WHERE expires_at < now() LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;

    o_kind := 'revoked_access_tokens';
    DELETE FROM revoked_access_tokens WHERE jti IN (
        SELECT jti FROM revoked_access_tokens WHERE expires_at < now() LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;

    o_kind := 'refresh_tokens';
    DELETE FROM refresh_tokens WHERE token_hash IN (
        SELECT token_hash FROM refresh_tokens WHERE expires_at < now() - v_day LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;

    o_kind := 'authorization_codes';
    DELETE FROM authorization_codes WHERE code_hash IN (
        SELECT c.code_hash FROM authorization_codes c
         WHERE c.expires_at < now() - v_day
           AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = c.family_id)
         LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;

    o_kind := 'revoked_grants';
    DELETE FROM revoked_grants WHERE family_id IN (
        SELECT g.family_id FROM revoked_grants g
         WHERE g.revoked_at < now() - v_day
           AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = g.family_id)
         LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;

    o_kind := 'sessions';
    DELETE FROM sessions WHERE id IN (
        SELECT s.id FROM sessions s
         WHERE least(s.ended_at, s.expires_at) < now() - v_day
           AND NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.session_id = s.id)
           AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)
         LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;

    o_kind := 'login_throttle';
    DELETE FROM login_throttle WHERE key IN (
        SELECT t.key FROM login_throttle t
         WHERE t.key ~ '^(user|addr|tap-addr):'
           AND t.window_start < now() - v_day
           AND (t.locked_until IS NULL OR t.locked_until <= now())
         LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;
END
$$;
