/* The PATCH engine (RFC 7644 §3.5.2): a PatchOp request applied to a
 * canonical document, giving a new document; pure.
 *
 * Operations apply in order to a private copy, each to the result of the
 * previous one; the copy becomes the result only when all succeed, so the
 * caller's document is never touched (§3.5.2: "A PATCH request, regardless
 * of the number of operations, SHALL be treated as atomic").
 *
 * Types and unknown sub-attributes inside values are left to
 * scim_resource_check, which the caller runs on the result; this file
 * decides where values go and enforces mutability, which differs for PATCH:
 * §3.5.2 "a client MUST NOT modify an attribute that has mutability
 * readOnly or immutable. However, a client MAY add a value to an immutable
 * attribute if the attribute had no previous value." A readOnly value given
 * equal to the current one is accepted as a no-op (clients echo `id`). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "gateway/alloc.h"
#include "scim/json_tree.h"

/* Far above what Entra ID (one operation per attribute) or Okta send; the
 * body size limit bounds the values. */
#define PATCH_MAX_OPERATIONS SCIM_BULK_MAX_OPERATIONS

typedef enum { OP_ADD, OP_REMOVE, OP_REPLACE } op_t;

/* Where a member id last noted sits: list (&members->add or ->remove) and
 * index (see member_note). */
typedef struct {
    const char *id; /* NULL: empty slot */
    yajl_val *list;
    size_t at;
} member_slot_t;

typedef struct {
    const scim_resource_type_t *rt;
    h2o_mem_pool_t *pool;
    char **password;
    scim_members_ops_t *members; /* NULL: members are edited in the document */
    member_slot_t *member_slots; /* open addressing by id; NULL until needed */
    size_t member_cap, member_count;
    size_t targets_left; /* see count_target */
    gw_err_t *err;
} patch_t;

/* Where an operation points. */
typedef struct {
    const scim_schema_t *ext;    /* extension holding the attribute, or NULL */
    bool whole_ext;              /* the path is an extension's URN */
    const scim_attr_t *attr;     /* NULL with whole_ext */
    const scim_attr_t *sub;      /* attr.sub, or the sub-attribute after a filter */
    const scim_filter_t *filter; /* the value filter's inner expression, or NULL */
    const char *text;            /* the path as written, for messages */
} target_t;

/* ---- value filters on one element (RFC 7644 §3.4.2.2 operators) ------------- */

static int cmp_values(const scim_filter_t *f, yajl_val v, bool case_exact)
{
    /* returns <0, 0, >0, or 2 when not comparable */
    if (f->value_kind == SCIM_V_STRING && YAJL_IS_STRING(v))
        return case_exact ? strcmp(v->u.string, f->value) : strcasecmp(v->u.string, f->value);
    if (f->value_kind == SCIM_V_NUMBER && YAJL_IS_NUMBER(v)) {
        double a = YAJL_GET_DOUBLE(v), b = strtod(f->value, NULL);
        return a < b ? -1 : a > b ? 1 : 0;
    }
    if (f->value_kind == SCIM_V_TRUE || f->value_kind == SCIM_V_FALSE) {
        int t = scim_jt_truth(v);
        if (t < 0)
            return 2;
        return t == (f->value_kind == SCIM_V_TRUE) ? 0 : 1;
    }
    return 2;
}

static bool has_affix(const char *s, const char *x, bool case_exact, int where)
{
    size_t n = strlen(s), m = strlen(x);
    if (m > n)
        return false;
    if (where == 0) { /* co */
        for (size_t i = 0; i + m <= n; i++)
            if ((case_exact ? strncmp(s + i, x, m) : strncasecmp(s + i, x, m)) == 0)
                return true;
        return false;
    }
    const char *at = where < 0 ? s : s + n - m;
    return (case_exact ? strncmp(at, x, m) : strncasecmp(at, x, m)) == 0;
}

static bool eval(const scim_attr_t *a, const scim_filter_t *f, yajl_val e)
{
    switch (f->kind) {
    case SCIM_F_AND:
        return eval(a, f->left, e) && eval(a, f->right, e);
    case SCIM_F_OR:
        return eval(a, f->left, e) || eval(a, f->right, e);
    case SCIM_F_NOT:
        return !eval(a, f->left, e);
    case SCIM_F_VALUE_PATH:
        return false; /* no nesting inside a value path */
    case SCIM_F_CMP:
        break;
    }
    /* Inside a value path, names are sub-attributes ("type"); accept the
     * long form "emails.type" too. */
    const char *name = f->path.attr;
    if (f->path.sub != NULL && strcasecmp(f->path.attr, a->name) == 0)
        name = f->path.sub;
    else if (f->path.sub != NULL)
        return false;
    const scim_attr_t *s = scim_jt_attr(a->sub_attrs, a->sub_count, name);
    bool case_exact = s ? s->case_exact : a->case_exact;
    yajl_val v;
    if (YAJL_IS_OBJECT(e))
        v = gw_json_find_ci(e, name);
    else
        v = strcasecmp(name, "value") == 0 ? e : NULL; /* simple multi-valued */
    if (f->op == SCIM_CMP_PR)
        return !scim_jt_unassigned(v);
    if (f->value_kind == SCIM_V_NULL) {
        bool absent = v == NULL || YAJL_IS_NULL(v);
        return f->op == SCIM_CMP_EQ ? absent : f->op == SCIM_CMP_NE ? !absent : false;
    }
    if (v == NULL || YAJL_IS_NULL(v))
        return f->op == SCIM_CMP_NE;
    int c = cmp_values(f, v, case_exact);
    if (c == 2)
        return f->op == SCIM_CMP_NE;
    switch (f->op) {
    case SCIM_CMP_EQ:
        return c == 0;
    case SCIM_CMP_NE:
        return c != 0;
    case SCIM_CMP_GT:
        return c > 0 && c != 2;
    case SCIM_CMP_GE:
        return c >= 0 && c != 2;
    case SCIM_CMP_LT:
        return c < 0;
    case SCIM_CMP_LE:
        return c <= 0;
    case SCIM_CMP_CO:
    case SCIM_CMP_SW:
    case SCIM_CMP_EW:
        if (!YAJL_IS_STRING(v) || f->value_kind != SCIM_V_STRING)
            return false;
        return has_affix(v->u.string, f->value, case_exact,
                         f->op == SCIM_CMP_CO   ? 0
                         : f->op == SCIM_CMP_SW ? -1
                                                : 1);
    default:
        return false;
    }
}

