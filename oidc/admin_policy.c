/* Admin API for the two versioned policies (bearer token with scope `admin`):
 *   GET|PUT|PATCH /admin/v1/policies/temporaryAccessPass   the TAP policy,
 *           shaped like Microsoft Graph's temporaryAccessPassAuthenticationMethodConfiguration
 *           (PATCH, as Graph updates it: the members given change, the rest stay; 204)
 *   GET|PUT /admin/v1/recovery/policy                the recovery policy
 *
 * PUT replaces the whole document: absent members take their defaults, and
 * the stored version is the complete, normalised document. Each PUT is a new
 * version (schema/010_tap.sql policy_put, audited as policy.changed in the
 * same statement). Replies carry `version` and ETag: "<version>"; a PUT with
 * If-Match naming another version gets 412 and changes nothing (RFC 9110
 * §13.1.1). Invalid documents get 400 naming the member. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/log.h"
#include "oidc/tap_internal.h"

#define TAP_POLICY_PATH      "/admin/v1/policies/temporaryAccessPass"
#define RECOVERY_POLICY_PATH "/admin/v1/recovery/policy"
#define POLICY_BODY_MAX      (64 * 1024)

enum { KIND_TAP, KIND_RECOVERY };
static const char *const KIND_NAMES[] = {"temporaryAccessPass", "recovery"};

typedef struct {
    int kind;
    int patch;     /* PATCH: 204 without a body */
    yajl_val body; /* PATCH: the members to change */
    const oidc_access_t *at;
} policy_req_t;

/* ---- helpers shared with the other admin files ------------------------------------- */

void oidc_reply_field_error(gw_req_t *r, const oidc_field_err_t *e)
{
    char desc[300];
    snprintf(desc, sizeof(desc), "%s%s%s", e->field, e->field[0] ? ": " : "", e->msg);
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "error", "invalid_request");
    gw_jw_kv_str(w, "error_description", desc);
    gw_jw_kv_str(w, "field", e->field);
    gw_jw_obj_close(w);
    gw_reply_jw(r, 400, w);
}

yajl_val oidc_admin_json_body_or_reply(gw_req_t *r, size_t max)
{
    h2o_req_t *req = r->req;
    h2o_iovec_t ct = gw_req_header(r, "content-type");
    static const char JSON[] = "application/json";
    size_t n = sizeof(JSON) - 1;
    if (ct.base == NULL || ct.len < n || !h2o_lcstris(ct.base, n, JSON, n) ||
        (ct.len > n && ct.base[n] != ';' && ct.base[n] != ' ')) {
        gw_reply_fail(r, GW_E_UNSUPPORTED_MEDIA_TYPE, "the body must be application/json");
        return NULL;
    }
    gw_err_t err;
    gw_json_limits_t lim = {.max_bytes = max, .max_depth = 8, .require_object = true};
    yajl_val obj =
        gw_json_parse_pool(&req->pool, req->entity.base ? req->entity.base : "", req->entity.len, &lim, &err);
    if (obj == NULL) {
        if (err.kind != GW_E_PAYLOAD_TOO_LARGE)
            err.kind = GW_E_INVALID_REQUEST;
        gw_reply_error(r, &err);
    }
    return obj;
}

void oidc_audit_who(gw_req_t *r, const oidc_access_t *at, oidc_audit_who_t *who)
{
    size_t n = strlen(at->client_id) + sizeof("admin:");
    char *actor = gw_req_alloc(r, n);
    snprintf(actor, n, "admin:%s", at->client_id);
    who->actor = actor;
    gw_req_peer(r, who->addr);
    who->user_agent = oidc_req_user_agent(r);
}

/* ---- replies -------------------------------------------------------------------------- */

static void set_etag(gw_req_t *r, const char *version)
{
    char etag[24];
    int n = snprintf(etag, sizeof(etag), "\"%s\"", version);
    gw_reply_header(r, "etag", etag, (size_t)n);
}

