/* oidc/authorize_params.c and the pure builders of oidc/authorize_response.c:
 * every validation rule of the authorization request, each with a broken
 * twin next to a good one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/authorize_internal.h"

/* RFC 7636 Appendix B: S256 of "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk". */
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define BASE                                                                                                 \
    "client_id=app-1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=openid"            \
    "&code_challenge=" CHALLENGE "&code_challenge_method=S256"

static gw_config_t g_cfg;

static int setup(void **state)
{
    h2o_mem_pool_t *pool = malloc(sizeof(*pool));
    h2o_mem_init_pool(pool);
    *state = pool;
    g_cfg.issuer = "https://op.example";
    oidc_cfg = &g_cfg;
    return 0;
}

static int teardown(void **state)
{
    h2o_mem_clear_pool(*state);
    free(*state);
    return 0;
}

/* Parses query string `q`; returns oidc_az_parse's result. */
static int parse(void **state, const char *q, oidc_az_request_t *a, char *fatal)
{
    gw_kvs_t kvs;
    gw_err_t err;
    assert_int_equal(gw_form_parse(*state, q, strlen(q), 64, &kvs, &err), 0);
    return oidc_az_parse(*state, &kvs, a, fatal, 160);
}

/* BASE plus `extra`, parsed; returns the redirectable error. */
static oidc_az_error_t with(void **state, const char *extra, oidc_az_request_t *a)
{
    char q[16384], fatal[160];
    snprintf(q, sizeof(q), "%s%s", BASE, extra);
    assert_int_equal(parse(state, q, a, fatal), 0);
    return a->error;
}

static oidc_az_error_t err_of(void **state, const char *q)
{
    oidc_az_request_t a;
    char fatal[160];
    assert_int_equal(parse(state, q, &a, fatal), 0);
    return a.error;
}

static void assert_iov(h2o_iovec_t v, const char *want)
{
    assert_non_null(v.base);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.base, want, v.len);
}

static void test_good_request(void **state)
{
    oidc_az_request_t a;
    assert_int_equal(with(state, "&state=xyz&nonce=n-0S6", &a), OIDC_AZE_NONE);
    assert_iov(a.client_id, "app-1");
    assert_iov(a.redirect_uri, "https://app.example/cb");
    assert_iov(a.scope, "openid");
    assert_iov(a.state, "xyz");
    assert_iov(a.nonce, "n-0S6");
    assert_iov(a.code_challenge, CHALLENGE);
    assert_int_equal(a.response_mode, OIDC_RM_QUERY);
    assert_int_equal(a.prompt, 0);
    assert_int_equal(a.max_age, -1);
    assert_null(a.claims.base);
    /* RFC 6749 §3.1: unknown parameters are ignored, empty ones are omitted. */
    assert_int_equal(with(state, "&foo=bar&nonce=", &a), OIDC_AZE_NONE);
    assert_null(a.nonce.base);
}

static void test_fatal_client_id(void **state)
{
    oidc_az_request_t a;
    char fatal[160];
    const char *uri = "&redirect_uri=https%3A%2F%2Fa.example%2F&response_type=code";
    char q[512];
    snprintf(q, sizeof(q), "client_id=ok%s", uri);
    assert_int_equal(parse(state, q, &a, fatal), 0);
    assert_int_equal(parse(state, uri + 1, &a, fatal), -1); /* missing */
    snprintf(q, sizeof(q), "client_id=a&client_id=b%s", uri);
    assert_int_equal(parse(state, q, &a, fatal), -1); /* repeated */
    assert_non_null(strstr(fatal, "repeated"));
    snprintf(q, sizeof(q), "client_id=a%%20b%s", uri);
    assert_int_equal(parse(state, q, &a, fatal), -1); /* outside [A-Za-z0-9._~-] */
    char long_id[200];
    memset(long_id, 'x', 129);
    long_id[129] = '\0';
    snprintf(q, sizeof(q), "client_id=%s%s", long_id, uri);
    assert_int_equal(parse(state, q, &a, fatal), -1);
    long_id[128] = '\0';
    snprintf(q, sizeof(q), "client_id=%s%s", long_id, uri);
    assert_int_equal(parse(state, q, &a, fatal), 0);
}

