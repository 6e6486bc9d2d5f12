/* GET /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3/§4).
 *
 * Built once at start from the configuration: it lists only what this build
 * really serves, and each later issue adds its endpoints here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/json.h"
#include "oidc/internal.h"

static char *g_body;
static gw_codings_t g_codings;

static void on_discovery(gw_req_t *r)
{
    gw_reply_header(r, "cache-control", H2O_STRLIT("public, max-age=3600"));
    gw_reply_codings(r, 200, "application/json", &g_codings, NULL, NULL); /* built once, kept */
}

static void url(gw_jw_t *w, const char *issuer, const char *key, const char *path)
{
    size_t n = strlen(issuer) + strlen(path) + 1;
    char *u = gw_malloc(n);
    snprintf(u, n, "%s%s", issuer, path);
    gw_jw_kv_str(w, key, u);
    free(u);
}

static void strings(gw_jw_t *w, const char *key, const char *const *values)
{
    gw_jw_key(w, key);
    gw_jw_arr_open(w);
    for (; *values; values++)
        gw_jw_str(w, *values);
    gw_jw_arr_close(w);
}

/* OpenID Connect for Identity Assurance 1.0 §8 (OP metadata): what verified
 * recovery passes on to relying parties. verified_claims are served only
 * under the trust frameworks the configuration lists (oidc/verified_claims.c
 * holds to the same list), so without one there is nothing to advertise.
 * evidence_supported (and documents_supported, electronic_records_supported,
 * which depend on it) is left out because regain never passes evidence on;
 * attachments_supported is left out for the same reason. */
static int ida_served(const gw_config_t *cfg)
{
    return cfg->recovery.trust_framework_count > 0 && cfg->provider_count > 0;
}

/* An ID token carries the provider's own signed result as an aggregated
 * claim (OIDC Core §5.6.2) when a provider is set to aggregate_result
 * (oidc/jwt_issue.c): Discovery §3's claim_types_supported must then say
 * "aggregated" too, since its absence means normal claims only. */
static int aggregated_served(const gw_config_t *cfg)
{
    for (size_t i = 0; i < cfg->provider_count; i++)
        if (cfg->providers[i].aggregate_result)
            return 1;
    return 0;
}

static void ida_metadata(gw_jw_t *w, const gw_config_t *cfg)
{
    int served = ida_served(cfg);
    gw_jw_kv_bool(w, "verified_claims_supported", served);
    if (!served)
        return;
    gw_jw_key(w, "trust_frameworks_supported");
    gw_jw_arr_open(w);
    for (size_t i = 0; i < cfg->recovery.trust_framework_count; i++)
        gw_jw_str(w, cfg->recovery.trust_frameworks[i]);
    gw_jw_arr_close(w);
    strings(w, "claims_in_verified_claims_supported", OIDC_IDA_CLAIMS);
}

static gw_route_t ROUTE_DISCOVERY = {
    "/.well-known/openid-configuration", GW_GET, 0, on_discovery, NULL, NULL, 0};

