/* The in-process client cache, shared by the loop threads.
 *
 * A token endpoint under load authenticates the same few clients thousands of
 * times a second; reading the row each time would put PostgreSQL on the hot
 * path. Entries live OIDC_CLIENT_CACHE_TTL_MS, so a change made through
 * another process shows within that; changes made here invalidate at once.
 * Unknown ids are remembered briefly too, so a flood of made-up client_ids
 * costs one query per id and TTL, not one per request.
 *
 * One mutex: a lookup holds it for a hash, a short chain walk and a refcount
 * increment, far below the cost of the request around it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "oidc/clients_internal.h"

#define BUCKETS 1024 /* a power of two */

typedef struct entry {
    struct entry *next;
    oidc_client_t *client; /* NULL: no such client */
    uint64_t expires_ms;
    size_t len;
    char id[]; /* NUL-terminated */
} entry_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry_t *table[BUCKETS];
static size_t count, neg_count;
static uint64_t generation;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* FNV-1a: ids are short and chosen by admins, so a keyed hash would buy
 * little; the bucket count caps what collisions can cost anyway. */
static size_t bucket_of(const char *id, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)id[i];
        h *= 1099511628211ull;
    }
    return (size_t)(h & (BUCKETS - 1));
}

/* Unlinks and frees *pp; the caller holds the lock. The client reference is
 * handed back so it can be dropped after unlocking. */
static oidc_client_t *remove_at(entry_t **pp)
{
    entry_t *e = *pp;
    *pp = e->next;
    oidc_client_t *c = e->client;
    count--;
    if (c == NULL)
        neg_count--;
    free(e);
    return c;
}

/* Makes room: drops expired entries, and every negative one when
 * `negatives`; if the table is still full, drops everything (a cache can be
 * rebuilt; a full table is only reached under a flood). The caller holds the
 * lock; freeing a client takes no lock of ours, so it may happen here. */
static void sweep(uint64_t now, int negatives)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t b = 0; b < BUCKETS; b++) {
            entry_t **pp = &table[b];
            while (*pp != NULL) {
                entry_t *e = *pp;
                if (pass == 1 || e->expires_ms <= now || (negatives && e->client == NULL))
                    oidc_client_unref(remove_at(pp));
                else
                    pp = &e->next;
            }
        }
        if (count < OIDC_CLIENT_CACHE_MAX && neg_count < OIDC_CLIENT_CACHE_NEG_MAX)
            return;
    }
}

int oidc_client_cache_get(const char *id, size_t len, oidc_client_t **out, uint64_t *gen)
{
    uint64_t now = now_ms();
    oidc_client_t *stale = NULL;
    int hit = 0;
    pthread_mutex_lock(&lock);
    *gen = generation;
    for (entry_t **pp = &table[bucket_of(id, len)]; *pp != NULL; pp = &(*pp)->next) {
        entry_t *e = *pp;
        if (e->len != len || memcmp(e->id, id, len) != 0)
            continue;
        if (e->expires_ms <= now) {
            stale = remove_at(pp);
        } else {
            *out = oidc_client_ref(e->client);
            hit = 1;
        }
        break;
    }
    pthread_mutex_unlock(&lock);
    oidc_client_unref(stale);
    return hit;
}

void oidc_client_cache_put(const char *id, size_t len, oidc_client_t *c, uint64_t gen)
{
    uint64_t now = now_ms();
    oidc_client_t *old = NULL;
    entry_t *e = gw_malloc(sizeof(*e) + len + 1);
    memcpy(e->id, id, len);
    e->id[len] = '\0';
    e->len = len;
    e->client = oidc_client_ref(c);
    e->expires_ms = now + (c != NULL ? OIDC_CLIENT_CACHE_TTL_MS : OIDC_CLIENT_CACHE_NEG_TTL_MS);

    pthread_mutex_lock(&lock);
    if (gen != generation) {
        /* Invalidated while the row was being read: it may be stale. */
        pthread_mutex_unlock(&lock);
        oidc_client_unref(e->client);
        free(e);
        return;
    }
    size_t b = bucket_of(id, len);
    for (entry_t **pp = &table[b]; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->len == len && memcmp((*pp)->id, id, len) == 0) {
            old = remove_at(pp);
            break;
        }
    }
    if ((c == NULL && neg_count >= OIDC_CLIENT_CACHE_NEG_MAX) || count >= OIDC_CLIENT_CACHE_MAX)
        sweep(now, c == NULL);
    e->next = table[b];
    table[b] = e;
    count++;
    if (c == NULL)
        neg_count++;
    pthread_mutex_unlock(&lock);
    oidc_client_unref(old);
}

void oidc_client_cache_invalidate(const char *id, size_t len)
{
    oidc_client_t *old = NULL;
    pthread_mutex_lock(&lock);
    generation++;
    for (entry_t **pp = &table[bucket_of(id, len)]; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->len == len && memcmp((*pp)->id, id, len) == 0) {
            old = remove_at(pp);
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    oidc_client_unref(old);
}

void oidc_client_cache_clear(void)
{
    pthread_mutex_lock(&lock);
    generation++;
    for (size_t b = 0; b < BUCKETS; b++)
        while (table[b] != NULL)
            oidc_client_unref(remove_at(&table[b]));
    pthread_mutex_unlock(&lock);
}
