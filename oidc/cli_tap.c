/* `regain tap issue|list|revoke USER`: Temporary Access Passes from the
 * command line, with blocking libpq on the CLI's own connection. The same
 * rules as the admin API: the TAP policy bounds what may be issued
 * (oidc_tap_request_check), tap_issue / tap_revoke record the audit events
 * (actor "cli"), and the TAP is printed once and never stored.
 * Exit codes: 0 done, 1 failed, 2 usage or invalid input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "oidc/oidc.h"
#include "oidc/tap_internal.h"

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

const char oidc_cli_tap_usage[] = "usage: regain tap issue USER [--lifetime MINUTES] [--start RFC3339] "
                                  "[--multi-use] [--json] --config FILE\n"
                                  "       regain tap list USER [--json] --config FILE\n"
                                  "       regain tap revoke USER [TAP_ID] --config FILE\n"
                                  "USER is a user id or userName.\n";

static int usage(const char *what, const char *arg)
{
    fprintf(stderr, "regain tap: %s%s\n%s", what, arg, oidc_cli_tap_usage);
    return EXIT_USAGE;
}

static int db_fail(const char *what, PGresult *res, PGconn *conn)
{
    fprintf(stderr, "regain tap: %s: %s", what, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    PQclear(res);
    return EXIT_FAIL;
}

/* The user's id into `id`; EXIT_OK, or an exit code after a message. */
static int find_user(PGconn *conn, const char *ref, char id[37])
{
    if (strlen(ref) == 0 || strlen(ref) > 256)
        return usage("USER must be a user id or userName", "");
    const char *params[2] = {oidc_uuid_ok(ref, strlen(ref)) ? ref : NULL, ref};
    PGresult *res = PQexecParams(conn, OIDC_STMT_TAP_USER.sql, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return db_fail("looking up the user", res, conn);
    if (PQntuples(res) != 1) {
        PQclear(res);
        fprintf(stderr, "regain tap: no such user: %s\n", ref);
        return EXIT_FAIL;
    }
    snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return EXIT_OK;
}

static void print_row(const PGresult *res, int row, int first, const char *secret, int json)
{
    if (json) {
        gw_jw_t *w = gw_jw_new();
        oidc_tap_write_row(w, res, row, first, secret);
        size_t len;
        const char *buf = gw_jw_buf(w, &len);
        if (buf != NULL)
            printf("%.*s\n", (int)len, buf);
        gw_jw_free(w);
        return;
    }
    const char *reason = PQgetisnull(res, row, first + OIDC_TAP_COL_REASON)
                             ? NULL
                             : PQgetvalue(res, row, first + OIDC_TAP_COL_REASON);
    if (secret != NULL)
        printf("Temporary Access Pass: %s\n", secret);
    printf("id:         %s\n", PQgetvalue(res, row, first + OIDC_TAP_COL_ID));
    printf("valid from: %s\n", PQgetvalue(res, row, first + OIDC_TAP_COL_START));
    printf("valid to:   %s\n", PQgetvalue(res, row, first + OIDC_TAP_COL_EXPIRES));
    printf("one-time:   %s\n", PQgetvalue(res, row, first + OIDC_TAP_COL_ONCE)[0] == 't' ? "yes" : "no");
    printf("usable:     %s\n", reason == NULL ? "yes" : reason);
}

static int cmd_issue(PGconn *conn, const char *user_id, int argc, char **argv)
{
    oidc_tap_request_t q = {0, -1, -1, -1};
    int json = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--multi-use") == 0) {
            q.once = 0;
        } else if (strcmp(a, "--lifetime") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 0 || v > OIDC_TAP_LIFETIME_MAX)
                return usage("--lifetime must be minutes between 10 and 43200: ", argv[i]);
            q.lifetime = (int)v;
        } else if (strcmp(a, "--start") == 0 && i + 1 < argc) {
            const char *s = argv[++i];
            if (oidc_rfc3339_parse(s, strlen(s), &q.start) != 0)
                return usage("--start must be an RFC 3339 date-time: ", s);
        } else {
            return usage("unknown option ", a);
        }
    }
    const char *kind[1] = {"temporaryAccessPass"};
    PGresult *res = PQexecParams(conn, OIDC_STMT_POLICY_GET.sql, 1, NULL, kind, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return db_fail("reading the TAP policy", res, conn);
    gw_err_t jerr;
    const char *doc = PQgetvalue(res, 0, 1);
    yajl_val tree = gw_json_parse(doc, strlen(doc), NULL, &jerr);
    PQclear(res);
    oidc_tap_policy_t pol;
    oidc_field_err_t fe;
    int rc = tree == NULL ? -1 : oidc_tap_policy_from_json(tree, &pol, &fe);
    yajl_tree_free(tree);
    if (rc != 0) {
        fprintf(stderr, "regain tap: the stored TAP policy is invalid\n");
        return EXIT_FAIL;
    }
    if (oidc_tap_request_check(&pol, (int64_t)time(NULL), &q, &fe) != 0) {
        fprintf(stderr, "regain tap: %s: %s\n", fe.field, fe.msg);
        return EXIT_USAGE;
    }
    char tap[OIDC_TAP_LENGTH_MAX + 1], shown[OIDC_TAP_DISPLAY_MAX + 1], hash[GW_SECRET_HASH_HEX_LEN + 1];
    char start[32], lifetime[16], length[16];
    oidc_tap_generate((size_t)q.length, tap);
    oidc_tap_hash_hex(tap, (size_t)q.length, hash);
    oidc_tap_format(tap, (size_t)q.length, shown);
    gw_wipe(tap, sizeof(tap));
    if (q.start != 0)
        oidc_rfc3339_format(q.start, start);
    snprintf(lifetime, sizeof(lifetime), "%d", q.lifetime);
    snprintf(length, sizeof(length), "%d", q.length);
    const char *params[11] = {
        user_id, hash, q.start ? start : NULL, lifetime, q.once ? "true" : "false", length, "cli", NULL, NULL,
        NULL,    NULL};
    res = PQexecParams(conn, OIDC_STMT_TAP_ISSUE.sql, 11, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        gw_wipe(shown, sizeof(shown));
        return db_fail("issuing the TAP", res, conn);
    }
    if (strcmp(PQgetvalue(res, 0, 0), "ok") != 0) {
        gw_wipe(shown, sizeof(shown));
        PQclear(res);
        fprintf(stderr, "regain tap: the user is not active\n");
        return EXIT_FAIL;
    }
    print_row(res, 0, 1, shown, json);
    gw_wipe(shown, sizeof(shown));
    PQclear(res);
    return EXIT_OK;
}

