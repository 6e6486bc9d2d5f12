/* JSON writer over yajl_gen.
 *
 * yajl_gen validates UTF-8 but not structure: in 2.1 yajl_gen_map_close after
 * a key, or yajl_gen_array_close inside an object, prints "{"a"}" or "{]".
 * So the writer keeps its own stack of open containers and whether a key or
 * a value comes next, and fails instead of emitting invalid JSON. */
#include "gateway/json.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "gateway/alloc.h"

#define JW_MAX_DEPTH 128 /* yajl_gen's own limit (YAJL_MAX_DEPTH) */

struct gw_jw {
    yajl_gen g;
    const char *failure; /* first problem, or NULL */
    int gen_status;      /* yajl_gen_status of that problem, if it was yajl's */
    int done;            /* a complete top-level value was written */
    unsigned depth;
    unsigned char in_object[JW_MAX_DEPTH];
    unsigned char want_key[JW_MAX_DEPTH]; /* per open object: key comes next */
};

static void *jw_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return gw_malloc(n);
}

static void *jw_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return gw_realloc(p, n);
}

static void jw_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

gw_jw_t *gw_jw_new(void)
{
    yajl_alloc_funcs afs = {.malloc = jw_malloc, .realloc = jw_realloc, .free = jw_free};
    gw_jw_t *w = gw_calloc(1, sizeof(*w));
    w->g = yajl_gen_alloc(&afs);
    if (w->g == NULL)
        abort(); /* only on out of memory, which gw_malloc already aborts on */
    yajl_gen_config(w->g, yajl_gen_validate_utf8, 1);
    return w;
}

void gw_jw_free(gw_jw_t *w)
{
    if (w == NULL)
        return;
    yajl_gen_free(w->g);
    free(w);
}

static void set_failure(gw_jw_t *w, const char *why, int status)
{
    if (w->failure == NULL) {
        w->failure = why;
        w->gen_status = status;
    }
}

/* May a value be written now? */
static int value_allowed(gw_jw_t *w)
{
    if (w->failure != NULL)
        return 0;
    if (w->depth == 0) {
        if (w->done) {
            set_failure(w, "value after the end of the document", 0);
            return 0;
        }
        return 1;
    }
    if (w->in_object[w->depth - 1] && w->want_key[w->depth - 1]) {
        set_failure(w, "value where a key belongs", 0);
        return 0;
    }
    return 1;
}

/* Record that a value (scalar, or a container just closed) was written. */
static void value_written(gw_jw_t *w)
{
    if (w->depth == 0)
        w->done = 1;
    else if (w->in_object[w->depth - 1])
        w->want_key[w->depth - 1] = 1;
}

static void check(gw_jw_t *w, yajl_gen_status st)
{
    if (st != yajl_gen_status_ok)
        set_failure(w, st == yajl_gen_invalid_string ? "string is not valid UTF-8" : "yajl_gen failed",
                    (int)st);
}

static void open_container(gw_jw_t *w, int object)
{
    if (!value_allowed(w))
        return;
    if (w->depth == JW_MAX_DEPTH) {
        set_failure(w, "nested too deeply", 0);
        return;
    }
    check(w, object ? yajl_gen_map_open(w->g) : yajl_gen_array_open(w->g));
    if (w->failure != NULL)
        return;
    w->in_object[w->depth] = (unsigned char)object;
    w->want_key[w->depth] = 1;
    w->depth++;
}

static void close_container(gw_jw_t *w, int object)
{
    if (w->failure != NULL)
        return;
    if (w->depth == 0 || w->in_object[w->depth - 1] != object) {
        set_failure(w, "close does not match an open", 0);
        return;
    }
    if (object && !w->want_key[w->depth - 1]) {
        set_failure(w, "key without a value", 0);
        return;
    }
    check(w, object ? yajl_gen_map_close(w->g) : yajl_gen_array_close(w->g));
    if (w->failure != NULL)
        return;
    w->depth--;
    value_written(w);
}

void gw_jw_obj_open(gw_jw_t *w)
{
    open_container(w, 1);
}

void gw_jw_obj_close(gw_jw_t *w)
{
    close_container(w, 1);
}

void gw_jw_arr_open(gw_jw_t *w)
{
    open_container(w, 0);
}

