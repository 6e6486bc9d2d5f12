/* SCIM filter -> parameterised SQL (RFC 7644 §3.4.2.2) and sortBy -> ORDER BY
 * (§3.4.2.3), over the storage contract of scim/internal.h.
 *
 * Every comparison value is a parameter ($n), never SQL text. Attribute
 * names come from the schema tables (scim_attr_resolve), never from the
 * client.
 *
 * Semantics we chose, each from the RFC text:
 * - caseExact=false strings compare as lower(col) op lower($n) (RFC 7643
 *   §2.3.1, §7 caseExact); co/sw/ew become LIKE on lower() with % _ \
 *   escaped in the value and ESCAPE '\', written so the indexes on
 *   lower(user_name), (attr, lower(value)) and lower(value)
 *   text_pattern_ops apply: lower(col) LIKE (lower($n) || '%').
 * - "ne" is the negation of "eq" for a single-valued attribute: an
 *   unassigned attribute is not identical to the value (RFC 7643 §2.5:
 *   unassigned and null are the same state), so it matches; written
 *   IS DISTINCT FROM. For a multi-valued attribute "the filter matches if
 *   any of the values ... match" (§3.4.2.2): some value differs.
 * - "not" is (x) IS NOT TRUE: SQL would make NOT NULL unknown and hide the
 *   resources whose attribute is unassigned, which "not (title eq "x")"
 *   must return. Comparisons with an unassigned attribute are NULL, which
 *   and/or/WHERE treat exactly like false, so only negation needs this.
 * - "eq null" is "not pr", "ne null" is "pr" (RFC 7643 §2.5); other
 *   operators with null are invalidFilter.
 * - "pr": not NULL, and for strings not empty (§3.4.2.2 "has a non-empty
 *   value"); a multi-valued attribute: some value exists; a single-valued
 *   complex one: some stored sub-attribute is present.
 * - gt/ge/lt/le on booleans and binaries, co/sw/ew on anything but strings
 *   and references, a value of the wrong JSON type, an unknown or unstored
 *   attribute, a complex attribute without a "value" sub-attribute:
 *   invalidFilter (§3.4.2.2, §3.12).
 * - A multi-valued attribute stored in the child table becomes one EXISTS
 *   over its rows; a value path puts all its conditions on the same row, so
 *   emails[type eq "work" and value sw "a"] is one email that is both. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scim/internal.h"

/* ---- the SQL buffer ------------------------------------------------------- */

void scim_sql_init(scim_sql_t *q, h2o_mem_pool_t *pool)
{
    memset(q, 0, sizeof(*q));
    q->pool = pool;
    scim_sql_add(q, "");
}

void scim_text_append(h2o_mem_pool_t *pool, char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1)
            c *= 2;
        char *b = h2o_mem_alloc_pool(pool, c);
        if (*len)
            memcpy(b, *buf, *len);
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}

void scim_sql_add(scim_sql_t *q, const char *text)
{
    scim_text_append(q->pool, &q->sql, &q->len, &q->cap, text, strlen(text));
}

/* A new parameter holding `value`, not yet written: its number, or -1. */
static int sql_param_new(scim_sql_t *q, const char *value, gw_err_t *err)
{
    if (q->nparams >= (int)(sizeof(q->params) / sizeof(q->params[0])))
        return GW_ERRF(err, GW_E_SCIM_INVALID_FILTER, "filter has more than %zu values",
                       sizeof(q->params) / sizeof(q->params[0]));
    q->params[q->nparams++] = value;
    return q->nparams;
}

int scim_sql_param(scim_sql_t *q, const char *value, gw_err_t *err)
{
    int n = sql_param_new(q, value, err);
    if (n < 0)
        return -1;
    char ref[16];
    snprintf(ref, sizeof(ref), "$%d", n);
    scim_sql_add(q, ref);
    return 0;
}

/* ---- where values live ------------------------------------------------------ */

typedef struct {
    const scim_resource_type_t *rt;
    scim_sql_t *q;
    gw_err_t *err;
    char alias[8]; /* "u" or "g", from rt->table */
} ctx_t;

