/* A cmocka group fixture that gives each test an h2o memory pool in *state
 * (include after <cmocka.h>). */
#ifndef REGAIN_TESTS_POOL_FIXTURE_H
#define REGAIN_TESTS_POOL_FIXTURE_H

#include <h2o.h>
#include <stdlib.h>

static inline int setup(void **state)
{
    h2o_mem_pool_t *pool = malloc(sizeof(*pool));
    h2o_mem_init_pool(pool);
    *state = pool;
    return 0;
}

static inline int teardown(void **state)
{
    h2o_mem_clear_pool(*state);
    free(*state);
    return 0;
}

#endif