void gw_jw_arr_close(gw_jw_t *w)
{
    close_container(w, 0);
}

void gw_jw_keyn(gw_jw_t *w, const char *key, size_t n)
{
    if (w->failure != NULL)
        return;
    if (w->depth == 0 || !w->in_object[w->depth - 1] || !w->want_key[w->depth - 1]) {
        set_failure(w, "key outside an object or after a key", 0);
        return;
    }
    check(w, yajl_gen_string(w->g, (const unsigned char *)(key ? key : ""), key ? n : 0));
    if (w->failure == NULL)
        w->want_key[w->depth - 1] = 0;
}

void gw_jw_key(gw_jw_t *w, const char *key)
{
    gw_jw_keyn(w, key, key ? strlen(key) : 0);
}

void gw_jw_strn(gw_jw_t *w, const char *s, size_t n)
{
    if (!value_allowed(w))
        return;
    check(w, yajl_gen_string(w->g, (const unsigned char *)(s ? s : ""), s ? n : 0));
    if (w->failure == NULL)
        value_written(w);
}

void gw_jw_str(gw_jw_t *w, const char *s)
{
    if (s == NULL)
        gw_jw_null(w);
    else
        gw_jw_strn(w, s, strlen(s));
}

void gw_jw_int64(gw_jw_t *w, int64_t v)
{
    if (!value_allowed(w))
        return;
    check(w, yajl_gen_integer(w->g, (long long)v));
    if (w->failure == NULL)
        value_written(w);
}

void gw_jw_bool(gw_jw_t *w, bool v)
{
    if (!value_allowed(w))
        return;
    check(w, yajl_gen_bool(w->g, v ? 1 : 0));
    if (w->failure == NULL)
        value_written(w);
}

void gw_jw_null(gw_jw_t *w)
{
    if (!value_allowed(w))
        return;
    check(w, yajl_gen_null(w->g));
    if (w->failure == NULL)
        value_written(w);
}

void gw_jw_raw(gw_jw_t *w, const char *json, size_t n)
{
    if (!value_allowed(w))
        return;
    if (json == NULL || n == 0) {
        set_failure(w, "empty raw JSON", 0);
        return;
    }
    /* yajl 2.1 prints a number's text verbatim, with the separator and state
     * change of one value: exactly what inserting a whole value needs. */
    check(w, yajl_gen_number(w->g, json, n));
    if (w->failure == NULL)
        value_written(w);
}

void gw_jw_kv_str(gw_jw_t *w, const char *key, const char *value)
{
    gw_jw_key(w, key);
    gw_jw_str(w, value);
}

void gw_jw_kv_strn(gw_jw_t *w, const char *key, const char *value, size_t n)
{
    gw_jw_key(w, key);
    gw_jw_strn(w, value, n);
}

void gw_jw_kv_int64(gw_jw_t *w, const char *key, int64_t v)
{
    gw_jw_key(w, key);
    gw_jw_int64(w, v);
}

void gw_jw_kv_bool(gw_jw_t *w, const char *key, bool v)
{
    gw_jw_key(w, key);
    gw_jw_bool(w, v);
}

void gw_jw_kv_null(gw_jw_t *w, const char *key)
{
    gw_jw_key(w, key);
    gw_jw_null(w);
}

void gw_jw_kv_raw(gw_jw_t *w, const char *key, const char *json, size_t n)
{
    gw_jw_key(w, key);
    gw_jw_raw(w, json, n);
}

const char *gw_jw_buf(gw_jw_t *w, size_t *len)
{
    const unsigned char *buf;
    size_t n;
    *len = 0;
    if (w->failure != NULL)
        return NULL;
    if (!w->done) {
        set_failure(w, "document incomplete", 0);
        return NULL;
    }
    if (yajl_gen_get_buf(w->g, &buf, &n) != yajl_gen_status_ok)
        return NULL;
    *len = n;
    return (const char *)buf;
}

int gw_jw_error(const gw_jw_t *w, gw_err_t *err)
{
    if (w->failure == NULL)
        return 0;
    GW_ERR(err, GW_E_INTERNAL, "could not encode response");
    gw_err_detail(err, "json writer: %s (yajl_gen status %d)", w->failure, w->gen_status);
    return -1;
}
