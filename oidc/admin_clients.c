/* Admin API for clients under /admin/v1/clients (bearer token with scope
 * `admin`):
 *   GET    /admin/v1/clients              list
 *   POST   /admin/v1/clients              register; 201 + Location + the secret, once
 *   GET    /admin/v1/clients/{id}         read
 *   PUT    /admin/v1/clients/{id}         replace the settings (not the secret)
 *   DELETE /admin/v1/clients/{id}         remove; 204
 *   POST   /admin/v1/clients/{id}/secret  rotate; the new secret, once
 * Bodies are client metadata (OIDC Registration §2 / RFC 7591 §2 names).
 * Every reply is Cache-Control: no-store (the route flag), since secrets
 * pass here. Changes drop this process's cache entry at once; other
 * processes see them within OIDC_CLIENT_CACHE_TTL_MS. */
#include <stdio.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "gateway/secrets.h"
#include "oidc/clients_internal.h"
#include "oidc/tap_internal.h" /* oidc_audit_who */

#define PREFIX "/admin/v1/clients"

enum { OP_LIST, OP_CREATE, OP_GET, OP_PUT, OP_DELETE, OP_ROTATE };

typedef struct {
    int op;
    char *id;
    oidc_client_t *client; /* PUT/POST: the new settings (held by the request) */
    char secret[GW_SECRET_LEN + 1];
    int new_secret;       /* `secret` was generated for this request */
    oidc_audit_who_t who; /* for the audit event of a change */
} admin_t;

/* The three "who" parameters of a change's audit event (clients_internal.h). */
static void who_params(const oidc_audit_who_t *who, const char **p)
{
    p[0] = who->actor;
    p[1] = who->addr;
    p[2] = who->user_agent;
}

static void reply_writer(gw_req_t *r, int status, gw_jw_t *w)
{
    size_t len;
    const char *buf = gw_jw_buf(w, &len);
    gw_err_t err;
    if (buf == NULL) {
        gw_jw_error(w, &err);
        gw_reply_error(r, &err);
    } else {
        gw_reply_json(r, status, buf, len);
    }
}

static void reply_client(gw_req_t *r, admin_t *a, int status, const oidc_client_t *c, int with_secret)
{
    gw_jw_t *w = gw_jw_new();
    oidc_client_write_json(w, c, with_secret ? a->secret : NULL);
    /* Wiped before the reply: a reply may free the request's memory, `a` included. */
    gw_wipe(a->secret, sizeof(a->secret));
    reply_writer(r, status, w);
    gw_jw_free(w);
}

/* A stored row as the response body. */
static void reply_row(gw_req_t *r, admin_t *a, int status, PGresult *res, int with_secret)
{
    oidc_client_t *c = NULL;
    gw_err_t err;
    if (oidc_client_from_row(res, 0, &c, &err) != 0) {
        gw_reply_error(r, &err);
        return;
    }
    reply_client(r, a, status, c, with_secret);
    oidc_client_unref(c);
}

static void fail(gw_req_t *r, gw_err_kind_t kind, const char *msg)
{
    gw_reply_fail(r, kind, msg);
}

/* ---- callbacks ------------------------------------------------------------------ */

static void on_list(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    (void)data;
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "clients");
    gw_jw_arr_open(w);
    for (int i = 0; i < PQntuples(res); i++) {
        oidc_client_t *c = NULL;
        gw_err_t lerr;
        if (oidc_client_from_row(res, i, &c, &lerr) != 0) {
            gw_jw_free(w);
            gw_reply_error(r, &lerr);
            return;
        }
        oidc_client_write_json(w, c, NULL);
        oidc_client_unref(c);
    }
    gw_jw_arr_close(w);
    gw_jw_obj_close(w);
    reply_writer(r, 200, w);
    gw_jw_free(w);
}

static void on_get(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    if (PQntuples(res) == 0) {
        fail(r, GW_E_NOT_FOUND, "no such client");
        return;
    }
    reply_row(r, data, 200, res, 0);
}

static void on_created(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    admin_t *a = data;
    oidc_client_cache_invalidate(a->id, strlen(a->id)); /* a remembered "unknown" */
    if (res == NULL) {
        gw_wipe(a->secret, sizeof(a->secret));
        if (err->kind == GW_E_CONFLICT)
            fail(r, GW_E_CONFLICT, "a client with this client_id already exists");
        else
            gw_reply_error(r, err);
        return;
    }
    gw_log_write(GW_LOG_INFO, __func__, r->id, "client %s registered", a->id);
    h2o_iovec_t enc = gw_url_encode(&r->req->pool, a->id, strlen(a->id));
    size_t n = strlen(oidc_cfg->issuer) + sizeof(PREFIX) + enc.len + 2;
    char *loc = gw_req_alloc(r, n);
    snprintf(loc, n, "%s" PREFIX "/%s", oidc_cfg->issuer, enc.base);
    gw_reply_header(r, "location", loc, strlen(loc));
    reply_row(r, a, 201, res, a->new_secret);
}

