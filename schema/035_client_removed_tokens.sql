-- A removed client's access tokens stop working.
--
-- Access tokens are self-contained JWTs (RFC 9068). Deleting a client row
-- (the admin API's DELETE, `regain client remove`) took its codes and
-- refresh tokens with it (ON DELETE CASCADE), but every access token the
-- client held stayed valid at /userinfo, /introspect, SCIM and the admin API
-- until its exp: a client removed because its secret leaked kept its admin or
-- SCIM power for up to oidc.access_token_ttl_s (RFC 7592 §2.3 asks a server
-- that deletes a client to invalidate its currently-active access tokens).
--
-- Checking that the client still exists is not enough: the same id can be
-- registered again, and the old registration's tokens must not come back
-- with it. So each removal leaves the time it happened here, and a token
-- whose client_id was removed at or after the token's iat is dead
-- (oidc/token_db.c, OIDC_STMT_AT_REVOKED and OIDC_STMT_USER_NAME). iat has
-- whole seconds: a token issued by a new registration within the second of
-- the old one's removal is refused too, which errs on the safe side.
--
-- One row per id ever removed (a removal again moves its time forward); a
-- row older than a day protects nothing (oidc.access_token_ttl_s <= 86,400 s)
-- but costs nothing either.

CREATE TABLE removed_clients (
    client_id   text PRIMARY KEY,
    removed_at  timestamptz NOT NULL
);

CREATE FUNCTION clients_removed_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO removed_clients (client_id, removed_at) VALUES (OLD.id, now())
    ON CONFLICT (client_id) DO UPDATE SET removed_at = EXCLUDED.removed_at;
    RETURN NULL;
END
$$;

CREATE TRIGGER clients_removed AFTER DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION clients_removed_record();
