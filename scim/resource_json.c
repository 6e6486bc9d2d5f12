/* A client's resource document checked against the schemas and turned into
 * the canonical document the database stores (scim_resource_check).
 *
 * Error kinds (RFC 7644 §3.12):
 *   invalidSyntax  not an object, an attribute the schemas do not define
 *                  ("did not conform to the request schema"), the same
 *                  attribute twice under names differing in case;
 *   invalidValue   a value of the wrong type or form, a required attribute
 *                  missing, `schemas` missing, holding something other than
 *                  URIs, naming an unknown schema under which the body
 *                  carries attributes, or not naming an extension whose
 *                  attributes are present; more than one primary value;
 *   mutability     an immutable attribute changed on replacement.
 * readOnly attributes (id, meta, groups, members.display...) are ignored, as
 * RFC 7644 §3.5.1 asks for PUT; on POST RFC 7643 §3.1 says `id` and `meta`
 * given by the client SHALL be ignored too.
 *
 * A schema URI in `schemas` that is neither the core schema nor one of our
 * extensions, and under which the body carries no attribute, is ignored:
 * RFC 7643 §3 makes `schemas` the list of the URIs "that define the
 * attributes present", so such a URI defines nothing here, and RFC 7644
 * §3.3 leaves the server "free to alter and/or ignore POSTed content" (the
 * stored and returned `schemas` list only what we know). Microsoft Entra ID
 * sends its own "http://schemas.microsoft.com/2006/11/ResourceManagement/
 * ADSCIM/2.0/Group" with every Create Group, and provisioning must work.
 * Attributes under such a URI (the URI as a key, or "uri:attr") stay an
 * error: we cannot store what we do not know, and dropping data silently
 * would leave the directory wrong. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/alloc.h"
#include "scim/json_tree.h"

typedef struct {
    const scim_resource_type_t *rt;
    scim_write_mode_t mode;
    yajl_val existing;
    char **password;
    gw_err_t *err;
} check_t;

/* ---- scalar types (RFC 7643 §2.3) ------------------------------------------ */

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* RFC 7643 §2.3.5: an xsd:dateTime (XML Schema §3.3.7) with both date and
 * time: YYYY-MM-DDThh:mm:ss[.s+][Z|(+|-)hh:mm]. The zone is optional in
 * xsd:dateTime; RFC 3339 timestamps are the common case and pass. Year 0000
 * is no xsd:dateTime year (and PostgreSQL refuses it). */
bool scim_datetime_ok(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t n = strlen(s);
    if (n < 19 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
        s[16] != ':' || !digits(s + 17, 2))
        return false;
    int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return false;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    if (num(s + 11, 2) > 23 || num(s + 14, 2) > 59 || num(s + 17, 2) > 60)
        return false;
    size_t i = 19;
    if (i < n && s[i] == '.') {
        size_t f = ++i;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        if (i == f)
            return false;
    }
    if (i == n)
        return true;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n)
        return true;
    if ((s[i] == '+' || s[i] == '-') && n - i == 6 && digits(s + i + 1, 2) && s[i + 3] == ':' &&
        digits(s + i + 4, 2))
        return num(s + i + 1, 2) <= 14 && num(s + i + 4, 2) <= 59;
    return false;
}

/* RFC 7643 §2.3.6: base64 of RFC 4648 §4 (not the URL alphabet), padded. */
static bool base64_ok(const char *s)
{
    size_t n = strlen(s), pad = 0;
    if (n % 4 != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad > 0 || !(isalnum(c) || c == '+' || c == '/'))
            return false;
    }
    return pad <= 2;
}

static const char *type_name(scim_type_t t)
{
    switch (t) {
    case SCIM_T_STRING:
        return "a string";
    case SCIM_T_BOOLEAN:
        return "a boolean";
    case SCIM_T_DECIMAL:
        return "a number";
    case SCIM_T_INTEGER:
        return "an integer";
    case SCIM_T_DATETIME:
        return "a dateTime such as 2008-01-23T04:56:22Z";
    case SCIM_T_BINARY:
        return "base64";
    case SCIM_T_REFERENCE:
        return "a reference";
    default:
        return "an object";
    }
}

static int wrong_type(check_t *c, const char *where, const scim_attr_t *a)
{
    return GW_ERRF(c->err, GW_E_SCIM_INVALID_VALUE, "'%s' must be %s", where, type_name(a->type));
}

