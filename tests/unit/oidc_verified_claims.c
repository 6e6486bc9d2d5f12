/* verified_claims trimmed to the claims request (oidc/verified_claims.c,
 * OpenID Connect for Identity Assurance 1.0 §5-§6): each request that can be
 * met paired with a broken twin that cannot (a trust framework value not
 * met, a time older than max_age, a framework the config does not serve). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gateway/json.h"
#include "oidc/tokens_internal.h"

/* 2024-01-01T00:00:00Z */
#define VERIFIED_AT 1704067200
static const char STORED[] =
    "{\"verification\":{\"trust_framework\":\"eidas\",\"assurance_level\":\"high\","
    "\"time\":\"2024-01-01T00:00:00Z\",\"verification_process\":\"txn-1\","
    "\"evidence\":[{\"type\":\"document\"}]},"
    "\"claims\":{\"given_name\":\"Anna\",\"family_name\":\"Smith\",\"birthdate\":\"1990-02-03\","
    "\"employee_number\":\"E1\"}}";

static gw_config_t g_cfg;
static char g_out[4096];

static int setup(void **state)
{
    (void)state;
    memset(&g_cfg, 0, sizeof(g_cfg));
    g_cfg.recovery.trust_frameworks[0] = "eidas";
    g_cfg.recovery.trust_framework_count = 1;
    oidc_cfg = &g_cfg;
    return 0;
}

/* The object written around verified_claims for `request`, as text in
 * g_out ("{}" when nothing was written); returns what the writer returned. */
static int trim(const char *stored, const char *request, int64_t now)
{
    gw_err_t err;
    yajl_val req = gw_json_parse(request, strlen(request), NULL, &err);
    assert_non_null(req);
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    int rc = oidc_verified_claims_write(w, stored, req, now);
    gw_jw_obj_close(w);
    size_t len = 0;
    const char *buf = gw_jw_buf(w, &len);
    assert_non_null(buf);
    assert_true(len < sizeof(g_out));
    memcpy(g_out, buf, len);
    g_out[len] = '\0';
    gw_jw_free(w);
    yajl_tree_free(req);
    return rc;
}

static void test_only_what_is_asked(void **state)
{
    (void)state;
    assert_int_equal(trim(STORED,
                          "{\"verification\":{\"trust_framework\":null},\"claims\":{\"given_name\":null}}",
                          VERIFIED_AT),
                     1);
    assert_string_equal(g_out, "{\"verified_claims\":{\"verification\":{\"trust_framework\":\"eidas\"},"
                               "\"claims\":{\"given_name\":\"Anna\"}}}");
    /* sub-elements asked for; evidence never; employee_number is not one we pass on */
    assert_int_equal(
        trim(STORED,
             "{\"verification\":{\"trust_framework\":null,\"assurance_level\":null,\"time\":null,"
             "\"evidence\":null},\"claims\":{\"birthdate\":null,\"employee_number\":null}}",
             VERIFIED_AT),
        1);
    assert_string_equal(g_out, "{\"verified_claims\":{\"verification\":{\"trust_framework\":\"eidas\","
                               "\"assurance_level\":\"high\",\"time\":\"2024-01-01T00:00:00Z\"},"
                               "\"claims\":{\"birthdate\":\"1990-02-03\"}}}");
    /* only unserved claims: nothing */
    assert_int_equal(
        trim(STORED, "{\"verification\":{\"trust_framework\":null},\"claims\":{\"employee_number\":null}}",
             VERIFIED_AT),
        0);
    assert_string_equal(g_out, "{}");
    /* IDA §5: verification and a non-empty claims are required */
    assert_int_equal(trim(STORED, "{\"claims\":{\"given_name\":null}}", VERIFIED_AT), 0);
    assert_int_equal(trim(STORED, "{\"verification\":{\"trust_framework\":null},\"claims\":{}}", VERIFIED_AT),
                     0);
}

