-- scim_rank_rebuild(): the kept row counts of 018_scim_user_ranks.sql built
-- again from the users present, as 018 built them when it ran.
--
-- Cuts both orders into buckets of split_at / 2 users: for an operator who
-- wants buckets of another size (after changing scim_rank_settings.split_at),
-- or counts to start over from the rows. Writes to users wait meanwhile
-- (SHARE lock); a second or two at a million users.
CREATE FUNCTION scim_rank_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_part integer;
BEGIN
    LOCK TABLE users IN SHARE MODE;
    PERFORM 1 FROM scim_counts c WHERE c.resource = 'User' FOR NO KEY UPDATE;
    SELECT s.split_at / 2 INTO v_part FROM scim_rank_settings s;
    DELETE FROM scim_rank_user_name;
    INSERT INTO scim_rank_user_name (lo, n)
    SELECT CASE WHEN k.i = 0 THEN '' ELSE k.key END, least(v_part, k.total - k.i)
      FROM (SELECT lower(u.user_name) AS key, row_number() OVER (ORDER BY lower(u.user_name)) - 1 AS i,
                   count(*) OVER () AS total
              FROM users u) k
     WHERE k.i % v_part = 0;
    INSERT INTO scim_rank_user_name (lo, n) SELECT '', 0 WHERE NOT EXISTS (SELECT FROM scim_rank_user_name);
    DELETE FROM scim_rank_created;
    INSERT INTO scim_rank_created (lo_at, lo_id, n)
    SELECT CASE WHEN k.i = 0 THEN '-infinity' ELSE k.created_at END,
           CASE WHEN k.i = 0 THEN '00000000-0000-0000-0000-000000000000' ELSE k.id END,
           least(v_part, k.total - k.i)
      FROM (SELECT u.created_at, u.id, row_number() OVER (ORDER BY u.created_at, u.id) - 1 AS i,
                   count(*) OVER () AS total
              FROM users u) k
     WHERE k.i % v_part = 0;
    INSERT INTO scim_rank_created (lo_at, lo_id, n)
    SELECT '-infinity', '00000000-0000-0000-0000-000000000000', 0 WHERE NOT EXISTS (SELECT FROM scim_rank_created);
END
$$;
