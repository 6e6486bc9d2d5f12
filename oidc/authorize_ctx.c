/* Handler state that survives the other areas' callbacks, which are given
 * only the gw_req_t (oidc/internal.h). A small per-thread table keyed by the
 * request; each entry is memory of the request's pool whose dispose hook
 * unlinks it, so nothing outlives the request and an address reused by a
 * later request never finds stale state. Loop threads only. */
#include <stdint.h>
#include <string.h>

#include "oidc/authorize_internal.h"

#define BUCKETS 64

typedef struct entry {
    struct entry *next, **prev;
    gw_req_t *r;
    /* the caller's bytes follow, aligned */
    _Alignas(16) unsigned char data[];
} entry_t;

static _Thread_local entry_t *g_table[BUCKETS];

static size_t bucket(const gw_req_t *r)
{
    uintptr_t p = (uintptr_t)r;
    return (size_t)((p >> 4) ^ (p >> 12)) % BUCKETS;
}

static void on_dispose(void *p)
{
    entry_t *e = p;
    if (e->prev == NULL)
        return;
    *e->prev = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    e->prev = NULL;
}

void *oidc_az_ctx_new(gw_req_t *r, size_t size)
{
    entry_t *e = h2o_mem_alloc_shared(&r->req->pool, sizeof(*e) + size, on_dispose);
    memset(e, 0, sizeof(*e) + size);
    e->r = r;
    entry_t **head = &g_table[bucket(r)];
    e->next = *head;
    if (*head != NULL)
        (*head)->prev = &e->next;
    e->prev = head;
    *head = e;
    return e->data;
}

void *oidc_az_ctx_get(gw_req_t *r)
{
    for (entry_t *e = g_table[bucket(r)]; e != NULL; e = e->next)
        if (e->r == r)
            return e->data;
    return NULL;
}
