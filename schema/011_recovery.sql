-- Verified self-service recovery (issue 7): attempts and their state machine,
-- candidate accounts for matching, and what a recovery leaves behind
-- (verified claims on the session, post-recovery actions).
--
-- An attempt moves started -> verifying -> verified -> matched -> tap_issued,
-- or ends rejected / failed / expired with a reason code. Every transition is
-- made by recovery_move, which records the event recovery.<state> in the same
-- statement (schema/008_audit.sql). A person sees one neutral outcome
-- whatever failed; the reason is here and in the audit log.
--
-- Stored: the verified claims the match used (IDA verified_claims shape), the
-- provider's transaction id, hashes of the provider's result and of the
-- handle given to the provider. Never document images or the raw result.

CREATE TABLE recovery_attempts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    state            text NOT NULL CHECK (state IN ('started', 'verifying', 'verified', 'matched', 'tap_issued',
                                                    'rejected', 'failed', 'expired')),
    reason           text CHECK (reason ~ '^[a-z][a-z0-9_]{0,63}$'),
    request_id       uuid,          -- the authorization request the person came from (may be gone)
    named_username   text CHECK (length(named_username) <= 256), -- typed or login_hint
    named_user       uuid,          -- that account, when it exists
    provider_id      text NOT NULL CHECK (provider_id ~ '^[a-z0-9_-]{1,32}$'),
    handle_hash      bytea UNIQUE,  -- keyed hash of the `state` / handle given to the provider
    nonce            text CHECK (length(nonce) <= 128),
    pkce_verifier    text CHECK (length(pkce_verifier) <= 128),
    result_hash      bytea UNIQUE,  -- SHA-256 of the provider's signed result: usable once
    provider_txn     text CHECK (length(provider_txn) <= 256),
    verified_at      timestamptz,   -- when the provider verified the person
    verified_claims  jsonb,         -- the IDA verified_claims object the match used
    provider_result  text CHECK (length(provider_result) <= 16384), -- the provider's signed result, only
                                    -- when its config says aggregate_result
    matched_user     uuid,
    decision         jsonb,         -- which rule passed or failed
    evaluation       boolean NOT NULL DEFAULT false, -- policy mode evaluation: no TAP
    end_sessions     boolean NOT NULL DEFAULT true,  -- policy afterRecovery, as it was at start
    remove_methods   boolean NOT NULL DEFAULT false,
    tap_id           uuid,
    completed_at     timestamptz,   -- post-recovery actions ran
    client_addr      text CHECK (length(client_addr) <= 64),
    user_agent       text CHECK (length(user_agent) <= 512),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL
);
-- The same provider transaction is usable once, whatever the result's bytes.
CREATE UNIQUE INDEX recovery_attempts_txn ON recovery_attempts (provider_id, provider_txn)
    WHERE provider_txn IS NOT NULL;
-- Rate limits count recent attempts per address and per account.
CREATE INDEX recovery_attempts_addr ON recovery_attempts (client_addr, created_at);
CREATE INDEX recovery_attempts_named ON recovery_attempts (named_user, created_at) WHERE named_user IS NOT NULL;
CREATE INDEX recovery_attempts_named_name ON recovery_attempts (lower(named_username), created_at)
    WHERE named_username IS NOT NULL;
CREATE INDEX recovery_attempts_matched ON recovery_attempts (matched_user, created_at) WHERE matched_user IS NOT NULL;
CREATE INDEX recovery_attempts_tap ON recovery_attempts (tap_id) WHERE tap_id IS NOT NULL;
-- Matching looks candidates up by birthdate (or employee number).
CREATE INDEX users_birthdate ON users (birthdate) WHERE birthdate IS NOT NULL;
CREATE INDEX users_employee_number ON users (employee_number) WHERE employee_number IS NOT NULL;

