/* gateway/keys.c: whether a key-encryption key opens a set of sealed rows
 * (`regain keys rotate` refuses the wrong one). */
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

static const uint8_t KEK[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void check_open_refuses_another_kek(void **state)
{
    (void)state;
    uint8_t other[32];
    memcpy(other, KEK, 32);
    other[31] ^= 1;
    sealed_t a, b;
    seal_new_key(KEK, &a);
    seal_new_key(KEK, &b);
    gw_key_row_t rows[2] = {{a.kid, "ES256", a.sealed_hex}, {b.kid, "RS256", b.sealed_hex}};
    gw_err_t err;
    assert_int_equal(gw_keys_check_open(KEK, rows, 2, &err), 0);
    assert_int_equal(gw_keys_check_open(other, rows, 2, &err), -1);
    assert_int_equal(err.kind, GW_E_BAD_REQUEST);
    assert_non_null(strstr(err.public, a.kid));
    assert_non_null(strstr(err.public, "keys.encryption_key"));
    /* A key moved to another row (another kid) does not open either. */
    gw_key_row_t moved = {b.kid, "ES256", a.sealed_hex};
    assert_int_equal(gw_keys_check_open(KEK, &moved, 1, &err), -1);
    free(a.sealed_hex);
    free(b.sealed_hex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_open_refuses_another_kek),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
