-- recovery_issue_tap refuses unless the recovery policy, as it is when the
-- TAP would be minted, is enabled and still allows the attempt's provider.
-- Before, it read only the TAP policy: an attempt that matched after an
-- administrator disabled recovery (or set it to evaluation, or withdrew the
-- provider, a compromised one say) still got a TAP, because the flow went by
-- what the policy said when the attempt started. The gateway now checks the
-- policy again at the provider's callback (oidc/recovery.c); this is the
-- same rule once more where the pass is made, in the statement that makes
-- it, so no policy change can slip in between. An evaluation attempt gets no
-- TAP here either, whatever the policy says now.
--
-- Refused: the attempt moves to rejected with the reason ('recovery_disabled'
-- for mode disabled, 'evaluation_mode' for evaluation or an evaluation
-- attempt, 'provider_not_allowed'), recorded by recovery_move as every
-- transition is, and o_status is that reason. An empty or absent providers
-- list allows every configured provider, as in recovery/policy.c; entries
-- are {"id"} objects as the admin API writes them (a string or {"value"} is
-- read too, as recovery/policy.c does). Otherwise unchanged from
-- schema/030_recovery_tap_policy.sql.

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
    v_recovery jsonb := coalesce(recovery_policy(), '{}'::jsonb);
    v_providers jsonb := v_recovery->'providers';
    v_refuse text;
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
    v_refuse := CASE
        WHEN coalesce(v_recovery->>'mode', 'disabled') NOT IN ('enabled', 'evaluation') THEN 'recovery_disabled'
        WHEN v_recovery->>'mode' = 'evaluation' OR a.evaluation THEN 'evaluation_mode'
        WHEN jsonb_typeof(v_providers) = 'array' AND jsonb_array_length(v_providers) > 0 AND NOT EXISTS (
                SELECT 1 FROM jsonb_array_elements(v_providers) e
                WHERE CASE WHEN jsonb_typeof(e) = 'string' THEN e #>> '{}'
                           ELSE coalesce(e->>'id', e->>'value') END = a.provider_id) THEN 'provider_not_allowed'
    END;
    IF v_refuse IS NOT NULL THEN
        SELECT * INTO m FROM recovery_move(p_attempt, ARRAY['matched'], 'rejected', v_refuse, NULL, p_addr,
                                           p_user_agent);
        RETURN QUERY SELECT v_refuse, NULL::uuid, NULL::text, NULL::text, NULL::integer, NULL::boolean,
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
