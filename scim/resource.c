/* The create/read/replace/patch/delete flow of a SCIM resource (RFC 7644
 * §3.3, §3.4.1, §3.5.1, §3.5.2, §3.6, §3.14), written once for Users and
 * Groups (scim_kind_t says what differs), and run either for an HTTP request
 * or, without HTTP, for one /Bulk operation (scim_op_execute, §3.7).
 *
 *   POST   check (CREATE) -> [hash password on a worker] -> write -> 201
 *   GET    load -> If-None-Match -> 200 / 304
 *   PUT    load -> If-Match -> check (REPLACE, existing) -> [hash] -> write
 *   PATCH  load -> If-Match -> scim_patch_apply -> check (REPLACE) -> [hash]
 *          -> write (Group member changes go to scim_group_members_change,
 *          so a large group's members are never loaded)
 *   DELETE [load -> If-Match] -> delete (conditional on the loaded version)
 *          -> 204
 *
 * Concurrent writers: every write is conditional on the version that was
 * loaded (if_version). When the client sent If-Match, a lost race is its
 * 412 (§3.14). Without If-Match the client asked for no precondition, so a
 * lost race reloads and applies the request again, up to OP_MAX_ATTEMPTS.
 *
 * Nothing changes on error: every check runs before the one statement that
 * writes, and that statement is one transaction. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "gateway/workers.h"
#include "oidc/internal.h"
#include "oidc/signin_internal.h"
#include "scim/bulk.h"
#include "scim/endpoints.h"

#define OP_MAX_ATTEMPTS 3
/* Documents from our own database: trusted, but a group with 100,000
 * members is several megabytes. */
#define DOC_MAX_BYTES (256u * 1024 * 1024)

enum { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE, M_OTHER };

typedef struct scim_op scim_op_t;
struct scim_op {
    gw_req_t *r;
    const scim_kind_t *k;
    int method;
    char id[OIDC_UUID_LEN + 1];
    yajl_val body;                        /* the request's document; not ours */
    const char *if_match, *if_none_match; /* header values, or NULL */
    const char *attributes, *excluded;    /* RFC 7644 §3.9, or NULL */
    int attempts;
    char version[24]; /* of the loaded (or written) resource: decimal */
    yajl_val loaded;  /* the stored document (pool tree) */
    yajl_val patched; /* scim_patch_apply's output (owned) */
    yajl_val checked; /* scim_resource_check's output (owned) */
    char *password;   /* malloc'd copy of a new password, wiped */
    size_t password_len;
    char *hash;                /* malloc'd Argon2id PHC string */
    char *add, *remove, *must; /* Group member changes as JSON text (pool) */
    bool remove_all, has_member_ops;
    /* Where the outcome goes: the HTTP reply, or a /Bulk callback. */
    scim_op_cb cb;
    void *cb_data;
    struct hash_job *job; /* a password hash in flight */
};

static void op_release(scim_op_t *op)
{
    if (op->patched != NULL)
        yajl_tree_free(op->patched);
    if (op->checked != NULL)
        yajl_tree_free(op->checked);
    op->patched = op->checked = NULL;
    if (op->password != NULL) {
        gw_wipe(op->password, op->password_len);
        free(op->password);
        op->password = NULL;
    }
    free(op->hash);
    op->hash = NULL;
}

static void on_op_dispose(void *p)
{
    op_release(p);
}

/* ---- JSON helpers ------------------------------------------------------------- */

/* Writes a yajl tree (ours or the other parts') as JSON. */
static void write_val(gw_jw_t *w, yajl_val v)
{
    if (v == NULL || YAJL_IS_NULL(v)) {
        gw_jw_null(w);
    } else if (YAJL_IS_STRING(v)) {
        gw_jw_str(w, YAJL_GET_STRING(v));
    } else if (YAJL_IS_TRUE(v)) {
        gw_jw_bool(w, true);
    } else if (YAJL_IS_FALSE(v)) {
        gw_jw_bool(w, false);
    } else if (YAJL_IS_NUMBER(v)) {
        const char *text = YAJL_GET_NUMBER(v);
        char buf[40];
        if (text == NULL || text[0] == '\0') {
            if (YAJL_IS_INTEGER(v))
                snprintf(buf, sizeof(buf), "%lld", YAJL_GET_INTEGER(v));
            else
                snprintf(buf, sizeof(buf), "%.17g", YAJL_GET_DOUBLE(v));
            text = buf;
        }
        gw_jw_raw(w, text, strlen(text));
    } else if (YAJL_IS_OBJECT(v)) {
        gw_jw_obj_open(w);
        for (size_t i = 0; i < YAJL_GET_OBJECT(v)->len; i++) {
            gw_jw_key(w, YAJL_GET_OBJECT(v)->keys[i]);
            write_val(w, YAJL_GET_OBJECT(v)->values[i]);
        }
        gw_jw_obj_close(w);
    } else if (YAJL_IS_ARRAY(v)) {
        gw_jw_arr_open(w);
        for (size_t i = 0; i < YAJL_GET_ARRAY(v)->len; i++)
            write_val(w, YAJL_GET_ARRAY(v)->values[i]);
        gw_jw_arr_close(w);
    } else {
        gw_jw_null(w);
    }
}

/* `v` as NUL-terminated JSON text in r's pool, or NULL with err. */
static char *val_text(gw_req_t *r, yajl_val v, gw_err_t *err)
{
    gw_jw_t *w = gw_jw_new();
    write_val(w, v);
    size_t len;
    const char *buf = gw_jw_buf(w, &len);
    if (buf == NULL) {
        gw_jw_error(w, err);
        gw_jw_free(w);
        return NULL;
    }
    char *s = gw_req_strdup(r, buf, len).base;
    gw_jw_free(w);
    return s;
}

/* Whether `list` names `attr`: whole only (`whole`), or also through one of
 * its sub-attributes ("members.value"). */