/* The value compared and how to reach it. */
typedef struct {
    const scim_attr_t *def; /* simple-typed definition of the value */
    const char *expr;       /* its SQL expression */
    bool text;              /* expr is text whatever def->type (cast needed) */
} operand_t;

static int bad(ctx_t *c, const char *what, const char *name)
{
    return GW_ERRF(c->err, GW_E_SCIM_INVALID_FILTER, "%s: %s", what, name);
}

static bool is_textual(const scim_attr_t *a)
{
    return a->type == SCIM_T_STRING || a->type == SCIM_T_REFERENCE || a->type == SCIM_T_BINARY;
}

static const scim_attr_t *find_sub(const scim_attr_t *a, const char *name)
{
    for (size_t i = 0; i < a->sub_count; i++)
        if (strcasecmp(a->sub_attrs[i].name, name) == 0)
            return &a->sub_attrs[i];
    return NULL;
}

/* A column of the resource table or of a child row that extracts text from
 * jsonb needs a cast to compare as its type; a typed column is used as is so
 * its index applies. */
static bool extracts_text(const char *expr)
{
    return strstr(expr, "->>") != NULL || strstr(expr, "#>>") != NULL;
}

/* The child rows of a multi-valued attribute (storage contract in
 * scim/internal.h): user_values for Users, group_members for Groups. */
static int child_open(ctx_t *c, const scim_attr_t *a)
{
    if (strcmp(c->alias, "u") == 0) {
        scim_sql_add(c->q, "EXISTS (SELECT 1 FROM user_values v WHERE v.user_id = u.id AND v.attr = ");
        return scim_sql_param(c->q, a->child, c->err);
    }
    scim_sql_add(c->q, "EXISTS (SELECT 1 FROM group_members v WHERE v.group_id = ");
    scim_sql_add(c->q, c->alias);
    scim_sql_add(c->q, ".id");
    return 0;
}

/* `alias`.`column`: schema_defs.c gives bare column names. */
static const char *qualify(ctx_t *c, const char *alias, const char *column)
{
    char *e = h2o_mem_alloc_pool(c->q->pool, strlen(alias) + strlen(column) + 2);
    sprintf(e, "%s.%s", alias, column);
    return e;
}

/* A sub-attribute of a child row (alias v): the schema's column, relative to
 * the row; user_values' value, type and display are text, group_members'
 * member_id is a uuid (typed). */
static int child_operand(ctx_t *c, const scim_attr_t *sub, operand_t *o)
{
    if (sub->column == NULL)
        return bad(c, "attribute cannot be filtered", sub->name);
    o->def = sub;
    o->expr = qualify(c, "v", sub->column);
    o->text =
        strcmp(c->alias, "u") == 0 ? strcmp(sub->column, "\"primary\"") != 0 : extracts_text(sub->column);
    return 0;
}

/* A column of the resource table. */
static void table_operand(ctx_t *c, const scim_attr_t *def, operand_t *o)
{
    o->def = def;
    o->expr = qualify(c, c->alias, def->column);
    o->text = extracts_text(def->column);
}

/* The "value" sub-attribute stands for a complex attribute compared as a
 * whole (§3.4.2.2: emails co "x" is about the email values). */
static const scim_attr_t *value_sub(ctx_t *c, const scim_attr_t *a)
{
    const scim_attr_t *v = find_sub(a, "value");
    if (v == NULL)
        bad(c, "complex attribute needs a sub-attribute", a->name);
    return v;
}

/* ---- one comparison ----------------------------------------------------------- */

static const char *const SQL_OP[] = {
    [SCIM_CMP_EQ] = " = ", [SCIM_CMP_GT] = " > ",  [SCIM_CMP_GE] = " >= ",
    [SCIM_CMP_LT] = " < ", [SCIM_CMP_LE] = " <= ",
};

static void add_expr(ctx_t *c, const operand_t *o, const char *cast, bool lower)
{
    scim_sql_add(c->q, lower ? "lower(" : "");
    if (cast != NULL && o->text) {
        scim_sql_add(c->q, "(");
        scim_sql_add(c->q, o->expr);
        scim_sql_add(c->q, ")");
        scim_sql_add(c->q, cast);
    } else {
        scim_sql_add(c->q, o->expr);
    }
    scim_sql_add(c->q, lower ? ")" : "");
}

