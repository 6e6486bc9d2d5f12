/* Placeholder until this area lands (issue 3). */
#include <stdio.h>

#include "oidc/oidc.h"

int oidc_cli_user(const gw_config_t *cfg, PGconn *conn, int argc, char **argv)
{
    (void)cfg;
    (void)conn;
    (void)argc;
    fprintf(stderr, "regain user %s: not available yet\n", argv[0]);
    return 2;
}
