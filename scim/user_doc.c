/* A user's canonical document built in C from the columns of
 * scim_user_rows (schema/012_scim_user_rows.sql), for list pages.
 *
 * PostgreSQL's jsonb builders cost about 40 us a user; a 100-user page spent
 * 4 of its 5 ms in the database building documents, so listing asks for the
 * columns and builds the same document here. It must stay equal to
 * scim_user_docs (schema/007_scim.sql), the definition every other read and
 * write uses: tests/integration/test_scim_list_docs.py compares a list with
 * GET for users carrying every attribute. The rules are that function's:
 * unassigned attributes left out (RFC 7643 §2.5), `name` and each extension
 * only when one of their attributes is set, `schemas` naming the extensions
 * present.
 *
 * The document is built as the yajl tree scim_project reads, not as JSON
 * text: writing 100 documents only to parse them back cost about a third of
 * the page's time in regain (malloc per node, escaping and unescaping every
 * string). The tree is the one parsing that text gave, meta.version already
 * the weak entity tag scim_doc_weak_version makes; only the columns that are
 * JSON (the multi-valued attributes, groups, x509Certificates) are parsed,
 * with the limits and key rules the whole document had. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/json.h"
#include "scim/endpoints.h"

/* scim_user_rows' columns, by name: the order of the SQL never matters. */
typedef enum {
    F_ID,
    F_EXTERNAL_ID,
    F_USER_NAME,
    F_NAME_FORMATTED,
    F_FAMILY_NAME,
    F_GIVEN_NAME,
    F_MIDDLE_NAME,
    F_HONORIFIC_PREFIX,
    F_HONORIFIC_SUFFIX,
    F_DISPLAY_NAME,
    F_NICK_NAME,
    F_PROFILE_URL,
    F_TITLE,
    F_USER_TYPE,
    F_PREFERRED_LANGUAGE,
    F_LOCALE,
    F_TIMEZONE,
    F_ACTIVE,
    F_X509,
    F_EMPLOYEE_NUMBER,
    F_COST_CENTER,
    F_ORGANIZATION,
    F_DIVISION,
    F_DEPARTMENT,
    F_MANAGER_ID,
    F_MANAGER_DISPLAY,
    F_BIRTHDATE,
    F_LEGAL_GIVEN_NAME,
    F_LEGAL_FAMILY_NAME,
    F_CREATED,
    F_LAST_MODIFIED,
    F_VERSION,
    F_VALS,
    F_GROUPS,
    F_COUNT
} field_t;

_Static_assert(F_COUNT == SCIM_USER_ROW_FIELDS, "scim_user_row_cols_t holds every column");

static const char *const COLUMN[F_COUNT] = {
    [F_ID] = "id",
    [F_EXTERNAL_ID] = "external_id",
    [F_USER_NAME] = "user_name",
    [F_NAME_FORMATTED] = "name_formatted",
    [F_FAMILY_NAME] = "family_name",
    [F_GIVEN_NAME] = "given_name",
    [F_MIDDLE_NAME] = "name_middle_name",
    [F_HONORIFIC_PREFIX] = "name_honorific_prefix",
    [F_HONORIFIC_SUFFIX] = "name_honorific_suffix",
    [F_DISPLAY_NAME] = "display_name",
    [F_NICK_NAME] = "nick_name",
    [F_PROFILE_URL] = "profile_url",
    [F_TITLE] = "title",
    [F_USER_TYPE] = "user_type",
    [F_PREFERRED_LANGUAGE] = "preferred_language",
    [F_LOCALE] = "locale",
    [F_TIMEZONE] = "timezone",
    [F_ACTIVE] = "active",
    [F_X509] = "x509_certificates",
    [F_EMPLOYEE_NUMBER] = "employee_number",
    [F_COST_CENTER] = "cost_center",
    [F_ORGANIZATION] = "organization",
    [F_DIVISION] = "division",
    [F_DEPARTMENT] = "department",
    [F_MANAGER_ID] = "manager_id",
    [F_MANAGER_DISPLAY] = "manager_display",
    [F_BIRTHDATE] = "birthdate",
    [F_LEGAL_GIVEN_NAME] = "legal_given_name",
    [F_LEGAL_FAMILY_NAME] = "legal_family_name",
    [F_CREATED] = "created",
    [F_LAST_MODIFIED] = "last_modified",
    [F_VERSION] = "version",
    [F_VALS] = "vals",
    [F_GROUPS] = "groups",
};

int scim_user_row_cols(const PGresult *res, scim_user_row_cols_t *c)
{
    for (int f = 0; f < F_COUNT; f++) {
        c->col[f] = PQfnumber(res, COLUMN[f]);
        if (c->col[f] < 0)
            return -1;
    }
    return 0;
}

/* The tree is built from nodes allocated in the request's pool; the JSON
 * columns are parsed by gw_json_parse into trees of their own, released with
 * the pool. */