/* A non-complex value: a fresh copy in canonical form in *out. */
static int check_scalar(check_t *c, const char *where, const scim_attr_t *a, yajl_val v, yajl_val *out)
{
    int t;
    *out = NULL;
    switch (a->type) {
    case SCIM_T_BOOLEAN:
        /* Leniency: Entra ID sends "True"/"False" strings. */
        if ((t = scim_jt_truth(v)) < 0)
            return wrong_type(c, where, a);
        *out = scim_jt_bool(t == 1);
        return 0;
    case SCIM_T_INTEGER:
        if (!YAJL_IS_INTEGER(v) || strpbrk(v->u.number.r, ".eE") != NULL)
            return wrong_type(c, where, a);
        break;
    case SCIM_T_DECIMAL:
        if (!YAJL_IS_NUMBER(v))
            return wrong_type(c, where, a);
        break;
    case SCIM_T_DATETIME:
        if (!YAJL_IS_STRING(v) || !scim_datetime_ok(v->u.string))
            return wrong_type(c, where, a);
        break;
    case SCIM_T_BINARY:
        if (!YAJL_IS_STRING(v) || !base64_ok(v->u.string))
            return wrong_type(c, where, a);
        break;
    default:
        if (!YAJL_IS_STRING(v))
            return wrong_type(c, where, a);
        break;
    }
    *out = scim_jt_copy(v);
    return 0;
}

/* ---- complex and multi-valued ------------------------------------------------ */

/* One value of a complex attribute: known sub-attributes only, canonical
 * names, in definition order; readOnly ones dropped. *out NULL when nothing
 * is left (unassigned). */
static int check_complex(check_t *c, const char *where, const scim_attr_t *a, yajl_val v, yajl_val *out)
{
    *out = NULL;
    /* Leniency: Entra ID sends the enterprise manager as a plain id string;
     * a string for a complex attribute with a `value` sub-attribute means
     * {"value": ...}. */
    if (YAJL_IS_STRING(v) && !a->multi_valued && scim_jt_attr(a->sub_attrs, a->sub_count, "value") != NULL) {
        if (v->u.string[0] == '\0')
            return 0;
        yajl_val o = scim_jt_object();
        scim_jt_set(o, "value", scim_jt_string(v->u.string));
        *out = o;
        return 0;
    }
    if (!YAJL_IS_OBJECT(v))
        return wrong_type(c, where, a);
    yajl_val vals[32] = {0};
    if (a->sub_count > sizeof(vals) / sizeof(vals[0]))
        return GW_ERR(c->err, GW_E_INTERNAL, "schema too large");
    char path[160];
    int rc = -1;
    for (size_t i = 0; i < v->u.object.len; i++) {
        const char *k = v->u.object.keys[i];
        const scim_attr_t *s = scim_jt_attr(a->sub_attrs, a->sub_count, k);
        if (s == NULL) {
            GW_ERRF(c->err, GW_E_SCIM_INVALID_SYNTAX, "unknown attribute '%s.%s'", where, k);
            goto out;
        }
        size_t j = (size_t)(s - a->sub_attrs);
        for (size_t p = 0; p < i; p++)
            if (strcasecmp(v->u.object.keys[p], k) == 0) {
                GW_ERRF(c->err, GW_E_SCIM_INVALID_SYNTAX, "attribute '%s.%s' given twice", where, s->name);
                goto out;
            }
        yajl_val sv = v->u.object.values[i];
        if (s->mutability == SCIM_MUT_READ_ONLY || YAJL_IS_NULL(sv))
            continue; /* RFC 7644 §3.5.1 */
        snprintf(path, sizeof(path), "%s.%s", where, s->name);
        if (check_scalar(c, path, s, sv, &vals[j]) != 0)
            goto out;
    }
    yajl_val o = scim_jt_object();
    for (size_t j = 0; j < a->sub_count; j++)
        if (vals[j] != NULL) {
            scim_jt_set(o, a->sub_attrs[j].name, vals[j]);
            vals[j] = NULL;
        }
    if (o->u.object.len == 0) {
        yajl_tree_free(o);
        return 0;
    }
    for (size_t j = 0; j < a->sub_count; j++)
        if (a->sub_attrs[j].required && a->sub_attrs[j].mutability != SCIM_MUT_READ_ONLY &&
            scim_jt_unassigned(gw_json_find_ci(o, a->sub_attrs[j].name))) {
            yajl_tree_free(o);
            return GW_ERRF(c->err, GW_E_SCIM_INVALID_VALUE, "'%s.%s' is required", where,
                           a->sub_attrs[j].name);
        }
    *out = o;
    rc = 0;
out:
    for (size_t j = 0; j < a->sub_count; j++)
        yajl_tree_free(vals[j]);
    return rc;
}

