/* PKCE S256 (oidc/pkce.c) with the RFC 7636 Appendix B vector and broken
 * twins: one changed character, a challenge for another verifier, lengths
 * just outside 43..128, characters outside the unreserved set. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "oidc/tokens_internal.h"

#define B_VERIFIER  "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define B_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

/* What the token endpoint does with a verifier and the code's challenge. */
static int verify(const char *v, const char *c)
{
    char s256[OIDC_PKCE_S256_LEN + 1];
    if (!oidc_pkce_verifier_valid(v, strlen(v)))
        return 0;
    oidc_pkce_s256(v, strlen(v), s256);
    return oidc_pkce_s256_matches(s256, c);
}

static void appendix_b(void **state)
{
    (void)state;
    char out[OIDC_PKCE_S256_LEN + 1];
    oidc_pkce_s256(B_VERIFIER, strlen(B_VERIFIER), out);
    assert_string_equal(out, B_CHALLENGE);
    assert_int_equal(verify(B_VERIFIER, B_CHALLENGE), 1);
}

static void broken_twins(void **state)
{
    (void)state;
    /* last verifier character changed */
    assert_int_equal(verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", B_CHALLENGE), 0);
    /* one challenge character changed */
    assert_int_equal(verify(B_VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"), 0);
    /* the "plain" method's challenge (the verifier itself) is not accepted */
    assert_int_equal(verify(B_VERIFIER, B_VERIFIER), 0);
    /* challenge truncated, or with padding */
    assert_int_equal(verify(B_VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"), 0);
    assert_int_equal(verify(B_VERIFIER, B_CHALLENGE "="), 0);
    assert_int_equal(verify(B_VERIFIER, ""), 0);
    assert_int_equal(verify(B_VERIFIER, NULL), 0);
}

static void verifier_syntax(void **state)
{
    (void)state;
    char v[200];
    memset(v, 'a', sizeof(v));
    assert_int_equal(oidc_pkce_verifier_valid(v, 42), 0);
    assert_int_equal(oidc_pkce_verifier_valid(v, 43), 1);
    assert_int_equal(oidc_pkce_verifier_valid(v, 128), 1);
    assert_int_equal(oidc_pkce_verifier_valid(v, 129), 0);
    assert_int_equal(oidc_pkce_verifier_valid(v, 0), 0);
    assert_int_equal(oidc_pkce_verifier_valid(NULL, 50), 0);
    memcpy(v, "-._~AZaz09", 10);
    assert_int_equal(oidc_pkce_verifier_valid(v, 43), 1);
    const char *bad = "+/= %\"\x01\x80";
    for (const char *b = bad; *b; b++) {
        v[20] = *b;
        assert_int_equal(oidc_pkce_verifier_valid(v, 43), 0);
    }
    /* A too-short verifier fails even when its hash matches its challenge. */
    char short_c[OIDC_PKCE_S256_LEN + 1];
    oidc_pkce_s256("abc", 3, short_c);
    assert_int_equal(verify("abc", short_c), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appendix_b),
        cmocka_unit_test(broken_twins),
        cmocka_unit_test(verifier_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
