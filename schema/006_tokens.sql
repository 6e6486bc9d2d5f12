-- Token endpoint state (issue 3, tokens area): grant families for codes, and
-- functions that make each token-endpoint decision one atomic round trip.
--
-- A grant family (family_id) is everything issued from one authorization
-- code: its refresh tokens (rotated ones included) and the access tokens that
-- carry the family id in their private `gid` claim. Revoking a family lists
-- it in revoked_grants, which bearer verification consults.

ALTER TABLE authorization_codes ADD COLUMN family_id uuid NOT NULL DEFAULT gen_random_uuid();

CREATE INDEX revoked_access_tokens_expires ON revoked_access_tokens (expires_at);

-- Revokes a grant family: its refresh tokens and (via revoked_grants) the
-- access tokens that name it. RFC 9700 §4.14.2, RFC 7009 §2.1.
CREATE FUNCTION regain_family_revoke(p_family uuid) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO revoked_grants (family_id) VALUES (p_family) ON CONFLICT DO NOTHING;
    UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = p_family AND revoked_at IS NULL;
$$;

-- The grant row both functions below return after o_status:
--   o_family_id, o_user_id, o_session_id, o_scope, o_nonce, o_claims (json
--   text), o_auth_time (epoch s), o_acr, o_amr (json text), then the user's
--   claims: o_user_name, o_display_name, o_given_name, o_family_name,
--   o_email, o_email_verified, o_updated_at (epoch s), and o_refresh (the
--   refresh token was stored); regain_code_redeem adds o_challenge, which the
--   caller compares again in constant time.

-- Redeems an authorization code (RFC 6749 §4.1.3) in one transaction:
-- one-time (the UPDATE ... WHERE used_at IS NULL is the lock: of two
-- concurrent redemptions exactly one gets the row), unexpired, bound to the
-- client, the redirect URI and the PKCE challenge (RFC 7636 §4.6; the caller
-- passes S256 of the verifier and checks again in constant time). A code
-- presented a second time revokes what was issued from it (RFC 6749 §4.1.2,
-- RFC 9700 §4.14). A failed redemption still uses the code up: a code that
-- reached the wrong hands is worth nothing afterwards.
-- p_refresh_hash (may be NULL) is stored as the family's first refresh token
-- when the grant includes offline_access.
CREATE FUNCTION regain_code_redeem(p_code_hash bytea, p_client_id text, p_redirect_uri text,
                                   p_challenge text, p_refresh_hash bytea, p_refresh_ttl_s integer)
RETURNS TABLE (o_status text, o_family_id uuid, o_user_id uuid, o_session_id uuid, o_scope text,
               o_nonce text, o_claims text, o_auth_time bigint, o_acr text, o_amr text,
               o_user_name text, o_display_name text, o_given_name text, o_family_name text,
               o_email text, o_email_verified boolean, o_updated_at bigint, o_refresh boolean,
               o_challenge text)
LANGUAGE plpgsql AS $$
DECLARE
    c authorization_codes%ROWTYPE;
    u users%ROWTYPE;
