-- Every password sign-in inserts a session; two costs of that insert bought
-- nothing for almost all of them.
--
-- sessions_recovery_claims (011) called its PL/pgSQL function for every new
-- session, though only a session opened with a TAP that a recovery minted
-- (recovery_attempt_id set, no verified claims yet) has anything to copy.
-- With the function's own test as the trigger's WHEN clause, PostgreSQL
-- skips the call for every other session; a session that passes the clause
-- is handled as before.
--
-- sessions_user (002: a user's sessions not yet ended) duplicates
-- sessions_user_all (007: all of a user's sessions, which the cascade from
-- users needs). A look-up of a user's live sessions reads the full index and
-- filters on ended_at. The partial index added an entry to every new
-- session, and since ended_at was in an index, ending a session could never
-- be a HOT update: it wrote a new entry into each of the table's indexes.
DROP TRIGGER sessions_recovery_claims ON sessions;
CREATE TRIGGER sessions_recovery_claims BEFORE INSERT ON sessions
    FOR EACH ROW WHEN (NEW.recovery_attempt_id IS NOT NULL AND NEW.verified_claims IS NULL)
    EXECUTE FUNCTION recovery_session_claims();

DROP INDEX sessions_user;
