/* oidc/pending.c: the box in which the sign-in page carries a pending
 * authorization request. It opens for its own request id only, with nothing
 * changed, within the request's lifetime, under the key that sealed it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oidc/authorize_internal.h"
#include "pool_fixture.h"

#define ID       "0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b11"
#define OTHER_ID "0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b12"
#define PARAMS   "{\"client_id\":\"rp1\",\"state\":\"st-123\"}"

static const uint8_t KEK[32] = {7, 7, 7};

/* A pool (pool_fixture.h) and the test key: test_other_key changes it. */
static int setup_with_key(void **state)
{
    oidc_pending_keys_init(KEK);
    return setup(state);
}

static const char *seal(h2o_mem_pool_t *pool, const char *id, int64_t created, const char *json)
{
    return oidc_pending_seal(pool, id, created, h2o_iovec_init(json, strlen(json)));
}

/* 0 when `box` opens for `id`; then its parameters must be PARAMS. */
static int opens(h2o_mem_pool_t *pool, const char *id, const char *box)
{
    const char *json = NULL;
    int64_t created = 0;
    int rc = oidc_pending_open(pool, id, box, box ? strlen(box) : 0, &json, &created);
    if (rc == 0)
        assert_string_equal(json, PARAMS);
    return rc;
}

static void test_round_trip(void **state)
{
    h2o_mem_pool_t *pool = *state;
    int64_t now = (int64_t)time(NULL);
    const char *box = seal(pool, ID, now - 5, PARAMS);
    assert_non_null(box);
    /* base64url only: it goes into a query string unencoded. */
    assert_int_equal(strspn(box, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     strlen(box));
    const char *json = NULL;
    int64_t created = 0;
    assert_int_equal(oidc_pending_open(pool, ID, box, strlen(box), &json, &created), 0);
    assert_string_equal(json, PARAMS);
    assert_int_equal(created, now - 5);
    /* The id in capitals is the same request. */
    assert_int_equal(opens(pool, "0B7E5C1A-8C1E-4A4E-9A55-3C1D2F0E9B11", box), 0);
    /* Two boxes of the same request differ (a fresh nonce each). */
    assert_string_not_equal(box, seal(pool, ID, now - 5, PARAMS));
}

static void test_other_request(void **state)
{
    h2o_mem_pool_t *pool = *state;
    const char *box = seal(pool, ID, (int64_t)time(NULL), PARAMS);
    assert_int_equal(opens(pool, OTHER_ID, box), -1);
    assert_int_equal(opens(pool, "not a uuid", box), -1);
    assert_null(seal(pool, "not a uuid", (int64_t)time(NULL), PARAMS));
}

static void test_every_change_refused(void **state)
{
    h2o_mem_pool_t *pool = *state;
    const char *box = seal(pool, ID, (int64_t)time(NULL), PARAMS);
    size_t n = strlen(box);
    char *copy = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        memcpy(copy, box, n + 1);
        copy[i] = copy[i] == 'A' ? 'B' : 'A';
        /* The last character may only carry unused bits: a strict decoder
         * refuses those, the tag refuses everything else. */
        assert_int_equal(opens(pool, ID, copy), -1);
    }
    for (size_t len = 0; len < n; len++) {
        memcpy(copy, box, len);
        copy[len] = '\0';
        assert_int_equal(opens(pool, ID, copy), -1);
    }
    free(copy);
    assert_int_equal(opens(pool, ID, NULL), -1);
    assert_int_equal(opens(pool, ID, "!!!!"), -1);
    assert_int_equal(opens(pool, ID, "AAAA"), -1);
}

static void test_lifetime(void **state)
{
    h2o_mem_pool_t *pool = *state;
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(opens(pool, ID, seal(pool, ID, now - OIDC_AZ_REQUEST_TTL_S + 5, PARAMS)), 0);
    assert_int_equal(opens(pool, ID, seal(pool, ID, now - OIDC_AZ_REQUEST_TTL_S, PARAMS)), -1);
    assert_int_equal(opens(pool, ID, seal(pool, ID, now - 100000, PARAMS)), -1);
    /* Another gateway's clock a little ahead, not an hour. */
    assert_int_equal(opens(pool, ID, seal(pool, ID, now + 30, PARAMS)), 0);
    assert_int_equal(opens(pool, ID, seal(pool, ID, now + 3600, PARAMS)), -1);
}

