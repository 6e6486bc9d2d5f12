#include "scim/scim.h"

#include "scim/internal.h"

const gw_config_t *scim_cfg;

int scim_register(const gw_config_t *cfg, char *msg, size_t msgsize)
{
    (void)msg;
    (void)msgsize;
    scim_cfg = cfg;
    scim_service_register();
    scim_resources_register();
    scim_bulk_register();
    scim_service_register_last(); /* the catch-all of /scim/v2: after every SCIM route */
    return 0;
}