typedef struct {
    const PGresult *res;
    int row;
    const scim_user_row_cols_t *c;
    h2o_mem_pool_t *pool;
} row_t;

static const char *val(const row_t *x, field_t f)
{
    int col = x->c->col[f];
    return PQgetisnull(x->res, x->row, col) ? NULL : PQgetvalue(x->res, x->row, col);
}

static size_t len_of(const row_t *x, field_t f)
{
    return (size_t)PQgetlength(x->res, x->row, x->c->col[f]);
}

static bool any(const row_t *x, field_t from, field_t to)
{
    for (int f = from; f <= (int)to; f++)
        if (val(x, (field_t)f) != NULL)
            return true;
    return false;
}

static yajl_val node(const row_t *x, yajl_type type)
{
    yajl_val v = h2o_mem_alloc_pool(x->pool, sizeof(*v));
    memset(v, 0, sizeof(*v));
    v->type = type;
    return v;
}

static yajl_val str_node(const row_t *x, const char *s, size_t len)
{
    yajl_val v = node(x, yajl_t_string);
    v->u.string = h2o_mem_alloc_pool(x->pool, len + 1);
    memcpy(v->u.string, s, len);
    v->u.string[len] = '\0';
    return v;
}

/* An object with room for `cap` members. */
static yajl_val obj_node(const row_t *x, size_t cap)
{
    yajl_val v = node(x, yajl_t_object);
    v->u.object.keys = h2o_mem_alloc_pool(x->pool, sizeof(char *) * cap);
    v->u.object.values = h2o_mem_alloc_pool(x->pool, sizeof(yajl_val) * cap);
    return v;
}

static void put(yajl_val obj, const char *key, yajl_val v)
{
    obj->u.object.keys[obj->u.object.len] = key;
    obj->u.object.values[obj->u.object.len++] = v;
}

/* "key": "value" when the column is set. */
static void opt_str(const row_t *x, yajl_val obj, const char *key, field_t f)
{
    const char *v = val(x, f);
    if (v != NULL)
        put(obj, key, str_node(x, v, len_of(x, f)));
}

static void free_tree(void *slot)
{
    yajl_tree_free(*(yajl_val *)slot);
}

/* A JSON column parsed as it would be inside the document, where its value
 * sits one level below the top (`depth` levels are left for it); the tree
 * is released with the pool. NULL with *bad set when it is not JSON. */
static yajl_val parse_col(const row_t *x, field_t f, unsigned depth, bool *bad)
{
    gw_json_limits_t lim = {.max_bytes = 256u * 1024 * 1024, .max_depth = depth};
    gw_err_t err;
    yajl_val t = gw_json_parse(val(x, f), len_of(x, f), &lim, &err);
    if (t == NULL) {
        *bad = true;
        return NULL;
    }
    yajl_val *slot = h2o_mem_alloc_shared(x->pool, sizeof(*slot), free_tree);
    *slot = t;
    return t;
}

/* "key": <JSON from PostgreSQL> when the column is set and not JSON null
 * (the document leaves out nulls at every depth: scim_user_rows strips the
 * ones inside). */
static void opt_json(const row_t *x, yajl_val obj, const char *key, field_t f, bool *bad)
{
    const char *v = val(x, f);
    size_t n = len_of(x, f);
    if (v == NULL || n == 0 || (n == 4 && memcmp(v, "null", 4) == 0))
        return;
    yajl_val t = parse_col(x, f, 63, bad);
    if (t != NULL)
        put(obj, key, t);
}

#define TOP_MEMBERS 24 /* the most members besides the multi-valued ones */

