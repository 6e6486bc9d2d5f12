-- Client authentication with private_key_jwt (OIDC Core §9, RFC 7523 §3):
-- each client_assertion's jti may be used once. A used jti is kept until the
-- assertion would have expired anyway; after that its exp check refuses it.
CREATE TABLE client_assertion_jtis (
    client_id   text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    jti         text NOT NULL CHECK (length(jti) BETWEEN 1 AND 256),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis (client_id, expires_at);
