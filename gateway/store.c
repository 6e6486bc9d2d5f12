/* Asynchronous PostgreSQL pool; see store.h for the contract.
 *
 * Each connection runs in libpq pipeline mode: every query is followed by its
 * own Sync, so an error in one query never aborts its neighbours (each gets
 * its own error boundary). Results come back in order, so a FIFO of pending
 * queries per connection pairs each result with its caller. */
#include "gateway/store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "gateway/store_internal.h"

#define STORE_MAX_IN_FLIGHT   128 /* per connection; more wait in the pool's queue */
#define STORE_MAX_CONNECTIONS 64
#define STORE_BACKOFF_MIN_MS  100
#define STORE_BACKOFF_MAX_MS  5000
#define STORE_TICK_MS         100
/* Statements built at run time (store_query_send_sql) that one connection
 * keeps prepared, least recently used out first. Bounded because their
 * shapes (SCIM filters) are the clients' to choose, and every prepared
 * statement holds its plan in the PostgreSQL backend's memory. */
#define STORE_SQL_CACHE 32
#define STORE_SQL_NAME  "regain_sql_"

static store_stmt_t *g_stmts[STORE_MAX_STMTS];
static unsigned g_stmt_count;
/* The batched form of g_stmts[i] (store_stmt_register_batched), or NULL. */
static store_stmt_t *g_batch_of[STORE_MAX_STMTS];

void store_stmt_register(store_stmt_t *stmt)
{
    for (unsigned i = 0; i < g_stmt_count; i++)
        if (g_stmts[i] == stmt)
            return;
    if (g_stmt_count == STORE_MAX_STMTS) {
        gw_log_error("too many prepared statements (%d)", STORE_MAX_STMTS);
        abort();
    }
    stmt->_index = g_stmt_count;
    g_stmts[g_stmt_count++] = stmt;
}

void store_stmt_register_batched(store_stmt_t *stmt, const char *batch_sql)
{
    store_stmt_register(stmt);
    if (g_batch_of[stmt->_index] != NULL)
        return;
    /* Lives as long as the process, as the statement it serves. */
    store_stmt_t *twin = gw_calloc(1, sizeof(*twin));
    size_t n = strlen(stmt->name) + sizeof("_batch");
    char *name = gw_malloc(n);
    snprintf(name, n, "%s_batch", stmt->name);
    twin->name = name;
    twin->sql = batch_sql;
    twin->nparams = stmt->nparams;
    store_stmt_register(twin);
    g_batch_of[stmt->_index] = twin;
}

const store_stmt_t *store_stmt_batched(const store_stmt_t *stmt)
{
    if (stmt->name == NULL || stmt->_index >= g_stmt_count || g_stmts[stmt->_index] != stmt)
        return NULL;
    return g_batch_of[stmt->_index];
}

/* CONN_LOOKUP: the database's host name is being looked up (store_lookup.c). */
typedef enum { CONN_DOWN, CONN_LOOKUP, CONN_CONNECTING, CONN_READY } conn_state_t;

/* A run-time statement prepared on one connection, named STORE_SQL_NAME<id>. */
typedef struct {
    char *sql; /* NULL: a free slot */
    uint64_t hash;
    uint64_t used; /* the connection's use clock at its last use */
    unsigned id;
} sql_cached_t;

struct store_conn {
    store_pool_t *pool;
    PGconn *pg;
    h2o_socket_t *sock;
    int sock_fd; /* the PQsocket that `sock` watches (a dup of it) */
    conn_state_t state;
    h2o_linklist_t fifo;
    unsigned in_flight;
    uint64_t head_since_us; /* when the backend started on the FIFO head (store_pick) */
    unsigned searches;      /* of in_flight, run-time statements (is_search) */
    uint64_t retry_at;      /* loop time of the next connection attempt */
    unsigned backoff_ms;
    int broken;                              /* a write failed; failed from the loop, never inside a caller */
    int write_armed;                         /* a write-readiness callback is pending on `sock` */
    int flush_needed;                        /* libpq holds output that did not fit the socket yet */
    h2o_hostinfo_getaddr_req_t *lookup;      /* in CONN_LOOKUP */
    sql_cached_t sql_cache[STORE_SQL_CACHE]; /* emptied when the connection goes */
    uint64_t sql_clock;
    unsigned sql_next_id;
};