static int attr_list_names(const char *list, const char *attr, bool whole)
{
    if (list == NULL)
        return 0;
    size_t alen = strlen(attr);
    const char *p = list;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        const char *s = p, *e = end;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        /* urn:...:Group:members.value -> members.value */
        for (const char *c = e; c > s; c--)
            if (c[-1] == ':') {
                s = c;
                break;
            }
        const char *dot = memchr(s, '.', (size_t)(e - s));
        size_t n = dot != NULL ? (size_t)(dot - s) : (size_t)(e - s);
        if (n == alen && strncasecmp(s, attr, n) == 0 && !(whole && dot != NULL))
            return 1;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

int scim_attr_list_has(const char *list, const char *attr)
{
    return attr_list_names(list, attr, false);
}

bool scim_group_wants_members(const char *attributes, const char *excluded)
{
    if (attributes != NULL && attributes[0] != '\0')
        return scim_attr_list_has(attributes, "members");
    /* RFC 7644 §3.9: excluding "members.display" leaves the members, each
     * without its display; only "members" itself removes them. */
    return !attr_list_names(excluded, "members", true);
}

/* ---- entity tags (RFC 7644 §3.14, RFC 9110 §8.8.3) ----------------------------- */

/* The decimal version in meta.version of a stored document: a bare number
 * from the database (schema/007_scim.sql), or W/"12" once written. */
static int doc_version(yajl_val doc, char out[24])
{
    yajl_val mv = gw_json_get(gw_json_get(doc, "meta"), "version");
    const char *v = NULL;
    if (mv != NULL && YAJL_IS_INTEGER(mv)) {
        snprintf(out, 24, "%lld", YAJL_GET_INTEGER(mv));
        return 0;
    }
    if (mv != NULL && YAJL_IS_STRING(mv))
        v = YAJL_GET_STRING(mv);
    if (v == NULL)
        return -1;
    if (strncmp(v, "W/", 2) == 0)
        v += 2;
    if (*v == '"')
        v++;
    size_t n = 0;
    while (n < 20 && isdigit((unsigned char)v[n]))
        n++;
    if (n == 0)
        return -1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

void scim_doc_weak_version(yajl_val doc)
{
    yajl_val meta = gw_json_get(doc, "meta");
    if (!YAJL_IS_OBJECT(meta))
        return;
    for (size_t i = 0; i < YAJL_GET_OBJECT(meta)->len; i++) {
        yajl_val v = YAJL_GET_OBJECT(meta)->values[i];
        if (strcmp(YAJL_GET_OBJECT(meta)->keys[i], "version") != 0 || !YAJL_IS_INTEGER(v))
            continue;
        char buf[32];
        snprintf(buf, sizeof(buf), "W/\"%lld\"", YAJL_GET_INTEGER(v));
        yajl_val s = gw_calloc(1, sizeof(*s));
        s->type = yajl_t_string;
        s->u.string = gw_strdup(buf);
        yajl_tree_free(v); /* the tree's own node; the new one is freed with the tree */
        YAJL_GET_OBJECT(meta)->values[i] = s;
    }
}

/* 1 when an If-Match / If-None-Match list names `version`. Entity tags are
 * compared weakly (the W/ prefix is ignored): SCIM's versions are weak tags
 * and §3.14 uses them with If-Match. "*" matches any existing resource. */
static int etag_matches(const char *header, const char *version)
{
    const char *p = header;
    size_t vlen = strlen(version);
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        const char *s = p, *e;
        if (*p == '"') {
            s = ++p;
            e = strchr(p, '"');
            if (e == NULL)
                return 0;
            p = e + 1;
        } else {
            while (*p != '\0' && *p != ',' && *p != ' ')
                p++;
            e = p;
        }
        if ((size_t)(e - s) == vlen && memcmp(s, version, vlen) == 0)
            return 1;
    }
    return 0;
}

/* ---- the outcome ----------------------------------------------------------------- */

static const char *base_url(void)
{
    static char buf[512];
    if (buf[0] == '\0')
        snprintf(buf, sizeof(buf), "%s" SCIM_BASE, scim_cfg != NULL ? scim_cfg->issuer : "");
    return buf;
}

static void op_fail(scim_op_t *op, const gw_err_t *err)
{
    gw_req_t *r = op->r;
    op_release(op);
    if (op->cb == NULL) {
        scim_reply_error(r, err);
        return;
    }
    int status = gw_err_status(err->kind);
    if (status >= 500)
        gw_log_write(GW_LOG_ERROR, __func__, r->id, "%s (%s) at %s:%d", err->public, err->detail,
                     err->file ? err->file : "?", err->line);
    gw_jw_t *w = gw_jw_new();
    scim_error_write(w, status, gw_err_scim_type(err->kind), err->public);
    size_t len = 0;
    const char *json = gw_jw_buf(w, &len);
    op->cb(r, op->cb_data, status, json ? json : "{}", json ? len : 2, NULL, NULL);
    gw_jw_free(w);
}

static void op_failk(scim_op_t *op, gw_err_kind_t kind, const char *msg)
{
    gw_err_t err;
    GW_ERR(&err, kind, msg);
    op_fail(op, &err);
}

/* The etag of decimal version `v`: W/"v" (RFC 7644 §3.14, weak). */
static const char *etag_of(gw_req_t *r, const char *v)
{
    size_t n = strlen(v) + 5;
    char *s = gw_req_alloc(r, n);
    snprintf(s, n, "W/\"%s\"", v);
    return s;
}

static const char *location_of(gw_req_t *r, const scim_resource_type_t *rt, const char *id)
{
    size_t n = strlen(base_url()) + strlen(rt->endpoint) + strlen(id) + 2;
    char *s = gw_req_alloc(r, n);
    snprintf(s, n, "%s%s/%s", base_url(), rt->endpoint, id);
    return s;
}

/* A stored document as the outcome: 200/201 with ETag, Location on 201
 * (RFC 7644 §3.3), the body projected per §3.9. */
static void op_reply_tree(scim_op_t *op, int status, const char *version, yajl_val doc)
{
    gw_req_t *r = op->r;
    const scim_resource_type_t *rt = op->k->rt;
    gw_err_t err;
    char v[24] = "";
    if (version != NULL)
        snprintf(v, sizeof(v), "%s", version);
    else if (doc_version(doc, v) != 0)
        v[0] = '\0';
    const char *id = gw_json_str(doc, "id");
    const char *etag = v[0] != '\0' ? etag_of(r, v) : NULL;
    const char *location = id != NULL ? location_of(r, rt, id) : NULL;
    bool bulk = op->cb != NULL;
    scim_doc_weak_version(doc);
    gw_jw_t *w = gw_jw_new();
    if (scim_project(rt, doc, bulk ? NULL : op->attributes, bulk ? NULL : op->excluded, base_url(), w,
                     &err) != 0 ||
        gw_jw_error(w, &err) != 0) {
        gw_jw_free(w);
        op_fail(op, &err);
        return;
    }
    size_t blen = 0;
    const char *body = gw_jw_buf(w, &blen);
    op_release(op);
    if (bulk) {
        op->cb(r, op->cb_data, status, body, blen, location, etag);
    } else {
        if (etag != NULL)
            gw_reply_header(r, "etag", etag, strlen(etag));
        if (status == 201 && location != NULL)
            gw_reply_header(r, "location", location, strlen(location));
        scim_reply_json(r, status, body, blen);
    }
    gw_jw_free(w);
}

/* 204 (DELETE, a Group PATCH) or 304 (If-None-Match): no body. */
static yajl_val parse_doc(gw_req_t *r, const char *json, size_t len)
{
    gw_json_limits_t lim = {.max_bytes = DOC_MAX_BYTES, .max_depth = 64, .require_object = true};
    gw_err_t err;
    return gw_json_parse_pool(&r->req->pool, json, len, &lim, &err);
}

/* The same from the database's text. */
static void op_reply_doc(scim_op_t *op, int status, const char *version, const char *json, size_t len)
{
    yajl_val doc = parse_doc(op->r, json, len);
    if (doc == NULL) {
        op_failk(op, GW_E_INTERNAL, "stored resource unreadable");
        return;
    }
    op_reply_tree(op, status, version, doc);
}

static void op_reply_empty(scim_op_t *op, int status, const char *version)
{
    gw_req_t *r = op->r;
    const char *etag = version != NULL && version[0] != '\0' ? etag_of(r, version) : NULL;
    op_release(op);
    if (op->cb != NULL) {
        op->cb(r, op->cb_data, status, "", 0, NULL, etag);
        return;
    }
    if (etag != NULL)
        gw_reply_header(r, "etag", etag, strlen(etag));
    gw_reply(r, status, SCIM_MEDIA_TYPE, "", 0);
}

/* ---- writing ----------------------------------------------------------------------- */

static void op_load(scim_op_t *op);

static bool sqlstate_is(const gw_err_t *err, const char *state)
{
    return err->kind == GW_E_INTERNAL && strstr(err->detail, state) != NULL;
}

static void on_written(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    (void)r;
    scim_op_t *op = data;
    if (res == NULL) {
        if (err->kind == GW_E_CONFLICT) {
            /* RFC 7644 §3.3: 409 uniqueness for a duplicate. */
            op_failk(op, GW_E_SCIM_UNIQUENESS,
                     op->k->is_group ? "a group with this displayName already exists"
                                     : "userName is already taken");
        } else if (sqlstate_is(err, "RG412")) {
            if (op->if_match != NULL) {
                op_failk(op, GW_E_PRECONDITION_FAILED, "the resource has changed (If-Match)");
            } else if (++op->attempts < OP_MAX_ATTEMPTS) {
                /* Lost a race without asking for a precondition: apply the
                 * request again to the new version. The hash is kept. */
                if (op->patched != NULL)
                    yajl_tree_free(op->patched);
                if (op->checked != NULL)
                    yajl_tree_free(op->checked);
                op->patched = op->checked = NULL;
                op_load(op);
            } else {
                op_failk(op, GW_E_CONFLICT, "the resource is being changed concurrently; try again");
            }
        } else if (sqlstate_is(err, "RG4NT")) {
            /* RFC 7644 §3.12: a members[value eq ...] filter matched nobody. */
            op_failk(op, GW_E_SCIM_NO_TARGET, "no member matches the filter of a remove operation");
        } else if (sqlstate_is(err, "RG400") || sqlstate_is(err, "22P02")) {
            op_failk(op, GW_E_SCIM_INVALID_VALUE,
                     op->k->is_group
                         ? "a value is not acceptable (a member must be the id of a User or Group)"
                         : "a value is not acceptable");
        } else if (sqlstate_is(err, "RG404")) {
            op_failk(op, GW_E_NOT_FOUND, "no such resource");
        } else {
            op_fail(op, err);
        }
        return;
    }
    if (PQntuples(res) == 0 || store_value(res, 0, 2) == NULL) {
        op_failk(op, GW_E_NOT_FOUND, "no such resource");
        return;
    }
    const char *version = store_value(res, 0, 1);
    const char *doc = store_value(res, 0, 2);
    size_t len = (size_t)PQgetlength(res, 0, 2);
    gw_log_write(GW_LOG_INFO, __func__, r->id, "%s %s %s", op->method == M_POST ? "created" : "changed",
                 op->k->rt->name, store_value(res, 0, 0));
    if (op->method == M_POST) {
        op_reply_doc(op, 201, version, doc, len);
    } else if (op->method == M_PATCH && op->k->is_group && op->cb == NULL &&
               (op->attributes == NULL || op->attributes[0] == '\0')) {
        /* RFC 7644 §3.5.2: 204 is allowed unless `attributes` was asked
         * for; a big group's member list is not worth sending back. */
        op_reply_empty(op, 204, version);
    } else {
        op_reply_doc(op, 200, version, doc, len);
    }
}

static void op_write(scim_op_t *op)
{
    gw_req_t *r = op->r;
    gw_err_t err;
    char *doc = val_text(r, op->checked, &err);
    if (doc == NULL) {
        op_fail(op, &err);
        return;
    }
    const char *id = op->method == M_POST ? NULL : op->id;
    const char *ver = op->method == M_POST || op->version[0] == '\0' ? NULL : op->version;
    /* RFC 7644 §3.5.2: a PATCH answered with `attributes` shows the whole
     * resource subject to them; the members are read only if they count. */
    const char *doc_members = op->k->is_group && op->method == M_PATCH && op->cb == NULL &&
                                      op->attributes != NULL && op->attributes[0] != '\0' &&
                                      scim_group_wants_members(op->attributes, op->excluded)
                                  ? "t"
                                  : NULL;
    if (!op->k->is_group) {
        const char *params[4] = {id, doc, op->hash, ver};
        gw_req_query(r, op->k->write, params, on_written, op);
    } else if (op->method == M_PATCH && op->has_member_ops) {
        const char *params[8] = {id,
                                 doc,
                                 op->add != NULL ? op->add : "[]",
                                 op->remove != NULL ? op->remove : "[]",
                                 op->remove_all ? "t" : "f",
                                 ver,
                                 doc_members,
                                 op->must};
        gw_req_query(r, &scim_stmt_group_patch, params, on_written, op);
    } else {
        /* PUT and POST replace the members from the document (§3.5.1);
         * a PATCH without member operations keeps them. */
        const char *params[5] = {id, doc, ver, op->method == M_PATCH ? "f" : "t", doc_members};
        gw_req_query(r, op->k->write, params, on_written, op);
    }
}

/* Argon2id of a new password on the worker pool (gateway/workers.h): the
 * hash of the sign-in area (oidc_password_hash), at its configured cost. */
typedef struct hash_job {
    scim_op_t *op; /* NULL once the request has gone */
    oidc_argon2_params_t prm;
    char *pwd;
    size_t len;
    char *hash;
    gw_err_t err;
    int rc;
} hash_job_t;

static void hash_work(void *arg)
{
    hash_job_t *j = arg;
    j->rc = oidc_password_hash(&j->prm, j->pwd, j->len, &j->hash, &j->err);
    gw_wipe(j->pwd, j->len);
}

static void hash_detach(void *pending)
{
    ((hash_job_t *)pending)->op = NULL;
}

static void hash_done(void *arg)
{
    hash_job_t *j = arg;
    scim_op_t *op = j->op;
    free(j->pwd);
    if (op == NULL) {
        free(j->hash);
        free(j);
        return; /* the client went away while the worker ran */
    }
    gw_req_clear_pending(op->r);
    op->job = NULL;
    if (j->rc != 0) {
        gw_err_t err = j->err;
        free(j);
        op_fail(op, &err);
        return;
    }
    op->hash = j->hash;
    free(j);
    op_write(op);
}

static void op_hash_then_write(scim_op_t *op)
{
    if (op->password == NULL || op->hash != NULL) {
        op_write(op);
        return;
    }
    hash_job_t *j = gw_calloc(1, sizeof(*j));
    j->op = op;
    const gw_config_t *cfg = scim_cfg;
    j->prm = (oidc_argon2_params_t){cfg->oidc.argon2_t, cfg->oidc.argon2_m_kib, cfg->oidc.argon2_p};
    j->pwd = gw_malloc(op->password_len + 1);
    memcpy(j->pwd, op->password, op->password_len);
    j->len = op->password_len;
    op->job = j;
    gw_req_set_pending(op->r, j, hash_detach);
    gw_work_submit(op->r->thread, hash_work, hash_done, j);
}

/* Keeps a copy of a new password (RFC 7643 §4.1.1: writeOnly, never
 * returned) and releases the other part's string. */
static int take_password(scim_op_t *op, char *pw, gw_err_t *err)
{
    if (pw == NULL)
        return 0;
    size_t n = strlen(pw);
    if (n == 0 || n > OIDC_PASSWORD_MAX) {
        gw_wipe(pw, n);
        free(pw);
        return GW_ERR(err, GW_E_SCIM_INVALID_VALUE, "password must have 1 to 1024 bytes");
    }
    if (op->password != NULL) {
        gw_wipe(op->password, op->password_len);
        free(op->password);
    }
    op->password = gw_malloc(n + 1);
    memcpy(op->password, pw, n + 1);
    op->password_len = n;
    gw_wipe(pw, n);
    free(pw);
    return 0;
}

/* POST, PUT, PATCH: the new document, checked, then the write. */
static void op_prepare_write(scim_op_t *op)
{
    gw_req_t *r = op->r;
    const scim_resource_type_t *rt = op->k->rt;
    gw_err_t err;
    char *pw = NULL;
    if (op->method == M_PATCH) {
        scim_members_ops_t mops = {0};
        if (scim_patch_apply(rt, op->loaded, op->body, &op->patched, &pw, op->k->is_group ? &mops : NULL,
                             &err) != 0 ||
            take_password(op, pw, &err) != 0) {
            op_fail(op, &err);
            return;
        }
        pw = NULL;
        op->has_member_ops = mops.add != NULL || mops.remove != NULL || mops.remove_all;
        op->remove_all = mops.remove_all;
        /* The member lists are ours now (patch.c hands them over): as text
         * for the statement, then released. */
        op->must = NULL;
        bool bad = (mops.add != NULL && (op->add = val_text(r, mops.add, &err)) == NULL) ||
                   (mops.remove != NULL && (op->remove = val_text(r, mops.remove, &err)) == NULL) ||
                   (mops.must != NULL && (op->must = val_text(r, mops.must, &err)) == NULL);
        yajl_tree_free(mops.add);
        yajl_tree_free(mops.remove);
        yajl_tree_free(mops.must);
        if (bad) {
            op_fail(op, &err);
            return;
        }
        if (scim_resource_check(rt, op->patched, SCIM_WRITE_REPLACE, op->loaded, &op->checked, &pw, &err) !=
                0 ||
            take_password(op, pw, &err) != 0) {
            op_fail(op, &err);
            return;
        }
    } else {
        scim_write_mode_t mode = op->method == M_POST ? SCIM_WRITE_CREATE : SCIM_WRITE_REPLACE;
        if (scim_resource_check(rt, op->body, mode, op->loaded, &op->checked, &pw, &err) != 0 ||
            take_password(op, pw, &err) != 0) {
            op_fail(op, &err);
            return;
        }
    }
    if (op->k->is_group && op->password != NULL) {
        op_failk(op, GW_E_SCIM_INVALID_SYNTAX, "groups have no password");
        return;
    }
    op_hash_then_write(op);
}

/* ---- reading and deleting ---------------------------------------------------------- */

static void on_deleted(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    scim_op_t *op = data;
    if (res == NULL && sqlstate_is(err, "RG412")) {
        /* Changed since If-Match was evaluated: evaluate it again on the
         * new version ("*", or a list naming both, may still match). */
        if (++op->attempts < OP_MAX_ATTEMPTS)
            op_load(op);
        else
            op_failk(op, GW_E_PRECONDITION_FAILED, "the resource has changed (If-Match)");
        return;
    }
    if (res == NULL) {
        op_fail(op, err);
        return;
    }
    const char *v = PQntuples(res) > 0 ? store_value(res, 0, 0) : NULL;
    if (v == NULL || v[0] != 't') {
        op_failk(op, GW_E_NOT_FOUND, "no such resource");
        return;
    }
    gw_log_write(GW_LOG_INFO, __func__, r->id, "deleted %s %s", op->k->rt->name, op->id);
    op_reply_empty(op, 204, NULL);
}

/* RFC 9110 §13.1.1: with If-Match, the delete itself is conditional on the
 * version the condition was evaluated on (RG412 otherwise), so a write
 * committed since is never deleted with it. */
static void op_delete(scim_op_t *op)
{
    const char *ver = op->if_match != NULL && op->version[0] != '\0' ? op->version : NULL;
    const char *params[2] = {op->id, ver};
    gw_req_query(op->r, op->k->del, params, on_deleted, op);
}

static void on_loaded(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    scim_op_t *op = data;
    if (res == NULL) {
        op_fail(op, err);
        return;
    }
    const char *text = PQntuples(res) > 0 ? store_value(res, 0, 0) : NULL;
    if (text == NULL) {
        op_failk(op, GW_E_NOT_FOUND, op->k->is_group ? "no such Group" : "no such User");
        return;
    }
    op->loaded = parse_doc(r, text, (size_t)PQgetlength(res, 0, 0));
    if (op->loaded == NULL) {
        op_failk(op, GW_E_INTERNAL, "stored resource unreadable");
        return;
    }
    if (doc_version(op->loaded, op->version) != 0)
        op->version[0] = '\0';
    if (op->method == M_GET) {
        if (op->if_none_match != NULL && op->version[0] != '\0' &&
            etag_matches(op->if_none_match, op->version)) {
            /* RFC 7644 §3.14, RFC 9110 §13.1.2: unchanged since the client's copy. */
            op_reply_empty(op, 304, op->version);
            return;
        }
        op_reply_tree(op, 200, op->version, op->loaded);
        return;
    }
    if (op->if_match != NULL && !etag_matches(op->if_match, op->version)) {
        /* RFC 7644 §3.14: the client's version is not the current one. */
        op_failk(op, GW_E_PRECONDITION_FAILED, "the resource has changed (If-Match)");
        return;
    }
    if (op->method == M_DELETE)
        op_delete(op);
    else
        op_prepare_write(op);
}

static void op_load(scim_op_t *op)
{
    /* Members of a Group only when the answer shows them: never for a
     * write, which changes them without loading them. */
    bool members = op->method == M_GET && scim_group_wants_members(op->attributes, op->excluded);
    const char *params[2] = {op->id, members ? "t" : "f"};
    gw_req_query(op->r, op->k->doc, params, on_loaded, op);
}

static void op_start(scim_op_t *op)
{
    switch (op->method) {
    case M_POST:
        op_prepare_write(op);
        break;
    case M_DELETE:
        if (op->if_match == NULL)
            op_delete(op);
        else
            op_load(op);
        break;
    default:
        op_load(op);
        break;
    }
}

static scim_op_t *op_new(gw_req_t *r, const scim_kind_t *k, int method)
{
    scim_op_t *op = h2o_mem_alloc_shared(&r->req->pool, sizeof(*op), on_op_dispose);
    memset(op, 0, sizeof(*op));
    op->r = r;
    op->k = k;
    op->method = method;
    return op;
}

/* `s` is a resource id of ours (a uuid); anything else is simply not found,
 * never a database error from a bad cast. */
static int set_id(scim_op_t *op, const char *s, size_t n)
{
    if (!oidc_uuid_ok(s, n))
        return -1;
    memcpy(op->id, s, n);
    op->id[n] = '\0';
    return 0;
}

/* ---- HTTP ---------------------------------------------------------------------------- */

/* RFC 7644 §3.1, §8.1: clients send application/scim+json; application/json
 * is accepted too (§8.1: servers SHOULD accept it). A body labelled
 * otherwise is 415; one without a label is read as JSON, as scripts send it. */
static int media_type_ok(h2o_iovec_t ct)
{
    if (ct.base == NULL)
        return 1;
    size_t n = 0;
    while (n < ct.len && ct.base[n] != ';')
        n++;
    while (n > 0 && (ct.base[n - 1] == ' ' || ct.base[n - 1] == '\t'))
        n--;
    return (n == sizeof(SCIM_MEDIA_TYPE) - 1 && strncasecmp(ct.base, SCIM_MEDIA_TYPE, n) == 0) ||
           (n == 16 && strncasecmp(ct.base, "application/json", 16) == 0);
}

yajl_val scim_body_or_reply(gw_req_t *r)
{
    h2o_req_t *req = r->req;
    if (!media_type_ok(gw_req_header(r, "content-type"))) {
        scim_reply_fail(r, GW_E_UNSUPPORTED_MEDIA_TYPE, "send application/scim+json");
        return NULL;
    }
    if (req->entity.base == NULL || req->entity.len == 0) {
        scim_reply_fail(r, GW_E_SCIM_INVALID_SYNTAX, "a JSON request body is required");
        return NULL;
    }
    gw_json_limits_t lim = {.max_bytes = SCIM_MAX_BODY_BYTES, .require_object = true, .unique_keys_ci = true};
    gw_err_t err;
    yajl_val v = gw_json_parse_pool(&req->pool, req->entity.base, req->entity.len, &lim, &err);
    if (v == NULL)
        scim_reply_error(r, &err); /* 413, or 400 invalidSyntax */
    return v;
}

/* attributes / excludedAttributes of a request (RFC 7644 §3.9). */
static int op_params_or_reply(gw_req_t *r, scim_op_t *op)
{
    h2o_iovec_t qs = gw_req_query_string(r);
    if (qs.len == 0)
        return 0;
    gw_kvs_t kvs;
    gw_err_t err;
    h2o_iovec_t a = {NULL, 0}, x = {NULL, 0};
    if (gw_form_parse(&r->req->pool, qs.base, qs.len, GW_MAX_PARAMS, &kvs, &err) != 0 ||
        gw_kvs_get_once(&kvs, "attributes", &a, &err) != 0 ||
        gw_kvs_get_once(&kvs, "excludedAttributes", &x, &err) != 0) {
        scim_reply_fail(r, GW_E_BAD_REQUEST, err.public);
        return -1;
    }
    op->attributes = a.base;
    op->excluded = x.base;
    if (scim_project_lists_check(op->attributes, op->excluded, &err) != 0) {
        scim_reply_error(r, &err);
        return -1;
    }
    return 0;
}

typedef struct {
    const scim_kind_t *k;
    int method;
    const char *rest;
    size_t rest_len;
} endpoint_t;

static const char *header_or_null(gw_req_t *r, const char *name)
{
    h2o_iovec_t v = gw_req_header(r, name);
    if (v.base == NULL)
        return NULL;
    return gw_req_strdup(r, v.base, v.len).base;
}

static void on_authorized(gw_req_t *r, bool can_write)
{
    (void)can_write; /* scim_authorize asked for what the method needs */
    endpoint_t *ep = r->data;
    r->data = NULL;
    const scim_kind_t *k = ep->k;
    if (ep->rest_len == 0 && ep->method == M_GET) {
        scim_list_handle(r, k, NULL);
        return;
    }
    if (ep->rest_len == 8 && memcmp(ep->rest, "/.search", 8) == 0) {
        /* RFC 7644 §3.4.3: a query in a SearchRequest body. */
        yajl_val body = scim_body_or_reply(r);
        if (body != NULL)
            scim_list_handle(r, k, body);
        return;
    }
    scim_op_t *op = op_new(r, k, ep->method);
    if (ep->rest_len > 0 && set_id(op, ep->rest + 1, ep->rest_len - 1) != 0) {
        /* RFC 7644 §3.12: 404 for a resource that does not exist. */
        scim_reply_fail(r, GW_E_NOT_FOUND, k->is_group ? "no such Group" : "no such User");
        return;
    }
    if (op_params_or_reply(r, op) != 0)
        return;
    op->if_match = header_or_null(r, "if-match");
    op->if_none_match = header_or_null(r, "if-none-match");
    if (ep->method == M_POST || ep->method == M_PUT || ep->method == M_PATCH) {
        op->body = scim_body_or_reply(r);
        if (op->body == NULL)
            return;
    }
    op_start(op);
}

static int method_of(gw_req_t *r)
{
    h2o_iovec_t m = r->req->method;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("GET")) || h2o_memis(m.base, m.len, H2O_STRLIT("HEAD")))
        return M_GET;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("POST")))
        return M_POST;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("PUT")))
        return M_PUT;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("PATCH")))
        return M_PATCH;
    if (h2o_memis(m.base, m.len, H2O_STRLIT("DELETE")))
        return M_DELETE;
    return M_OTHER; /* the routes take every method (GW_ROUTE_OWN_METHODS) */
}

