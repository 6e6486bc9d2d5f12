/* Drives gateway/store.c against a real PostgreSQL for test_store_batch.py:
 * the batches of batchable statements (store_stmt_register_batchable).
 *
 *   store_batch_driver CONNINFO
 *
 * Each scenario sends its statements during one event-loop turn, runs the
 * loop until every callback has run, and prints one line per check:
 * "ok<TAB>name" or "not ok<TAB>name<TAB>detail". A second, blocking libpq
 * connection (test code only) looks at the tables from outside. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/log.h"
#include "gateway/store.h"

static store_stmt_t S_INSERT = {
    "t_insert", "INSERT INTO store_batch_rows (id) VALUES ($1::int) RETURNING xmin::text", 1, 0};
static store_stmt_t S_DIVIDE = {"t_divide", "SELECT (10 / $1::int)::text", 1, 0};
static store_stmt_t S_DEFERRED = {
    "t_deferred", "INSERT INTO store_batch_deferred (id) VALUES ($1::int) RETURNING xmin::text", 1, 0};
/* The same INSERT, registered the plain way: its own transaction. */
static store_stmt_t S_INSERT_ALONE = {
    "t_insert_alone", "INSERT INTO store_batch_rows (id) VALUES ($1::int) RETURNING xmin::text", 1, 0};

static PGconn *g_outside;
static int g_failed;

static void report(int ok, const char *name, const char *detail)
{
    if (ok)
        printf("ok\t%s\n", name);
    else
        printf("not ok\t%s\t%s\n", name, detail ? detail : "");
    if (!ok)
        g_failed++;
    fflush(stdout);
}

static char *outside_value(const char *sql)
{
    PGresult *res = PQexec(g_outside, sql);
    char *v = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = strdup(PQgetvalue(res, 0, 0));
    else
        fprintf(stderr, "outside query failed: %s\n", PQresultErrorMessage(res));
    PQclear(res);
    return v;
}

static int outside_ok(const char *sql)
{
    PGresult *res = PQexec(g_outside, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "outside statement failed: %s\n", PQresultErrorMessage(res));
    PQclear(res);
    return ok;
}

/* One query's outcome. */
typedef struct {
    int done;
    int ok;
    gw_err_kind_t kind;
    char value[64];
    char seen_outside[16]; /* for inserts: rows with that id visible from outside in the callback */
    int id;
} outcome_t;

static int g_pending;

static void on_result(void *data, PGresult *res, const gw_err_t *err)
{
    outcome_t *o = data;
    o->done = 1;
    g_pending--;
    if (err != NULL) {
        o->kind = err->kind;
        return;
    }
    o->ok = 1;
    const char *v = store_value(res, 0, 0);
    snprintf(o->value, sizeof(o->value), "%s", v ? v : "");
    if (o->id > 0) {
        /* Handed over only after the commit: another session sees the row. */
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM store_batch_rows WHERE id = %d", o->id);
        char *n = outside_value(sql);
        snprintf(o->seen_outside, sizeof(o->seen_outside), "%s", n ? n : "?");
        free(n);
    }
}

static void submit(store_pool_t *pool, const store_stmt_t *stmt, const char *param, outcome_t *o)
{
    gw_err_t err;
    const char *params[1] = {param};
    memset(o, 0, sizeof(*o));
    if (stmt == &S_INSERT || stmt == &S_INSERT_ALONE)
        o->id = atoi(param);
    g_pending++;
    if (store_query_send(pool, stmt, params, on_result, o, &err) == NULL) {
        g_pending--;
        o->done = 1;
        o->kind = err.kind;
    }
}

static void run_until_done(h2o_loop_t *loop)
{
    while (g_pending > 0)
        h2o_evloop_run(loop, 1000);
}

