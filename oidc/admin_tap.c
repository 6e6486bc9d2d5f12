/* Admin API for a user's Temporary Access Passes, shaped like Microsoft
 * Graph's temporaryAccessPassAuthenticationMethod (bearer token with scope
 * `admin`):
 *   POST   /admin/v1/users/{id}/authentication/temporaryAccessPassMethods
 *          {startDateTime?, lifetimeInMinutes?, isUsableOnce?} -> 201 with the
 *          TAP in `temporaryAccessPass`, the only time it is ever shown
 *   GET    .../temporaryAccessPassMethods            {"value": [...]}
 *   GET    .../temporaryAccessPassMethods/{tapId}
 *   DELETE .../temporaryAccessPassMethods/{tapId}    204
 * {id} is the user's id (SCIM id) or userName. The TAP policy bounds what
 * may be issued; an out-of-range value gets 400 naming the member. Every
 * reply is no-store. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/log.h"
#include "oidc/tap_internal.h"

#define PREFIX   "/admin/v1/users"
#define SUFFIX   "/authentication/temporaryAccessPassMethods"
#define USER_MAX 256
#define BODY_MAX 4096

enum { OP_LIST, OP_CREATE, OP_GET, OP_DELETE };

typedef struct {
    int op;
    const char *user_ref; /* as in the path */
    char user_id[37];
    char tap_id[37];
    const oidc_access_t *at;
    yajl_val body;
} admin_tap_t;

static const char STATE_TAG = 0;

static void not_found(gw_req_t *r, const char *what)
{
    gw_reply_fail(r, GW_E_NOT_FOUND, what);
}

/* ---- create ------------------------------------------------------------------------ */

static void on_minted(gw_req_t *r, void *data, const oidc_tap_minted_t *tap, const gw_err_t *err)
{
    admin_tap_t *a = data;
    if (tap == NULL) {
        if (err->kind == GW_E_NOT_FOUND)
            not_found(r, "no such active user");
        else
            gw_reply_error(r, err);
        return;
    }
    gw_log_write(GW_LOG_INFO, __func__, r->id, "TAP %s issued for user %s", tap->id, a->user_id);
    size_t n = strlen(oidc_cfg->issuer) + sizeof(PREFIX SUFFIX) + 2 * 37 + 2;
    char *loc = gw_req_alloc(r, n);
    snprintf(loc, n, "%s" PREFIX "/%s" SUFFIX "/%s", oidc_cfg->issuer, a->user_id, tap->id);
    gw_reply_header(r, "location", loc, strlen(loc));
    gw_jw_t *w = gw_jw_new();
    oidc_tap_write_row(w, tap->res, 0, 1, tap->tap);
    gw_reply_jw(r, 201, w);
}

static void on_policy(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    admin_tap_t *a = data;
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    const char *doc = PQntuples(res) == 1 ? store_value(res, 0, 1) : NULL;
    gw_err_t perr;
    oidc_field_err_t fe;
    oidc_tap_policy_t pol;
    yajl_val tree = doc ? gw_json_parse_pool(&r->req->pool, doc, strlen(doc), NULL, &perr) : NULL;
    if (tree == NULL || oidc_tap_policy_from_json(tree, &pol, &fe) != 0) {
        gw_reply_fail(r, GW_E_INTERNAL, "the Temporary Access Pass policy could not be read");
        return;
    }
    oidc_tap_request_t q;
    if (oidc_tap_request_from_json(a->body, &pol, (int64_t)time(NULL), &q, &fe) != 0) {
        oidc_reply_field_error(r, &fe);
        return;
    }
    oidc_audit_who_t *who = gw_req_alloc(r, sizeof(*who));
    oidc_audit_who(r, a->at, who);
    oidc_tap_mint_t m = {a->user_id, q.lifetime, q.once,          q.length, q.start,
                         who->actor, who->addr,  who->user_agent, NULL,     NULL};
    oidc_tap_mint(r, &m, on_minted, a);
}

/* ---- list, get, delete ----------------------------------------------------------------- */

static void on_list(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    admin_tap_t *a = data;
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    gw_jw_t *w = gw_jw_new();
    if (a->op == OP_GET) {
        if (PQntuples(res) != 1) {
            gw_jw_free(w);
            not_found(r, "no such Temporary Access Pass");
            return;
        }
        oidc_tap_write_row(w, res, 0, 0, NULL);
    } else {
        gw_jw_obj_open(w);
        gw_jw_key(w, "value");
        gw_jw_arr_open(w);
        for (int i = 0; i < PQntuples(res); i++)
            oidc_tap_write_row(w, res, i, 0, NULL);
        gw_jw_arr_close(w);
        gw_jw_obj_close(w);
    }
    gw_reply_jw(r, 200, w);
}

static void on_revoked(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    admin_tap_t *a = data;
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    const char *status = PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
    if (status == NULL || strcmp(status, "ok") != 0) {
        not_found(r, "no such Temporary Access Pass");
        return;
    }
    gw_log_write(GW_LOG_INFO, __func__, r->id, "TAP %s of user %s revoked", a->tap_id, a->user_id);
    gw_reply(r, 204, "application/json", "", 0);
}