static void not_allowed(gw_req_t *r, unsigned allow)
{
    gw_reply_allow(r, allow);
    scim_reply_fail(r, GW_E_METHOD_NOT_ALLOWED, "method not allowed here");
}

void scim_endpoint_handle(gw_req_t *r, const scim_kind_t *k, const char *rest, size_t rest_len)
{
    int method = method_of(r);
    bool search = rest_len == 8 && memcmp(rest, "/.search", 8) == 0;
    if (rest_len > 0 && (rest[0] != '/' || (!search && memchr(rest + 1, '/', rest_len - 1) != NULL))) {
        scim_reply_fail(r, GW_E_NOT_FOUND, "no such endpoint");
        return;
    }
    if (search && method != M_POST) {
        not_allowed(r, GW_POST);
        return;
    }
    if (rest_len == 0 && method != M_GET && method != M_POST) {
        not_allowed(r, GW_GET | GW_POST);
        return;
    }
    if (rest_len > 0 && !search && (method == M_POST || method == M_OTHER)) {
        not_allowed(r, GW_GET | GW_PUT | GW_PATCH | GW_DELETE);
        return;
    }
    endpoint_t *ep = gw_req_alloc(r, sizeof(*ep));
    *ep = (endpoint_t){k, method, rest, rest_len};
    r->data = ep;
    /* Reads (GET, /.search) need scope scim or scim.read; writes scim. */
    scim_authorize(r, method != M_GET && !search, on_authorized);
}

