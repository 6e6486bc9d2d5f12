/* The configuration of verified recovery (issue 7): identity-verification
 * providers and the outbound webhooks. Parsed with gateway/config.c's rules:
 * unknown keys are errors, every bound is named in the message. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "gateway/alloc.h"
#include "gateway/config.h"
#include "gateway/config_internal.h"

static int get_path(gw_cfg_ctx_t *c, yajl_val obj, const char *where, const char *key, char **out)
{
    char *p = NULL;
    if (gw_cfg_get_string(c, obj, where, key, &p) != 0)
        return -1;
    if (p != NULL) {
        *out = gw_cfg_resolve_path(c, p);
        free(p);
    }
    return 0;
}

/* An https URL (in dev mode, http to a loopback host too: tests and local
 * receivers; providers/http.c holds every call to the same rule). */
static int url_ok(const gw_cfg_ctx_t *c, const char *u)
{
    if (strncmp(u, "https://", 8) == 0)
        return strlen(u) > 8;
    if (!c->dev_mode)
        return 0;
    return strncmp(u, "http://127.0.0.1", 16) == 0 || strncmp(u, "http://localhost", 16) == 0 ||
           strncmp(u, "http://[::1]", 12) == 0;
}

static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

static int parse_provider(gw_cfg_ctx_t *c, gw_config_t *cfg, gw_provider_config_t *p, yajl_val v,
                          size_t index)
{
    static const char *const KEYS[] = {"id",        "type",          "display_name",     "issuer",
                                       "client_id", "client_secret", "private_key_file", "scopes",
                                       "ca_file",   "use_par",       "timeout_ms",       "aggregate_result",
                                       NULL};
    char where[32];
    snprintf(where, sizeof(where), "providers[%zu]", index);
    p->use_par = 1;
    p->timeout_ms = 5000;
    if (gw_cfg_check_keys(c, v, where, KEYS) || gw_cfg_get_string(c, v, where, "id", &p->id) ||
        gw_cfg_get_string(c, v, where, "type", &p->type) ||
        gw_cfg_get_string(c, v, where, "display_name", &p->display_name) ||
        gw_cfg_get_string(c, v, where, "issuer", &p->issuer) ||
        gw_cfg_get_string(c, v, where, "client_id", &p->client_id) ||
        gw_cfg_get_string(c, v, where, "client_secret", &p->client_secret) ||
        get_path(c, v, where, "private_key_file", &p->private_key_file) ||
        gw_cfg_get_string(c, v, where, "scopes", &p->scopes) ||
        get_path(c, v, where, "ca_file", &p->ca_file) ||
        gw_cfg_get_bool(c, v, where, "use_par", &p->use_par) ||
        gw_cfg_get_bool(c, v, where, "aggregate_result", &p->aggregate_result) ||
        gw_cfg_get_uint(c, v, where, "timeout_ms", 100, 60000, &p->timeout_ms))
        return -1;
    if (p->id == NULL || !id_ok(p->id))
        return gw_cfg_fail(c, "%s.id: required, 1 to 32 of a-z 0-9 - _", where);
    for (size_t i = 0; i < index; i++)
        if (strcmp(cfg->providers[i].id, p->id) == 0)
            return gw_cfg_fail(c, "%s.id: \"%s\" is used twice", where, p->id);
    if (p->type == NULL)
        return gw_cfg_fail(c, "%s.type: required (\"oidc-ida\" or \"dev\")", where);
    if (p->display_name == NULL)
        p->display_name = gw_strdup(p->id);
    if (strcmp(p->type, "dev") == 0) {
        /* A provider that "verifies" whatever is typed must never run in
         * production by accident. */
        if (!cfg->dev_mode)
            return gw_cfg_fail(c, "%s.type: \"dev\" is refused unless dev_mode is true", where);
        return 0;
    }
    if (strcmp(p->type, "oidc-ida") != 0)
        return gw_cfg_fail(c, "%s.type: expected \"oidc-ida\" or \"dev\"", where);
    if (p->issuer == NULL || !url_ok(c, p->issuer))
        return gw_cfg_fail(c, "%s.issuer: required, an https URL", where);
    if (p->client_id == NULL)
        return gw_cfg_fail(c, "%s.client_id: required", where);
    if ((p->client_secret == NULL) == (p->private_key_file == NULL))
        return gw_cfg_fail(c, "%s: give exactly one of client_secret and private_key_file", where);
    if (p->scopes == NULL)
        p->scopes = gw_strdup("openid identity_assurance");
    else if (strstr(p->scopes, "openid") == NULL)
        return gw_cfg_fail(c, "%s.scopes: must include openid", where);
    return 0;
}