static void on_updated(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    admin_t *a = data;
    oidc_client_cache_invalidate(a->id, strlen(a->id));
    if (res == NULL) {
        gw_wipe(a->secret, sizeof(a->secret));
        gw_reply_error(r, err);
        return;
    }
    if (PQntuples(res) == 0) {
        fail(r, GW_E_NOT_FOUND, "no such client");
        return;
    }
    /* The stored secret is kept; only a client that had none and now uses
     * a secret method got the one generated here, and sees it now, once. */
    const char *had = store_value(res, 0, 2);
    int reveal = a->new_secret && had != NULL && had[0] == 'f';
    gw_log_write(GW_LOG_INFO, __func__, r->id, "client %s updated", a->id);
    reply_row(r, a, 200, res, reveal);
}

static void on_deleted(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    admin_t *a = data;
    oidc_client_cache_invalidate(a->id, strlen(a->id));
    if (res == NULL) {
        gw_reply_error(r, err);
        return;
    }
    if (PQntuples(res) == 0) {
        fail(r, GW_E_NOT_FOUND, "no such client");
        return;
    }
    gw_log_write(GW_LOG_INFO, __func__, r->id, "client %s removed", a->id);
    gw_reply(r, 204, "application/json", "", 0);
}

static void on_rotated(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    admin_t *a = data;
    oidc_client_cache_invalidate(a->id, strlen(a->id));
    if (res == NULL || PQntuples(res) == 0 || strcmp(store_value(res, 0, 0), "t") != 0) {
        gw_wipe(a->secret, sizeof(a->secret));
        if (res == NULL)
            gw_reply_error(r, err);
        else if (PQntuples(res) == 0)
            fail(r, GW_E_NOT_FOUND, "no such client");
        else
            fail(r, GW_E_INVALID_REQUEST, "this client does not authenticate with a secret");
        return;
    }
    gw_log_write(GW_LOG_INFO, __func__, r->id, "client %s secret rotated", a->id);
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "client_id", a->id);
    gw_jw_kv_str(w, "client_secret", a->secret);
    gw_jw_kv_int64(w, "client_secret_expires_at", 0); /* RFC 7591 §3.2.1: 0 = never */
    gw_jw_obj_close(w);
    gw_wipe(a->secret, sizeof(a->secret)); /* before the reply, as in reply_client */
    reply_writer(r, 200, w);
    gw_jw_free(w);
}

/* ---- requests -------------------------------------------------------------------- */

/* The body as client metadata; replies and returns -1 when it is not. */
static int body_client_or_reply(gw_req_t *r, admin_t *a, const char *id)
{
    h2o_req_t *req = r->req;
    h2o_iovec_t ct = gw_req_header(r, "content-type");
    static const char JSON[] = "application/json";
    if (ct.base == NULL || ct.len < sizeof(JSON) - 1 ||
        !h2o_lcstris(ct.base, sizeof(JSON) - 1, JSON, sizeof(JSON) - 1) ||
        (ct.len > sizeof(JSON) - 1 && ct.base[sizeof(JSON) - 1] != ';' && ct.base[sizeof(JSON) - 1] != ' ')) {
        fail(r, GW_E_UNSUPPORTED_MEDIA_TYPE, "the body must be application/json");
        return -1;
    }
    gw_err_t err;
    gw_json_limits_t lim = {.max_bytes = OIDC_CLIENT_JSON_MAX, .require_object = true};
    yajl_val obj =
        gw_json_parse_pool(&req->pool, req->entity.base ? req->entity.base : "", req->entity.len, &lim, &err);
    if (obj == NULL) {
        if (err.kind != GW_E_PAYLOAD_TOO_LARGE)
            err.kind = GW_E_INVALID_REQUEST;
        gw_reply_error(r, &err);
        return -1;
    }
    if (oidc_client_from_json(obj, id, &a->client, &err) != 0) {
        gw_reply_error(r, &err);
        return -1;
    }
    oidc_client_hold(r, a->client);
    if (a->id == NULL)
        a->id = gw_req_strdup(r, a->client->id, strlen(a->client->id)).base;
    return 0;
}

/* Every callback here answers `res == NULL` itself (wiping any new secret). */
static void send_or_reply(gw_req_t *r, const store_stmt_t *stmt, const char *const *params,
                          gw_req_query_data_cb cb, admin_t *a)
{
    gw_req_query(r, stmt, params, cb, a);
}

