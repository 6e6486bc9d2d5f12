/* `make bench` helper: the time of one Argon2id hash at a given cost, the
 * same call regain's sign-in makes on its worker pool (libargon2,
 * argon2id_hash_encoded, 16-byte salt, 32-byte tag).
 * Usage: argon2_time T M_KIB P N -> prints the median of N hashes in ms. */
#include <argon2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: argon2_time T M_KIB P N\n");
        return 2;
    }
    unsigned t = (unsigned)atoi(argv[1]), m = (unsigned)atoi(argv[2]), p = (unsigned)atoi(argv[3]);
    int n = atoi(argv[4]);
    if (n < 1 || n > 1000)
        return 2;
    double *ms = calloc((size_t)n, sizeof(double));
    static const char pwd[] = "correct horse battery staple";
    unsigned char salt[16];
    char enc[256];
    for (int i = 0; i < n; i++) {
        memset(salt, i, sizeof(salt));
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int rc =
            argon2id_hash_encoded(t, m, p, pwd, sizeof(pwd) - 1, salt, sizeof(salt), 32, enc, sizeof(enc));
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (rc != ARGON2_OK) {
            fprintf(stderr, "argon2: %s\n", argon2_error_message(rc));
            return 1;
        }
        ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
    qsort(ms, (size_t)n, sizeof(double), cmp);
    printf("%.3f\n", ms[n / 2]);
    free(ms);
    return 0;
}