static void test_fatal_redirect_uri(void **state)
{
    oidc_az_request_t a;
    char fatal[160];
    assert_int_equal(parse(state, "client_id=c&response_type=code", &a, fatal), -1);
    assert_int_equal(
        parse(state, "client_id=c&redirect_uri=https%3A%2F%2Fa&redirect_uri=https%3A%2F%2Fb", &a, fatal), -1);
    /* The same value twice is still a repeat (RFC 6749 §3.1). */
    assert_int_equal(
        parse(state, "client_id=c&redirect_uri=https%3A%2F%2Fa&redirect_uri=https%3A%2F%2Fa", &a, fatal), -1);
    char *q = malloc(4200);
    strcpy(q, "client_id=c&redirect_uri=https%3A%2F%2Fa.example%2F");
    size_t n = strlen(q);
    memset(q + n, 'p', 2049 - strlen("https://a.example/"));
    q[n + 2049 - strlen("https://a.example/")] = '\0';
    assert_int_equal(parse(state, q, &a, fatal), -1);
    q[strlen(q) - 1] = '\0'; /* 2048 bytes: accepted */
    assert_int_equal(parse(state, q, &a, fatal), 0);
    free(q);
}

static void test_response_type(void **state)
{
    const char *rest = "client_id=c&redirect_uri=https%3A%2F%2Fa&scope=openid&code_challenge=" CHALLENGE
                       "&code_challenge_method=S256";
    char q[512];
    snprintf(q, sizeof(q), "%s&response_type=code", rest);
    assert_int_equal(err_of(state, q), OIDC_AZE_NONE);
    assert_int_equal(err_of(state, rest), OIDC_AZE_INVALID_REQUEST);
    snprintf(q, sizeof(q), "%s&response_type=token", rest);
    assert_int_equal(err_of(state, q), OIDC_AZE_UNSUPPORTED_RESPONSE_TYPE);
    snprintf(q, sizeof(q), "%s&response_type=code+id_token", rest);
    assert_int_equal(err_of(state, q), OIDC_AZE_UNSUPPORTED_RESPONSE_TYPE);
    snprintf(q, sizeof(q), "%s&response_type=Code", rest);
    assert_int_equal(err_of(state, q), OIDC_AZE_UNSUPPORTED_RESPONSE_TYPE);
    snprintf(q, sizeof(q), "%s&response_type=code&response_type=token", rest);
    assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_REQUEST);
}

static void test_response_mode_and_state(void **state)
{
    oidc_az_request_t a;
    assert_int_equal(with(state, "&response_mode=form_post&state=s1", &a), OIDC_AZE_NONE);
    assert_int_equal(a.response_mode, OIDC_RM_FORM_POST);
    assert_int_equal(with(state, "&response_mode=query", &a), OIDC_AZE_NONE);
    assert_int_equal(a.response_mode, OIDC_RM_QUERY);
    assert_int_equal(with(state, "&response_mode=fragment&state=s1", &a), OIDC_AZE_INVALID_REQUEST);
    assert_int_equal(a.response_mode, OIDC_RM_QUERY);
    assert_iov(a.state, "s1"); /* the error still carries the state */
    /* An error found after state was read keeps it and the mode. */
    assert_int_equal(with(state, "&response_mode=form_post&state=s2&prompt=bogus", &a),
                     OIDC_AZE_INVALID_REQUEST);
    assert_int_equal(a.response_mode, OIDC_RM_FORM_POST);
    assert_iov(a.state, "s2");
    char extra[1200] = "&state=";
    memset(extra + 7, 'x', 1024);
    extra[7 + 1024] = '\0';
    assert_int_equal(with(state, extra, &a), OIDC_AZE_NONE);
    strcat(extra, "x");
    assert_int_equal(with(state, extra, &a), OIDC_AZE_INVALID_REQUEST);
    assert_null(a.state.base);
    assert_int_equal(with(state, "&state=a&state=b", &a), OIDC_AZE_INVALID_REQUEST);
}