static void test_constraints(void **state)
{
    (void)state;
    const char *met = "{\"verification\":{\"trust_framework\":{\"values\":[\"de_aml\",\"eidas\"]},"
                      "\"assurance_level\":{\"value\":\"high\"}},\"claims\":{\"family_name\":null}}";
    assert_int_equal(trim(STORED, met, VERIFIED_AT), 1);
    assert_string_equal(g_out, "{\"verified_claims\":{\"verification\":{\"trust_framework\":\"eidas\","
                               "\"assurance_level\":\"high\"},\"claims\":{\"family_name\":\"Smith\"}}}");
    assert_int_equal(trim(STORED,
                          "{\"verification\":{\"trust_framework\":{\"value\":\"de_aml\"}},"
                          "\"claims\":{\"family_name\":null}}",
                          VERIFIED_AT),
                     0);
    assert_string_equal(g_out, "{}");
    assert_int_equal(
        trim(STORED,
             "{\"verification\":{\"trust_framework\":null,\"assurance_level\":{\"value\":\"low\"}},"
             "\"claims\":{\"family_name\":null}}",
             VERIFIED_AT),
        0);
    /* time's max_age: one second inside, one second past */
    const char *aged = "{\"verification\":{\"trust_framework\":null,\"time\":{\"max_age\":60}},"
                       "\"claims\":{\"given_name\":null}}";
    assert_int_equal(trim(STORED, aged, VERIFIED_AT + 60), 1);
    assert_int_equal(trim(STORED, aged, VERIFIED_AT + 61), 0);
    /* a claim's own value constraint leaves that claim out */
    assert_int_equal(trim(STORED,
                          "{\"verification\":{\"trust_framework\":null},"
                          "\"claims\":{\"given_name\":{\"value\":\"Bob\"},\"family_name\":null}}",
                          VERIFIED_AT),
                     1);
    assert_string_equal(g_out, "{\"verified_claims\":{\"verification\":{\"trust_framework\":\"eidas\"},"
                               "\"claims\":{\"family_name\":\"Smith\"}}}");
}

static void test_array_of_requests(void **state)
{
    (void)state;
    assert_int_equal(trim(STORED,
                          "[{\"verification\":{\"trust_framework\":{\"value\":\"de_aml\"}},"
                          "\"claims\":{\"given_name\":null}},"
                          "{\"verification\":{\"trust_framework\":null},\"claims\":{\"birthdate\":null}}]",
                          VERIFIED_AT),
                     1);
    assert_string_equal(g_out, "{\"verified_claims\":[{\"verification\":{\"trust_framework\":\"eidas\"},"
                               "\"claims\":{\"birthdate\":\"1990-02-03\"}}]}");
    assert_int_equal(trim(STORED,
                          "[{\"verification\":{\"trust_framework\":{\"value\":\"de_aml\"}},"
                          "\"claims\":{\"given_name\":null}}]",
                          VERIFIED_AT),
                     0);
    assert_string_equal(g_out, "{}");
}

static void test_framework_not_served(void **state)
{
    (void)state;
    const char *req = "{\"verification\":{\"trust_framework\":null},\"claims\":{\"given_name\":null}}";
    g_cfg.recovery.trust_frameworks[0] = "de_aml";
    assert_int_equal(trim(STORED, req, VERIFIED_AT), 0);
    g_cfg.recovery.trust_framework_count = 0;
    assert_int_equal(trim(STORED, req, VERIFIED_AT), 0);
    assert_string_equal(g_out, "{}");
    /* what is stored but not an object of ours is never served */
    setup(NULL);
    assert_int_equal(trim("{\"verification\":", req, VERIFIED_AT), 0);
    assert_int_equal(trim("[]", req, VERIFIED_AT), 0);
    assert_int_equal(trim(STORED, "null", VERIFIED_AT), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_only_what_is_asked, setup),
        cmocka_unit_test_setup(test_constraints, setup),
        cmocka_unit_test_setup(test_array_of_requests, setup),
        cmocka_unit_test_setup(test_framework_not_served, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
