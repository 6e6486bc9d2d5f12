-- Bounds on passkey challenges (issue 5): each call of a ceremony's options
-- endpoint stores a challenge for five minutes, and the endpoints need no
-- account, so without a bound anyone could fill the table. A challenge now
-- records the client address it was given to; webauthn_challenge_create
-- refuses one more while the browser or the address already holds its
-- limit of live ones, and clears expired rows as it goes.

ALTER TABLE webauthn_challenges ADD COLUMN addr_key text NOT NULL DEFAULT '';
CREATE INDEX webauthn_challenges_addr ON webauthn_challenges (addr_key, expires_at);
CREATE INDEX webauthn_challenges_browser ON webauthn_challenges (browser, expires_at);

-- The key an address is counted under: an IPv4 address itself (also when it
-- arrives IPv4-mapped, ::ffff:a.b.c.d); an IPv6 address by its /64, which one
-- customer usually holds whole; anything unparsable as given.
CREATE FUNCTION client_addr_key(p_addr text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v inet;
BEGIN
    IF p_addr IS NULL OR p_addr = '' THEN
        RETURN '';
    END IF;
    IF p_addr ~* '^::ffff:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' THEN
        RETURN substr(p_addr, 8);
    END IF;
    BEGIN
        v := p_addr::inet;
    EXCEPTION WHEN invalid_text_representation THEN
        RETURN left(p_addr, 100);
    END;
    IF family(v) = 6 THEN
        RETURN host(network(set_masklen(v, 64))) || '/64';
    END IF;
    RETURN host(v);
END $$;

-- Stores a challenge unless the browser (p_browser: keyed hash of its CSRF
-- cookie) holds p_max_browser live challenges or the address p_max_addr.
-- Returns 'ok', 'browser_limit' or 'address_limit'.
--
-- Expired challenges of this browser and address go first (so a person
-- coming back after a while is never refused for old ones), then up to 100
-- others: every call removes more expired rows than it adds, so they cannot
-- pile up. Calls from one address take a transaction lock on its key, so two
-- at once cannot both see room for the last one.
CREATE FUNCTION webauthn_challenge_create(p_challenge bytea, p_ceremony text, p_user uuid, p_session uuid,
                                          p_context text, p_browser bytea, p_ttl_s integer, p_addr text,
                                          p_max_browser integer, p_max_addr integer)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := client_addr_key(p_addr);
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('webauthn_challenge:' || v_key, 0));
    DELETE FROM webauthn_challenges WHERE expires_at <= now() AND (addr_key = v_key OR browser = p_browser);
    DELETE FROM webauthn_challenges WHERE challenge IN
        (SELECT challenge FROM webauthn_challenges WHERE expires_at <= now() LIMIT 100);
    IF (SELECT count(*) FROM webauthn_challenges WHERE browser = p_browser) >= p_max_browser THEN
        RETURN 'browser_limit';
    END IF;
    IF (SELECT count(*) FROM webauthn_challenges WHERE addr_key = v_key) >= p_max_addr THEN
        RETURN 'address_limit';
    END IF;
    INSERT INTO webauthn_challenges (challenge, ceremony, user_id, session_id, context, browser, expires_at,
                                     addr_key)
    VALUES (p_challenge, p_ceremony, p_user, p_session, p_context, p_browser,
            now() + p_ttl_s * interval '1 second', v_key);
    RETURN 'ok';
END $$;
