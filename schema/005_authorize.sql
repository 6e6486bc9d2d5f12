-- Authorization endpoint (issue 3): pending requests are removed a few at a
-- time by each new request once they expire (oidc/authorize_db.c); this index
-- keeps that cheap however many there are.
CREATE INDEX authorization_requests_expires ON authorization_requests (expires_at);
