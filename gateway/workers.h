/* A pool of worker threads for CPU-heavy work (password hashing) so the
 * event loops never stall. A job's `work` runs on a worker; its `done` runs
 * afterwards on the loop thread that submitted it. */
#ifndef REGAIN_GATEWAY_WORKERS_H
#define REGAIN_GATEWAY_WORKERS_H

typedef struct gw_thread gw_thread_t;

typedef void (*gw_work_fn)(void *arg);

/* The most finished jobs handed back at once: their `done` halves run in one
 * turn of their loops, and a turn should stay short for the loop's other
 * requests (a sign-in's `done` is some tens of microseconds). */
#define GW_WORKERS_HOLD_MAX 16

/* Starts `count` workers (0: one per core). While jobs wait for a worker,
 * finished ones are held about `hold_ms` (at worst one job longer) and
 * handed back to their loops together (workers.c says why; 0: each as it
 * ends). Call once, before the loops run. */
void gw_workers_start(unsigned count, unsigned hold_ms);

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
 * what one hash costs on this machine under the load it has (cpu_ns /
 * jobs, each job's thread CPU clock), and how long finished jobs were held
 * to go back together (held_ns / jobs; jobs / handbacks per hand-back). */
typedef struct {
    unsigned long long jobs;      /* finished on a worker */
    unsigned long long cpu_ns;    /* CPU time of their `work` */
    unsigned long long queue_ns;  /* from submit until a worker took them */
    unsigned long long held_ns;   /* from the end of their `work` until handed back */
    unsigned long long handbacks; /* hand-backs: groups of finished jobs sent to their loops */
} gw_workers_stats_t;
void gw_workers_stats(gw_workers_stats_t *out);

#endif