/* ---- operations without HTTP (RFC 7644 §3.7, for /Bulk) ------------------------------- */

void scim_op_execute(gw_req_t *r, const char *method, const char *path, yajl_val body, scim_op_cb cb,
                     void *data)
{
    int m = strcmp(method, "POST") == 0     ? M_POST
            : strcmp(method, "PUT") == 0    ? M_PUT
            : strcmp(method, "PATCH") == 0  ? M_PATCH
            : strcmp(method, "DELETE") == 0 ? M_DELETE
                                            : -1;
    const scim_kind_t *k = NULL;
    size_t plen = strcspn(path, "?");
    const char *rest = NULL;
    static const scim_kind_t *const kinds[] = {&SCIM_KIND_USER, &SCIM_KIND_GROUP};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(kinds[i]->rt->endpoint);
        if (plen >= n && strncasecmp(path, kinds[i]->rt->endpoint, n) == 0 && (plen == n || path[n] == '/')) {
            k = kinds[i];
            rest = path + n;
        }
    }
    gw_jw_t *w = NULL;
    int status = 0;
    const char *type = NULL, *detail = NULL;
    size_t rest_len = k != NULL ? plen - (size_t)(rest - path) : 0;
    if (m < 0) {
        status = 405, detail = "method not allowed in a bulk operation";
    } else if (k == NULL) {
        status = 404, detail = "no such endpoint";
    } else if ((m == M_POST) != (rest_len == 0) || (rest_len > 0 && rest[0] != '/')) {
        status = m == M_POST ? 405 : 404,
        detail = m == M_POST ? "POST goes to the endpoint" : "no such resource";
    } else if ((m == M_POST || m == M_PUT || m == M_PATCH) && !YAJL_IS_OBJECT(body)) {
        status = 400, type = "invalidSyntax", detail = "the operation needs a JSON object as data";
    }
    scim_op_t *op = NULL;
    if (status == 0) {
        op = op_new(r, k, m);
        if (rest_len > 0 && set_id(op, rest + 1, rest_len - 1) != 0)
            status = 404, detail = "no such resource";
    }
    if (status != 0) {
        w = gw_jw_new();
        scim_error_write(w, status, type, detail);
        size_t len = 0;
        const char *json = gw_jw_buf(w, &len);
        cb(r, data, status, json ? json : "{}", json ? len : 2, NULL, NULL);
        gw_jw_free(w);
        return;
    }
    op->body = body;
    op->cb = cb;
    op->cb_data = data;
    /* §3.7: an operation's "version" is its precondition; /Bulk passes it
     * as the If-Match of the request, as for a request of its own. */
    if (m != M_POST)
        op->if_match = header_or_null(r, "if-match");
    op_start(op);
}

