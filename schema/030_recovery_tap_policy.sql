-- A TAP minted by verified recovery obeys the tenant's Temporary Access Pass
-- policy as one an administrator issues does (the admin API refuses a
-- request outside it with 400). Before, recovery_issue_tap passed the
-- recovery policy's tap.isUsableOnce and tap.lifetimeInMinutes to tap_issue
-- as they were, so a recovery policy could mint a reusable or a month-long
-- pass where the TAP policy says every pass is one-time (isUsableOnce, "all
-- the passes in the tenant will be restricted to one-time use" in Microsoft
-- Graph's temporaryAccessPassAuthenticationMethodConfiguration) or bounds
-- the lifetime (minimumLifetimeInMinutes, maximumLifetimeInMinutes).
--
-- The recovery policy's values now apply within the TAP policy: one-time
-- when either says so, the lifetime raised to the minimum or cut to the
-- maximum (refusing would end a recovery the person has already proven;
-- the page shows the expiry the pass really has). The policy is read in
-- the same statement as the mint, so a policy change cannot slip between.
-- Absent members take the defaults of oidc/tap.c (POLICY_DEFAULTS).
CREATE OR REPLACE FUNCTION recovery_issue_tap(p_attempt uuid, p_user uuid, p_hash bytea, p_start timestamptz,
                                              p_lifetime_minutes integer, p_once boolean, p_length integer,
                                              p_actor text, p_addr text, p_user_agent text, p_acr text)
RETURNS TABLE (o_status text, o_id uuid, o_created_at text, o_start_at text, o_lifetime integer,
               o_once boolean, o_reason text, o_expires_at text, o_replaced uuid)
LANGUAGE plpgsql AS $$
DECLARE
    a recovery_attempts%ROWTYPE;
    t record;
    m record;
    v_policy jsonb := (SELECT document FROM policy_current('temporaryAccessPass'));
    v_once boolean := p_once OR coalesce((v_policy->>'isUsableOnce')::boolean, true);
    v_lifetime integer := least(greatest(p_lifetime_minutes,
                                         coalesce((v_policy->>'minimumLifetimeInMinutes')::integer, 10)),
                                coalesce((v_policy->>'maximumLifetimeInMinutes')::integer, 43200));
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
    SELECT * INTO t FROM tap_issue(p_user, p_hash, p_start, v_lifetime, v_once, p_length, p_actor,
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