/* Row 0 holds (version, document with version, ...) from column `first`. */
static void reply_policy(gw_req_t *r, policy_req_t *p, PGresult *res, int first)
{
    const char *version = store_value(res, 0, first), *doc = store_value(res, 0, first + 1);
    if (version == NULL || doc == NULL) {
        gw_reply_fail(r, GW_E_INTERNAL, "the policy could not be read");
        return;
    }
    set_etag(r, version);
    if (p->kind == KIND_RECOVERY) {
        gw_reply_json(r, 200, doc, strlen(doc));
        return;
    }
    /* The TAP policy in Graph's shape, whatever an older version stored. */
    gw_err_t err;
    oidc_field_err_t fe;
    oidc_tap_policy_t pol;
    yajl_val tree = gw_json_parse_pool(&r->req->pool, doc, strlen(doc), NULL, &err);
    if (tree == NULL || oidc_tap_policy_from_json(tree, &pol, &fe) != 0) {
        gw_log_write(GW_LOG_ERROR, __func__, r->id, "stored TAP policy version %s is invalid", version);
        gw_reply_fail(r, GW_E_INTERNAL, "the policy could not be read");
        return;
    }
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    oidc_tap_policy_write_members(w, &pol);
    gw_jw_kv_int64(w, "version", strtoll(version, NULL, 10));
    gw_jw_kv_str(w, "updatedDateTime", gw_json_str(tree, "updatedDateTime"));
    gw_jw_obj_close(w);
    gw_reply_jw(r, 200, w);
}

static void on_got(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    if (PQntuples(res) != 1) {
        gw_reply_fail(r, GW_E_INTERNAL, "no policy is stored");
        return;
    }
    reply_policy(r, data, res, 0);
}

static void on_put(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    policy_req_t *p = data;
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    const char *status = PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
    if (status != NULL && strcmp(status, "precondition_failed") == 0) {
        const char *current = store_value(res, 0, 1);
        set_etag(r, current ? current : "0");
        gw_reply_fail(r, GW_E_PRECONDITION_FAILED,
                      "If-Match does not name the current version of the policy");
        return;
    }
    if (status == NULL || strcmp(status, "ok") != 0) {
        gw_reply_fail(r, GW_E_INTERNAL, "the policy could not be stored");
        return;
    }
    gw_log_write(GW_LOG_INFO, __func__, r->id, "%s policy version %s stored", KIND_NAMES[p->kind],
                 store_value(res, 0, 1));
    if (p->patch) {
        set_etag(r, store_value(res, 0, 1));
        gw_reply(r, 204, "application/json", "", 0);
        return;
    }
    reply_policy(r, p, res, 1);
}

/* ---- requests ---------------------------------------------------------------------------- */

/* If-Match (RFC 9110 §13.1.1): absent or "*" -> 0 (no condition); one
 * entity tag "N" or W/"N" -> 1 with the version; anything else -> -1, which
 * matches no version. */
static int if_match(gw_req_t *r, char out[16])
{
    h2o_iovec_t v = gw_req_header(r, "if-match");
    if (v.base == NULL)
        return 0;
    const char *s = v.base, *end = v.base + v.len;
    while (s < end && *s == ' ')
        s++;
    while (end > s && end[-1] == ' ')
        end--;
    if (end - s == 1 && *s == '*')
        return 0;
    if (end - s >= 2 && s[0] == 'W' && s[1] == '/')
        s += 2;
    if (end - s < 3 || s[0] != '"' || end[-1] != '"' || end - s - 2 > 9)
        return -1;
    size_t n = (size_t)(end - s - 2);
    for (size_t i = 0; i < n; i++)
        if (s[1 + i] < '0' || s[1 + i] > '9')
            return -1;
    memcpy(out, s + 1, n);
    out[n] = '\0';
    return 1;
}

static void put_policy(gw_req_t *r, policy_req_t *p, const oidc_access_t *at)
{
    yajl_val body = oidc_admin_json_body_or_reply(r, POLICY_BODY_MAX);
    if (body == NULL)
        return;
    oidc_field_err_t fe;
    gw_jw_t *w = gw_jw_new();
    int rc;
    if (p->kind == KIND_TAP) {
        oidc_tap_policy_t pol;
        rc = oidc_tap_policy_from_json(body, &pol, &fe);
        if (rc == 0) {
            gw_jw_obj_open(w);
            oidc_tap_policy_write_members(w, &pol);
            gw_jw_obj_close(w);
        }
    } else {
        rc = oidc_recovery_policy_normalise(body, w, &fe);
    }
    if (rc != 0) {
        gw_jw_free(w);
        oidc_reply_field_error(r, &fe);
        return;
    }
    size_t len;
    const char *doc = gw_jw_buf(w, &len);
    if (doc == NULL) {
        gw_err_t err;
        gw_jw_error(w, &err);
        gw_jw_free(w);
        gw_reply_error(r, &err);
        return;
    }
    h2o_iovec_t text = gw_req_strdup(r, doc, len);
    gw_jw_free(w);
    char version[16];
    int cond = if_match(r, version);
    oidc_audit_who_t who;
    oidc_audit_who(r, at, &who);
    const char *params[6] = {KIND_NAMES[p->kind], text.base, cond == 1 ? version : cond < 0 ? "-1" : NULL,
                             who.actor,           who.addr,  who.user_agent};
    gw_req_query(r, &OIDC_STMT_POLICY_PUT, params, on_put, p);
}

