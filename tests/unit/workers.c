/* gateway/workers.c: finished jobs go back to their loop at once while the
 * pool keeps up, and are held to go back together while jobs wait for a
 * worker, within server.worker_hold_ms and GW_WORKERS_HOLD_MAX. Each job's
 * `work` waits for the test to open its gate, so which job ends when, and
 * what waits in the queue meanwhile, is the test's choice, not the
 * scheduler's. */
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "gateway/internal.h"
#include "gateway/workers.h"

#define JOBS_MAX 32

typedef struct {
    sem_t gate;  /* posted by the test: the job's work may end */
    int gated;   /* 0: the work ends at once */
    int done;    /* its `done` ran, on the loop */
    int *done_n; /* the fixture's count */
} job_arg_t;

typedef struct {
    gw_thread_t *t;
    job_arg_t jobs[JOBS_MAX];
    int n;      /* submitted */
    int done_n; /* `done` halves run */
    int stopped;
    gw_workers_stats_t at_start;
} fixture_t;

static void work(void *arg)
{
    job_arg_t *j = arg;
    if (j->gated)
        sem_wait(&j->gate);
}

static void done(void *arg)
{
    job_arg_t *j = arg;
    j->done = 1;
    (*j->done_n)++;
}

static fixture_t *start(void **state, unsigned workers, unsigned hold_ms)
{
    fixture_t *f = calloc(1, sizeof(*f));
    *state = f;
    f->t = calloc(1, sizeof(*f->t));
    f->t->loop = h2o_evloop_create();
    f->t->queue = h2o_multithread_create_queue(f->t->loop);
    h2o_multithread_register_receiver(f->t->queue, &f->t->work_receiver, gw_workers_on_done);
    gw_workers_stats(&f->at_start);
    gw_workers_start(workers, hold_ms);
    return f;
}

static job_arg_t *submit(fixture_t *f, int gated)
{
    job_arg_t *j = &f->jobs[f->n++];
    sem_init(&j->gate, 0, 0);
    j->gated = gated;
    j->done_n = &f->done_n;
    gw_work_submit(f->t, work, done, j);
    return j;
}

static gw_workers_stats_t since_start(const fixture_t *f)
{
    gw_workers_stats_t s;
    gw_workers_stats(&s);
    s.jobs -= f->at_start.jobs;
    s.handbacks -= f->at_start.handbacks;
    s.held_ns -= f->at_start.held_ns;
    return s;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs the loop until `n` `done` halves have run (5 s at most). */
static void run_until_done(fixture_t *f, int n)
{
    for (int i = 0; i < 500 && f->done_n < n; i++)
        h2o_evloop_run(f->t->loop, 10);
    assert_int_equal(f->done_n, n);
}

/* Waits until `n` jobs have ended on the workers (5 s at most). */
static void wait_jobs(const fixture_t *f, unsigned long long n)
{
    for (int i = 0; i < 500 && since_start(f).jobs < n; i++)
        sleep_ms(10);
    assert_int_equal(since_start(f).jobs, n);
}

/* Runs the loop for `ms` and checks that no more than `n` `done` halves ran. */
static void no_more_done_than(fixture_t *f, int n, long ms)
{
    for (long i = 0; i < ms / 10; i++)
        h2o_evloop_run(f->t->loop, 10);
    assert_int_equal(f->done_n, n);
}

/* Lets every job end, runs their `done` halves and stops the pool. */
static void finish(fixture_t *f)
{
    for (int i = 0; i < f->n; i++)
        if (f->jobs[i].gated && !f->jobs[i].done)
            sem_post(&f->jobs[i].gate);
    for (int i = 0; i < 500 && f->done_n < f->n; i++)
        h2o_evloop_run(f->t->loop, 10);
    if (!f->stopped)
        gw_workers_stop();
    f->stopped = 1;
}

/* After each test, passed or failed: a failed one left its pool running. */
static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f == NULL)
        return 0;
    finish(f);
    for (int i = 0; i < f->n; i++)
        sem_destroy(&f->jobs[i].gate);
    h2o_multithread_unregister_receiver(f->t->queue, &f->t->work_receiver);
    h2o_multithread_destroy_queue(f->t->queue);
    free(f->t->queue); /* h2o 2.2.5's destroy_queue leaves the queue's own memory to the caller */
    h2o_evloop_destroy(f->t->loop);
    free(f->t);
    free(f);
    *state = NULL;
    return 0;
}

/* Two workers, two jobs: nothing waits, so each goes back as it ends,
 * however long the hold allowed. */
static void keeps_up_hands_back_at_once(void **state)
{
    fixture_t *f = start(state, 2, 1000);
    job_arg_t *a = submit(f, 1);
    submit(f, 1);
    sem_post(&a->gate);
    run_until_done(f, 1);
    gw_workers_stats_t s = since_start(f);
    assert_int_equal(s.handbacks, 1);
    assert_true(s.held_ns < 100000000ull); /* it went back as it ended: not the 1 s the hold allowed */
    finish(f);
    assert_int_equal(f->done_n, f->n); /* every job's `done` ran */
    assert_int_equal(since_start(f).handbacks, 2);
}

