-- Signing keys for ID tokens and access tokens (issue 2).
-- The private key is sealed with AES-256-GCM under the key-encryption key from
-- the configuration (never stored in plaintext); `kid` is the RFC 7638 JWK
-- thumbprint of the public key, which is also the AEAD's associated data, so a
-- sealed key moved to another row does not open.
CREATE TABLE signing_keys (
    kid          text PRIMARY KEY CHECK (length(kid) BETWEEN 16 AND 128),
    alg          text NOT NULL CHECK (alg IN ('ES256', 'RS256')),
    public_jwk   jsonb NOT NULL,
    private_key  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at   timestamptz
);

-- The key set every gateway loads: newest first, per algorithm.
CREATE INDEX signing_keys_active ON signing_keys (alg, created_at DESC) WHERE retired_at IS NULL;