struct store_pool {
    h2o_loop_t *loop;
    store_options_t opts;
    char *conninfo;
    store_lookup_t lookup; /* the host name each connection looks up first, if any */
    store_conn_t conns[STORE_MAX_CONNECTIONS];
    h2o_linklist_t waiting;
    h2o_timeout_t query_timeout;
    h2o_timeout_t tick_timeout;
    h2o_timeout_entry_t tick;
    store_stats_t stats;
    store_batches_t *batches; /* store_batch.c */
    int closing;
};

static void conn_connect(store_conn_t *c);
static void conn_fail(store_conn_t *c, const char *why);
static void conn_on_readable(h2o_socket_t *sock, const char *err);
static void conn_flush(store_conn_t *c);
static void pool_dispatch_waiting(store_pool_t *p);

static void stat_add(_Atomic unsigned *v, int delta)
{
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + (unsigned)delta,
                          memory_order_relaxed);
}

static void stat_inc(_Atomic unsigned long *v)
{
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* Microseconds on the monotonic clock: h2o_now's milliseconds are too
 * coarse to tell a statement of 50 us from one of 5 ms. */
static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* A caller's run-time statement (store_query_send_sql): a search whose cost
 * the client's filter decides, which no other query should wait behind. */
static int is_search(const store_query_t *q)
{
    return q->internal == Q_CALLER && q->stmt->name == NULL;
}

static void count_error(store_pool_t *p)
{
    stat_inc(&p->stats.errors);
}

void store_query_free(store_query_t *q)
{
    if (h2o_timeout_is_linked(&q->deadline))
        h2o_timeout_unlink(&q->deadline);
    if (q->params != NULL) {
        for (int i = 0; i < q->stmt->nparams; i++)
            free(q->params[i]);
        free(q->params);
    }
    if (q->res != NULL)
        PQclear(q->res);
    free((char *)q->adhoc.sql);
    free((char *)q->adhoc.name);
    free(q);
}

void store_query_answer(store_query_t *q, PGresult *res, const gw_err_t *err)
{
    store_cb_t cb = q->cb;
    q->cb = NULL;
    if (h2o_timeout_is_linked(&q->deadline))
        h2o_timeout_unlink(&q->deadline);
    if (err != NULL && !q->is_batch)
        count_error(q->pool);
    if (cb != NULL)
        cb(q->data, res, err);
}

static void query_fail(store_query_t *q, gw_err_kind_t kind, const char *msg, const char *detail)
{
    gw_err_t err;
    GW_ERR(&err, kind, msg);
    if (detail != NULL)
        gw_err_detail(&err, "%s", detail);
    store_query_answer(q, NULL, &err);
}

/* ---- run-time statements, prepared per connection ---------------------------------- */

static int conn_send(store_conn_t *c, store_query_t *q);

/* FNV-1a: the SQL texts differ in their shape, not adversarially (the
 * clients choose the shape, never the text), and a hit is confirmed with
 * strcmp. */
static uint64_t sql_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static unsigned sql_cache_id_of(const char *name)
{
    return (unsigned)strtoul(name + sizeof(STORE_SQL_NAME) - 1, NULL, 10);
}

/* Sends the connection's own statement `sql` (a PREPARE of `name` when
 * `name` is set): its result comes back in order, and nobody waits for it. */
static int conn_send_own(store_conn_t *c, store_query_kind_t kind, const char *name, const char *sql,
                         int nparams)
{
    store_query_t *q = gw_calloc(1, sizeof(*q));
    q->pool = c->pool;
    q->internal = kind;
    q->adhoc.name = name != NULL ? gw_strdup(name) : NULL;
    q->adhoc.sql = gw_strdup(sql);
    q->adhoc.nparams = nparams;
    q->stmt = &q->adhoc;
    if (conn_send(c, q) != 0) {
        store_query_free(q);
        return -1;
    }
    return 0;
}

static void sql_cache_name(unsigned id, char out[32])
{
    snprintf(out, 32, STORE_SQL_NAME "%u", id);
}

/* Drops the cached statement `id`, and deallocates it on the server when
 * `deallocate` (it exists there). */
static void sql_cache_forget(store_conn_t *c, unsigned id, int deallocate)
{
    for (unsigned i = 0; i < STORE_SQL_CACHE; i++) {
        sql_cached_t *e = &c->sql_cache[i];
        if (e->sql == NULL || e->id != id)
            continue;
        free(e->sql);
        e->sql = NULL;
        if (deallocate && c->state == CONN_READY) {
            /* The name is ours (STORE_SQL_NAME and a number), never a value:
             * DEALLOCATE takes no parameters. Queries already sent with the
             * name run before it, in pipeline order. */
            char name[32], sql[64];
            sql_cache_name(id, name);
            snprintf(sql, sizeof(sql), "DEALLOCATE %s", name);
            if (conn_send_own(c, Q_COMMAND, NULL, sql, 0) != 0)
                c->broken = 1;
        }
        return;
    }
}

static void sql_cache_clear(store_conn_t *c)
{
    for (unsigned i = 0; i < STORE_SQL_CACHE; i++) {
        free(c->sql_cache[i].sql);
        c->sql_cache[i].sql = NULL;
    }
}

/* The name under which `q` (a store_query_send_sql) runs on `c`: found in
 * the cache, or prepared now (the PREPARE goes down the pipeline before the
 * query), pushing out the least recently used one when the cache is full.
 * 0, or -1 when the connection refused to send. */
static int sql_cache_use(store_conn_t *c, store_query_t *q, char name[32])
{
    uint64_t h = sql_hash(q->stmt->sql);
    sql_cached_t *slot = NULL;
    for (unsigned i = 0; i < STORE_SQL_CACHE; i++) {
        sql_cached_t *e = &c->sql_cache[i];
        if (e->sql != NULL && e->hash == h && strcmp(e->sql, q->stmt->sql) == 0) {
            e->used = ++c->sql_clock;
            q->cached_id = e->id;
            sql_cache_name(e->id, name);
            stat_inc(&c->pool->stats.sql_reused);
            return 0;
        }
        if (slot == NULL || (slot->sql != NULL && (e->sql == NULL || e->used < slot->used)))
            slot = e;
    }
    if (slot->sql != NULL) {
        sql_cache_forget(c, slot->id, 1);
        stat_inc(&c->pool->stats.sql_evicted);
        if (c->broken)
            return -1;
    }
    unsigned id = ++c->sql_next_id;
    if (id == 0) /* 0 means "none"; wrapping takes four billion statements */
        id = ++c->sql_next_id;
    sql_cache_name(id, name);
    if (conn_send_own(c, Q_PREPARE, name, q->stmt->sql, q->stmt->nparams) != 0)
        return -1;
    slot->sql = gw_strdup(q->stmt->sql);
    slot->hash = h;
    slot->used = ++c->sql_clock;
    slot->id = id;
    q->cached_id = id;
    stat_inc(&c->pool->stats.sql_prepared);
    return 0;
}

/* Completes the FIFO head with the result gathered for it. */
static void conn_complete_head(store_conn_t *c)
{
    store_query_t *q = H2O_STRUCT_FROM_MEMBER(store_query_t, link, c->fifo.next);
    h2o_linklist_unlink(&q->link);
    if (is_search(q))
        c->searches--;
    if (--c->in_flight == 0)
        stat_add(&c->pool->stats.in_use, -1);
    else
        c->head_since_us = now_us(); /* the backend moves on to the next */
    PGresult *res = q->res;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (q->internal != Q_CALLER) {
        if (st != PGRES_COMMAND_OK) {
            gw_log_error("%s failed: %s",
                         q->internal == Q_PREPARE ? "preparing a statement" : "deallocating a statement",
                         res ? PQresultErrorMessage(res) : "no result");
            /* A run-time statement that did not prepare is forgotten, so the
             * next query of its text tries afresh; the query sent behind it
             * fails on the missing name, as it would have failed to parse. */
            if (q->internal == Q_PREPARE && q->adhoc.name != NULL)
                sql_cache_forget(c, sql_cache_id_of(q->adhoc.name), 0);
        }
    } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        store_query_answer(q, res, NULL);
    } else {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        /* A cached statement the server no longer has (26000), or whose
         * plan a schema change made unusable (0A000, "cached plan must not
         * change result type"): forgotten, so the next query prepares anew. */
        if (q->cached_id != 0 && state != NULL &&
            (strcmp(state, "26000") == 0 || strcmp(state, "0A000") == 0)) {
            sql_cache_forget(c, q->cached_id, strcmp(state, "0A000") == 0);
            conn_flush(c);
        }
        /* 23505 unique_violation is a conflict the caller can explain, and
         * class RG is raised on purpose by our own SQL functions (a stale
         * version, a bad member id) for the caller to answer: neither is a
         * fault to log. Other SQL errors are ours and stay out of responses. */
        int unique = state != NULL && strcmp(state, "23505") == 0;
        int expected = unique || (state != NULL && strncmp(state, "RG", 2) == 0);
        if (!expected && q->cb != NULL)
            gw_log_error("statement %s failed: %s", q->stmt->name ? q->stmt->name : "(ad hoc)",
                         res ? PQresultErrorMessage(res) : "no result");
        query_fail(q, unique ? GW_E_CONFLICT : GW_E_INTERNAL, unique ? "already exists" : "database error",
                   state);
    }
    store_query_free(q);
}