/* The sub-attributes an `eq`-only filter pins ("type eq \"work\" and ..."),
 * to build the value `add` creates when nothing matches; false when the
 * filter says more than that. */
static bool filter_to_object(const scim_attr_t *a, const scim_filter_t *f, yajl_val o)
{
    if (f->kind == SCIM_F_AND)
        return filter_to_object(a, f->left, o) && filter_to_object(a, f->right, o);
    if (f->kind != SCIM_F_CMP || f->op != SCIM_CMP_EQ || f->path.sub != NULL)
        return false;
    const scim_attr_t *s = scim_jt_attr(a->sub_attrs, a->sub_count, f->path.attr);
    if (s == NULL)
        return false;
    switch (f->value_kind) {
    case SCIM_V_STRING:
        scim_jt_set(o, s->name, scim_jt_string(f->value));
        return true;
    case SCIM_V_TRUE:
    case SCIM_V_FALSE:
        scim_jt_set(o, s->name, scim_jt_bool(f->value_kind == SCIM_V_TRUE));
        return true;
    default:
        return false;
    }
}

/* ---- paths ----------------------------------------------------------------------- */

/* Resolves a PATCH path (or, without path, a key of the value object:
 * Entra ID writes "name.givenName" and URN-prefixed names there). `kind` is
 * the error for an unknown attribute: invalidPath for `path`, invalidSyntax
 * for a key of a value. */
static int resolve(patch_t *p, const char *s, gw_err_kind_t kind, target_t *t)
{
    memset(t, 0, sizeof(*t));
    t->text = s;
    if ((t->ext = scim_jt_extension(p->rt, s)) != NULL) {
        t->whole_ext = true;
        return 0;
    }
    scim_patch_path_t pp;
    gw_err_t perr;
    if (scim_path_parse(p->pool, s, strlen(s), &pp, &perr) != 0) {
        *p->err = perr;
        if (kind != GW_E_SCIM_INVALID_PATH)
            p->err->kind = kind;
        return -1;
    }
    if (pp.path.uri != NULL) {
        if (strcasecmp(pp.path.uri, p->rt->core->id) == 0) {
            t->ext = NULL;
        } else if ((t->ext = scim_jt_extension(p->rt, pp.path.uri)) == NULL) {
            return GW_ERRF(p->err, kind, "unknown schema in '%.100s'", s);
        }
    }
    if (t->ext != NULL) {
        t->attr = scim_jt_attr(t->ext->attrs, t->ext->count, pp.path.attr);
    } else {
        const scim_schema_t *sch;
        t->attr = scim_jt_top(p->rt, pp.path.attr, &sch);
    }
    if (t->attr == NULL)
        return GW_ERRF(p->err, kind, "unknown attribute '%.100s'", s);
    const char *sub = pp.value_filter ? pp.filter_sub : pp.path.sub;
    if (sub != NULL) {
        if (t->attr->type != SCIM_T_COMPLEX ||
            (t->sub = scim_jt_attr(t->attr->sub_attrs, t->attr->sub_count, sub)) == NULL)
            return GW_ERRF(p->err, kind, "unknown attribute '%.100s'", s);
    }
    if (pp.value_filter != NULL) {
        /* valuePath filters select values of a multi-valued attribute. */
        if (!t->attr->multi_valued)
            return GW_ERRF(p->err, GW_E_SCIM_INVALID_PATH, "'%s' is not multi-valued", t->attr->name);
        t->filter = pp.value_filter;
        if (t->filter->kind == SCIM_F_VALUE_PATH)
            t->filter = t->filter->left;
    }
    return 0;
}

/* ---- mutability ------------------------------------------------------------------ */

static const scim_attr_t *leaf(const target_t *t)
{
    return t->sub ? t->sub : t->attr;
}

/* readOnly / immutable against the current value `cur` of the target. */
static int writable(patch_t *p, const target_t *t, yajl_val cur, yajl_val value, op_t op)
{
    const scim_attr_t *a = t->attr;
    scim_mutability_t m = a->mutability;
    if (t->sub != NULL && t->sub->mutability != SCIM_MUT_READ_WRITE && m == SCIM_MUT_READ_WRITE)
        m = t->sub->mutability;
    if (m == SCIM_MUT_READ_ONLY) {
        if (op != OP_REMOVE && value != NULL && scim_jt_equal(cur, value, leaf(t)->case_exact))
            return 1; /* the current value given back: nothing to do */
        return GW_ERRF(p->err, GW_E_SCIM_MUTABILITY, "'%s' is readOnly", t->text);
    }
    if (m == SCIM_MUT_IMMUTABLE && !scim_jt_unassigned(cur)) {
        if (op != OP_REMOVE && value != NULL && scim_jt_equal(cur, value, leaf(t)->case_exact))
            return 1;
        return GW_ERRF(p->err, GW_E_SCIM_MUTABILITY, "'%s' is immutable", t->text);
    }
    return 0;
}

/* RFC 7644 §3.5.2.2: removing a required attribute is a mutability error. */
static int removable(patch_t *p, const scim_attr_t *a)
{
    if (a->required)
        return GW_ERRF(p->err, GW_E_SCIM_MUTABILITY, "'%s' is required", a->name);
    return 0;
}

/* FNV-1a over a string, ASCII case folded when `fold`, for the hash tables
 * below (member ids; array elements). */
#define FNV_BASIS 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

static uint64_t hash_text(uint64_t h, const char *s, bool fold)
{
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)(fold ? tolower((unsigned char)*s) : *s)) * FNV_PRIME;
    return h;
}

/* ---- group members kept outside the document --------------------------------- */

/* The slot of `id` in the table of noted members: its own, or the empty one
 * where it goes. */
static member_slot_t *member_slot(patch_t *p, const char *id)
{
    size_t k = (size_t)hash_text(FNV_BASIS, id, false) & (p->member_cap - 1);
    while (p->member_slots[k].id != NULL && strcmp(p->member_slots[k].id, id) != 0)
        k = (k + 1) & (p->member_cap - 1);
    return &p->member_slots[k];
}

