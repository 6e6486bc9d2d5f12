/* The response representation of a resource: `attributes` and
 * `excludedAttributes` (RFC 7644 §3.9), the `returned` characteristic
 * (RFC 7643 §2.2, §7), meta.location and meta.version; pure.
 *
 * Output order is canonical: schemas, id, externalId, the core attributes
 * in definition order, the extensions, meta. Keys use the definitions' case;
 * keys of the document no definition knows are not written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scim/json_tree.h"

/* The longest `attributes` / `excludedAttributes` accepted: far more names
 * than the schemas have attributes and sub-attributes, each at most as long
 * as resolve_name reads. A list page projects every resource with the list
 * parsed again, so its length multiplies by the page size. */
#define PROJECT_MAX_LIST_NAMES 256
#define PROJECT_MAX_LIST_BYTES (PROJECT_MAX_LIST_NAMES * 256)

/* One name of the list, resolved: a whole extension, an attribute, or one
 * sub-attribute of it. */
typedef struct {
    const scim_schema_t *ext_whole;
    const scim_attr_t *attr;
    const scim_attr_t *sub;
} pname_t;

/* Every name of an accepted list is honoured (RFC 7644 §3.9): the names
 * were once cut after 64, silently, while lists of 256 were accepted. A
 * name given twice is kept once, so a page's projections stay short. */
typedef struct {
    pname_t names[PROJECT_MAX_LIST_NAMES];
    size_t n;
    bool include; /* an `attributes` list (else `excludedAttributes` or none) */
    bool any;     /* a list was given */
} plist_t;

static int add_name(plist_t *pl, pname_t pn)
{
    for (size_t i = 0; i < pl->n; i++)
        if (pl->names[i].ext_whole == pn.ext_whole && pl->names[i].attr == pn.attr &&
            pl->names[i].sub == pn.sub)
            return 0;
    if (pl->n == PROJECT_MAX_LIST_NAMES)
        return -1;
    pl->names[pl->n++] = pn;
    return 0;
}

/* Resolves "attr", "attr.sub", "urn:...:attr[.sub]" or an extension URN
 * (RFC 7644 §3.10), case-insensitively. Unknown names select nothing: a
 * client asking for an attribute this server lacks gets the others. -1
 * past PROJECT_MAX_LIST_NAMES names (the list was not checked). */
static int resolve_name(const scim_resource_type_t *rt, const char *s, size_t len, plist_t *pl)
{
    char buf[256];
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    pname_t pn = {0};
    const scim_schema_t *ext = scim_jt_extension(rt, buf), *in = NULL;
    if (ext != NULL) {
        pn.ext_whole = ext;
        return add_name(pl, pn);
    }
    char *name = buf;
    size_t cl = strlen(rt->core->id);
    if (strncasecmp(buf, rt->core->id, cl) == 0 && buf[cl] == ':') {
        name = buf + cl + 1;
    } else {
        for (const scim_schema_t *const *e = rt->extensions; e != NULL && *e != NULL; e++) {
            size_t el = strlen((*e)->id);
            if (strncasecmp(buf, (*e)->id, el) == 0 && buf[el] == ':') {
                in = *e;
                name = buf + el + 1;
            }
        }
    }
    char *dot = strchr(name, '.');
    if (dot != NULL)
        *dot = '\0';
    if (in != NULL) {
        pn.attr = scim_jt_attr(in->attrs, in->count, name);
    } else {
        const scim_schema_t *sch;
        pn.attr = scim_jt_top(rt, name, &sch);
        if (pn.attr == NULL && name == buf) /* an extension attribute without its URN */
            for (const scim_schema_t *const *e = rt->extensions; pn.attr == NULL && e && *e; e++)
                pn.attr = scim_jt_attr((*e)->attrs, (*e)->count, name);
    }
    if (pn.attr == NULL)
        return 0;
    if (dot != NULL && (pn.sub = scim_jt_attr(pn.attr->sub_attrs, pn.attr->sub_count, dot + 1)) == NULL)
        return 0;
    return add_name(pl, pn);
}

static int parse_list(const scim_resource_type_t *rt, const char *s, plist_t *pl, gw_err_t *err)
{
    while (*s != '\0') {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *b = s, *e = s + len;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (resolve_name(rt, b, (size_t)(e - b), pl) != 0)
            return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE,
                           "attributes or excludedAttributes names more than %d", PROJECT_MAX_LIST_NAMES);
        s = end ? end + 1 : s + len;
    }
    return 0;
}

/* How an attribute is selected by the list: 0 not named, 1 named whole
 * (or through its extension), 2 only some sub-attributes named. */
static int named(const plist_t *pl, const scim_schema_t *ext, const scim_attr_t *a)
{
    int r = 0;
    for (size_t i = 0; i < pl->n; i++) {
        const pname_t *pn = &pl->names[i];
        if ((ext != NULL && pn->ext_whole == ext) || (pn->attr == a && pn->sub == NULL))
            return 1;
        if (pn->attr == a)
            r = 2;
    }
    return r;
}

