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

#endif