static int check_single(check_t *c, const char *where, const scim_attr_t *a, yajl_val v, yajl_val *out)
{
    if (a->type == SCIM_T_COMPLEX)
        return check_complex(c, where, a, v, out);
    return check_scalar(c, where, a, v, out);
}

/* RFC 7643 §2.4: a multi-valued attribute is a JSON array, and "the primary
 * attribute value 'true' MUST appear no more than once". A lone value where
 * an array belongs is invalidValue rather than guessed at. */
static int check_multi(check_t *c, const char *where, const scim_attr_t *a, yajl_val v, yajl_val *out)
{
    *out = NULL;
    if (!YAJL_IS_ARRAY(v))
        return GW_ERRF(c->err, GW_E_SCIM_INVALID_VALUE, "'%s' must be an array", where);
    if (c->rt == &SCIM_RT_USER && v->u.array.len > SCIM_USER_MAX_VALUES)
        return GW_ERRF(c->err, GW_E_SCIM_INVALID_VALUE, "'%s' has more than %d values", where,
                       SCIM_USER_MAX_VALUES);
    yajl_val arr = scim_jt_array();
    int primaries = 0;
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val e = v->u.array.values[i], ce;
        if (YAJL_IS_NULL(e))
            continue;
        if (check_single(c, where, a, e, &ce) != 0) {
            yajl_tree_free(arr);
            return -1;
        }
        if (ce == NULL)
            continue;
        if (YAJL_IS_TRUE(gw_json_get(ce, "primary")) && ++primaries > 1) {
            yajl_tree_free(ce);
            yajl_tree_free(arr);
            return GW_ERRF(c->err, GW_E_SCIM_INVALID_VALUE, "more than one primary value of '%s'", where);
        }
        scim_jt_push(arr, ce);
    }
    if (arr->u.array.len == 0) {
        yajl_tree_free(arr);
        return 0;
    }
    *out = arr;
    return 0;
}

/* ---- attributes of one schema -------------------------------------------------- */

/* The value `a` had in the existing document (in `ext` for an extension). */
static yajl_val existing_value(check_t *c, const scim_schema_t *ext, const scim_attr_t *a)
{
    yajl_val holder = ext ? gw_json_find_ci(c->existing, ext->id) : c->existing;
    return gw_json_find_ci(holder, a->name);
}

/* Checks one top-level attribute (of the core, common or an extension
 * schema) and stores its canonical value in `dst`. */
static int check_attr(check_t *c, const scim_schema_t *ext, const scim_attr_t *a, yajl_val v, yajl_val dst)
{
    yajl_val cv = NULL;
    if (a->mutability == SCIM_MUT_READ_ONLY)
        return 0; /* RFC 7644 §3.5.1: readOnly values given are ignored */
    if (a->mutability == SCIM_MUT_WRITE_ONLY && strcmp(a->name, "password") == 0) {
        if (YAJL_IS_NULL(v))
            return 0;
        if (!YAJL_IS_STRING(v) || v->u.string[0] == '\0')
            return GW_ERR(c->err, GW_E_SCIM_INVALID_VALUE, "'password' must be a non-empty string");
        if (c->password != NULL) {
            free(*c->password);
            *c->password = gw_strdup(v->u.string);
        }
        return 0; /* never stored in the document */
    }
    if (!YAJL_IS_NULL(v)) {
        int rc = a->multi_valued ? check_multi(c, a->name, a, v, &cv) : check_single(c, a->name, a, v, &cv);
        if (rc != 0)
            return -1;
    }
    if (a->mutability == SCIM_MUT_IMMUTABLE && c->mode == SCIM_WRITE_REPLACE) {
        /* RFC 7644 §3.5.1: "If one or more values are already set for the
         * attribute, the input value(s) MUST match". Omitted keeps it. */
        yajl_val old = existing_value(c, ext, a);
        if (!scim_jt_unassigned(old)) {
            if (cv == NULL) {
                cv = scim_jt_copy(old);
            } else if (!scim_jt_equal(cv, old, a->case_exact)) {
                yajl_tree_free(cv);
                return GW_ERRF(c->err, GW_E_SCIM_MUTABILITY, "'%s' is immutable", a->name);
            }
        }
    }
    if (cv != NULL)
        scim_jt_set(dst, a->name, cv);
    return 0;
}

