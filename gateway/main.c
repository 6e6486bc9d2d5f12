/* regain: the command line. Each subcommand is a small function; exit codes
 * are 0 (done), 1 (failed while running), 2 (bad usage or configuration). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/config.h"
#include "gateway/health.h"
#include "gateway/keys.h"
#include "gateway/log.h"
#include "gateway/migrate.h"
#include "gateway/secrets.h"
#include "gateway/server.h"
#include "oidc/oidc.h"
#include "scim/scim.h"

#ifndef REGAIN_VERSION
#define REGAIN_VERSION "0.1.0"
#endif

enum { EXIT_RUN = 1, EXIT_USAGE = 2 };

typedef struct {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(int argc, char **argv);
    const char *details; /* the tool's own usage text, all options; or NULL */
} command_t;

static int is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* `--help` to stdout; the usage after a usage error to stderr. */
static void show_usage(FILE *out, const command_t *cmd)
{
    if (cmd->details != NULL)
        fprintf(out, "%s\n%s\n", cmd->details, cmd->summary);
    else
        fprintf(out, "usage: regain %s\n\n%s\n", cmd->usage, cmd->summary);
}

static int die_config(const char *msg)
{
    fprintf(stderr, "regain: config: %s\n", msg);
    return EXIT_USAGE;
}

/* Parses `--config FILE` (and --help) for a subcommand; returns 0 with *path
 * set, 1 when help was shown, or EXIT_USAGE. */
static int parse_config_flag(int argc, char **argv, const command_t *cmd, const char **path)
{
    static const struct option OPTS[] = {
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {0}};
    int c;
    optind = 1;
    opterr = 0;
    *path = NULL;
    while ((c = getopt_long(argc, argv, "c:h", OPTS, NULL)) != -1) {
        switch (c) {
        case 'c':
            *path = optarg;
            break;
        case 'h':
            show_usage(stdout, cmd);
            return 1;
        default:
            fprintf(stderr, "regain %s: unknown option %s\nusage: regain %s\n", cmd->name, argv[optind - 1],
                    cmd->usage);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "regain %s: unexpected argument %s\nusage: regain %s\n", cmd->name, argv[optind],
                cmd->usage);
        return EXIT_USAGE;
    }
    if (*path == NULL) {
        fprintf(stderr, "regain %s: --config FILE is required\nusage: regain %s\n", cmd->name, cmd->usage);
        return EXIT_USAGE;
    }
    return 0;
}

static int load_config(gw_config_t *cfg, const char *path)
{
    char msg[512];
    if (gw_config_load(cfg, path, msg, sizeof(msg)) != 0)
        return die_config(msg);
    gw_log_set_level(cfg->log.level);
    gw_secrets_init(cfg->keys.encryption_key);
    return 0;
}

/* load_config, then the files the config names (gw_config_check_files):
 * for `config check` and `serve`, before anything starts. */
static int load_config_files(gw_config_t *cfg, const char *path)
{
    char msg[512];
    int rc = load_config(cfg, path);
    if (rc != 0)
        return rc;
    if (gw_config_check_files(cfg, msg, sizeof(msg)) != 0) {
        gw_config_dispose(cfg);
        return die_config(msg);
    }
    return 0;
}

