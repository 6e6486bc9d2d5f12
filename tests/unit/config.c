/* gateway/config.c: every key, its type, its bounds, and the one-line error
 * that names it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config.h"

#define KEK "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static char msg[512];

static int parse(gw_config_t *cfg, const char *json)
{
    msg[0] = '\0';
    return gw_config_parse(cfg, json, "/etc/regain", msg, sizeof(msg));
}

static void assert_rejects(const char *json, const char *expected_msg)
{
    gw_config_t cfg;
    assert_int_equal(parse(&cfg, json), -1);
    if (strstr(msg, expected_msg) == NULL)
        fail_msg("message \"%s\" does not contain \"%s\"", msg, expected_msg);
}

static void test_minimal_config_gets_defaults(void **state)
{
    (void)state;
    gw_config_t cfg;
    unsetenv("REGAIN_DATABASE_URL");
    unsetenv("REGAIN_KEY_ENCRYPTION_KEY");
    assert_int_equal(parse(&cfg, "{\"issuer\":\"https://id.example.com\",\"database\":{\"url\":\"dbname=x\"},"
                                 "\"listen\":[{\"port\":8080}],\"keys\":{\"encryption_key\":\"" KEK "\"}}"),
                     0);
    assert_string_equal(cfg.issuer, "https://id.example.com");
    assert_string_equal(cfg.database.url, "dbname=x");
    assert_int_equal(cfg.database.pool_size, 2);
    assert_int_equal(cfg.listen_count, 1);
    assert_string_equal(cfg.listen[0].address, "127.0.0.1");
    assert_int_equal(cfg.listen[0].port, 8080);
    assert_null(cfg.listen[0].certificate_file);
    assert_int_equal(cfg.server.max_request_body_bytes, 1024 * 1024);
    assert_int_equal(cfg.keys.encryption_key[0], 0);
    assert_int_equal(cfg.keys.encryption_key[31], 31);
    assert_int_equal(cfg.log.access_log, 1);
    assert_false(cfg.dev_mode);
    gw_config_dispose(&cfg);
}

static void test_full_config_and_relative_paths(void **state)
{
    (void)state;
    gw_config_t cfg;
    assert_int_equal(parse(&cfg,
                           "{\"issuer\":\"https://id.example.com:8443\",\"dev_mode\":true,"
                           "\"database\":{\"url\":\"dbname=x\",\"pool_size\":4,\"query_timeout_ms\":250},"
                           "\"listen\":[{\"address\":\"::1\",\"port\":8443,\"tls\":{\"certificate_file\":"
                           "\"tls/cert.pem\",\"key_file\":\"/abs/key.pem\"}}],"
                           "\"server\":{\"threads\":3,\"max_request_body_bytes\":2048},"
                           "\"keys\":{\"encryption_key\":\"" KEK "\",\"refresh_interval_ms\":500},"
                           "\"log\":{\"level\":\"debug\",\"access_log\":false}}"),
                     0);
    assert_true(cfg.dev_mode);
    assert_int_equal(cfg.database.pool_size, 4);
    assert_int_equal(cfg.database.query_timeout_ms, 250);
    assert_string_equal(cfg.listen[0].address, "::1");
    assert_string_equal(cfg.listen[0].certificate_file, "/etc/regain/tls/cert.pem");
    assert_string_equal(cfg.listen[0].key_file, "/abs/key.pem");
    assert_int_equal(cfg.server.threads, 3);
    assert_int_equal(cfg.server.max_request_body_bytes, 2048);
    assert_int_equal(cfg.keys.refresh_interval_ms, 500);
    assert_int_equal(cfg.log.level, GW_LOG_DEBUG);
    assert_false(cfg.log.access_log);
    gw_config_dispose(&cfg);
}

#define BASE_DB     "\"database\":{\"url\":\"dbname=x\"}"
#define BASE_LISTEN "\"listen\":[{\"port\":8080}]"
#define BASE_KEYS   "\"keys\":{\"encryption_key\":\"" KEK "\"}"
#define ISSUER      "\"issuer\":\"https://id.example.com\""

static void test_errors_name_the_key(void **state)
{
    (void)state;
    unsetenv("REGAIN_DATABASE_URL");
    unsetenv("REGAIN_KEY_ENCRYPTION_KEY");
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS ",\"colour\":1}",
                   "colour: unknown key");
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS ",\"server\":{\"threads\":\"2\"}}",
                   "server.threads: expected an integer");
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS ",\"server\":{\"threads\":999}}",
                   "server.threads: must be between 0 and 256");
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS ",\"server\":{\"thread\":2}}",
                   "server.thread: unknown key");
    assert_rejects("{" BASE_DB "," BASE_LISTEN "," BASE_KEYS "}", "issuer: required");
    assert_rejects("{\"issuer\":\"https://id.example.com/\"," BASE_DB "," BASE_LISTEN "," BASE_KEYS "}",
                   "issuer: must be an https URL");
    assert_rejects("{\"issuer\":\"ftp://x\"," BASE_DB "," BASE_LISTEN "," BASE_KEYS "}", "issuer: must be");
    /* OIDC Discovery §3: https; plain http only to a loopback host, which
     * is development on one machine. */
    static const char *const HTTP_NOT_LOOPBACK[] = {
        "http://id.example.com", "http://localhost.example.com",    "http://127.0.0.1.example.com",
        "http://[::1].example",  "http://localhost@id.example.com", "http://"};
    for (size_t i = 0; i < sizeof(HTTP_NOT_LOOPBACK) / sizeof(HTTP_NOT_LOOPBACK[0]); i++) {
        char json[512];
        snprintf(json, sizeof(json), "{\"issuer\":\"%s\"," BASE_DB "," BASE_LISTEN "," BASE_KEYS "}",
                 HTTP_NOT_LOOPBACK[i]);
        assert_rejects(json, "issuer: must be an https URL");
    }
    static const char *const HTTP_LOOPBACK[] = {"http://localhost", "http://127.0.0.1:8080",
                                                "http://[::1]:8080", "http://localhost:8080/regain"};
    for (size_t i = 0; i < sizeof(HTTP_LOOPBACK) / sizeof(HTTP_LOOPBACK[0]); i++) {
        char json[512];
        gw_config_t cfg;
        snprintf(json, sizeof(json), "{\"issuer\":\"%s\"," BASE_DB "," BASE_LISTEN "," BASE_KEYS "}",
                 HTTP_LOOPBACK[i]);
        if (parse(&cfg, json) != 0)
            fail_msg("%s refused: %s", HTTP_LOOPBACK[i], msg);
        gw_config_dispose(&cfg);
    }
    assert_rejects("{" ISSUER "," BASE_LISTEN "," BASE_KEYS "}", "database.url: required");
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_KEYS "}", "listen: required");
    assert_rejects("{" ISSUER "," BASE_DB ",\"listen\":[]," BASE_KEYS "}",
                   "listen: expected a non-empty array");
    assert_rejects("{" ISSUER "," BASE_DB ",\"listen\":[{\"port\":0}]," BASE_KEYS "}",
                   "listen[0].port: must be between 1 and 65535");
    assert_rejects("{" ISSUER "," BASE_DB ",\"listen\":[{\"port\":1,\"tls\":{\"key_file\":\"k\"}}]," BASE_KEYS
                   "}",
                   "listen[0].tls.certificate_file: required");
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_LISTEN "}", "keys.encryption_key: required");
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_LISTEN ",\"keys\":{\"encryption_key\":\"c2hvcnQ=\"}}",
                   "keys.encryption_key: expected the base64 encoding of 32 random bytes");
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS ",\"dev_mode\":\"yes\"}",
                   "dev_mode: expected true or false");
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS ",\"log\":{\"level\":\"loud\"}}",
                   "log.level: expected one of");
    assert_rejects("{" ISSUER "," ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS "}",
                   "issuer: key given twice");
    assert_rejects("[1]", "expected a JSON object");
    assert_rejects("{\"issuer\": ", "not valid JSON");
}

