"""The clean-ups on the sign-in path must not read a whole table to find
expired rows: each /authorize removes a few expired pending requests
(oidc/authorize_db.c), each password sign-in that waits for an
authenticator app code removes a few expired half-finished sign-ins
(signin_pending, oidc/methods_db.c), and each failed attempt removes a few
failure counters whose window has passed (login_throttle,
OIDC_THROTTLE_GC).

The statements are prepared once per connection, and PostgreSQL plans them
from the statistics it has then. Two states of a table made plans that read
every page of it on every call, however few rows had expired; each has its
own database and server here:

  - "analyzed empty": the table is new and PostgreSQL has no statistics on
    it. The look-up for expired rows was a sequential scan (without a
    histogram PostgreSQL expects a third of the rows to match, so the first
    few look cheap). Each table holds 30,000 rows (the counters 60,000) that
    have not expired.
  - "dead rows": a table that sign-ins fill and empty again, between two
    vacuums: its statistics count no live row, and its pages hold the dead
    ones (about forty pages here). The delete of the rows found was a
    sequential scan: PostgreSQL prices a delete by tuple id as ten random
    reads, more than reading forty pages. In the flows bench
    authorization_requests sits in that state between vacuums.

In each, with autovacuum off and regain started on fresh connections, three
sign-ins of an account with an authenticator app (each loads the sign-in page
and posts the password) and three attempts with a wrong password must read a
few pages of each table (pg_statio_user_tables), not all of them. Then one
expired row is planted in each table, and one more sign-in and failed attempt
must remove them (a TAP sign-in's address counter too): the clean-ups still
work."""

import time

from authorize_browser import Browser, authorize_params, pkce, setup_fixtures
from harness import check, require, run

ROWS = 30000
DEAD_ROWS = 3500  # about forty pages of each table
PAGES_PER_CALL = 10  # the expiry index's first page, a few heap and index pages for the insert
CALLS = 3
TABLES = ("authorization_requests", "signin_pending", "login_throttle")


def most_pages(table):
    """What the calls may read of `table`. Every attempt, right or wrong,
    also counts itself in login_throttle."""
    return (2 if table == "login_throttle" else 1) * CALLS * PAGES_PER_CALL


def fill_live(sql, alice):
    """Statistics of the empty tables, then ROWS rows that have not expired."""
    sql("ANALYZE authorization_requests, signin_pending, login_throttle")
    sql("INSERT INTO authorization_requests (client_id, params, expires_at) "
        "SELECT 'rp1', '{}', now() + interval '1 hour' FROM generate_series(1, %d)" % ROWS)
    sql("INSERT INTO signin_pending (token_hash, user_id, context, amr, expires_at) "
        "SELECT sha256(i::text::bytea), '%s', 'account', '{pwd}', now() + interval '1 hour' "
        "FROM generate_series(1, %d) i" % (alice, ROWS))
    sql("INSERT INTO login_throttle (key, failures, window_start) "
        "SELECT 'user:planted-' || i, 1, now() FROM generate_series(1, %d) i" % (2 * ROWS))  # smaller rows


def fill_dead(sql, alice):
    """DEAD_ROWS rows that have not expired, deleted again, then statistics:
    no live row, and pages of dead ones."""
    fill = {
        "authorization_requests": "INSERT INTO authorization_requests (client_id, params, expires_at) "
        "SELECT 'rp1', '{}', now() + interval '1 hour' FROM generate_series(1, %d)" % DEAD_ROWS,
        "signin_pending": "INSERT INTO signin_pending (token_hash, user_id, context, amr, expires_at) "
        "SELECT sha256(i::text::bytea), '%s', 'account', '{pwd}', now() + interval '1 hour' "
        "FROM generate_series(1, %d) i" % (alice, DEAD_ROWS),
        "login_throttle": "INSERT INTO login_throttle (key, failures, window_start) "
        "SELECT 'user:gone-' || i, 1, now() FROM generate_series(1, %d) i" % (2 * DEAD_ROWS),
    }
    for t in TABLES:
        sql(fill[t])
        sql("DELETE FROM %s" % t)
    sql("ANALYZE authorization_requests, signin_pending, login_throttle")


def plant_expired(sql, alice):
    sql("INSERT INTO authorization_requests (client_id, params, expires_at) "
        "VALUES ('rp1', '{\"planted\": true}', now() - interval '1 minute')")
    sql("INSERT INTO signin_pending (token_hash, user_id, context, amr, expires_at) "
        "VALUES ('\\x01', '%s', 'planted', '{pwd}', now() - interval '1 minute')" % alice)
    sql("INSERT INTO login_throttle (key, failures, window_start) "
        "VALUES ('user:planted-old', 1, now() - interval '2 days'), "
        "('tap-addr:192.0.2.99', 1, now() - interval '2 days')")


