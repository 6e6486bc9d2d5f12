-- Rows that nothing can use any more, removed by `regain purge` (oidc/cli_purge.c).
--
-- Every sign-in, code, token and challenge leaves a row, and until now
-- nothing removed them: the tables of a deployment grew for ever. What goes
-- is only what can no longer change an answer:
--
--   * short-lived rows past their expiry, which every reader refuses anyway
--     (pending authorization requests, passkey challenges, second-step
--     sign-ins, private_key_jwt jti records, revoked access tokens);
--   * refresh tokens a day past their expiry (used, revoked or not: an
--     expired one is refused before its history is looked at);
--   * authorization codes a day past their expiry whose grant family has no
--     refresh token left: a day is the longest an access token lives
--     (oidc.access_token_ttl_s <= 86,400 s), so no live token of the family
--     is left for a replay to revoke or for /userinfo to look the code up;
--   * revoked grant families revoked a day ago with no refresh token left
--     (no access token of theirs lives, and no new one can be issued);
--   * sessions ended or expired a day ago that no code or refresh token
--     names (a refresh token's session decides whether it still works);
--   * sign-in counters whose window has passed and that are not locked
--     (the next attempt would reset them).
--
-- Recovery attempts, TAPs and audit events are history and stay. Each call
-- removes at most p_batch rows per kind, in its own short transaction, so a
-- large backlog never holds locks for long; the command calls it until
-- nothing is left.

CREATE FUNCTION regain_purge(p_batch integer)
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
         WHERE t.key ~ '^(user|addr):'
           AND t.window_start < now() - v_day
           AND (t.locked_until IS NULL OR t.locked_until <= now())
         LIMIT p_batch);
    GET DIAGNOSTICS o_rows = ROW_COUNT;
    RETURN NEXT;
END
$$;

-- The look-ups above by session and by expiry, which the tables had no
-- index for (codes and refresh tokens are found by hash, sessions by token).
CREATE INDEX authorization_codes_session ON authorization_codes (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id) WHERE session_id IS NOT NULL;