static void on_user(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    admin_tap_t *a = data;
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    if (PQntuples(res) != 1) {
        not_found(r, "no such user");
        return;
    }
    snprintf(a->user_id, sizeof(a->user_id), "%s", store_value(res, 0, 0));
    const char *tap = a->tap_id[0] ? a->tap_id : NULL;
    switch (a->op) {
    case OP_CREATE: {
        const char *params[1] = {"temporaryAccessPass"};
        gw_req_query(r, &OIDC_STMT_POLICY_GET, params, on_policy, a);
        return;
    }
    case OP_DELETE: {
        oidc_audit_who_t *who = gw_req_alloc(r, sizeof(*who));
        oidc_audit_who(r, a->at, who);
        const char *params[5] = {a->user_id, tap, who->actor, who->addr, who->user_agent};
        gw_req_query(r, &OIDC_STMT_TAP_REVOKE, params, on_revoked, a);
        return;
    }
    default: {
        const char *params[2] = {a->user_id, tap};
        gw_req_query(r, &OIDC_STMT_TAP_LIST, params, on_list, a);
        return;
    }
    }
}

/* ---- the request ------------------------------------------------------------------------ */

static int user_ref_ok(const char *s, size_t n)
{
    if (n == 0 || n > USER_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f || s[i] == '/')
            return 0;
    return 1;
}

static void on_authorized(gw_req_t *r, const oidc_access_t *at)
{
    h2o_req_t *req = r->req;
    admin_tap_t *a = gw_req_state(r, &STATE_TAG, sizeof(*a));
    a->at = at;
    /* /{user}/authentication/temporaryAccessPassMethods[/{tapId}] */
    const char *p = req->path_normalized.base + sizeof(PREFIX) - 1;
    size_t len = req->path_normalized.len - (sizeof(PREFIX) - 1);
    const char *user = len > 0 && p[0] == '/' ? p + 1 : NULL;
    const char *end = p + len;
    const char *slash = user ? memchr(user, '/', (size_t)(end - user)) : NULL;
    size_t slen = sizeof(SUFFIX) - 1;
    if (slash == NULL || !user_ref_ok(user, (size_t)(slash - user)) || (size_t)(end - slash) < slen ||
        memcmp(slash, SUFFIX, slen) != 0) {
        not_found(r, "no such resource");
        return;
    }
    a->user_ref = gw_req_strdup(r, user, (size_t)(slash - user)).base;
    const char *rest = slash + slen;
    size_t rlen = (size_t)(end - rest);
    /* Each resource names its own methods in its 405 (the route lets every
     * method through, GW_ROUTE_OWN_METHODS). */
    unsigned m = gw_req_method(r);
    if (rlen == 0 || (rlen == 1 && rest[0] == '/')) {
        if (!(m & (GW_GET | GW_POST))) {
            gw_reply_method_not_allowed(r, GW_GET | GW_POST, "use GET or POST on the collection");
            return;
        }
        a->op = m == GW_POST ? OP_CREATE : OP_LIST;
    } else {
        if (rest[0] != '/' || !oidc_uuid_ok(rest + 1, rlen - 1)) {
            not_found(r, "no such Temporary Access Pass");
            return;
        }
        if (!(m & (GW_GET | GW_DELETE))) {
            gw_reply_method_not_allowed(r, GW_GET | GW_DELETE,
                                        "use GET or DELETE on a Temporary Access Pass");
            return;
        }
        memcpy(a->tap_id, rest + 1, 36);
        a->op = m == GW_DELETE ? OP_DELETE : OP_GET;
    }
    if (a->op == OP_CREATE) {
        /* Graph accepts an empty body: every member is optional. */
        if (req->entity.len == 0) {
            gw_err_t err;
            a->body = gw_json_parse_pool(&req->pool, "{}", 2, NULL, &err);
        } else if ((a->body = oidc_admin_json_body_or_reply(r, BODY_MAX)) == NULL) {
            return;
        }
    }
    int is_uuid = oidc_uuid_ok(a->user_ref, strlen(a->user_ref));
    const char *params[2] = {is_uuid ? a->user_ref : NULL, a->user_ref};
    gw_req_query(r, &OIDC_STMT_TAP_USER, params, on_user, a);
}

static void on_users(gw_req_t *r)
{
    oidc_bearer_authorize(r, "admin", on_authorized);
}

static gw_route_t ROUTE_USERS = {PREFIX,
                                 GW_GET | GW_POST | GW_DELETE,
                                 GW_ROUTE_PREFIX | GW_ROUTE_NO_STORE | GW_ROUTE_OWN_METHODS,
                                 on_users,
                                 PREFIX SUFFIX,
                                 NULL,
                                 0};

void oidc_admin_tap_register(void)
{
    gw_route_register(&ROUTE_USERS);
}