/* Blocking connect for the CLI and start-up; never used on a loop. */
static PGconn *connect_db(const gw_config_t *cfg)
{
    PGconn *conn = PQconnectdb(cfg->database.url);
    if (PQstatus(conn) != CONNECTION_OK) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
        msg[strcspn(msg, "\n")] = '\0';
        fprintf(stderr, "regain: cannot connect to the database: %s\n", msg);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static void report(const char *what, const gw_err_t *err)
{
    fprintf(stderr, "regain: %s: %s%s%s\n", what, err->public, err->detail[0] ? ": " : "", err->detail);
}

static const command_t CMD_SERVE, CMD_MIGRATE, CMD_KEYS_ROTATE, CMD_CONFIG_CHECK;

static void on_thread_start(gw_thread_t *t)
{
    if (t->index == 0)
        gw_keys_start_refresh(t, gw_server_config(t)->keys.refresh_interval_ms);
}

static void on_thread_stop(gw_thread_t *t)
{
    gw_keys_stop_refresh(t);
}

static int cmd_serve(int argc, char **argv)
{
    const char *path;
    gw_config_t cfg;
    int rc = parse_config_flag(argc, argv, &CMD_SERVE, &path);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if ((rc = load_config_files(&cfg, path)) != 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    rc = EXIT_RUN;
    gw_err_t err;
    char msg[512];
    PGconn *conn = connect_db(&cfg);
    if (conn == NULL)
        goto out;
    if (gw_migrate_check(conn, &err) != 0) {
        report("database schema", &err);
        PQfinish(conn);
        goto out;
    }
    if (gw_keys_init(conn, cfg.keys.encryption_key, &err) != 0) {
        report("signing keys", &err);
        PQfinish(conn);
        goto out;
    }
    PQfinish(conn);
    gw_health_register(&cfg);
    if (oidc_register(&cfg, msg, sizeof(msg)) != 0 || scim_register(&cfg, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "regain: %s\n", msg);
        goto out;
    }
    static const gw_server_hooks_t HOOKS = {on_thread_start, on_thread_stop};
    if (gw_server_run(&cfg, &HOOKS, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "regain: %s\n", msg);
        goto out;
    }
    rc = 0;
out:
    gw_keys_dispose();
    gw_config_dispose(&cfg);
    return rc;
}

static int cmd_migrate(int argc, char **argv)
{
    const char *path;
    gw_config_t cfg;
    int rc = parse_config_flag(argc, argv, &CMD_MIGRATE, &path);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if ((rc = load_config(&cfg, path)) != 0)
        return rc;
    rc = EXIT_RUN;
    PGconn *conn = connect_db(&cfg);
    if (conn != NULL) {
        gw_err_t err;
        size_t applied = 0;
        if (gw_migrate_apply(conn, &applied, &err) != 0) {
            report("migrate", &err);
        } else {
            if (applied == 0)
                printf("regain: database is up to date (%zu migrations), nothing to do\n",
                       GW_MIGRATIONS_COUNT);
            else
                printf("regain: applied %zu migration(s); database is up to date\n", applied);
            rc = 0;
        }
        PQfinish(conn);
    }
    gw_config_dispose(&cfg);
    return rc;
}

static int cmd_keys(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "rotate") != 0) {
        if (argc >= 2 && is_help(argv[1])) {
            show_usage(stdout, &CMD_KEYS_ROTATE);
            return 0;
        }
        fprintf(stderr, "usage: regain %s\n", CMD_KEYS_ROTATE.usage);
        return EXIT_USAGE;
    }
    /* `--alg RS256` and `--force` are accepted before the other options. */
    gw_keys_rotation_t rot = {.alg = "ES256"};
    char *args[16];
    int n = 0;
    for (int i = 1; i < argc && n < 15; i++) {
        if (strcmp(argv[i], "--alg") == 0 && i + 1 < argc)
            rot.alg = argv[++i];
        else if (strcmp(argv[i], "--force") == 0)
            rot.force = 1;
        else
            args[n++] = argv[i];
    }
    args[n] = NULL;
    const char *path;
    gw_config_t cfg;
    int rc = parse_config_flag(n, args, &CMD_KEYS_ROTATE, &path);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (strcmp(rot.alg, "ES256") != 0 && strcmp(rot.alg, "RS256") != 0) {
        fprintf(stderr, "regain keys rotate: --alg must be ES256 or RS256\n");
        return EXIT_USAGE;
    }
    if ((rc = load_config(&cfg, path)) != 0)
        return rc;
    /* The gateways' settings are not known here: this config's stand for
     * them (README, "Rotating signing keys"). */
    gw_keys_rotation_waits(cfg.keys.refresh_interval_ms, oidc_signed_ttl_max_s(&cfg), &rot);
    rc = EXIT_RUN;
    PGconn *conn = connect_db(&cfg);
    if (conn != NULL) {
        gw_err_t err;
        gw_keys_rotated_t done;
        if (gw_migrate_check(conn, &err) != 0) {
            report("database schema", &err);
        } else if (gw_keys_rotate(conn, cfg.keys.encryption_key, &rot, &done, &err) != 0) {
            if (err.kind == GW_E_BAD_REQUEST) {
                /* The wrong keys.encryption_key: a configuration error. */
                fprintf(stderr, "regain keys rotate: %s; nothing changed\n", err.public);
                rc = EXIT_USAGE;
            } else {
                report("keys rotate", &err);
            }
        } else if (rot.force) {
            printf(
                "regain: new %s signing key %s signs now; every other %s key is retired (--force): running "
                "gateways switch within %u ms, and a gateway shown a token of the new key reloads at once\n",
                rot.alg, done.kid, rot.alg, cfg.keys.refresh_interval_ms);
            rc = 0;
        } else {
            printf("regain: new %s signing key %s is published now and signs from %s (in %llu s); the key it "
                   "replaces stays published until %llu s after that\n",
                   rot.alg, done.kid, done.activates_at, (unsigned long long)(done.activate_ms + 999) / 1000,
                   (unsigned long long)(rot.keep_ms + 999) / 1000);
            rc = 0;
        }
        PQfinish(conn);
    }
    gw_config_dispose(&cfg);
    return rc;
}

