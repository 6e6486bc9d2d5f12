/* Queries the sign-in area sends for a request. Unlike gw_req_query_or_reply
 * a query that cannot be queued (database down, queue full) still reaches the
 * callback with the error, so the page flow renders an HTML error page rather
 * than a JSON body, and the callback gets a context pointer. */
#include <stdlib.h>

#include "gateway/alloc.h"
#include "gateway/server.h"
#include "oidc/signin_internal.h"

typedef struct {
    gw_req_t *r;
    oidc_query_cb cb;
    void *data;
    store_query_t *q;
} pending_t;

static void on_detach(void *p)
{
    pending_t *pq = p;
    store_query_cancel(pq->q);
    free(pq);
}

static void on_result(void *p, PGresult *res, const gw_err_t *err)
{
    pending_t *pq = p;
    gw_req_t *r = pq->r;
    oidc_query_cb cb = pq->cb;
    void *data = pq->data;
    gw_req_clear_pending(r);
    free(pq);
    cb(r, data, res, err);
}

void oidc_query(gw_req_t *r, const store_stmt_t *stmt, const char *const *params, oidc_query_cb cb,
                void *data)
{
    gw_err_t err;
    pending_t *pq = gw_malloc(sizeof(*pq));
    pq->r = r;
    pq->cb = cb;
    pq->data = data;
    pq->q = store_query_send(r->thread->store, stmt, params, on_result, pq, &err);
    if (pq->q == NULL) {
        free(pq);
        cb(r, data, NULL, &err);
        return;
    }
    gw_req_set_pending(r, pq, on_detach);
}
