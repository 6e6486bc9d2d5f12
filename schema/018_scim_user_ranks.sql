-- Order statistics for startIndex pages of Users (scim/list.c).
--
-- A page at startIndex S was ORDER BY ... LIMIT count OFFSET S-1: an index
-- scan that steps over S-1 entries first, linear in S (about 170 ms for a
-- page near the end of a million users, 2 to 3 ms near the start). Real
-- provisioning clients page by startIndex through the whole directory
-- (Okta's import walks GET /Users?startIndex=N&count=100 to the end), so a
-- deep page must cost what a shallow one does.
--
-- For each of the two orders users are listed in most, the default order
-- (created_at, id) and userName (lower(user_name), unique), the key space is
-- cut into ranges ("buckets"), and each range keeps the exact number of
-- users whose key falls in it. A bucket is named by its first key (lo) and
-- runs up to the next bucket's lo; the first bucket starts below every key.
-- A page at offset o sums the counts in key order (about 1,000 rows at a
-- million users) to find the bucket holding the o-th user and how many of
-- that bucket's users come before it, then scans the sort order's index from
-- that bucket's lo, skipping fewer than one bucket's worth of entries.
--
-- Exact, not an estimate: the counts change in the same transaction as the
-- users (statement triggers below), so the page query, one statement, sees
-- the counts and the rows of one snapshot. Writers of the counts take the
-- row lock on scim_counts' 'User' row first, as every creation and deletion
-- of users already does (007_scim.sql): one transaction at a time changes
-- bucket rows, so bucket rows are never locked in conflicting orders, and a
-- writer that splits a bucket counts that bucket's users knowing that no
-- other transaction has users in it that its counts do not reflect.
--
-- Buckets stay small: one that grows past split_at users (at the end of a
-- statement) is cut into pieces of split_at / 2 at the keys found by its
-- index; one that shrinks under split_at / 4 joins the bucket before it if
-- the two together hold at most split_at. split_at lives in a table so tests
-- can make buckets tiny and exercise splits and merges with a few users.
--
-- Orders not kept here (displayName, meta.lastModified, any other sortBy,
-- Groups) and filtered lists, whose counts depend on the filter, still page
-- with OFFSET.

CREATE TABLE scim_rank_settings (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    split_at  integer NOT NULL CHECK (split_at >= 4)
);
INSERT INTO scim_rank_settings (split_at) VALUES (2000);

-- userName order: lo is a lower(user_name) (same collation as the index
-- users_user_name_ci); the first bucket's lo is '', below every name.
CREATE TABLE scim_rank_user_name (
    lo  text PRIMARY KEY,
    n   integer NOT NULL CHECK (n >= 0)
);

-- Default order: (created_at, id); the first bucket starts at
-- ('-infinity', the nil uuid), below every user.
CREATE TABLE scim_rank_created (
    lo_at  timestamptz NOT NULL,
    lo_id  uuid NOT NULL,
    n      integer NOT NULL CHECK (n >= 0),
    PRIMARY KEY (lo_at, lo_id)
);

-- ---- keeping the counts -------------------------------------------------------

-- A default-order key as one value (compared field by field, as the index).
CREATE TYPE scim_rank_created_key AS (at timestamptz, id uuid);

-- Splits and merges userName bucket p_lo after its count changed.
CREATE FUNCTION scim_rank_user_name_fix(p_lo text, p_split integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_n bigint;
    v_hi text;
    v_part integer := p_split / 2;
    v_prev text;
    v_prev_n bigint;
    v_keys text[];
BEGIN
    SELECT r.n INTO v_n FROM scim_rank_user_name r WHERE r.lo = p_lo;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF v_n > p_split THEN
        SELECT min(r.lo) INTO v_hi FROM scim_rank_user_name r WHERE r.lo > p_lo;
        -- The bucket's keys in order, from its index (a sorted subquery:
        -- array_agg keeps its order); a new bucket starts at every v_part-th,
        -- the counts come from the same scan.
        IF v_hi IS NULL THEN
            SELECT array_agg(s.k) INTO v_keys
              FROM (SELECT lower(u.user_name) AS k FROM users u WHERE lower(u.user_name) >= p_lo
                     ORDER BY lower(u.user_name)) s;
        ELSE
            SELECT array_agg(s.k) INTO v_keys
              FROM (SELECT lower(u.user_name) AS k FROM users u
                     WHERE lower(u.user_name) >= p_lo AND lower(u.user_name) < v_hi
                     ORDER BY lower(u.user_name)) s;
        END IF;
        v_n := coalesce(cardinality(v_keys), 0);
        UPDATE scim_rank_user_name r SET n = least(v_part, v_n) WHERE r.lo = p_lo;
        -- (keys are unique and above p_lo: no new lo repeats one)
        INSERT INTO scim_rank_user_name (lo, n)
        SELECT v_keys[i + 1], least(v_part, v_n - i) FROM generate_series(v_part, v_n - 1, v_part) i;
    ELSIF v_n < p_split / 4 AND p_lo <> '' THEN
        SELECT r.lo, r.n INTO v_prev, v_prev_n FROM scim_rank_user_name r
         WHERE r.lo < p_lo ORDER BY r.lo DESC LIMIT 1;
        IF FOUND AND v_prev_n + v_n <= p_split THEN
            DELETE FROM scim_rank_user_name r WHERE r.lo = p_lo;
            UPDATE scim_rank_user_name r SET n = r.n + v_n WHERE r.lo = v_prev;
        END IF;
    END IF;
END
$$;

-- Default-order bucket (p_at, p_id): the same.
CREATE FUNCTION scim_rank_created_fix(p_at timestamptz, p_id uuid, p_split integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_n bigint;
    v_hi_at timestamptz;
    v_hi_id uuid;
    v_part integer := p_split / 2;
    v_prev_at timestamptz;
    v_prev_id uuid;
    v_prev_n bigint;
    v_ats timestamptz[];
    v_ids uuid[];
BEGIN
    SELECT r.n INTO v_n FROM scim_rank_created r WHERE (r.lo_at, r.lo_id) = (p_at, p_id);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF v_n > p_split THEN
        SELECT r.lo_at, r.lo_id INTO v_hi_at, v_hi_id FROM scim_rank_created r
         WHERE (r.lo_at, r.lo_id) > (p_at, p_id) ORDER BY r.lo_at, r.lo_id LIMIT 1;
        IF v_hi_at IS NULL THEN
            SELECT array_agg(s.created_at), array_agg(s.id) INTO v_ats, v_ids
              FROM (SELECT u.created_at, u.id FROM users u WHERE (u.created_at, u.id) >= (p_at, p_id)
                     ORDER BY u.created_at, u.id) s;
        ELSE
            SELECT array_agg(s.created_at), array_agg(s.id) INTO v_ats, v_ids
              FROM (SELECT u.created_at, u.id FROM users u
                     WHERE (u.created_at, u.id) >= (p_at, p_id) AND (u.created_at, u.id) < (v_hi_at, v_hi_id)
                     ORDER BY u.created_at, u.id) s;
        END IF;
        v_n := coalesce(cardinality(v_ids), 0);
        UPDATE scim_rank_created r SET n = least(v_part, v_n) WHERE (r.lo_at, r.lo_id) = (p_at, p_id);
        INSERT INTO scim_rank_created (lo_at, lo_id, n)
        SELECT v_ats[i + 1], v_ids[i + 1], least(v_part, v_n - i) FROM generate_series(v_part, v_n - 1, v_part) i;
    ELSIF v_n < p_split / 4 AND p_at <> '-infinity' THEN
        SELECT r.lo_at, r.lo_id, r.n INTO v_prev_at, v_prev_id, v_prev_n FROM scim_rank_created r
         WHERE (r.lo_at, r.lo_id) < (p_at, p_id) ORDER BY r.lo_at DESC, r.lo_id DESC LIMIT 1;
        IF FOUND AND v_prev_n + v_n <= p_split THEN
            DELETE FROM scim_rank_created r WHERE (r.lo_at, r.lo_id) = (p_at, p_id);
            UPDATE scim_rank_created r SET n = r.n + v_n WHERE (r.lo_at, r.lo_id) = (v_prev_at, v_prev_id);
        END IF;
    END IF;
END
$$;

-- Users come (p_sign 1) or go (-1): their userName keys and created keys.
CREATE FUNCTION scim_rank_change(p_names text[], p_ats timestamptz[], p_ids uuid[], p_sign integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_split integer;
    v_names text[];
    v_ats timestamptz[];
    v_ids uuid[];
    v_deltas bigint[];
    v_los text[];
    v_keys scim_rank_created_key[];
BEGIN
    -- One writer of the buckets at a time: the lock every creation and
    -- deletion of users takes anyway (scim_count_rows). Statements after it
    -- see what the previous writer committed.
    PERFORM 1 FROM scim_counts c WHERE c.resource = 'User' FOR NO KEY UPDATE;
    SELECT s.split_at INTO v_split FROM scim_rank_settings s;
    -- Each key counts in the bucket with the greatest lo not above it:
    -- width_bucket's binary search over the lo of the buckets from the
    -- smallest key's to the largest's (a statement's keys are usually
    -- near each other: one or two buckets), instead of an index probe per key.
    SELECT array_agg(r.lo ORDER BY r.lo) INTO v_los
      FROM scim_rank_user_name r
     WHERE r.lo >= (SELECT b.lo FROM scim_rank_user_name b WHERE b.lo <= (SELECT min(x) FROM unnest(p_names) x)
                     ORDER BY b.lo DESC LIMIT 1)
       AND r.lo <= (SELECT max(x) FROM unnest(p_names) x);
    SELECT array_agg(v_los[g.i] ORDER BY g.i), array_agg(g.d ORDER BY g.i) INTO v_names, v_deltas
      FROM (SELECT width_bucket(x.name, v_los) AS i, count(*) AS d FROM unnest(p_names) x (name) GROUP BY 1) g;
    UPDATE scim_rank_user_name r SET n = r.n + p_sign * x.d FROM unnest(v_names, v_deltas) x (lo, d)
     WHERE r.lo = x.lo;
    SELECT array_agg((r.lo_at, r.lo_id)::scim_rank_created_key ORDER BY r.lo_at, r.lo_id) INTO v_keys
      FROM scim_rank_created r
     WHERE (r.lo_at, r.lo_id) >= (SELECT b.lo_at, b.lo_id FROM scim_rank_created b
                                  WHERE (b.lo_at, b.lo_id) <= (SELECT x.at, x.id FROM unnest(p_ats, p_ids) x (at, id)
                                                                ORDER BY x.at, x.id LIMIT 1)
                                  ORDER BY b.lo_at DESC, b.lo_id DESC LIMIT 1)
       AND (r.lo_at, r.lo_id) <= (SELECT x.at, x.id FROM unnest(p_ats, p_ids) x (at, id)
                                   ORDER BY x.at DESC, x.id DESC LIMIT 1);
    SELECT array_agg(v_keys[g.i].at ORDER BY g.i), array_agg(v_keys[g.i].id ORDER BY g.i),
           array_agg(g.d ORDER BY g.i) INTO v_ats, v_ids, v_deltas
      FROM (SELECT width_bucket((x.at, x.id)::scim_rank_created_key, v_keys) AS i, count(*) AS d
              FROM unnest(p_ats, p_ids) x (at, id) GROUP BY 1) g;
    UPDATE scim_rank_created r SET n = r.n + p_sign * x.d FROM unnest(v_ats, v_ids, v_deltas) x (at, id, d)
     WHERE (r.lo_at, r.lo_id) = (x.at, x.id);
    -- Splits and merges once every count is right, in key order (a merge
    -- changes only the bucket and the one before it, a split adds buckets
    -- inside its own range: the buckets still to fix are where they were).
    FOR i IN 1 .. coalesce(cardinality(v_names), 0) LOOP
        PERFORM scim_rank_user_name_fix(v_names[i], v_split);
    END LOOP;
    FOR i IN 1 .. coalesce(cardinality(v_ids), 0) LOOP
        PERFORM scim_rank_created_fix(v_ats[i], v_ids[i], v_split);
    END LOOP;
END
$$;

CREATE FUNCTION scim_rank_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_names text[];
    v_ats timestamptz[];
    v_ids uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(lower(r.user_name)), array_agg(r.created_at), array_agg(r.id)
          INTO v_names, v_ats, v_ids FROM new_rows r;
        IF v_ids IS NOT NULL THEN
            PERFORM scim_rank_change(v_names, v_ats, v_ids, 1);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(lower(r.user_name)), array_agg(r.created_at), array_agg(r.id)
          INTO v_names, v_ats, v_ids FROM old_rows r;
        IF v_ids IS NOT NULL THEN
            PERFORM scim_rank_change(v_names, v_ats, v_ids, -1);
        END IF;
    ELSE -- TRUNCATE
        DELETE FROM scim_rank_user_name WHERE lo <> '';
        UPDATE scim_rank_user_name SET n = 0;
        DELETE FROM scim_rank_created WHERE lo_at <> '-infinity';
        UPDATE scim_rank_created SET n = 0;
    END IF;
    RETURN NULL;
END
$$;

-- A rename moves a user between userName buckets; created_at never changes
-- (nothing updates it), and a change of it would move the row the same way.
CREATE FUNCTION scim_rank_row_moved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM scim_rank_change(ARRAY[lower(OLD.user_name)], ARRAY[OLD.created_at], ARRAY[OLD.id], -1);
    PERFORM scim_rank_change(ARRAY[lower(NEW.user_name)], ARRAY[NEW.created_at], ARRAY[NEW.id], 1);
    RETURN NULL;
END
$$;

CREATE TRIGGER users_rank_insert AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scim_rank_rows();
CREATE TRIGGER users_rank_delete AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scim_rank_rows();
CREATE TRIGGER users_rank_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION scim_rank_rows();
CREATE TRIGGER users_rank_move AFTER UPDATE OF user_name, created_at, id ON users FOR EACH ROW
    WHEN (lower(OLD.user_name) IS DISTINCT FROM lower(NEW.user_name)
          OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION scim_rank_row_moved();

-- ---- finding a page -------------------------------------------------------------

-- Where the page of p_limit users at p_offset (0-based) in userName order
-- (descending when p_desc) lies, as a scan of the index in ascending order:
-- start at key lo, skip `skip` keys, take `take` (a descending page is the
-- same keys read from the other end; the caller orders them). No row when
-- the page starts past the end. The bucket is the first whose running sum
-- passes the page's first position: the window runs in lo order, so the scan
-- of the buckets stops there. STABLE: the counts come from the calling
-- statement's snapshot, as its rows do. plpgsql keeps the plan.
CREATE FUNCTION scim_rank_user_name_seek(p_offset bigint, p_limit bigint, p_desc boolean)
RETURNS TABLE (lo text, skip bigint, take bigint)
LANGUAGE plpgsql STABLE ROWS 1 AS $$
#variable_conflict use_column
DECLARE
    v_first bigint := p_offset;
    v_take bigint := p_limit;
    v_total bigint;
BEGIN
    IF p_desc THEN
        SELECT coalesce(sum(r.n), 0) INTO v_total FROM scim_rank_user_name r;
        v_first := greatest(v_total - p_offset - p_limit, 0);
        v_take := greatest(least(p_limit, v_total - p_offset), 0);
    END IF;
    RETURN QUERY
    SELECT s.lo, v_first - (s.cum - s.n), v_take
      FROM (SELECT r.lo, r.n, sum(r.n) OVER (ORDER BY r.lo ROWS UNBOUNDED PRECEDING) AS cum
              FROM scim_rank_user_name r) s
     WHERE s.cum > v_first ORDER BY s.lo LIMIT 1;
END
$$;

-- The same for the default order.
CREATE FUNCTION scim_rank_created_seek(p_offset bigint, p_limit bigint, p_desc boolean)
RETURNS TABLE (lo_at timestamptz, lo_id uuid, skip bigint, take bigint)
LANGUAGE plpgsql STABLE ROWS 1 AS $$
#variable_conflict use_column
DECLARE
    v_first bigint := p_offset;
    v_take bigint := p_limit;
    v_total bigint;
BEGIN
    IF p_desc THEN
        SELECT coalesce(sum(r.n), 0) INTO v_total FROM scim_rank_created r;
        v_first := greatest(v_total - p_offset - p_limit, 0);
        v_take := greatest(least(p_limit, v_total - p_offset), 0);
    END IF;
    RETURN QUERY
    SELECT s.lo_at, s.lo_id, v_first - (s.cum - s.n), v_take
      FROM (SELECT r.lo_at, r.lo_id, r.n,
                   sum(r.n) OVER (ORDER BY r.lo_at, r.lo_id ROWS UNBOUNDED PRECEDING) AS cum
              FROM scim_rank_created r) s
     WHERE s.cum > v_first ORDER BY s.lo_at, s.lo_id LIMIT 1;
END
$$;

-- ---- the users already present ---------------------------------------------------

INSERT INTO scim_rank_user_name (lo, n)
SELECT '', 0;
INSERT INTO scim_rank_created (lo_at, lo_id, n)
SELECT '-infinity', '00000000-0000-0000-0000-000000000000', 0;

DO $$
DECLARE
    v_part integer := (SELECT split_at / 2 FROM scim_rank_settings);
BEGIN
    LOCK TABLE users IN SHARE MODE; -- no writes while the counts are built
    WITH k AS (SELECT lower(u.user_name) AS key, row_number() OVER (ORDER BY lower(u.user_name)) - 1 AS i,
                      count(*) OVER () AS total
                 FROM users u)
    INSERT INTO scim_rank_user_name (lo, n)
    SELECT k.key, least(v_part, k.total - k.i) FROM k WHERE k.i > 0 AND k.i % v_part = 0;
    UPDATE scim_rank_user_name SET n = least(v_part, (SELECT count(*) FROM users)) WHERE lo = '';
    WITH k AS (SELECT u.created_at, u.id, row_number() OVER (ORDER BY u.created_at, u.id) - 1 AS i,
                      count(*) OVER () AS total
                 FROM users u)
    INSERT INTO scim_rank_created (lo_at, lo_id, n)
    SELECT k.created_at, k.id, least(v_part, k.total - k.i) FROM k WHERE k.i > 0 AND k.i % v_part = 0;
    UPDATE scim_rank_created SET n = least(v_part, (SELECT count(*) FROM users)) WHERE lo_at = '-infinity';
END
$$;
