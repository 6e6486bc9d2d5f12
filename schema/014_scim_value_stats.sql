-- Finer statistics on the expressions that value-path and userName filters
-- compare with: lower(user_values.value) and lower(users.user_name).
--
-- A filtered list is ordered (meta.created and id unless sortBy says
-- otherwise) and cut at count + 1 rows, so PostgreSQL chooses between
-- finding the matching rows first and sorting them, or walking the sort
-- order's index and testing each row until the page is full. With the
-- default 100 histogram buckets, a prefix whose range happens to hold a
-- bucket bound is estimated at a whole bucket, 1% of the rows: at a million
-- users, emails[type eq "work" and value sw "user033189"] (10 matches) was
-- estimated at 10,101, the planner walked meta.created probing user_values
-- for every user, and the query took 4.8 s instead of 0.4 ms. Those were the
-- 5 s stalls of the SCIM benchmark: they passed the query deadline, reset
-- their connections and failed the requests queued behind them. With 1,000
-- buckets the worst such estimate is 0.1% and the matches are found first.
ALTER INDEX user_values_value ALTER COLUMN 2 SET STATISTICS 1000;
ALTER INDEX user_values_type_value ALTER COLUMN 3 SET STATISTICS 1000;
ALTER INDEX users_user_name_ci ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX users_user_name_prefix ALTER COLUMN 1 SET STATISTICS 1000;
-- A database that already holds users gets the finer histograms now rather
-- than at autovacuum's next analyze (a few seconds at a million users).
ANALYZE users;
ANALYZE user_values;
