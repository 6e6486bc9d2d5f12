-- regain_code_redeem (006) has no caller since the token endpoint redeems
-- codes with regain_code_exchange (017); a second copy of the redemption
-- rules would only drift from the one in use.
DROP FUNCTION regain_code_redeem(bytea, text, text, text, bytea, integer);