-- Starts an attempt (recovery.started), or records it refused at once
-- (recovery.rejected): p_refuse (a reason the caller found, e.g.
-- 'provider_not_allowed'); p_mode 'disabled' -> 'recovery_disabled'; more than
-- p_addr_max attempts from p_addr, or p_acct_max for the named account, in
-- the last p_window_s -> 'rate_limited' (the per-account count is kept by
-- the name typed, so a name of nobody is limited like a name of someone); an
-- unknown named account is no reason to refuse here (that would tell who
-- exists): matching fails later.
-- o_status: 'ok' or the reason.
CREATE FUNCTION recovery_start(p_request uuid, p_username text, p_provider text, p_handle_hash bytea,
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
    PERFORM pg_advisory_xact_lock(hashtext('regain.recovery.addr.' || coalesce(p_addr, '')));
    IF p_username IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('regain.recovery.name.' || lower(p_username)));
        SELECT id INTO v_user FROM users WHERE lower(user_name) = lower(p_username);
    END IF;
    IF p_refuse IS NOT NULL THEN
        v_reason := p_refuse;
    ELSIF p_mode NOT IN ('enabled', 'evaluation') THEN
        v_reason := 'recovery_disabled';
    ELSIF (SELECT count(*) FROM recovery_attempts
           WHERE client_addr = p_addr AND created_at > v_since) >= p_addr_max THEN
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

-- Moves attempt p_id from one of p_from to p_to, with the event
-- recovery.<p_to> (outcome failure for rejected/failed/expired) carrying
-- p_reason and p_detail. An attempt past its expiry moves to 'expired'
-- instead (recovery.expired, reason 'expired'). The other arguments (NULL:
-- unchanged) store what the step learnt. For 'verified', a result or
-- provider transaction seen before refuses the move: the attempt is
-- rejected with 'replayed'. For 'matched', the matched account's recent
-- attempts count against p_acct_max in p_window_s ('rate_limited').
-- o_status: 'ok', 'expired', 'wrong_state' (unknown attempt, or not in
-- p_from: nothing changes), 'replayed', 'rate_limited'.
CREATE FUNCTION recovery_move(p_id uuid, p_from text[], p_to text, p_reason text, p_detail jsonb,
                              p_addr text, p_user_agent text,
                              p_result_hash bytea DEFAULT NULL, p_txn text DEFAULT NULL,
                              p_verified_at timestamptz DEFAULT NULL, p_claims jsonb DEFAULT NULL,
                              p_user uuid DEFAULT NULL, p_tap uuid DEFAULT NULL,
                              p_window_s integer DEFAULT NULL, p_acct_max integer DEFAULT NULL,
                              p_provider_result text DEFAULT NULL)
RETURNS TABLE (o_status text, o_state text, o_named_user uuid, o_evaluation boolean, o_request uuid,
               o_provider text, o_nonce text, o_verifier text, o_named_username text)
LANGUAGE plpgsql AS $$
DECLARE
    a recovery_attempts%ROWTYPE;
    v_to text := p_to;
    v_reason text := p_reason;
    v_status text := 'ok';
    v_subject uuid;
