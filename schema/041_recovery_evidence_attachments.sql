-- Evidence attachments out of what recovery has already stored.
--
-- schema/011_recovery.sql promises that recovery never stores document
-- images, yet until the oidc-ida provider dropped them (providers/oidc_ida.c,
-- write_value) the provider's evidence was stored whole, and OpenID Connect
-- for Identity Assurance evidence may carry `attachments`: the documents
-- themselves, base64-embedded (`content`), or links to them (`url`). They
-- were stored in recovery_attempts.verified_claims and copied to
-- sessions.verified_claims (recovery_session_claims, schema/011), from where
-- ID tokens are built. This removes every `attachments` member, at any depth,
-- from the evidence already stored (verification.evidence: claims are flat
-- strings and stay as they are), in both tables. Rows without one are not
-- touched. The helper function serves this migration only and is dropped.

CREATE FUNCTION regain_without_attachments(p jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF jsonb_typeof(p) = 'object' THEN
        RETURN coalesce((SELECT jsonb_object_agg(key, regain_without_attachments(value))
                         FROM jsonb_each(p) WHERE key <> 'attachments'), '{}'::jsonb);
    ELSIF jsonb_typeof(p) = 'array' THEN
        RETURN coalesce((SELECT jsonb_agg(regain_without_attachments(value) ORDER BY ord)
                         FROM jsonb_array_elements(p) WITH ORDINALITY AS e(value, ord)), '[]'::jsonb);
    END IF;
    RETURN p;
END $$;

UPDATE recovery_attempts
   SET verified_claims = jsonb_set(verified_claims, '{verification,evidence}',
                                   regain_without_attachments(verified_claims #> '{verification,evidence}'))
 WHERE verified_claims #> '{verification,evidence}' IS NOT NULL
   AND (verified_claims #> '{verification,evidence}')::text LIKE '%"attachments"%';

UPDATE sessions
   SET verified_claims = jsonb_set(verified_claims, '{verification,evidence}',
                                   regain_without_attachments(verified_claims #> '{verification,evidence}'))
 WHERE verified_claims #> '{verification,evidence}' IS NOT NULL
   AND (verified_claims #> '{verification,evidence}')::text LIKE '%"attachments"%';

DROP FUNCTION regain_without_attachments(jsonb);