/* ---- POST /Users in one statement (RFC 7644 §3.7, for /Bulk) ------------------------- */

typedef struct users_batch users_batch_t;

/* The password hashes of a batch in flight on the worker pool: malloc'ed,
 * because the jobs may finish after the request (and its pool) is gone. */
typedef struct {
    users_batch_t *batch; /* NULL once the request has gone */
    size_t outstanding;
} batch_hashes_t;

typedef struct {
    batch_hashes_t *hs;
    size_t slot; /* the item */
    oidc_argon2_params_t prm;
    char *pwd;
    size_t len;
    char *hash;
    gw_err_t err;
    int rc;
} batch_hash_job_t;

struct users_batch {
    gw_req_t *r;
    scim_user_create_t *items;
    size_t n;
    const char **docs;   /* an item's canonical document as JSON text; NULL once it failed */
    const char **hashes; /* its password's Argon2id PHC string, or NULL */
    size_t *rows;        /* the item of each row sent */
    size_t nrows;
    scim_users_create_cb cb;
    void *cb_data;
};

/* Item `i`'s outcome is the error `err`, as op_fail gives it to /Bulk. */
static void batch_fail(users_batch_t *b, size_t i, const gw_err_t *err)
{
    scim_user_create_t *it = &b->items[i];
    int status = gw_err_status(err->kind);
    if (status >= 500)
        gw_log_write(GW_LOG_ERROR, __func__, b->r->id, "%s (%s) at %s:%d", err->public, err->detail,
                     err->file ? err->file : "?", err->line);
    gw_jw_t *w = gw_jw_new();
    scim_error_write(w, status, gw_err_scim_type(err->kind), err->public);
    size_t len = 0;
    const char *json = gw_jw_buf(w, &len);
    it->status = status;
    it->json = json != NULL ? gw_req_strdup(b->r, json, len).base : "{}";
    it->len = json != NULL ? len : 2;
    it->location = it->version = it->id = NULL;
    gw_jw_free(w);
    b->docs[i] = NULL;
}