/* Room for one more id, at most half full. */
static void member_slots_grow(patch_t *p)
{
    if (2 * (p->member_count + 1) <= p->member_cap)
        return;
    member_slot_t *old = p->member_slots;
    size_t n = p->member_cap;
    p->member_cap = n ? 2 * n : 64;
    p->member_slots = h2o_mem_alloc_pool(p->pool, sizeof(*old) * p->member_cap);
    memset(p->member_slots, 0, sizeof(*old) * p->member_cap);
    for (size_t i = 0; i < n; i++)
        if (old[i].id != NULL)
            *member_slot(p, old[i].id) = old[i];
}

/* Adds `value` (the id) to one list of members_ops and takes it out of
 * wherever it was noted before, so the lists stay disjoint and their order
 * of application does not matter. A table finds that place: a scan of both
 * lists per id made n ids n² comparisons (50,000 ids in 1 MB held the event
 * loop for 15 s). The element taken out leaves a hole (NULL), which
 * members_compact closes at the end. */
static void member_note(patch_t *p, yajl_val *into, const char *id, const char *type)
{
    member_slots_grow(p);
    member_slot_t *s = member_slot(p, id);
    if (s->id != NULL) {
        yajl_tree_free((*s->list)->u.array.values[s->at]);
        (*s->list)->u.array.values[s->at] = NULL;
    } else {
        s->id = h2o_strdup(p->pool, id, SIZE_MAX).base;
        p->member_count++;
    }
    if (*into == NULL)
        *into = scim_jt_array();
    yajl_val o = scim_jt_object();
    scim_jt_set(o, "value", scim_jt_string(id));
    if (type != NULL)
        scim_jt_set(o, "type", scim_jt_string(type));
    scim_jt_push(*into, o);
    s->list = into;
    s->at = (*into)->u.array.len - 1;
}

/* Forgets every noted member (the lists were emptied). */
static void members_forget(patch_t *p)
{
    if (p->member_slots != NULL)
        memset(p->member_slots, 0, sizeof(*p->member_slots) * p->member_cap);
    p->member_count = 0;
}

/* Closes the holes member_note left in `list`. */
static void members_compact(yajl_val list)
{
    size_t k = 0;
    for (size_t i = 0; list != NULL && i < list->u.array.len; i++)
        if (list->u.array.values[i] != NULL)
            list->u.array.values[k++] = list->u.array.values[i];
    if (list != NULL)
        list->u.array.len = k;
}

static int member_values(patch_t *p, yajl_val value, bool add)
{
    scim_members_ops_t *m = p->members;
    yajl_val one[1] = {value};
    yajl_val *vals = one;
    size_t n = 1;
    if (YAJL_IS_ARRAY(value)) {
        vals = value->u.array.values;
        n = value->u.array.len;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = gw_json_str(vals[i], "value");
        const char *type = gw_json_str(vals[i], "type");
        if (id == NULL || id[0] == '\0')
            return GW_ERR(p->err, GW_E_SCIM_INVALID_VALUE, "each member needs a 'value'");
        if (add)
            member_note(p, &m->add, id, type);
        else
            member_note(p, &m->remove, id, NULL);
    }
    return 0;
}

/* members[value eq "a" or value eq "b"]: the ids it names, into `ids`. */
static int member_filter_ids(patch_t *p, const scim_filter_t *f, yajl_val ids)
{
    if (f->kind == SCIM_F_OR)
        return member_filter_ids(p, f->left, ids) == 0 ? member_filter_ids(p, f->right, ids) : -1;
    if (f->kind == SCIM_F_CMP && f->op == SCIM_CMP_EQ && f->value_kind == SCIM_V_STRING &&
        f->path.sub == NULL && strcasecmp(f->path.attr, "value") == 0) {
        scim_jt_push(ids, scim_jt_string(f->value));
        return 0;
    }
    return GW_ERR(p->err, GW_E_SCIM_INVALID_PATH, "members are selected by 'members[value eq \"id\"]'");
}

/* The list an earlier operation of this PATCH noted `id` in (&add or
 * &remove of members_ops), or NULL. */
static yajl_val *member_noted(patch_t *p, const char *id)
{
    if (p->member_slots == NULL)
        return NULL;
    member_slot_t *s = member_slot(p, id);
    return s->id != NULL ? s->list : NULL;
}

/* Removes the members a filter names. RFC 7644 §3.12: noTarget "when the
 * specified "path" value contains a filter that yields no match", as for
 * the values of any other attribute (apply_multi). Whether an id is a member
 * at this point is known when an earlier operation of the PATCH added or
 * removed it, or removed every member; otherwise only the database knows:
 * those ids go to members_ops->must as one list, of which at least one must
 * be a member before the PATCH, checked where the change is applied, so the
 * group's other members are never read. */
static int member_filter_remove(patch_t *p, const target_t *t)
{
    scim_members_ops_t *m = p->members;
    yajl_val ids = scim_jt_array(), unknown = NULL;
    if (member_filter_ids(p, t->filter, ids) != 0) {
        yajl_tree_free(ids);
        return -1;
    }
    bool matched = false;
    for (size_t i = 0; i < ids->u.array.len && !matched; i++) {
        const char *id = ids->u.array.values[i]->u.string;
        yajl_val *in = member_noted(p, id);
        if (in == &m->add) {
            matched = true;
        } else if (in == NULL && !m->remove_all) {
            if (unknown == NULL)
                unknown = scim_jt_array();
            scim_jt_push(unknown, scim_jt_string(id));
        }
    }
    if (!matched && unknown == NULL) {
        yajl_tree_free(ids);
        return GW_ERRF(p->err, GW_E_SCIM_NO_TARGET, "no member matches '%.100s'", t->text);
    }
    if (!matched) {
        if (m->must == NULL)
            m->must = scim_jt_array();
        scim_jt_push(m->must, unknown);
        unknown = NULL;
    }
    yajl_tree_free(unknown);
    for (size_t i = 0; i < ids->u.array.len; i++)
        member_note(p, &m->remove, ids->u.array.values[i]->u.string, NULL);
    yajl_tree_free(ids);
    return 0;
}