static void conn_read_results(store_conn_t *c)
{
    while (c->state == CONN_READY && !h2o_linklist_is_empty(&c->fifo)) {
        if (PQisBusy(c->pg))
            return;
        PGresult *res = PQgetResult(c->pg);
        store_query_t *head = H2O_STRUCT_FROM_MEMBER(store_query_t, link, c->fifo.next);
        if (res == NULL) {
            /* End of one query's results. A NULL before any result means
             * libpq has nothing more for now. */
            if (head->res == NULL)
                return;
            conn_complete_head(c);
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            continue;
        }
        if (head->res == NULL)
            head->res = res;
        else
            PQclear(res); /* a statement returns one result; ignore extras */
    }
}

static void conn_on_readable(h2o_socket_t *sock, const char *err)
{
    store_conn_t *c = sock->data;
    (void)err;
    if (c->state == CONN_CONNECTING) {
        conn_connect(c);
        return;
    }
    if (!PQconsumeInput(c->pg)) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    conn_read_results(c);
    if (c->state == CONN_READY && c->flush_needed)
        conn_flush(c);
    if (c->state == CONN_READY && (c->broken || PQstatus(c->pg) == CONNECTION_BAD))
        conn_fail(c, PQerrorMessage(c->pg));
    if (!h2o_linklist_is_empty(&c->pool->waiting))
        pool_dispatch_waiting(c->pool);
}