static bool sub_named(const plist_t *pl, const scim_attr_t *a, const scim_attr_t *s)
{
    for (size_t i = 0; i < pl->n; i++)
        if (pl->names[i].attr == a && pl->names[i].sub == s)
            return true;
    return false;
}

/* Is `a` written at all, and are its sub-attributes filtered (*partial)? */
static bool wanted(const plist_t *pl, const scim_schema_t *ext, const scim_attr_t *a, int *how)
{
    *how = named(pl, ext, a);
    if (a->returned == SCIM_RET_NEVER)
        return false;
    if (a->returned == SCIM_RET_ALWAYS) {
        *how = 1; /* §3.9: excludedAttributes has no effect on these */
        return true;
    }
    if (pl->include)
        return *how != 0;
    if (a->returned == SCIM_RET_REQUEST)
        return false;
    return *how != 1; /* excluded whole: gone; partly excluded: filtered */
}

static bool sub_wanted(const plist_t *pl, const scim_attr_t *a, const scim_attr_t *s, int how)
{
    if (s->returned == SCIM_RET_NEVER)
        return false;
    if (s->returned == SCIM_RET_ALWAYS)
        return true;
    bool n = sub_named(pl, a, s);
    if (s->returned == SCIM_RET_REQUEST)
        return pl->include && n;
    if (how != 2)
        return true;
    return pl->include ? n : !n;
}

static void write_scalar(gw_jw_t *w, yajl_val v)
{
    switch (v->type) {
    case yajl_t_string:
        gw_jw_str(w, v->u.string);
        break;
    case yajl_t_number:
        /* the text of a number the parser or the database produced */
        gw_jw_raw(w, v->u.number.r, strlen(v->u.number.r));
        break;
    case yajl_t_true:
    case yajl_t_false:
        gw_jw_bool(w, YAJL_IS_TRUE(v));
        break;
    default:
        gw_jw_null(w);
        break;
    }
}

typedef struct {
    const scim_resource_type_t *rt;
    const plist_t *pl;
    const char *base_url;
    const char *id;
    gw_jw_t *w;
} proj_t;

/* meta.version as an entity tag (RFC 7644 §3.14): W/"<n>". */
static void write_version(gw_jw_t *w, yajl_val v)
{
    char buf[96];
    const char *s = YAJL_IS_NUMBER(v) ? v->u.number.r : YAJL_IS_STRING(v) ? v->u.string : NULL;
    if (s == NULL)
        return;
    if (strncmp(s, "W/\"", 3) == 0) {
        gw_jw_kv_str(w, "version", s);
        return;
    }
    snprintf(buf, sizeof(buf), "W/\"%.80s\"", s);
    gw_jw_kv_str(w, "version", buf);
}

static void write_complex(proj_t *p, const scim_attr_t *a, yajl_val v, int how, bool is_meta)
{
    gw_jw_obj_open(p->w);
    for (size_t i = 0; i < a->sub_count; i++) {
        const scim_attr_t *s = &a->sub_attrs[i];
        if (!sub_wanted(p->pl, a, s, how))
            continue;
        if (is_meta && strcmp(s->name, "location") == 0) {
            if (p->id != NULL && p->base_url != NULL) {
                size_t n = strlen(p->base_url) + strlen(p->rt->endpoint) + strlen(p->id) + 2;
                char *loc = malloc(n);
                if (loc != NULL) {
                    snprintf(loc, n, "%s%s/%s", p->base_url, p->rt->endpoint, p->id);
                    gw_jw_kv_str(p->w, "location", loc);
                    free(loc);
                }
            }
            continue;
        }
        yajl_val sv = gw_json_find_ci(v, s->name);
        if (sv == NULL || YAJL_IS_NULL(sv) || YAJL_IS_OBJECT(sv) || YAJL_IS_ARRAY(sv))
            continue;
        if (is_meta && strcmp(s->name, "version") == 0) {
            write_version(p->w, sv);
            continue;
        }
        gw_jw_key(p->w, s->name);
        write_scalar(p->w, sv);
    }
    gw_jw_obj_close(p->w);
}

static bool has_content(const scim_attr_t *a, yajl_val v)
{
    if (scim_jt_unassigned(v))
        return false;
    if (a->multi_valued && !YAJL_IS_ARRAY(v))
        return false;
    if (!a->multi_valued && a->type == SCIM_T_COMPLEX && !YAJL_IS_OBJECT(v))
        return false;
    return true;
}

