/* Strict JSON parser: yajl's event parser building a yajl_tree.
 *
 * Why not pre-scan with the event parser and then call yajl_tree_parse: that
 * parses twice and needs a NUL-terminated copy. Building the tree from the
 * events is one pass over the caller's buffer. The tree must still be
 * releasable by yajl_tree_free, which free()s every node, string, number
 * text, key, and the keys/values arrays; so everything here comes from
 * gw_malloc (malloc that aborts on failure) in exactly that layout. */
#include "gateway/json.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_parse.h>

#include "gateway/alloc.h"

typedef struct {
    yajl_val node; /* object or array being filled */
    size_t cap;    /* allocated slots in its values (and keys) */
} frame_t;

typedef struct {
    const gw_json_limits_t *limits;
    gw_err_t *err;
    yajl_val root;
    frame_t *stack;
    size_t depth, stack_cap;
    frame_t small[32]; /* enough for most documents without a malloc */
    char *key;         /* an object key waiting for its value */
    int failed;
} builder_t;

static int fail(builder_t *b, const char *public_msg)
{
    GW_ERR(b->err, GW_E_SCIM_INVALID_SYNTAX, public_msg);
    b->failed = 1;
    return 0; /* tells yajl to stop */
}

static int dup_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int dup_key_ci(const void *a, const void *b)
{
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorting a copy keeps this O(n log n): checking each key against all the
 * earlier ones would let a body of 100,000 keys cost 5e9 comparisons. */
static int has_duplicate_keys(const char **keys, size_t n, int ci)
{
    int (*cmp)(const void *, const void *) = ci ? dup_key_ci : dup_key;
    if (n < 2)
        return 0;
    if (n <= 8) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (cmp(&keys[i], &keys[j]) == 0)
                    return 1;
        return 0;
    }
    const char **sorted = gw_malloc(n * sizeof(*sorted));
    memcpy(sorted, keys, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp);
    int dup = 0;
    for (size_t i = 1; i < n && !dup; i++)
        dup = cmp(&sorted[i - 1], &sorted[i]) == 0;
    free(sorted);
    return dup;
}

/* Attach a new node to the container on top of the stack (or make it the
 * root). Attaching at once keeps the tree whole, so on any error freeing the
 * root with yajl_tree_free releases everything. */
static int attach(builder_t *b, yajl_val v)
{
    if (b->depth == 0) {
        if (b->limits->require_object && v->type != yajl_t_object) {
            yajl_tree_free(v);
            return fail(b, "JSON body must be an object");
        }
        b->root = v;
        return 1;
    }
    frame_t *f = &b->stack[b->depth - 1];
    yajl_val parent = f->node;
    if (parent->type == yajl_t_object) {
        size_t n = parent->u.object.len;
        if (n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 8;
            parent->u.object.keys = gw_realloc(parent->u.object.keys, f->cap * sizeof(char *));
            parent->u.object.values = gw_realloc(parent->u.object.values, f->cap * sizeof(yajl_val));
        }
        parent->u.object.keys[n] = b->key;
        parent->u.object.values[n] = v;
        parent->u.object.len = n + 1;
        b->key = NULL;
    } else {
        size_t n = parent->u.array.len;
        if (n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 8;
            parent->u.array.values = gw_realloc(parent->u.array.values, f->cap * sizeof(yajl_val));
        }
        parent->u.array.values[n] = v;
        parent->u.array.len = n + 1;
    }
    return 1;
}

static yajl_val new_node(yajl_type type)
{
    yajl_val v = gw_calloc(1, sizeof(*v));
    v->type = type;
    return v;
}

static int on_null(void *ctx)
{
    return attach(ctx, new_node(yajl_t_null));
}

static int on_boolean(void *ctx, int value)
{
    return attach(ctx, new_node(value ? yajl_t_true : yajl_t_false));
}

static int on_number(void *ctx, const char *s, size_t len)
{
    yajl_val v = new_node(yajl_t_number);
    char *end;
    v->u.number.r = gw_strndup(s, len);
    errno = 0;
    v->u.number.i = strtoll(v->u.number.r, &end, 10);
    if (errno == 0 && *end == '\0')
        v->u.number.flags |= YAJL_NUMBER_INT_VALID;
    errno = 0;
    v->u.number.d = strtod(v->u.number.r, &end);
    if (errno == 0 && *end == '\0')
        v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
    return attach(ctx, v);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    if (len > 0 && memchr(s, '\0', len) != NULL)
        return fail(ctx, "JSON string contains \\u0000");
    yajl_val v = new_node(yajl_t_string);
    v->u.string = gw_strndup((const char *)s, len);
    return attach(ctx, v);
}

static int open_container(builder_t *b, yajl_type type)
{
    if (b->depth >= b->limits->max_depth)
        return fail(b, "JSON nested too deeply");
    yajl_val v = new_node(type);
    if (!attach(b, v))
        return 0;
    if (b->depth == b->stack_cap) {
        /* Grow only as deep as the input goes, not to max_depth up front. */
        size_t cap = b->stack_cap * 2;
        if (b->stack == b->small) {
            b->stack = gw_malloc(cap * sizeof(frame_t));
            memcpy(b->stack, b->small, sizeof(b->small));
        } else {
            b->stack = gw_realloc(b->stack, cap * sizeof(frame_t));
        }
        b->stack_cap = cap;
    }
    b->stack[b->depth].node = v;
    b->stack[b->depth].cap = 0;
    b->depth++;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, yajl_t_object);
}

static int on_map_key(void *ctx, const unsigned char *s, size_t len)
{
    builder_t *b = ctx;
    if (len > 0 && memchr(s, '\0', len) != NULL)
        return fail(b, "JSON key contains \\u0000");
    b->key = gw_strndup((const char *)s, len);
    return 1;
}

