-- "Revoke the user's grants" reaches every access token that may still be
-- live, not only those of grants that came with a refresh token.
--
-- Three places revoke all of a user's grants: the end of a verified recovery
-- (afterRecovery.endSessions, 011), SCIM deactivation (scim_user_sign_out,
-- 007) and SCIM deletion (scim_user_delete, 007). Each listed in
-- revoked_grants the families of the user's refresh tokens only. An access
-- token names its grant family (gid), and a code exchange without
-- offline_access stores no refresh token: its family was never listed, so
-- after a recovery the access tokens of such grants (an attacker's, from
-- before the recovery) still passed /userinfo and /introspect until they
-- expired (oidc.access_token_ttl_s: 600 s by default, up to 86,400 s).
--
-- regain_user_grants_revoke lists both kinds of family: those of the user's
-- live refresh tokens, and those of the user's codes redeemed within the
-- last 86,400 s, the longest access-token lifetime the configuration allows
-- (an older code has no live access token left). It revokes the refresh
-- tokens as before and returns how many, which recovery.completed reports.

CREATE FUNCTION regain_user_grants_revoke(p_user uuid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_tokens integer;
BEGIN
    INSERT INTO revoked_grants (family_id)
        SELECT family_id FROM refresh_tokens WHERE user_id = p_user AND revoked_at IS NULL
        UNION
        SELECT family_id FROM authorization_codes
         WHERE user_id = p_user AND used_at > now() - interval '86400 seconds'
        ON CONFLICT DO NOTHING;
    UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = p_user AND revoked_at IS NULL;
    GET DIAGNOSTICS v_tokens = ROW_COUNT;
    RETURN v_tokens;
END
$$;

CREATE OR REPLACE FUNCTION scim_user_sign_out(p_id uuid) RETURNS void
LANGUAGE sql AS $$
    UPDATE sessions SET ended_at = now() WHERE user_id = p_id AND ended_at IS NULL;
    SELECT regain_user_grants_revoke(p_id);
$$;

-- The grants are revoked before the row goes: its codes and refresh tokens
-- cascade away with it.
CREATE OR REPLACE FUNCTION scim_user_delete(p_id uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM regain_user_grants_revoke(p_id);
    DELETE FROM users WHERE id = p_id;
    RETURN FOUND;
END
$$;

-- As in 011, with the revocation above.
CREATE OR REPLACE FUNCTION recovery_after_registration() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    a recovery_attempts%ROWTYPE;
    v_sessions integer := 0;
    v_tokens integer := 0;
    v_methods integer := 0;
BEGIN
    IF NEW.recovery_attempt_id IS NULL OR OLD.purpose <> 'register_method' OR NEW.purpose <> 'full' THEN
        RETURN NULL;
    END IF;
    UPDATE recovery_attempts SET completed_at = now(), updated_at = now()
    WHERE id = NEW.recovery_attempt_id AND completed_at IS NULL AND state = 'tap_issued'
    RETURNING * INTO a;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF a.end_sessions THEN
        UPDATE sessions SET ended_at = now()
        WHERE user_id = NEW.user_id AND id <> NEW.id AND ended_at IS NULL;
        GET DIAGNOSTICS v_sessions = ROW_COUNT;
        v_tokens := regain_user_grants_revoke(NEW.user_id);
    END IF;
    -- afterRecovery.removeOldMethods: the passkeys and authenticator apps
    -- registered before this recovery session began are the lost ones (the
    -- new method was registered during it), each with its method.removed.
    IF a.remove_methods THEN
        WITH gone AS (
            DELETE FROM webauthn_credentials WHERE user_id = NEW.user_id AND created_at < NEW.created_at
            RETURNING id, 'passkey'::text AS kind
        ), gone_totp AS (
            DELETE FROM totp_authenticators WHERE user_id = NEW.user_id AND created_at < NEW.created_at
            RETURNING id, 'totp'::text AS kind
        )
        SELECT count(audit_append('method.removed', 'system', NEW.user_id, NULL, NULL, 'success', 'recovery',
                                  jsonb_build_object('methodId', g.id, 'kind', g.kind, 'attemptId', a.id)))
        INTO v_methods
        FROM (SELECT * FROM gone UNION ALL SELECT * FROM gone_totp) g;
    END IF;
    PERFORM audit_append('recovery.completed', 'user:' || NEW.user_id, NEW.user_id, NULL, NULL, 'success', NULL,
                         jsonb_build_object('attemptId', a.id, 'sessionsEnded', v_sessions,
                                            'refreshTokensRevoked', v_tokens,
                                            'removeOldMethods', a.remove_methods, 'methodsRemoved', v_methods));
    RETURN NULL;
END $$;