static void batch_failk(users_batch_t *b, size_t i, gw_err_kind_t kind, const char *msg)
{
    gw_err_t err;
    GW_ERR(&err, kind, msg);
    batch_fail(b, i, &err);
}

static void batch_finish(users_batch_t *b)
{
    b->cb(b->r, b->cb_data);
}

static void on_batch_created(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    users_batch_t *b = data;
    if (res == NULL) {
        /* The statement as a whole failed (database down, deadline): each
         * of its users fails as its own POST would have. */
        for (size_t k = 0; k < b->nrows; k++)
            batch_fail(b, b->rows[k], err);
        batch_finish(b);
        return;
    }
    size_t created = 0;
    for (int t = 0; t < PQntuples(res); t++) {
        const char *ord = store_value(res, t, 0);
        long k = ord != NULL ? strtol(ord, NULL, 10) - 1 : -1;
        if (k < 0 || (size_t)k >= b->nrows || b->items[b->rows[k]].status != 0)
            continue; /* not ours to answer; the item is failed below */
        size_t i = b->rows[k];
        scim_user_create_t *it = &b->items[i];
        const char *state = store_value(res, t, 3), *id = store_value(res, t, 1),
                   *version = store_value(res, t, 2);
        if (state == NULL && id != NULL && version != NULL) {
            it->status = 201;
            it->id = gw_req_strdup(r, id, strlen(id)).base;
            it->location = location_of(r, &SCIM_RT_USER, id);
            it->version = etag_of(r, version);
            created++;
        } else if (state != NULL && strcmp(state, "23505") == 0) {
            /* RFC 7644 §3.3: 409 uniqueness for a duplicate, as on_written. */
            batch_failk(b, i, GW_E_SCIM_UNIQUENESS, "userName is already taken");
        } else if (state != NULL && (strcmp(state, "RG400") == 0 || strcmp(state, "22P02") == 0)) {
            batch_failk(b, i, GW_E_SCIM_INVALID_VALUE, "a value is not acceptable");
        } else {
            gw_err_t e;
            GW_ERR(&e, GW_E_INTERNAL, "the user could not be created");
            gw_err_detail(&e, "scim_users_create_many: %s", state != NULL ? state : "no outcome");
            batch_fail(b, i, &e);
        }
    }
    for (size_t k = 0; k < b->nrows; k++)
        if (b->items[b->rows[k]].status == 0)
            batch_failk(b, b->rows[k], GW_E_INTERNAL, "the user could not be created");
    gw_log_write(GW_LOG_DEBUG, __func__, r->id, "created %zu of %zu Users in one statement", created,
                 b->nrows);
    batch_finish(b);
}