static void write_attr(proj_t *p, const scim_schema_t *ext, const scim_attr_t *a, yajl_val holder)
{
    int how;
    bool is_meta = ext == NULL && strcmp(a->name, "meta") == 0;
    yajl_val v = gw_json_find_ci(holder, a->name);
    if (!wanted(p->pl, ext, a, &how) || (!is_meta && !has_content(a, v)))
        return;
    if (is_meta && !YAJL_IS_OBJECT(v) && p->id == NULL)
        return;
    gw_jw_key(p->w, a->name);
    if (a->multi_valued) {
        gw_jw_arr_open(p->w);
        for (size_t i = 0; i < v->u.array.len; i++) {
            yajl_val e = v->u.array.values[i];
            if (a->type == SCIM_T_COMPLEX && YAJL_IS_OBJECT(e))
                write_complex(p, a, e, how, false);
            else if (a->type != SCIM_T_COMPLEX && !YAJL_IS_OBJECT(e) && !YAJL_IS_ARRAY(e))
                write_scalar(p->w, e);
        }
        gw_jw_arr_close(p->w);
    } else if (a->type == SCIM_T_COMPLEX) {
        write_complex(p, a, v, how, is_meta);
    } else {
        write_scalar(p->w, v);
    }
}

/* Whether anything of extension `ext` would be written. */
static bool ext_has(proj_t *p, const scim_schema_t *ext, yajl_val obj)
{
    for (size_t i = 0; i < ext->count; i++) {
        int how;
        if (wanted(p->pl, ext, &ext->attrs[i], &how) &&
            has_content(&ext->attrs[i], gw_json_find_ci(obj, ext->attrs[i].name)))
            return true;
    }
    return false;
}

static int list_check(const char *list, const char *param, gw_err_t *err)
{
    if (list == NULL)
        return 0;
    size_t names = 1, len = 0;
    for (; list[len] != '\0'; len++) {
        names += list[len] == ',';
        if (names > PROJECT_MAX_LIST_NAMES || len >= PROJECT_MAX_LIST_BYTES)
            return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE,
                           "%s names more than %d attributes or is longer than %d bytes", param,
                           PROJECT_MAX_LIST_NAMES, PROJECT_MAX_LIST_BYTES);
    }
    return 0;
}

int scim_project_lists_check(const char *attributes, const char *excluded_attributes, gw_err_t *err)
{
    if (attributes != NULL && excluded_attributes != NULL)
        /* as scim_project says, but once per request: also for a page
         * without resources */
        return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "give either attributes or excludedAttributes, not both");
    if (list_check(attributes, "attributes", err) != 0)
        return -1;
    return list_check(excluded_attributes, "excludedAttributes", err);
}

int scim_project(const scim_resource_type_t *rt, yajl_val doc, const char *attributes,
                 const char *excluded_attributes, const char *base_url, gw_jw_t *w, gw_err_t *err)
{
    plist_t pl = {0};
    if (!YAJL_IS_OBJECT(doc))
        return GW_ERR(err, GW_E_INTERNAL, "no document to write");
    if (attributes != NULL && excluded_attributes != NULL)
        /* §3.9: "the mutually exclusive URL query parameters 'attributes' or
         * 'excludedAttributes'" */
        return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "give either attributes or excludedAttributes, not both");
    if (attributes != NULL) {
        pl.include = pl.any = true;
        if (parse_list(rt, attributes, &pl, err) != 0)
            return -1;
    } else if (excluded_attributes != NULL) {
        pl.any = true;
        if (parse_list(rt, excluded_attributes, &pl, err) != 0)
            return -1;
    }
    proj_t p = {.rt = rt, .pl = &pl, .base_url = base_url, .w = w};
    p.id = YAJL_GET_STRING(gw_json_find_ci(doc, "id"));

    gw_jw_obj_open(w);
    /* schemas is always returned; it lists what the document holds. */
    gw_jw_key(w, "schemas");
    gw_jw_arr_open(w);
    gw_jw_str(w, rt->core->id);
    for (const scim_schema_t *const *e = rt->extensions; e != NULL && *e != NULL; e++) {
        yajl_val x = gw_json_find_ci(doc, (*e)->id);
        if (YAJL_IS_OBJECT(x) && ext_has(&p, *e, x))
            gw_jw_str(w, (*e)->id);
    }
    gw_jw_arr_close(w);
    for (size_t i = 0; i < SCIM_COMMON_ATTR_COUNT; i++)
        if (strcmp(SCIM_COMMON_ATTRS[i].name, "meta") != 0)
            write_attr(&p, NULL, &SCIM_COMMON_ATTRS[i], doc);
    for (size_t i = 0; i < rt->core->count; i++)
        write_attr(&p, NULL, &rt->core->attrs[i], doc);
    for (const scim_schema_t *const *e = rt->extensions; e != NULL && *e != NULL; e++) {
        yajl_val x = gw_json_find_ci(doc, (*e)->id);
        if (!YAJL_IS_OBJECT(x) || !ext_has(&p, *e, x))
            continue;
        gw_jw_key(w, (*e)->id);
        gw_jw_obj_open(w);
        for (size_t i = 0; i < (*e)->count; i++)
            write_attr(&p, *e, &(*e)->attrs[i], x);
        gw_jw_obj_close(w);
    }
    for (size_t i = 0; i < SCIM_COMMON_ATTR_COUNT; i++)
        if (strcmp(SCIM_COMMON_ATTRS[i].name, "meta") == 0)
            write_attr(&p, NULL, &SCIM_COMMON_ATTRS[i], doc);
    gw_jw_obj_close(w);
    return gw_jw_error(w, err);
}
