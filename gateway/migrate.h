/* Schema migrations: schema/NNN_name.sql, embedded at build time, applied in
 * order, each in its own transaction, recorded in schema_migrations. */
#ifndef REGAIN_GATEWAY_MIGRATE_H
#define REGAIN_GATEWAY_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "gateway/err.h"

typedef struct {
    const char *name;   /* "001_init" */
    const char *sha256; /* hex digest of the file, to catch an edited migration */
    const char *sql;
} gw_migration_t;

extern const gw_migration_t GW_MIGRATIONS[];
extern const size_t GW_MIGRATIONS_COUNT;

/* Applies every missing migration (blocking; CLI and start-up only). Sets
 * `*applied` to how many ran. Concurrent runs serialise on an advisory lock. */
int gw_migrate_apply(PGconn *conn, size_t *applied, gw_err_t *err);

/* Fails unless the database holds exactly the embedded migrations, with a
 * message that says what to do (run `regain migrate`, or upgrade regain). */
int gw_migrate_check(PGconn *conn, gw_err_t *err);

#endif