/* The items still standing, as one scim_users_create_many call. */
static void batch_send(users_batch_t *b)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_arr_open(w);
    b->nrows = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->docs[i] == NULL)
            continue;
        gw_jw_obj_open(w);
        gw_jw_kv_raw(w, "doc", b->docs[i], strlen(b->docs[i]));
        gw_jw_key(w, "password_hash");
        if (b->hashes[i] != NULL)
            gw_jw_str(w, b->hashes[i]);
        else
            gw_jw_null(w);
        gw_jw_obj_close(w);
        b->rows[b->nrows++] = i;
    }
    gw_jw_arr_close(w);
    size_t len = 0;
    const char *json = gw_jw_buf(w, &len);
    if (b->nrows == 0 || json == NULL) {
        gw_err_t err;
        if (json == NULL && gw_jw_error(w, &err) != 0)
            for (size_t k = 0; k < b->nrows; k++)
                batch_fail(b, b->rows[k], &err);
        gw_jw_free(w);
        batch_finish(b);
        return;
    }
    const char *params[1] = {gw_req_strdup(b->r, json, len).base};
    gw_jw_free(w);
    gw_req_query(b->r, &scim_stmt_users_create_many, params, on_batch_created, b);
}

static void batch_hash_work(void *arg)
{
    batch_hash_job_t *j = arg;
    j->rc = oidc_password_hash(&j->prm, j->pwd, j->len, &j->hash, &j->err);
    gw_wipe(j->pwd, j->len);
}

