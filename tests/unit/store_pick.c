/* gateway/store_pick.c: queries are packed onto the first connection that
 * keeps up, pass over one whose backend is on a slow query or a search,
 * and never go to one that is down or full. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "gateway/store_internal.h"

#define READY(flight, busy)                                                                                  \
    {                                                                                                        \
        1, (flight), (busy), 0                                                                               \
    }
#define SEARCHING(flight, busy)                                                                              \
    {                                                                                                        \
        1, (flight), (busy), 1                                                                               \
    }
#define UNUSABLE                                                                                             \
    {                                                                                                        \
        0, 0, 0, 0                                                                                           \
    }

static void test_first_connection_keeping_up_takes_the_query(void **state)
{
    (void)state;
    /* The first has more in flight, but its oldest query is fresh: the
     * least busy one would be the second. */
    store_conn_load_t load[] = {READY(5, STORE_PACK_US - 1), READY(0, 0)};
    assert_int_equal(store_pick(load, 2), 0);
    store_conn_load_t idle[] = {READY(0, 0), READY(0, 0), READY(0, 0)};
    assert_int_equal(store_pick(idle, 3), 0);
}

static void test_connection_behind_a_slow_query_is_passed_over(void **state)
{
    (void)state;
    store_conn_load_t load[] = {READY(1, STORE_PACK_US), READY(3, 0)};
    assert_int_equal(store_pick(load, 2), 1);
    store_conn_load_t later[] = {READY(1, 5000000), READY(1, 0), READY(0, 0)};
    assert_int_equal(store_pick(later, 3), 1);
}

static void test_connection_running_a_search_is_passed_over(void **state)
{
    (void)state;
    /* However fresh: a search may run for milliseconds. */
    store_conn_load_t load[] = {SEARCHING(1, 0), READY(2, 10)};
    assert_int_equal(store_pick(load, 2), 1);
    store_conn_load_t both[] = {SEARCHING(1, 0), SEARCHING(3, 0), READY(2, STORE_PACK_US)};
    assert_int_equal(store_pick(both, 3), 0);
}

static void test_every_connection_behind_goes_to_the_fewest_in_flight(void **state)
{
    (void)state;
    store_conn_load_t load[] = {READY(4, 10000), READY(2, 3000), READY(3, 50000)};
    assert_int_equal(store_pick(load, 3), 1);
    /* Equal: the first of them. */
    store_conn_load_t tie[] = {READY(2, 10000), READY(2, 3000)};
    assert_int_equal(store_pick(tie, 2), 0);
}

static void test_unusable_connections_are_never_chosen(void **state)
{
    (void)state;
    store_conn_load_t load[] = {UNUSABLE, READY(7, 100)};
    assert_int_equal(store_pick(load, 2), 1);
    store_conn_load_t behind[] = {UNUSABLE, READY(9, 100000), UNUSABLE};
    assert_int_equal(store_pick(behind, 3), 1);
    store_conn_load_t none[] = {UNUSABLE, UNUSABLE};
    assert_int_equal(store_pick(none, 2), -1);
    assert_int_equal(store_pick(none, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_connection_keeping_up_takes_the_query),
        cmocka_unit_test(test_connection_behind_a_slow_query_is_passed_over),
        cmocka_unit_test(test_connection_running_a_search_is_passed_over),
        cmocka_unit_test(test_every_connection_behind_goes_to_the_fewest_in_flight),
        cmocka_unit_test(test_unusable_connections_are_never_chosen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
