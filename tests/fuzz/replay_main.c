/* Replays a fuzz target's seed corpus in the normal test run, without libFuzzer.
 *
 *   replay_NAME [DIR [EXTRA]]
 *
 * Feeds every regular file in DIR (default tests/fuzz/corpus/NAME, NAME taken
 * from the program name) to LLVMFuzzerTestOneInput in name order, one TAP line
 * each, then EXTRA (default 2000) inputs derived from the seeds by
 * deterministic mutation (byte flips, truncation, duplication, insertion,
 * splicing; fixed seed, so a failure reproduces), summarised in one TAP line.
 * Each input sits in its own heap block of exactly its size, so a sanitizer
 * build catches a read past the end. A crash ends the run (and fails the
 * test); otherwise it exits 0, or 1 when the corpus cannot be read. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (64 * 1024)

typedef struct {
    char *name;
    uint8_t *data;
    size_t len;
} seed_t;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* xorshift64*: tiny, deterministic across platforms. */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const seed_t *)a)->name, ((const seed_t *)b)->name);
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || buf == NULL) {
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

/* Run one input from an exactly-sized copy. */
static void run(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (len)
        memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
}

/* Derive a mutated input from the seeds into `out` (REPLAY_MAX_INPUT bytes). */
static size_t mutate(const seed_t *seeds, size_t nseeds, uint8_t *out)
{
    const seed_t *s = &seeds[below(nseeds)];
    size_t len = s->len < REPLAY_MAX_INPUT ? s->len : REPLAY_MAX_INPUT;
    if (len)
        memcpy(out, s->data, len);
    int rounds = 1 + (int)below(4);
    for (int r = 0; r < rounds; r++) {
        switch (below(7)) {
        case 0: /* flip one bit */
            if (len)
                out[below(len)] ^= (uint8_t)(1u << below(8));
            break;
        case 1: /* set a byte to an interesting value */
            if (len) {
                static const uint8_t vals[] = {0,   '%', '&', '=', '+', '"',  '\\', '{',  '[',  ']',  '}',
                                               ',', ':', ';', '/', '*', 0x7f, 0x80, 0xc3, 0xed, 0xf4, 0xff};
                out[below(len)] = vals[below(sizeof(vals))];
            }
            break;
        case 2: /* truncate */
            len = below(len + 1);
            break;
        case 3: { /* duplicate a range in place */
            if (len == 0)
                break;
            size_t from = below(len), n = 1 + below(len - from);
            if (len + n > REPLAY_MAX_INPUT)
                break;
            memmove(out + from + n, out + from, len - from);
            len += n;
            break;
        }
        case 4: { /* insert a random byte */
            if (len >= REPLAY_MAX_INPUT)
                break;
            size_t at = below(len + 1);
            memmove(out + at + 1, out + at, len - at);
            out[at] = (uint8_t)rnd();
            len++;
            break;
        }
        case 5: { /* delete a range */
            if (len == 0)
                break;
            size_t from = below(len), n = 1 + below(len - from);
            memmove(out + from, out + from + n, len - from - n);
            len -= n;
            break;
        }
        default: { /* splice: our head, another seed's tail */
            const seed_t *o = &seeds[below(nseeds)];
            size_t at = below(len + 1), from = below(o->len + 1), n = o->len - from;
            if (at + n > REPLAY_MAX_INPUT)
                n = REPLAY_MAX_INPUT - at;
            memcpy(out + at, o->data + from, n);
            len = at + n;
            break;
        }
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    char defdir[512];
    const char *dir = argc > 1 ? argv[1] : NULL;
    long extra = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
    if (dir == NULL) {
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        if (strncmp(base, "replay_", 7) == 0)
            base += 7;
        snprintf(defdir, sizeof(defdir), "tests/fuzz/corpus/%s", base);
        dir = defdir;
    }

    DIR *d = opendir(dir);
    if (d == NULL) {
        printf("1..1\nnot ok 1 - cannot open corpus %s\n", dir);
        return 1;
    }
    seed_t *seeds = NULL;
    size_t nseeds = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (nseeds == cap) {
            cap = cap ? cap * 2 : 64;
            seeds = realloc(seeds, cap * sizeof(*seeds));
        }
        seed_t *s = &seeds[nseeds];
        if (read_file(path, &s->data, &s->len) != 0) {
            printf("1..1\nnot ok 1 - cannot read %s\n", path);
            return 1;
        }
        s->name = strdup(e->d_name);
        nseeds++;
    }
    closedir(d);
    if (nseeds > 0)
        qsort(seeds, nseeds, sizeof(*seeds), by_name);

    size_t tests = nseeds + (extra > 0 && nseeds > 0 ? 1 : 0);
    printf("1..%zu\n", tests);
    fflush(stdout);
    for (size_t i = 0; i < nseeds; i++) {
        run(seeds[i].data, seeds[i].len);
        printf("ok %zu - %s\n", i + 1, seeds[i].name);
        fflush(stdout);
    }
    if (extra > 0 && nseeds > 0) {
        uint8_t *buf = malloc(REPLAY_MAX_INPUT);
        for (long i = 0; i < extra; i++) {
            size_t len = mutate(seeds, nseeds, buf);
            run(buf, len);
        }
        free(buf);
        printf("ok %zu - %ld mutated inputs\n", nseeds + 1, extra);
    }
    for (size_t i = 0; i < nseeds; i++) {
        free(seeds[i].name);
        free(seeds[i].data);
    }
    free(seeds);
    return 0;
}
