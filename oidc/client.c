/* Placeholder until this area lands (issue 3). */
#include "oidc/internal.h"

void oidc_clients_register(const gw_config_t *cfg)
{
    (void)cfg;
}
