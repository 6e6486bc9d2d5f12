/* The SCIM 2.0 service provider (RFC 7643, RFC 7644) under /scim/v2. */
#ifndef REGAIN_SCIM_SCIM_H
#define REGAIN_SCIM_SCIM_H

#include <stddef.h>

#include "gateway/config.h"

/* Registers the SCIM routes and statements; call once before the server
 * runs. Returns -1 with `msg` filled when it cannot. */
int scim_register(const gw_config_t *cfg, char *msg, size_t msgsize);

#endif
