/* `make bench` helper: the time of one Argon2id hash at a given cost, the
 * same call regain's sign-in makes on its worker pool: oidc_password_verify
 * (oidc/password.c, linked from libregain.a) on a hash oidc_password_hash
 * made (16-byte salt, 32-byte tag), with the thread's kept Argon2 memory
 * warm, as a worker's is under load (oidc/password_memory.c).
 * Usage: argon2_time T M_KIB P N [K [cpu]]
 *   -> prints the median of N hashes in ms.  With K > 1, K threads hash at
 *   once (N each, started together) and the median is over all K * N: how
 *   much one hash slows down when K run side by side and share the caches
 *   and the memory bus, as regain's K workers do under load.  With "cpu",
 *   each hash is timed by its thread's CPU clock instead of the wall clock:
 *   on a shared machine, K threads also wait for cores, which the CPU clock
 *   leaves out.  The bench's password-hash ceiling uses K = cores, timed
 *   both ways, and takes the smaller (tests/bench/oidc.sh says why); K = 1
 *   on the wall clock is printed beside it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oidc/signin_internal.h"

#define K_MAX 64

static unsigned g_t, g_m, g_p;
static int g_n;
static clockid_t g_clock = CLOCK_MONOTONIC;
static pthread_barrier_t g_start;

typedef struct {
    int id;
    double *ms;          /* g_n entries */
    const char *failure; /* NULL, or why this thread stopped */
} hasher_t;

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *hasher(void *arg)
{
    hasher_t *h = arg;
    static const char pwd[] = "correct horse battery staple";
    const oidc_argon2_params_t cost = {g_t, g_m, g_p};
    char *enc = NULL;
    gw_err_t err;
    int ok = oidc_password_hash(&cost, pwd, sizeof(pwd) - 1, &enc, &err) == 0;
    if (!ok)
        h->failure = "oidc_password_hash failed";
    /* Untimed: fills the thread's kept block once, as a busy worker's is. */
    else if (!(ok = oidc_password_verify(enc, pwd, sizeof(pwd) - 1)))
        h->failure = "the password did not verify";
    /* Every thread reaches the barrier, failed or not, so none waits forever. */
    pthread_barrier_wait(&g_start);
    for (int i = 0; ok && i < g_n; i++) {
        struct timespec a, b;
        clock_gettime(g_clock, &a);
        ok = oidc_password_verify(enc, pwd, sizeof(pwd) - 1);
        clock_gettime(g_clock, &b);
        h->ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
    if (!ok && h->failure == NULL)
        h->failure = "the password did not verify";
    free(enc);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 7 || (argc == 7 && strcmp(argv[6], "cpu") != 0)) {
        fprintf(stderr, "usage: argon2_time T M_KIB P N [K [cpu]]\n");
        return 2;
    }
    g_t = (unsigned)atoi(argv[1]);
    g_m = (unsigned)atoi(argv[2]);
    g_p = (unsigned)atoi(argv[3]);
    g_n = atoi(argv[4]);
    int k = argc >= 6 ? atoi(argv[5]) : 1;
    if (argc == 7)
        g_clock = CLOCK_THREAD_CPUTIME_ID;
    if (g_n < 1 || g_n > 1000 || k < 1 || k > K_MAX)
        return 2;
    double *ms = calloc((size_t)(g_n * k), sizeof(double));
    hasher_t h[K_MAX];
    pthread_t th[K_MAX];
    pthread_barrier_init(&g_start, NULL, (unsigned)k);
    for (int i = 0; i < k; i++) {
        h[i] = (hasher_t){i, ms + (size_t)i * (size_t)g_n, NULL};
        if (i > 0)
            pthread_create(&th[i], NULL, hasher, &h[i]);
    }
    hasher(&h[0]); /* K = 1: the hash runs on the main thread, alone */
    for (int i = 1; i < k; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&g_start);
    for (int i = 0; i < k; i++) {
        if (h[i].failure != NULL) {
            fprintf(stderr, "argon2_time: %s\n", h[i].failure);
            return 1;
        }
    }
    qsort(ms, (size_t)(g_n * k), sizeof(double), cmp);
    printf("%.3f\n", ms[g_n * k / 2]);
    free(ms);
    return 0;
}