static void test_other_key(void **state)
{
    h2o_mem_pool_t *pool = *state;
    const char *box = seal(pool, ID, (int64_t)time(NULL), PARAMS);
    static const uint8_t other[32] = {8, 8, 8};
    oidc_pending_keys_init(other);
    assert_int_equal(opens(pool, ID, box), -1);
    oidc_pending_keys_init(KEK);
    assert_int_equal(opens(pool, ID, box), 0);
}

static void test_size(void **state)
{
    h2o_mem_pool_t *pool = *state;
    char *json = malloc(OIDC_PENDING_PARAMS_MAX + 2);
    memset(json, 'x', OIDC_PENDING_PARAMS_MAX + 1);
    json[OIDC_PENDING_PARAMS_MAX + 1] = '\0';
    assert_null(seal(pool, ID, (int64_t)time(NULL), json));
    json[OIDC_PENDING_PARAMS_MAX] = '\0';
    const char *box = seal(pool, ID, (int64_t)time(NULL), json);
    assert_non_null(box);
    assert_int_equal(strlen(box), OIDC_PENDING_MAX);
    const char *out = NULL;
    int64_t created = 0;
    assert_int_equal(oidc_pending_open(pool, ID, box, strlen(box), &out, &created), 0);
    assert_string_equal(out, json);
    free(json);
    /* Longer than any box: refused before decoding. */
    char *big = malloc(OIDC_PENDING_MAX + 5);
    memset(big, 'A', OIDC_PENDING_MAX + 4);
    big[OIDC_PENDING_MAX + 4] = '\0';
    assert_int_equal(opens(pool, ID, big), -1);
    free(big);
}

static void test_nul_in_params(void **state)
{
    h2o_mem_pool_t *pool = *state;
    static const char json[] = "{\"a\":1}\0{\"b\":2}";
    const char *box =
        oidc_pending_seal(pool, ID, (int64_t)time(NULL), h2o_iovec_init(json, sizeof(json) - 1));
    assert_non_null(box);
    assert_int_equal(opens(pool, ID, box), -1);
}

static void test_new(void **state)
{
    h2o_mem_pool_t *pool = *state;
    static const char json[] =
        "{\"client_id\":\"rp1\",\"redirect_uri\":\"https://rp.example/cb\","
        "\"scope\":\"openid\",\"state\":\"s\",\"nonce\":\"n\",\"prompt\":0,\"max_age\":-1,"
        "\"code_challenge\":\"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\"}";
    oidc_az_request_t a;
    assert_int_equal(oidc_az_from_json(pool, json, sizeof(json) - 1, &a), 0);
    char id[OIDC_UUID_LEN + 1], id2[OIDC_UUID_LEN + 1];
    const char *box = oidc_pending_new(pool, &a, id);
    assert_non_null(box);
    /* A random (version 4, RFC 9562 variant) uuid, new every time. */
    assert_true(oidc_uuid_ok(id, strlen(id)));
    assert_int_equal(id[14], '4');
    assert_non_null(strchr("89ab", id[19]));
    assert_non_null(oidc_pending_new(pool, &a, id2));
    assert_string_not_equal(id, id2);
    const char *out = NULL;
    int64_t created = 0;
    assert_int_equal(oidc_pending_open(pool, id, box, strlen(box), &out, &created), 0);
    assert_true(created >= (int64_t)time(NULL) - 5 && created <= (int64_t)time(NULL));
    oidc_az_request_t back;
    assert_int_equal(oidc_az_from_json(pool, out, strlen(out), &back), 0);
    assert_string_equal(back.client_id.base, "rp1");
    assert_string_equal(back.code_challenge.base, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    /* One box per request: not another id's. */
    assert_int_equal(oidc_pending_open(pool, id2, box, strlen(box), &out, &created), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup_with_key, teardown),
        cmocka_unit_test_setup_teardown(test_other_request, setup_with_key, teardown),
        cmocka_unit_test_setup_teardown(test_every_change_refused, setup_with_key, teardown),
        cmocka_unit_test_setup_teardown(test_lifetime, setup_with_key, teardown),
        cmocka_unit_test_setup_teardown(test_other_key, setup_with_key, teardown),
        cmocka_unit_test_setup_teardown(test_size, setup_with_key, teardown),
        cmocka_unit_test_setup_teardown(test_nul_in_params, setup_with_key, teardown),
        cmocka_unit_test_setup_teardown(test_new, setup_with_key, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
