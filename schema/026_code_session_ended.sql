-- A code is refused once the session it was issued from has ended.
--
-- Until now the exchange looked at the code and the user only: a code
-- issued a moment before its session ended could still be exchanged for
-- fresh tokens within the code's lifetime. Sessions end when the person
-- signs out (RP-initiated logout), when a verified recovery ends every other
-- session of the account (afterRecovery.endSessions, 011), and when an
-- administrator revokes a TAP that a session came from (010). In each case
-- the grant must die with the session: after a recovery, a code an attacker
-- obtained from his own session would otherwise still buy a new token family
-- that the recovery's revocation of refresh tokens never saw.
--
-- The status is 'session_ended'; the token endpoint answers invalid_grant
-- with the same public message as for an unknown or expired code. The code
-- is used up, as for every failed redemption. regain_code_exchange (017)
-- gains the check here; the one-statement exchange of clients without the
-- refresh_token grant (oidc/token_db.c, OIDC_STMT_CODE_TAKE) makes the same
-- check in its status.

CREATE OR REPLACE FUNCTION regain_code_exchange(p_code_hash bytea, p_client_id text, p_redirect_uri text,
                                     p_challenge text, p_refresh_hash bytea, p_refresh_ttl_s integer)
RETURNS TABLE (o_status text, o_family_id uuid, o_user_id uuid, o_session_id uuid, o_scope text,
               o_nonce text, o_claims text, o_auth_time bigint, o_acr text, o_amr text,
               o_user_name text, o_display_name text, o_given_name text, o_family_name text,
               o_email text, o_email_verified boolean, o_updated_at bigint, o_refresh boolean,
               o_challenge text, o_tap_cap bigint, o_verified_claims text, o_provider_result text)
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    u record;
    v_found boolean;
BEGIN
    UPDATE authorization_codes SET used_at = now()
     WHERE code_hash = p_code_hash AND used_at IS NULL
    RETURNING client_id, redirect_uri, code_challenge, expires_at, family_id, user_id, session_id, scope,
              nonce, claims, auth_time, acr, amr
         INTO c;
    IF NOT FOUND THEN
        SELECT family_id INTO c FROM authorization_codes WHERE code_hash = p_code_hash;
        IF FOUND THEN
            PERFORM regain_family_revoke(c.family_id);
            o_status := 'replayed';
        ELSE
            o_status := 'unknown';
        END IF;
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT x.active, x.user_name, x.display_name, x.given_name, x.family_name, x.email, x.email_verified,
           x.updated_at, s.tap_id, s.recovery_attempt_id, s.verified_claims, s.ended_at
      INTO u
      FROM users x
      LEFT JOIN sessions s ON s.id = c.session_id
     WHERE x.id = c.user_id;
    v_found := FOUND;
    IF c.expires_at <= now() THEN
        o_status := 'expired';
    ELSIF c.client_id <> p_client_id THEN
        o_status := 'wrong_client';
    ELSIF p_redirect_uri IS NULL OR c.redirect_uri <> p_redirect_uri THEN
        o_status := 'wrong_redirect_uri';
    ELSIF p_challenge IS NULL OR c.code_challenge <> p_challenge THEN
        o_status := 'wrong_verifier';
    ELSIF NOT v_found OR NOT u.active THEN
        o_status := 'inactive_user';
    ELSIF u.ended_at IS NOT NULL THEN
        o_status := 'session_ended';
    ELSE
        o_status := 'ok';
    END IF;
    IF o_status <> 'ok' THEN
        RETURN NEXT;
        RETURN;
    END IF;
    o_refresh := false;
    IF p_refresh_hash IS NOT NULL AND 'offline_access' = ANY (string_to_array(c.scope, ' ')) THEN
        INSERT INTO refresh_tokens (token_hash, family_id, code_hash, client_id, user_id, session_id, scope,
                                    claims, auth_time, acr, amr, expires_at)
        VALUES (p_refresh_hash, c.family_id, p_code_hash, c.client_id, c.user_id, c.session_id, c.scope,
                c.claims, c.auth_time, c.acr, c.amr, now() + make_interval(secs => p_refresh_ttl_s));
        o_refresh := true;
    END IF;
    o_challenge := c.code_challenge;
    o_family_id := c.family_id;
    o_user_id := c.user_id;
    o_session_id := c.session_id;
    o_scope := c.scope;
    o_nonce := c.nonce;
    o_claims := c.claims::text;
    o_auth_time := extract(epoch FROM c.auth_time)::bigint;
    o_acr := c.acr;
    o_amr := to_json(c.amr)::text;
    o_user_name := u.user_name;
    o_display_name := u.display_name;
    o_given_name := u.given_name;
    o_family_name := u.family_name;
    o_email := u.email;
    o_email_verified := u.email_verified;
    o_updated_at := extract(epoch FROM u.updated_at)::bigint;
    -- tap_session_cap (010, 015) and recovery_session_* (011, 015) say what
    -- these mean. Most sessions have neither a TAP nor a recovery behind
    -- them: each lookup runs only when there is something to find (a join
    -- of all four tables cost more to set up than it took to run).
    IF u.tap_id IS NOT NULL THEN
        SELECT floor(extract(epoch FROM t.expires_at))::bigint INTO o_tap_cap FROM taps t WHERE t.id = u.tap_id;
    END IF;
    IF u.recovery_attempt_id IS NOT NULL THEN
        SELECT a.provider_result INTO o_provider_result FROM recovery_attempts a WHERE a.id = u.recovery_attempt_id;
    END IF;
    o_verified_claims := u.verified_claims::text;
    RETURN NEXT;
END
$$;
