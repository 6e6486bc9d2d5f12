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
} job_t;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job_t *head, *tail;
    pthread_t *threads;
    unsigned count;
    int stopping;
    _Atomic unsigned backlog;
    /* Added to by the workers, read by /metrics: a few atomic adds per job,
     * next to a hash of tens of milliseconds. */
    _Atomic unsigned long long jobs, cpu_ns, queue_ns;
} g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0};

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
        pthread_mutex_unlock(&g.lock);
        uint64_t taken = clock_ns(CLOCK_MONOTONIC), cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        j->work(j->arg);
        atomic_fetch_add_explicit(&g.cpu_ns, clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu, memory_order_relaxed);
        atomic_fetch_add_explicit(&g.queue_ns, taken - j->queued_ns, memory_order_relaxed);
        atomic_fetch_add_explicit(&g.jobs, 1, memory_order_relaxed);
        h2o_multithread_send_message(&j->origin->work_receiver, &j->msg);
    }
}

void gw_workers_start(unsigned count)
{
    if (count == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        count = n > 0 ? (unsigned)n : 1;
    }
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
    pthread_mutex_unlock(&g.lock);
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
}