static int on_end_map(void *ctx)
{
    builder_t *b = ctx;
    yajl_val obj = b->stack[--b->depth].node;
    if (has_duplicate_keys(obj->u.object.keys, obj->u.object.len, b->limits->unique_keys_ci))
        return fail(b, "duplicate key in JSON object");
    return 1;
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, yajl_t_array);
}

static int on_end_array(void *ctx)
{
    builder_t *b = ctx;
    b->depth--;
    return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

static void *yajl_gw_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return gw_malloc(n);
}

static void *yajl_gw_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return gw_realloc(p, n);
}

static void yajl_gw_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

yajl_val gw_json_parse(const char *buf, size_t len, const gw_json_limits_t *limits, gw_err_t *err)
{
    gw_json_limits_t lim = limits ? *limits : (gw_json_limits_t){0};
    if (lim.max_bytes == 0)
        lim.max_bytes = GW_JSON_DEFAULT_MAX_BYTES;
    if (lim.max_depth == 0)
        lim.max_depth = GW_JSON_DEFAULT_MAX_DEPTH;

    if (len > lim.max_bytes) {
        GW_ERR(err, GW_E_PAYLOAD_TOO_LARGE, "JSON body too large");
        return NULL;
    }
    if (len == 0 || buf == NULL) {
        GW_ERR(err, GW_E_SCIM_INVALID_SYNTAX, "empty JSON body");
        return NULL;
    }
    /* yajl would reject it too, but a NUL is a sign of a smuggling attempt
     * worth its own message, and C-string consumers must never see one. */
    if (memchr(buf, '\0', len) != NULL) {
        GW_ERR(err, GW_E_SCIM_INVALID_SYNTAX, "NUL byte in JSON body");
        return NULL;
    }

    builder_t b = {.limits = &lim, .err = err};
    b.stack = b.small;
    b.stack_cap = sizeof(b.small) / sizeof(b.small[0]);

    yajl_alloc_funcs afs = {.malloc = yajl_gw_malloc, .realloc = yajl_gw_realloc, .free = yajl_gw_free};
    yajl_handle h = yajl_alloc(&callbacks, &afs, &b);
    yajl_config(h, yajl_allow_comments, 0);
    yajl_config(h, yajl_dont_validate_strings, 0);
    yajl_config(h, yajl_allow_trailing_garbage, 0);
    yajl_config(h, yajl_allow_multiple_values, 0);
    yajl_config(h, yajl_allow_partial_values, 0);

    yajl_status st = yajl_parse(h, (const unsigned char *)buf, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    if (st != yajl_status_ok && !b.failed) {
        /* yajl's verbose message quotes the input over several lines; the
         * short form names the problem only. */
        unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)buf, len);
        size_t at = yajl_get_bytes_consumed(h);
        GW_ERRF(err, GW_E_SCIM_INVALID_SYNTAX, "invalid JSON near byte %zu", at);
        size_t mlen = msg ? strcspn((const char *)msg, "\n") : 0;
        gw_err_detail(err, "%.*s", (int)mlen, msg ? (const char *)msg : "");
        yajl_free_error(h, msg);
    }
    yajl_free(h);
    if (b.stack != b.small)
        free(b.stack);
    free(b.key);
    if (st != yajl_status_ok) {
        yajl_tree_free(b.root);
        return NULL;
    }
    return b.root;
}

static void on_pool_dispose(void *p)
{
    yajl_tree_free(*(yajl_val *)p);
}

yajl_val gw_json_parse_pool(h2o_mem_pool_t *pool, const char *buf, size_t len, const gw_json_limits_t *limits,
                            gw_err_t *err)
{
    yajl_val v = gw_json_parse(buf, len, limits, err);
    if (v != NULL) {
        yajl_val *slot = h2o_mem_alloc_shared(pool, sizeof(*slot), on_pool_dispose);
        *slot = v;
    }
    return v;
}

yajl_val gw_json_get(yajl_val obj, const char *key)
{
    if (!YAJL_IS_OBJECT(obj))
        return NULL;
    for (size_t i = 0; i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], key) == 0)
            return obj->u.object.values[i];
    return NULL;
}

yajl_val gw_json_find_ci(yajl_val obj, const char *key)
{
    if (!YAJL_IS_OBJECT(obj))
        return NULL;
    /* SCIM's projection looks up every schema attribute in every document
     * of a list page; most keys differ in their first letter, and testing
     * that first skips nearly all strcasecmp calls. */
    int first = tolower((unsigned char)key[0]);
    for (size_t i = 0; i < obj->u.object.len; i++) {
        const char *k = obj->u.object.keys[i];
        if (tolower((unsigned char)k[0]) == first && strcasecmp(k, key) == 0)
            return obj->u.object.values[i];
    }
    return NULL;
}

const char *gw_json_str(yajl_val obj, const char *key)
{
    return YAJL_GET_STRING(gw_json_get(obj, key));
}

gw_json_get_t gw_json_get_bool(yajl_val obj, const char *key, bool *out)
{
    yajl_val v = gw_json_get(obj, key);
    if (v == NULL)
        return GW_JSON_ABSENT;
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
        return GW_JSON_WRONG_TYPE;
    *out = YAJL_IS_TRUE(v);
    return GW_JSON_OK;
}

gw_json_get_t gw_json_get_int64(yajl_val obj, const char *key, int64_t *out)
{
    yajl_val v = gw_json_get(obj, key);
    if (v == NULL)
        return GW_JSON_ABSENT;
    if (!YAJL_IS_INTEGER(v))
        return GW_JSON_WRONG_TYPE;
    *out = YAJL_GET_INTEGER(v);
    return GW_JSON_OK;
}