static int members_op(patch_t *p, op_t op, const target_t *t, yajl_val value)
{
    scim_members_ops_t *m = p->members;
    if (t->sub != NULL && t->filter == NULL)
        return GW_ERR(p->err, GW_E_SCIM_INVALID_PATH, "members are added or removed whole");
    if (t->filter != NULL) {
        if (op != OP_REMOVE || t->sub != NULL)
            return GW_ERR(p->err, GW_E_SCIM_MUTABILITY, "a member is added or removed, never edited");
        return member_filter_remove(p, t);
    }
    if (op == OP_REMOVE && value != NULL && !YAJL_IS_NULL(value))
        return member_values(p, value, false); /* Entra ID: remove with value */
    if (op == OP_REMOVE || op == OP_REPLACE) {
        yajl_tree_free(m->add);
        yajl_tree_free(m->remove);
        m->add = m->remove = NULL;
        members_forget(p);
        m->remove_all = true;
        if (op == OP_REMOVE)
            return 0;
    }
    if (value == NULL)
        return GW_ERR(p->err, GW_E_SCIM_INVALID_VALUE, "'value' is required");
    return member_values(p, value, true);
}

/* ---- the operations on the document -------------------------------------------- */

/* RFC 7644 §3.5.2: "a PATCH operation that sets a value's primary
 * sub-attribute to true SHALL cause the server to automatically set primary
 * to false for any other values in the array." */
static bool is_primary(yajl_val e)
{
    return scim_jt_truth(gw_json_find_ci(e, "primary")) == 1;
}

static void others_not_primary(yajl_val arr, yajl_val keep)
{
    for (size_t i = 0; i < arr->u.array.len; i++) {
        yajl_val e = arr->u.array.values[i];
        if (e != keep && YAJL_IS_OBJECT(e) && is_primary(e))
            scim_jt_set(e, "primary", scim_jt_bool(false));
    }
}

static void one_primary(yajl_val arr, yajl_val keep)
{
    if (is_primary(keep))
        others_not_primary(arr, keep);
}

/* one_primary after each of many changes to one array, without a pass over
 * the array per change: once one_primary has run, only the value it kept can
 * be primary besides the next one made so, so only that one is reset. */
typedef struct {
    yajl_val arr;
    yajl_val kept; /* NULL until one_primary has run once */
} primaries_t;

static void primaries_note(primaries_t *pr, yajl_val keep)
{
    if (!is_primary(keep))
        return;
    if (pr->kept == NULL)
        others_not_primary(pr->arr, keep);
    else if (pr->kept != keep && is_primary(pr->kept))
        scim_jt_set(pr->kept, "primary", scim_jt_bool(false));
    pr->kept = keep;
}

/* Canonical name of a sub-attribute key, or the key as given (the later
 * scim_resource_check rejects unknown ones). */
static const char *sub_name(const scim_attr_t *a, const char *k)
{
    const scim_attr_t *s = scim_jt_attr(a->sub_attrs, a->sub_count, k);
    return s ? s->name : k;
}

/* A complex value: an object, or (Entra ID's enterprise manager) a plain
 * string meaning {"value": ...}. A fresh object, or NULL when unfit. */
/* invalidSyntax for a key of an object value that names no sub-attribute of
 * `a`, as scim_resource_check says of it later; said before the value is
 * copied, because copying and merging it key by key (scim_jt_set looks for
 * each key among those set before) is quadratic in its keys: one PATCH of
 * "name" with 70,000 keys held the event loop for 20 s. */
static int unknown_sub(patch_t *p, const scim_attr_t *a, yajl_val value)
{
    for (size_t i = 0; YAJL_IS_OBJECT(value) && i < value->u.object.len; i++)
        if (scim_jt_attr(a->sub_attrs, a->sub_count, value->u.object.keys[i]) == NULL)
            return GW_ERRF(p->err, GW_E_SCIM_INVALID_SYNTAX, "unknown attribute '%s.%.100s'", a->name,
                           value->u.object.keys[i]);
    return 0;
}

static yajl_val complex_value(const scim_attr_t *a, yajl_val value)
{
    if (YAJL_IS_OBJECT(value)) {
        yajl_val o = scim_jt_object();
        for (size_t i = 0; i < value->u.object.len; i++)
            scim_jt_set(o, sub_name(a, value->u.object.keys[i]), scim_jt_copy(value->u.object.values[i]));
        return o;
    }
    if (YAJL_IS_STRING(value) && !a->multi_valued &&
        scim_jt_attr(a->sub_attrs, a->sub_count, "value") != NULL) {
        yajl_val o = scim_jt_object();
        scim_jt_set(o, "value", scim_jt_copy(value));
        return o;
    }
    return NULL;
}

/* Merges the sub-attributes of `value` into the object `dst` (RFC 7644
 * §3.5.2.1/§3.5.2.3: sub-attributes not given are left unchanged). */
static int merge_into(patch_t *p, const target_t *t, yajl_val dst, yajl_val value)
{
    if (unknown_sub(p, t->attr, value) != 0)
        return -1;
    yajl_val o = complex_value(t->attr, value);
    if (o == NULL)
        return GW_ERRF(p->err, GW_E_SCIM_INVALID_VALUE, "the value for '%s' must be an object", t->text);
    for (size_t i = 0; i < o->u.object.len; i++) {
        const scim_attr_t *s = scim_jt_attr(t->attr->sub_attrs, t->attr->sub_count, o->u.object.keys[i]);
        if (s != NULL && s->mutability == SCIM_MUT_READ_ONLY)
            continue; /* members.display and the like: derived, not set */
        scim_jt_set(dst, o->u.object.keys[i], o->u.object.values[i]);
        o->u.object.values[i] = NULL;
    }
    yajl_tree_free(o);
    return 0;
}

/* Whether element `x` is `e` for add's "no changes SHOULD be made if the
 * target already contains the value" (§3.5.2.1): the same `value` (and
 * `type` when both have one), or the same JSON for values without a `value`. */
static bool same_element(const scim_attr_t *a, yajl_val x, yajl_val e)
{
    if (!YAJL_IS_OBJECT(e) || !YAJL_IS_OBJECT(x) || gw_json_find_ci(e, "value") == NULL)
        return scim_jt_equal(x, e, a->case_exact);
    const scim_attr_t *vs = scim_jt_attr(a->sub_attrs, a->sub_count, "value");
    if (!scim_jt_equal(gw_json_find_ci(x, "value"), gw_json_find_ci(e, "value"), vs ? vs->case_exact : true))
        return false;
    yajl_val tx = gw_json_find_ci(x, "type"), te = gw_json_find_ci(e, "type");
    return tx == NULL || te == NULL || scim_jt_equal(tx, te, false);
}

