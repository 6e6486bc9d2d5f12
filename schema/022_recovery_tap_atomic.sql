-- A TAP minted for a verified recovery and the attempt's move to tap_issued
-- happen in one transaction. Before, they were two statements: an attempt
-- that expired between them left a new TAP that had replaced the user's
-- active one while the attempt said `expired` and nobody was shown it.
--
-- Locks the attempt; it must still be `matched` to p_user. An attempt past
-- its expiry moves to `expired` (recovery_move records it) and no TAP is
-- issued. Otherwise tap_issue mints (tap.issued / tap.replaced) and
-- recovery_move records tap_issued with the new TAP's id.
-- o_status: 'ok', 'expired', 'wrong_state', 'no_user'; the other columns
-- are tap_issue's.
CREATE FUNCTION recovery_issue_tap(p_attempt uuid, p_user uuid, p_hash bytea, p_start timestamptz,
                                   p_lifetime_minutes integer, p_once boolean, p_length integer, p_actor text,
                                   p_addr text, p_user_agent text, p_acr text)
RETURNS TABLE (o_status text, o_id uuid, o_created_at text, o_start_at text, o_lifetime integer,
               o_once boolean, o_reason text, o_expires_at text, o_replaced uuid)
LANGUAGE plpgsql AS $$
DECLARE
    a recovery_attempts%ROWTYPE;
    t record;
    m record;
BEGIN
    SELECT * INTO a FROM recovery_attempts WHERE id = p_attempt FOR UPDATE;
    IF NOT FOUND OR a.state <> 'matched' OR a.matched_user IS DISTINCT FROM p_user THEN
        RETURN QUERY SELECT 'wrong_state'::text, NULL::uuid, NULL::text, NULL::text, NULL::integer,
                            NULL::boolean, NULL::text, NULL::text, NULL::uuid;
        RETURN;
    END IF;
    IF a.expires_at <= now() THEN
        SELECT * INTO m FROM recovery_move(p_attempt, ARRAY['matched'], 'tap_issued', NULL, NULL, p_addr,
                                           p_user_agent);
        RETURN QUERY SELECT m.o_status, NULL::uuid, NULL::text, NULL::text, NULL::integer, NULL::boolean,
                            NULL::text, NULL::text, NULL::uuid;
        RETURN;
    END IF;
    SELECT * INTO t FROM tap_issue(p_user, p_hash, p_start, p_lifetime_minutes, p_once, p_length, p_actor,
                                   p_addr, p_user_agent, p_acr, p_attempt);
    IF t.o_status <> 'ok' THEN
        RETURN QUERY SELECT t.o_status, NULL::uuid, NULL::text, NULL::text, NULL::integer, NULL::boolean,
                            NULL::text, NULL::text, NULL::uuid;
        RETURN;
    END IF;
    SELECT * INTO m FROM recovery_move(p_attempt, ARRAY['matched'], 'tap_issued', NULL, NULL, p_addr,
                                       p_user_agent, p_tap => t.o_id);
    IF m.o_status <> 'ok' THEN
        -- the attempt is locked and was checked above: this cannot happen,
        -- and if it does the TAP must not outlive the statement
        RAISE EXCEPTION 'recovery attempt % could not move to tap_issued: %', p_attempt, m.o_status;
    END IF;
    RETURN QUERY SELECT 'ok'::text, t.o_id, t.o_created_at, t.o_start_at, t.o_lifetime, t.o_once, t.o_reason,
                        t.o_expires_at, t.o_replaced;
END $$;
