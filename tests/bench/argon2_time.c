/* `make bench` helper: the time of one Argon2id hash at a given cost, the
 * same call regain's sign-in makes on its worker pool (libargon2,
 * argon2id_hash_encoded, 16-byte salt, 32-byte tag).
 * Usage: argon2_time T M_KIB P N [K [cpu]]
 *   -> prints the median of N hashes in ms.  With K > 1, K threads hash at
 *   once (N each, started together) and the median is over all K * N: how
 *   much one hash slows down when K run side by side and share the caches
 *   and the memory bus, as regain's K workers do under load.  With "cpu",
 *   each hash is timed by its thread's CPU clock instead of the wall clock:
 *   on a shared machine, K threads also wait for cores, which the CPU clock
 *   leaves out.  The bench's ceiling uses K = 1 on the wall clock (the
 *   isolated hash); K = 1 against K = cores on the CPU clock is printed
 *   beside it. */
#include <argon2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K_MAX 64

static unsigned g_t, g_m, g_p;
static int g_n;
static clockid_t g_clock = CLOCK_MONOTONIC;
static pthread_barrier_t g_start;

typedef struct {
    int id;
    double *ms; /* g_n entries */
    int rc;
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
    unsigned char salt[16];
    char enc[256];
    pthread_barrier_wait(&g_start);
    for (int i = 0; i < g_n; i++) {
        memset(salt, i + h->id * g_n, sizeof(salt));
        struct timespec a, b;
        clock_gettime(g_clock, &a);
        h->rc = argon2id_hash_encoded(g_t, g_m, g_p, pwd, sizeof(pwd) - 1, salt, sizeof(salt), 32, enc,
                                      sizeof(enc));
        clock_gettime(g_clock, &b);
        if (h->rc != ARGON2_OK)
            return NULL;
        h->ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
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
        h[i] = (hasher_t){i, ms + (size_t)i * (size_t)g_n, ARGON2_OK};
        if (i > 0)
            pthread_create(&th[i], NULL, hasher, &h[i]);
    }
    hasher(&h[0]); /* K = 1: the hash runs on the main thread, alone */
    for (int i = 1; i < k; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&g_start);
    for (int i = 0; i < k; i++) {
        if (h[i].rc != ARGON2_OK) {
            fprintf(stderr, "argon2: %s\n", argon2_error_message(h[i].rc));
            return 1;
        }
    }
    qsort(ms, (size_t)(g_n * k), sizeof(double), cmp);
    printf("%.3f\n", ms[g_n * k / 2]);
    free(ms);
    return 0;
}
