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

#include <argon2.h>

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

/* ---- the PHC string read by oidc_phc_parse --------------------------------- */

static void test_phc_reads_what_libargon2_writes(void **state)
{
    (void)state;
    const oidc_argon2_params_t costs[] = {{1, 64, 1}, {3, 256, 2}, {2, 19 * 1024, 1}, {1, 1000, 4}};
    for (size_t i = 0; i < sizeof(costs) / sizeof(costs[0]); i++) {
        char *h = NULL;
        gw_err_t err;
        assert_int_equal(oidc_password_hash(&costs[i], "pw", 2, &h, &err), 0);
        oidc_phc_t p;
        assert_int_equal(oidc_phc_parse(h, &p), 0);
        assert_int_equal(p.t, costs[i].t);
        assert_int_equal(p.m_kib, costs[i].m_kib);
        assert_int_equal(p.p, costs[i].p);
        assert_int_equal(p.salt_len, 16);
        assert_int_equal(p.tag_len, 32);
        /* The same salt and tag as libargon2 reads: hashing with them gives the tag. */
        uint8_t tag[32];
        assert_int_equal(argon2id_hash_raw(p.t, p.m_kib, p.p, "pw", 2, p.salt, p.salt_len, tag, sizeof(tag)),
                         ARGON2_OK);
        assert_memory_equal(tag, p.tag, sizeof(tag));
        free(h);
    }
}

static void test_phc_refuses(void **state)
{
    (void)state;
    /* A valid string (16-byte salt, 32-byte tag), then broken twins of it. */
    static const char OK[] = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
                             "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU";
    static const char *const BAD[] = {
        "",
        "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=64,t=-1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=4294967296,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
        "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=64,p=1,t=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=64,t=1,p=9$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=64,t=1,p=1,k=2$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA==$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJj",
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU$",
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDV",
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVm_2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU",
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXowMTIzNDU ",
        /* a tag of 65 bytes, one past OIDC_PHC_BYTES_MAX */
        "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A",
    };
    oidc_phc_t p;
    assert_int_equal(oidc_phc_parse(OK, &p), 0);
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        if (oidc_phc_parse(BAD[i], &p) != -1)
            fail_msg("parsed: %s", BAD[i]);
    }
}

/* oidc_password_verify reads the string itself; it must agree with
 * libargon2's own argon2id_verify on every answer, and still verify the
 * forms it leaves to libargon2 (here a version 1.0 hash). */
static void test_verify_agrees_with_libargon2(void **state)
{
    (void)state;
    srand(7);
    for (int i = 0; i < 40; i++) {
        char pwd[24], other[24];
        size_t n = (size_t)(rand() % (int)sizeof(pwd));
        for (size_t k = 0; k < n; k++)
            pwd[k] = (char)(rand() & 0xff);
        memcpy(other, pwd, n);
        if (n > 0)
            other[rand() % (int)n] ^= (char)(1 + rand() % 255);
        oidc_argon2_params_t c = {1 + (uint32_t)(rand() % 3), 64 + (uint32_t)(rand() % 512), 1};
        char *h = NULL;
        gw_err_t err;
        assert_int_equal(oidc_password_hash(&c, pwd, n, &h, &err), 0);
        assert_true(oidc_password_verify(h, pwd, n));
        assert_int_equal(argon2id_verify(h, pwd, n), ARGON2_OK);
        if (n > 0) {
            assert_false(oidc_password_verify(h, other, n));
            assert_int_not_equal(argon2id_verify(h, other, n), ARGON2_OK);
        }
        assert_false(oidc_password_verify(h, pwd, n + 1 > sizeof(pwd) ? n - 1 : n + 1));
        free(h);
    }
    uint8_t salt[16] = {1, 2, 3};
    char v10[128];
    assert_int_equal(argon2_hash(1, 64, 1, "old", 3, salt, sizeof(salt), NULL, 32, v10, sizeof(v10),
                                 Argon2_id, ARGON2_VERSION_10),
                     ARGON2_OK);
    oidc_phc_t p;
    assert_int_equal(oidc_phc_parse(v10, &p), -1);
    assert_true(oidc_password_verify(v10, "old", 3));
    assert_false(oidc_password_verify(v10, "olD", 3));
}

/* The thread keeps one block for its hashes (password_memory.c), and holds
 * nothing of the last hash in it. */
static void test_kept_block_reused_and_wiped(void **state)
{
    (void)state;
    char *h = NULL;
    gw_err_t err;
    assert_int_equal(oidc_password_hash(&FAST, "secret", 6, &h, &err), 0);
    assert_true(oidc_password_verify(h, "secret", 6));
    size_t size = 0;
    const uint8_t *first = oidc_argon2_memory_kept(&size);
    assert_non_null(first);
    assert_true(size >= FAST.m_kib * 1024);
    assert_int_equal(size % (2u << 20), 0);
    for (size_t i = 0; i < size; i++)
        if (first[i] != 0)
            fail_msg("byte %zu of the kept block is %u after a verification", i, first[i]);
    assert_false(oidc_password_verify(h, "secreT", 6));
    size_t size2 = 0;
    assert_ptr_equal(oidc_argon2_memory_kept(&size2), first);
    assert_int_equal(size2, size);
    free(h);
    /* A larger cost grows the block; the answers stay right. */
    const oidc_argon2_params_t big = {1, 3 * 1024, 1};
    assert_int_equal(oidc_password_hash(&big, "secret", 6, &h, &err), 0);
    assert_true(oidc_password_verify(h, "secret", 6));
    assert_false(oidc_password_verify(h, "secret!", 7));
    oidc_argon2_memory_kept(&size2);
    assert_true(size2 >= big.m_kib * 1024);
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
        cmocka_unit_test(test_phc_reads_what_libargon2_writes),
        cmocka_unit_test(test_phc_refuses),
        cmocka_unit_test(test_verify_agrees_with_libargon2),
        cmocka_unit_test(test_kept_block_reused_and_wiped),
        cmocka_unit_test(test_default_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
