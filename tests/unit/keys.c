/* gateway/keys.c: which key of a snapshot signs (the one the database marks,
 * not the newest: a rotated key is published before it signs), whether a
 * key-encryption key opens a set of sealed rows (`regain keys rotate` refuses
 * the wrong one), the waits of a rotation, and the rate limit of reloads
 * asked for by unknown kids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/crypto.h"
#include "gateway/keys_internal.h"

typedef struct {
    char kid[GW_THUMBPRINT_LEN + 1];
    char *sealed_hex; /* as PostgreSQL prints bytea: \x... */
} sealed_t;

/* A fresh ES256 key sealed under `kek` as keys_db.c stores it. */
static void seal_new_key(const uint8_t kek[32], sealed_t *out)
{
    gw_err_t err;
    EVP_PKEY *key = NULL;
    uint8_t *der = NULL, *box = NULL;
    size_t derlen = 0, boxlen = 0;
    assert_int_equal(gw_key_generate_ec_p256(&key, &err), 0);
    assert_int_equal(gw_key_thumbprint(key, out->kid, &err), 0);
    assert_int_equal(gw_key_private_der(key, &der, &derlen, &err), 0);
    assert_int_equal(gw_aead_seal(kek, out->kid, strlen(out->kid), der, derlen, &box, &boxlen, &err), 0);
    out->sealed_hex = malloc(2 + 2 * boxlen + 1);
    strcpy(out->sealed_hex, "\\x");
    for (size_t i = 0; i < boxlen; i++)
        snprintf(out->sealed_hex + 2 + 2 * i, 3, "%02x", box[i]);
    free(box);
    free(der);
    EVP_PKEY_free(key);
}

static const uint8_t KEK[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* Rows come newest first; the newest is a rotated key not signing yet. */
static void signs_the_marked_key_not_the_newest(void **state)
{
    (void)state;
    sealed_t pending, current;
    seal_new_key(KEK, &pending);
    seal_new_key(KEK, &current);
    gw_key_row_t rows[2] = {{pending.kid, "ES256", pending.sealed_hex, 0},
                            {current.kid, "ES256", current.sealed_hex, 1}};
    gw_err_t err;
    gw_keys_set_kek(KEK);
    assert_int_equal(gw_keys_install(rows, 2, &err), 0);
    gw_keyset_t *ks = gw_keys_acquire();
    assert_int_equal(ks->count, 2);
    const gw_signing_key_t *k = gw_keyset_current(ks, "ES256");
    assert_non_null(k);
    assert_string_equal(k->kid, current.kid);
    assert_null(gw_keyset_current(ks, "RS256"));
    /* Both are published: the waiting key verifies already. */
    assert_non_null(strstr(ks->jwks, pending.kid));
    assert_non_null(strstr(ks->jwks, current.kid));
    /* The poll notices a key starting to sign: the fingerprint marks it. */
    char fp[2 * GW_KID_MAX + 8];
    snprintf(fp, sizeof(fp), "%s,%s+,", pending.kid, current.kid);
    assert_string_equal(gw_keyset_fingerprint(), fp);
    gw_keys_release(ks);

    /* Once it signs (the next poll's rows), it is the current one. */
    rows[0].current = 1;
    rows[1].current = 0;
    assert_int_equal(gw_keys_install(rows, 2, &err), 0);
    ks = gw_keys_acquire();
    assert_string_equal(gw_keyset_current(ks, "ES256")->kid, pending.kid);
    gw_keys_release(ks);
    gw_keys_dispose();
    free(pending.sealed_hex);
    free(current.sealed_hex);
}

static void check_open_refuses_another_kek(void **state)
{
    (void)state;
    uint8_t other[32];
    memcpy(other, KEK, 32);
    other[31] ^= 1;
    sealed_t a, b;
    seal_new_key(KEK, &a);
    seal_new_key(KEK, &b);
    gw_key_row_t rows[2] = {{a.kid, "ES256", a.sealed_hex, 1}, {b.kid, "RS256", b.sealed_hex, 1}};
    gw_err_t err;
    assert_int_equal(gw_keys_check_open(KEK, rows, 2, &err), 0);
    assert_int_equal(gw_keys_check_open(other, rows, 2, &err), -1);
    assert_int_equal(err.kind, GW_E_BAD_REQUEST);
    assert_non_null(strstr(err.public, a.kid));
    assert_non_null(strstr(err.public, "keys.encryption_key"));
    /* A key moved to another row (another kid) does not open either. */
    gw_key_row_t moved = {b.kid, "ES256", a.sealed_hex, 1};
    assert_int_equal(gw_keys_check_open(KEK, &moved, 1, &err), -1);
    free(a.sealed_hex);
    free(b.sealed_hex);
}

static void rotation_waits(void **state)
{
    (void)state;
    gw_keys_rotation_t rot = {0};
    /* The defaults: polls every 10 s, tokens of 600 s. */
    gw_keys_rotation_waits(10000, 600, &rot);
    assert_int_equal(rot.activate_ms, 2 * 10000 + 300 * 1000);
    assert_int_equal(rot.keep_ms, 10000 + (600 + 300) * 1000);
    /* The largest settings config.c accepts. */
    gw_keys_rotation_waits(3600000, 86400, &rot);
    assert_int_equal(rot.activate_ms, UINT64_C(7500000));
    assert_int_equal(rot.keep_ms, UINT64_C(3600000) + UINT64_C(86700000));
}

static void reload_rate_limit(void **state)
{
    (void)state;
    assert_int_equal(gw_keys_reload_due(50000), 1);
    assert_int_equal(gw_keys_reload_due(50000), 0);
    assert_int_equal(gw_keys_reload_due(50000 + GW_KEYS_RELOAD_SOON_MIN_MS - 1), 0);
    assert_int_equal(gw_keys_reload_due(50000 + GW_KEYS_RELOAD_SOON_MIN_MS), 1);
    /* A clock read before the last ask (another thread's) is not due. */
    assert_int_equal(gw_keys_reload_due(50000), 0);
    assert_int_equal(gw_keys_reload_due(50000 + 3 * GW_KEYS_RELOAD_SOON_MIN_MS), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signs_the_marked_key_not_the_newest),
        cmocka_unit_test(check_open_refuses_another_kek),
        cmocka_unit_test(rotation_waits),
        cmocka_unit_test(reload_rate_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