/* Two listeners on one port would join one SO_REUSEPORT group and share its
 * connections, TLS and cleartext at random; the wildcard address of a family
 * overlaps every address of that family, and IPv6 listeners are IPv6-only. */
static void test_listeners_must_not_share_a_port(void **state)
{
    (void)state;
#define LISTEN2(a, b) "{" ISSUER "," BASE_DB ",\"listen\":[" a "," b "]," BASE_KEYS "}"
    assert_rejects(
        LISTEN2("{\"port\":8443,\"tls\":{\"certificate_file\":\"c\",\"key_file\":\"k\"}}", "{\"port\":8443}"),
        "listen[1]: port 8443 on 127.0.0.1 is already listen[0]'s (127.0.0.1)");
    assert_rejects(LISTEN2("{\"address\":\"0.0.0.0\",\"port\":80}", "{\"address\":\"10.1.2.3\",\"port\":80}"),
                   "listen[1]: port 80 on 10.1.2.3 is already listen[0]'s (0.0.0.0)");
    assert_rejects(LISTEN2("{\"address\":\"::1\",\"port\":80}", "{\"address\":\"::\",\"port\":80}"),
                   "listen[1]: port 80 on :: is already listen[0]'s (::1)");
    assert_rejects(LISTEN2("{\"address\":\"::1\",\"port\":80}", "{\"address\":\"0:0::1\",\"port\":80}"),
                   "is already listen[0]'s");
    assert_rejects(LISTEN2("{\"address\":\"localhost\",\"port\":80}", "{\"port\":81}"),
                   "listen[0].address: \"localhost\" is not a numeric IPv4 or IPv6 address");

    static const char *const DISTINCT[] = {
        LISTEN2("{\"port\":8443}", "{\"port\":8080}"),
        LISTEN2("{\"address\":\"127.0.0.1\",\"port\":80}", "{\"address\":\"127.0.0.2\",\"port\":80}"),
        LISTEN2("{\"address\":\"0.0.0.0\",\"port\":80}", "{\"address\":\"::\",\"port\":80}"),
        LISTEN2("{\"address\":\"::1\",\"port\":80}", "{\"address\":\"127.0.0.1\",\"port\":80}"),
    };
    for (size_t i = 0; i < sizeof(DISTINCT) / sizeof(DISTINCT[0]); i++) {
        gw_config_t cfg;
        if (parse(&cfg, DISTINCT[i]) != 0)
            fail_msg("%s refused: %s", DISTINCT[i], msg);
        assert_int_equal(cfg.listen_count, 2);
        gw_config_dispose(&cfg);
    }
#undef LISTEN2
}

