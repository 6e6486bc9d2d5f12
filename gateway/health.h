/* Operations endpoints: /healthz (process up), /readyz (database reachable),
 * /metrics (Prometheus text format), and in dev_mode /__test/sleep. */
#ifndef REGAIN_GATEWAY_HEALTH_H
#define REGAIN_GATEWAY_HEALTH_H

#include "gateway/config.h"

/* Registers the routes and their statements; call before the server runs. */
void gw_health_register(const gw_config_t *cfg);

#endif
