/* The OpenID Provider: discovery, JWKS, and (issue 3) the protocol endpoints. */
#ifndef REGAIN_OIDC_OIDC_H
#define REGAIN_OIDC_OIDC_H

#include <libpq-fe.h>

#include "gateway/config.h"

/* Registers the OpenID Provider's routes and statements; call once before the
 * server runs. Returns -1 with `msg` filled if a document cannot be built. */
int oidc_register(const gw_config_t *cfg, char *msg, size_t msgsize);

/* How long a receiver may accept a recovery event (oidc/recovery_notify.c). */
#define OIDC_RECOVERY_EVENT_TTL_S 600

/* The longest any token signed with our keys stays valid, in seconds: access
 * and ID tokens (oidc.access_token_ttl_s, oidc.id_token_ttl_s) and recovery
 * events. A replaced signing key stays published that long (`regain keys
 * rotate`, oidc/jwt_issue.c). */
unsigned oidc_signed_ttl_max_s(const gw_config_t *cfg);

/* `regain client add|list|remove ...` and `regain user add ...`: blocking
 * command-line tools on an open connection; argv[0] is the action ("add").
 * Return a process exit code (0 done, 1 failed, 2 usage). */
int oidc_cli_client(const gw_config_t *cfg, PGconn *conn, int argc, char **argv);
int oidc_cli_user(const gw_config_t *cfg, PGconn *conn, int argc, char **argv);
/* `regain tap issue|list|revoke USER ...` (oidc/cli_tap.c). */
int oidc_cli_tap(const gw_config_t *cfg, PGconn *conn, int argc, char **argv);
/* `regain purge [--batch N] [--json]` (oidc/cli_purge.c). */
int oidc_cli_purge(const gw_config_t *cfg, PGconn *conn, int argc, char **argv);
/* Each tool's usage text ("usage: regain client add ...", newline-ended),
 * for --help, which main prints without a config or a database. */
extern const char oidc_cli_client_usage[];
extern const char oidc_cli_user_usage[];
extern const char oidc_cli_tap_usage[];
extern const char oidc_cli_purge_usage[];

#endif