static void test_request_objects(void **state)
{
    oidc_az_request_t a;
    assert_int_equal(with(state, "&request=eyJhbGciOiJub25lIn0.e30.", &a), OIDC_AZE_REQUEST_NOT_SUPPORTED);
    assert_int_equal(with(state, "&request_uri=https%3A%2F%2Fx", &a), OIDC_AZE_REQUEST_URI_NOT_SUPPORTED);
    assert_int_equal(with(state, "&registration=%7B%7D", &a), OIDC_AZE_REGISTRATION_NOT_SUPPORTED);
    /* The first problem wins: request is checked before PKCE. */
    assert_int_equal(err_of(state, "client_id=c&redirect_uri=x&response_type=code&scope=openid&request=x"),
                     OIDC_AZE_REQUEST_NOT_SUPPORTED);
}

static void test_pkce(void **state)
{
    const char *head = "client_id=c&redirect_uri=x&response_type=code&scope=openid";
    char q[512];
    snprintf(q, sizeof(q), "%s&code_challenge=%s&code_challenge_method=S256", head, CHALLENGE);
    assert_int_equal(err_of(state, q), OIDC_AZE_NONE);
    assert_int_equal(err_of(state, head), OIDC_AZE_INVALID_REQUEST); /* missing */
    snprintf(q, sizeof(q), "%s&code_challenge=%s", head, CHALLENGE);
    assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_REQUEST); /* method missing: plain by default */
    snprintf(q, sizeof(q), "%s&code_challenge=%s&code_challenge_method=plain", head, CHALLENGE);
    assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_REQUEST);
    snprintf(q, sizeof(q), "%s&code_challenge=%s&code_challenge_method=s256", head, CHALLENGE);
    assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_REQUEST);
    snprintf(q, sizeof(q), "%s&code_challenge_method=S256", head);
    assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_REQUEST);
    /* 42 and 44 characters, a character outside base64url, non-zero trailing bits. */
    snprintf(q, sizeof(q), "%s&code_challenge=%.42s&code_challenge_method=S256", head, CHALLENGE);
    assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_REQUEST);
    snprintf(q, sizeof(q), "%s&code_challenge=%sA&code_challenge_method=S256", head, CHALLENGE);
    assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_REQUEST);
    snprintf(q, sizeof(q), "%s&code_challenge=%.42s.&code_challenge_method=S256", head, CHALLENGE);
    assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_REQUEST);
    snprintf(q, sizeof(q), "%s&code_challenge=%.42sN&code_challenge_method=S256", head, CHALLENGE);
    assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_REQUEST);
    snprintf(q, sizeof(q), "%s&code_challenge=%.42sM&code_challenge_method=S256", head, CHALLENGE);
    assert_int_equal(err_of(state, q), OIDC_AZE_NONE);
}

static void test_scope(void **state)
{
    const char *head = "client_id=c&redirect_uri=x&response_type=code&code_challenge=" CHALLENGE
                       "&code_challenge_method=S256";
    char q[2048];
    oidc_az_request_t a;
    char fatal[160];
    snprintf(q, sizeof(q), "%s&scope=openid+profile+openid+email", head);
    assert_int_equal(parse(state, q, &a, fatal), 0);
    assert_int_equal(a.error, OIDC_AZE_NONE);
    assert_iov(a.scope, "openid profile email"); /* repeats dropped */
    assert_int_equal(err_of(state, head), OIDC_AZE_INVALID_SCOPE);
    static const char *const bad[] = {
        "profile",        /* no openid */
        "openid+foo",     /* unsupported */
        "openid++email",  /* double space */
        "+openid",        /* leading space */
        "openid+",        /* trailing space */
        "openid%22",      /* '"' is not a scope-token character */
        "openid%09email", /* tab */
        "OpenID",         /* case-sensitive */
        "openid+admin",   /* API scopes are granted by client_credentials only */
        "openid+scim",    "openid+scim.read",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(q, sizeof(q), "%s&scope=%s", head, bad[i]);
        assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_SCOPE);
    }
    snprintf(q, sizeof(q), "%s&scope=openid&scope=email", head);
    assert_int_equal(err_of(state, q), OIDC_AZE_INVALID_REQUEST);
}

