#include "gateway/metrics.h"

const double GW_METRICS_BUCKET_BOUNDS[GW_METRICS_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1,    0.25,  0.5,    1,     2.5,  5,     0};

static void bump(_Atomic uint64_t *v, uint64_t by)
{
    /* Only the owning thread writes, so load+store is enough; the scraper
     * reads with atomic loads and never sees a torn value. */
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + by, memory_order_relaxed);
}

void gw_metrics_record(gw_metrics_shard_t *s, unsigned route, int status, uint64_t duration_ns)
{
    if (route >= GW_METRICS_MAX_ROUTES)
        route = GW_METRICS_MAX_ROUTES - 1;
    unsigned slot = GW_METRICS_STATUS_SLOTS - 1; /* the last slot collects the overflow */
    for (unsigned i = 0; i < GW_METRICS_STATUS_SLOTS; i++) {
        uint16_t seen = atomic_load_explicit(&s->statuses[route][i], memory_order_relaxed);
        if (seen == status) {
            slot = i;
            break;
        }
        if (seen == 0) {
            atomic_store_explicit(&s->statuses[route][i], (uint16_t)status, memory_order_relaxed);
            slot = i;
            break;
        }
    }
    bump(&s->requests[route][slot], 1);
    double seconds = (double)duration_ns / 1e9;
    unsigned b = 0;
    while (b < GW_METRICS_BUCKETS - 1 && seconds > GW_METRICS_BUCKET_BOUNDS[b])
        b++;
    bump(&s->buckets[route][b], 1);
    bump(&s->duration_us[route], duration_ns / 1000);
}
