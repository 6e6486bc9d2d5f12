-- scim_user_rows (013_scim_users_page.sql) given where each user's row is
-- (its ctid) as well as its id, so it reads the rows straight from the
-- table (a TID scan) instead of finding each through users_pkey: a page of
-- 100 users made 100 descents of that index, each three buffers deep. At a
-- million users, startIndex pages anywhere: 1,055 -> 760 buffers a page
-- (pg_stat_statements), 3.36 -> 2.90 ms of PostgreSQL CPU a page (pgbench,
-- prepared, six alternating rounds). The page query (scim/list.c) has the
-- ctids for free where it reads the users' rows anyway (startIndex pages
-- through the kept counts, cursor pages, first pages), and looks them up by
-- id elsewhere.
--
-- A ctid names a row version only within a snapshot; the page query and
-- this function (STABLE) run in one, where the version the page found is
-- the version this reads. The id is compared too: a tid that names another
-- row (it cannot, in one snapshot) would give no row rather than a wrong one.
-- Same columns, same documents otherwise.

DROP FUNCTION scim_user_rows(uuid[]);

CREATE FUNCTION scim_user_rows(p_ids uuid[], p_tids tid[])
RETURNS TABLE (id uuid, external_id text, user_name text, name_formatted text, family_name text,
               given_name text, name_middle_name text, name_honorific_prefix text,
               name_honorific_suffix text, display_name text, nick_name text, profile_url text, title text,
               user_type text, preferred_language text, locale text, timezone text, active boolean,
               x509_certificates jsonb, employee_number text, cost_center text, organization text,
               division text, department text, manager_id text, manager_display text, birthdate text,
               legal_given_name text, legal_family_name text, created text, last_modified text,
               version bigint, vals json, groups json)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH RECURSIVE
    ids AS (SELECT DISTINCT ON (t.id) t.id, t.tid, t.pos
              FROM unnest(p_ids, p_tids) WITH ORDINALITY t (id, tid, pos)
             ORDER BY t.id, t.pos),
    vals AS (
        SELECT s.user_id, json_strip_nulls(json_object_agg(s.attr, s.vals)) AS o
          FROM (SELECT v.user_id, v.attr,
                       json_agg(CASE WHEN v.data IS NULL
                                     THEN json_build_object('value', v.value, 'type', v.type,
                                                            'primary', v."primary", 'display', v.display)
                                     ELSE (v.data || jsonb_build_object('value', v.value, 'type', v.type,
                                                                        'primary', v."primary", 'display', v.display))::json
                                END) AS vals
                  FROM (SELECT * FROM user_values v WHERE v.user_id = ANY (p_ids)
                         ORDER BY v.user_id, v.attr, v.ord) v
                 GROUP BY v.user_id, v.attr) s
         GROUP BY s.user_id),
    direct AS (SELECT gm.member_id AS user_id, gm.group_id FROM group_members gm WHERE gm.member_id = ANY (p_ids)),
    up (group_id, ancestor) AS (
        SELECT DISTINCT d.group_id, d.group_id FROM direct d
        UNION
        SELECT up.group_id, gm.group_id FROM group_members gm JOIN up ON gm.member_id = up.ancestor),
    grp AS (
        SELECT x.user_id,
               json_agg(json_build_object('value', x.group_id, 'display', x.display_name,
                                          'type', CASE WHEN x.direct THEN 'direct' ELSE 'indirect' END)) AS groups
          FROM (SELECT a.user_id, a.group_id, g.display_name, a.direct
                  FROM (SELECT d.user_id, up.ancestor AS group_id, bool_or(up.ancestor = d.group_id) AS direct
                          FROM direct d JOIN up ON up.group_id = d.group_id GROUP BY d.user_id, up.ancestor) a
                  JOIN groups g ON g.id = a.group_id
                 ORDER BY a.user_id, g.display_name, g.id) x
         GROUP BY x.user_id)
    SELECT u.id, u.external_id, u.user_name, u.name_formatted, u.family_name, u.given_name, u.name_middle_name,
           u.name_honorific_prefix, u.name_honorific_suffix, u.display_name, u.nick_name, u.profile_url, u.title,
           u.user_type, u.preferred_language, u.locale, u.timezone, u.active,
           jsonb_strip_nulls(u.x509_certificates), u.employee_number, u.cost_center, u.organization, u.division,
           u.department, u.manager_id,
           CASE WHEN u.manager_id IS NOT NULL THEN
               (SELECT coalesce(mu.display_name, mu.user_name) FROM users mu
                 WHERE u.manager_id ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
                   AND mu.id = u.manager_id::uuid) END,
           u.birthdate, u.legal_given_name, u.legal_family_name,
           to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           to_char(u.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           u.version, vals.o, grp.groups
      FROM ids
      JOIN users u ON u.ctid = ids.tid AND u.id = ids.id
      LEFT JOIN vals ON vals.user_id = u.id
      LEFT JOIN grp ON grp.user_id = u.id
     ORDER BY ids.pos;
END
$$;
