-- OpenID Provider state (issue 3): users, clients, sign-in throttling,
-- browser sessions, pending authorization requests, authorization codes,
-- refresh tokens and revoked access tokens.
--
-- Secrets are never stored: client secrets, session cookies, codes and
-- refresh tokens are kept as HMAC-SHA-256 under a server key (they are high
-- entropy, so a keyed hash suffices and stays fast); passwords as Argon2id.

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_name       text NOT NULL CHECK (length(user_name) BETWEEN 1 AND 256),
    external_id     text,
    given_name      text,
    family_name     text,
    display_name    text,
    email           text,
    email_verified  boolean NOT NULL DEFAULT false,
    active          boolean NOT NULL DEFAULT true,
    password_hash   text,            -- Argon2id, PHC string format; NULL: no password
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- userName is unique without regard to case (RFC 7643 §4.1.1 caseExact=false).
CREATE UNIQUE INDEX users_user_name_ci ON users (lower(user_name));

CREATE TABLE clients (
    id                          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._~-]{1,128}$'),
    name                        text NOT NULL,
    secret_hash                 bytea,   -- HMAC-SHA-256 of the secret; NULL for public / private_key_jwt
    token_endpoint_auth_method  text NOT NULL CHECK (token_endpoint_auth_method IN
                                  ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    jwks                        jsonb,   -- public keys for private_key_jwt
    redirect_uris               text[] NOT NULL DEFAULT '{}',
    post_logout_redirect_uris   text[] NOT NULL DEFAULT '{}',
    grant_types                 text[] NOT NULL,
    scopes                      text[] NOT NULL,
    id_token_alg                text NOT NULL DEFAULT 'ES256' CHECK (id_token_alg IN ('ES256', 'RS256')),
    created_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK ((token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post')) = (secret_hash IS NOT NULL)),
    CHECK ((token_endpoint_auth_method = 'private_key_jwt') = (jwks IS NOT NULL))
);

-- Failed sign-in counters per account and per client address, shared by every
-- gateway process. `key` is 'user:<lower(username)>' or 'addr:<ip>'.
CREATE TABLE login_throttle (
    key           text PRIMARY KEY,
    failures      integer NOT NULL DEFAULT 0,
    window_start  timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz
);

CREATE TABLE sessions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),   -- the `sid` claim
    token_hash  bytea NOT NULL UNIQUE,                         -- HMAC of the cookie value
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time   timestamptz NOT NULL,
    amr         text[] NOT NULL,
    acr         text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

-- A validated authorization request waiting for the user to sign in; the
-- sign-in form refers to it by an unguessable id.
CREATE TABLE authorization_requests (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id       text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    params          jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);

CREATE TABLE authorization_codes (
    code_hash       bytea PRIMARY KEY,
    client_id       text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id      uuid REFERENCES sessions (id) ON DELETE CASCADE,
    redirect_uri    text NOT NULL,
    scope           text NOT NULL,
    nonce           text,
    code_challenge  text NOT NULL,
    claims          jsonb,
    auth_time       timestamptz NOT NULL,
    acr             text,
    amr             text[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);

CREATE TABLE refresh_tokens (
    token_hash   bytea PRIMARY KEY,
    family_id    uuid NOT NULL,       -- all tokens rotated from one grant
    code_hash    bytea,               -- the code the family came from
    client_id    text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id   uuid REFERENCES sessions (id) ON DELETE SET NULL,
    scope        text NOT NULL,
    claims       jsonb,
    auth_time    timestamptz NOT NULL,
    acr          text,
    amr          text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,         -- rotated: presenting it again is reuse
    revoked_at   timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_code ON refresh_tokens (code_hash) WHERE code_hash IS NOT NULL;

-- Access tokens are self-contained JWTs (RFC 9068); a revoked one is listed
-- here by `jti` until it would have expired anyway. Grants revoked as a whole
-- (a replayed code, a reused refresh token) are listed by family.
CREATE TABLE revoked_access_tokens (
    jti         text PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);
CREATE TABLE revoked_grants (
    family_id   uuid PRIMARY KEY,
    revoked_at  timestamptz NOT NULL DEFAULT now()
);