/* ---- the elements of an array by hash ------------------------------------------
 *
 * An add of n values to an array of m asked same_element of every element for
 * every value: n·m comparisons, and 25,000 emails in one PATCH under 1 MB held
 * the event loop for 11 s. The array's elements are indexed by a hash that
 * agrees with same_element (elements it calls the same hash alike), so each
 * value finds its element in a few comparisons. */

/* A hash under scim_jt_equal(., ., case_exact): strings folded unless
 * case_exact, numbers by value, object keys without case and in any order.
 * "primary" is left out: one_primary changes it on elements already indexed,
 * and equal elements still hash alike. */
static uint64_t value_hash(yajl_val v, bool case_exact)
{
    uint64_t h = FNV_BASIS;
    if (v == NULL)
        return h;
    h = (h ^ (uint64_t)v->type) * FNV_PRIME;
    switch (v->type) {
    case yajl_t_string:
        return hash_text(h, v->u.string, !case_exact);
    case yajl_t_number:
        if (v->u.number.flags & YAJL_NUMBER_DOUBLE_VALID) {
            double d = v->u.number.d == 0 ? 0 : v->u.number.d; /* -0 equals 0 */
            uint64_t bits;
            memcpy(&bits, &d, sizeof(bits));
            return (h ^ bits) * FNV_PRIME;
        }
        return hash_text(h, v->u.number.r, false);
    case yajl_t_object: {
        uint64_t sum = 0; /* commutative: key order does not matter */
        for (size_t i = 0; i < v->u.object.len; i++)
            if (strcasecmp(v->u.object.keys[i], "primary") != 0)
                sum += hash_text(value_hash(v->u.object.values[i], case_exact), v->u.object.keys[i], true);
        return (h ^ sum) * FNV_PRIME;
    }
    case yajl_t_array:
        for (size_t i = 0; i < v->u.array.len; i++)
            h = (h ^ value_hash(v->u.array.values[i], case_exact)) * FNV_PRIME;
        return h;
    default:
        return h;
    }
}

/* The hash same_element matches by: the `value` of an object that has one,
 * else the whole element. */
static uint64_t element_hash(const scim_attr_t *a, yajl_val e)
{
    yajl_val v = YAJL_IS_OBJECT(e) ? gw_json_find_ci(e, "value") : NULL;
    if (v == NULL)
        return ~value_hash(e, a->case_exact);
    const scim_attr_t *vs = scim_jt_attr(a->sub_attrs, a->sub_count, "value");
    return value_hash(v, vs ? vs->case_exact : true);
}

/* Open addressing over the indexes of `arr`'s elements; elements are only
 * appended while it is in use, so an index stays valid, and of equal
 * elements the first in the array is found first (linear probing keeps
 * insertion order along a probe sequence), as a scan from the start would. */
typedef struct {
    size_t at; /* index + 1; 0: empty */
    uint64_t hash;
} element_slot_t;

typedef struct {
    const scim_attr_t *attr;
    yajl_val arr;
    element_slot_t *slots;
    size_t mask;
    const bool *gone; /* elements to skip (removed, not yet taken out), or NULL */
} elements_t;

static void elements_add(elements_t *ix, size_t i)
{
    uint64_t h = element_hash(ix->attr, ix->arr->u.array.values[i]);
    size_t k = (size_t)h & ix->mask;
    while (ix->slots[k].at != 0)
        k = (k + 1) & ix->mask;
    ix->slots[k].at = i + 1;
    ix->slots[k].hash = h;
}

/* Indexes the elements of `arr`, with room for `more` to be appended. */
static void elements_init(patch_t *p, elements_t *ix, const scim_attr_t *a, yajl_val arr, size_t more)
{
    size_t need = 2 * (arr->u.array.len + more), cap = 16;
    while (cap < need)
        cap *= 2;
    *ix = (elements_t){.attr = a, .arr = arr, .mask = cap - 1};
    ix->slots = h2o_mem_alloc_pool(p->pool, sizeof(*ix->slots) * cap);
    memset(ix->slots, 0, sizeof(*ix->slots) * cap);
    for (size_t i = 0; i < arr->u.array.len; i++)
        elements_add(ix, i);
}

/* The index of the first element same_element calls `e`, or -1. */
static ssize_t elements_find(const elements_t *ix, yajl_val e)
{
    uint64_t h = element_hash(ix->attr, e);
    for (size_t k = (size_t)h & ix->mask; ix->slots[k].at != 0; k = (k + 1) & ix->mask) {
        size_t i = ix->slots[k].at - 1;
        if (ix->slots[k].hash == h && (ix->gone == NULL || !ix->gone[i]) &&
            same_element(ix->attr, ix->arr->u.array.values[i], e))
            return (ssize_t)i;
    }
    return -1;
}

/* Takes out the elements of `arr` marked in `gone`, keeping the others' order. */
static void remove_marked(yajl_val arr, const bool *gone)
{
    size_t k = 0;
    for (size_t i = 0; i < arr->u.array.len; i++) {
        if (gone[i])
            yajl_tree_free(arr->u.array.values[i]);
        else
            arr->u.array.values[k++] = arr->u.array.values[i];
    }
    arr->u.array.len = k;
}

/* The container of the target: the document or the extension's object
 * (created when `create`). */
static yajl_val holder(yajl_val doc, const target_t *t, bool create)
{
    if (t->ext == NULL)
        return doc;
    yajl_val h = gw_json_find_ci(doc, t->ext->id);
    if (!YAJL_IS_OBJECT(h) && create) {
        h = scim_jt_object();
        scim_jt_set(doc, t->ext->id, h);
    }
    return YAJL_IS_OBJECT(h) ? h : NULL;
}

