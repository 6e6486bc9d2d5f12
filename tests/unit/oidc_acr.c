/* acr requirements (oidc/acr.c): which of our levels a request names through
 * acr_values or an essential acr claim, and whether a session's acr answers
 * it (with the acr to assert), each paired with the case that must not. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "oidc/internal.h"

#define PWD OIDC_ACR_PASSWORD
#define MFA OIDC_ACR_MFA
#define PHR OIDC_ACR_PHISHING_RESISTANT

static int needed(const char *values, const char *claims)
{
    return oidc_acr_needed(values, values ? strlen(values) : 0, claims, claims ? strlen(claims) : 0);
}

static int satisfied(const char *values, const char *claims, const char *session, const char **assert)
{
    return oidc_acr_satisfied(values, values ? strlen(values) : 0, claims, claims ? strlen(claims) : 0,
                              session, assert);
}

static void levels(void **state)
{
    (void)state;
    assert_int_equal(oidc_acr_level(PHR), OIDC_ACR_LEVEL_PHISHING_RESISTANT);
    assert_int_equal(oidc_acr_level(MFA), OIDC_ACR_LEVEL_MFA);
    assert_int_equal(oidc_acr_level(PWD), OIDC_ACR_LEVEL_PASSWORD);
    assert_int_equal(oidc_acr_level(NULL), OIDC_ACR_LEVEL_NONE);
    assert_int_equal(oidc_acr_level("urn:regain:acr:phishing-resistant-ish"), OIDC_ACR_LEVEL_NONE);
}

static void acr_values(void **state)
{
    (void)state;
    assert_int_equal(needed(NULL, NULL), OIDC_ACR_LEVEL_NONE);
    assert_int_equal(needed(PHR, NULL), OIDC_ACR_LEVEL_PHISHING_RESISTANT);
    /* Alternatives: the lowest named is enough. */
    assert_int_equal(needed(PHR " " MFA, NULL), OIDC_ACR_LEVEL_MFA);
    /* Values of other areas are not ours to judge. */
    assert_int_equal(needed("urn:regain:acr:verified-recovery", NULL), OIDC_ACR_LEVEL_NONE);
    assert_int_equal(needed("urn:regain:acr:verified-recovery " PHR, NULL),
                     OIDC_ACR_LEVEL_PHISHING_RESISTANT);
}

static void claims(void **state)
{
    (void)state;
    assert_int_equal(needed(NULL, "{\"id_token\":{\"acr\":{\"essential\":true,\"value\":\"" PHR "\"}}}"),
                     OIDC_ACR_LEVEL_PHISHING_RESISTANT);
    assert_int_equal(needed(NULL, "{\"userinfo\":{\"acr\":{\"essential\":true,\"values\":[\"" MFA "\"]}}}"),
                     OIDC_ACR_LEVEL_MFA);
    /* Voluntary, or essential false: no requirement. */
    assert_int_equal(needed(NULL, "{\"id_token\":{\"acr\":{\"values\":[\"" PHR "\"]}}}"),
                     OIDC_ACR_LEVEL_NONE);
    assert_int_equal(needed(NULL, "{\"id_token\":{\"acr\":{\"essential\":false,\"value\":\"" PHR "\"}}}"),
                     OIDC_ACR_LEVEL_NONE);
    assert_int_equal(needed(NULL, "{\"id_token\":{\"acr\":null}}"), OIDC_ACR_LEVEL_NONE);
    assert_int_equal(needed(NULL, "not json"), OIDC_ACR_LEVEL_NONE);
}

static void step_up(void **state)
{
    (void)state;
    const char *a = NULL;
    /* A password session never answers phishing-resistant, nor mfa. */
    assert_int_equal(satisfied(PHR, NULL, PWD, &a), 0);
    assert_int_equal(satisfied(MFA, NULL, PWD, &a), 0);
    assert_int_equal(satisfied(PHR, NULL, MFA, &a), 0);
    assert_int_equal(satisfied(PHR, NULL, NULL, &a), 0);
    assert_int_equal(
        satisfied(NULL, "{\"id_token\":{\"acr\":{\"essential\":true,\"value\":\"" PHR "\"}}}", MFA, &a), 0);
    /* A passkey session answers both, asserting what was asked. */
    assert_int_equal(satisfied(PHR, NULL, PHR, &a), 1);
    assert_string_equal(a, PHR);
    assert_int_equal(satisfied(MFA, NULL, PHR, &a), 1);
    assert_string_equal(a, MFA);
    /* The relying party's order of preference. */
    assert_int_equal(satisfied(PHR " " MFA, NULL, MFA, &a), 1);
    assert_string_equal(a, MFA);
    assert_int_equal(satisfied(MFA " " PHR, NULL, PHR, &a), 1);
    assert_string_equal(a, MFA);
    /* Nothing asked: the session's own acr. */
    assert_int_equal(satisfied(NULL, NULL, PWD, &a), 1);
    assert_string_equal(a, PWD);
    assert_int_equal(satisfied("urn:example:other", NULL, PWD, &a), 1);
    assert_string_equal(a, PWD);
}

