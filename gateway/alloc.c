#include "gateway/alloc.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p, size_t n)
{
    if (p == NULL && n != 0) {
        fprintf(stderr, "regain: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *gw_malloc(size_t n)
{
    return check(malloc(n ? n : 1), n ? n : 1);
}

void *gw_calloc(size_t count, size_t n)
{
    return check(calloc(count ? count : 1, n ? n : 1), 1);
}

void *gw_realloc(void *p, size_t n)
{
    return check(realloc(p, n ? n : 1), n ? n : 1);
}

char *gw_strndup(const char *s, size_t n)
{
    char *d = gw_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *gw_strdup(const char *s)
{
    return gw_strndup(s, strlen(s));
}

void gw_wipe(void *p, size_t n)
{
    /* OPENSSL_cleanse is not optimised away, unlike a plain memset before free. */
    if (p != NULL)
        OPENSSL_cleanse(p, n);
}
