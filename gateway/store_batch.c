/* Statements that serve many callers in one round trip
 * (store_stmt_register_batched).
 *
 * Every statement PostgreSQL runs on its own costs a fixed share, whatever
 * it does: a wake-up of the backend, a transaction and its commit record,
 * the executor's start and end, the reply and the gateway's reading of it.
 * For a one-row statement that share is most of the work (on this
 * project's 2-core bench machine, a one-row UPDATE by key took about 60 us
 * of CPU alone, and 17 us per row in batches of eight). So callers queue,
 * and go as one:
 *   - at the end of the loop's turn (a 0 ms timeout, which h2o runs after
 *     the turn's I/O), with every caller the turn's requests brought: a
 *     caller who comes alone goes then, with the plain statement, as if
 *     there were no batching;
 *   - or, while the statement is in flight, the moment it comes back: a
 *     batch as large as the load makes it.
 * Sending the first caller of a turn at once instead left 18% of the
 * bench's code exchanges alone; waiting for the end of the turn, 3%, and
 * 5-10 us less PostgreSQL CPU per exchange (alternating runs, 46-54 us
 * against 56-60 us).
 *
 * A batch answers its callers one by one, each with a result holding only
 * its own rows. It fails as one, so no caller's value may be one
 * PostgreSQL refuses (store.h). */
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/store_internal.h"

/* A bound on one batch: its arrays are parsed whole by PostgreSQL. */
#define BATCH_MAX 64
/* Batches are padded with SQL NULLs to this many elements. PostgreSQL plans
 * a prepared statement afresh at every run while its plan for the values at
 * hand looks cheaper than its cached generic plan, and it assumes 10
 * elements in an array it cannot see: with batches of 2 to 4 it kept
 * planning anew, about 180 us a batch. Padded to more than 10, the generic
 * plan wins after the first five runs, and a NULL row costs an index probe
 * that ends at once. */
#define BATCH_PAD 16
/* Batches of one statement a loop has on their way at once. With two, the
 * bench's code exchange spent 72-80 us of PostgreSQL CPU per exchange
 * against 51-74 us with one: the second batch took callers away from the
 * next, and each batch has its fixed share. */
#define BATCH_IN_FLIGHT 1

/* One batched statement's queue in one pool. */
typedef struct {
    h2o_linklist_t queued; /* callers' queries, oldest first */
    unsigned nqueued;
    unsigned in_flight;        /* this statement's batches on their way */
    h2o_timeout_entry_t flush; /* at the end of the loop's turn */
    store_pool_t *pool;
    const store_stmt_t *stmt;
} batch_queue_t;

struct store_batches {
    h2o_timeout_t end_of_turn;               /* 0 ms: runs after the turn's I/O */
    batch_queue_t *by_stmt[STORE_MAX_STMTS]; /* by store_stmt_t._index, made on first use */
};

static void batch_send(batch_queue_t *queue);

/* Sends what waits, unless a batch is on its way: it comes back to send it. */
static void send_if_idle(batch_queue_t *queue)
{
    if (queue->nqueued > 0 && queue->in_flight < BATCH_IN_FLIGHT)
        batch_send(queue);
}

static void on_flush(h2o_timeout_entry_t *entry)
{
    send_if_idle(H2O_STRUCT_FROM_MEMBER(batch_queue_t, flush, entry));
}

/* One round trip for `n` callers. */
typedef struct {
    batch_queue_t *queue;
    unsigned n;
    store_query_t *callers[BATCH_MAX];
} batch_t;

static batch_queue_t *queue_of(store_pool_t *p, const store_stmt_t *stmt)
{
    store_batches_t **all = store_pool_batches(p);
    if (*all == NULL) {
        *all = gw_calloc(1, sizeof(**all));
        h2o_timeout_init(store_pool_loop(p), &(*all)->end_of_turn, 0);
    }
    batch_queue_t **q = &(*all)->by_stmt[stmt->_index];
    if (*q == NULL) {
        *q = gw_calloc(1, sizeof(**q));
        h2o_linklist_init_anchor(&(*q)->queued);
        (*q)->flush.cb = on_flush;
        (*q)->pool = p;
        (*q)->stmt = stmt;
    }
    return *q;
}

static void unqueue(batch_queue_t *queue, store_query_t *q)
{
    h2o_linklist_unlink(&q->link);
    queue->nqueued--;
    store_count_queued(q->pool, -1);
}

/* ---- the arrays ------------------------------------------------------------- */

/* The callers' k-th parameters as one array literal: each element quoted,
 * with '"' and '\' escaped, SQL NULL unquoted (PostgreSQL, "Array Value
 * Input"). */