static int check_required(check_t *c, const scim_attr_t *attrs, size_t n, yajl_val obj, const char *prefix)
{
    for (size_t i = 0; i < n; i++)
        if (attrs[i].required && attrs[i].mutability != SCIM_MUT_READ_ONLY &&
            scim_jt_unassigned(gw_json_get(obj, attrs[i].name)))
            return GW_ERRF(c->err, GW_E_SCIM_INVALID_VALUE, "'%s%s' is required", prefix, attrs[i].name);
    return 0;
}

/* Canonical order of the output: definition order of core, then common. */
static void reorder(yajl_val dst, yajl_val src, const scim_attr_t *attrs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < src->u.object.len; j++)
            if (strcmp(src->u.object.keys[j], attrs[i].name) == 0) {
                scim_jt_set(dst, attrs[i].name, src->u.object.values[j]);
                src->u.object.values[j] = NULL;
            }
    }
}

/* RFC 3986 §3.1: scheme ":" ...; the scheme a letter then letters, digits,
 * "+", "-" or ".". Enough to tell a schema URI from a stray word. */
static bool uri_like(const char *s)
{
    if (!isalpha((unsigned char)s[0]))
        return false;
    size_t i = 1;
    while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    return s[i] == ':' && s[i + 1] != '\0';
}

/* Whether `in` carries an attribute under schema `uri`: a key that is the
 * URI (an extension's object) or starts with it and ":" (an attribute named
 * with its URI, RFC 7644 §3.10). */
static bool under_schema(yajl_val in, const char *uri)
{
    size_t n = strlen(uri);
    for (size_t i = 0; i < in->u.object.len; i++) {
        const char *k = in->u.object.keys[i];
        if (strncasecmp(k, uri, n) == 0 && (k[n] == '\0' || k[n] == ':'))
            return true;
    }
    return false;
}

static bool listed(yajl_val schemas, const char *urn)
{
    for (size_t i = 0; i < schemas->u.array.len; i++)
        if (strcasecmp(schemas->u.array.values[i]->u.string, urn) == 0)
            return true;
    return false;
}

