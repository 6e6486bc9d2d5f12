/* placeholder, replaced below */
#include <stdio.h>
#include "providers/provider.h"
static int ida_init(prov_provider_t *p, char *msg, size_t msgsize)
{
    (void)p;
    snprintf(msg, msgsize, "not yet");
    return -1;
}
const prov_ops_t prov_oidc_ida_ops = {"oidc-ida", ida_init, NULL, NULL, NULL, NULL};