static void test_oidc_section(void **state)
{
    (void)state;
    gw_config_t cfg;
    unsetenv("REGAIN_DATABASE_URL");
    unsetenv("REGAIN_KEY_ENCRYPTION_KEY");
    assert_int_equal(parse(&cfg, "{" ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS "}"), 0);
    assert_int_equal(cfg.oidc.argon2_m_kib, 19 * 1024); /* OWASP's minimum for Argon2id */
    assert_int_equal(cfg.oidc.argon2_t, 2);
    assert_int_equal(cfg.oidc.code_ttl_s, 60);
    gw_config_dispose(&cfg);
    assert_int_equal(parse(&cfg,
                           "{" ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS
                           ",\"oidc\":{\"argon2_t\":3,\"session_ttl_s\":120,\"throttle_max_failures\":7}}"),
                     0);
    assert_int_equal(cfg.oidc.argon2_t, 3);
    assert_int_equal(cfg.oidc.session_ttl_s, 120);
    assert_int_equal(cfg.oidc.throttle_max_failures, 7);
    gw_config_dispose(&cfg);
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS ",\"oidc\":{\"code_ttl_s\":0}}",
                   "oidc.code_ttl_s: must be between 1 and 600");
    assert_rejects("{" ISSUER "," BASE_DB "," BASE_LISTEN "," BASE_KEYS ",\"oidc\":{\"ttl\":1}}",
                   "oidc.ttl: unknown key");
}

static void test_environment_overrides_secrets(void **state)
{
    (void)state;
    gw_config_t cfg;
    setenv("REGAIN_DATABASE_URL", "host=/run/pg dbname=prod", 1);
    setenv("REGAIN_KEY_ENCRYPTION_KEY", "//////////////////////////////////////////8=", 1);
    assert_int_equal(parse(&cfg, "{" ISSUER "," BASE_LISTEN "}"), 0);
    assert_string_equal(cfg.database.url, "host=/run/pg dbname=prod");
    assert_int_equal(cfg.keys.encryption_key[0], 0xff);
    gw_config_dispose(&cfg);
    setenv("REGAIN_KEY_ENCRYPTION_KEY", "not base64", 1);
    assert_rejects("{" ISSUER "," BASE_LISTEN "}", "REGAIN_KEY_ENCRYPTION_KEY: expected the base64");
    unsetenv("REGAIN_DATABASE_URL");
    unsetenv("REGAIN_KEY_ENCRYPTION_KEY");
}

static void test_unreadable_file_names_the_file(void **state)
{
    (void)state;
    gw_config_t cfg;
    assert_int_equal(gw_config_load(&cfg, "/nonexistent/regain.json", msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "/nonexistent/regain.json: cannot read"));
}

/* Issue 7: the "providers" list and the "recovery" webhooks. */
#define BASE_START                                                                                           \
    "{\"issuer\":\"https://id.example.com\",\"database\":{\"url\":\"dbname=x\"},"                            \
    "\"listen\":[{\"port\":8080}],\"keys\":{\"encryption_key\":\"" KEK "\"},"

