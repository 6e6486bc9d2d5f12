-- The authorization code exchange in one PL/pgSQL function (issue 3's
-- benchmark target: >= 10,000 exchanges per second on two shared cores).
--
-- Until now the token endpoint ran
--   SELECT ..., tap_session_cap(s), recovery_session_verified_claims(s),
--          recovery_session_provider_result(s) FROM regain_code_redeem(...)
-- which is five statements inside PostgreSQL per exchange (the code UPDATE,
-- the users SELECT, one per lookup function), and the last lookup is a
-- LANGUAGE sql function that PostgreSQL parses and plans again on every call
-- (perf: fmgr_sql was a third of the backend's CPU per exchange).
-- regain_code_exchange makes the same decisions with the same results in two
-- statements whose plans PL/pgSQL keeps for the life of the connection: the
-- UPDATE that takes the code (RETURNING only the columns used), and one
-- SELECT of the user and the session; a session that came from a TAP or a
-- recovery adds one lookup each (the TAP's expiry, the provider's signed
-- result).
--
-- Semantics are regain_code_redeem's (006): one-time (the UPDATE ... WHERE
-- used_at IS NULL is the lock: of two concurrent redemptions exactly one
-- gets the row); a code presented again revokes its grant family (RFC 6749
-- §4.1.2, RFC 9700 §4.14); a failed redemption still uses the code up;
-- bound to client, redirect URI and the PKCE challenge (the caller checks
-- the challenge again in constant time); the first refresh token is stored
-- when the grant has offline_access. regain_code_redeem stays for callers
-- that only need the grant.

-- Codes are updated once (used_at) shortly after their insert. With free
-- space left in each page the update stays on the page (a HOT update) and
-- adds no entries to the table's two indexes; at the default fill factor a
-- full page sends the new row version elsewhere and both indexes grow.
ALTER TABLE authorization_codes SET (fillfactor = 80);

CREATE FUNCTION regain_code_exchange(p_code_hash bytea, p_client_id text, p_redirect_uri text,
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
           x.updated_at, s.tap_id, s.recovery_attempt_id, s.verified_claims
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

-- What a session adds to every token issued from it, in one PL/pgSQL query
-- whose plan is kept: the expiry of the TAP it came from (epoch s; no token
-- of a TAP session outlives the TAP, 010) and, for a session that verified
-- recovery opened, the verified identity and the provider's signed result
-- (011). The same as tap_session_cap, recovery_session_verified_claims and
-- recovery_session_provider_result together; the refresh grant used to call
-- the three, and the last, a LANGUAGE sql function with a join, is parsed
-- and planned again on every call.
CREATE FUNCTION regain_session_extras(p_session uuid)
RETURNS TABLE (o_tap_cap bigint, o_verified_claims text, o_provider_result text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT floor(extract(epoch FROM t.expires_at))::bigint, s.verified_claims::text, a.provider_result
      FROM sessions s
      LEFT JOIN taps t ON t.id = s.tap_id
      LEFT JOIN recovery_attempts a ON a.id = s.recovery_attempt_id
     WHERE s.id = p_session;
END
$$;