static yajl_val build_doc(const row_t *x, bool *bad)
{
    bool ent = any(x, F_EMPLOYEE_NUMBER, F_MANAGER_ID);
    bool rec = any(x, F_BIRTHDATE, F_LEGAL_FAMILY_NAME);
    /* The multi-valued attributes come as one object of their own, whose
     * members are the document's. */
    yajl_val vals = NULL;
    if (val(x, F_VALS) != NULL) {
        const char *v = val(x, F_VALS);
        size_t vlen = len_of(x, F_VALS);
        if (vlen < 2 || v[0] != '{' || v[vlen - 1] != '}') {
            *bad = true;
            return NULL;
        }
        if (vlen > 2) {
            /* its members sit where the document's do: the same depth */
            vals = parse_col(x, F_VALS, 64, bad);
            if (vals == NULL || !YAJL_IS_OBJECT(vals) || vals->u.object.len == 0) {
                *bad = true;
                return NULL;
            }
        }
    }
    yajl_val doc = obj_node(x, TOP_MEMBERS + (vals != NULL ? vals->u.object.len : 0));
    yajl_val schemas = node(x, yajl_t_array);
    schemas->u.array.values = h2o_mem_alloc_pool(x->pool, sizeof(yajl_val) * 3);
    schemas->u.array.values[schemas->u.array.len++] = str_node(x, SCIM_URN_USER, strlen(SCIM_URN_USER));
    if (ent)
        schemas->u.array.values[schemas->u.array.len++] =
            str_node(x, SCIM_URN_ENTERPRISE, strlen(SCIM_URN_ENTERPRISE));
    if (rec)
        schemas->u.array.values[schemas->u.array.len++] =
            str_node(x, SCIM_URN_RECOVERY, strlen(SCIM_URN_RECOVERY));
    put(doc, "schemas", schemas);
    opt_str(x, doc, "id", F_ID);
    opt_str(x, doc, "externalId", F_EXTERNAL_ID);
    opt_str(x, doc, "userName", F_USER_NAME);
    if (any(x, F_NAME_FORMATTED, F_HONORIFIC_SUFFIX)) {
        yajl_val name = obj_node(x, 6);
        opt_str(x, name, "formatted", F_NAME_FORMATTED);
        opt_str(x, name, "familyName", F_FAMILY_NAME);
        opt_str(x, name, "givenName", F_GIVEN_NAME);
        opt_str(x, name, "middleName", F_MIDDLE_NAME);
        opt_str(x, name, "honorificPrefix", F_HONORIFIC_PREFIX);
        opt_str(x, name, "honorificSuffix", F_HONORIFIC_SUFFIX);
        put(doc, "name", name);
    }
    opt_str(x, doc, "displayName", F_DISPLAY_NAME);
    opt_str(x, doc, "nickName", F_NICK_NAME);
    opt_str(x, doc, "profileUrl", F_PROFILE_URL);
    opt_str(x, doc, "title", F_TITLE);
    opt_str(x, doc, "userType", F_USER_TYPE);
    opt_str(x, doc, "preferredLanguage", F_PREFERRED_LANGUAGE);
    opt_str(x, doc, "locale", F_LOCALE);
    opt_str(x, doc, "timezone", F_TIMEZONE);
    const char *active = val(x, F_ACTIVE);
    if (active != NULL)
        put(doc, "active", node(x, active[0] == 't' ? yajl_t_true : yajl_t_false));
    opt_json(x, doc, "x509Certificates", F_X509, bad);
    opt_json(x, doc, "groups", F_GROUPS, bad);
    if (ent) {
        yajl_val e = obj_node(x, 6);
        opt_str(x, e, "employeeNumber", F_EMPLOYEE_NUMBER);
        opt_str(x, e, "costCenter", F_COST_CENTER);
        opt_str(x, e, "organization", F_ORGANIZATION);
        opt_str(x, e, "division", F_DIVISION);
        opt_str(x, e, "department", F_DEPARTMENT);
        if (val(x, F_MANAGER_ID) != NULL) {
            yajl_val m = obj_node(x, 2);
            opt_str(x, m, "value", F_MANAGER_ID);
            opt_str(x, m, "displayName", F_MANAGER_DISPLAY);
            put(e, "manager", m);
        }
        put(doc, SCIM_URN_ENTERPRISE, e);
    }
    if (rec) {
        yajl_val rv = obj_node(x, 3);
        opt_str(x, rv, "birthdate", F_BIRTHDATE);
        opt_str(x, rv, "legalGivenName", F_LEGAL_GIVEN_NAME);
        opt_str(x, rv, "legalFamilyName", F_LEGAL_FAMILY_NAME);
        put(doc, SCIM_URN_RECOVERY, rv);
    }
    yajl_val meta = obj_node(x, 4);
    put(meta, "resourceType", str_node(x, "User", 4));
    opt_str(x, meta, "created", F_CREATED);
    opt_str(x, meta, "lastModified", F_LAST_MODIFIED);
    const char *version = val(x, F_VERSION);
    if (version != NULL) {
        /* a bigint: as a weak entity tag (scim_doc_weak_version) */
        char tag[48];
        int n = snprintf(tag, sizeof(tag), "W/\"%lld\"", strtoll(version, NULL, 10));
        put(meta, "version", str_node(x, tag, (size_t)n));
    }
    put(doc, "meta", meta);
    if (vals != NULL) {
        /* a member named like one of the document's own was a duplicate key
         * of the document, which no reader accepts */
        size_t own = doc->u.object.len;
        for (size_t i = 0; i < vals->u.object.len; i++) {
            for (size_t j = 0; j < own; j++)
                if (strcmp(vals->u.object.keys[i], doc->u.object.keys[j]) == 0)
                    *bad = true;
            put(doc, vals->u.object.keys[i], vals->u.object.values[i]);
        }
    }
    return *bad ? NULL : doc;
}

int scim_user_row_tree(h2o_mem_pool_t *pool, const PGresult *res, int row, const scim_user_row_cols_t *c,
                       yajl_val *out, gw_err_t *err)
{
    row_t x = {res, row, c, pool};
    *out = NULL;
    if (val(&x, F_ID) == NULL)
        return 0;
    bool bad = false;
    *out = build_doc(&x, &bad);
    if (*out == NULL)
        return GW_ERR(err, GW_E_INTERNAL, "stored resource unreadable");
    return 0;
}