int oidc_discovery_register(const gw_config_t *cfg, char *msg, size_t msgsize)
{
    static const char *const SCOPES[] = {"openid", "profile",   "email", "offline_access",
                                         "scim",   "scim.read", "admin", NULL};
    static const char *const RESPONSE_TYPES[] = {"code", NULL};
    static const char *const RESPONSE_MODES[] = {"query", "form_post", NULL};
    static const char *const GRANT_TYPES[] = {"authorization_code", "refresh_token", "client_credentials",
                                              NULL};
    static const char *const SUBJECT_TYPES[] = {"public", NULL};
    static const char *const SIGNING_ALGS[] = {"ES256", "RS256", NULL};
    static const char *const AUTH_METHODS[] = {"client_secret_basic", "client_secret_post", "private_key_jwt",
                                               "none", NULL};
    static const char *const CLIENT_AUTH_METHODS[] = {"client_secret_basic", "client_secret_post",
                                                      "private_key_jwt", NULL};
    static const char *const PKCE_METHODS[] = {"S256", NULL};
    static const char *const PROMPTS[] = {"none", "login", "consent", "select_account", NULL};
    static const char *const ACRS[] = {OIDC_ACR_PASSWORD, OIDC_ACR_MFA, OIDC_ACR_PHISHING_RESISTANT,
                                       OIDC_ACR_VERIFIED_RECOVERY, NULL};
    static const char *const CLAIMS[] = {"sub",
                                         "iss",
                                         "aud",
                                         "exp",
                                         "iat",
                                         "auth_time",
                                         "nonce",
                                         "acr",
                                         "amr",
                                         "sid",
                                         "azp",
                                         "at_hash",
                                         "name",
                                         "given_name",
                                         "family_name",
                                         "preferred_username",
                                         "updated_at",
                                         "email",
                                         "email_verified",
                                         "verified_claims",
                                         NULL};
    static const char *const CLAIM_TYPES[] = {"normal", "aggregated", NULL};
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "issuer", cfg->issuer);
    url(w, cfg->issuer, "authorization_endpoint", "/authorize");
    url(w, cfg->issuer, "token_endpoint", "/token");
    url(w, cfg->issuer, "userinfo_endpoint", "/userinfo");
    url(w, cfg->issuer, "jwks_uri", "/jwks.json");
    url(w, cfg->issuer, "end_session_endpoint", "/logout");
    url(w, cfg->issuer, "revocation_endpoint", "/revoke");
    url(w, cfg->issuer, "introspection_endpoint", "/introspect");
    strings(w, "scopes_supported", SCOPES);
    strings(w, "response_types_supported", RESPONSE_TYPES);
    strings(w, "response_modes_supported", RESPONSE_MODES);
    strings(w, "grant_types_supported", GRANT_TYPES);
    strings(w, "subject_types_supported", SUBJECT_TYPES);
    strings(w, "id_token_signing_alg_values_supported", SIGNING_ALGS);
    strings(w, "token_endpoint_auth_methods_supported", AUTH_METHODS);
    strings(w, "token_endpoint_auth_signing_alg_values_supported", SIGNING_ALGS);
    strings(w, "revocation_endpoint_auth_methods_supported", AUTH_METHODS);
    strings(w, "introspection_endpoint_auth_methods_supported", CLIENT_AUTH_METHODS);
    strings(w, "code_challenge_methods_supported", PKCE_METHODS);
    strings(w, "prompt_values_supported", PROMPTS);
    strings(w, "acr_values_supported", ACRS);
    /* verified_claims only where ida_metadata says they are served. */
    gw_jw_key(w, "claims_supported");
    gw_jw_arr_open(w);
    for (const char *const *c = CLAIMS; *c != NULL; c++)
        if (strcmp(*c, "verified_claims") != 0 || ida_served(cfg))
            gw_jw_str(w, *c);
    gw_jw_arr_close(w);
    gw_jw_key(w, "claim_types_supported");
    gw_jw_arr_open(w);
    for (const char *const *t = CLAIM_TYPES; *t != NULL; t++)
        if (strcmp(*t, "aggregated") != 0 || aggregated_served(cfg))
            gw_jw_str(w, *t);
    gw_jw_arr_close(w);
    gw_jw_kv_bool(w, "claims_parameter_supported", true);
    ida_metadata(w, cfg);
    /* Discovery §3: request_uri_parameter_supported defaults to true, so
     * both are said explicitly. */
    gw_jw_kv_bool(w, "request_parameter_supported", false);
    gw_jw_kv_bool(w, "request_uri_parameter_supported", false);
    gw_jw_kv_bool(w, "require_request_uri_registration", false);
    /* RFC 9207 §3 */
    gw_jw_kv_bool(w, "authorization_response_iss_parameter_supported", true);
    gw_jw_obj_close(w);
    size_t len = 0;
    const char *body = gw_jw_buf(w, &len);
    if (body == NULL) {
        snprintf(msg, msgsize, "cannot build the discovery document");
        gw_jw_free(w);
        return -1;
    }
    gw_codings_dispose(&g_codings);
    free(g_body);
    g_body = gw_strndup(body, len);
    gw_codings_init(&g_codings, g_body, len);
    gw_jw_free(w);
    gw_route_register(&ROUTE_DISCOVERY);
    return 0;
}