static int cmd_config(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "check") != 0) {
        if (argc >= 2 && is_help(argv[1])) {
            show_usage(stdout, &CMD_CONFIG_CHECK);
            return 0;
        }
        fprintf(stderr, "usage: regain %s\n", CMD_CONFIG_CHECK.usage);
        return EXIT_USAGE;
    }
    const char *path;
    gw_config_t cfg;
    int rc = parse_config_flag(argc - 1, argv + 1, &CMD_CONFIG_CHECK, &path);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if ((rc = load_config_files(&cfg, path)) != 0)
        return rc;
    printf("regain: %s is valid\n", path);
    gw_config_dispose(&cfg);
    return 0;
}

/* `regain client ...`, `regain user ...`, `regain purge`: pull `--config
 * FILE` out of the arguments, open the database, and hand the rest to the
 * OpenID Provider. Without arguments, a tool that needs an action (`add`)
 * prints its usage. `--help` or `-h` anywhere (`client add --help`) prints
 * it too, before a config or a database is needed. */
static int run_db_tool(int argc, char **argv, const command_t *cmd, int needs_action,
                       int (*tool)(const gw_config_t *, PGconn *, int, char **))
{
    const char *path = NULL;
    char *rest[64];
    int n = 0;
    for (int i = 1; i < argc && n < 63; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
        else
            rest[n++] = argv[i];
    }
    rest[n] = NULL;
    for (int i = 0; i < n; i++) {
        if (is_help(rest[i])) {
            show_usage(stdout, cmd);
            return 0;
        }
    }
    if (n == 0 && needs_action) {
        show_usage(stderr, cmd);
        return EXIT_USAGE;
    }
    if (path == NULL) {
        fprintf(stderr, "regain %s: --config FILE is required\nusage: regain %s\n", cmd->name, cmd->usage);
        return EXIT_USAGE;
    }
    gw_config_t cfg;
    int rc = load_config(&cfg, path);
    if (rc != 0)
        return rc;
    rc = EXIT_RUN;
    PGconn *conn = connect_db(&cfg);
    if (conn != NULL) {
        gw_err_t err;
        if (gw_migrate_check(conn, &err) != 0)
            report("database schema", &err);
        else
            rc = tool(&cfg, conn, n, rest);
        PQfinish(conn);
    }
    gw_config_dispose(&cfg);
    return rc;
}

static const command_t CMD_CLIENT, CMD_USER, CMD_TAP, CMD_PURGE;

static int cmd_client(int argc, char **argv)
{
    return run_db_tool(argc, argv, &CMD_CLIENT, 1, oidc_cli_client);
}

static int cmd_user(int argc, char **argv)
{
    return run_db_tool(argc, argv, &CMD_USER, 1, oidc_cli_user);
}

static int cmd_tap(int argc, char **argv)
{
    return run_db_tool(argc, argv, &CMD_TAP, 1, oidc_cli_tap);
}