BEGIN
    SELECT * INTO a FROM recovery_attempts WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR NOT (a.state = ANY (p_from)) THEN
        RETURN QUERY SELECT 'wrong_state'::text, a.state, a.named_user, a.evaluation, a.request_id,
                            a.provider_id, NULL::text, NULL::text, a.named_username;
        RETURN;
    END IF;
    IF a.expires_at <= now() THEN
        v_to := 'expired';
        v_reason := 'expired';
        v_status := 'expired';
    ELSIF p_to = 'verified' AND (
            EXISTS (SELECT 1 FROM recovery_attempts WHERE result_hash = p_result_hash) OR
            (p_txn IS NOT NULL AND EXISTS (SELECT 1 FROM recovery_attempts
                                           WHERE provider_id = a.provider_id AND provider_txn = p_txn))) THEN
        v_to := 'rejected';
        v_reason := 'replayed';
        v_status := 'replayed';
    ELSIF p_to = 'matched' AND p_acct_max IS NOT NULL AND (SELECT count(*) FROM recovery_attempts
            WHERE id <> a.id AND (named_user = p_user OR matched_user = p_user)
              AND created_at > now() - p_window_s * interval '1 second') >= p_acct_max THEN
        v_to := 'rejected';
        v_reason := 'rate_limited';
        v_status := 'rate_limited';
    END IF;
    UPDATE recovery_attempts SET
        state = v_to,
        reason = v_reason,
        updated_at = now(),
        -- a handle is spent once the provider has answered for it
        handle_hash = CASE WHEN v_to = 'verifying' THEN handle_hash END,
        result_hash = CASE WHEN v_status = 'ok' THEN coalesce(p_result_hash, result_hash) ELSE result_hash END,
        provider_txn = CASE WHEN v_status = 'ok' THEN coalesce(p_txn, provider_txn) ELSE provider_txn END,
        verified_at = CASE WHEN v_status = 'ok' THEN coalesce(p_verified_at, verified_at) ELSE verified_at END,
        verified_claims = CASE WHEN v_status = 'ok' THEN coalesce(p_claims, verified_claims) ELSE verified_claims END,
        provider_result = CASE WHEN v_status = 'ok' THEN coalesce(p_provider_result, provider_result)
                               ELSE provider_result END,
        matched_user = coalesce(p_user, matched_user),
        decision = CASE WHEN p_detail ? 'rules' THEN p_detail->'rules' ELSE decision END,
        tap_id = coalesce(p_tap, tap_id),
        -- nonce and PKCE verifier serve one callback
        nonce = CASE WHEN v_to IN ('started', 'verifying') THEN nonce END,
        pkce_verifier = CASE WHEN v_to IN ('started', 'verifying') THEN pkce_verifier END
    WHERE id = a.id;
    v_subject := coalesce(p_user, a.matched_user, a.named_user);
    PERFORM audit_append('recovery.' || v_to, 'anonymous', v_subject, p_addr, p_user_agent,
                         CASE WHEN v_to IN ('rejected', 'failed', 'expired') THEN 'failure' ELSE 'success' END,
                         v_reason,
                         coalesce(p_detail, '{}') || jsonb_build_object('attemptId', a.id, 'from', a.state,
                                                                        'provider', a.provider_id,
                                                                        'evaluation', a.evaluation));
    RETURN QUERY SELECT v_status, v_to, a.named_user, a.evaluation, a.request_id, a.provider_id, a.nonce,
                        a.pkce_verifier, a.named_username;
END $$;

-- The attempt waiting for the provider's answer to handle p_handle_hash:
-- (id, provider, state, expired?, nonce, PKCE verifier, request, named
-- username). The handle is a bearer value (it comes back in a redirect), so
-- it is looked up only by its keyed hash.
CREATE FUNCTION recovery_by_handle(p_handle_hash bytea)
RETURNS TABLE (o_id uuid, o_provider text, o_state text, o_expired boolean, o_nonce text, o_verifier text,
               o_request uuid, o_named_username text, o_named_user uuid, o_evaluation boolean)
LANGUAGE sql STABLE AS $$
    SELECT id, provider_id, state, expires_at <= now(), nonce, pkce_verifier, request_id, named_username,
           named_user, evaluation
    FROM recovery_attempts WHERE handle_hash = p_handle_hash
$$;

-- The groups an account belongs to, directly or through nested groups
-- (RFC 7643 §4.2: members of a group may be groups).
CREATE FUNCTION recovery_user_groups(p_user uuid) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE g(id) AS (
        SELECT group_id FROM group_members WHERE member_id = p_user AND member_type = 'User'
        UNION
        SELECT gm.group_id FROM group_members gm JOIN g ON gm.member_id = g.id AND gm.member_type = 'Group')
    SELECT id FROM g
$$;