int scim_resource_check(const scim_resource_type_t *rt, yajl_val in, scim_write_mode_t mode,
                        yajl_val existing, yajl_val *out, char **password, gw_err_t *err)
{
    check_t c = {.rt = rt, .mode = mode, .existing = existing, .password = password, .err = err};
    size_t n_ext = 0;
    while (rt->extensions != NULL && rt->extensions[n_ext] != NULL)
        n_ext++;
    yajl_val core = NULL, common = NULL, exts[8] = {0};
    *out = NULL;
    if (password != NULL)
        *password = NULL;
    if (n_ext > sizeof(exts) / sizeof(exts[0]))
        return GW_ERR(err, GW_E_INTERNAL, "too many extensions");
    if (!YAJL_IS_OBJECT(in))
        return GW_ERR(err, GW_E_SCIM_INVALID_SYNTAX, "the resource must be a JSON object");

    /* RFC 7643 §3: schemas is REQUIRED, a non-empty array of the schema URIs
     * the representation uses. */
    yajl_val schemas = gw_json_find_ci(in, "schemas");
    if (!YAJL_IS_ARRAY(schemas) || schemas->u.array.len == 0)
        return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "'schemas' must be a non-empty array including \"%s\"",
                       rt->core->id);
    for (size_t i = 0; i < schemas->u.array.len; i++) {
        yajl_val s = schemas->u.array.values[i];
        if (!YAJL_IS_STRING(s))
            return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "'schemas' must hold strings");
        if (strcasecmp(s->u.string, rt->core->id) == 0 || scim_jt_extension(rt, s->u.string) != NULL)
            continue;
        if (!uri_like(s->u.string))
            return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "schema \"%.100s\" is not a URI", s->u.string);
        if (under_schema(in, s->u.string))
            return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "schema \"%.100s\" is not one of %s", s->u.string,
                           rt->name);
        /* A schema we do not know, naming no attribute present: ignored. */
    }
    if (!listed(schemas, rt->core->id))
        return GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "'schemas' must include \"%s\"", rt->core->id);

    core = scim_jt_object();
    common = scim_jt_object();
    for (size_t i = 0; i < in->u.object.len; i++) {
        const char *k = in->u.object.keys[i];
        yajl_val v = in->u.object.values[i];
        for (size_t p = 0; p < i; p++)
            if (strcasecmp(in->u.object.keys[p], k) == 0) {
                GW_ERRF(err, GW_E_SCIM_INVALID_SYNTAX, "attribute '%.100s' given twice", k);
                goto fail;
            }
        if (strcasecmp(k, "schemas") == 0)
            continue;
        const scim_schema_t *ext = scim_jt_extension(rt, k);
        if (ext != NULL) {
            size_t e = 0;
            while (rt->extensions[e] != ext)
                e++;
            if (YAJL_IS_NULL(v))
                continue;
            if (!YAJL_IS_OBJECT(v)) {
                GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "'%s' must be an object", ext->id);
                goto fail;
            }
            exts[e] = scim_jt_object();
            for (size_t j = 0; j < v->u.object.len; j++) {
                const char *ek = v->u.object.keys[j];
                const scim_attr_t *a = scim_jt_attr(ext->attrs, ext->count, ek);
                if (a == NULL) {
                    GW_ERRF(err, GW_E_SCIM_INVALID_SYNTAX, "unknown attribute '%s:%.100s'", ext->id, ek);
                    goto fail;
                }
                if (gw_json_get(exts[e], a->name) != NULL) {
                    GW_ERRF(err, GW_E_SCIM_INVALID_SYNTAX, "attribute '%s' given twice", a->name);
                    goto fail;
                }
                if (check_attr(&c, ext, a, v->u.object.values[j], exts[e]) != 0)
                    goto fail;
            }
            continue;
        }
        const scim_schema_t *sch;
        const scim_attr_t *a = scim_jt_top(rt, k, &sch);
        if (a == NULL) {
            GW_ERRF(err, GW_E_SCIM_INVALID_SYNTAX, "unknown attribute '%.100s'", k);
            goto fail;
        }
        if (check_attr(&c, NULL, a, v, sch ? core : common) != 0)
            goto fail;
    }
    /* Immutable attributes the input left out keep their value (above, for
     * those present); those never mentioned are carried here. */
    if (mode == SCIM_WRITE_REPLACE && existing != NULL) {
        for (size_t i = 0; i < rt->core->count; i++) {
            const scim_attr_t *a = &rt->core->attrs[i];
            if (a->mutability == SCIM_MUT_IMMUTABLE && gw_json_get(core, a->name) == NULL &&
                gw_json_find_ci(in, a->name) == NULL &&
                !scim_jt_unassigned(gw_json_find_ci(existing, a->name)))
                scim_jt_set(core, a->name, scim_jt_copy(gw_json_find_ci(existing, a->name)));
        }
    }
    if (check_required(&c, rt->core->attrs, rt->core->count, core, "") != 0 ||
        check_required(&c, SCIM_COMMON_ATTRS, SCIM_COMMON_ATTR_COUNT, common, "") != 0)
        goto fail;

    yajl_val doc = scim_jt_object();
    yajl_val sl = scim_jt_array();
    scim_jt_push(sl, scim_jt_string(rt->core->id));
    scim_jt_set(doc, "schemas", sl);
    reorder(doc, common, SCIM_COMMON_ATTRS, SCIM_COMMON_ATTR_COUNT);
    reorder(doc, core, rt->core->attrs, rt->core->count);
    for (size_t e = 0; e < n_ext; e++) {
        const scim_schema_t *ext = rt->extensions[e];
        bool has = exts[e] != NULL && exts[e]->u.object.len > 0;
        /* RFC 7643 §3.3: an extension's URI is in schemas when its
         * attributes are present. */
        if (has && !listed(schemas, ext->id)) {
            yajl_tree_free(doc);
            GW_ERRF(err, GW_E_SCIM_INVALID_VALUE, "'schemas' must include \"%s\"", ext->id);
            goto fail;
        }
        if (has && check_required(&c, ext->attrs, ext->count, exts[e], "") != 0) {
            yajl_tree_free(doc);
            goto fail;
        }
        if (has || listed(schemas, ext->id))
            scim_jt_push(sl, scim_jt_string(ext->id));
        if (has) {
            yajl_val o = scim_jt_object();
            reorder(o, exts[e], ext->attrs, ext->count);
            scim_jt_set(doc, ext->id, o);
        }
    }
    *out = doc;
    yajl_tree_free(core);
    yajl_tree_free(common);
    for (size_t e = 0; e < n_ext; e++)
        yajl_tree_free(exts[e]);
    return 0;
fail:
    yajl_tree_free(core);
    yajl_tree_free(common);
    for (size_t e = 0; e < n_ext; e++)
        yajl_tree_free(exts[e]);
    if (password != NULL && *password != NULL) {
        gw_wipe(*password, strlen(*password));
        free(*password);
        *password = NULL;
    }
    return -1;
}