static void test_prompt(void **state)
{
    oidc_az_request_t a;
    assert_int_equal(with(state, "&prompt=none", &a), OIDC_AZE_NONE);
    assert_int_equal(a.prompt, OIDC_PROMPT_NONE);
    assert_int_equal(with(state, "&prompt=login+consent", &a), OIDC_AZE_NONE);
    assert_int_equal(a.prompt, OIDC_PROMPT_LOGIN | OIDC_PROMPT_CONSENT);
    assert_int_equal(with(state, "&prompt=select_account", &a), OIDC_AZE_NONE);
    assert_int_equal(with(state, "&prompt=none+login", &a), OIDC_AZE_INVALID_REQUEST);
    assert_int_equal(with(state, "&prompt=consent+none", &a), OIDC_AZE_INVALID_REQUEST);
    assert_int_equal(with(state, "&prompt=bogus", &a), OIDC_AZE_INVALID_REQUEST);
    assert_int_equal(with(state, "&prompt=login++consent", &a), OIDC_AZE_INVALID_REQUEST);
    assert_int_equal(with(state, "&prompt=NONE", &a), OIDC_AZE_INVALID_REQUEST);
}

static void test_max_age(void **state)
{
    oidc_az_request_t a;
    assert_int_equal(with(state, "&max_age=0", &a), OIDC_AZE_NONE);
    assert_int_equal(a.max_age, 0);
    assert_int_equal(with(state, "&max_age=3600", &a), OIDC_AZE_NONE);
    assert_int_equal(a.max_age, 3600);
    assert_int_equal(with(state, "&max_age=2147483647", &a), OIDC_AZE_NONE);
    static const char *const bad[] = {"-1", "%2B5", "1.5", "1e3", "2147483648", "99999999999", "12a", "%201"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char extra[64];
        snprintf(extra, sizeof(extra), "&max_age=%s", bad[i]);
        assert_int_equal(with(state, extra, &a), OIDC_AZE_INVALID_REQUEST);
    }
}

