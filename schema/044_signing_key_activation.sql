-- Signing keys are published before they sign, and stay published after they
-- stop (OpenID Connect Core 1.0 §10.1.1: a verifier re-reads the JWK Set when
-- it sees an unfamiliar kid, and the set "SHOULD retain recently
-- decommissioned signing keys for a reasonable period of time").
--
-- activates_at: when the key may start signing. Until then it is in
--   /jwks.json and verifies tokens, so every gateway has loaded it, and every
--   cached copy of /jwks.json holds it, before a token names it. Of the keys
--   of one algorithm whose time has come, the newest (created_at) signs.
--   `regain keys rotate` sets it from the configuration it is given
--   (gateway/keys_db.c); keys created at start-up and keys that were already
--   here sign at once (created_at).
-- retired_at: may now lie in the future: the key is published and verifies
--   until then. A rotation sets it on the keys it replaces to when the
--   longest token they may have signed has expired; `--force` sets it to now.
ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz;
UPDATE signing_keys SET activates_at = created_at;
ALTER TABLE signing_keys ALTER COLUMN activates_at SET NOT NULL,
                         ALTER COLUMN activates_at SET DEFAULT clock_timestamp();

-- The partial index of schema/001 stops at retired_at IS NULL, which is no
-- longer the published set; the table holds a handful of rows.
DROP INDEX signing_keys_active;