BEGIN
    UPDATE authorization_codes SET used_at = now()
     WHERE code_hash = p_code_hash AND used_at IS NULL
    RETURNING * INTO c;
    IF NOT FOUND THEN
        SELECT * INTO c FROM authorization_codes WHERE code_hash = p_code_hash;
        IF FOUND THEN
            PERFORM regain_family_revoke(c.family_id);
            o_status := 'replayed';
        ELSE
            o_status := 'unknown';
        END IF;
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT * INTO u FROM users WHERE id = c.user_id;
    IF c.expires_at <= now() THEN
        o_status := 'expired';
    ELSIF c.client_id <> p_client_id THEN
        o_status := 'wrong_client';
    ELSIF p_redirect_uri IS NULL OR c.redirect_uri <> p_redirect_uri THEN
        o_status := 'wrong_redirect_uri';
    ELSIF p_challenge IS NULL OR c.code_challenge <> p_challenge THEN
        o_status := 'wrong_verifier';
    ELSIF NOT FOUND OR NOT u.active THEN
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
        VALUES (p_refresh_hash, c.family_id, c.code_hash, c.client_id, c.user_id, c.session_id, c.scope,
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
    RETURN NEXT;
END
$$;

-- Rotates a refresh token (RFC 6749 §6, RFC 9700 §4.14.2): the presented
-- token is marked used and a new one of the same family, scope and client is
-- stored. Presenting a used token again is reuse: the whole family is revoked.
-- p_scope (may be NULL) narrows the access token's scope and must be a subset
-- of the grant's; the new refresh token keeps the grant's scope (§6).
CREATE FUNCTION regain_refresh_rotate(p_old bytea, p_client_id text, p_new bytea, p_scope text,
                                      p_ttl_s integer)
RETURNS TABLE (o_status text, o_family_id uuid, o_user_id uuid, o_session_id uuid, o_scope text,
               o_nonce text, o_claims text, o_auth_time bigint, o_acr text, o_amr text,
               o_user_name text, o_display_name text, o_given_name text, o_family_name text,
               o_email text, o_email_verified boolean, o_updated_at bigint, o_refresh boolean)
LANGUAGE plpgsql AS $$
DECLARE
    t refresh_tokens%ROWTYPE;
    u users%ROWTYPE;
BEGIN
    SELECT * INTO t FROM refresh_tokens WHERE token_hash = p_old FOR UPDATE;
    IF NOT FOUND THEN
        o_status := 'unknown';
    ELSIF t.client_id <> p_client_id THEN
        o_status := 'wrong_client';
    ELSIF t.revoked_at IS NOT NULL THEN
        o_status := 'revoked';
    ELSIF t.used_at IS NOT NULL THEN
        PERFORM regain_family_revoke(t.family_id);
        o_status := 'reused';
    ELSIF t.expires_at <= now() THEN
        o_status := 'expired';
    ELSIF p_scope IS NOT NULL AND NOT (string_to_array(p_scope, ' ') <@ string_to_array(t.scope, ' ')) THEN
        o_status := 'invalid_scope';
    ELSE
        SELECT * INTO u FROM users WHERE id = t.user_id;
        IF NOT FOUND OR NOT u.active THEN
            o_status := 'inactive_user';
        ELSE
            o_status := 'ok';
        END IF;
    END IF;
    IF o_status <> 'ok' THEN
        RETURN NEXT;
        RETURN;
    END IF;
    UPDATE refresh_tokens SET used_at = now() WHERE token_hash = p_old;
    INSERT INTO refresh_tokens (token_hash, family_id, code_hash, client_id, user_id, session_id, scope,
                                claims, auth_time, acr, amr, expires_at)
    VALUES (p_new, t.family_id, t.code_hash, t.client_id, t.user_id, t.session_id, t.scope, t.claims,
            t.auth_time, t.acr, t.amr, now() + make_interval(secs => p_ttl_s));
    o_refresh := true;
    o_family_id := t.family_id;
    o_user_id := t.user_id;
    o_session_id := t.session_id;
    o_scope := coalesce(p_scope, t.scope);
    o_nonce := NULL; -- OIDC Core §12.2: no nonce in a refreshed ID token's request
    o_claims := t.claims::text;
    o_auth_time := extract(epoch FROM t.auth_time)::bigint;
    o_acr := t.acr;
    o_amr := to_json(t.amr)::text;
    o_user_name := u.user_name;
    o_display_name := u.display_name;
    o_given_name := u.given_name;
    o_family_name := u.family_name;
    o_email := u.email;
    o_email_verified := u.email_verified;
    o_updated_at := extract(epoch FROM u.updated_at)::bigint;
    RETURN NEXT;
END
$$;

-- RFC 7009 §2.1: revokes a refresh token and its family, but only for the
-- client it was issued to. Returns 'revoked', 'wrong_client' or 'unknown'.
CREATE FUNCTION regain_refresh_revoke(p_hash bytea, p_client_id text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    t refresh_tokens%ROWTYPE;
BEGIN
    SELECT * INTO t FROM refresh_tokens WHERE token_hash = p_hash;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;
    IF t.client_id <> p_client_id THEN
        RETURN 'wrong_client';
    END IF;
    PERFORM regain_family_revoke(t.family_id);
    RETURN 'revoked';
END
$$;