static void test_claims(void **state)
{
    oidc_az_request_t a;
    assert_int_equal(with(state,
                          "&claims=%7B%22id_token%22%3A%7B%22acr%22%3A%7B%22essential%22%3Atrue%7D%7D%2C"
                          "%22userinfo%22%3A%7B%22email%22%3Anull%7D%7D",
                          &a),
                     OIDC_AZE_NONE);
    assert_iov(a.claims, "{\"id_token\":{\"acr\":{\"essential\":true}},\"userinfo\":{\"email\":null}}");
    /* verified_claims may be an array; other top-level members are ignored. */
    assert_int_equal(
        with(state, "&claims=%7B%22id_token%22%3A%7B%22verified_claims%22%3A%5B%7B%7D%5D%7D%2C%22x%22%3A1%7D",
             &a),
        OIDC_AZE_NONE);
    static const char *const bad[] = {
        "%7B",                                        /* not JSON */
        "%5B%5D",                                     /* an array */
        "%7B%22userinfo%22%3A%22x%22%7D",             /* userinfo a string */
        "%7B%22id_token%22%3A%7B%22acr%22%3A1%7D%7D", /* claim request a number */
        "%7B%22id_token%22%3A%7B%22acr%22%3A%7B%22essential%22%3A%22yes%22%7D%7D%7D",
        "%7B%22id_token%22%3A%7B%22acr%22%3A%7B%22values%22%3A%22a%22%7D%7D%7D",
        "%7B%22id_token%22%3A%7B%22email%22%3A%5B%5D%7D%7D", /* array only for verified_claims */
        "%7B%22a%22%3A1%2C%22a%22%3A2%7D",                   /* duplicate key */
        "%7B%2F*c*%2F%7D",                                   /* comment */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char extra[256];
        snprintf(extra, sizeof(extra), "&claims=%s", bad[i]);
        assert_int_equal(with(state, extra, &a), OIDC_AZE_INVALID_REQUEST);
    }
    /* An essential acr must be met by one of its values (§5.5.1.1): one we
     * never assert is unmet_authentication_requirements; one we know among
     * them, or the claim without essential, is fine. */
    assert_int_equal(with(state,
                          "&claims=%7B%22id_token%22%3A%7B%22acr%22%3A%7B%22essential%22%3Atrue%2C"
                          "%22values%22%3A%5B%22urn%3Ax%22%5D%7D%7D%7D",
                          &a),
                     OIDC_AZE_UNMET_AUTHENTICATION_REQUIREMENTS);
    assert_int_equal(with(state,
                          "&claims=%7B%22userinfo%22%3A%7B%22acr%22%3A%7B%22essential%22%3Atrue%2C"
                          "%22value%22%3A%22urn%3Ax%22%7D%7D%7D",
                          &a),
                     OIDC_AZE_UNMET_AUTHENTICATION_REQUIREMENTS);
    assert_int_equal(with(state,
                          "&claims=%7B%22id_token%22%3A%7B%22acr%22%3A%7B%22essential%22%3Atrue%2C"
                          "%22values%22%3A%5B%22urn%3Ax%22%2C%22urn%3Aregain%3Aacr%3Amfa%22%5D%7D%7D%7D",
                          &a),
                     OIDC_AZE_NONE);
    assert_int_equal(
        with(state,
             "&claims=%7B%22id_token%22%3A%7B%22acr%22%3A%7B%22values%22%3A%5B%22urn%3Ax%22%5D%7D%7D%7D", &a),
        OIDC_AZE_NONE);
    /* A sub value in the id_token member names the End-User (§5.5.1). */
    assert_int_equal(
        with(state, "&claims=%7B%22id_token%22%3A%7B%22sub%22%3A%7B%22value%22%3A%22u-1%22%7D%7D%7D", &a),
        OIDC_AZE_NONE);
    assert_iov(a.required_sub, "u-1");
    assert_true(oidc_az_session_user_fits(&a, "u-1"));
    assert_false(oidc_az_session_user_fits(&a, "u-2"));
    assert_int_equal(
        with(state, "&claims=%7B%22id_token%22%3A%7B%22sub%22%3A%7B%22value%22%3A7%7D%7D%7D", &a),
        OIDC_AZE_INVALID_REQUEST);
    assert_int_equal(
        with(state, "&claims=%7B%22userinfo%22%3A%7B%22sub%22%3A%7B%22value%22%3A%22u-1%22%7D%7D%7D", &a),
        OIDC_AZE_NONE);
    assert_null(a.required_sub.base); /* userinfo's sub names nobody for the ID token */
    assert_true(oidc_az_session_user_fits(&a, "u-2"));
    /* So does an id_token_hint's sub: {"alg":"none"}.{"sub":"u-1"}.x, read,
     * not verified (it only narrows); one that cannot be read is ignored. */
    assert_int_equal(with(state, "&id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1LTEifQ.eA", &a),
                     OIDC_AZE_NONE);
    assert_iov(a.required_sub, "u-1");
    assert_int_equal(with(state, "&id_token_hint=junk", &a), OIDC_AZE_NONE);
    assert_null(a.required_sub.base);
    assert_int_equal(with(state,
                          "&id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1LTEifQ.eA"
                          "&claims=%7B%22id_token%22%3A%7B%22sub%22%3A%7B%22value%22%3A%22u-2%22%7D%7D%7D",
                          &a),
                     OIDC_AZE_INVALID_REQUEST);
    /* Over OIDC_AZ_CLAIMS_MAX bytes. */
    char *extra = malloc(OIDC_AZ_CLAIMS_MAX + 64);
    strcpy(extra, "&claims=%7B%22x%22%3A%22");
    size_t n = strlen(extra);
    memset(extra + n, 'a', OIDC_AZ_CLAIMS_MAX);
    strcpy(extra + n + OIDC_AZ_CLAIMS_MAX, "%22%7D");
    assert_int_equal(with(state, extra, &a), OIDC_AZE_INVALID_REQUEST);
    free(extra);
}

