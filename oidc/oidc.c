#include "oidc/oidc.h"

#include "oidc/internal.h"

int oidc_register(const gw_config_t *cfg, char *msg, size_t msgsize)
{
    if (oidc_discovery_register(cfg, msg, msgsize) != 0)
        return -1;
    oidc_jwks_register();
    return 0;
}
