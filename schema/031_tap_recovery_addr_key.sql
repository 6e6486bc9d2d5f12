-- The per-address limits of TAP sign-in and of recovery starts count a
-- client the way the passkey challenge limit does (schema/016,
-- client_addr_key): an IPv4 address as itself (also IPv4-mapped), an IPv6
-- address by its /64, which one customer usually holds whole. Before, both
-- counted the exact address text, so a client with a /64 could rotate
-- through 2^64 addresses and never meet the address lockout of wrong TAPs
-- (tap_redeem) or the recovery policy's rateLimits.perAddress
-- (recovery_start). The functions are otherwise unchanged.

CREATE OR REPLACE FUNCTION tap_redeem(p_hash bytea, p_username text, p_addr text, p_user_agent text,
                           p_session_hash bytea, p_session_ttl_s integer, p_once_ttl_s integer,
                           p_window_s integer, p_addr_max integer, p_lockout_s integer)
RETURNS TABLE (o_status text, o_session_id uuid, o_user_id uuid, o_tap_id uuid, o_session_ttl_s integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := 'tap-addr:' || client_addr_key(p_addr);
    v_policy jsonb := (SELECT document FROM policy_current('temporaryAccessPass'));
    v_max integer := coalesce((v_policy->>'maxFailedAttempts')::integer, 5);
    v_tap taps%ROWTYPE;
    v_user uuid;
    v_status text;
    v_expires timestamptz;
    v_session uuid;
    v_failures integer;
    v_locked boolean;
BEGIN
    IF EXISTS (SELECT 1 FROM login_throttle WHERE key = v_key AND locked_until > now()) THEN
        PERFORM audit_append('tap.failed', 'anonymous', NULL, p_addr, p_user_agent, 'failure', 'throttled');
        RETURN QUERY SELECT 'throttled'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::integer;
        RETURN;
    END IF;

    UPDATE taps t SET used_at = coalesce(t.used_at, now()), use_count = t.use_count + 1
    WHERE t.secret_hash = p_hash AND tap_unusable_reason(t, v_policy->>'state' = 'enabled') IS NULL
      AND (NOT t.is_usable_once OR t.used_at IS NULL)
      AND EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id AND u.active)
    RETURNING * INTO v_tap;

    IF v_tap.id IS NOT NULL THEN
        v_expires := least(now() + p_session_ttl_s * interval '1 second', v_tap.expires_at,
                           CASE WHEN v_tap.is_usable_once THEN now() + p_once_ttl_s * interval '1 second' END);
        INSERT INTO sessions (token_hash, user_id, auth_time, amr, acr, expires_at, purpose, tap_id,
                              recovery_attempt_id)
        VALUES (p_session_hash, v_tap.user_id, now(), '{tap}', coalesce(v_tap.acr, 'urn:regain:acr:tap'),
                v_expires, 'register_method', v_tap.id, v_tap.recovery_attempt_id)
        RETURNING id INTO v_session;
        UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE key = v_key;
        PERFORM audit_append('tap.used', 'user:' || v_tap.user_id, v_tap.user_id, p_addr, p_user_agent,
                             'success', NULL,
                             jsonb_build_object('tapId', v_tap.id, 'sessionId', v_session,
                                                'useCount', v_tap.use_count));
        RETURN QUERY SELECT 'ok'::text, v_session, v_tap.user_id, v_tap.id,
                            ceil(extract(epoch FROM v_expires - now()))::integer;
        RETURN;
    END IF;

    SELECT * INTO v_tap FROM taps t WHERE t.secret_hash = p_hash;
    IF v_tap.id IS NOT NULL THEN
        v_status := CASE tap_unusable_reason(v_tap, v_policy->>'state' = 'enabled')
            WHEN 'Revoked' THEN 'revoked' WHEN 'DisabledByPolicy' THEN 'disabled' WHEN 'Locked' THEN 'locked'
            WHEN 'OneTimeUsed' THEN 'used' WHEN 'Expired' THEN 'expired' WHEN 'NotYetValid' THEN 'not_yet_valid'
            ELSE 'inactive_user' END;
        PERFORM audit_append('tap.failed', 'anonymous', v_tap.user_id, p_addr, p_user_agent, 'failure',
                             v_status, jsonb_build_object('tapId', v_tap.id));
        RETURN QUERY SELECT v_status, NULL::uuid, v_tap.user_id, v_tap.id, NULL::integer;
        RETURN;
    END IF;

    -- A guess: count it against the address...
    INSERT INTO login_throttle AS t (key, failures, window_start) VALUES (v_key, 1, now())
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN t.window_start <= now() - p_window_s * interval '1 second' OR t.locked_until IS NOT NULL
                        THEN 1 ELSE t.failures + 1 END,
        window_start = CASE WHEN t.window_start <= now() - p_window_s * interval '1 second' OR t.locked_until IS NOT NULL
                            THEN now() ELSE t.window_start END,
        locked_until = CASE WHEN t.window_start > now() - p_window_s * interval '1 second' AND t.locked_until IS NULL
                             AND t.failures + 1 >= p_addr_max
                            THEN now() + p_lockout_s * interval '1 second' ELSE NULL END
    RETURNING t.locked_until IS NOT NULL INTO v_locked;
    IF v_locked THEN
        PERFORM audit_append('tap.address_locked', 'system', NULL, p_addr, p_user_agent, 'success', 'too_many_failures',
                             jsonb_build_object('lockoutSeconds', p_lockout_s));
    END IF;
    -- ...and against the active TAP of the account it was entered for.
    IF p_username IS NOT NULL THEN
        SELECT id INTO v_user FROM users WHERE lower(user_name) = lower(p_username);
    END IF;
    IF v_user IS NOT NULL THEN
        UPDATE taps t SET failures = t.failures + 1,
                          locked_at = CASE WHEN t.failures + 1 >= v_max THEN now() END
        WHERE t.user_id = v_user AND t.revoked_at IS NULL AND t.locked_at IS NULL
        RETURNING * INTO v_tap;
    END IF;
    PERFORM audit_append('tap.failed', 'anonymous', v_user, p_addr, p_user_agent, 'failure', 'invalid',
                         jsonb_build_object('tapId', v_tap.id, 'failures', v_tap.failures));
    IF v_tap.locked_at IS NOT NULL THEN
        PERFORM audit_append('tap.locked', 'system', v_user, p_addr, p_user_agent, 'success', 'too_many_failures',
                             jsonb_build_object('tapId', v_tap.id, 'failures', v_tap.failures));
    END IF;
    RETURN QUERY SELECT 'invalid'::text, NULL::uuid, v_user, v_tap.id, NULL::integer;