static void test_providers_and_recovery(void **state)
{
    (void)state;
    gw_config_t cfg;
    assert_int_equal(parse(&cfg, BASE_START
                           "\"dev_mode\":true,\"providers\":["
                           "{\"id\":\"dev\",\"type\":\"dev\"},"
                           "{\"id\":\"idv\",\"type\":\"oidc-ida\",\"issuer\":\"https://idv.example\","
                           "\"client_id\":\"regain\",\"client_secret\":\"s\",\"ca_file\":\"ca.pem\"}],"
                           "\"recovery\":{\"notification_webhook\":{\"url\":\"https://hooks.example/n\"},"
                           "\"claim_validation_webhook\":{\"url\":\"http://127.0.0.1:9/v\","
                           "\"timeout_ms\":500,\"on_error\":\"pass\"}}}"),
                     0);
    assert_int_equal(cfg.provider_count, 2);
    assert_string_equal(cfg.providers[0].display_name, "dev"); /* defaults to the id */
    assert_string_equal(cfg.providers[1].scopes, "openid identity_assurance");
    assert_string_equal(cfg.providers[1].ca_file, "/etc/regain/ca.pem");
    assert_int_equal(cfg.providers[1].use_par, 1);
    assert_int_equal(cfg.providers[1].aggregate_result, 0);
    assert_string_equal(cfg.recovery.notification.url, "https://hooks.example/n");
    assert_int_equal(cfg.recovery.claim_validation.timeout_ms, 500);
    assert_int_equal(cfg.recovery.claim_validation.pass_on_error, 1);
    gw_config_dispose(&cfg);

    /* The simulated provider never runs without dev_mode. */
    assert_rejects(BASE_START "\"providers\":[{\"id\":\"dev\",\"type\":\"dev\"}]}",
                   "providers[0].type: \"dev\" is refused unless dev_mode is true");
    assert_rejects(BASE_START "\"providers\":[{\"id\":\"x\",\"type\":\"saml\"}]}", "providers[0].type");
    assert_rejects(BASE_START "\"providers\":[{\"id\":\"Bad Id\",\"type\":\"oidc-ida\"}]}",
                   "providers[0].id");
    assert_rejects(BASE_START
                   "\"providers\":[{\"id\":\"a\",\"type\":\"oidc-ida\",\"issuer\":\"http://idv.example\","
                   "\"client_id\":\"c\",\"client_secret\":\"s\"}]}",
                   "providers[0].issuer");
    assert_rejects(BASE_START
                   "\"providers\":[{\"id\":\"a\",\"type\":\"oidc-ida\",\"issuer\":\"https://idv.example\","
                   "\"client_id\":\"c\"}]}",
                   "exactly one of client_secret and private_key_file");
    assert_rejects(BASE_START "\"dev_mode\":true,\"providers\":[{\"id\":\"d\",\"type\":\"dev\"},"
                              "{\"id\":\"d\",\"type\":\"dev\"}]}",
                   "providers[1].id: \"d\" is used twice");
    assert_rejects(BASE_START "\"providers\":[{\"id\":\"a\",\"type\":\"dev\",\"colour\":1}]}",
                   "providers[0].colour: unknown key");
    assert_rejects(BASE_START "\"recovery\":{\"notification_webhook\":{\"url\":\"http://hooks.example\"}}}",
                   "recovery.notification_webhook.url");
    assert_rejects(BASE_START "\"recovery\":{\"claim_validation_webhook\":{\"url\":\"https://h\","
                              "\"on_error\":\"maybe\"}}}",
                   "recovery.claim_validation_webhook.on_error");

    /* The trust frameworks verified_claims are passed on under. */
    assert_int_equal(parse(&cfg, BASE_START "\"recovery\":{\"trust_frameworks\":[\"eidas\",\"de_aml\"]}}"),
                     0);
    assert_int_equal(cfg.recovery.trust_framework_count, 2);
    assert_string_equal(cfg.recovery.trust_frameworks[1], "de_aml");
    gw_config_dispose(&cfg);
    assert_int_equal(parse(&cfg, BASE_START "\"recovery\":{}}"), 0);
    assert_int_equal(cfg.recovery.trust_framework_count, 0);
    gw_config_dispose(&cfg);
    assert_rejects(BASE_START "\"recovery\":{\"trust_frameworks\":\"eidas\"}}", "recovery.trust_frameworks");
    assert_rejects(BASE_START "\"recovery\":{\"trust_frameworks\":[\"eidas\",\"\"]}}",
                   "recovery.trust_frameworks[1]");
    assert_rejects(BASE_START "\"recovery\":{\"trust_frameworks\":[\"eid as\"]}}",
                   "recovery.trust_frameworks[0]: expected visible ASCII");
    assert_rejects(BASE_START "\"recovery\":{\"trust_frameworks\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
                              "\"h\",\"i\"]}}",
                   "at most 8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_config_gets_defaults),
        cmocka_unit_test(test_full_config_and_relative_paths),
        cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_listeners_must_not_share_a_port),
        cmocka_unit_test(test_oidc_section),
        cmocka_unit_test(test_environment_overrides_secrets),
        cmocka_unit_test(test_unreadable_file_names_the_file),
        cmocka_unit_test(test_providers_and_recovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
