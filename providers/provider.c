/* The provider registry and the normalised verified identity (provider.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "providers/provider.h"

static prov_provider_t g_providers[GW_CONFIG_MAX_PROVIDERS];
static size_t g_count;

static const prov_ops_t *const g_types[] = {&prov_dev_ops, &prov_oidc_ida_ops};

int prov_registry_init(const gw_config_t *cfg, char *msg, size_t msgsize)
{
    prov_http_allow_plain_loopback(cfg->dev_mode);
    for (size_t i = 0; i < cfg->provider_count; i++) {
        const gw_provider_config_t *pc = &cfg->providers[i];
        const prov_ops_t *ops = NULL;
        for (size_t t = 0; t < sizeof(g_types) / sizeof(g_types[0]); t++)
            if (strcmp(g_types[t]->type, pc->type) == 0)
                ops = g_types[t];
        if (ops == NULL || (ops == &prov_dev_ops && !cfg->dev_mode)) {
            snprintf(msg, msgsize, "provider %s: type %s is not available", pc->id, pc->type);
            prov_registry_dispose();
            return -1;
        }
        prov_provider_t *p = &g_providers[g_count];
        p->cfg = pc;
        p->ops = ops;
        p->state = NULL;
        char inner[200];
        if (ops->init(p, inner, sizeof(inner)) != 0) {
            snprintf(msg, msgsize, "provider %s: %s", pc->id, inner);
            prov_registry_dispose();
            return -1;
        }
        g_count++;
    }
    /* The trust anchors of every outbound call, loaded while nothing is
     * served yet: reading them at the first call would be file I/O on an
     * event loop. The dev provider makes no call. */
    const gw_webhook_config_t *hooks[] = {&cfg->recovery.notification, &cfg->recovery.claim_validation};
    const char *ca_files[GW_CONFIG_MAX_PROVIDERS + 2];
    size_t n = 0;
    for (size_t i = 0; i < g_count; i++)
        if (g_providers[i].ops != &prov_dev_ops)
            ca_files[n++] = g_providers[i].cfg->ca_file;
    for (size_t i = 0; i < 2; i++)
        if (hooks[i]->url != NULL)
            ca_files[n++] = hooks[i]->ca_file;
    for (size_t i = 0; i < n; i++)
        if (prov_http_preload(ca_files[i]) != 0) {
            snprintf(msg, msgsize, "cannot load the trust anchors of %s",
                     ca_files[i] ? ca_files[i] : "the system");
            prov_registry_dispose();
            return -1;
        }
    return 0;
}

void prov_registry_dispose(void)
{
    for (size_t i = 0; i < g_count; i++)
        if (g_providers[i].ops->dispose != NULL)
            g_providers[i].ops->dispose(&g_providers[i]);
    g_count = 0;
}

size_t prov_count(void)
{
    return g_count;
}

prov_provider_t *prov_at(size_t i)
{
    return i < g_count ? &g_providers[i] : NULL;
}

prov_provider_t *prov_find(const char *id, size_t len)
{
    for (size_t i = 0; i < g_count; i++)
        if (strlen(g_providers[i].cfg->id) == len && memcmp(g_providers[i].cfg->id, id, len) == 0)
            return &g_providers[i];
    return NULL;
}

void prov_identity_dispose(prov_identity_t *id)
{
    free(id->trust_framework);
    free(id->assurance_level);
    free(id->txn);
    free(id->verification_process);
    free(id->evidence_json);
    free(id->aggregated_jwt);
    for (size_t i = 0; i < id->claim_count; i++) {
        free(id->claims[i].name);
        if (id->claims[i].value != NULL)
            gw_wipe(id->claims[i].value, strlen(id->claims[i].value));
        free(id->claims[i].value);
    }
    memset(id, 0, sizeof(*id));
}

const char *prov_identity_claim(const prov_identity_t *id, const char *name)
{
    for (size_t i = 0; i < id->claim_count; i++)
        if (strcmp(id->claims[i].name, name) == 0)
            return id->claims[i].value;
    return NULL;
}

void prov_identity_add_claim(prov_identity_t *id, const char *name, const char *value)
{
    if (id->claim_count >= PROV_MAX_CLAIMS || name == NULL || value == NULL)
        return;
    id->claims[id->claim_count].name = gw_strdup(name);
    id->claims[id->claim_count].value = gw_strdup(value);
    id->claim_count++;
}

static void iso_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void prov_identity_write_verified_claims(const prov_identity_t *id, const char *const *names, size_t n,
                                         gw_jw_t *w)
{
    gw_jw_obj_open(w);
    gw_jw_key(w, "verification");
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "trust_framework", id->trust_framework);
    if (id->assurance_level != NULL)
        gw_jw_kv_str(w, "assurance_level", id->assurance_level);
    if (id->verified_at > 0) {
        char t[32];
        iso_time(id->verified_at, t);
        gw_jw_kv_str(w, "time", t);
    }
    if (id->verification_process != NULL)
        gw_jw_kv_str(w, "verification_process", id->verification_process);
    if (id->evidence_json != NULL)
        gw_jw_kv_raw(w, "evidence", id->evidence_json, strlen(id->evidence_json));
    gw_jw_obj_close(w);
    gw_jw_key(w, "claims");
    gw_jw_obj_open(w);
    for (size_t i = 0; i < id->claim_count; i++) {
        int want = names == NULL;
        for (size_t k = 0; k < n && !want; k++)
            want = strcmp(names[k], id->claims[i].name) == 0;
        if (want)
            gw_jw_kv_str(w, id->claims[i].name, id->claims[i].value);
    }
    gw_jw_obj_close(w);
    gw_jw_obj_close(w);
}
