/* Browser sessions: the `__Host-regain-session` cookie and its row.
 *
 * The cookie holds a 256-bit random secret; the row holds its keyed hash.
 * `__Host-` (RFC 6265bis §4.1.3.2) makes browsers accept the cookie only with
 * Secure, Path=/ and no Domain, so no other host or plain-HTTP page can set or
 * shadow it. HttpOnly keeps it from scripts; SameSite=Lax (RFC 6265bis §8.8)
 * keeps it off cross-site subresource requests and POSTs while a relying
 * party's top-level redirect to /authorize still carries it, which single
 * sign-on needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/secrets.h"
#include "oidc/signin_internal.h"

void oidc_session_cookie_set(gw_req_t *r, const char *token, long long max_age)
{
    h2o_iovec_t sc = gw_cookie_build(&r->req->pool, OIDC_SESSION_COOKIE, h2o_iovec_init(token, strlen(token)),
                                     max_age, GW_COOKIE_DEFAULT);
    if (sc.base != NULL)
        gw_reply_header(r, "set-cookie", sc.base, sc.len);
}

typedef struct {
    oidc_session_cb cb;
} current_t;

static char *pool_strdup(gw_req_t *r, const char *s)
{
    return s == NULL ? NULL : gw_req_strdup(r, s, strlen(s)).base;
}

static void on_session_row(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    current_t *c = data;
    if (res == NULL) {
        c->cb(r, NULL, err);
        return;
    }
    if (PQntuples(res) != 1) {
        c->cb(r, NULL, NULL);
        return;
    }
    oidc_session_t *s = gw_req_alloc(r, sizeof(*s));
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", store_value(res, 0, 0));
    snprintf(s->user_id, sizeof(s->user_id), "%s", store_value(res, 0, 1));
    s->auth_time = strtoll(store_value(res, 0, 2), NULL, 10);
    s->amr_json = pool_strdup(r, store_value(res, 0, 3));
    s->acr = pool_strdup(r, store_value(res, 0, 4));
    const char *purpose = store_value(res, 0, 5), *tap = store_value(res, 0, 6);
    s->register_only = purpose != NULL && strcmp(purpose, "register_method") == 0;
    snprintf(s->tap_id, sizeof(s->tap_id), "%s", tap ? tap : "");
    c->cb(r, s, NULL);
}

void oidc_session_current(gw_req_t *r, oidc_session_cb cb)
{
    h2o_iovec_t v;
    /* Anything but a well-formed secret is no session: no query for junk. */
    if (!gw_req_cookie(r, OIDC_SESSION_COOKIE, &v) || !oidc_secret_format_ok(v.base, v.len)) {
        cb(r, NULL, NULL);
        return;
    }
    char *hash = gw_req_alloc(r, GW_SECRET_HASH_HEX_LEN + 1);
    gw_secret_hash_hex(v.base, v.len, hash);
    current_t *c = gw_req_alloc(r, sizeof(*c));
    c->cb = cb;
    const char *params[1] = {hash};
    gw_req_query(r, &oidc_stmt_session_by_token, params, on_session_row, c);
}

typedef struct {
    void (*done)(gw_req_t *r, const gw_err_t *err);
} end_t;

static void on_session_ended(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    end_t *e = data;
    e->done(r, res == NULL ? err : NULL);
}

void oidc_session_end(gw_req_t *r, const char *session_id, void (*done)(gw_req_t *r, const gw_err_t *err))
{
    /* Clear the cookie whatever happens to the row: the browser is logging out. */
    oidc_session_cookie_set(r, "", 0);
    if (session_id == NULL || !oidc_uuid_ok(session_id, strlen(session_id))) {
        done(r, NULL);
        return;
    }
    end_t *e = gw_req_alloc(r, sizeof(*e));
    e->done = done;
    const char *params[1] = {session_id};
    gw_req_query(r, &oidc_stmt_session_end, params, on_session_ended, e);
}

void oidc_session_log_signed_in(gw_req_t *r, const oidc_session_t *s)
{
    gw_log_write(GW_LOG_INFO, "signin", r->id, "signed in: user %s session %s", s->user_id, s->id);
}