static int parse_webhook(gw_cfg_ctx_t *c, yajl_val v, const char *where, gw_webhook_config_t *w,
                         int with_on_error)
{
    static const char *const KEYS[] = {"url", "timeout_ms", "on_error", "ca_file", NULL};
    w->timeout_ms = 3000;
    if (v == NULL)
        return 0;
    char *on_error = NULL;
    if (gw_cfg_check_keys(c, v, where, KEYS) || gw_cfg_get_string(c, v, where, "url", &w->url) ||
        gw_cfg_get_uint(c, v, where, "timeout_ms", 100, 30000, &w->timeout_ms) ||
        gw_cfg_get_string(c, v, where, "on_error", &on_error) ||
        get_path(c, v, where, "ca_file", &w->ca_file)) {
        free(on_error);
        return -1;
    }
    int rc = 0;
    if (w->url == NULL || !url_ok(c, w->url))
        rc = gw_cfg_fail(c, "%s.url: required, an https URL", where);
    else if (on_error != NULL && !with_on_error)
        rc = gw_cfg_fail(c, "%s.on_error: unknown key", where);
    else if (on_error != NULL && strcmp(on_error, "pass") != 0 && strcmp(on_error, "fail") != 0)
        rc = gw_cfg_fail(c, "%s.on_error: expected \"pass\" or \"fail\"", where);
    else
        w->pass_on_error = on_error != NULL && strcmp(on_error, "pass") == 0;
    free(on_error);
    return rc;
}

/* recovery.trust_frameworks: identifiers as the IDA registry spells them
 * (e.g. "eidas", "de_aml"), visible ASCII, each at most 64 characters. */
static int parse_trust_frameworks(gw_cfg_ctx_t *c, gw_config_t *cfg, yajl_val v)
{
    if (v == NULL)
        return 0;
    if (!YAJL_IS_ARRAY(v) || v->u.array.len > GW_CONFIG_MAX_TRUST_FRAMEWORKS)
        return gw_cfg_fail(c, "recovery.trust_frameworks: expected an array of at most %d strings",
                           GW_CONFIG_MAX_TRUST_FRAMEWORKS);
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val s = v->u.array.values[i];
        size_t n = YAJL_IS_STRING(s) ? strlen(s->u.string) : 0;
        if (n == 0 || n > 64)
            return gw_cfg_fail(c, "recovery.trust_frameworks[%zu]: expected a string of 1 to 64 characters",
                               i);
        for (size_t k = 0; k < n; k++)
            if ((unsigned char)s->u.string[k] <= 0x20 || (unsigned char)s->u.string[k] > 0x7E)
                return gw_cfg_fail(c, "recovery.trust_frameworks[%zu]: expected visible ASCII", i);
        cfg->recovery.trust_frameworks[cfg->recovery.trust_framework_count++] = gw_strdup(s->u.string);
    }
    return 0;
}

int gw_config_parse_recovery(gw_config_t *cfg, const void *providers, const void *recovery,
                             const char *base_dir, char *msg, size_t msgsize)
{
    gw_cfg_ctx_t c = {msg, msgsize, base_dir, cfg->dev_mode};
    yajl_val list = (yajl_val)providers;
    if (list != NULL) {
        if (!YAJL_IS_ARRAY(list))
            return gw_cfg_fail(&c, "providers: expected an array");
        if (list->u.array.len > GW_CONFIG_MAX_PROVIDERS)
            return gw_cfg_fail(&c, "providers: at most %d providers", GW_CONFIG_MAX_PROVIDERS);
        for (size_t i = 0; i < list->u.array.len; i++) {
            cfg->provider_count = i + 1;
            if (parse_provider(&c, cfg, &cfg->providers[i], list->u.array.values[i], i) != 0)
                return -1;
        }
    }
    yajl_val r = (yajl_val)recovery;
    cfg->recovery.notification.timeout_ms = 3000;
    cfg->recovery.claim_validation.timeout_ms = 3000;
    if (r == NULL)
        return 0;
    static const char *const KEYS[] = {"notification_webhook", "claim_validation_webhook", "trust_frameworks",
                                       NULL};
    return gw_cfg_check_keys(&c, r, "recovery", KEYS) ||
                   parse_trust_frameworks(&c, cfg, gw_cfg_member(r, "trust_frameworks")) ||
                   parse_webhook(&c, gw_cfg_member(r, "notification_webhook"),
                                 "recovery.notification_webhook", &cfg->recovery.notification, 0) ||
                   parse_webhook(&c, gw_cfg_member(r, "claim_validation_webhook"),
                                 "recovery.claim_validation_webhook", &cfg->recovery.claim_validation, 1)
               ? -1
               : 0;
}

static void webhook_dispose(gw_webhook_config_t *w)
{
    free(w->url);
    free(w->ca_file);
}

void gw_config_dispose_recovery(gw_config_t *cfg)
{
    for (size_t i = 0; i < GW_CONFIG_MAX_PROVIDERS; i++) {
        gw_provider_config_t *p = &cfg->providers[i];
        free(p->id);
        free(p->type);
        free(p->display_name);
        free(p->issuer);
        free(p->client_id);
        if (p->client_secret != NULL)
            gw_wipe(p->client_secret, strlen(p->client_secret));
        free(p->client_secret);
        free(p->private_key_file);
        free(p->scopes);
        free(p->ca_file);
    }
    webhook_dispose(&cfg->recovery.notification);
    webhook_dispose(&cfg->recovery.claim_validation);
    for (size_t i = 0; i < cfg->recovery.trust_framework_count; i++)
        free(cfg->recovery.trust_frameworks[i]);
    cfg->recovery.trust_framework_count = 0;
}