static char *array_literal(const batch_t *b, int k)
{
    unsigned len = b->n < BATCH_PAD ? BATCH_PAD : b->n;
    size_t cap = 3;
    for (unsigned i = 0; i < len; i++) {
        const char *v = i < b->n ? b->callers[i]->params[k] : NULL;
        cap += v == NULL ? 5 : 2 * strlen(v) + 3;
    }
    char *out = gw_malloc(cap), *o = out;
    *o++ = '{';
    for (unsigned i = 0; i < len; i++) {
        if (i > 0)
            *o++ = ',';
        const char *v = i < b->n ? b->callers[i]->params[k] : NULL;
        if (v == NULL) {
            memcpy(o, "NULL", 4);
            o += 4;
            continue;
        }
        *o++ = '"';
        for (; *v; v++) {
            if (*v == '"' || *v == '\\')
                *o++ = '\\';
            *o++ = *v;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

/* ---- answering ---------------------------------------------------------------- */

/* The rows of `res` whose last column is `pos` (1-based), in a result of
 * their own with the same columns. NULL when out of memory. */
static PGresult *rows_of(const PGresult *res, int pos)
{
    PGresult *out = PQcopyResult(res, PG_COPYRES_ATTRS);
    if (out == NULL)
        return NULL;
    int rows = PQntuples(res), cols = PQnfields(res), t = 0;
    for (int r = 0; r < rows; r++) {
        if (cols == 0 || atoi(PQgetvalue(res, r, cols - 1)) != pos)
            continue;
        for (int c = 0; c < cols; c++) {
            int null = PQgetisnull(res, r, c);
            if (!PQsetvalue(out, t, c, null ? NULL : PQgetvalue(res, r, c),
                            null ? -1 : PQgetlength(res, r, c))) {
                PQclear(out);
                return NULL;
            }
        }
        t++;
    }
    return out;
}

static void answer(store_query_t *q, PGresult *res, const gw_err_t *err)
{
    store_query_answer(q, res, err);
    store_query_free(q);
}

static void on_batch_done(void *data, PGresult *res, const gw_err_t *err)
{
    batch_t *b = data;
    b->queue->in_flight--;
    /* Whoever queued meanwhile goes now, before the answers below start
     * anything new that would queue behind them. */
    send_if_idle(b->queue);
    for (unsigned i = 0; i < b->n; i++) {
        store_query_t *q = b->callers[i];
        if (err != NULL || q->cb == NULL || b->n == 1) {
            answer(q, res, err);
            continue;
        }
        PGresult *mine = rows_of(res, (int)i + 1);
        if (mine == NULL) {
            gw_err_t oom;
            GW_ERR(&oom, GW_E_INTERNAL, "out of memory");
            answer(q, NULL, &oom);
            continue;
        }
        answer(q, mine, NULL);
        PQclear(mine);
    }
    free(b);
}

/* ---- sending ------------------------------------------------------------------ */

/* The query that runs statement `stmt` for batch `b`, owning `params`. */
static store_query_t *run_query(batch_t *b, const store_stmt_t *stmt, char **params)
{
    store_query_t *run = store_query_new(b->queue->pool, stmt, 0, NULL, on_batch_done, b);
    run->params = params;
    run->is_batch = 1;
    return run;
}

/* Sends the queue's callers, up to BATCH_MAX of them, as one query: the
 * plain statement for one (with the caller's own parameters), the batch
 * statement for more. */
static void batch_send(batch_queue_t *queue)
{
    store_pool_t *p = queue->pool;
    const store_stmt_t *stmt = queue->stmt;
    batch_t *b = gw_calloc(1, sizeof(*b));
    b->queue = queue;
    while (b->n < BATCH_MAX && !h2o_linklist_is_empty(&queue->queued)) {
        store_query_t *q = H2O_STRUCT_FROM_MEMBER(store_query_t, link, queue->queued.next);
        unqueue(queue, q);
        if (q->cb == NULL) { /* cancelled while queued */
            store_query_free(q);
            continue;
        }
        b->callers[b->n++] = q;
    }
    if (b->n == 0) {
        free(b);
        return;
    }
    store_query_t *run;
    if (b->n == 1) {
        run = run_query(b, stmt, b->callers[0]->params);
        b->callers[0]->params = NULL;
    } else {
        char **arrays = gw_calloc((size_t)stmt->nparams, sizeof(char *));
        for (int k = 0; k < stmt->nparams; k++)
            arrays[k] = array_literal(b, k);
        run = run_query(b, store_stmt_batched(stmt), arrays);
        store_count_batch(p, b->n);
    }
    queue->in_flight++;
    gw_err_t err;
    if (store_query_dispatch(p, run, &err) != 0) {
        run->cb = NULL;
        store_query_free(run);
        /* Answers the callers with the error, and sends any queued since. */
        on_batch_done(b, NULL, &err);
    }
}

void store_batch_submit(store_pool_t *p, store_query_t *q)
{
    batch_queue_t *queue = queue_of(p, q->stmt);
    /* The deadline that counts is its batch's: a caller waits in the queue
     * only until the end of the turn, or until the batch in flight comes
     * back or passes its own deadline, and then goes in the next, whose
     * deadline starts then. */
    h2o_timeout_unlink(&q->deadline);
    h2o_linklist_insert(&queue->queued, &q->link);
    queue->nqueued++;
    store_count_queued(p, 1);
    if (queue->nqueued >= BATCH_MAX)
        batch_send(queue);
    else if (queue->in_flight < BATCH_IN_FLIGHT && !h2o_timeout_is_linked(&queue->flush))
        h2o_timeout_link(store_pool_loop(p), &(*store_pool_batches(p))->end_of_turn, &queue->flush);
}

void store_batch_pool_free(store_pool_t *p)
{
    store_batches_t **all = store_pool_batches(p);
    if (*all == NULL)
        return;
    for (size_t i = 0; i < STORE_MAX_STMTS; i++) {
        batch_queue_t *queue = (*all)->by_stmt[i];
        if (queue == NULL)
            continue;
        while (!h2o_linklist_is_empty(&queue->queued)) {
            store_query_t *q = H2O_STRUCT_FROM_MEMBER(store_query_t, link, queue->queued.next);
            unqueue(queue, q);
            gw_err_t err;
            GW_ERR(&err, GW_E_UNAVAILABLE, "database unavailable");
            gw_err_detail(&err, "shutting down");
            answer(q, NULL, &err);
        }
        if (h2o_timeout_is_linked(&queue->flush))
            h2o_timeout_unlink(&queue->flush);
        free(queue);
    }
    h2o_timeout_dispose(store_pool_loop(p), &(*all)->end_of_turn);
    free(*all);
    *all = NULL;
}
