/* Applies and checks the embedded schema migrations. Blocking libpq: this
 * runs from the command line and once at start-up, never on a loop. */
#include "gateway/migrate.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/log.h"

/* Serialises concurrent `regain migrate` runs (two deploys at once). */
static const char LOCK_SQL[] = "SELECT pg_advisory_lock(7365820183)";
static const char UNLOCK_SQL[] = "SELECT pg_advisory_unlock(7365820183)";

static const char CREATE_TABLE_SQL[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " name text PRIMARY KEY,"
                                       " sha256 text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())";

static int exec_ok(PGconn *conn, const char *sql, gw_err_t *err)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        GW_ERR(err, GW_E_INTERNAL, "database error");
        gw_err_detail(err, "%s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return ok ? 0 : -1;
}

/* Fetches applied migrations as a result of (name, sha256), ordered by name. */
static PGresult *applied_list(PGconn *conn, gw_err_t *err)
{
    PGresult *res = PQexec(conn, "SELECT name, sha256 FROM schema_migrations ORDER BY name");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        GW_ERR(err, GW_E_INTERNAL, "cannot read schema_migrations");
        gw_err_detail(err, "%s", PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

static const gw_migration_t *embedded(const char *name)
{
    for (size_t i = 0; i < GW_MIGRATIONS_COUNT; i++)
        if (strcmp(GW_MIGRATIONS[i].name, name) == 0)
            return &GW_MIGRATIONS[i];
    return NULL;
}

/* Every applied migration must be one we know, unchanged. */
static int check_applied(PGresult *res, gw_err_t *err)
{
    for (int i = 0; i < PQntuples(res); i++) {
        const char *name = PQgetvalue(res, i, 0);
        const gw_migration_t *m = embedded(name);
        if (m == NULL)
            return GW_ERRF(err, GW_E_CONFLICT,
                           "the database has migration %s, which this regain does not know: upgrade regain",
                           name);
        if (strcmp(m->sha256, PQgetvalue(res, i, 1)) != 0)
            return GW_ERRF(err, GW_E_CONFLICT, "migration %s was changed after it was applied", name);
    }
    return 0;
}

static int is_applied(PGresult *res, const char *name)
{
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 0), name) == 0)
            return 1;
    return 0;
}

static int apply_one(PGconn *conn, const gw_migration_t *m, gw_err_t *err)
{
    if (exec_ok(conn, "BEGIN", err) != 0)
        return -1;
    if (exec_ok(conn, m->sql, err) != 0) {
        char detail[sizeof(err->detail)];
        snprintf(detail, sizeof(detail), "%s", err->detail);
        exec_ok(conn, "ROLLBACK", NULL);
        GW_ERRF(err, GW_E_INTERNAL, "migration %s failed", m->name);
        gw_err_detail(err, "%s", detail);
        return -1;
    }
    const char *params[2] = {m->name, m->sha256};
    PGresult *res = PQexecParams(conn, "INSERT INTO schema_migrations (name, sha256) VALUES ($1, $2)", 2,
                                 NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok || exec_ok(conn, "COMMIT", err) != 0) {
        exec_ok(conn, "ROLLBACK", NULL);
        return GW_ERRF(err, GW_E_INTERNAL, "migration %s could not be recorded", m->name);
    }
    return 0;
}

int gw_migrate_apply(PGconn *conn, size_t *applied, gw_err_t *err)
{
    *applied = 0;
    if (exec_ok(conn, "SET client_min_messages = warning", err) != 0 || exec_ok(conn, LOCK_SQL, err) != 0)
        return -1;
    int rc = -1;
    PGresult *done = NULL;
    if (exec_ok(conn, CREATE_TABLE_SQL, err) != 0 || (done = applied_list(conn, err)) == NULL ||
        check_applied(done, err) != 0)
        goto out;
    for (size_t i = 0; i < GW_MIGRATIONS_COUNT; i++) {
        const gw_migration_t *m = &GW_MIGRATIONS[i];
        if (is_applied(done, m->name))
            continue;
        if (apply_one(conn, m, err) != 0)
            goto out;
        gw_log_info("applied migration %s", m->name);
        (*applied)++;
    }
    rc = 0;
out:
    PQclear(done);
    exec_ok(conn, UNLOCK_SQL, NULL);
    return rc;
}

int gw_migrate_check(PGconn *conn, gw_err_t *err)
{
    PGresult *exists = PQexec(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL");
    int ok = PQresultStatus(exists) == PGRES_TUPLES_OK;
    int has_table = ok && strcmp(PQgetvalue(exists, 0, 0), "t") == 0;
    if (!ok)
        gw_err_detail(err, "%s", PQresultErrorMessage(exists));
    PQclear(exists);
    if (!ok)
        return GW_ERR(err, GW_E_UNAVAILABLE, "cannot query the database");
    if (!has_table)
        return GW_ERR(err, GW_E_CONFLICT,
                      "the database has no regain schema: run `regain migrate --config FILE` first");
    PGresult *done = applied_list(conn, err);
    if (done == NULL)
        return -1;
    int rc = check_applied(done, err);
    for (size_t i = 0; rc == 0 && i < GW_MIGRATIONS_COUNT; i++)
        if (!is_applied(done, GW_MIGRATIONS[i].name))
            rc = GW_ERRF(err, GW_E_CONFLICT,
                         "the database lacks migration %s: run `regain migrate --config FILE` first",
                         GW_MIGRATIONS[i].name);
    PQclear(done);
    return rc;
}