static int op_multi(patch_t *p, op_t op, const target_t *t, yajl_val h, yajl_val value)
{
    const scim_attr_t *a = t->attr;
    yajl_val arr = gw_json_find_ci(h, a->name);
    if (arr != NULL && !YAJL_IS_ARRAY(arr))
        arr = NULL;
    if (t->filter == NULL && t->sub == NULL) {
        if (op == OP_REMOVE) {
            if (value != NULL && !YAJL_IS_NULL(value) && arr != NULL) {
                /* Entra ID: {"op":"Remove","path":"members","value":[{"value":"id"}]}
                 * removes just the values given. */
                yajl_val one[1] = {value};
                yajl_val *vals = YAJL_IS_ARRAY(value) ? value->u.array.values : one;
                size_t n = YAJL_IS_ARRAY(value) ? value->u.array.len : 1;
                /* Each value takes out the first element still there that
                 * is the same; they go all at once at the end. */
                bool *gone = h2o_mem_alloc_pool(p->pool, arr->u.array.len + 1);
                memset(gone, 0, arr->u.array.len + 1);
                elements_t ix;
                elements_init(p, &ix, a, arr, 0);
                ix.gone = gone;
                for (size_t i = 0; i < n; i++) {
                    ssize_t j = elements_find(&ix, vals[i]);
                    if (j >= 0)
                        gone[j] = true;
                }
                remove_marked(arr, gone);
                if (arr->u.array.len > 0)
                    return 0;
            }
            if (arr != NULL && removable(p, a) != 0)
                return -1;
            scim_jt_del(h, a->name);
            return 0;
        }
        yajl_val one[1] = {value};
        yajl_val *vals = YAJL_IS_ARRAY(value) ? value->u.array.values : one;
        size_t n = YAJL_IS_ARRAY(value) ? value->u.array.len : 1;
        if (op == OP_REPLACE || arr == NULL) {
            arr = scim_jt_array();
            scim_jt_set(h, a->name, arr);
        }
        elements_t ix;
        elements_init(p, &ix, a, arr, n);
        primaries_t pr = {.arr = arr};
        for (size_t i = 0; i < n; i++) {
            if (a->type == SCIM_T_COMPLEX && unknown_sub(p, a, vals[i]) != 0)
                return -1;
            yajl_val e = a->type == SCIM_T_COMPLEX ? complex_value(a, vals[i]) : scim_jt_copy(vals[i]);
            if (e == NULL)
                return GW_ERRF(p->err, GW_E_SCIM_INVALID_VALUE, "the values of '%s' must be objects",
                               a->name);
            ssize_t at = elements_find(&ix, e);
            yajl_val x = at >= 0 ? arr->u.array.values[at] : NULL;
            if (x != NULL && YAJL_IS_OBJECT(x)) {
                /* the same value again: only what it adds, never a
                 * readOnly or an already set immutable sub-attribute */
                for (size_t k = 0; k < e->u.object.len; k++) {
                    const char *key = e->u.object.keys[k];
                    const scim_attr_t *s = scim_jt_attr(a->sub_attrs, a->sub_count, key);
                    if (s != NULL &&
                        (s->mutability == SCIM_MUT_READ_ONLY ||
                         (s->mutability == SCIM_MUT_IMMUTABLE && gw_json_find_ci(x, key) != NULL)))
                        continue;
                    scim_jt_set(x, key, e->u.object.values[k]);
                    e->u.object.values[k] = NULL;
                }
                yajl_tree_free(e);
                primaries_note(&pr, x);
            } else if (x != NULL) {
                yajl_tree_free(e);
            } else {
                scim_jt_push(arr, e);
                elements_add(&ix, arr->u.array.len - 1);
                primaries_note(&pr, e);
            }
        }
        return 0;
    }

    /* A value filter, a sub-attribute, or both. Without filter, every value
     * is selected ("emails.value"). */
    size_t n = arr ? arr->u.array.len : 0, matched = 0;
    bool *gone = NULL;
    primaries_t pr = {.arr = arr};
    for (size_t i = n; i > 0; i--) {
        yajl_val e = arr->u.array.values[i - 1];
        if (t->filter != NULL && !eval(a, t->filter, e))
            continue;
        matched++;
        if (t->sub != NULL) {
            if (!YAJL_IS_OBJECT(e))
                continue;
            if (op == OP_REMOVE) {
                if (gw_json_find_ci(e, t->sub->name) != NULL && removable(p, t->sub) != 0)
                    return -1;
                scim_jt_del(e, t->sub->name);
            } else {
                scim_jt_set(e, t->sub->name, scim_jt_copy(value));
                primaries_note(&pr, e);
            }
        } else if (op == OP_REMOVE) {
            if (gone == NULL) {
                gone = h2o_mem_alloc_pool(p->pool, n);
                memset(gone, 0, n);
            }
            gone[i - 1] = true; /* taken out after the loop, all at once */
        } else if (op == OP_ADD) {
            if (merge_into(p, t, e, value) != 0)
                return -1;
            primaries_note(&pr, e);
        } else {
            if (unknown_sub(p, a, value) != 0)
                return -1;
            yajl_val ne = complex_value(a, value);
            if (ne == NULL)
                return GW_ERRF(p->err, GW_E_SCIM_INVALID_VALUE, "the value for '%s' must be an object",
                               t->text);
            yajl_tree_free(arr->u.array.values[i - 1]);
            arr->u.array.values[i - 1] = ne;
            primaries_note(&pr, ne);
        }
    }
    if (gone != NULL)
        remove_marked(arr, gone);
    if (matched == 0 && (op == OP_ADD || (op == OP_REPLACE && t->filter == NULL))) {
        /* Entra ID adds `emails[type eq "work"].value` to users without a
         * work email: create the value the filter describes. Replace of
         * what does not exist is an add (§3.5.2.3). */
        yajl_val e = scim_jt_object();
        if (t->filter != NULL && !filter_to_object(a, t->filter, e)) {
            yajl_tree_free(e);
            return GW_ERRF(p->err, GW_E_SCIM_NO_TARGET, "no value matches '%.100s'", t->text);
        }
        if (t->sub == NULL && merge_into(p, t, e, value) != 0) {
            yajl_tree_free(e);
            return -1;
        }
        if (t->sub != NULL)
            scim_jt_set(e, t->sub->name, scim_jt_copy(value));
        if (arr == NULL) {
            arr = scim_jt_array();
            scim_jt_set(h, a->name, arr);
        }
        scim_jt_push(arr, e);
        one_primary(arr, e);
        return 0;
    }
    /* §3.5.2.3: a value filter matching nothing is noTarget; §3.12 gives the
     * same for remove ("a filter that yields no match"). */
    if (matched == 0 && t->filter != NULL)
        return GW_ERRF(p->err, GW_E_SCIM_NO_TARGET, "no value matches '%.100s'", t->text);
    if (arr != NULL && arr->u.array.len == 0) {
        if (removable(p, a) != 0)
            return -1;
        scim_jt_del(h, a->name);
    }
    return 0;
}

static int apply_target(patch_t *p, yajl_val doc, op_t op, const target_t *t, yajl_val value);

