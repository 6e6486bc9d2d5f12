"""The clean-ups on the sign-in path must not read a whole table to find
expired rows: each /authorize removes a few expired pending requests
(oidc/authorize_db.c), each password sign-in that waits for an
authenticator app code removes a few expired half-finished sign-ins
(signin_pending, oidc/methods_db.c), and each failed attempt removes a few
failure counters whose window has passed (login_throttle,
OIDC_THROTTLE_GC).

The statements are prepared once per connection, often while the table is
new and PostgreSQL has no statistics on it. Planned then, the look-up for
expired rows was a sequential scan (without a histogram PostgreSQL expects a
third of the rows to match, so the first few look cheap), and every call read
every page of the table, however few rows had expired.

Here the tables are analyzed empty, then each holds 30,000 rows (the counters
60,000) that have not expired and one that has, and regain starts with fresh connections.
After three sign-ins of an account with an authenticator app (each loads the
sign-in page and posts the password) and three attempts with a wrong
password, PostgreSQL's own counters (pg_statio_user_tables) must show a few
pages of each table read, not its hundreds; and each planted expired row is
gone, so the clean-ups still work."""

import time

from authorize_browser import Browser, authorize_params, pkce, setup_fixtures
from harness import check, require, run

ROWS = 30000
PAGES_PER_CALL = 10  # the expiry index's first page, a few heap and index pages for the insert
CALLS = 3
TABLES = ("authorization_requests", "signin_pending", "login_throttle")


def main(env):
    srv = env.regain(start=False)
    srv.migrate()
    sql = setup_fixtures(srv, env.db_url)
    alice = sql("SELECT id FROM users WHERE user_name = 'alice'")[0][0]
    # An authenticator app: the password step then stores a signin_pending
    # row and asks for a code (the app's secret is never read on that path).
    sql("INSERT INTO totp_authenticators (id, user_id, secret_sealed, name, confirmed) "
        "VALUES (gen_random_uuid(), '%s', '\\x00', 'phone', true)" % alice)
    # Autovacuum stays off these tables: 30,000 inserts would have it vacuum
    # and analyze them, and its reads count in pg_statio like any other (one
    # CI run read each table about three times over while it did), and its
    # ANALYZE would replace the empty statistics this test is about.
    for t in TABLES:
        sql("ALTER TABLE %s SET (autovacuum_enabled = off)" % t)
    sql("ANALYZE authorization_requests, signin_pending, login_throttle")
    sql("INSERT INTO authorization_requests (client_id, params, expires_at) "
        "SELECT 'rp1', '{}', now() + interval '1 hour' FROM generate_series(1, %d)" % ROWS)
    sql("INSERT INTO authorization_requests (client_id, params, expires_at) "
        "VALUES ('rp1', '{\"planted\": true}', now() - interval '1 minute')")
    sql("INSERT INTO signin_pending (token_hash, user_id, context, amr, expires_at) "
        "SELECT sha256(i::text::bytea), '%s', 'account', '{pwd}', now() + interval '1 hour' "
        "FROM generate_series(1, %d) i" % (alice, ROWS))
    sql("INSERT INTO signin_pending (token_hash, user_id, context, amr, expires_at) "
        "VALUES ('\\x01', '%s', 'planted', '{pwd}', now() - interval '1 minute')" % alice)
    sql("INSERT INTO login_throttle (key, failures, window_start) "
        "SELECT 'user:planted-' || i, 1, now() FROM generate_series(1, %d) i" % (2 * ROWS))  # smaller rows
    sql("INSERT INTO login_throttle (key, failures, window_start) "
        "VALUES ('user:planted-old', 1, now() - interval '2 days')")
    size = {}
    for t in TABLES:
        size[t] = int(sql("SELECT pg_relation_size('%s') / 8192" % t)[0][0])
        require("%s spans many pages" % t, size[t] > 8 * CALLS * PAGES_PER_CALL, size[t])
    srv.start(migrate=False)

    def counters():
        rows = sql("SELECT relname, coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0), "
                   "n_tup_ins + n_tup_upd + n_tup_del "
                   "FROM pg_statio_user_tables JOIN pg_stat_user_tables USING (relid, relname) "
                   "WHERE relname IN %s" % (TABLES,))
        return dict((name, (int(pages), int(ins))) for name, pages, ins in rows)

    before = counters()
    for i in range(CALLS):
        b = Browser(srv)
        page = b.get("/authorize", authorize_params(pkce()[1]))
        require("sign-in page %d" % (i + 1), page.status == 200, page)
        r = b.sign_in(page, "alice", "wonderland 1")
        require("sign-in %d asks for the app's code" % (i + 1),
                r.status == 200 and 'name="code"' in r.text, r)
        page = b.get("/authorize", authorize_params(pkce()[1]))
        r = b.sign_in(page, "nobody-%d" % i, "wrong")
        require("attempt %d with a wrong password is refused" % (i + 1),
                r.status == 200 and 'name="password"' in r.text, r)
        time.sleep(1.1)  # a backend reports its counters at most once a second
    after = before
    for _ in range(60):  # ... and an idle one within about ten seconds
        after = counters()
        if all(after[t][1] - before[t][1] >= CALLS for t in TABLES):
            break
        time.sleep(0.25)
    auto = sql("SELECT relname FROM pg_stat_user_tables WHERE relname IN %s "
               "AND (last_autovacuum IS NOT NULL OR last_autoanalyze IS NOT NULL)" % (TABLES,))
    require("autovacuum left the tables alone (its reads would count)", auto == [], auto)
    for t in TABLES:
        require("the changes to %s are counted" % t, after[t][1] - before[t][1] >= CALLS,
                (before[t], after[t]))
        read = after[t][0] - before[t][0]
        # Every attempt, right or wrong, also counts itself in login_throttle.
        most = (2 if t == "login_throttle" else 1) * CALLS * PAGES_PER_CALL
        check("%d sign-ins and %d failed attempts read %d pages of a %d-page %s (at most %d)"
              % (CALLS, CALLS, read, size[t], t, most), read <= most, "")
    left = sql("SELECT (SELECT count(*) FROM authorization_requests WHERE params ? 'planted'), "
               "(SELECT count(*) FROM signin_pending WHERE context = 'planted'), "
               "(SELECT count(*) FROM login_throttle WHERE key = 'user:planted-old')")[0]
    check("the expired request, half-finished sign-in and counter were removed", left == ["0", "0", "0"], left)


if __name__ == "__main__":
    run(main)