static void test_bounded_strings(void **state)
{
    oidc_az_request_t a;
    char extra[2048];
    memset(extra, 0, sizeof(extra));
    strcpy(extra, "&nonce=");
    memset(extra + 7, 'n', OIDC_AZ_NONCE_MAX);
    assert_int_equal(with(state, extra, &a), OIDC_AZE_NONE);
    extra[7 + OIDC_AZ_NONCE_MAX] = 'n';
    assert_int_equal(with(state, extra, &a), OIDC_AZE_INVALID_REQUEST);
    memset(extra, 0, sizeof(extra));
    strcpy(extra, "&login_hint=");
    memset(extra + 12, 'u', OIDC_AZ_LOGIN_HINT_MAX);
    assert_int_equal(with(state, extra, &a), OIDC_AZE_NONE);
    extra[12 + OIDC_AZ_LOGIN_HINT_MAX] = 'u';
    assert_int_equal(with(state, extra, &a), OIDC_AZE_INVALID_REQUEST);
    assert_int_equal(with(state, "&acr_values=urn%3Aregain%3Aacr%3Apassword", &a), OIDC_AZE_NONE);
    assert_int_equal(with(state, "&acr_values=a%0Ab", &a), OIDC_AZE_INVALID_REQUEST);
    assert_int_equal(with(state, "&display=popup", &a), OIDC_AZE_NONE);
    assert_int_equal(with(state, "&display=tv", &a), OIDC_AZE_INVALID_REQUEST);
    assert_int_equal(with(state, "&nonce=a&nonce=b", &a), OIDC_AZE_INVALID_REQUEST);
}

static void test_error_codes(void **state)
{
    (void)state;
    assert_string_equal(oidc_az_error_code(OIDC_AZE_INVALID_REQUEST), "invalid_request");
    assert_string_equal(oidc_az_error_code(OIDC_AZE_LOGIN_REQUIRED), "login_required");
    assert_string_equal(oidc_az_error_code(OIDC_AZE_REQUEST_URI_NOT_SUPPORTED), "request_uri_not_supported");
    assert_string_equal(oidc_az_error_code(OIDC_AZE_NONE), "server_error");
    assert_string_equal(oidc_az_error_code(OIDC_AZE__COUNT), "server_error");
}

static void test_session_fits(void **state)
{
    oidc_az_request_t a;
    with(state, "", &a);
    assert_true(oidc_az_session_fits(&a, 1000, 100000));
    a.max_age = 60;
    assert_true(oidc_az_session_fits(&a, 1000, 1060));
    assert_false(oidc_az_session_fits(&a, 1000, 1061));
    a.max_age = 0; /* equals prompt=login */
    assert_false(oidc_az_session_fits(&a, 1000, 1000));
    a.max_age = -1;
    a.prompt = OIDC_PROMPT_LOGIN;
    assert_false(oidc_az_session_fits(&a, 1000, 1000));
    a.prompt = OIDC_PROMPT_SELECT_ACCOUNT;
    assert_false(oidc_az_session_fits(&a, 1000, 1000));
    a.prompt = OIDC_PROMPT_CONSENT | OIDC_PROMPT_NONE;
    assert_true(oidc_az_session_fits(&a, 1000, 1000));
}

static void test_uuid(void **state)
{
    (void)state;
    const char *ok = "0f8fad5b-d9cb-469f-a165-70867728950e";
    assert_true(oidc_uuid_ok(ok, strlen(ok)));
    assert_true(oidc_uuid_ok("0F8FAD5B-D9CB-469F-A165-70867728950E", 36));
    assert_false(oidc_uuid_ok(ok, 35));
    assert_false(oidc_uuid_ok("0f8fad5b-d9cb-469f-a165-70867728950g", 36));
    assert_false(oidc_uuid_ok("0f8fad5bXd9cb-469f-a165-70867728950e", 36));
    assert_false(oidc_uuid_ok("0f8fad5b-d9cb-469f-a165'70867728950e", 36));
    assert_false(oidc_uuid_ok(NULL, 36));
}

