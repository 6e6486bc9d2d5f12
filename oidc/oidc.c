#include "oidc/oidc.h"

#include <string.h>

#include "oidc/internal.h"

const gw_config_t *oidc_cfg;

int oidc_register(const gw_config_t *cfg, char *msg, size_t msgsize)
{
    oidc_cfg = cfg;
    if (oidc_discovery_register(cfg, msg, msgsize) != 0)
        return -1;
    oidc_jwks_register();
    oidc_clients_register(cfg);
    oidc_signin_register(cfg);
    oidc_authorize_register(cfg);
    oidc_tokens_register(cfg);
    oidc_tap_register(cfg);
    if (oidc_recovery_register(cfg, msg, msgsize) != 0)
        return -1;
    return 0;
}

int oidc_scope_has(const char *scopes, size_t len, const char *scope)
{
    size_t n = strlen(scope);
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && scopes[j] != ' ')
            j++;
        if (j - i == n && memcmp(scopes + i, scope, n) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}