static void create_or_update(gw_req_t *r, admin_t *a)
{
    char hex[GW_SECRET_HASH_HEX_LEN + 1];
    const char *params[OIDC_CLIENT_DB_NPARAMS];
    gw_err_t err;
    const char *hash = NULL;
    if (a->client->has_secret) {
        /* We mint secrets (never chosen by a person): 256 random bits, so a
         * keyed hash is enough to store them (gateway/secrets.h). */
        gw_secret_new(a->secret);
        gw_secret_hash_hex(a->secret, GW_SECRET_LEN, hex);
        a->new_secret = 1;
        hash = hex;
    }
    if (oidc_client_db_params(&r->req->pool, a->client, hash, params, &err) != 0) {
        gw_wipe(a->secret, sizeof(a->secret));
        gw_reply_error(r, &err);
        return;
    }
    who_params(&a->who, params + OIDC_CLIENT_DB_WHO);
    send_or_reply(r, a->op == OP_CREATE ? &OIDC_STMT_CLIENT_INSERT : &OIDC_STMT_CLIENT_UPDATE, params,
                  a->op == OP_CREATE ? on_created : on_updated, a);
}

static void on_authorized(gw_req_t *r, const oidc_access_t *at)
{
    h2o_req_t *req = r->req;
    const char *path = req->path_normalized.base + (sizeof(PREFIX) - 1);
    size_t len = req->path_normalized.len - (sizeof(PREFIX) - 1);
    admin_t *a = gw_req_alloc(r, sizeof(*a));
    memset(a, 0, sizeof(*a));
    /* Each resource names its own methods in its 405 (the route lets every
     * method through, GW_ROUTE_OWN_METHODS). */
    unsigned m = gw_req_method(r);
    if (len == 0 || (len == 1 && path[0] == '/')) {
        if (!(m & (GW_GET | GW_POST))) {
            gw_reply_method_not_allowed(r, GW_GET | GW_POST, "use GET or POST on the collection");
            return;
        }
        a->op = m == GW_POST ? OP_CREATE : OP_LIST;
    } else {
        const char *id = path + 1, *slash = memchr(id, '/', len - 1);
        size_t idlen = slash ? (size_t)(slash - id) : len - 1;
        int secret = slash != NULL && (size_t)(path + len - slash) == sizeof("/secret") - 1 &&
                     memcmp(slash, "/secret", sizeof("/secret") - 1) == 0;
        if ((slash != NULL && !secret) || !oidc_client_id_valid(id, idlen)) {
            fail(r, GW_E_NOT_FOUND, "no such client");
            return;
        }
        a->id = gw_req_strdup(r, id, idlen).base;
        if (secret) {
            if (m != GW_POST) {
                gw_reply_method_not_allowed(r, GW_POST, "use POST to rotate the secret");
                return;
            }
            a->op = OP_ROTATE;
        } else if (!(m & (GW_GET | GW_PUT | GW_DELETE))) {
            gw_reply_method_not_allowed(r, GW_GET | GW_PUT | GW_DELETE, "use GET, PUT or DELETE on a client");
            return;
        } else {
            a->op = m == GW_PUT ? OP_PUT : m == GW_DELETE ? OP_DELETE : OP_GET;
        }
    }

    oidc_audit_who(r, at, &a->who);
    const char *params[5] = {a->id, NULL, NULL, NULL, NULL};
    char hex[GW_SECRET_HASH_HEX_LEN + 1];
    switch (a->op) {
    case OP_LIST:
        send_or_reply(r, &OIDC_STMT_CLIENT_LIST, NULL, on_list, a);
        return;
    case OP_GET:
        send_or_reply(r, &OIDC_STMT_CLIENT_GET, params, on_get, a);
        return;
    case OP_DELETE:
        who_params(&a->who, params + 1);
        send_or_reply(r, &OIDC_STMT_CLIENT_DELETE, params, on_deleted, a);
        return;
    case OP_ROTATE:
        gw_secret_new(a->secret);
        gw_secret_hash_hex(a->secret, GW_SECRET_LEN, hex);
        params[1] = hex;
        who_params(&a->who, params + 2);
        send_or_reply(r, &OIDC_STMT_CLIENT_SECRET, params, on_rotated, a);
        return;
    default: /* create, put */
        if (body_client_or_reply(r, a, a->op == OP_PUT ? a->id : NULL) != 0)
            return;
        create_or_update(r, a);
        return;
    }
}

static void on_clients(gw_req_t *r)
{
    oidc_bearer_authorize(r, "admin", on_authorized);
}

static gw_route_t ROUTE_CLIENTS = {PREFIX,
                                   GW_GET | GW_POST | GW_PUT | GW_DELETE,
                                   GW_ROUTE_PREFIX | GW_ROUTE_NO_STORE | GW_ROUTE_OWN_METHODS,
                                   on_clients,
                                   "/admin/v1/clients",
                                   NULL,
                                   0};

void oidc_admin_clients_register(void)
{
    gw_route_register(&ROUTE_CLIENTS);
}
