#include "gateway/workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "gateway/alloc.h"
#include "gateway/internal.h"

typedef struct job {
    h2o_multithread_message_t msg; /* first: the loop receives it as a message */
    struct job *next;
    gw_thread_t *origin;
    gw_work_fn work, done;
    void *arg;
} job_t;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job_t *head, *tail;
    pthread_t *threads;
    unsigned count;
    int stopping;
    _Atomic unsigned backlog;
} g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, NULL, 0, 0, 0};

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
        j->work(j->arg);
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