static long count_rows(const char *table, int id)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE id = %d", table, id);
    char *v = outside_value(sql);
    long n = v ? atol(v) : -1;
    free(v);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONNINFO\n", argv[0]);
        return 2;
    }
    gw_log_set_level(GW_LOG_ERROR);
    g_outside = PQconnectdb(argv[1]);
    if (PQstatus(g_outside) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(g_outside));
        return 2;
    }
    if (!outside_ok("SET client_min_messages = warning") ||
        !outside_ok("DROP TABLE IF EXISTS store_batch_rows, store_batch_deferred") ||
        !outside_ok("CREATE TABLE store_batch_rows (id int PRIMARY KEY)") ||
        !outside_ok("CREATE TABLE store_batch_deferred (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)"))
        return 2;

    store_stmt_register_batchable(&S_INSERT);
    store_stmt_register_batchable(&S_DIVIDE);
    store_stmt_register_batchable(&S_DEFERRED);
    store_stmt_register(&S_INSERT_ALONE);
    h2o_loop_t *loop = h2o_evloop_create();
    /* One connection, so that every statement of a scenario meets the others. */
    store_options_t opts = {argv[1], 1, 10000, 100};
    store_pool_t *pool = store_pool_new(loop, &opts);
    for (int i = 0; i < 500 && !store_pool_ready(pool); i++)
        h2o_evloop_run(loop, 10);
    if (!store_pool_ready(pool)) {
        fprintf(stderr, "the pool did not connect\n");
        return 2;
    }
    /* Let the PREPAREs finish. */
    for (int i = 0; i < 20; i++)
        h2o_evloop_run(loop, 10);

    outcome_t a, b, c, d, e;
    char detail[256];

    /* 1. Batchable statements of one loop turn share one transaction. */
    submit(pool, &S_INSERT, "1", &a);
    submit(pool, &S_INSERT, "2", &b);
    run_until_done(loop);
    report(a.ok && b.ok, "two batchable inserts succeed", NULL);
    snprintf(detail, sizeof(detail), "xmin %s and %s", a.value, b.value);
    report(a.ok && b.ok && strcmp(a.value, b.value) == 0, "they committed in one transaction", detail);
    snprintf(detail, sizeof(detail), "seen %s and %s", a.seen_outside, b.seen_outside);
    report(strcmp(a.seen_outside, "1") == 0 && strcmp(b.seen_outside, "1") == 0,
           "each result is handed over after the commit (the row is visible to another session)", detail);

    /* 2. Plain statements stay alone even in the same turn. */
    submit(pool, &S_INSERT_ALONE, "3", &a);
    submit(pool, &S_INSERT_ALONE, "4", &b);
    run_until_done(loop);
    snprintf(detail, sizeof(detail), "xmin %s and %s", a.value, b.value);
    report(a.ok && b.ok && strcmp(a.value, b.value) != 0, "plain statements are separate transactions",
           detail);

    /* 3. A failing statement in a batch: its neighbours get their results,
     * each row exactly once, and the failure is its own. */
    submit(pool, &S_INSERT, "10", &a);
    submit(pool, &S_DIVIDE, "0", &b);
    submit(pool, &S_INSERT, "11", &c);
    submit(pool, &S_DIVIDE, "5", &d);
    run_until_done(loop);
    report(a.ok && c.ok, "inserts batched with a failing statement succeed", NULL);
    report(!b.ok && b.kind == GW_E_INTERNAL, "the failing statement gets its own error", NULL);
    snprintf(detail, sizeof(detail), "value '%s'", d.value);
    report(d.ok && strcmp(d.value, "2") == 0, "a read batched with a failing statement gets its result",
           detail);
    snprintf(detail, sizeof(detail), "rows 10: %ld, 11: %ld", count_rows("store_batch_rows", 10),
             count_rows("store_batch_rows", 11));
    report(count_rows("store_batch_rows", 10) == 1 && count_rows("store_batch_rows", 11) == 1,
           "each neighbour's row is stored exactly once", detail);
    report(strcmp(a.seen_outside, "1") == 0 && strcmp(c.seen_outside, "1") == 0,
           "neighbours' results come after their own commit", NULL);

    /* 4. Two statements of one batch that conflict with each other: as if
     * each ran alone, one succeeds and the other is a conflict. */
    submit(pool, &S_INSERT, "20", &a);
    submit(pool, &S_INSERT, "20", &b);
    submit(pool, &S_INSERT, "21", &c);
    run_until_done(loop);
    snprintf(detail, sizeof(detail), "ok %d/%d kinds %d/%d", a.ok, b.ok, (int)a.kind, (int)b.kind);
    report(a.ok + b.ok == 1 && (a.ok ? b.kind : a.kind) == GW_E_CONFLICT,
           "a duplicate inside a batch: one insert wins, the other is a conflict", detail);
    report(c.ok && count_rows("store_batch_rows", 20) == 1 && count_rows("store_batch_rows", 21) == 1,
           "their neighbour is stored once", NULL);

    /* 5. A commit that fails (a deferred unique constraint): the batch is
     * retried statement by statement; the one whose own commit fails gets an
     * error, the others succeed. */
    submit(pool, &S_DEFERRED, "30", &a);
    submit(pool, &S_DEFERRED, "30", &b);
    submit(pool, &S_INSERT, "31", &c);
    run_until_done(loop);
    snprintf(detail, sizeof(detail), "ok %d/%d/%d", a.ok, b.ok, c.ok);
    report(a.ok + b.ok == 1 && c.ok, "a failed commit: one deferred insert wins, the neighbour succeeds",
           detail);
    report(count_rows("store_batch_deferred", 30) == 1 && count_rows("store_batch_rows", 31) == 1,
           "after a failed commit each row is stored once", NULL);

    /* 6. A cancelled statement in a failed batch is dropped, not retried into a callback. */
    submit(pool, &S_INSERT, "40", &a);
    {
        gw_err_t err;
        const char *p0[1] = {"0"};
        store_query_t *q = store_query_send(pool, &S_DIVIDE, p0, on_result, &b, &err);
        memset(&b, 0, sizeof(b));
        if (q != NULL)
            store_query_cancel(q);
    }
    submit(pool, &S_INSERT, "41", &c);
    run_until_done(loop);
    for (int i = 0; i < 20; i++) /* let the dropped statement come back */
        h2o_evloop_run(loop, 10);
    report(a.ok && c.ok && !b.done, "a cancelled failing statement: neighbours succeed, no callback", NULL);

    /* 7. After all this, the connection still serves batches. */
    submit(pool, &S_INSERT, "50", &e);
    run_until_done(loop);
    report(e.ok && strcmp(e.seen_outside, "1") == 0, "the connection still works", NULL);
    const store_stats_t *st = store_pool_stats(pool);
    report(atomic_load(&st->in_use) == 0, "nothing is left in flight", NULL);

    store_pool_free(pool);
    h2o_evloop_destroy(loop);
    outside_ok("DROP TABLE store_batch_rows, store_batch_deferred");
    PQfinish(g_outside);
    return g_failed ? 1 : 0;
}
