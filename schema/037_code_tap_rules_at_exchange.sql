-- The TAP rules of authorization codes are checked when a code is
-- exchanged, no longer when it is stored.
--
-- 010 gave authorization_codes a BEFORE INSERT trigger (tap_grant_guard): no
-- code for a session still waiting for its holder to register a method
-- (purpose 'register_method'), and no code outliving the TAP its session
-- came from. It ran for every code, though almost none comes from a TAP: a
-- password sign-in paid a PL/pgSQL call and a look-up of the session its own
-- statement had just opened, about 0.08 ms of PostgreSQL's CPU per sign-in
-- (make bench, complete flows; six runs with and without the trigger,
-- alternating, measured against the hash's CPU in the same run).
--
-- A code is worth nothing until it is exchanged, and every exchange already
-- reads the code's session (026). Both rules now live there, for every code
-- whatever path stored it:
--   * the code of a waiting session is refused ('session_waiting'; the token
--     endpoint answers invalid_grant with the message of an unknown code);
--   * the code of a session whose TAP has expired is refused as 'expired',
--     the status the trigger's shortened expiry used to give it.
-- Here for clients allowed refresh tokens (regain_code_exchange, so the
-- refresh token is never stored for such a code), and in OIDC_STMT_CODE_TAKE
-- (oidc/token_db.c) for the others, where a TAP's expiry already refuses the
-- grant before anything is signed (oidc/token.c). Refresh tokens keep the
-- trigger: the exchange stores them itself, in the same transaction.

DROP TRIGGER authorization_codes_tap_guard ON authorization_codes;

-- The guard of refresh tokens alone: one expires with the TAP its session
-- came from. (A waiting session gets no refresh token: its code is refused
-- before one is stored.)
CREATE OR REPLACE FUNCTION tap_grant_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_tap_expires timestamptz;
BEGIN
    IF NEW.session_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT t.expires_at INTO v_tap_expires
    FROM sessions s JOIN taps t ON t.id = s.tap_id WHERE s.id = NEW.session_id;
    IF v_tap_expires IS NOT NULL AND NEW.expires_at > v_tap_expires THEN
        NEW.expires_at := v_tap_expires;
    END IF;
    RETURN NEW;
END $$;

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
    v_tap_expires timestamptz;
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
           x.updated_at, s.tap_id, s.recovery_attempt_id, s.verified_claims, s.ended_at, s.purpose
      INTO u
      FROM users x
      LEFT JOIN sessions s ON s.id = c.session_id
     WHERE x.id = c.user_id;
    v_found := FOUND;
    IF v_found AND u.tap_id IS NOT NULL THEN
        SELECT t.expires_at INTO v_tap_expires FROM taps t WHERE t.id = u.tap_id;
        o_tap_cap := floor(extract(epoch FROM v_tap_expires))::bigint;
    END IF;
    IF c.expires_at <= now() OR v_tap_expires <= now() THEN
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
    ELSIF u.purpose = 'register_method' THEN
        o_status := 'session_waiting';
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
    -- recovery_session_* (011, 015) says what this means. Most sessions have
    -- no recovery behind them: the lookup runs only when there is something
    -- to find (a join of all four tables cost more to set up than it took
    -- to run), as the TAP's above.
    IF u.recovery_attempt_id IS NOT NULL THEN
        SELECT a.provider_result INTO o_provider_result FROM recovery_attempts a WHERE a.id = u.recovery_attempt_id;
    END IF;
    o_verified_claims := u.verified_claims::text;
    RETURN NEXT;
END
$$;