END $$;

CREATE OR REPLACE FUNCTION recovery_start(p_request uuid, p_username text, p_provider text, p_handle_hash bytea,
                               p_nonce text, p_verifier text, p_mode text, p_lifetime_s integer,
                               p_window_s integer, p_addr_max integer, p_acct_max integer,
                               p_end_sessions boolean, p_remove_methods boolean,
                               p_addr text, p_user_agent text, p_refuse text)
RETURNS TABLE (o_status text, o_id uuid, o_expires_at bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_user uuid;
    v_reason text;
    v_row recovery_attempts%ROWTYPE;
    v_since timestamptz := now() - p_window_s * interval '1 second';
BEGIN
    -- Starts from one address, or naming one account, take turns: counting
    -- and then inserting would otherwise let a burst of concurrent starts
    -- all count the same rows and all pass the limit. (Always in this order:
    -- address, then name, so two starts never wait on each other in a cycle.)
    PERFORM pg_advisory_xact_lock(hashtext('regain.recovery.addr.' || client_addr_key(p_addr)));
    IF p_username IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('regain.recovery.name.' || lower(p_username)));
        SELECT id INTO v_user FROM users WHERE lower(user_name) = lower(p_username);
    END IF;
    IF p_refuse IS NOT NULL THEN
        v_reason := p_refuse;
    ELSIF p_mode NOT IN ('enabled', 'evaluation') THEN
        v_reason := 'recovery_disabled';
    ELSIF (SELECT count(*) FROM recovery_attempts
           WHERE client_addr_key(client_addr) = client_addr_key(p_addr) AND created_at > v_since) >= p_addr_max THEN
        v_reason := 'rate_limited';
    -- Counted by the name typed, whether or not it names an account: were
    -- unknown names never limited, the limit itself would tell which exist
    -- (a known name's attempt past the limit gets the neutral page at once,
    -- an unknown one's still goes to the provider).
    ELSIF p_username IS NOT NULL AND (SELECT count(*) FROM recovery_attempts
           WHERE lower(named_username) = lower(p_username) AND created_at > v_since) >= p_acct_max THEN
        v_reason := 'rate_limited';
    ELSIF v_user IS NOT NULL AND (SELECT count(*) FROM recovery_attempts
           WHERE (named_user = v_user OR matched_user = v_user) AND created_at > v_since) >= p_acct_max THEN
        v_reason := 'rate_limited';
    END IF;
    INSERT INTO recovery_attempts (state, reason, request_id, named_username, named_user, provider_id,
                                   handle_hash, nonce, pkce_verifier, evaluation, end_sessions, remove_methods,
                                   client_addr, user_agent, expires_at)
    VALUES (CASE WHEN v_reason IS NULL THEN 'started' ELSE 'rejected' END, v_reason, p_request,
            p_username, v_user, p_provider, CASE WHEN v_reason IS NULL THEN p_handle_hash END, p_nonce,
            p_verifier, p_mode = 'evaluation', p_end_sessions, p_remove_methods, left(p_addr, 64),
            left(p_user_agent, 512), now() + p_lifetime_s * interval '1 second')
    RETURNING * INTO v_row;
    PERFORM audit_append(CASE WHEN v_reason IS NULL THEN 'recovery.started' ELSE 'recovery.rejected' END,
                         'anonymous', v_user, p_addr, p_user_agent,
                         CASE WHEN v_reason IS NULL THEN 'success' ELSE 'failure' END, v_reason,
                         jsonb_build_object('attemptId', v_row.id, 'provider', p_provider,
                                            'evaluation', v_row.evaluation));
    RETURN QUERY SELECT coalesce(v_reason, 'ok'), v_row.id, floor(extract(epoch FROM v_row.expires_at))::bigint;
END $$;

-- recovery_start counts recent attempts by the key of their address.
DROP INDEX recovery_attempts_addr;
CREATE INDEX recovery_attempts_addr_key ON recovery_attempts (client_addr_key(client_addr), created_at);