static int add_present(ctx_t *c, const operand_t *o)
{
    scim_sql_add(c->q, "(");
    scim_sql_add(c->q, o->expr);
    scim_sql_add(c->q, " IS NOT NULL");
    /* A string can be empty; a string attribute in a typed column (id and
     * member_id uuid, meta.version bigint: the caseExact ones, see
     * add_compare) cannot, and comparing it with '' is a cast error. */
    if (o->text || (is_textual(o->def) && !o->def->case_exact)) {
        scim_sql_add(c->q, " AND ");
        scim_sql_add(c->q, o->expr);
        scim_sql_add(c->q, " <> ''");
    } else if (is_textual(o->def)) {
        scim_sql_add(c->q, " AND ");
        scim_sql_add(c->q, o->expr);
        scim_sql_add(c->q, "::text <> ''");
    }
    scim_sql_add(c->q, ")");
    return 0;
}

/* "\", "%" and "_" escaped for LIKE ... ESCAPE '\'. */
static const char *like_escape(h2o_mem_pool_t *pool, const char *s)
{
    char *d = h2o_mem_alloc_pool(pool, 2 * strlen(s) + 1), *p = d;
    for (; *s; s++) {
        if (*s == '\\' || *s == '%' || *s == '_')
            *p++ = '\\';
        *p++ = *s;
    }
    *p = '\0';
    return d;
}

/* meta.version: a string attribute (W/"n") kept as a bigint, so a UUID is
 * no value of it and comparing the column with one is a cast error. */
static bool number_column(const scim_attr_t *def)
{
    return def->column != NULL && strcmp(def->column, "version") == 0;
}

/* meta.version is served as the weak entity tag W/"n" (RFC 7644 §3.14,
 * project.c): that value, or the strong "n", names version n, compared as
 * the bare number the column holds (which is still accepted). Anything
 * else is compared as given. */