static void conn_on_writable(h2o_socket_t *sock, const char *err)
{
    store_conn_t *c = sock->data;
    c->write_armed = 0;
    if (err != NULL) {
        conn_fail(c, err);
        return;
    }
    if (c->state == CONN_CONNECTING) {
        conn_connect(c);
        return;
    }
    conn_flush(c);
    if (c->broken)
        conn_fail(c, PQerrorMessage(c->pg));
}

/* Asks once for write readiness: h2o allows one pending write callback per
 * socket, and both a flush and a connection step may want one. */
static void conn_want_write(store_conn_t *c)
{
    if (!c->write_armed) {
        c->write_armed = 1;
        h2o_socket_notify_write(c->sock, conn_on_writable);
    }
}

/* Never fails the connection itself: it may run inside store_query_send,
 * whose caller must not see its own callback run before the call returns.
 * A large query (a /Bulk batch) may not fit the socket at once: libpq keeps
 * the rest, and we flush again when the socket can take more, or after
 * reading (libpq: the server may be waiting for us to read first). */
static void conn_flush(store_conn_t *c)
{
    int r = PQflush(c->pg);
    c->flush_needed = r == 1;
    if (r < 0)
        c->broken = 1;
    else if (r == 1)
        conn_want_write(c);
}

static void conn_close_socket(store_conn_t *c)
{
    if (c->sock != NULL) {
        h2o_socket_read_stop(c->sock);
        h2o_socket_close(c->sock);
        c->sock = NULL;
        c->sock_fd = -1;
    }
    c->write_armed = 0;
    c->flush_needed = 0;
}

/* Watches the connection's current socket; libpq may switch sockets while
 * connecting (several hosts, SSL retry), so this is re-checked each step. */
static int conn_watch(store_conn_t *c)
{
    int fd = PQsocket(c->pg);
    if (fd < 0)
        return -1;
    if (c->sock != NULL && c->sock_fd == fd)
        return 0;
    conn_close_socket(c);
    /* A dup, so that h2o_socket_close and PQfinish each close their own fd. */
    int dupfd = dup(fd);
    if (dupfd < 0)
        return -1;
    c->sock = h2o_evloop_socket_create(c->pool->loop, dupfd, H2O_SOCKET_FLAG_DONT_READ);
    c->sock->data = c;
    c->sock_fd = fd;
    h2o_socket_read_start(c->sock, conn_on_readable);
    return 0;
}