def sign_ins(srv, calls, label):
    """`calls` sign-ins of alice (each stops at the app's code) and as many
    attempts with a wrong password."""
    for i in range(calls):
        b = Browser(srv)
        page = b.get("/authorize", authorize_params(pkce()[1]))
        require("%s: sign-in page %d" % (label, i + 1), page.status == 200, page)
        r = b.sign_in(page, "alice", "wonderland 1")
        require("%s: sign-in %d asks for the app's code" % (label, i + 1),
                r.status == 200 and 'name="code"' in r.text, r)
        page = b.get("/authorize", authorize_params(pkce()[1]))
        r = b.sign_in(page, "nobody-%d" % i, "wrong")
        require("%s: attempt %d with a wrong password is refused" % (label, i + 1),
                r.status == 200 and 'name="password"' in r.text, r)
        time.sleep(1.1)  # a backend reports its counters at most once a second


def scenario(env, label, fill, db_url=None):
    srv = env.regain(start=False, db_url=db_url)
    srv.migrate()
    sql = setup_fixtures(srv, db_url or env.db_url)
    alice = sql("SELECT id FROM users WHERE user_name = 'alice'")[0][0]
    # An authenticator app: the password step then stores a signin_pending
    # row and asks for a code (the app's secret is never read on that path).
    sql("INSERT INTO totp_authenticators (id, user_id, secret_sealed, name, confirmed) "
        "VALUES (gen_random_uuid(), '%s', '\\x00', 'phone', true)" % alice)
    # Autovacuum stays off these tables: the inserts would have it vacuum
    # and analyze them, and its reads count in pg_statio like any other (one
    # CI run read each table about three times over while it did), and its
    # ANALYZE would replace the statistics this test is about.
    for t in TABLES:
        sql("ALTER TABLE %s SET (autovacuum_enabled = off)" % t)
    fill(sql, alice)
    size = {}
    for t in TABLES:
        size[t] = int(sql("SELECT pg_relation_size('%s') / 8192" % t)[0][0])
        require("%s: %s spans twice the pages a call may read" % (label, t),
                size[t] > 2 * most_pages(t) // CALLS, size[t])
    srv.start(migrate=False)

    def counters():
        rows = sql("SELECT relname, coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0), "
                   "n_tup_ins + n_tup_upd + n_tup_del "
                   "FROM pg_statio_user_tables JOIN pg_stat_user_tables USING (relid, relname) "
                   "WHERE relname IN %s" % (TABLES,))
        return dict((name, (int(pages), int(ins))) for name, pages, ins in rows)

    before = counters()
    sign_ins(srv, CALLS, label)
    after = before
    for _ in range(60):  # ... and an idle one within about ten seconds
        after = counters()
        if all(after[t][1] - before[t][1] >= CALLS for t in TABLES):
            break
        time.sleep(0.25)
    auto = sql("SELECT relname FROM pg_stat_user_tables WHERE relname IN %s "
               "AND (last_autovacuum IS NOT NULL OR last_autoanalyze IS NOT NULL)" % (TABLES,))
    require("%s: autovacuum left the tables alone (its reads would count)" % label, auto == [], auto)
    for t in TABLES:
        require("%s: the changes to %s are counted" % (label, t), after[t][1] - before[t][1] >= CALLS,
                (before[t], after[t]))
        read = after[t][0] - before[t][0]
        check("%s: %d sign-ins and %d failed attempts read %d pages of a %d-page %s (at most %d)"
              % (label, CALLS, CALLS, read, size[t], t, most_pages(t)), read <= most_pages(t), "")
    plant_expired(sql, alice)
    sign_ins(srv, 1, label + ", expired rows planted")
    left = sql("SELECT (SELECT count(*) FROM authorization_requests WHERE params ? 'planted'), "
               "(SELECT count(*) FROM signin_pending WHERE context = 'planted'), "
               "(SELECT count(*) FROM login_throttle WHERE key = 'user:planted-old'), "
               "(SELECT count(*) FROM login_throttle WHERE key = 'tap-addr:192.0.2.99')")[0]
    check("%s: the expired request, half-finished sign-in and counters (an account's, a TAP address's) "
          "were removed" % label, left == ["0", "0", "0", "0"], left)
    srv.stop()


def main(env):
    scenario(env, "analyzed empty", fill_live)
    scenario(env, "dead rows", fill_dead, env.new_database("dead"))


if __name__ == "__main__":
    run(main)
