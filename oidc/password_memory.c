/* Argon2's working memory: one block per worker thread, kept between hashes
 * and backed by transparent huge pages where the kernel allows.
 *
 * libargon2 mallocs m KiB for every hash and frees it after. A worker hashes
 * one password after another, so it keeps one block and lends it to each
 * hash instead. Huge pages because Argon2 reads its block in a pseudo-random
 * order: at the default 19 MiB that is 4,864 pages of 4 KiB, more than the
 * TLB maps, so most reads also walk the page tables; with 2 MiB pages the
 * block is ten. Measured on this project's 2-core bench machine (CPU time of
 * one hash, m = 19 MiB, t = 2, five alternating runs): 22.2 ms with
 * libargon2's malloc, 21.1 ms with a kept huge-page block; with a hash on
 * each core at once 23.7 ms against 22.4 ms.
 *
 * No password-derived data waits in a kept block: libargon2 wipes the block
 * before handing it back (its free_memory clears it, then calls our free
 * callback), which tests/unit/oidc_password.c checks.
 *
 * The cost is memory held while the process runs: one block of the largest
 * hash a thread made (rounded up to 2 MiB) per thread that hashed, which is
 * the worker pool (and the main thread of `regain user add`). Blocks larger
 * than KEEP_MAX (a stored hash of an unusual cost) are mapped for the one
 * hash and unmapped after it. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "gateway/alloc.h"
#include "oidc/signin_internal.h"

#define HUGE_PAGE ((size_t)2 << 20)
#define KEEP_MAX  ((size_t)256 << 20)

typedef struct {
    uint8_t *base;
    size_t size;
    int lent;
} block_t;

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static size_t round_up(size_t n)
{
    return (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

/* `size` bytes (a multiple of HUGE_PAGE) starting on a 2 MiB boundary, so
 * every 2 MiB of it can be one huge page; NULL when the kernel refuses. */
static uint8_t *map_block(size_t size)
{
    size_t span = size + HUGE_PAGE;
    uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uint8_t *aligned = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (aligned > p)
        munmap(p, (size_t)(aligned - p));
    size_t tail = (size_t)(p + span - (aligned + size));
    if (tail > 0)
        munmap(aligned + size, tail);
    /* Advice only: with transparent huge pages off, the block still works. */
    (void)madvise(aligned, size, MADV_HUGEPAGE);
    return aligned;
}

static void block_free(void *arg)
{
    block_t *b = arg;
    if (b->base != NULL)
        munmap(b->base, b->size);
    free(b);
}

static void make_key(void)
{
    pthread_key_create(&g_key, block_free);
}

static block_t *thread_block(void)
{
    pthread_once(&g_once, make_key);
    block_t *b = pthread_getspecific(g_key);
    if (b == NULL) {
        b = gw_calloc(1, sizeof(*b));
        pthread_setspecific(g_key, b);
    }
    return b;
}

int oidc_argon2_memory_alloc(uint8_t **memory, size_t bytes)
{
    size_t size = round_up(bytes);
    block_t *b = thread_block();
    if (size > KEEP_MAX || b->lent) {
        *memory = map_block(size);
        return *memory != NULL ? 0 : -1;
    }
    if (b->size < size) {
        if (b->base != NULL)
            munmap(b->base, b->size);
        b->size = 0;
        b->base = map_block(size);
        if (b->base == NULL)
            return -1;
        b->size = size;
    }
    b->lent = 1;
    *memory = b->base;
    return 0;
}

void oidc_argon2_memory_free(uint8_t *memory, size_t bytes)
{
    block_t *b = thread_block();
    if (b->lent && memory == b->base) {
        b->lent = 0;
        return;
    }
    munmap(memory, round_up(bytes));
}

const uint8_t *oidc_argon2_memory_kept(size_t *size)
{
    block_t *b = thread_block();
    *size = b->size;
    return b->base;
}