static const char *version_value(h2o_mem_pool_t *pool, const char *v)
{
    const char *s = strncmp(v, "W/", 2) == 0 ? v + 2 : v;
    size_t n = strlen(s);
    if (n < 3 || n > 22 || s[0] != '"' || s[n - 1] != '"')
        return v;
    for (size_t i = 1; i + 1 < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return v;
    return h2o_strdup(pool, s + 1, n - 2).base;
}

/* 8-4-4-4-12 hex digits (RFC 9562 §4). */
static bool uuid_ok(const char *s)
{
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-'
                 : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                     (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    }
    return s[36] == '\0';
}

/* meta.created and meta.lastModified: the columns hold microseconds, the
 * documents show milliseconds, truncated (scim_time, schema/007_scim.sql).
 * A filter compares the value the client was shown, trunc(col) op L, or
 * `lastModified eq <a served value>` never matches and `gt <it>` (an
 * incremental sync) returns the same resource again. Written on the column
 * itself so an index on it applies, with lo = L rounded up to a whole
 * millisecond and hi = L rounded down plus 1 ms:
 *   eq: col >= lo AND col < hi (nothing unless L is a whole millisecond)
 *   ne: (eq) IS NOT TRUE   gt: col >= hi   ge: col >= lo
 *   lt: col < lo           le: col < hi */
static int add_ms_compare(ctx_t *c, const operand_t *o, scim_cmp_t op, const char *value)
{
    int n = sql_param_new(c->q, value, c->err);
    if (n < 0)
        return -1;
    char lo[96], hi[96];
    snprintf(lo, sizeof(lo), "date_trunc('milliseconds', $%d::timestamptz + interval '999 microseconds')", n);
    snprintf(hi, sizeof(hi), "(date_trunc('milliseconds', $%d::timestamptz) + interval '1 millisecond')", n);
    scim_sql_add(c->q, "(");
    if (op == SCIM_CMP_EQ || op == SCIM_CMP_NE) {
        scim_sql_add(c->q, "(");
        scim_sql_add(c->q, o->expr);
        scim_sql_add(c->q, " >= ");
        scim_sql_add(c->q, lo);
        scim_sql_add(c->q, " AND ");
        scim_sql_add(c->q, o->expr);
        scim_sql_add(c->q, " < ");
        scim_sql_add(c->q, hi);
        scim_sql_add(c->q, op == SCIM_CMP_NE ? ") IS NOT TRUE" : ")");
    } else {
        scim_sql_add(c->q, o->expr);
        scim_sql_add(c->q, op == SCIM_CMP_GT || op == SCIM_CMP_GE ? " >= " : " < ");
        scim_sql_add(c->q, op == SCIM_CMP_GE || op == SCIM_CMP_LT ? lo : hi);
    }
    scim_sql_add(c->q, ")");
    return 0;
}

static int add_compare(ctx_t *c, const operand_t *o, const scim_filter_t *f)
{
    const scim_attr_t *a = o->def;
    scim_cmp_t op = f->op;
    if (op == SCIM_CMP_PR)
        return add_present(c, o);
    if (f->value_kind == SCIM_V_NULL) {
        if (op == SCIM_CMP_NE)
            return add_present(c, o);
        if (op != SCIM_CMP_EQ)
            return bad(c, "null compares only with eq and ne", a->name);
        scim_sql_add(c->q, "(");
        add_present(c, o);
        scim_sql_add(c->q, " IS NOT TRUE)");
        return 0;
    }
    bool ordering = op == SCIM_CMP_GT || op == SCIM_CMP_GE || op == SCIM_CMP_LT || op == SCIM_CMP_LE;
    bool substring = op == SCIM_CMP_CO || op == SCIM_CMP_SW || op == SCIM_CMP_EW;
    const char *cast = NULL, *value = f->value;
    bool lower = false;
    operand_t text_op;
    switch (a->type) {
    case SCIM_T_BOOLEAN:
        if (ordering || substring)
            return bad(c, "boolean compares only with eq and ne", a->name);
        /* Real provisioning clients send booleans as strings ("False"). */
        if (f->value_kind == SCIM_V_TRUE ||
            (f->value_kind == SCIM_V_STRING && strcasecmp(value, "true") == 0))
            value = "true";
        else if (f->value_kind == SCIM_V_FALSE ||
                 (f->value_kind == SCIM_V_STRING && strcasecmp(value, "false") == 0))
            value = "false";
        else
            return bad(c, "boolean value expected", a->name);
        cast = "::boolean";
        break;
    case SCIM_T_DATETIME:
        if (substring)
            return bad(c, "co, sw and ew apply to strings", a->name);
        if (f->value_kind != SCIM_V_STRING || !scim_datetime_ok(value))
            return bad(c, "dateTime value expected", a->name);
        if (!o->text)
            return add_ms_compare(c, o, op, value);
        cast = "::timestamptz";
        break;
    case SCIM_T_INTEGER:
    case SCIM_T_DECIMAL:
        if (substring)
            return bad(c, "co, sw and ew apply to strings", a->name);
        if (f->value_kind != SCIM_V_NUMBER)
            return bad(c, "number value expected", a->name);
        cast = a->type == SCIM_T_INTEGER && strpbrk(value, ".eE") == NULL ? "::bigint" : "::numeric";
        break;
    case SCIM_T_BINARY:
        if (ordering)
            return bad(c, "binary compares only with eq, ne, co, sw, ew", a->name);
        /* fall through */
    case SCIM_T_STRING:
    case SCIM_T_REFERENCE:
        if (f->value_kind != SCIM_V_STRING)
            return bad(c, "string value expected", a->name);
        lower = !a->case_exact && a->type != SCIM_T_BINARY;
        if (number_column(o->def) && !substring)
            value = version_value(c->q->pool, value);
        /* A caseExact column may be typed (id and member_id are uuid,
         * meta.version bigint): it compares as text, so any string is a
         * valid operand (a no-op for text columns, whose indexes still
         * apply); eq/ne with a UUID keep the column's type for the uuid
         * indexes. caseExact=false columns must be text (lower()). */
        if (!o->text && !lower &&
            !((op == SCIM_CMP_EQ || op == SCIM_CMP_NE) && uuid_ok(value) && !number_column(o->def))) {
            char *e = h2o_mem_alloc_pool(c->q->pool, strlen(o->expr) + 7);
            sprintf(e, "%s::text", o->expr);
            text_op = (operand_t){.def = o->def, .expr = e, .text = true};
            o = &text_op;
        }
        break;
    case SCIM_T_COMPLEX:
        return bad(c, "complex attribute needs a sub-attribute", a->name);
    }

    scim_sql_add(c->q, "(");
    add_expr(c, o, cast, lower);
    if (substring) {
        const char *head = op == SCIM_CMP_SW ? "" : "'%' || ", *tail = op == SCIM_CMP_EW ? "" : " || '%'";
        scim_sql_add(c->q, " LIKE (");
        scim_sql_add(c->q, head);
        scim_sql_add(c->q, lower ? "lower(" : "");
        if (scim_sql_param(c->q, like_escape(c->q->pool, value), c->err) != 0)
            return -1;
        scim_sql_add(c->q, lower ? ")" : "");
        scim_sql_add(c->q, tail);
        scim_sql_add(c->q, ") ESCAPE '\\')");
        return 0;
    }
    scim_sql_add(c->q, op == SCIM_CMP_NE ? " IS DISTINCT FROM " : SQL_OP[op]);
    scim_sql_add(c->q, lower ? "lower(" : "");
    if (scim_sql_param(c->q, value, c->err) != 0)
        return -1;
    scim_sql_add(c->q, lower ? ")" : (cast ? cast : ""));
    scim_sql_add(c->q, ")");
    return 0;
}

/* ---- attribute paths to operands -------------------------------------------- */

static int translate(ctx_t *c, const scim_filter_t *f, const scim_attr_t *row);

/* pr on a single-valued complex attribute: any stored sub-attribute. */
static int complex_present(ctx_t *c, const scim_attr_t *a)
{
    bool any = false;
    scim_sql_add(c->q, "(");
    for (size_t i = 0; i < a->sub_count; i++) {
        const scim_attr_t *s = &a->sub_attrs[i];
        if (s->column == NULL)
            continue;
        operand_t o;
        table_operand(c, s, &o);
        scim_sql_add(c->q, any ? " OR " : "");
        add_present(c, &o);
        any = true;
    }
    scim_sql_add(c->q, ")");
    return any ? 0 : bad(c, "attribute cannot be filtered", a->name);
}

/* Opens the EXISTS of a multi-valued attribute `a` and sets `row` to it. */
static int mv_open(ctx_t *c, const scim_attr_t *a)
{
    if (a->child == NULL)
        return bad(c, "attribute cannot be filtered", a->name);
    return child_open(c, a);
}

static int compare_path(ctx_t *c, const scim_filter_t *f, const scim_attr_t *row)
{
    const scim_attr_path_t *p = &f->path;
    operand_t o = {0};
    if (row != NULL) {
        /* inside a value path: a sub-attribute of `row` */
        if (p->sub != NULL)
            return bad(c, "no sub-attribute of a sub-attribute", p->sub);
        const scim_attr_t *sub = find_sub(row, p->attr);
        if (sub == NULL)
            return bad(c, "unknown attribute", p->attr);
        if (row->multi_valued) {
            if (child_operand(c, sub, &o) != 0)
                return -1;
        } else {
            if (sub->column == NULL)
                return bad(c, "attribute cannot be filtered", sub->name);
            table_operand(c, sub, &o);
        }
        return add_compare(c, &o, f);
    }
    scim_attr_ref_t ref;
    if (scim_attr_resolve(c->rt, p->uri, p->attr, p->sub, GW_E_SCIM_INVALID_FILTER, &ref, c->err) != 0) {
        c->err->kind = GW_E_SCIM_INVALID_FILTER;
        return -1;
    }
    const scim_attr_t *a = ref.attr, *sub = ref.sub;
    if (a->multi_valued) {
        if (sub == NULL && a->type == SCIM_T_COMPLEX && f->op != SCIM_CMP_PR &&
            (sub = value_sub(c, a)) == NULL)
            return -1;
        if (mv_open(c, a) != 0)
            return -1;
        if (sub == NULL && f->op == SCIM_CMP_PR) {
            scim_sql_add(c->q, ")");
            return 0;
        }
        if (sub != NULL) {
            if (child_operand(c, sub, &o) != 0)
                return -1;
        } else {
            o = (operand_t){.def = a, .expr = "v.value", .text = true};
        }
        scim_sql_add(c->q, " AND ");
        if (add_compare(c, &o, f) != 0)
            return -1;
        scim_sql_add(c->q, ")");
        return 0;
    }
    if (a->type == SCIM_T_COMPLEX && sub == NULL) {
        if (f->op == SCIM_CMP_PR)
            return complex_present(c, a);
        if ((sub = value_sub(c, a)) == NULL)
            return -1;
    }
    const scim_attr_t *def = sub ? sub : a;
    if (def->column == NULL)
        return bad(c, "attribute cannot be filtered", def->name);
    table_operand(c, def, &o);
    return add_compare(c, &o, f);
}

static int value_path(ctx_t *c, const scim_filter_t *f)
{
    scim_attr_ref_t ref;
    if (scim_attr_resolve(c->rt, f->path.uri, f->path.attr, NULL, GW_E_SCIM_INVALID_FILTER, &ref, c->err) !=
        0) {
        c->err->kind = GW_E_SCIM_INVALID_FILTER;
        return -1;
    }
    const scim_attr_t *a = ref.attr;
    if (a->type != SCIM_T_COMPLEX)
        return bad(c, "value filter on a simple attribute", a->name);
    if (!a->multi_valued) {
        scim_sql_add(c->q, "(");
        if (translate(c, f->left, a) != 0)
            return -1;
        scim_sql_add(c->q, ")");
        return 0;
    }
    if (mv_open(c, a) != 0)
        return -1;
    scim_sql_add(c->q, " AND ");
    if (translate(c, f->left, a) != 0)
        return -1;
    scim_sql_add(c->q, ")");
    return 0;
}

/* `row`: the complex attribute of the enclosing value path, or NULL. */
static int translate(ctx_t *c, const scim_filter_t *f, const scim_attr_t *row)
{
    switch (f->kind) {
    case SCIM_F_CMP:
        return compare_path(c, f, row);
    case SCIM_F_AND:
    case SCIM_F_OR:
        scim_sql_add(c->q, "(");
        if (translate(c, f->left, row) != 0)
            return -1;
        scim_sql_add(c->q, f->kind == SCIM_F_AND ? " AND " : " OR ");
        if (translate(c, f->right, row) != 0)
            return -1;
        scim_sql_add(c->q, ")");
        return 0;
    case SCIM_F_NOT:
        scim_sql_add(c->q, "(");
        if (translate(c, f->left, row) != 0)
            return -1;
        scim_sql_add(c->q, " IS NOT TRUE)");
        return 0;
    case SCIM_F_VALUE_PATH:
        if (row != NULL)
            return bad(c, "nested value path", f->path.attr);
        return value_path(c, f);
    }
    return bad(c, "invalid filter", "?");
}

static void ctx_init(ctx_t *c, const scim_resource_type_t *rt, scim_sql_t *q, gw_err_t *err)
{
    c->rt = rt;
    c->q = q;
    c->err = err;
    const char *sp = strrchr(rt->table, ' ');
    snprintf(c->alias, sizeof(c->alias), "%s", sp ? sp + 1 : rt->table);
}

int scim_filter_sql(const scim_resource_type_t *rt, const scim_filter_t *f, scim_sql_t *q, gw_err_t *err)
{
    ctx_t c;
    ctx_init(&c, rt, q, err);
    return translate(&c, f, NULL);
}

/* ---- sortBy (RFC 7644 §3.4.2.3) ------------------------------------------------ */

/* Columns that are NOT NULL in schema/007_scim.sql (and 002_oidc.sql):
 * keyset conditions on them need no IS NULL arm. */
static bool column_not_null(const ctx_t *c, const char *column)
{
    static const char *const both[] = {"id", "created_at", "updated_at", "version", NULL};
    for (int i = 0; both[i] != NULL; i++)
        if (strcmp(column, both[i]) == 0)
            return true;
    return strcmp(c->alias, "u") == 0 ? strcmp(column, "user_name") == 0
                                      : strcmp(column, "display_name") == 0;
}

/* Sort keys that are unique and never NULL, so the resource id cannot break
 * a tie and ORDER BY leaves it out: then the order is exactly a unique
 * index's (users_user_name_ci on lower(user_name), the primary keys) and a
 * page is a plain index scan under LIMIT, never a sort, not even an
 * incremental one (schema/007_scim.sql). userName is unique without regard
 * to case (RFC 7643 §4.1.1), and caseExact false makes its key
 * lower(u.user_name). */
static bool key_unique(const ctx_t *c, const scim_attr_t *def, bool lower)
{
    if (def->uniqueness == SCIM_UNIQ_NONE)
        return false;
    if (strcmp(def->column, "id") == 0)
        return !lower;
    return strcmp(c->alias, "u") == 0 && strcmp(def->column, "user_name") == 0 && lower;
}

/* RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value, or
 * else the first (here: the least) value; resources without data come last
 * ascending and first descending; the resource id breaks ties so pages are
 * stable (a unique key has no ties: key_unique). An unknown sortBy is
 * invalidValue: §3.12 "the value specified was not compatible with the ...
 * resource schema". */
int scim_sort_sql(const scim_resource_type_t *rt, const char *sort_by, bool descending, scim_sql_t *q,
                  gw_err_t *err)
{
    ctx_t c;
    ctx_init(&c, rt, q, err);
    const char *dir = descending ? " DESC NULLS FIRST" : " ASC NULLS LAST";
    const char *id_dir = descending ? " DESC" : " ASC";
    scim_attr_ref_t ref;
    if (sort_by == NULL || sort_by[0] == '\0') {
        if (scim_attr_resolve(rt, NULL, "meta", "created", GW_E_SCIM_INVALID_VALUE, &ref, err) == 0 &&
            ref.sub != NULL && ref.sub->column != NULL) {
            scim_sql_add(q, qualify(&c, c.alias, ref.sub->column));
            scim_sql_add(q, id_dir);
            scim_sql_add(q, ", ");
        }
        scim_sql_add(q, c.alias);
        scim_sql_add(q, ".id");
        scim_sql_add(q, id_dir);
        return 0;
    }
    scim_attr_path_t p;
    if (scim_attr_path_parse(q->pool, sort_by, strlen(sort_by), &p) != 0)
        return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "sortBy is not an attribute path");
    if (scim_attr_resolve(rt, p.uri, p.attr, p.sub, GW_E_SCIM_INVALID_VALUE, &ref, err) != 0) {
        err->kind = GW_E_SCIM_INVALID_VALUE;
        return -1;
    }
    const scim_attr_t *a = ref.attr, *sub = ref.sub;
    if (a->type == SCIM_T_COMPLEX && sub == NULL && (sub = find_sub(a, "value")) == NULL)
        return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "sortBy needs a sub-attribute of %s", a->name);
    const scim_attr_t *def = sub ? sub : a;
    bool lower = is_textual(def) && def->type != SCIM_T_BINARY && !def->case_exact;
    if (a->multi_valued) {
        if (a->child == NULL)
            return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "cannot sort by %s", a->name);
        operand_t o = {.def = a, .expr = "v.value", .text = true};
        if (sub != NULL && child_operand(&c, sub, &o) != 0) {
            err->kind = GW_E_SCIM_INVALID_VALUE;
            return -1;
        }
        scim_sql_add(q, "(SELECT ");
        add_expr(&c, &o, NULL, lower);
        scim_sql_add(q, " FROM ");
        if (strcmp(c.alias, "u") == 0) {
            scim_sql_add(q, "user_values v WHERE v.user_id = u.id AND v.attr = ");
            if (scim_sql_param(q, a->child, err) != 0)
                return -1;
        } else {
            scim_sql_add(q, "group_members v WHERE v.group_id = ");
            scim_sql_add(q, c.alias);
            scim_sql_add(q, ".id");
        }
        /* RFC 7644 §3.4.2.3: the primary value, or else the first in the
         * client's order (user_values.ord) */
        scim_sql_add(q, strcmp(c.alias, "u") == 0 ? " ORDER BY v.\"primary\" IS TRUE DESC, v.ord LIMIT 1)"
                                                  : " ORDER BY 1 LIMIT 1)");
    } else {
        if (def->column == NULL)
            return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "cannot sort by %s", def->name);
        operand_t o;
        table_operand(&c, def, &o);
        add_expr(&c, &o, NULL, lower);
        if (key_unique(&c, def, lower)) {
            scim_sql_add(q, dir);
            return 0;
        }
    }
    scim_sql_add(q, dir);
    scim_sql_add(q, ", ");
    scim_sql_add(q, c.alias);
    scim_sql_add(q, ".id");
    scim_sql_add(q, id_dir);
    return 0;
}