static int cmd_list(PGconn *conn, const char *user_id, int argc, char **argv)
{
    int json = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 0 && !json)
        return usage("unknown option ", argv[0]);
    const char *params[2] = {user_id, NULL};
    PGresult *res = PQexecParams(conn, OIDC_STMT_TAP_LIST.sql, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return db_fail("listing TAPs", res, conn);
    if (PQntuples(res) == 0 && !json)
        printf("no Temporary Access Pass\n");
    for (int i = 0; i < PQntuples(res); i++)
        print_row(res, i, 0, NULL, json);
    PQclear(res);
    return EXIT_OK;
}

static int cmd_revoke(PGconn *conn, const char *user_id, int argc, char **argv)
{
    if (argc > 1 || (argc == 1 && !oidc_uuid_ok(argv[0], strlen(argv[0]))))
        return usage("revoke takes USER and an optional TAP id", "");
    const char *params[5] = {user_id, argc == 1 ? argv[0] : NULL, "cli", NULL, NULL};
    PGresult *res = PQexecParams(conn, OIDC_STMT_TAP_REVOKE.sql, 5, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return db_fail("revoking the TAP", res, conn);
    int ok = strcmp(PQgetvalue(res, 0, 0), "ok") == 0;
    if (ok)
        printf("revoked %s\n", PQgetvalue(res, 0, 1));
    else
        fprintf(stderr, "regain tap: no Temporary Access Pass to revoke\n");
    PQclear(res);
    return ok ? EXIT_OK : EXIT_FAIL;
}

int oidc_cli_tap(const gw_config_t *cfg, PGconn *conn, int argc, char **argv)
{
    (void)cfg;
    if (argc < 2)
        return usage("an action and USER are required", "");
    const char *action = argv[0];
    if (strcmp(action, "issue") != 0 && strcmp(action, "list") != 0 && strcmp(action, "revoke") != 0)
        return usage("unknown action ", action);
    char user_id[37];
    int rc = find_user(conn, argv[1], user_id);
    if (rc != EXIT_OK)
        return rc;
    if (strcmp(action, "issue") == 0)
        return cmd_issue(conn, user_id, argc - 2, argv + 2);
    if (strcmp(action, "list") == 0)
        return cmd_list(conn, user_id, argc - 2, argv + 2);
    return cmd_revoke(conn, user_id, argc - 2, argv + 2);
}