static void conn_fail_fifo(store_conn_t *c, const char *why)
{
    while (!h2o_linklist_is_empty(&c->fifo)) {
        store_query_t *q = H2O_STRUCT_FROM_MEMBER(store_query_t, link, c->fifo.next);
        h2o_linklist_unlink(&q->link);
        if (!q->internal && q->cb != NULL)
            query_fail(q, GW_E_UNAVAILABLE, "database unavailable", why);
        store_query_free(q);
    }
    if (c->in_flight > 0)
        stat_add(&c->pool->stats.in_use, -1);
    c->in_flight = 0;
    c->searches = 0;
}

static void pool_fail_waiting_if_down(store_pool_t *p)
{
    for (unsigned i = 0; i < p->opts.connections; i++)
        if (p->conns[i].state != CONN_DOWN)
            return;
    /* Nothing is connected or connecting: no one would ever serve them. */
    while (!h2o_linklist_is_empty(&p->waiting)) {
        store_query_t *q = H2O_STRUCT_FROM_MEMBER(store_query_t, link, p->waiting.next);
        h2o_linklist_unlink(&q->link);
        stat_add(&p->stats.waiting, -1);
        query_fail(q, GW_E_UNAVAILABLE, "database unavailable", "no connection");
        store_query_free(q);
    }
}

static void conn_fail(store_conn_t *c, const char *why)
{
    store_pool_t *p = c->pool;
    char reason[200];
    snprintf(reason, sizeof(reason), "%s", why ? why : "connection lost");
    reason[strcspn(reason, "\n")] = '\0';
    if (c->state == CONN_READY) {
        stat_add(&p->stats.ready, -1);
        gw_log_warn("database connection lost: %s", reason);
    } else {
        gw_log_debug("database connection attempt failed: %s", reason);
    }
    c->state = CONN_DOWN;
    c->broken = 0;
    if (c->lookup != NULL) {
        h2o_hostinfo_getaddr_cancel(c->lookup);
        c->lookup = NULL;
    }
    conn_close_socket(c);
    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    conn_fail_fifo(c, reason);
    sql_cache_clear(c); /* prepared statements live and die with their session */
    c->backoff_ms = c->backoff_ms == 0 ? STORE_BACKOFF_MIN_MS : c->backoff_ms * 2;
    if (c->backoff_ms > STORE_BACKOFF_MAX_MS)
        c->backoff_ms = STORE_BACKOFF_MAX_MS;
    c->retry_at = h2o_now(p->loop) + c->backoff_ms;
    if (!p->closing)
        pool_fail_waiting_if_down(p);
}

static int conn_send(store_conn_t *c, store_query_t *q)
{
    int ok;
    char name[32];
    if (q->internal == Q_PREPARE)
        ok = PQsendPrepare(c->pg, q->stmt->name, q->stmt->sql, q->stmt->nparams, NULL);
    else if (q->internal == Q_COMMAND)
        ok = PQsendQueryParams(c->pg, q->stmt->sql, 0, NULL, NULL, NULL, NULL, 0);
    else if (q->stmt->name == NULL)
        ok =
            sql_cache_use(c, q, name) == 0 &&
            PQsendQueryPrepared(c->pg, name, q->stmt->nparams, (const char *const *)q->params, NULL, NULL, 0);
    else
        ok = PQsendQueryPrepared(c->pg, q->stmt->name, q->stmt->nparams, (const char *const *)q->params, NULL,
                                 NULL, 0);
    if (!ok || !PQpipelineSync(c->pg))
        return -1;
    q->conn = c;
    h2o_linklist_insert(&c->fifo, &q->link);
    if (is_search(q))
        c->searches++;
    if (c->in_flight++ == 0) {
        stat_add(&c->pool->stats.in_use, 1);
        c->head_since_us = now_us();
    }
    return 0;
}

