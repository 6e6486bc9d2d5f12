-- A page of users for listing (scim/list.c), as columns instead of documents.
--
-- scim_user_docs builds each document with jsonb_build_object and friends,
-- about 40 us a user: 4 of the 5 ms a 100-user page costs PostgreSQL at a
-- million users, which puts the page's p99 over its 20 ms target once a few
-- run at a time on two cores. This returns what a document is made of, one
-- row per user in the order given, and scim/user_doc.c writes the same
-- document in C (about 1 us). scim_user_docs stays the definition for every
-- other read and write; the two are kept equal by
-- tests/integration/test_scim_list_docs.py, which compares a list with GET
-- for users that carry every attribute.
--
--   vals    the multi-valued attributes as one JSON object, attribute name ->
--           array of values in the client's order, nulls removed (what
--           scim_user_docs merges into the document), or NULL
--   groups  the groups array of the document (direct and indirect, ordered
--           by displayName then id), or NULL
CREATE FUNCTION scim_user_rows(p_ids uuid[])
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
    ids AS (SELECT DISTINCT ON (t.id) t.id, t.pos FROM unnest(p_ids) WITH ORDINALITY t (id, pos)
             ORDER BY t.id, t.pos),
    vals AS (
        SELECT s.user_id, json_strip_nulls(json_object_agg(s.attr, s.vals)) AS o
          FROM (SELECT v.user_id, v.attr,
                       json_agg(CASE WHEN v.data IS NULL
                                     THEN (SELECT row_to_json(x) FROM (SELECT v.value, v.type, v."primary", v.display) x)
                                     ELSE (v.data || jsonb_build_object('value', v.value, 'type', v.type,
                                                                        'primary', v."primary", 'display', v.display))::json
                                END ORDER BY v.ord) AS vals
                  FROM user_values v WHERE v.user_id = ANY (p_ids) GROUP BY v.user_id, v.attr) s
         GROUP BY s.user_id),
    m (user_id, group_id, direct) AS (
        SELECT gm.member_id, gm.group_id, true FROM group_members gm WHERE gm.member_id = ANY (p_ids)
        UNION
        SELECT m.user_id, gm.group_id, false FROM group_members gm JOIN m ON gm.member_id = m.group_id),
    grp AS (
        SELECT d.user_id,
               json_agg((SELECT row_to_json(x) FROM (SELECT g.id AS value, g.display_name AS display,
                                   CASE WHEN d.direct THEN 'direct' ELSE 'indirect' END AS type) x)
                        ORDER BY g.display_name, g.id) AS groups
          FROM (SELECT m.user_id, m.group_id, bool_or(m.direct) AS direct FROM m GROUP BY m.user_id, m.group_id) d
          JOIN groups g ON g.id = d.group_id
         GROUP BY d.user_id)
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
      JOIN users u ON u.id = ids.id
      LEFT JOIN vals ON vals.user_id = u.id
      LEFT JOIN grp ON grp.user_id = u.id
     ORDER BY ids.pos;
END
$$;
