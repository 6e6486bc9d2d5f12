/* yajl tree helpers for the SCIM JSON logic (see json_tree.h). */
#include "scim/json_tree.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/alloc.h"

static yajl_val new_val(yajl_type t)
{
    yajl_val v = gw_calloc(1, sizeof(*v));
    v->type = t;
    return v;
}

yajl_val scim_jt_object(void)
{
    return new_val(yajl_t_object);
}

yajl_val scim_jt_array(void)
{
    return new_val(yajl_t_array);
}

yajl_val scim_jt_string(const char *s)
{
    yajl_val v = new_val(yajl_t_string);
    v->u.string = gw_strdup(s);
    return v;
}

yajl_val scim_jt_bool(bool b)
{
    return new_val(b ? yajl_t_true : yajl_t_false);
}

yajl_val scim_jt_null(void)
{
    return new_val(yajl_t_null);
}

yajl_val scim_jt_copy(yajl_val v)
{
    if (v == NULL)
        return NULL;
    yajl_val c = new_val(v->type);
    switch (v->type) {
    case yajl_t_string:
        c->u.string = gw_strdup(v->u.string);
        break;
    case yajl_t_number:
        c->u.number = v->u.number;
        c->u.number.r = gw_strdup(v->u.number.r);
        break;
    case yajl_t_object:
        for (size_t i = 0; i < v->u.object.len; i++)
            scim_jt_set(c, v->u.object.keys[i], scim_jt_copy(v->u.object.values[i]));
        break;
    case yajl_t_array:
        for (size_t i = 0; i < v->u.array.len; i++)
            scim_jt_push(c, scim_jt_copy(v->u.array.values[i]));
        break;
    default:
        break;
    }
    return c;
}

static ssize_t key_index(yajl_val obj, const char *key)
{
    if (!YAJL_IS_OBJECT(obj))
        return -1;
    for (size_t i = 0; i < obj->u.object.len; i++)
        if (strcasecmp(obj->u.object.keys[i], key) == 0)
            return (ssize_t)i;
    return -1;
}

void scim_jt_set(yajl_val obj, const char *key, yajl_val v)
{
    ssize_t i = key_index(obj, key);
    if (i >= 0) {
        char *k = gw_strdup(key);
        free((char *)obj->u.object.keys[i]);
        obj->u.object.keys[i] = k;
        yajl_tree_free(obj->u.object.values[i]);
        obj->u.object.values[i] = v;
        return;
    }
    size_t n = obj->u.object.len;
    obj->u.object.keys = gw_realloc(obj->u.object.keys, (n + 1) * sizeof(char *));
    obj->u.object.values = gw_realloc(obj->u.object.values, (n + 1) * sizeof(yajl_val));
    obj->u.object.keys[n] = gw_strdup(key);
    obj->u.object.values[n] = v;
    obj->u.object.len = n + 1;
}

bool scim_jt_del(yajl_val obj, const char *key)
{
    ssize_t i = key_index(obj, key);
    if (i < 0)
        return false;
    free((char *)obj->u.object.keys[i]);
    yajl_tree_free(obj->u.object.values[i]);
    size_t rest = obj->u.object.len - (size_t)i - 1;
    memmove(&obj->u.object.keys[i], &obj->u.object.keys[i + 1], rest * sizeof(char *));
    memmove(&obj->u.object.values[i], &obj->u.object.values[i + 1], rest * sizeof(yajl_val));
    obj->u.object.len--;
    return true;
}

void scim_jt_push(yajl_val arr, yajl_val v)
{
    size_t n = arr->u.array.len;
    arr->u.array.values = gw_realloc(arr->u.array.values, (n + 1) * sizeof(yajl_val));
    arr->u.array.values[n] = v;
    arr->u.array.len = n + 1;
}

void scim_jt_remove_at(yajl_val arr, size_t i)
{
    yajl_tree_free(arr->u.array.values[i]);
    memmove(&arr->u.array.values[i], &arr->u.array.values[i + 1],
            (arr->u.array.len - i - 1) * sizeof(yajl_val));
    arr->u.array.len--;
}

bool scim_jt_equal(yajl_val a, yajl_val b, bool case_exact)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case yajl_t_string:
        return case_exact ? strcmp(a->u.string, b->u.string) == 0 : strcasecmp(a->u.string, b->u.string) == 0;
    case yajl_t_number:
        if (strcmp(a->u.number.r, b->u.number.r) == 0)
            return true;
        return (a->u.number.flags & YAJL_NUMBER_DOUBLE_VALID) &&
               (b->u.number.flags & YAJL_NUMBER_DOUBLE_VALID) && a->u.number.d == b->u.number.d;
    case yajl_t_object:
        if (a->u.object.len != b->u.object.len)
            return false;
        for (size_t i = 0; i < a->u.object.len; i++) {
            ssize_t j = key_index(b, a->u.object.keys[i]);
            if (j < 0 || !scim_jt_equal(a->u.object.values[i], b->u.object.values[j], case_exact))
                return false;
        }
        return true;
    case yajl_t_array:
        if (a->u.array.len != b->u.array.len)
            return false;
        for (size_t i = 0; i < a->u.array.len; i++)
            if (!scim_jt_equal(a->u.array.values[i], b->u.array.values[i], case_exact))
                return false;
        return true;
    default:
        return true;
    }
}

int scim_jt_truth(yajl_val v)
{
    if (YAJL_IS_TRUE(v))
        return 1;
    if (YAJL_IS_FALSE(v))
        return 0;
    if (YAJL_IS_STRING(v)) {
        if (strcasecmp(v->u.string, "true") == 0)
            return 1;
        if (strcasecmp(v->u.string, "false") == 0)
            return 0;
    }
    return -1;
}

bool scim_jt_unassigned(yajl_val v)
{
    return v == NULL || YAJL_IS_NULL(v) || (YAJL_IS_STRING(v) && v->u.string[0] == '\0') ||
           (YAJL_IS_ARRAY(v) && v->u.array.len == 0) || (YAJL_IS_OBJECT(v) && v->u.object.len == 0);
}

const scim_attr_t *scim_jt_attr(const scim_attr_t *attrs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(attrs[i].name, name) == 0)
            return &attrs[i];
    return NULL;
}

const scim_schema_t *scim_jt_extension(const scim_resource_type_t *rt, const char *urn)
{
    for (const scim_schema_t *const *e = rt->extensions; e != NULL && *e != NULL; e++)
        if (strcasecmp((*e)->id, urn) == 0)
            return *e;
    return NULL;
}

const scim_attr_t *scim_jt_top(const scim_resource_type_t *rt, const char *name, const scim_schema_t **schema)
{
    const scim_attr_t *a = scim_jt_attr(rt->core->attrs, rt->core->count, name);
    if (a != NULL) {
        *schema = rt->core;
        return a;
    }
    *schema = NULL;
    return scim_jt_attr(SCIM_COMMON_ATTRS, SCIM_COMMON_ATTR_COUNT, name);
}
