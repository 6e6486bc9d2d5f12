/* The OpenID Provider: discovery, JWKS, and (issue 3) the protocol endpoints. */
#ifndef REGAIN_OIDC_OIDC_H
#define REGAIN_OIDC_OIDC_H

#include "gateway/config.h"

/* Registers the OpenID Provider's routes and statements; call once before the
 * server runs. Returns -1 with `msg` filled if a document cannot be built. */
int oidc_register(const gw_config_t *cfg, char *msg, size_t msgsize);

#endif
