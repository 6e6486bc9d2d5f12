/* Registered clients as the other areas see them: lookup through the cache,
 * and the per-client checks of redirect URIs and scopes. */
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/server.h"
#include "oidc/clients_internal.h"

void oidc_clients_register(const gw_config_t *cfg)
{
    (void)cfg;
    oidc_client_db_register();
    oidc_admin_clients_register();
}

/* ---- a reference held for the request ------------------------------------ */

static void on_hold_dispose(void *p)
{
    oidc_client_unref(*(oidc_client_t **)p);
}

void oidc_client_hold(gw_req_t *r, oidc_client_t *c)
{
    if (c == NULL)
        return;
    if (r->req == NULL) { /* already answered: nothing will use it */
        oidc_client_unref(c);
        return;
    }
    oidc_client_t **slot = h2o_mem_alloc_shared(&r->req->pool, sizeof(*slot), on_hold_dispose);
    *slot = c;
}

/* ---- lookup ----------------------------------------------------------------- */

typedef struct {
    oidc_client_lookup_cb cb;
    void *data;
    uint64_t gen;
    char *id;
} find_t;

static void on_find_row(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    find_t *f = data;
    if (res == NULL) {
        f->cb(r, f->data, NULL, err);
        return;
    }
    oidc_client_t *c = NULL;
    gw_err_t lerr;
    if (PQntuples(res) > 0 && oidc_client_from_row(res, 0, &c, &lerr) != 0) {
        f->cb(r, f->data, NULL, &lerr);
        return;
    }
    oidc_client_cache_put(f->id, strlen(f->id), c, f->gen);
    oidc_client_hold(r, c);
    f->cb(r, f->data, c, NULL);
}

void oidc_client_lookup(gw_req_t *r, const char *client_id, size_t len, oidc_client_lookup_cb cb, void *data)
{
    /* An id we would never register is unknown without asking anyone. */
    if (!oidc_client_id_valid(client_id, len)) {
        cb(r, data, NULL, NULL);
        return;
    }
    oidc_client_t *c = NULL;
    uint64_t gen;
    if (oidc_client_cache_get(client_id, len, &c, &gen)) {
        oidc_client_hold(r, c);
        cb(r, data, c, NULL);
        return;
    }
    find_t *f = gw_req_alloc(r, sizeof(*f));
    f->cb = cb;
    f->data = data;
    f->gen = gen;
    f->id = gw_req_strdup(r, client_id, len).base;
    const char *params[1] = {f->id};
    gw_req_query(r, &OIDC_STMT_CLIENT_GET, params, on_find_row, f);
}

typedef struct {
    oidc_client_cb cb;
} find_adapter_t;

static void on_find(gw_req_t *r, void *data, const oidc_client_t *c, const gw_err_t *err)
{
    find_adapter_t *fa = data;
    fa->cb(r, c, err);
}

void oidc_client_find(gw_req_t *r, const char *client_id, size_t len, oidc_client_cb cb)
{
    find_adapter_t *fa = gw_req_alloc(r, sizeof(*fa));
    fa->cb = cb;
    oidc_client_lookup(r, client_id, len, on_find, fa);
}

/* ---- per-client checks ----------------------------------------------------------- */

int oidc_client_redirect_uri_ok(const oidc_client_t *c, const char *uri, size_t len)
{
    for (size_t i = 0; i < c->redirect_uri_count; i++)
        if (oidc_redirect_uri_match(c->redirect_uris[i], uri, len))
            return 1;
    return 0;
}

int oidc_client_post_logout_uri_ok(const oidc_client_t *c, const char *uri, size_t len)
{
    /* OIDC RP-Initiated Logout §3: it MUST match a registered value exactly. */
    for (size_t i = 0; i < c->post_logout_redirect_uri_count; i++) {
        const char *reg = c->post_logout_redirect_uris[i];
        if (strlen(reg) == len && memcmp(reg, uri, len) == 0)
            return 1;
    }
    return 0;
}

/* `scope` is one scope or a space-separated list (RFC 6749 §3.3); every
 * entry must be registered for the client. An empty list is not "ok". */
int oidc_client_scope_ok(const oidc_client_t *c, const char *scope, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && scope[j] != ' ')
            j++;
        int found = 0;
        for (size_t k = 0; k < c->scope_count && !found; k++)
            found = strlen(c->scopes[k]) == j - i && memcmp(c->scopes[k], scope + i, j - i) == 0;
        if (!found)
            return 0;
        i = j + 1;
    }
    return 1;
}
