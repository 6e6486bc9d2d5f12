/* Shared by the SCIM JSON unit tests (include after <cmocka.h>): JSON written
 * with ' for " so fixtures read cleanly in C, exact tree comparison, and a
 * dump for failure messages. */
#ifndef REGAIN_TESTS_SCIM_JSON_FIXTURE_H
#define REGAIN_TESTS_SCIM_JSON_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "scim/json_tree.h"

/* Parses `s` after turning every ' into "; fails the test on bad JSON. The
 * caller frees the tree with yajl_tree_free. */
static inline yajl_val J(const char *s)
{
    char *t = strdup(s);
    for (char *c = t; *c; c++)
        if (*c == '\'')
            *c = '"';
    gw_err_t err;
    yajl_val v = gw_json_parse(t, strlen(t), NULL, &err);
    if (v == NULL)
        fail_msg("test JSON: %s: %s", err.public, t);
    free(t);
    return v;
}

/* Exact equality: key names exactly, any key order, array order kept. */
static inline bool same(yajl_val a, yajl_val b)
{
    if (a == NULL || b == NULL || a->type != b->type)
        return a == b;
    if (YAJL_IS_OBJECT(a)) {
        if (a->u.object.len != b->u.object.len)
            return false;
        for (size_t i = 0; i < a->u.object.len; i++) {
            yajl_val bv = gw_json_get(b, a->u.object.keys[i]);
            if (bv == NULL || !same(a->u.object.values[i], bv))
                return false;
        }
        return true;
    }
    return scim_jt_equal(a, b, true);
}

static inline void fixture_gen(yajl_gen g, yajl_val v)
{
    switch (v->type) {
    case yajl_t_string:
        yajl_gen_string(g, (const unsigned char *)v->u.string, strlen(v->u.string));
        break;
    case yajl_t_number:
        yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
        break;
    case yajl_t_object:
        yajl_gen_map_open(g);
        for (size_t i = 0; i < v->u.object.len; i++) {
            yajl_gen_string(g, (const unsigned char *)v->u.object.keys[i], strlen(v->u.object.keys[i]));
            fixture_gen(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
        break;
    case yajl_t_array:
        yajl_gen_array_open(g);
        for (size_t i = 0; i < v->u.array.len; i++)
            fixture_gen(g, v->u.array.values[i]);
        yajl_gen_array_close(g);
        break;
    case yajl_t_true:
    case yajl_t_false:
        yajl_gen_bool(g, YAJL_IS_TRUE(v));
        break;
    default:
        yajl_gen_null(g);
    }
}

/* Writes `v` to stderr as a TAP comment, to show what a test got. */
static inline void dump(const char *label, yajl_val v)
{
    const unsigned char *out;
    size_t len;
    yajl_gen g = yajl_gen_alloc(NULL);
    fixture_gen(g, v);
    yajl_gen_get_buf(g, &out, &len);
    fprintf(stderr, "# %s: %.*s\n", label, (int)len, out);
    yajl_gen_free(g);
}

#endif
