/* Placeholder until this area lands (issue 3). */
#include "oidc/internal.h"

void oidc_signin_register(const gw_config_t *cfg)
{
    (void)cfg;
}
