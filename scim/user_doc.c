/* A user's canonical document written in C from the columns of
 * scim_user_rows (schema/012_scim_user_rows.sql), for list pages.
 *
 * PostgreSQL's jsonb builders cost about 40 us a user; a 100-user page spent
 * 4 of its 5 ms in the database building documents, so listing asks for the
 * columns and writes the same document here. It must stay equal to
 * scim_user_docs (schema/007_scim.sql), the definition every other read and
 * write uses: tests/integration/test_scim_list_docs.py compares a list with
 * GET for users carrying every attribute. The rules are that function's:
 * unassigned attributes left out (RFC 7643 §2.5), `name` and each extension
 * only when one of their attributes is set, `schemas` naming the extensions
 * present, meta.version a bare number. */
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

typedef struct {
    const PGresult *res;
    int row;
    const scim_user_row_cols_t *c;
    gw_jw_t *w;
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

/* "key": "value" when the column is set. */
static void opt_str(const row_t *x, const char *key, field_t f)
{
    const char *v = val(x, f);
    if (v != NULL)
        gw_jw_kv_strn(x->w, key, v, len_of(x, f));
}

/* "key": <JSON from PostgreSQL> when the column is set and not JSON null
 * (the document leaves out nulls at every depth: scim_user_rows strips the
 * ones inside). */
static void opt_json(const row_t *x, const char *key, field_t f)
{
    const char *v = val(x, f);
    size_t n = len_of(x, f);
    if (v != NULL && n > 0 && !(n == 4 && memcmp(v, "null", 4) == 0))
        gw_jw_kv_raw(x->w, key, v, n);
}

static void write_doc(const row_t *x)
{
    gw_jw_t *w = x->w;
    bool ent = any(x, F_EMPLOYEE_NUMBER, F_MANAGER_ID);
    bool rec = any(x, F_BIRTHDATE, F_LEGAL_FAMILY_NAME);
    gw_jw_obj_open(w);
    gw_jw_key(w, "schemas");
    gw_jw_arr_open(w);
    gw_jw_str(w, SCIM_URN_USER);
    if (ent)
        gw_jw_str(w, SCIM_URN_ENTERPRISE);
    if (rec)
        gw_jw_str(w, SCIM_URN_RECOVERY);
    gw_jw_arr_close(w);
    opt_str(x, "id", F_ID);
    opt_str(x, "externalId", F_EXTERNAL_ID);
    opt_str(x, "userName", F_USER_NAME);
    if (any(x, F_NAME_FORMATTED, F_HONORIFIC_SUFFIX)) {
        gw_jw_key(w, "name");
        gw_jw_obj_open(w);
        opt_str(x, "formatted", F_NAME_FORMATTED);
        opt_str(x, "familyName", F_FAMILY_NAME);
        opt_str(x, "givenName", F_GIVEN_NAME);
        opt_str(x, "middleName", F_MIDDLE_NAME);
        opt_str(x, "honorificPrefix", F_HONORIFIC_PREFIX);
        opt_str(x, "honorificSuffix", F_HONORIFIC_SUFFIX);
        gw_jw_obj_close(w);
    }
    opt_str(x, "displayName", F_DISPLAY_NAME);
    opt_str(x, "nickName", F_NICK_NAME);
    opt_str(x, "profileUrl", F_PROFILE_URL);
    opt_str(x, "title", F_TITLE);
    opt_str(x, "userType", F_USER_TYPE);
    opt_str(x, "preferredLanguage", F_PREFERRED_LANGUAGE);
    opt_str(x, "locale", F_LOCALE);
    opt_str(x, "timezone", F_TIMEZONE);
    const char *active = val(x, F_ACTIVE);
    if (active != NULL)
        gw_jw_kv_bool(w, "active", active[0] == 't');
    opt_json(x, "x509Certificates", F_X509);
    opt_json(x, "groups", F_GROUPS);
    if (ent) {
        gw_jw_key(w, SCIM_URN_ENTERPRISE);
        gw_jw_obj_open(w);
        opt_str(x, "employeeNumber", F_EMPLOYEE_NUMBER);
        opt_str(x, "costCenter", F_COST_CENTER);
        opt_str(x, "organization", F_ORGANIZATION);
        opt_str(x, "division", F_DIVISION);
        opt_str(x, "department", F_DEPARTMENT);
        if (val(x, F_MANAGER_ID) != NULL) {
            gw_jw_key(w, "manager");
            gw_jw_obj_open(w);
            opt_str(x, "value", F_MANAGER_ID);
            opt_str(x, "displayName", F_MANAGER_DISPLAY);
            gw_jw_obj_close(w);
        }
        gw_jw_obj_close(w);
    }
    if (rec) {
        gw_jw_key(w, SCIM_URN_RECOVERY);
        gw_jw_obj_open(w);
        opt_str(x, "birthdate", F_BIRTHDATE);
        opt_str(x, "legalGivenName", F_LEGAL_GIVEN_NAME);
        opt_str(x, "legalFamilyName", F_LEGAL_FAMILY_NAME);
        gw_jw_obj_close(w);
    }
    gw_jw_key(w, "meta");
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "resourceType", "User");
    opt_str(x, "created", F_CREATED);
    opt_str(x, "lastModified", F_LAST_MODIFIED);
    opt_json(x, "version", F_VERSION); /* a bigint's digits: a bare JSON number */
    gw_jw_obj_close(w);
    gw_jw_obj_close(w);
}

int scim_user_row_doc(h2o_mem_pool_t *pool, const PGresult *res, int row, const scim_user_row_cols_t *c,
                      h2o_iovec_t *out, gw_err_t *err)
{
    row_t x = {res, row, c, NULL};
    *out = h2o_iovec_init(NULL, 0);
    if (val(&x, F_ID) == NULL)
        return 0;
    x.w = gw_jw_new();
    write_doc(&x);
    size_t len = 0;
    const char *doc = gw_jw_buf(x.w, &len);
    if (doc == NULL) {
        gw_jw_error(x.w, err);
        gw_jw_free(x.w);
        return -1;
    }
    /* The multi-valued attributes come as one object of their own, whose
     * members join the document's: "...}" + "," + "\"emails\":[...]}". */
    const char *vals = val(&x, F_VALS);
    size_t vlen = vals != NULL ? len_of(&x, F_VALS) : 0;
    if (vals != NULL && (vlen < 2 || vals[0] != '{' || vals[vlen - 1] != '}')) {
        gw_jw_free(x.w);
        return GW_ERR(err, GW_E_INTERNAL, "stored resource unreadable");
    }
    bool splice = vlen > 2;
    size_t n = splice ? len - 1 + 1 + vlen - 1 : len;
    char *buf = h2o_mem_alloc_pool(pool, n + 1);
    if (splice) {
        memcpy(buf, doc, len - 1);
        buf[len - 1] = ',';
        memcpy(buf + len, vals + 1, vlen - 1);
    } else {
        memcpy(buf, doc, len);
    }
    buf[n] = '\0';
    gw_jw_free(x.w);
    *out = h2o_iovec_init(buf, n);
    return 0;
}
