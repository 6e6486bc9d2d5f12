/* Asynchronous PostgreSQL: a small pool of libpq connections per worker
 * thread, in pipeline mode, driven by the thread's h2o event loop.
 *
 * A caller sends a prepared statement with text parameters and gets its
 * result in a callback on the same thread. The loop never blocks: connecting,
 * sending and reading all happen on non-blocking sockets. When PostgreSQL goes
 * away, calls fail at once with GW_E_UNAVAILABLE (503 + Retry-After), and the
 * pool reconnects with backoff by itself. */
#ifndef REGAIN_GATEWAY_STORE_H
#define REGAIN_GATEWAY_STORE_H

#include <h2o.h>
#include <libpq-fe.h>
#include <stdatomic.h>

#include "gateway/err.h"

typedef struct store_pool store_pool_t;
typedef struct store_query store_query_t;

/* A statement, prepared on every connection when it (re)connects. Declare
 * them as static objects in a subsystem's *_db.c and register them once
 * before the server starts. */
typedef struct {
    const char *name; /* unique, e.g. "keys_list" */
    const char *sql;  /* with $1..$n placeholders */
    int nparams;
    unsigned _index;
} store_stmt_t;

void store_stmt_register(store_stmt_t *stmt);

/* Registers a statement on a hot path together with `batch_sql`: the same
 * work for many callers in one round trip (store_batch.c). Its $k is a text
 * array of the callers' k-th parameters in array-literal form (cast it,
 * e.g. $1::bytea[], and unnest the arrays WITH ORDINALITY); its last column
 * is the caller's 1-based position in them, every other column as in the
 * statement's own SQL. The arrays may be padded with NULLs, and a row of
 * NULLs must match nothing. The callers of one turn of the loop go
 * together at its end, and those that come while the statement is in
 * flight go together when it comes back; each still gets a result of its
 * own rows only, in the usual callback, with that extra last column. Such
 * a caller reads rows (PQntuples), never PQcmdTuples, which counts the
 * whole batch; and no caller's value may make the batch fail for the
 * others: each must be one PostgreSQL takes for its cast (text the form
 * parser has checked as UTF-8, values the caller built itself). */
void store_stmt_register_batched(store_stmt_t *stmt, const char *batch_sql);

/* Result callback: on success `res` is a PGRES_TUPLES_OK/COMMAND_OK result
 * that the store clears after the callback returns; on failure `res` is NULL
 * and `err` says why (GW_E_UNAVAILABLE, GW_E_TIMEOUT, GW_E_CONFLICT for a
 * unique violation, GW_E_INTERNAL). */
typedef void (*store_cb_t)(void *data, PGresult *res, const gw_err_t *err);

typedef struct {
    const char *conninfo;
    unsigned connections;
    unsigned query_timeout_ms;
    unsigned max_waiting;
    /* The loop's receiver of h2o's host name lookups
     * (h2o_context_t.receivers.hostinfo_getaddr): a database host given by
     * name is looked up there, never on the loop. NULL: libpq looks it up
     * itself, blocking (tools, tests without a context). */
    h2o_multithread_receiver_t *resolver;
} store_options_t;

/* Creates the pool of one loop and starts connecting (without blocking). */
store_pool_t *store_pool_new(h2o_loop_t *loop, const store_options_t *opts);

/* Fails what is queued or in flight with GW_E_UNAVAILABLE and closes. */
void store_pool_free(store_pool_t *pool);

/* Sends `stmt` with `params` (text format; NULL is SQL NULL; copied). Returns
 * a handle for store_query_cancel, or NULL after calling nothing and filling
 * `err` when the query cannot even be queued (database down, queue full). */
store_query_t *store_query_send(store_pool_t *pool, const store_stmt_t *stmt, const char *const *params,
                                store_cb_t cb, void *data, gw_err_t *err);

/* The same for SQL built at run time (SCIM filters): still parameters only —
 * `sql` holds $1..$n placeholders and never a value. Each connection keeps
 * the texts it ran last prepared (a bounded cache, least recently used out
 * first, emptied when the connection goes), so a text seen again is neither
 * parsed again nor, once PostgreSQL settles on a generic plan, planned. */
store_query_t *store_query_send_sql(store_pool_t *pool, const char *sql, int nparams,
                                    const char *const *params, store_cb_t cb, void *data, gw_err_t *err);

/* The callback of `q` will not run; its result is dropped when it arrives. */
void store_query_cancel(store_query_t *q);

/* 1 when at least one connection is ready for queries. */
int store_pool_ready(const store_pool_t *pool);

/* Counters for /metrics, readable from any thread. */
typedef struct {
    _Atomic unsigned size;        /* connections configured */
    _Atomic unsigned ready;       /* connections ready */
    _Atomic unsigned in_use;      /* connections with queries in flight */
    _Atomic unsigned waiting;     /* queries waiting for a connection */
    _Atomic unsigned long errors; /* failed calls: connection loss, timeout, SQL error */
    /* run-time statements (store_query_send_sql) */
    _Atomic unsigned long sql_prepared; /* prepared on a connection */
    _Atomic unsigned long sql_reused;   /* ran as a statement prepared before */
    _Atomic unsigned long sql_evicted;  /* deallocated to make room */
    /* statements with a batched form (store_stmt_register_batched) */
    _Atomic unsigned batch_queued; /* callers waiting for their statement's next batch */
    _Atomic unsigned long batches; /* round trips that served two callers or more */
    _Atomic unsigned long batched; /* callers served by them */
} store_stats_t;

const store_stats_t *store_pool_stats(const store_pool_t *pool);

/* Helpers for reading results. */
const char *store_value(const PGresult *res, int row, int col); /* NULL for SQL NULL */

#endif