/* Verified recovery is met only by a session from a verified recovery (or by
 * another value the request names as an alternative): an ordinary sign-in
 * must not answer a relying party that asked for a verified identity. */
static void verified_recovery(void **state)
{
    (void)state;
    const char *a = NULL;
    const char *rec = OIDC_ACR_VERIFIED_RECOVERY;
    const char *essential =
        "{\"id_token\":{\"acr\":{\"essential\":true,\"value\":\"" OIDC_ACR_VERIFIED_RECOVERY "\"}}}";
    assert_int_equal(satisfied(rec, NULL, PWD, &a), 0);
    assert_int_equal(satisfied(rec, NULL, PHR, &a), 0);
    assert_int_equal(satisfied(rec, NULL, NULL, &a), 0);
    assert_int_equal(satisfied(NULL, essential, MFA, &a), 0);
    assert_int_equal(satisfied(rec, NULL, rec, &a), 1);
    assert_string_equal(a, rec);
    assert_int_equal(satisfied(NULL, essential, rec, &a), 1);
    assert_string_equal(a, rec);
    /* Alternatives: a passkey sign-in answers "verified-recovery or mfa". */
    assert_int_equal(satisfied(OIDC_ACR_VERIFIED_RECOVERY " " MFA, NULL, PHR, &a), 1);
    assert_string_equal(a, MFA);
    assert_int_equal(satisfied(OIDC_ACR_VERIFIED_RECOVERY " " MFA, NULL, PWD, &a), 0);
    /* A name that merely starts like it is someone else's value. */
    assert_int_equal(satisfied(OIDC_ACR_VERIFIED_RECOVERY "-ish", NULL, PWD, &a), 1);
}

/* acr_values is voluntary and an essential claim binding (OIDC Core
 * §5.5.1.1): naming a weaker value in acr_values must not let a session
 * answer an essential claim it does not meet, and the ID token asserts a
 * value the essential claim named. */
static void essential_and_voluntary(void **state)
{
    (void)state;
    const char *a = NULL;
    const char *essential_phr = "{\"id_token\":{\"acr\":{\"essential\":true,\"value\":\"" PHR "\"}}}";
    const char *essential_rec =
        "{\"id_token\":{\"acr\":{\"essential\":true,\"values\":[\"" OIDC_ACR_VERIFIED_RECOVERY "\"]}}}";
    const char *userinfo_mfa = "{\"userinfo\":{\"acr\":{\"essential\":true,\"value\":\"" MFA "\"}}}";
    assert_int_equal(satisfied(PWD, essential_phr, PWD, &a), 0);
    assert_int_equal(satisfied(PWD " " MFA, essential_phr, MFA, &a), 0);
    assert_int_equal(satisfied(PWD, essential_rec, PWD, &a), 0);
    assert_int_equal(satisfied(PWD, userinfo_mfa, PWD, &a), 0);
    /* Both met: the essential claim's value is asserted. */
    assert_int_equal(satisfied(PWD, essential_phr, PHR, &a), 1);
    assert_string_equal(a, PHR);
    assert_int_equal(satisfied(PWD, userinfo_mfa, PHR, &a), 1);
    assert_string_equal(a, MFA);
    /* acr_values binds as well: an essential password claim does not let a
     * password session answer acr_values naming only mfa. */
    const char *essential_pwd = "{\"id_token\":{\"acr\":{\"essential\":true,\"value\":\"" PWD "\"}}}";
    assert_int_equal(satisfied(MFA, essential_pwd, PWD, &a), 0);
    assert_int_equal(satisfied(MFA, essential_pwd, MFA, &a), 1);
    assert_string_equal(a, PWD);
    /* The level needed is the strongest any request needs. */
    assert_int_equal(needed(PWD, essential_phr), OIDC_ACR_LEVEL_PHISHING_RESISTANT);
    assert_int_equal(needed(PHR, essential_pwd), OIDC_ACR_LEVEL_PHISHING_RESISTANT);
    assert_int_equal(needed(PWD, userinfo_mfa), OIDC_ACR_LEVEL_MFA);
    /* An essential claim naming only values we do not know binds nothing here. */
    assert_int_equal(
        satisfied(PWD, "{\"id_token\":{\"acr\":{\"essential\":true,\"value\":\"urn:example:x\"}}}", PWD, &a),
        1);
    assert_string_equal(a, PWD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(levels),
        cmocka_unit_test(acr_values),
        cmocka_unit_test(claims),
        cmocka_unit_test(step_up),
        cmocka_unit_test(verified_recovery),
        cmocka_unit_test(essential_and_voluntary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
