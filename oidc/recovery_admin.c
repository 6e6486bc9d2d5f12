/* GET /admin/v1/recovery/providers (bearer token, scope admin): the
 * identity-verification providers this server has, each as it describes
 * itself (provider.h), so an administrator writing the recovery policy's
 * "providers" knows the ids. Configuration, not secrets: no client secret or
 * key is ever part of a description. */
#include "oidc/recovery_internal.h"

#define PATH "/admin/v1/recovery/providers"

static void on_authorized(gw_req_t *r, const oidc_access_t *at)
{
    (void)at;
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "providers");
    gw_jw_arr_open(w);
    for (size_t i = 0; i < prov_count(); i++) {
        prov_provider_t *p = prov_at(i);
        p->ops->describe(p, w);
    }
    gw_jw_arr_close(w);
    gw_jw_obj_close(w);
    gw_reply_jw(r, 200, w);
}

static void on_providers(gw_req_t *r)
{
    oidc_bearer_authorize(r, "admin", on_authorized);
}

static gw_route_t ROUTE_PROVIDERS = {PATH, GW_GET, GW_ROUTE_NO_STORE, on_providers, PATH, NULL, 0};

void oidc_recovery_admin_register(void)
{
    gw_route_register(&ROUTE_PROVIDERS);
}