int scim_sort_key(const scim_resource_type_t *rt, const char *sort_by, h2o_mem_pool_t *pool,
                  const char **expr, bool *nullable, gw_err_t *err)
{
    scim_sql_t q;
    ctx_t c;
    scim_sql_init(&q, pool);
    ctx_init(&c, rt, &q, err);
    scim_attr_ref_t ref;
    const scim_attr_t *def;
    if (sort_by == NULL || sort_by[0] == '\0') {
        if (scim_attr_resolve(rt, NULL, "meta", "created", GW_E_SCIM_INVALID_VALUE, &ref, err) != 0 ||
            ref.sub == NULL || ref.sub->column == NULL)
            return 0;
        def = ref.sub;
    } else {
        scim_attr_path_t p;
        if (scim_attr_path_parse(pool, sort_by, strlen(sort_by), &p) != 0)
            return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "sortBy is not an attribute path");
        if (scim_attr_resolve(rt, p.uri, p.attr, p.sub, GW_E_SCIM_INVALID_VALUE, &ref, err) != 0) {
            err->kind = GW_E_SCIM_INVALID_VALUE;
            return -1;
        }
        if (ref.attr->multi_valued)
            return 0; /* a subquery per row: no index to seek in */
        def = ref.sub != NULL ? ref.sub : ref.attr;
        if (def->type == SCIM_T_COMPLEX && (def = find_sub(def, "value")) == NULL)
            return 0;
        if (def->column == NULL)
            return 0;
    }
    bool lower = is_textual(def) && def->type != SCIM_T_BINARY && !def->case_exact;
    operand_t o;
    table_operand(&c, def, &o);
    add_expr(&c, &o, NULL, lower);
    *expr = q.sql;
    *nullable = extracts_text(def->column) || !column_not_null(&c, def->column);
    return 1;
}

