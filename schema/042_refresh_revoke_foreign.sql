-- Revoking another client's refresh token is refused (RFC 7009 §2.1: the
-- server "verifies whether the token was issued to the client making the
-- revocation request. If this validation fails, the request is refused and
-- the client is informed of the error"); oidc/revoke.c answers
-- 'wrong_client' with invalid_grant. A token that is no longer live (used,
-- revoked or expired) is an invalid token, which §2.2 answers with 200
-- whoever presents it, so only a live one is reported as another client's.
CREATE OR REPLACE FUNCTION regain_refresh_revoke(p_hash bytea, p_client_id text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    t refresh_tokens%ROWTYPE;
BEGIN
    SELECT * INTO t FROM refresh_tokens WHERE token_hash = p_hash;
    IF NOT FOUND THEN
        RETURN 'unknown';
    END IF;
    IF t.client_id <> p_client_id THEN
        IF t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now() THEN
            RETURN 'wrong_client';
        END IF;
        RETURN 'invalid';
    END IF;
    PERFORM regain_family_revoke(t.family_id);
    RETURN 'revoked';
END
$$;