static void conn_became_ready(store_conn_t *c)
{
    store_pool_t *p = c->pool;
    if (PQsetnonblocking(c->pg, 1) != 0 || !PQenterPipelineMode(c->pg)) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    c->state = CONN_READY;
    c->backoff_ms = 0;
    stat_add(&p->stats.ready, 1);
    gw_log_debug("database connection ready");
    /* Prepare every registered statement; queries may follow at once because
     * the pipeline keeps them in order. */
    for (unsigned i = 0; i < g_stmt_count; i++) {
        store_query_t *q = gw_calloc(1, sizeof(*q));
        q->pool = p;
        q->stmt = g_stmts[i];
        q->internal = Q_PREPARE;
        if (conn_send(c, q) != 0) {
            free(q);
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
    }
    conn_flush(c);
    if (c->broken) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    pool_dispatch_waiting(p);
}

/* One step of the non-blocking connect, from a connection that has its
 * PGconn: poll it (on a wakeup, or right after it started). */
static void conn_poll(store_conn_t *c)
{
    PostgresPollingStatusType st = PQconnectPoll(c->pg);
    switch (st) {
    case PGRES_POLLING_OK:
        conn_became_ready(c);
        return;
    case PGRES_POLLING_FAILED:
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    default:
        break;
    }
    if (conn_watch(c) != 0) {
        conn_fail(c, "no socket");
        return;
    }
    if (st == PGRES_POLLING_WRITING)
        conn_want_write(c);
}

/* A connection attempt began (c->pg set, or NULL when libpq had no memory). */
static void conn_started(store_conn_t *c, const char *why_null)
{
    c->state = CONN_CONNECTING; /* also so that conn_fail logs at debug level */
    if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, c->pg ? PQerrorMessage(c->pg) : why_null);
        return;
    }
    conn_poll(c);
}

static void on_looked_up(h2o_hostinfo_getaddr_req_t *req, const char *errstr, struct addrinfo *res,
                         void *data)
{
    (void)req;
    store_conn_t *c = data;
    store_pool_t *p = c->pool;
    c->lookup = NULL;
    char why[256];
    if (errstr != NULL) {
        snprintf(why, sizeof(why), "cannot look %s up: %s", p->lookup.name, errstr);
        c->state = CONN_CONNECTING;
        conn_fail(c, why);
        return;
    }
    c->pg = store_lookup_connect(p->conninfo, p->lookup.name, res, why, sizeof(why));
    conn_started(c, why);
}

/* Starts a connection attempt: with a host name, its lookup first, on h2o's
 * resolver threads (libpq's own lookup would block the loop). */
static void conn_connect(store_conn_t *c)
{
    store_pool_t *p = c->pool;
    if (c->state == CONN_CONNECTING) {
        conn_poll(c);
        return;
    }
    if (c->state != CONN_DOWN)
        return;
    if (p->lookup.name != NULL && p->opts.resolver != NULL) {
        c->state = CONN_LOOKUP;
        c->lookup =
            h2o_hostinfo_getaddr(p->opts.resolver, h2o_iovec_init(p->lookup.name, strlen(p->lookup.name)),
                                 h2o_iovec_init(p->lookup.port, strlen(p->lookup.port)), AF_UNSPEC,
                                 SOCK_STREAM, IPPROTO_TCP, AI_ADDRCONFIG, on_looked_up, c);
        return;
    }
    c->pg = PQconnectStart(p->conninfo);
    conn_started(c, "out of memory");
}

/* The connection the next query goes to (store_pick says which), or NULL. */
static store_conn_t *pool_pick(store_pool_t *p)
{
    store_conn_load_t load[STORE_MAX_CONNECTIONS];
    uint64_t now = now_us();
    for (unsigned i = 0; i < p->opts.connections; i++) {
        store_conn_t *c = &p->conns[i];
        /* A broken connection is failed from the loop soon; what it took
         * now would fail with it. */
        load[i].usable = c->state == CONN_READY && !c->broken && c->in_flight < STORE_MAX_IN_FLIGHT;
        load[i].in_flight = c->in_flight;
        load[i].head_busy_us = load[i].usable && c->in_flight > 0 ? now - c->head_since_us : 0;
        load[i].searching = c->searches > 0;
    }
    int i = store_pick(load, p->opts.connections);
    return i < 0 ? NULL : &p->conns[i];
}

static int pool_has_hope(store_pool_t *p)
{
    for (unsigned i = 0; i < p->opts.connections; i++)
        if (p->conns[i].state != CONN_DOWN)
            return 1;
    return 0;
}