/* PATCH: the current version read; the members given are applied to it and
 * stored as the next version, on condition that the current one still is
 * (or the client's own If-Match), so a concurrent change is never lost. */
static void on_patch_current(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    policy_req_t *p = data;
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    const char *version = PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
    const char *doc = PQntuples(res) == 1 ? store_value(res, 0, 1) : NULL;
    gw_err_t perr;
    oidc_field_err_t fe;
    oidc_tap_policy_t cur, next;
    yajl_val tree = doc ? gw_json_parse_pool(&r->req->pool, doc, strlen(doc), NULL, &perr) : NULL;
    if (tree == NULL || oidc_tap_policy_from_json(tree, &cur, &fe) != 0) {
        gw_reply_fail(r, GW_E_INTERNAL, "the policy could not be read");
        return;
    }
    if (oidc_tap_policy_apply(p->body, &cur, &next, &fe) != 0) {
        oidc_reply_field_error(r, &fe);
        return;
    }
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    oidc_tap_policy_write_members(w, &next);
    gw_jw_obj_close(w);
    size_t len;
    const char *out = gw_jw_buf(w, &len);
    if (out == NULL) {
        gw_jw_free(w);
        gw_reply_fail(r, GW_E_INTERNAL, "the policy could not be written");
        return;
    }
    h2o_iovec_t text = gw_req_strdup(r, out, len);
    gw_jw_free(w);
    char own[16];
    int cond = if_match(r, own);
    oidc_audit_who_t who;
    oidc_audit_who(r, p->at, &who);
    const char *params[6] = {KIND_NAMES[p->kind], text.base, cond == 1 ? own : cond < 0 ? "-1" : version,
                             who.actor,           who.addr,  who.user_agent};
    gw_req_query(r, &OIDC_STMT_POLICY_PUT, params, on_put, p);
}

static void on_authorized(gw_req_t *r, const oidc_access_t *at)
{
    policy_req_t *p = gw_req_alloc(r, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->kind = (int)(intptr_t)r->route->data;
    p->at = at;
    h2o_req_t *req = r->req;
    if (req->path_normalized.len != strlen(r->route->path)) {
        gw_reply_fail(r, GW_E_NOT_FOUND, "no such resource");
        return;
    }
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("PUT"))) {
        put_policy(r, p, at);
        return;
    }
    const char *params[1] = {KIND_NAMES[p->kind]};
    /* Only the TAP policy's route takes PATCH (the router answers 405 with
     * Allow for the recovery policy: PUT the whole document). */
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("PATCH"))) {
        if ((p->body = oidc_admin_json_body_or_reply(r, POLICY_BODY_MAX)) == NULL)
            return;
        p->patch = 1;
        gw_req_query(r, &OIDC_STMT_POLICY_GET, params, on_patch_current, p);
        return;
    }
    gw_req_query(r, &OIDC_STMT_POLICY_GET, params, on_got, p);
}

static void on_policy(gw_req_t *r)
{
    oidc_bearer_authorize(r, "admin", on_authorized);
}

static gw_route_t ROUTE_TAP_POLICY = {TAP_POLICY_PATH,
                                      GW_GET | GW_PUT | GW_PATCH,
                                      GW_ROUTE_NO_STORE,
                                      on_policy,
                                      TAP_POLICY_PATH,
                                      (void *)(intptr_t)KIND_TAP,
                                      0};
static gw_route_t ROUTE_RECOVERY_POLICY = {RECOVERY_POLICY_PATH,
                                           GW_GET | GW_PUT,
                                           GW_ROUTE_NO_STORE,
                                           on_policy,
                                           RECOVERY_POLICY_PATH,
                                           (void *)(intptr_t)KIND_RECOVERY,
                                           0};

void oidc_admin_policy_register(void)
{
    gw_route_register(&ROUTE_TAP_POLICY);
    gw_route_register(&ROUTE_RECOVERY_POLICY);
}
