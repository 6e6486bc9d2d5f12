#include "gateway/workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "gateway/alloc.h"
#include "gateway/internal.h"

typedef struct job {
    h2o_multithread_message_t msg; /* first: the loop receives it as a message */
    struct job *next;
    gw_thread_t *origin;
    gw_work_fn work, done;
    void *arg;
    uint64_t queued_ns; /* CLOCK_MONOTONIC at submit */
    uint64_t done_ns;   /* CLOCK_MONOTONIC when its work ended */
} job_t;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job_t *head, *tail;           /* queued */
    job_t *held_head, *held_tail; /* finished, not handed back yet (see hold_due) */
    unsigned nheld;
    uint64_t hold_ns; /* 0: every job goes back as it ends */
    pthread_t *threads;
    unsigned count;
    int stopping;
    _Atomic unsigned backlog;
    /* Added to by the workers, read by /metrics: a few atomic adds per job,
     * next to a hash of tens of milliseconds. */
    _Atomic unsigned long long jobs, cpu_ns, queue_ns, held_ns, handbacks;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- handing finished jobs back -------------------------------------------------
 *
 * A finished job goes back to its loop as a message, and each message that
 * finds the loop asleep wakes it; the sign-in's `done` then sends a
 * statement, which wakes a PostgreSQL backend, whose answer wakes the loop
 * again. When every core hashes, each of those wakes starts cold: the hash
 * it preempted has just filled the core's caches with its own memory. So
 * while jobs wait in the queue (the pool is saturated, and a sign-in's time
 * is mostly spent waiting there anyway), finished jobs are held and go back
 * together: their loops, the database and the browsers then do the work of
 * several sign-ins in one wake each, back to back and warm. They go back
 *   - as soon as no job waits (the pool is not saturated: no sign-in is
 *     delayed for this when the pool keeps up),
 *   - when GW_WORKERS_HOLD_MAX are held,
 *   - or once the oldest has been held `hold_ns` (server.worker_hold_ms).
 *     That is checked when a job ends, is taken or is queued, not by a
 *     timer: all workers are busy while anything is held. So a job may be
 *     held past `hold_ns` until the next of those, at worst one job's time
 *     (a hash) when no sign-in arrives meanwhile; under a storm sign-ins
 *     arrive every few milliseconds.
 * On this project's 2-core bench machine (tests/bench/oidc.sh, 16 browsers
 * signing in at once; three alternations of worker_hold_ms 0 and 50 on one
 * build), holding took the CPU of a sign-in's work outside the hash from
 * 1.91-1.93 ms to 0.96-1.16 ms (the event loops 0.66-0.69 to 0.33-0.39 ms,
 * PostgreSQL 1.02-1.05 to 0.49-0.61 ms, the browsers' driver 0.20-0.22 to
 * 0.14-0.16 ms), with hashes going back about 7 at a time after 27 ms on
 * average: complete flows went from 86-89% to 91-93% of what the cores
 * can hash, the median flow from about 150 to 133 ms, the 99th percentile
 * from about 175 to 205 ms. */

/* Under g.lock, with `now` read under it too: every time compared here was,
 * so none is later than `now` (read before taking the lock, a job's end
 * could come out after a time another thread stored meanwhile, and the
 * difference would wrap). */
static int hold_due(uint64_t now)
{
    return g.nheld > 0 && (g.head == NULL || g.nheld >= GW_WORKERS_HOLD_MAX ||
                           now - g.held_head->done_ns >= g.hold_ns || g.stopping);
}

/* Under g.lock: the held jobs, for hand_back after unlocking. */
static job_t *take_held(void)
{
    job_t *h = g.held_head;
    g.held_head = g.held_tail = NULL;
    g.nheld = 0;
    return h;
}

static void hand_back(job_t *h, uint64_t now)
{
    if (h == NULL)
        return;
    unsigned long long held = 0;
    for (job_t *j = h; j != NULL; j = j->next)
        held += now - j->done_ns;
    atomic_fetch_add_explicit(&g.held_ns, held, memory_order_relaxed);
    atomic_fetch_add_explicit(&g.handbacks, 1, memory_order_relaxed);
    while (h != NULL) {
        job_t *next = h->next; /* `h` is the loop's once sent */
        h2o_multithread_send_message(&h->origin->work_receiver, &h->msg);
        h = next;
    }
}

/* Under g.lock: `j` has ended; it joins the held ones, and they all go
 * back if they are due. */
