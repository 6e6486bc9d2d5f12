/* Declarations shared by the gateway's own files only. */
#ifndef REGAIN_GATEWAY_INTERNAL_H
#define REGAIN_GATEWAY_INTERNAL_H

#include "gateway/http.h"
#include "gateway/server.h"

/* The single h2o handler: wraps the request, finds the route, dispatches. */
int gw_http_on_req(h2o_handler_t *self, h2o_req_t *req);

/* Called when a request's memory is released (replied or abandoned). */
void gw_server_request_done(gw_thread_t *t);

/* Receives finished worker-pool jobs on a loop thread. */
void gw_workers_on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

/* Formats the access log line of a finished request into `t`'s batch. */
void gw_access_log_request(gw_thread_t *t, const gw_req_t *r, const h2o_req_t *req, int status, size_t bytes,
                           uint64_t duration_ns);

/* Monotonic clock in nanoseconds. */
uint64_t gw_now_ns(void);

#endif
