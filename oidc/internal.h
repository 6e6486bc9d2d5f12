/* Declarations shared by oidc/ files only. */
#ifndef REGAIN_OIDC_INTERNAL_H
#define REGAIN_OIDC_INTERNAL_H

#include "gateway/config.h"
#include "gateway/http.h"

/* Builds the discovery document for `cfg` and registers its route. */
int oidc_discovery_register(const gw_config_t *cfg, char *msg, size_t msgsize);

/* Registers /jwks.json. */
void oidc_jwks_register(void);

#endif
