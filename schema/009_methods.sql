-- Sign-in methods (issue 5): passkeys (WebAuthn credentials) and their
-- single-use challenges, authenticator apps (TOTP), and sign-ins waiting for
-- their second factor.
--
-- Every change of a method records its audit event (schema/008_audit.sql) in
-- the statement that makes it, through the functions at the end of this file
-- or a CTE calling audit_append.

CREATE TABLE webauthn_credentials (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- WebAuthn §5.8.3: at most 1023 bytes; unique across users (§7.1 step 26:
    -- a credential id registered to someone else is refused).
    credential_id   bytea NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 16 AND 1023),
    public_key      bytea NOT NULL,          -- SubjectPublicKeyInfo DER
    alg             integer NOT NULL CHECK (alg IN (-7, -8, -257)),  -- ES256, EdDSA, RS256
    sign_count      bigint NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
    backup_eligible boolean NOT NULL,        -- BE: fixed at registration (§6.1.3)
    backed_up       boolean NOT NULL,        -- BS: may change at each use
    aaguid          uuid,
    transports      text[] NOT NULL DEFAULT '{}',
    attestation_fmt text NOT NULL CHECK (attestation_fmt IN ('none', 'packed')),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);

-- A challenge lives in PostgreSQL, not in a process: any gateway may finish
-- a ceremony another one began. It is consumed by the DELETE ... RETURNING
-- that looks it up, so it verifies at most one response (WebAuthn §13.4.3).
CREATE TABLE webauthn_challenges (
    challenge   bytea PRIMARY KEY CHECK (length(challenge) = 32),
    ceremony    text NOT NULL CHECK (ceremony IN ('create', 'get')),
    -- registration only: the account and the session that asked
    user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
    session_id  uuid REFERENCES sessions (id) ON DELETE CASCADE,
    -- the authorization request id, or 'account' for a sign-in without one
    context     text NOT NULL CHECK (length(context) <= 36),
    -- keyed hash of the browser's CSRF cookie: the ceremony ends in the browser that began it
    browser     bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    CHECK ((ceremony = 'create') = (user_id IS NOT NULL AND session_id IS NOT NULL))
);
CREATE INDEX webauthn_challenges_expires ON webauthn_challenges (expires_at);

CREATE TABLE totp_authenticators (
    id              uuid PRIMARY KEY,        -- chosen by the server: it is the secret's AEAD context
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- AES-256-GCM box (nonce || ciphertext || tag) of the RFC 4226 key under a
    -- key derived from keys.encryption_key; associated data 'totp:' || id
    secret_sealed   bytea NOT NULL,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    confirmed       boolean NOT NULL DEFAULT false,
    -- the RFC 6238 time step of the last accepted code: a code of this step or
    -- an earlier one is refused, so every code works once
    last_used_step  bigint NOT NULL DEFAULT 0,
    attempts        integer NOT NULL DEFAULT 0,  -- wrong codes while unconfirmed
    created_at      timestamptz NOT NULL DEFAULT now(),
    confirmed_at    timestamptz,
    last_used_at    timestamptz
);
CREATE INDEX totp_authenticators_user ON totp_authenticators (user_id);

-- A sign-in whose first factor (the password) is proven, waiting for its
-- second (an authenticator app code). The browser holds a random token; only
-- its keyed hash is kept.
CREATE TABLE signin_pending (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    context     text NOT NULL CHECK (length(context) <= 36),
    amr         text[] NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX signin_pending_expires ON signin_pending (expires_at);

-- How many ways the user has to sign in: passkeys, confirmed authenticator
-- apps, and a password.
CREATE FUNCTION user_method_count(p_user uuid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM webauthn_credentials WHERE user_id = p_user)
         + (SELECT count(*) FROM totp_authenticators WHERE user_id = p_user AND confirmed)
         + (SELECT count(*) FROM users WHERE id = p_user AND password_hash IS NOT NULL)
$$;

-- Removes one method of a user ('passkey' or 'totp'), refusing to remove the
-- last one unless p_allow_last. The user's row is locked first, so two
-- removals at once cannot each leave the other as "not the last". Returns
-- 'removed', 'last' or 'not_found'; records method.removed (success or
-- failure with reason last_method) in the same transaction.
CREATE FUNCTION user_method_remove(p_user uuid, p_kind text, p_id uuid, p_allow_last boolean,
                                   p_actor text, p_addr text, p_user_agent text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_name text;
BEGIN
    PERFORM 1 FROM users WHERE id = p_user FOR UPDATE;
    IF p_kind = 'passkey' THEN
        SELECT name INTO v_name FROM webauthn_credentials WHERE id = p_id AND user_id = p_user;
    ELSIF p_kind = 'totp' THEN
        -- an unconfirmed enrolment is not a method yet, but may be abandoned
        SELECT name INTO v_name FROM totp_authenticators WHERE id = p_id AND user_id = p_user;
    END IF;
    IF v_name IS NULL THEN
        RETURN 'not_found';
    END IF;
    IF NOT p_allow_last AND user_method_count(p_user) <= 1
       AND (p_kind = 'passkey' OR EXISTS (SELECT 1 FROM totp_authenticators WHERE id = p_id AND confirmed)) THEN
        PERFORM audit_append('method.removed', p_actor, p_user, p_addr, p_user_agent, 'failure', 'last_method',
                             jsonb_build_object('kind', p_kind, 'method_id', p_id));
        RETURN 'last';
    END IF;
    IF p_kind = 'passkey' THEN
        DELETE FROM webauthn_credentials WHERE id = p_id AND user_id = p_user;
    ELSE
        DELETE FROM totp_authenticators WHERE id = p_id AND user_id = p_user;
    END IF;
    PERFORM audit_append('method.removed', p_actor, p_user, p_addr, p_user_agent, 'success', NULL,
                         jsonb_build_object('kind', p_kind, 'method_id', p_id, 'name', v_name));
    RETURN 'removed';
END $$;