scim_rank_t scim_sort_rank(const scim_resource_type_t *rt, const char *sort_by, h2o_mem_pool_t *pool)
{
    scim_sql_t q;
    ctx_t c;
    gw_err_t err;
    scim_sql_init(&q, pool);
    ctx_init(&c, rt, &q, &err);
    if (strcmp(c.alias, "u") != 0)
        return SCIM_RANK_NONE; /* kept for users only */
    scim_attr_ref_t ref;
    if (sort_by == NULL || sort_by[0] == '\0')
        return SCIM_RANK_CREATED;
    scim_attr_path_t p;
    if (scim_attr_path_parse(pool, sort_by, strlen(sort_by), &p) != 0 ||
        scim_attr_resolve(rt, p.uri, p.attr, p.sub, GW_E_SCIM_INVALID_VALUE, &ref, &err) != 0 ||
        ref.attr->multi_valued)
        return SCIM_RANK_NONE; /* an error is scim_sort_sql's to report */
    const scim_attr_t *def = ref.sub != NULL ? ref.sub : ref.attr;
    if (def->type == SCIM_T_COMPLEX || def->column == NULL)
        return SCIM_RANK_NONE;
    /* meta.created: created_at NOT NULL with the id tie-break, the default
     * order exactly; userName: lower(user_name) when it is the whole order
     * (unique, key_unique), as the kept counts' key is. */
    if (strcmp(def->column, "created_at") == 0)
        return SCIM_RANK_CREATED;
    if (strcmp(def->column, "user_name") == 0 && is_textual(def) && key_unique(&c, def, !def->case_exact))
        return SCIM_RANK_USER_NAME;
    return SCIM_RANK_NONE;
}
