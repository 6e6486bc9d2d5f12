/* `regain purge [--batch N] [--json]`: removes the rows nothing can use any
 * more (expired codes, tokens, sessions, challenges; schema/033_purge.sql
 * says exactly which), meant to run daily from cron or a systemd timer, from
 * any one host. Each call of regain_purge removes at most N rows per kind in
 * its own transaction; the command calls it until a call removes nothing,
 * so a large backlog goes in short steps that never hold locks for long.
 * Prints the rows removed per kind. Exit codes: 0 done, 1 failed, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/oidc.h"

#define EXIT_OK       0
#define EXIT_FAIL     1
#define EXIT_USAGE    2
#define BATCH_DEFAULT 1000
#define BATCH_MAX     100000
#define KINDS_MAX     16

const char oidc_cli_purge_usage[] = "usage: regain purge [--batch N] [--json] --config FILE\n"
                                    "N: rows removed per kind and transaction (1-100000, default 1000).\n";

typedef struct {
    char name[64];
    long long rows;
} kind_total_t;

/* Adds one call's result to the totals; the rows it removed, or -1. */
static long long add_round(PGresult *res, kind_total_t *totals, int *count)
{
    long long round = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *name = PQgetvalue(res, i, 0);
        long long n = atoll(PQgetvalue(res, i, 1));
        int k = 0;
        while (k < *count && strcmp(totals[k].name, name) != 0)
            k++;
        if (k == *count) {
            if (*count == KINDS_MAX)
                return -1;
            snprintf(totals[k].name, sizeof(totals[k].name), "%s", name);
            totals[k].rows = 0;
            (*count)++;
        }
        totals[k].rows += n;
        round += n;
    }
    return round;
}

int oidc_cli_purge(const gw_config_t *cfg, PGconn *conn, int argc, char **argv)
{
    (void)cfg;
    long batch = BATCH_DEFAULT;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            char *end;
            batch = strtol(argv[++i], &end, 10);
            if (*end != '\0' || batch < 1 || batch > BATCH_MAX) {
                fprintf(stderr, "regain purge: --batch %s is not a number from 1 to %d\n%s", argv[i],
                        BATCH_MAX, oidc_cli_purge_usage);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "regain purge: unknown argument %s\n%s", argv[i], oidc_cli_purge_usage);
            return EXIT_USAGE;
        }
    }
    char batch_text[16];
    snprintf(batch_text, sizeof(batch_text), "%ld", batch);
    const char *params[1] = {batch_text};
    kind_total_t totals[KINDS_MAX];
    int count = 0;
    long long total = 0, round;
    do {
        PGresult *res = PQexecParams(conn, "SELECT o_kind, o_rows FROM regain_purge($1::integer)", 1, NULL,
                                     params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "regain purge: %s", PQresultErrorMessage(res));
            PQclear(res);
            return EXIT_FAIL;
        }
        round = add_round(res, totals, &count);
        PQclear(res);
        if (round < 0) {
            fprintf(stderr, "regain purge: the database named more than %d kinds of rows\n", KINDS_MAX);
            return EXIT_FAIL;
        }
        total += round;
    } while (round > 0);

    if (json) {
        printf("{\"removed\":%lld,\"kinds\":{", total);
        for (int k = 0; k < count; k++)
            printf("%s\"%s\":%lld", k ? "," : "", totals[k].name, totals[k].rows); /* our SQL's plain names */
        printf("}}\n");
    } else {
        printf("regain purge: removed %lld rows\n", total);
        for (int k = 0; k < count; k++)
            printf("  %-24s %lld\n", totals[k].name, totals[k].rows);
    }
    return EXIT_OK;
}