/* An operation with a path, and each attribute of a value without one, is a
 * target; a PATCH has at most PATCH_MAX_OPERATIONS of them. Bounding the
 * operations alone left the attributes of a value without path unbounded,
 * and each can scan the values of a multi-valued attribute: 20,000
 * "emails[value eq ...].display" keys in one value (under 1 MB) on a user
 * with 30,000 emails held the event loop for 15 s. */
static int count_target(patch_t *p)
{
    if (p->targets_left == 0)
        return GW_ERRF(p->err, GW_E_SCIM_INVALID_VALUE,
                       "at most %d operations (each attribute of a value without 'path' counts as one)",
                       PATCH_MAX_OPERATIONS);
    p->targets_left--;
    return 0;
}

/* The keys of an object value, each applied as its own path: add/replace
 * without path (§3.5.2.1, §3.5.2.3), or a value for a whole extension. */
static int apply_object(patch_t *p, yajl_val doc, op_t op, const scim_schema_t *ext, yajl_val value)
{
    if (!YAJL_IS_OBJECT(value))
        return GW_ERR(p->err, GW_E_SCIM_INVALID_VALUE, "without 'path', 'value' must be an object");
    for (size_t i = 0; i < value->u.object.len; i++) {
        const char *k = value->u.object.keys[i];
        target_t t;
        if (ext == NULL && strcasecmp(k, "schemas") == 0)
            continue; /* §3.5.2: clients MUST NOT modify schemas; the server keeps it */
        if (count_target(p) != 0)
            return -1;
        int rc;
        if (ext != NULL) {
            memset(&t, 0, sizeof(t));
            t.ext = ext;
            t.text = k;
            if ((t.attr = scim_jt_attr(ext->attrs, ext->count, k)) == NULL)
                return GW_ERRF(p->err, GW_E_SCIM_INVALID_SYNTAX, "unknown attribute '%s:%.100s'", ext->id, k);
            rc = 0;
        } else {
            rc = resolve(p, k, GW_E_SCIM_INVALID_SYNTAX, &t);
        }
        if (rc != 0 || apply_target(p, doc, op, &t, value->u.object.values[i]) != 0)
            return -1;
    }
    return 0;
}

static int apply_target(patch_t *p, yajl_val doc, op_t op, const target_t *t, yajl_val value)
{
    if (t->whole_ext) {
        if (op == OP_REMOVE) {
            yajl_val h = holder(doc, t, false);
            for (size_t i = 0; h != NULL && i < t->ext->count; i++)
                if (t->ext->attrs[i].required)
                    return removable(p, &t->ext->attrs[i]);
            scim_jt_del(doc, t->ext->id);
            return 0;
        }
        return apply_object(p, doc, op, t->ext, value);
    }
    const scim_attr_t *a = t->attr;
    if (op != OP_REMOVE && value == NULL)
        return GW_ERR(p->err, GW_E_SCIM_INVALID_VALUE, "'value' is required for add and replace");

    if (a->mutability == SCIM_MUT_WRITE_ONLY && strcmp(a->name, "password") == 0) {
        if (op == OP_REMOVE || t->sub != NULL)
            return GW_ERR(p->err, GW_E_SCIM_MUTABILITY, "'password' can only be replaced");
        if (!YAJL_IS_STRING(value) || value->u.string[0] == '\0')
            return GW_ERR(p->err, GW_E_SCIM_INVALID_VALUE, "'password' must be a non-empty string");
        if (p->password != NULL) {
            if (*p->password != NULL) {
                gw_wipe(*p->password, strlen(*p->password));
                free(*p->password);
            }
            *p->password = gw_strdup(value->u.string);
        }
        return 0;
    }
    if (p->members != NULL && t->ext == NULL && p->rt->core == &SCIM_SCHEMA_GROUP &&
        strcmp(a->name, "members") == 0)
        return members_op(p, op, t, value);

    yajl_val h = holder(doc, t, op != OP_REMOVE);
    yajl_val cur = h ? gw_json_find_ci(h, a->name) : NULL;
    if (t->sub != NULL && t->filter == NULL && !a->multi_valued)
        cur = gw_json_find_ci(cur, t->sub->name);
    if (t->filter == NULL && !(a->multi_valued && t->sub != NULL)) {
        yajl_val cmp = value;
        if (op != OP_REMOVE && t->sub == NULL && a->type == SCIM_T_COMPLEX && !a->multi_valued)
            cmp = NULL; /* merging: compared per sub-attribute below */
        int w = writable(p, t, cur, cmp, op);
        if (w != 0)
            return w > 0 ? 0 : -1;
    } else if (a->mutability == SCIM_MUT_READ_ONLY ||
               (t->sub != NULL && t->sub->mutability == SCIM_MUT_READ_ONLY)) {
        return GW_ERRF(p->err, GW_E_SCIM_MUTABILITY, "'%s' is readOnly", t->text);
    } else if (op != OP_ADD && t->sub != NULL && t->sub->mutability == SCIM_MUT_IMMUTABLE) {
        return GW_ERRF(p->err, GW_E_SCIM_MUTABILITY, "'%s' is immutable", t->text);
    }

    if (a->multi_valued)
        return h == NULL ? 0 : op_multi(p, op, t, h, value);

    if (op == OP_REMOVE) {
        if (h == NULL || cur == NULL)
            return 0; /* already unassigned */
        if (t->sub != NULL) {
            if (removable(p, t->sub) != 0)
                return -1;
            yajl_val o = gw_json_find_ci(h, a->name);
            scim_jt_del(o, t->sub->name);
            if (YAJL_IS_OBJECT(o) && o->u.object.len == 0)
                scim_jt_del(h, a->name);
        } else {
            if (removable(p, a) != 0)
                return -1;
            scim_jt_del(h, a->name);
        }
        if (t->ext != NULL && h->u.object.len == 0)
            scim_jt_del(doc, t->ext->id);
        return 0;
    }
    if (t->sub != NULL) {
        yajl_val o = gw_json_find_ci(h, a->name);
        if (!YAJL_IS_OBJECT(o)) {
            o = scim_jt_object();
            scim_jt_set(h, a->name, o);
        }
        scim_jt_set(o, t->sub->name, scim_jt_copy(value));
        return 0;
    }
    if (a->type == SCIM_T_COMPLEX) {
        /* §3.5.2.1 / §3.5.2.3: the sub-attributes given replace or add;
         * the others stay. */
        yajl_val o = gw_json_find_ci(h, a->name);
        if (!YAJL_IS_OBJECT(o)) {
            o = scim_jt_object();
            scim_jt_set(h, a->name, o);
        }
        return merge_into(p, t, o, value);
    }
    scim_jt_set(h, a->name, scim_jt_copy(value));
    return 0;
}

