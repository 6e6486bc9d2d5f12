/* Fuzz target: strict JSON parser and writer.
 *
 * Every accepted document is written back with gw_jw and must parse again to
 * the same tree; a tree must also satisfy the limits it was parsed with. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/json.h"

static void write_value(gw_jw_t *w, yajl_val v)
{
    switch (v->type) {
    case yajl_t_string:
        gw_jw_str(w, v->u.string);
        break;
    case yajl_t_number:
        gw_jw_raw(w, v->u.number.r, strlen(v->u.number.r));
        break;
    case yajl_t_object:
        gw_jw_obj_open(w);
        for (size_t i = 0; i < v->u.object.len; i++) {
            gw_jw_key(w, v->u.object.keys[i]);
            write_value(w, v->u.object.values[i]);
        }
        gw_jw_obj_close(w);
        break;
    case yajl_t_array:
        gw_jw_arr_open(w);
        for (size_t i = 0; i < v->u.array.len; i++)
            write_value(w, v->u.array.values[i]);
        gw_jw_arr_close(w);
        break;
    case yajl_t_true:
    case yajl_t_false:
        gw_jw_bool(w, v->type == yajl_t_true);
        break;
    case yajl_t_null:
        gw_jw_null(w);
        break;
    default:
        abort();
    }
}

/* Same tree; returns the depth of `a` and aborts on any difference. */
static unsigned same(yajl_val a, yajl_val b)
{
    unsigned depth = 0, d;
    if (a->type != b->type)
        abort();
    switch (a->type) {
    case yajl_t_string:
        if (strcmp(a->u.string, b->u.string) != 0)
            abort();
        break;
    case yajl_t_number:
        if (strcmp(a->u.number.r, b->u.number.r) != 0 || a->u.number.flags != b->u.number.flags)
            abort();
        break;
    case yajl_t_object:
        if (a->u.object.len != b->u.object.len)
            abort();
        for (size_t i = 0; i < a->u.object.len; i++) {
            if (strcmp(a->u.object.keys[i], b->u.object.keys[i]) != 0)
                abort();
            for (size_t j = 0; j < i; j++)
                if (strcmp(a->u.object.keys[i], a->u.object.keys[j]) == 0)
                    abort(); /* a duplicate got through */
            if ((d = same(a->u.object.values[i], b->u.object.values[i])) > depth)
                depth = d;
        }
        depth++;
        break;
    case yajl_t_array:
        if (a->u.array.len != b->u.array.len)
            abort();
        for (size_t i = 0; i < a->u.array.len; i++)
            if ((d = same(a->u.array.values[i], b->u.array.values[i])) > depth)
                depth = d;
        depth++;
        break;
    default:
        break;
    }
    return depth;
}

static void one(const char *s, size_t len, const gw_json_limits_t *lim)
{
    gw_err_t err;
    yajl_val v = gw_json_parse(s, len, lim, &err);
    if (v == NULL) {
        if ((err.kind != GW_E_SCIM_INVALID_SYNTAX && err.kind != GW_E_PAYLOAD_TOO_LARGE) ||
            strchr(err.public, '\n') != NULL)
            abort();
        return;
    }
    if (lim->require_object && !YAJL_IS_OBJECT(v))
        abort();
    gw_jw_t *w = gw_jw_new();
    write_value(w, v);
    size_t olen;
    const char *out = gw_jw_buf(w, &olen);
    if (out == NULL)
        abort(); /* the parser let through something the writer refuses */
    gw_json_limits_t relaxed = *lim;
    relaxed.max_bytes = 0;
    yajl_val again = gw_json_parse(out, olen, &relaxed, &err);
    if (again == NULL)
        abort();
    unsigned depth = same(v, again);
    if (depth > (lim->max_depth ? lim->max_depth : GW_JSON_DEFAULT_MAX_DEPTH))
        abort();
    /* getters on arbitrary trees */
    if (YAJL_IS_OBJECT(v) && v->u.object.len > 0) {
        const char *k = v->u.object.keys[0];
        bool b;
        int64_t i;
        if (gw_json_get(v, k) != v->u.object.values[0] || gw_json_find_ci(v, k) == NULL)
            abort();
        gw_json_str(v, k);
        gw_json_get_bool(v, k, &b);
        gw_json_get_int64(v, k, &i);
    }
    yajl_tree_free(again);
    gw_jw_free(w);
    yajl_tree_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const gw_json_limits_t loose = {0};
    static const gw_json_limits_t scim = {
        .max_bytes = 4096, .max_depth = 6, .require_object = true, .unique_keys_ci = true};
    one((const char *)data, size, &loose);
    one((const char *)data, size, &scim);
    return 0;
}