static void test_stored_round_trip(void **state)
{
    oidc_az_request_t a, b;
    assert_int_equal(with(state,
                          "&state=s%22%5C&nonce=n&prompt=login&max_age=30&login_hint=bob&acr_values=x"
                          "&response_mode=form_post&claims=%7B%22userinfo%22%3A%7B%7D%7D&scope=openid+email",
                          &a),
                     OIDC_AZE_INVALID_REQUEST); /* scope repeated: BASE has one */
    assert_int_equal(with(state,
                          "&state=s%22%5C&nonce=n&prompt=login&max_age=30&login_hint=bob&acr_values=x"
                          "&response_mode=form_post&claims=%7B%22userinfo%22%3A%7B%7D%7D"
                          "&id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1LTEifQ.eA",
                          &a),
                     OIDC_AZE_NONE);
    a.stale_session = h2o_iovec_init(H2O_STRLIT("0f8fad5b-d9cb-469f-a165-70867728950e"));
    h2o_iovec_t json = oidc_az_to_json(*state, &a);
    assert_non_null(json.base);
    assert_int_equal(oidc_az_from_json(*state, json.base, json.len, &b), 0);
    assert_iov(b.client_id, "app-1");
    assert_iov(b.redirect_uri, "https://app.example/cb");
    assert_iov(b.state, "s\"\\");
    assert_iov(b.nonce, "n");
    assert_iov(b.scope, "openid");
    assert_iov(b.code_challenge, CHALLENGE);
    assert_iov(b.login_hint, "bob");
    assert_iov(b.acr_values, "x");
    assert_iov(b.claims, "{\"userinfo\":{}}");
    assert_int_equal(b.prompt, OIDC_PROMPT_LOGIN);
    assert_int_equal(b.max_age, 30);
    assert_int_equal(b.response_mode, OIDC_RM_FORM_POST);
    assert_iov(b.stale_session, "0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_iov(b.required_sub, "u-1");
    /* Broken twins: not JSON, a required member missing. */
    assert_int_equal(oidc_az_from_json(*state, "{", 1, &b), -1);
    const char *partial = "{\"client_id\":\"a\",\"prompt\":0,\"max_age\":-1}";
    assert_int_equal(oidc_az_from_json(*state, partial, strlen(partial), &b), -1);
}

static void test_redirect_url(void **state)
{
    oidc_param_t p[] = {
        {"code", "abc"}, {"state", "a b&c=d/é"}, {"skip", NULL}, {"iss", "https://op.example"}};
    h2o_iovec_t u = oidc_az_redirect_url(*state, "https://app.example/cb", 22, p, 4);
    assert_string_equal(u.base, "https://app.example/cb?code=abc&state=a%20b%26c%3Dd%2F%C3%A9"
                                "&iss=https%3A%2F%2Fop.example");
    const char *withq = "https://app.example/cb?x=1";
    u = oidc_az_redirect_url(*state, withq, strlen(withq), p, 1);
    assert_string_equal(u.base, "https://app.example/cb?x=1&code=abc");
    const char *frag = "https://app.example/cb#f";
    u = oidc_az_redirect_url(*state, frag, strlen(frag), p, 1);
    assert_string_equal(u.base, "https://app.example/cb?code=abc");
}

static void test_form_post_html(void **state)
{
    oidc_param_t p[] = {{"code", "c0de"}, {"state", "\"><script>x</script>"}, {"iss", "https://op.example"}};
    const char *uri = "https://app.example/cb?a=1&b=\"2\"";
    h2o_iovec_t page = oidc_az_form_post_html(*state, uri, strlen(uri), p, 3);
    assert_non_null(strstr(page.base, "action=\"https://app.example/cb?a=1&amp;b=&quot;2&quot;\""));
    assert_non_null(strstr(page.base, "<input type=\"hidden\" name=\"code\" value=\"c0de\">"));
    assert_non_null(strstr(page.base, "name=\"state\" value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
    assert_non_null(strstr(page.base, "<script src=\"/static/form_post.js\""));
    assert_null(strstr(page.base, "<script>")); /* no inline script */
    assert_non_null(strstr(page.base, "<button type=\"submit\">"));
    assert_non_null(strstr(page.base, "method=\"post\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fatal_client_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fatal_redirect_uri, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_mode_and_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pkce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_fits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uuid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_post_html, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
