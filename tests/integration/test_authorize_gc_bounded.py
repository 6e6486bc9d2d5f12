"""Each /authorize removes a few expired pending requests (oidc/authorize_db.c)
and must not read the whole table to find them.

The statement is prepared once per connection, often while the table is new
and PostgreSQL has no statistics on it. Planned then, the look-up for expired
rows was a sequential scan (without a histogram PostgreSQL expects a third of
the rows to match, so the first 16 look cheap), and every /authorize read
every page of authorization_requests, however few rows had expired.

Here the table is analyzed empty, then holds 30,000 requests that have not
expired, and regain starts with fresh connections. Three sign-in pages later,
PostgreSQL's own counters (pg_statio_user_tables) must show a few pages of
the table read, not its hundreds; and an expired request planted beside them
is gone, so the clean-up still works."""

import time

from authorize_browser import Browser, authorize_params, pkce, setup_fixtures
from harness import check, psql, require, run

ROWS = 30000
PAGES_PER_CALL = 10  # the expiry index's first page, a few heap and index pages for the insert


def heap_pages(url):
    rc, rows, err = psql(url, "SELECT coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0), n_tup_ins "
                              "FROM pg_statio_user_tables JOIN pg_stat_user_tables USING (relid) "
                              "WHERE relid = 'authorization_requests'::regclass")
    require("statistics of authorization_requests", rc == 0 and len(rows) == 1, err)
    return int(rows[0][0]), int(rows[0][1])


def main(env):
    srv = env.regain(start=False)
    srv.migrate()
    sql = setup_fixtures(srv, env.db_url)
    sql("ANALYZE authorization_requests")
    sql("INSERT INTO authorization_requests (client_id, params, expires_at) "
        "SELECT 'rp1', '{}', now() + interval '1 hour' FROM generate_series(1, %d)" % ROWS)
    sql("INSERT INTO authorization_requests (client_id, params, expires_at) "
        "VALUES ('rp1', '{\"planted\": true}', now() - interval '1 minute')")
    table_pages = int(sql("SELECT pg_relation_size('authorization_requests') / 8192")[0][0])
    require("the table spans many pages", table_pages > 8 * 3 * PAGES_PER_CALL, table_pages)
    srv.start(migrate=False)

    before, ins_before = heap_pages(env.db_url)
    calls = 3
    for i in range(calls):
        page = Browser(srv).get("/authorize", authorize_params(pkce()[1]))
        require("sign-in page %d" % (i + 1), page.status == 200, page)
        time.sleep(1.1)  # a backend reports its counters at most once a second
    after, ins_after = before, ins_before
    for _ in range(60):  # ... and an idle one within about ten seconds
        after, ins_after = heap_pages(env.db_url)
        if ins_after - ins_before >= calls:
            break
        time.sleep(0.25)
    require("the three requests are counted", ins_after - ins_before >= calls, (ins_before, ins_after))
    check("%d sign-in pages read %d pages of a %d-page authorization_requests (at most %d)"
          % (calls, after - before, table_pages, calls * PAGES_PER_CALL),
          after - before <= calls * PAGES_PER_CALL, "")
    left = sql("SELECT count(*) FROM authorization_requests WHERE params ? 'planted'")[0][0]
    check("the expired request was removed by a sign-in page", left == "0", left)


if __name__ == "__main__":
    run(main)
