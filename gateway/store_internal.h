/* Between gateway/store.c and its helpers: store_lookup.c looks the
 * database's host name up off the event loop; store_pick.c chooses the
 * connection each query goes to. */
#ifndef REGAIN_GATEWAY_STORE_INTERNAL_H
#define REGAIN_GATEWAY_STORE_INTERNAL_H

#include <libpq-fe.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>

#include "gateway/store.h"

/* Addresses of one name handed to libpq (it tries them in order). */
#define STORE_LOOKUP_MAX_ADDRS 8

typedef struct {
    char *name; /* the host name to look up, or NULL: libpq needs no lookup */
    char *port; /* its port */
} store_lookup_t;

/* 1 (and `out` filled) when connecting with `conninfo` would have libpq look
 * a host name up; 0 when not; -1 when `conninfo` cannot be read. */
int store_lookup_plan(const char *conninfo, store_lookup_t *out);
void store_lookup_dispose(store_lookup_t *l);

/* PQconnectStartParams with `conninfo`, host `name` and the addresses the
 * lookup found as hostaddr. NULL with `err` filled when there is none (or no
 * memory). */
PGconn *store_lookup_connect(const char *conninfo, const char *name, const struct addrinfo *res, char *err,
                             size_t errsize);

/* ---- queries, for store_batch.c ------------------------------------------------ */

/* Statements registered (store_stmt_register), batch twins included. */
#define STORE_MAX_STMTS 256

/* What a query is to the connection: a caller's, or the connection's own
 * housekeeping (preparing a statement, deallocating one), whose results
 * nobody waits for. */
typedef enum { Q_CALLER = 0, Q_PREPARE, Q_COMMAND } store_query_kind_t;

typedef struct store_conn store_conn_t;

struct store_query {
    h2o_linklist_t link; /* in a connection's FIFO, the pool's waiting list, or a batch queue */
    h2o_timeout_entry_t deadline;
    store_pool_t *pool;
    store_conn_t *conn; /* NULL while waiting */
    const store_stmt_t *stmt;
    char **params;
    store_cb_t cb; /* NULL once cancelled or answered */
    void *data;
    PGresult *res;               /* first result of this query */
    store_query_kind_t internal; /* Q_CALLER, or the connection's own housekeeping */
    store_stmt_t adhoc;          /* the statement of a store_query_send_sql (name NULL), or of
                                    the housekeeping of the run-time statement cache (owned) */
    unsigned cached_id;          /* the cached statement a store_query_send_sql ran as (0: none) */
    int is_batch;                /* runs for the callers of a batch; they count its failure */
};

/* A caller's query with its parameters copied and its deadline running,
 * not sent yet. */
store_query_t *store_query_new(store_pool_t *p, const store_stmt_t *stmt, int nparams,
                               const char *const *params, store_cb_t cb, void *data);
/* Sends `q` on a connection, or queues it for the next free one. -1 with
 * `err` filled, and `q` still the caller's, when it can be neither. */
int store_query_dispatch(store_pool_t *p, store_query_t *q, gw_err_t *err);
/* Hands the outcome to the caller once (later outcomes are dropped) and
 * counts a failure, except of a batch's own query: its callers count. */
void store_query_answer(store_query_t *q, PGresult *res, const gw_err_t *err);
void store_query_free(store_query_t *q);

/* ---- store_batch.c ----------------------------------------------------------- */

/* The batched form of a registered statement, or NULL. */
const store_stmt_t *store_stmt_batched(const store_stmt_t *stmt);

/* The batch queues of one pool, made on its first batched call. */
typedef struct store_batches store_batches_t;
store_batches_t **store_pool_batches(store_pool_t *p);
h2o_loop_t *store_pool_loop(store_pool_t *p);

/* Takes a caller's query of a statement with a batched form: queues it for
 * the statement's next batch. */
void store_batch_submit(store_pool_t *p, store_query_t *q);
/* For /metrics: callers joining (+1) or leaving (-1) a batch queue, and a
 * batch of `callers` sent. */
void store_count_queued(store_pool_t *p, int delta);
void store_count_batch(store_pool_t *p, unsigned callers);
/* Fails every queued query (the pool is closing) and frees the queues. */
void store_batch_pool_free(store_pool_t *p);

/* ---- store_pick.c ---------------------------------------------------------- */

/* A connection whose backend has been on one query this long is behind
 * something slow; see store_pick.c. */
#define STORE_PACK_US 500

/* What store_pick needs to know of one connection. */
typedef struct {
    int usable;            /* ready, and room for one more query in its pipeline */
    unsigned in_flight;    /* queries sent and not answered yet */
    uint64_t head_busy_us; /* how long the backend has been on the oldest of them (0: none) */
    int searching;         /* one of them is a run-time statement (a search) */
} store_conn_load_t;

/* The index of the connection the next query goes to, or -1 when none of
 * the `n` is usable. */
int store_pick(const store_conn_load_t *load, unsigned n);

#endif