-- Candidate accounts for matching: those with birthdate p_birthdate (when
-- given) and employee number p_employee (when given); at least one is given
-- by the caller. The C side compares names after Unicode normalisation,
-- which SQL cannot do. Bounded: more than p_limit candidates is answered
-- with p_limit rows (the caller treats a full page as ambiguous).
-- o_eligible: a member of one of p_groups (the policy's eligible groups);
-- o_provider_ok: p_provider_groups is empty, or a member of one of them (the
-- provider is allowed for some groups only).
CREATE FUNCTION recovery_candidates(p_birthdate text, p_employee text, p_groups uuid[], p_limit integer,
                                    p_provider_groups uuid[])
RETURNS TABLE (o_id uuid, o_user_name text, o_active boolean, o_eligible boolean, o_given_name text,
               o_family_name text, o_legal_given_name text, o_legal_family_name text, o_birthdate text,
               o_employee_number text, o_provider_ok boolean)
LANGUAGE sql STABLE AS $$
    SELECT u.id, u.user_name, u.active,
           EXISTS (SELECT 1 FROM recovery_user_groups(u.id) g(id) WHERE g.id = ANY (p_groups)),
           u.given_name, u.family_name, u.legal_given_name, u.legal_family_name, u.birthdate, u.employee_number,
           cardinality(p_provider_groups) = 0 OR
               EXISTS (SELECT 1 FROM recovery_user_groups(u.id) g(id) WHERE g.id = ANY (p_provider_groups))
    FROM users u
    WHERE (p_birthdate IS NOT NULL OR p_employee IS NOT NULL)
      AND (p_birthdate IS NULL OR u.birthdate = p_birthdate)
      AND (p_employee IS NULL OR u.employee_number = p_employee)
    ORDER BY u.id
    LIMIT p_limit
$$;

-- A session opened with a TAP that recovery minted carries the verified
-- identity (OIDC IDA verified_claims) of its attempt: whichever code creates
-- the session, it gets them here.
CREATE FUNCTION recovery_session_claims() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.recovery_attempt_id IS NOT NULL AND NEW.verified_claims IS NULL THEN
        SELECT verified_claims INTO NEW.verified_claims FROM recovery_attempts
        WHERE id = NEW.recovery_attempt_id AND state = 'tap_issued';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER sessions_recovery_claims BEFORE INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION recovery_session_claims();

-- Post-recovery actions (NIST SP 800-63B §6.1.2.3): when the holder of a
-- recovery session registers a new method (session_method_registered lifts
-- it to 'full'), the account's other sessions end and its refresh tokens are
-- revoked (policy afterRecovery.endSessions, default on), the old methods
-- are removed when the policy says so (afterRecovery.removeOldMethods,
-- default off), once per attempt, with the event recovery.completed.
CREATE FUNCTION recovery_after_registration() RETURNS trigger
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
        INSERT INTO revoked_grants (family_id)
            SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = NEW.user_id AND revoked_at IS NULL
            ON CONFLICT DO NOTHING;
        UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = NEW.user_id AND revoked_at IS NULL;
        GET DIAGNOSTICS v_tokens = ROW_COUNT;
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
CREATE TRIGGER sessions_recovery_completed AFTER UPDATE OF purpose ON sessions
    FOR EACH ROW EXECUTE FUNCTION recovery_after_registration();

-- The verified_claims of a session (issue 7), for the token endpoint: the ID
-- token carries them when the relying party's claims request asks.
CREATE FUNCTION recovery_session_verified_claims(p_session uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT verified_claims::text FROM sessions WHERE id = p_session
$$;

-- The provider's signed result behind a recovery session, when its provider
-- is configured to pass it on (aggregated claims, OIDC Core §5.6.2).
CREATE FUNCTION recovery_session_provider_result(p_session uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT a.provider_result FROM sessions s JOIN recovery_attempts a ON a.id = s.recovery_attempt_id
    WHERE s.id = p_session
$$;