/* The extensions present get their URN in schemas (the server maintains
 * schemas, §3.5.2); the empty ones go. */
static void fix_schemas(const scim_resource_type_t *rt, yajl_val doc)
{
    yajl_val sl = scim_jt_array();
    scim_jt_push(sl, scim_jt_string(rt->core->id));
    for (const scim_schema_t *const *e = rt->extensions; e != NULL && *e != NULL; e++) {
        yajl_val x = gw_json_find_ci(doc, (*e)->id);
        if (x != NULL && scim_jt_unassigned(x))
            scim_jt_del(doc, (*e)->id);
        else if (x != NULL)
            scim_jt_push(sl, scim_jt_string((*e)->id));
    }
    scim_jt_set(doc, "schemas", sl);
}

static int apply_op(patch_t *p, yajl_val doc, yajl_val o, size_t i)
{
    if (!YAJL_IS_OBJECT(o))
        return GW_ERRF(p->err, GW_E_SCIM_INVALID_SYNTAX, "Operations[%zu] must be an object", i);
    const char *name = gw_json_str(o, "op");
    if (name == NULL)
        name = YAJL_GET_STRING(gw_json_find_ci(o, "op"));
    op_t op;
    /* Entra ID writes "Add", "Replace", "Remove" (RFC 7644 §3.5.2 names them
     * in lower case; names are matched without case here). */
    if (name != NULL && strcasecmp(name, "add") == 0)
        op = OP_ADD;
    else if (name != NULL && strcasecmp(name, "remove") == 0)
        op = OP_REMOVE;
    else if (name != NULL && strcasecmp(name, "replace") == 0)
        op = OP_REPLACE;
    else
        return GW_ERRF(p->err, GW_E_SCIM_INVALID_SYNTAX, "Operations[%zu].op must be add, remove or replace",
                       i);
    yajl_val pathv = gw_json_find_ci(o, "path");
    yajl_val value = gw_json_find_ci(o, "value");
    if (pathv != NULL && !YAJL_IS_STRING(pathv))
        return GW_ERRF(p->err, GW_E_SCIM_INVALID_PATH, "Operations[%zu].path must be a string", i);
    if (pathv == NULL || pathv->u.string[0] == '\0') {
        /* §3.5.2.2: "If 'path' is unspecified, the operation fails with ...
         * a 'scimType' error code of 'noTarget'." */
        if (op == OP_REMOVE)
            return GW_ERRF(p->err, GW_E_SCIM_NO_TARGET, "Operations[%zu]: remove needs a 'path'", i);
        if (value == NULL)
            return GW_ERRF(p->err, GW_E_SCIM_INVALID_VALUE, "Operations[%zu] needs a 'value'", i);
        return apply_object(p, doc, op, NULL, value);
    }
    target_t t;
    if (count_target(p) != 0 || resolve(p, pathv->u.string, GW_E_SCIM_INVALID_PATH, &t) != 0)
        return -1;
    return apply_target(p, doc, op, &t, value);
}

int scim_patch_apply(const scim_resource_type_t *rt, yajl_val doc, yajl_val patch, yajl_val *out,
                     char **password, scim_members_ops_t *members_ops, gw_err_t *err)
{
    *out = NULL;
    if (password != NULL)
        *password = NULL;
    if (members_ops != NULL)
        memset(members_ops, 0, sizeof(*members_ops));
    gw_err_t spare;
    if (err == NULL)
        err = &spare;
    if (!YAJL_IS_OBJECT(doc))
        return GW_ERR(err, GW_E_INTERNAL, "no document to patch");
    if (!YAJL_IS_OBJECT(patch))
        return GW_ERR(err, GW_E_SCIM_INVALID_SYNTAX, "the request must be a PatchOp object");
    /* §3.5.2: "The body of each request MUST contain the 'schemas' attribute
     * with the URI value of urn:ietf:params:scim:api:messages:2.0:PatchOp". */
    yajl_val schemas = gw_json_find_ci(patch, "schemas");
    bool ok = false;
    for (size_t i = 0; YAJL_IS_ARRAY(schemas) && i < schemas->u.array.len; i++)
        ok |= YAJL_IS_STRING(schemas->u.array.values[i]) &&
              strcasecmp(schemas->u.array.values[i]->u.string, SCIM_URN_PATCH) == 0;
    if (!ok)
        return GW_ERR(err, GW_E_SCIM_INVALID_SYNTAX, "'schemas' must be [\"" SCIM_URN_PATCH "\"]");
    yajl_val ops = gw_json_find_ci(patch, "Operations");
    if (!YAJL_IS_ARRAY(ops) || ops->u.array.len == 0)
        return GW_ERR(err, GW_E_SCIM_INVALID_SYNTAX, "'Operations' must be a non-empty array");
    if (ops->u.array.len > PATCH_MAX_OPERATIONS)
        return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "at most %d operations", PATCH_MAX_OPERATIONS);

    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    patch_t p = {.rt = rt,
                 .pool = &pool,
                 .password = password,
                 .members = members_ops,
                 .targets_left = PATCH_MAX_OPERATIONS,
                 .err = err};
    yajl_val work = scim_jt_copy(doc);
    int rc = 0;
    for (size_t i = 0; i < ops->u.array.len && rc == 0; i++)
        rc = apply_op(&p, work, ops->u.array.values[i], i);
    h2o_mem_clear_pool(&pool);
    if (rc != 0) {
        yajl_tree_free(work);
        if (password != NULL && *password != NULL) {
            gw_wipe(*password, strlen(*password));
            free(*password);
            *password = NULL;
        }
        if (members_ops != NULL) {
            yajl_tree_free(members_ops->add);
            yajl_tree_free(members_ops->remove);
            yajl_tree_free(members_ops->must);
            memset(members_ops, 0, sizeof(*members_ops));
        }
        return -1;
    }
    if (members_ops != NULL) {
        members_compact(members_ops->add);
        members_compact(members_ops->remove);
    }
    fix_schemas(rt, work);
    *out = work;
    return 0;
}