/* Returns -1, with the query untouched, when the connection refused it. */
static int pool_send_to(store_conn_t *c, store_query_t *q)
{
    if (conn_send(c, q) != 0) {
        c->broken = 1;
        return -1;
    }
    conn_flush(c);
    return 0;
}

static void pool_dispatch_waiting(store_pool_t *p)
{
    while (!h2o_linklist_is_empty(&p->waiting)) {
        store_conn_t *c = pool_pick(p);
        if (c == NULL)
            return;
        store_query_t *q = H2O_STRUCT_FROM_MEMBER(store_query_t, link, p->waiting.next);
        h2o_linklist_unlink(&q->link);
        stat_add(&p->stats.waiting, -1);
        if (q->cb == NULL) { /* cancelled while waiting */
            store_query_free(q);
            continue;
        }
        if (pool_send_to(c, q) != 0) {
            query_fail(q, GW_E_UNAVAILABLE, "database unavailable", "send failed");
            store_query_free(q);
        }
    }
}

static void on_query_deadline(h2o_timeout_entry_t *entry)
{
    store_query_t *q = H2O_STRUCT_FROM_MEMBER(store_query_t, deadline, entry);
    store_conn_t *c = q->conn;
    /* Marked before the caller hears of the timeout: whatever its callback
     * sends next (the next batch of store_batch.c, say) must not go to the
     * connection about to be dropped, and fail with it. */
    if (c != NULL)
        c->broken = 1;
    query_fail(q, GW_E_TIMEOUT, "database timeout", "query deadline passed");
    if (c == NULL) {
        h2o_linklist_unlink(&q->link);
        stat_add(&q->pool->stats.waiting, -1);
        store_query_free(q);
        return;
    }
    /* Everything pipelined behind a stuck query is stuck too, and libpq has
     * no non-blocking cancel: drop the connection and start afresh. */
    gw_log_warn("statement %s passed its deadline; resetting the connection",
                q->stmt->name ? q->stmt->name : "(ad hoc)");
    conn_fail(c, "query timeout");
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    store_pool_t *p = H2O_STRUCT_FROM_MEMBER(store_pool_t, tick, entry);
    uint64_t now = h2o_now(p->loop);
    for (unsigned i = 0; i < p->opts.connections; i++) {
        store_conn_t *c = &p->conns[i];
        if (c->broken && c->state == CONN_READY)
            conn_fail(c, PQerrorMessage(c->pg));
        if (c->state == CONN_DOWN && now >= c->retry_at)
            conn_connect(c);
    }
    h2o_timeout_link(p->loop, &p->tick_timeout, &p->tick);
}

store_pool_t *store_pool_new(h2o_loop_t *loop, const store_options_t *opts)
{
    store_pool_t *p = gw_calloc(1, sizeof(*p));
    p->loop = loop;
    p->opts = *opts;
    if (p->opts.connections == 0)
        p->opts.connections = 1;
    if (p->opts.connections > STORE_MAX_CONNECTIONS)
        p->opts.connections = STORE_MAX_CONNECTIONS;
    p->conninfo = gw_strdup(opts->conninfo);
    p->opts.conninfo = p->conninfo;
    if (store_lookup_plan(p->conninfo, &p->lookup) == 1 && p->opts.resolver != NULL)
        gw_log_debug("database host %s: looked up off the event loop at each connection", p->lookup.name);
    h2o_linklist_init_anchor(&p->waiting);
    h2o_timeout_init(loop, &p->query_timeout, opts->query_timeout_ms);
    h2o_timeout_init(loop, &p->tick_timeout, STORE_TICK_MS);
    p->tick.cb = on_tick;
    atomic_store(&p->stats.size, p->opts.connections);
    for (unsigned i = 0; i < p->opts.connections; i++) {
        store_conn_t *c = &p->conns[i];
        c->pool = p;
        c->sock_fd = -1;
        h2o_linklist_init_anchor(&c->fifo);
        conn_connect(c);
    }
    h2o_timeout_link(loop, &p->tick_timeout, &p->tick);
    return p;
}

