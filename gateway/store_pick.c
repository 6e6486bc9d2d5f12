/* Which of a loop's connections the next query goes to.
 *
 * The first connection that is keeping up, not the least busy one: a
 * PostgreSQL backend that finds several queries waiting in its socket runs
 * them one after the other without sleeping in between, while queries
 * spread over every connection wake every backend, and each wake-up is a
 * context switch on the same few cores the gateway runs on. On this
 * project's 2-core bench machine, with two connections per loop, that was
 * 7-10% more code exchanges per second (alternating runs of
 * tests/bench/oidc.sh's exchange: 10,100/s against 9,160/s, and in a
 * slower period 9,120/s against 8,530/s).
 *
 * Packing must not queue a query behind a slow one:
 *   - a connection with a search in flight (a run-time statement of
 *     store_query_send_sql: a SCIM list, an audit query, whose cost the
 *     client's filter decides) is never packed onto; with the least-busy
 *     choice, four concurrent SCIM pages each had a backend of their own,
 *     and packing them pairwise added 1.5-4 ms to the bench's page p99;
 *   - nor is one whose backend has been on its current query for
 *     STORE_PACK_US or more (a bulk, a statement waiting for a lock): the
 *     bound is a little above what one sign-in or token statement takes
 *     under load (50-400 us).
 * When every usable connection is behind, the query goes to the one with
 * the fewest in flight. */
#include "gateway/store_internal.h"

int store_pick(const store_conn_load_t *load, unsigned n)
{
    int fewest = -1;
    for (unsigned i = 0; i < n; i++) {
        if (!load[i].usable)
            continue;
        if (!load[i].searching && load[i].head_busy_us < STORE_PACK_US)
            return (int)i;
        if (fewest < 0 || load[i].in_flight < load[fewest].in_flight)
            fewest = (int)i;
    }
    return fewest;
}
