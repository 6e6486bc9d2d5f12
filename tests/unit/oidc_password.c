/* oidc/password.c: Argon2id hashing and verification, and the cost of one
 * hash at the default configuration (printed for the benchmark notes). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oidc/signin_internal.h"

/* Cheap parameters for the logic tests; the timing test uses the defaults. */
static const oidc_argon2_params_t FAST = {1, 64, 1};
/* gateway/config.c defaults: OWASP Password Storage Cheat Sheet minimum. */
static const oidc_argon2_params_t OWASP = {2, 19 * 1024, 1};

static void test_hash_and_verify(void **state)
{
    (void)state;
    char *h = NULL, *h2 = NULL;
    gw_err_t err;
    assert_int_equal(oidc_password_hash(&FAST, "correct horse", 13, &h, &err), 0);
    assert_int_equal(strncmp(h, "$argon2id$v=19$m=64,t=1,p=1$", 28), 0);
    assert_true(oidc_password_verify(h, "correct horse", 13));
    /* Broken twins: another password, a prefix, a changed hash byte. */
    assert_false(oidc_password_verify(h, "correct horsf", 13));
    assert_false(oidc_password_verify(h, "correct hors", 12));
    assert_false(oidc_password_verify(h, "", 0));
    size_t n = strlen(h);
    h[n - 2] = h[n - 2] == 'A' ? 'B' : 'A';
    assert_false(oidc_password_verify(h, "correct horse", 13));
    /* Fresh salt: the same password hashes differently. */
    assert_int_equal(oidc_password_hash(&FAST, "correct horse", 13, &h2, &err), 0);
    assert_string_not_equal(h, h2);
    free(h);
    free(h2);
}

static void test_refuses_other_formats(void **state)
{
    (void)state;
    assert_false(oidc_password_verify(NULL, "x", 1));
    assert_false(oidc_password_verify("", "x", 1));
    assert_false(
        oidc_password_verify("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x", 1));
    assert_false(
        oidc_password_verify("$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234", "x", 1));
    assert_false(oidc_password_verify("$argon2id$garbage", "x", 1));
}

static void test_binary_password(void **state)
{
    (void)state;
    char *h = NULL;
    gw_err_t err;
    const char pwd[] = "a\0b";
    assert_int_equal(oidc_password_hash(&FAST, pwd, 3, &h, &err), 0);
    assert_true(oidc_password_verify(h, pwd, 3));
    assert_false(oidc_password_verify(h, pwd, 1));
    free(h);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_default_cost(void **state)
{
    (void)state;
    char *h = NULL;
    gw_err_t err;
    enum { RUNS = 5 };
    double best = 1e9, total = 0;
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_ms();
        assert_int_equal(oidc_password_hash(&OWASP, "benchmark password", 18, &h, &err), 0);
        double t1 = now_ms();
        assert_true(oidc_password_verify(h, "benchmark password", 18));
        double t2 = now_ms();
        free(h);
        total += (t1 - t0) + (t2 - t1);
        if (t2 - t1 < best)
            best = t2 - t1;
    }
    printf("# argon2id m=19456 KiB t=2 p=1: verify best %.1f ms, mean (hash+verify)/2 %.1f ms\n", best,
           total / (2 * RUNS));
    /* A sanity bound, not a benchmark: the cost must be real (not a no-op)
     * and still usable for interactive sign-in. */
    assert_true(best > 2.0);
    assert_true(best < 2000.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_and_verify),
        cmocka_unit_test(test_refuses_other_formats),
        cmocka_unit_test(test_binary_password),
        cmocka_unit_test(test_default_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