static int cmd_purge(int argc, char **argv)
{
    return run_db_tool(argc, argv, &CMD_PURGE, 0, oidc_cli_purge);
}

static const command_t CMD_VERSION;

static int cmd_version(int argc, char **argv)
{
    if (argc >= 2 && is_help(argv[1])) {
        show_usage(stdout, &CMD_VERSION);
        return 0;
    }
    printf("regain %s\n", REGAIN_VERSION);
    return 0;
}

static const command_t CMD_SERVE = {"serve", "Run the gateway until SIGTERM or SIGINT.",
                                    "serve --config FILE", cmd_serve, NULL};
static const command_t CMD_MIGRATE = {"migrate", "Apply the missing database migrations (idempotent).",
                                      "migrate --config FILE", cmd_migrate, NULL};
static const char KEYS_ROTATE_DETAILS[] =
    "usage: regain keys rotate [--alg ES256|RS256] [--force] --config FILE\n"
    "The new key is published in /jwks.json at once and signs 2 x keys.refresh_interval_ms + 300 s later,\n"
    "when every gateway has loaded it and cached copies of /jwks.json have expired. The key it replaces\n"
    "stays published until its tokens have expired: the longest token lifetime (oidc.access_token_ttl_s,\n"
    "oidc.id_token_ttl_s, at least 600 s) + 300 s + keys.refresh_interval_ms after the new key signs.\n"
    "Both come from the FILE given, which should carry the gateways' settings. An algorithm keeps at most\n"
    "4 published keys. Refused (exit 2) when keys.encryption_key does not open the stored keys.\n"
    "--force  for a compromised key: the new key signs at once and every other key of the algorithm is\n"
    "         retired now, so the tokens they signed stop working.";
static const command_t CMD_KEYS_ROTATE = {
    "keys", "Add a signing key: published now, signing once every gateway has it; old keys stay published.",
    "keys rotate [--alg ES256|RS256] [--force] --config FILE", cmd_keys, KEYS_ROTATE_DETAILS};
static const command_t CMD_CONFIG_CHECK = {"config",
                                           "Validate a configuration file and the files it names, and exit.",
                                           "config check --config FILE", cmd_config, NULL};
static const command_t CMD_CLIENT = {"client", "Register, list or remove OpenID Connect clients.",
                                     "client add|list|remove [options] --config FILE", cmd_client,
                                     oidc_cli_client_usage};
static const command_t CMD_USER = {"user", "Add a user (with an optional password) for sign-in.",
                                   "user add [options] --config FILE", cmd_user, oidc_cli_user_usage};
static const command_t CMD_TAP = {"tap", "Issue, list or revoke a user's Temporary Access Pass.",
                                  "tap issue|list|revoke USER [options] --config FILE", cmd_tap,
                                  oidc_cli_tap_usage};
static const command_t CMD_PURGE = {"purge", "Remove expired codes, tokens and sessions (run it daily).",
                                    "purge [--batch N] [--json] --config FILE", cmd_purge,
                                    oidc_cli_purge_usage};
static const command_t CMD_VERSION = {"version", "Print the version.", "version", cmd_version, NULL};

static const command_t *const COMMANDS[] = {&CMD_SERVE,   &CMD_MIGRATE, &CMD_KEYS_ROTATE, &CMD_CONFIG_CHECK,
                                            &CMD_CLIENT,  &CMD_USER,    &CMD_TAP,         &CMD_PURGE,
                                            &CMD_VERSION, NULL};

static void usage(FILE *out)
{
    fprintf(out, "regain %s: self-service account recovery gateway\n\nusage:\n", REGAIN_VERSION);
    for (const command_t *const *c = COMMANDS; *c; c++)
        fprintf(out, "  regain %-45s %s\n", (*c)->usage, (*c)->summary);
    fprintf(out,
            "\nSecrets may come from the environment: REGAIN_DATABASE_URL, REGAIN_KEY_ENCRYPTION_KEY.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(0, NULL);
    for (const command_t *const *c = COMMANDS; *c; c++)
        if (strcmp(argv[1], (*c)->name) == 0)
            return (*c)->run(argc - 1, argv + 1);
    fprintf(stderr, "regain: unknown command %s\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
