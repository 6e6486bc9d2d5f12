/* Allocation that cannot fail: out of memory aborts in one place (STYLE.md). */
#ifndef REGAIN_GATEWAY_ALLOC_H
#define REGAIN_GATEWAY_ALLOC_H

#include <stddef.h>

/* Each returns memory the caller owns and releases with free(); never NULL. */
void *gw_malloc(size_t n);
void *gw_calloc(size_t count, size_t n);
void *gw_realloc(void *p, size_t n);
char *gw_strdup(const char *s);
char *gw_strndup(const char *s, size_t n);

/* Overwrite a secret before its memory is released or reused. */
void gw_wipe(void *p, size_t n);

#endif
