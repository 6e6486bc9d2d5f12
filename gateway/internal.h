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

/* The response header carrying the request id (gateway/http.c). */
#define GW_REQUEST_ID_HEADER "x-request-id"

/* Checks that libh2o encodes HTTP/2 response headers through
 * gateway/hpack_unique.c, which keeps the request id out of the HPACK table.
 * Returns 0 when it does, 1 (and a warning in `msg`) when libh2o uses its own
 * encoder unchanged, -1 (and `msg`) when the wrapper is called but h2o's
 * encoder cannot be found, which would fail every HTTP/2 response. */
int gw_hpack_unique_install(char *msg, size_t msgsize);

/* Checks that libh2o parses HTTP/1 request heads through
 * gateway/http1_framing.c, which refuses ambiguous body framing (Content-Length
 * with Transfer-Encoding, differing Content-Lengths). 0, or -1 and `msg`. */
int gw_http1_framing_install(char *msg, size_t msgsize);

/* Monotonic clock in nanoseconds. */
uint64_t gw_now_ns(void);

#endif