static job_t *finished(job_t *j, uint64_t now)
{
    j->next = NULL;
    j->done_ns = now;
    if (g.held_tail != NULL)
        g.held_tail->next = j;
    else
        g.held_head = j;
    g.held_tail = j;
    g.nheld++;
    return hold_due(now) ? take_held() : NULL;
}

static void *worker_main(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&g.lock);
        while (g.head == NULL && !g.stopping)
            pthread_cond_wait(&g.wake, &g.lock);
        job_t *j = g.head;
        if (j == NULL) {
            pthread_mutex_unlock(&g.lock);
            return NULL;
        }
        g.head = j->next;
        if (g.head == NULL)
            g.tail = NULL;
        uint64_t taken = clock_ns(CLOCK_MONOTONIC);
        /* With the last waiting job taken the pool keeps up again: the held
         * go back now, not when the next job ends, a whole job away. */
        job_t *back = hold_due(taken) ? take_held() : NULL;
        pthread_mutex_unlock(&g.lock);
        hand_back(back, taken);

        uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        j->work(j->arg);
        atomic_fetch_add_explicit(&g.cpu_ns, clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu, memory_order_relaxed);
        atomic_fetch_add_explicit(&g.queue_ns, taken - j->queued_ns, memory_order_relaxed);
        atomic_fetch_add_explicit(&g.jobs, 1, memory_order_relaxed);

        pthread_mutex_lock(&g.lock);
        uint64_t now = clock_ns(CLOCK_MONOTONIC); /* under the lock: see hold_due */
        back = finished(j, now);
        pthread_mutex_unlock(&g.lock);
        hand_back(back, now);
    }
}

void gw_workers_start(unsigned count, unsigned hold_ms)
{
    if (count == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        count = n > 0 ? (unsigned)n : 1;
    }
    g.hold_ns = (uint64_t)hold_ms * 1000000u;
    g.stopping = 0;
    g.threads = gw_calloc(count, sizeof(pthread_t));
    g.count = count;
    for (unsigned i = 0; i < count; i++) {
        pthread_create(&g.threads[i], NULL, worker_main, NULL);
        /* Named, so top -H and /proc/PID/task/N/comm tell hashing from the loops. */
        pthread_setname_np(g.threads[i], "regain-worker");
    }
}

void gw_workers_stop(void)
{
    pthread_mutex_lock(&g.lock);
    g.stopping = 1;
    pthread_cond_broadcast(&g.wake);
    pthread_mutex_unlock(&g.lock);
    for (unsigned i = 0; i < g.count; i++)
        pthread_join(g.threads[i], NULL);
    free(g.threads);
    g.threads = NULL;
    g.count = 0;
}

void gw_work_submit(gw_thread_t *t, gw_work_fn work, gw_work_fn done, void *arg)
{
    if (g.count == 0 || t == NULL) {
        work(arg);
        done(arg);
        return;
    }
    job_t *j = gw_calloc(1, sizeof(*j));
    j->origin = t;
    j->work = work;
    j->done = done;
    j->arg = arg;
    j->queued_ns = clock_ns(CLOCK_MONOTONIC);
    atomic_fetch_add(&g.backlog, 1);
    pthread_mutex_lock(&g.lock);
    if (g.tail)
        g.tail->next = j;
    else
        g.head = j;
    g.tail = j;
    pthread_cond_signal(&g.wake);
    /* Held jobs whose time is up go back now, not at the next job's end:
     * that may be a long hash away. */
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    job_t *back = hold_due(now) ? take_held() : NULL;
    pthread_mutex_unlock(&g.lock);
    hand_back(back, now);
}

/* On the loop thread: run the `done` half of each finished job. */
void gw_workers_on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        job_t *j = H2O_STRUCT_FROM_MEMBER(job_t, msg.link, messages->next);
        h2o_linklist_unlink(&j->msg.link);
        atomic_fetch_sub(&g.backlog, 1);
        j->done(j->arg);
        free(j);
    }
}

unsigned gw_workers_backlog(void)
{
    return atomic_load(&g.backlog);
}

void gw_workers_stats(gw_workers_stats_t *out)
{
    out->jobs = atomic_load_explicit(&g.jobs, memory_order_relaxed);
    out->cpu_ns = atomic_load_explicit(&g.cpu_ns, memory_order_relaxed);
    out->queue_ns = atomic_load_explicit(&g.queue_ns, memory_order_relaxed);
    out->held_ns = atomic_load_explicit(&g.held_ns, memory_order_relaxed);
    out->handbacks = atomic_load_explicit(&g.handbacks, memory_order_relaxed);
}
