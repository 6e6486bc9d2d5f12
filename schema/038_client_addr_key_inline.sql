-- The address key of a password sign-in without a call of PL/pgSQL.
--
-- client_addr_key (016, 036) is PL/pgSQL: it needs an EXCEPTION block for
-- text that is not an address. PostgreSQL sets a PL/pgSQL function's
-- expressions up again in every transaction that calls it, so each call
-- costs a short statement far more than its work: a password sign-in calls
-- it twice (the attempt's counter and its forgiveness), about 0.035 ms of
-- the backend's CPU per sign-in (make bench, complete flows; six runs with
-- and without the calls, alternating, against the hash's CPU in the same
-- run).
--
-- This SQL function gives the same key for every input. The planner inlines
-- it into the statement that names it (one SELECT of one expression, every
-- argument a cheap one), so an IPv4 address in inet_ntop's form, which is
-- its own key (036), is answered by the pattern test alone; anything else
-- still goes to client_addr_key. The statements of the password and code
-- sign-ins name it (oidc/throttle_db.c, oidc/internal.h, oidc/methods_db.c);
-- the PL/pgSQL functions and the index of 031 keep client_addr_key.
CREATE FUNCTION client_addr_key_inline(p_addr text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_addr ~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$'
        THEN p_addr
        ELSE client_addr_key(p_addr)
    END
$$;
