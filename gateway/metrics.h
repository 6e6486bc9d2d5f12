/* Prometheus metrics: per-thread shards written only by their own thread and
 * summed when /metrics is scraped, so recording costs no lock and no atomic
 * read-modify-write on the request path. */
#ifndef REGAIN_GATEWAY_METRICS_H
#define REGAIN_GATEWAY_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define GW_METRICS_MAX_ROUTES   96 /* registered routes + "unmatched" */
#define GW_METRICS_STATUS_SLOTS 10 /* distinct statuses remembered per route */
#define GW_METRICS_BUCKETS      14

typedef struct {
    _Atomic uint64_t requests[GW_METRICS_MAX_ROUTES][GW_METRICS_STATUS_SLOTS];
    _Atomic uint16_t statuses[GW_METRICS_MAX_ROUTES][GW_METRICS_STATUS_SLOTS];
    _Atomic uint64_t buckets[GW_METRICS_MAX_ROUTES][GW_METRICS_BUCKETS]; /* not cumulative */
    _Atomic uint64_t duration_us[GW_METRICS_MAX_ROUTES];
} gw_metrics_shard_t;

/* Records one finished request; call only on the shard's own thread. */
void gw_metrics_record(gw_metrics_shard_t *s, unsigned route, int status, uint64_t duration_ns);

/* Upper bounds of the latency buckets, in seconds (the last is +Inf). */
extern const double GW_METRICS_BUCKET_BOUNDS[GW_METRICS_BUCKETS];

#endif