static void batch_hashes_detach(void *pending)
{
    ((batch_hashes_t *)pending)->batch = NULL;
}

static void batch_hash_done(void *arg)
{
    batch_hash_job_t *j = arg;
    batch_hashes_t *hs = j->hs;
    users_batch_t *b = hs->batch;
    free(j->pwd);
    if (b != NULL) {
        if (j->rc == 0)
            b->hashes[j->slot] = gw_req_strdup(b->r, j->hash, strlen(j->hash)).base;
        else
            batch_fail(b, j->slot, &j->err);
    }
    free(j->hash);
    free(j);
    if (--hs->outstanding > 0)
        return;
    free(hs);
    if (b == NULL)
        return; /* the client went away while the workers ran */
    gw_req_clear_pending(b->r);
    batch_send(b);
}

void scim_users_create_batch(gw_req_t *r, scim_user_create_t *items, size_t n, scim_users_create_cb cb,
                             void *data)
{
    users_batch_t *b = gw_req_alloc(r, sizeof(*b));
    size_t cap = n ? n : 1;
    *b = (users_batch_t){.r = r, .items = items, .n = n, .cb = cb, .cb_data = data};
    b->docs = gw_req_alloc(r, sizeof(*b->docs) * cap);
    b->hashes = gw_req_alloc(r, sizeof(*b->hashes) * cap);
    b->rows = gw_req_alloc(r, sizeof(*b->rows) * cap);
    batch_hash_job_t **jobs = gw_req_alloc(r, sizeof(*jobs) * cap);
    size_t njobs = 0;
    const gw_config_t *cfg = scim_cfg;
    for (size_t i = 0; i < n; i++) {
        scim_user_create_t *it = &items[i];
        it->status = 0;
        b->docs[i] = b->hashes[i] = NULL;
        /* The checks of op_prepare_write, in its order. */
        gw_err_t err;
        yajl_val doc = NULL;
        char *pw = NULL;
        if (scim_resource_check(&SCIM_RT_USER, it->body, SCIM_WRITE_CREATE, NULL, &doc, &pw, &err) != 0) {
            batch_fail(b, i, &err);
            continue;
        }
        size_t pwlen = pw != NULL ? strlen(pw) : 0;
        if (pw != NULL && (pwlen == 0 || pwlen > OIDC_PASSWORD_MAX)) {
            gw_wipe(pw, pwlen);
            free(pw);
            yajl_tree_free(doc);
            batch_failk(b, i, GW_E_SCIM_INVALID_VALUE, "password must have 1 to 1024 bytes");
            continue;
        }
        b->docs[i] = val_text(r, doc, &err);
        yajl_tree_free(doc);
        if (b->docs[i] == NULL) {
            if (pw != NULL) {
                gw_wipe(pw, pwlen);
                free(pw);
            }
            batch_fail(b, i, &err);
            continue;
        }
        if (pw != NULL) {
            batch_hash_job_t *j = gw_calloc(1, sizeof(*j));
            j->slot = i;
            j->prm = (oidc_argon2_params_t){cfg->oidc.argon2_t, cfg->oidc.argon2_m_kib, cfg->oidc.argon2_p};
            j->pwd = pw; /* ours now: wiped by the worker, freed when done */
            j->len = pwlen;
            jobs[njobs++] = j;
        }
    }
    if (njobs == 0) {
        batch_send(b);
        return;
    }
    /* Every password at once across the worker pool: Argon2id at the
     * configured cost takes tens of milliseconds per password on one core,
     * so a batch with passwords takes about n / workers of those. */
    batch_hashes_t *hs = gw_calloc(1, sizeof(*hs));
    hs->batch = b;
    hs->outstanding = njobs;
    for (size_t k = 0; k < njobs; k++)
        jobs[k]->hs = hs;
    gw_req_set_pending(r, hs, batch_hashes_detach);
    for (size_t k = 0; k < njobs; k++)
        gw_work_submit(r->thread, batch_hash_work, batch_hash_done, jobs[k]);
}