/* One worker, three jobs: the first two end while others wait, and are held;
 * they go back together when the last waiting job is taken, before it ends. */
static void saturated_holds_until_queue_empties(void **state)
{
    fixture_t *f = start(state, 1, 1000);
    job_arg_t *a = submit(f, 1), *b = submit(f, 1), *c = submit(f, 1);
    sem_post(&a->gate);
    wait_jobs(f, 1);
    no_more_done_than(f, 0, 50); /* b and c wait: a is held */
    assert_int_equal(since_start(f).handbacks, 0);
    sem_post(&b->gate);
    run_until_done(f, 2); /* b ended, c was taken: nothing waits any more */
    assert_false(c->done);
    gw_workers_stats_t s = since_start(f);
    assert_int_equal(s.handbacks, 1);
    assert_true(s.held_ns >= 40000000ull); /* a was held while the loop ran 50 ms */
    finish(f);
    assert_int_equal(f->done_n, f->n); /* every job's `done` ran */
    assert_int_equal(since_start(f).handbacks, 2);
}

/* One worker, GW_WORKERS_HOLD_MAX + 2 jobs queued at once: the first
 * GW_WORKERS_HOLD_MAX go back together, though two still wait; the next goes
 * back when the last is taken, and the last as it ends. */
static void hold_max_bounds_a_group(void **state)
{
    fixture_t *f = start(state, 1, 1000);
    int n = GW_WORKERS_HOLD_MAX + 2;
    job_arg_t *first = submit(f, 1);
    for (int i = 1; i < n; i++)
        submit(f, 0);
    sem_post(&first->gate);
    run_until_done(f, n);
    assert_int_equal(since_start(f).handbacks, 3);
    finish(f);
    assert_int_equal(f->done_n, f->n); /* every job's `done` ran */
}

/* One worker, four gated jobs; the first has ended and been held for
 * a second while the second runs and two wait: nothing happened since that
 * could have handed it back. */
static fixture_t *first_held_a_second(void **state, unsigned hold_ms)
{
    fixture_t *f = start(state, 1, hold_ms);
    job_arg_t *a = submit(f, 1);
    for (int i = 0; i < 3; i++)
        submit(f, 1);
    sem_post(&a->gate);
    wait_jobs(f, 1);
    sleep_ms(1000);
    assert_int_equal(since_start(f).handbacks, 0);
    return f;
}

/* With a hold of 300 ms it goes back when another job is queued, while the
 * job on the worker still runs. */
static void time_up_at_submit(void **state)
{
    fixture_t *f = first_held_a_second(state, 300);
    submit(f, 1);
    run_until_done(f, 1);
    assert_int_equal(since_start(f).handbacks, 1);
    finish(f);
    assert_int_equal(f->done_n, f->n); /* every job's `done` ran */
}

/* With a hold of 10 s, queuing another job hands nothing back. */
static void time_not_up_at_submit(void **state)
{
    fixture_t *f = first_held_a_second(state, 10000);
    submit(f, 1);
    no_more_done_than(f, 0, 50);
    assert_int_equal(since_start(f).handbacks, 0);
    finish(f);
    assert_int_equal(f->done_n, f->n); /* every job's `done` ran */
}

/* With a hold of 300 ms it goes back with the next job to end, though others
 * still wait. */
static void time_up_at_job_end(void **state)
{
    fixture_t *f = first_held_a_second(state, 300);
    sem_post(&f->jobs[1].gate);
    run_until_done(f, 2);
    assert_int_equal(since_start(f).handbacks, 1);
    finish(f);
    assert_int_equal(f->done_n, f->n); /* every job's `done` ran */
}

/* worker_hold_ms 0: every job goes back as it ends, saturated or not. */
static void hold_zero_never_holds(void **state)
{
    fixture_t *f = start(state, 1, 0);
    job_arg_t *a = submit(f, 1), *b = submit(f, 1);
    submit(f, 1);
    sem_post(&a->gate);
    run_until_done(f, 1);
    sem_post(&b->gate);
    run_until_done(f, 2);
    assert_int_equal(since_start(f).handbacks, 2);
    finish(f);
    assert_int_equal(f->done_n, f->n); /* every job's `done` ran */
    assert_int_equal(since_start(f).handbacks, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(keeps_up_hands_back_at_once, teardown),
        cmocka_unit_test_teardown(saturated_holds_until_queue_empties, teardown),
        cmocka_unit_test_teardown(hold_max_bounds_a_group, teardown),
        cmocka_unit_test_teardown(time_up_at_submit, teardown),
        cmocka_unit_test_teardown(time_not_up_at_submit, teardown),
        cmocka_unit_test_teardown(time_up_at_job_end, teardown),
        cmocka_unit_test_teardown(hold_zero_never_holds, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
