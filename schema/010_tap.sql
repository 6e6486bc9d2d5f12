-- Temporary Access Passes, the TAP and recovery policies (issue 6).
--
-- A TAP is stored only as HMAC-SHA-256 of its normalised text under a server
-- key (gateway/secrets.h), like every secret we mint; the text itself is
-- shown once and never stored or logged. Every change below records its
-- audit event (schema/008_audit.sql) in the same statement.

-- ---- policies: versioned documents -------------------------------------------
--
-- One row per version; the current policy of a kind is its newest version.
-- Kinds: 'temporaryAccessPass' (the tenant-wide TAP policy) and 'recovery'
-- (the recovery policy that issue 7 reads). Versions are never changed or
-- removed, so an audit event's version number always names what applied.
CREATE TABLE policy_versions (
    kind        text NOT NULL CHECK (kind IN ('temporaryAccessPass', 'recovery')),
    version     integer NOT NULL CHECK (version >= 1),
    document    jsonb NOT NULL CHECK (jsonb_typeof(document) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    PRIMARY KEY (kind, version)
);

INSERT INTO policy_versions (kind, version, actor, document) VALUES
('temporaryAccessPass', 1, 'system', '{
    "state": "enabled",
    "defaultLength": 16,
    "defaultLifetimeInMinutes": 60,
    "minimumLifetimeInMinutes": 10,
    "maximumLifetimeInMinutes": 43200,
    "isUsableOnce": true,
    "maxFailedAttempts": 5
}'),
('recovery', 1, 'system', '{
    "mode": "disabled",
    "eligibleGroups": [],
    "providers": [],
    "matching": {
        "mode": "exact",
        "rules": [
            {"claim": "given_name", "attribute": "name.givenName"},
            {"claim": "family_name", "attribute": "name.familyName"},
            {"claim": "birthdate", "attribute": "urn:regain:scim:schemas:extension:recovery:2.0:User:birthdate"}
        ],
        "disambiguate": []
    },
    "evidence": {"trustFrameworks": [], "assuranceLevels": [], "maxAgeSeconds": 31536000},
    "tap": {"lifetimeInMinutes": 60, "isUsableOnce": true, "length": 16},
    "afterRecovery": {"endSessions": true, "removeOldMethods": false},
    "rateLimits": {"perAccount": {"max": 5, "windowSeconds": 3600},
                   "perAddress": {"max": 20, "windowSeconds": 3600}},
    "attemptLifetimeSeconds": 900
}');

CREATE FUNCTION policy_versions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'policy versions are append-only' USING ERRCODE = 'RG403';
END $$;
CREATE TRIGGER policy_versions_no_change BEFORE UPDATE OR DELETE ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION policy_versions_immutable();

-- The current policy of a kind: (version, document, created_at).
CREATE FUNCTION policy_current(p_kind text)
RETURNS TABLE (version integer, document jsonb, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT version, document, created_at FROM policy_versions WHERE kind = p_kind
    ORDER BY version DESC LIMIT 1
$$;

-- The current recovery policy document (issue 7 reads this).
CREATE FUNCTION recovery_policy() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT document FROM policy_current('recovery')
$$;

-- Stores a new version of a policy, already validated by the caller, and its
-- policy.changed event. p_if_match (may be NULL) is the version the caller
-- read: another current version gives o_status 'precondition_failed' and
-- changes nothing. Concurrent writers of one kind take turns on an advisory
-- lock, so versions never collide.
CREATE FUNCTION policy_put(p_kind text, p_document jsonb, p_if_match integer, p_actor text, p_addr text,
                           p_user_agent text)
RETURNS TABLE (o_status text, o_version integer, o_document jsonb, o_created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_current integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('regain.policy.' || p_kind));
    SELECT max(v.version) INTO v_current FROM policy_versions v WHERE v.kind = p_kind;
    v_current := coalesce(v_current, 0);
    IF p_if_match IS NOT NULL AND p_if_match <> v_current THEN
        RETURN QUERY SELECT 'precondition_failed'::text, v_current, NULL::jsonb, NULL::timestamptz;
        RETURN;
    END IF;
    INSERT INTO policy_versions (kind, version, document, actor)
    VALUES (p_kind, v_current + 1, p_document, p_actor);
    PERFORM audit_append('policy.changed', p_actor, NULL, p_addr, p_user_agent, 'success', NULL,
                         jsonb_build_object('policy', p_kind, 'version', v_current + 1,
                                            'previousVersion', v_current));
    RETURN QUERY SELECT 'ok'::text, v.version, v.document, v.created_at FROM policy_versions v
        WHERE v.kind = p_kind AND v.version = v_current + 1;
END $$;

-- ---- Temporary Access Passes ---------------------------------------------------

CREATE TABLE taps (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash          bytea NOT NULL UNIQUE,     -- HMAC-SHA-256 of the normalised TAP
    created_at           timestamptz NOT NULL DEFAULT now(),
    start_at             timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    lifetime_minutes     integer NOT NULL CHECK (lifetime_minutes BETWEEN 10 AND 43200),
    is_usable_once       boolean NOT NULL,
    length               integer NOT NULL CHECK (length BETWEEN 8 AND 48),
    created_by           text NOT NULL,             -- audit actor
    acr                  text,                      -- of the sessions it gives; NULL: urn:regain:acr:tap
    recovery_attempt_id  uuid,                      -- minted by recovery (issue 7)
    used_at              timestamptz,               -- first redemption
    use_count            integer NOT NULL DEFAULT 0,
    failures             integer NOT NULL DEFAULT 0, -- wrong TAPs entered against this user
    locked_at            timestamptz,
    revoked_at           timestamptz,
    revoked_reason       text CHECK (revoked_reason IN ('revoked', 'replaced')),
    CHECK (expires_at = start_at + lifetime_minutes * interval '1 minute'),
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
-- One active TAP per user: issuing a new one revokes the old in the same
-- statement (tap_issue), and this index makes a race between two issues
-- fail rather than leave two.
CREATE UNIQUE INDEX taps_one_active ON taps (user_id) WHERE revoked_at IS NULL;

ALTER TABLE sessions ADD CONSTRAINT sessions_tap_fk FOREIGN KEY (tap_id) REFERENCES taps (id) ON DELETE SET NULL;
CREATE INDEX sessions_tap ON sessions (tap_id) WHERE tap_id IS NOT NULL;

-- Why a TAP cannot be used now, or NULL when it can (Microsoft Graph's
-- methodUsabilityReason values, plus Locked and Revoked).
CREATE FUNCTION tap_unusable_reason(t taps, p_enabled boolean) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN t.revoked_at IS NOT NULL THEN 'Revoked'
        WHEN NOT p_enabled THEN 'DisabledByPolicy'
        WHEN t.locked_at IS NOT NULL THEN 'Locked'
        WHEN t.is_usable_once AND t.used_at IS NOT NULL THEN 'OneTimeUsed'
        WHEN t.expires_at <= now() THEN 'Expired'
        WHEN t.start_at > now() THEN 'NotYetValid'
    END
$$;

-- RFC 3339 text of a time in UTC, as the APIs show times.
CREATE FUNCTION regain_rfc3339(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- Issues a TAP (bounds already checked by the caller against the policy that
-- applies): locks the user, revokes the active TAP (tap.replaced) and ends
-- the sessions still waiting on it, stores the new one (tap.issued).
-- o_status: 'ok', 'no_user' (unknown or inactive user). The other columns
-- describe the new TAP as the API shows it (oidc/tap_internal.h).
CREATE FUNCTION tap_issue(p_user uuid, p_hash bytea, p_start timestamptz, p_lifetime_minutes integer,
                          p_once boolean, p_length integer, p_actor text, p_addr text, p_user_agent text,
                          p_acr text DEFAULT NULL, p_recovery_attempt uuid DEFAULT NULL)
RETURNS TABLE (o_status text, o_id uuid, o_created_at text, o_start_at text, o_lifetime integer,
               o_once boolean, o_reason text, o_expires_at text, o_replaced uuid)
LANGUAGE plpgsql AS $$
DECLARE
    v_old uuid;
    v_new taps%ROWTYPE;
    v_start timestamptz := coalesce(p_start, now());
BEGIN
    PERFORM 1 FROM users WHERE id = p_user AND active FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_user'::text, NULL::uuid, NULL::text, NULL::text, NULL::integer, NULL::boolean,
                            NULL::text, NULL::text, NULL::uuid;
        RETURN;
    END IF;
    UPDATE taps SET revoked_at = now(), revoked_reason = 'replaced'
    WHERE user_id = p_user AND revoked_at IS NULL RETURNING id INTO v_old;
    INSERT INTO taps (user_id, secret_hash, start_at, expires_at, lifetime_minutes, is_usable_once, length,
                      created_by, acr, recovery_attempt_id)
    VALUES (p_user, p_hash, v_start, v_start + p_lifetime_minutes * interval '1 minute', p_lifetime_minutes,
            p_once, p_length, p_actor, p_acr, p_recovery_attempt)
    RETURNING * INTO v_new;
    IF v_old IS NOT NULL THEN
        UPDATE sessions SET ended_at = now()
        WHERE tap_id = v_old AND purpose = 'register_method' AND ended_at IS NULL;
        PERFORM audit_append('tap.replaced', p_actor, p_user, p_addr, p_user_agent, 'success', 'replaced',
                             jsonb_build_object('tapId', v_old, 'replacedBy', v_new.id));
    END IF;
    PERFORM audit_append('tap.issued', p_actor, p_user, p_addr, p_user_agent, 'success', NULL,
                         jsonb_build_object('tapId', v_new.id, 'startDateTime', regain_rfc3339(v_new.start_at),
                                            'lifetimeInMinutes', p_lifetime_minutes,
                                            'isUsableOnce', p_once, 'length', p_length,
                                            'recoveryAttemptId', p_recovery_attempt));
    RETURN QUERY SELECT 'ok'::text, v_new.id, regain_rfc3339(v_new.created_at), regain_rfc3339(v_new.start_at),
                        v_new.lifetime_minutes, v_new.is_usable_once,
                        tap_unusable_reason(v_new, (SELECT document->>'state' = 'enabled'
                                                    FROM policy_current('temporaryAccessPass'))),
                        regain_rfc3339(v_new.expires_at), v_old;
END $$;

-- Revokes a user's TAP (p_tap, or the active one when NULL), ends the
-- sessions still waiting on it (tap.revoked). o_status 'ok' or 'not_found'.
CREATE FUNCTION tap_revoke(p_user uuid, p_tap uuid, p_actor text, p_addr text, p_user_agent text)
RETURNS TABLE (o_status text, o_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    UPDATE taps SET revoked_at = now(), revoked_reason = 'revoked'
    WHERE user_id = p_user AND revoked_at IS NULL AND (p_tap IS NULL OR id = p_tap)
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::uuid;
        RETURN;
    END IF;
    UPDATE sessions SET ended_at = now() WHERE tap_id = v_id AND purpose = 'register_method' AND ended_at IS NULL;
    PERFORM audit_append('tap.revoked', p_actor, p_user, p_addr, p_user_agent, 'success', 'revoked',
                         jsonb_build_object('tapId', v_id));
    RETURN QUERY SELECT 'ok'::text, v_id;
END $$;

-- Signs in with a TAP. p_hash is the keyed hash of what was entered;
-- p_username (may be NULL) names whom a wrong TAP is counted against (the
-- form's username or the authorization request's login_hint).
--
-- Order: the client address must not be locked -> the one atomic UPDATE
-- redeems the TAP (for a one-time TAP `used_at IS NULL` is in its WHERE, so
-- of concurrent redemptions exactly one finds the row still unused; the
-- others wait on its row lock, re-check and find nothing) -> a session of
-- purpose 'register_method' is created, never outliving the TAP, and for a
-- one-time TAP at most p_once_ttl_s (10 minutes) from now.
--
-- A hash that matches no TAP is a guess: it is counted against the address
-- (login_throttle key 'tap-addr:<addr>': p_addr_max failures in p_window_s
-- lock the address for p_lockout_s) and against p_username's active TAP,
-- which is locked at the policy's maxFailedAttempts (tap.locked). A hash
-- that matches an unusable TAP (used, expired, revoked...) is no guess: its
-- holder knew it, as the losers of a race do; it is audited, not counted.
--
-- o_status: 'ok', 'throttled', 'disabled', 'invalid' (no such TAP), or the
-- reason the matched TAP is unusable ('used', 'expired', 'not_yet_valid',
-- 'locked', 'revoked', 'inactive_user').
CREATE FUNCTION tap_redeem(p_hash bytea, p_username text, p_addr text, p_user_agent text,
                           p_session_hash bytea, p_session_ttl_s integer, p_once_ttl_s integer,
                           p_window_s integer, p_addr_max integer, p_lockout_s integer)
RETURNS TABLE (o_status text, o_session_id uuid, o_user_id uuid, o_tap_id uuid, o_session_ttl_s integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := 'tap-addr:' || coalesce(p_addr, '');
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

-- ---- nothing obtained through a TAP outlives it ----------------------------------
--
-- Codes and refresh tokens of a session that came from a TAP expire no later
-- than the TAP; a session still waiting for its holder to register a method
-- ('register_method') gets no code at all, whatever path tries. The token
-- endpoint caps access and ID tokens the same way (oidc/token_db.c).
CREATE FUNCTION tap_grant_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_purpose text;
    v_tap_expires timestamptz;
BEGIN
    IF NEW.session_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT s.purpose, t.expires_at INTO v_purpose, v_tap_expires
    FROM sessions s LEFT JOIN taps t ON t.id = s.tap_id WHERE s.id = NEW.session_id;
    IF TG_TABLE_NAME = 'authorization_codes' AND v_purpose = 'register_method' THEN
        RAISE EXCEPTION 'a session from a Temporary Access Pass gets no code before a method is registered'
            USING ERRCODE = 'RG403';
    END IF;
    IF v_tap_expires IS NOT NULL AND NEW.expires_at > v_tap_expires THEN
        NEW.expires_at := v_tap_expires;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER authorization_codes_tap_guard BEFORE INSERT ON authorization_codes
    FOR EACH ROW EXECUTE FUNCTION tap_grant_guard();
CREATE TRIGGER refresh_tokens_tap_guard BEFORE INSERT ON refresh_tokens
    FOR EACH ROW EXECUTE FUNCTION tap_grant_guard();

-- The epoch second after which nothing of session p_session may live: the
-- expiry of the TAP it came from, or NULL.
CREATE FUNCTION tap_session_cap(p_session uuid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT floor(extract(epoch FROM t.expires_at))::bigint
    FROM sessions s JOIN taps t ON t.id = s.tap_id WHERE s.id = p_session
$$;