void store_pool_free(store_pool_t *p)
{
    if (p == NULL)
        return;
    p->closing = 1;
    if (h2o_timeout_is_linked(&p->tick))
        h2o_timeout_unlink(&p->tick);
    for (unsigned i = 0; i < p->opts.connections; i++) {
        store_conn_t *c = &p->conns[i];
        if (c->state != CONN_DOWN || c->pg != NULL) {
            c->state = CONN_CONNECTING; /* quiet close */
            conn_fail(c, "shutting down");
        }
    }
    while (!h2o_linklist_is_empty(&p->waiting)) {
        store_query_t *q = H2O_STRUCT_FROM_MEMBER(store_query_t, link, p->waiting.next);
        h2o_linklist_unlink(&q->link);
        query_fail(q, GW_E_UNAVAILABLE, "database unavailable", "shutting down");
        store_query_free(q);
    }
    store_batch_pool_free(p);
    h2o_timeout_dispose(p->loop, &p->query_timeout);
    h2o_timeout_dispose(p->loop, &p->tick_timeout);
    store_lookup_dispose(&p->lookup);
    free(p->conninfo);
    free(p);
}

store_batches_t **store_pool_batches(store_pool_t *p)
{
    return &p->batches;
}

h2o_loop_t *store_pool_loop(store_pool_t *p)
{
    return p->loop;
}

void store_count_queued(store_pool_t *p, int delta)
{
    stat_add(&p->stats.batch_queued, delta);
}

void store_count_batch(store_pool_t *p, unsigned callers)
{
    stat_inc(&p->stats.batches);
    atomic_store_explicit(&p->stats.batched,
                          atomic_load_explicit(&p->stats.batched, memory_order_relaxed) + callers,
                          memory_order_relaxed);
}

store_query_t *store_query_new(store_pool_t *p, const store_stmt_t *stmt, int nparams,
                               const char *const *params, store_cb_t cb, void *data)
{
    store_query_t *q = gw_calloc(1, sizeof(*q));
    q->pool = p;
    q->stmt = stmt;
    q->cb = cb;
    q->data = data;
    q->deadline.cb = on_query_deadline;
    if (nparams > 0) {
        q->params = gw_calloc((size_t)nparams, sizeof(char *));
        for (int i = 0; i < nparams; i++)
            q->params[i] = params[i] ? gw_strdup(params[i]) : NULL;
    }
    h2o_timeout_link(p->loop, &p->query_timeout, &q->deadline);
    return q;
}

int store_query_dispatch(store_pool_t *p, store_query_t *q, gw_err_t *err)
{
    store_conn_t *c = pool_pick(p);
    if (c != NULL && pool_send_to(c, q) == 0)
        return 0;
    const char *why = "database unavailable";
    if (c == NULL && pool_has_hope(p)) {
        if (atomic_load_explicit(&p->stats.waiting, memory_order_relaxed) < p->opts.max_waiting) {
            h2o_linklist_insert(&p->waiting, &q->link);
            stat_add(&p->stats.waiting, 1);
            return 0;
        }
        why = "too many queries waiting";
    }
    if (!q->is_batch) /* a batch's callers count as they are answered */
        count_error(p);
    return GW_ERR(err, GW_E_UNAVAILABLE, why);
}

static store_query_t *query_send(store_pool_t *p, store_query_t *q, gw_err_t *err)
{
    if (store_stmt_batched(q->stmt) != NULL) {
        store_batch_submit(p, q);
        return q;
    }
    if (store_query_dispatch(p, q, err) != 0) {
        store_query_free(q);
        return NULL;
    }
    return q;
}

store_query_t *store_query_send(store_pool_t *p, const store_stmt_t *stmt, const char *const *params,
                                store_cb_t cb, void *data, gw_err_t *err)
{
    return query_send(p, store_query_new(p, stmt, stmt->nparams, params, cb, data), err);
}

store_query_t *store_query_send_sql(store_pool_t *p, const char *sql, int nparams, const char *const *params,
                                    store_cb_t cb, void *data, gw_err_t *err)
{
    store_query_t *q = store_query_new(p, NULL, nparams, params, cb, data);
    q->adhoc.sql = gw_strdup(sql);
    q->adhoc.nparams = nparams;
    q->stmt = &q->adhoc;
    return query_send(p, q, err);
}

void store_query_cancel(store_query_t *q)
{
    q->cb = NULL;
    q->data = NULL;
}

int store_pool_ready(const store_pool_t *p)
{
    return atomic_load_explicit(&p->stats.ready, memory_order_relaxed) > 0;
}

const store_stats_t *store_pool_stats(const store_pool_t *p)
{
    return &p->stats;
}

const char *store_value(const PGresult *res, int row, int col)
{
    if (row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}
