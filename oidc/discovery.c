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
static size_t g_len;

static void on_discovery(gw_req_t *r)
{
    gw_reply_header(r, "cache-control", H2O_STRLIT("public, max-age=3600"));
    gw_reply(r, 200, "application/json", g_body, g_len);
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

static gw_route_t ROUTE_DISCOVERY = {
    "/.well-known/openid-configuration", GW_GET, 0, on_discovery, NULL, NULL, 0};

int oidc_discovery_register(const gw_config_t *cfg, char *msg, size_t msgsize)
{
    static const char *const RESPONSE_TYPES[] = {"code", NULL};
    static const char *const SUBJECT_TYPES[] = {"public", NULL};
    static const char *const SIGNING_ALGS[] = {"ES256", NULL};
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "issuer", cfg->issuer);
    url(w, cfg->issuer, "jwks_uri", "/jwks.json");
    strings(w, "response_types_supported", RESPONSE_TYPES);
    strings(w, "subject_types_supported", SUBJECT_TYPES);
    strings(w, "id_token_signing_alg_values_supported", SIGNING_ALGS);
    gw_jw_obj_close(w);
    size_t len = 0;
    const char *body = gw_jw_buf(w, &len);
    if (body == NULL) {
        snprintf(msg, msgsize, "cannot build the discovery document");
        gw_jw_free(w);
        return -1;
    }
    free(g_body);
    g_body = gw_strndup(body, len);
    g_len = len;
    gw_jw_free(w);
    gw_route_register(&ROUTE_DISCOVERY);
    return 0;
}
