/* A pool of worker threads for CPU-heavy work (password hashing) so the
 * event loops never stall. A job's `work` runs on a worker; its `done` runs
 * afterwards on the loop thread that submitted it. */
#ifndef REGAIN_GATEWAY_WORKERS_H
#define REGAIN_GATEWAY_WORKERS_H

typedef struct gw_thread gw_thread_t;

typedef void (*gw_work_fn)(void *arg);

/* Starts `count` workers (0: one per core). Call once, before the loops run. */
void gw_workers_start(unsigned count);

/* Stops the workers after the jobs already queued; call after the loops end. */
void gw_workers_stop(void);

/* Queues `work(arg)`; then `done(arg)` runs on `t`'s loop. `arg` must stay
 * valid until `done` runs; `done` always runs, even if the request that asked
 * for the work has gone (check before replying). Without started workers
 * (tools, unit tests) both run inline. */
void gw_work_submit(gw_thread_t *t, gw_work_fn work, gw_work_fn done, void *arg);

/* Jobs queued or running, for /metrics. */
unsigned gw_workers_backlog(void);

/* What the pool has done since it started, for /metrics: how long a sign-in
 * waits for a hashing thread when the pool is saturated (queue_ns / jobs),
 * and what one hash costs on this machine under the load it has (cpu_ns /
 * jobs, each job's thread CPU clock). */
typedef struct {
    unsigned long long jobs;     /* finished on a worker */
    unsigned long long cpu_ns;   /* CPU time of their `work` */
    unsigned long long queue_ns; /* from submit until a worker took them */
} gw_workers_stats_t;
void gw_workers_stats(gw_workers_stats_t *out);

#endif
