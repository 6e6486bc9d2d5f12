/* Outbound calls in the clear are for dev mode only (tests and local
 * receivers on a loopback address): the config refuses an http webhook or
 * provider issuer without dev_mode, and providers/http.c refuses every
 * plain http call unless dev mode allowed it, whatever URL a remote document
 * (an IDV provider's discovery) names. Each refusal is paired with the case
 * that is allowed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gateway/config.h"
#include "providers/provider.h"

#define KEK "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static int parse_with(const char *dev_mode, const char *webhook_url, const char *issuer)
{
    char json[1024], msg[512];
    snprintf(
        json, sizeof(json),
        "{\"issuer\":\"https://id.example.com\",\"database\":{\"url\":\"dbname=x\"},"
        "\"listen\":[{\"port\":8080}],\"keys\":{\"encryption_key\":\"" KEK "\"},\"dev_mode\":%s,"
        "\"providers\":[{\"id\":\"idv\",\"type\":\"oidc-ida\",\"issuer\":\"%s\",\"client_id\":\"regain\","
        "\"client_secret\":\"s\"}],"
        "\"recovery\":{\"claim_validation_webhook\":{\"url\":\"%s\"}}}",
        dev_mode, issuer, webhook_url);
    gw_config_t cfg;
    int rc = gw_config_parse(&cfg, json, "/etc/regain", msg, sizeof(msg));
    if (rc == 0)
        gw_config_dispose(&cfg);
    return rc;
}

static void config(void **state)
{
    (void)state;
    assert_int_equal(parse_with("false", "https://hooks.example/v", "https://idv.example"), 0);
    assert_int_equal(parse_with("false", "http://127.0.0.1:9/v", "https://idv.example"), -1);
    assert_int_equal(parse_with("false", "https://hooks.example/v", "http://localhost:9"), -1);
    assert_int_equal(parse_with("true", "http://127.0.0.1:9/v", "http://localhost:9"), 0);
    /* Never plain http to anything but a loopback host. */
    assert_int_equal(parse_with("true", "http://hooks.example/v", "https://idv.example"), -1);
}

static void on_done(void *data, const prov_http_response_t *res)
{
    (void)data;
    (void)res;
    fail_msg("a refused call must not call back");
}

/* Refused before the loop is touched, so no loop is needed here. */
static const char *refusal(const char *url)
{
    const char *error = NULL;
    prov_http_req_t *q = prov_http_request(NULL, url, NULL, NULL, 0, NULL, NULL, 100, on_done, NULL, &error);
    assert_null(q);
    return error;
}

static void runtime(void **state)
{
    (void)state;
    prov_http_allow_plain_loopback(0);
    assert_non_null(strstr(refusal("http://127.0.0.1:9/token"), "dev mode"));
    assert_non_null(strstr(refusal("http://localhost/jwks"), "dev mode"));
    prov_http_allow_plain_loopback(1);
    assert_non_null(strstr(refusal("http://10.0.0.1/token"), "loopback"));
    assert_non_null(strstr(refusal("http://127.0.0.1.attacker.example/token"), "loopback"));
    prov_http_allow_plain_loopback(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config),
        cmocka_unit_test(runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
