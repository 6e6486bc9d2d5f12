/* The readers every configuration key goes through (config_internal.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/config_internal.h"

/* Longer strings are mistakes (a pasted file, say), not configuration. */
#define CONFIG_STRING_MAX 4096

int gw_cfg_fail(gw_cfg_ctx_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, c->msgsize, fmt, ap);
    va_end(ap);
    return -1;
}

/* "where.key", or "key" at the top level. */
#define DOT(where) (*(where) ? "." : "")

yajl_val gw_cfg_member(yajl_val obj, const char *key)
{
    for (size_t i = 0; obj && YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], key) == 0)
            return obj->u.object.values[i];
    return NULL;
}

int gw_cfg_check_keys(gw_cfg_ctx_t *c, yajl_val obj, const char *where, const char *const *allowed)
{
    if (!YAJL_IS_OBJECT(obj))
        return gw_cfg_fail(c, "%s: expected an object", *where ? where : "configuration");
    for (size_t i = 0; i < obj->u.object.len; i++) {
        const char *k = obj->u.object.keys[i];
        int known = 0;
        for (const char *const *a = allowed; *a; a++)
            known |= strcmp(*a, k) == 0;
        if (!known)
            return gw_cfg_fail(c, "%s%s%s: unknown key", where, DOT(where), k);
        for (size_t j = 0; j < i; j++)
            if (strcmp(obj->u.object.keys[j], k) == 0)
                return gw_cfg_fail(c, "%s%s%s: key given twice", where, DOT(where), k);
    }
    return 0;
}

int gw_cfg_get_string(gw_cfg_ctx_t *c, yajl_val obj, const char *where, const char *key, char **out)
{
    yajl_val v = gw_cfg_member(obj, key);
    if (v == NULL)
        return 0;
    if (!YAJL_IS_STRING(v) || v->u.string[0] == '\0' || strlen(v->u.string) > CONFIG_STRING_MAX)
        return gw_cfg_fail(c, "%s%s%s: expected a non-empty string (at most %d bytes)", where, DOT(where),
                           key, CONFIG_STRING_MAX);
    free(*out);
    *out = gw_strdup(v->u.string);
    return 0;
}

int gw_cfg_get_uint(gw_cfg_ctx_t *c, yajl_val obj, const char *where, const char *key, unsigned min,
                    unsigned max, unsigned *out)
{
    yajl_val v = gw_cfg_member(obj, key);
    if (v == NULL)
        return 0;
    if (!YAJL_IS_INTEGER(v))
        return gw_cfg_fail(c, "%s%s%s: expected an integer", where, DOT(where), key);
    long long n = YAJL_GET_INTEGER(v);
    if (n < (long long)min || n > (long long)max)
        return gw_cfg_fail(c, "%s%s%s: must be between %u and %u", where, DOT(where), key, min, max);
    *out = (unsigned)n;
    return 0;
}

int gw_cfg_get_bool(gw_cfg_ctx_t *c, yajl_val obj, const char *where, const char *key, int *out)
{
    yajl_val v = gw_cfg_member(obj, key);
    if (v == NULL)
        return 0;
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
        return gw_cfg_fail(c, "%s%s%s: expected true or false", where, DOT(where), key);
    *out = YAJL_IS_TRUE(v);
    return 0;
}

char *gw_cfg_resolve_path(const gw_cfg_ctx_t *c, const char *p)
{
    if (p[0] == '/' || c->base_dir == NULL)
        return gw_strdup(p);
    size_t n = strlen(c->base_dir) + strlen(p) + 2;
    char *out = gw_malloc(n);
    snprintf(out, n, "%s/%s", c->base_dir, p);
    return out;
}
