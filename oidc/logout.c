/* GET|POST /logout: OpenID Connect RP-Initiated Logout 1.0.
 *
 * §2: id_token_hint must be an ID token issued by us (our signature, our iss,
 * no typ of another kind of token; an expired one is fine). "The OP MUST ask
 * the End-User [whether to log out] if an id_token_hint was not provided or
 * if the supplied ID Token does not belong to the current OP session": then
 * a confirmation form is shown, which POSTs back here with confirm=yes and
 * the signed double-submit token of the sign-in forms (csrf.c), bound to the
 * sign-out: the session cookie's SameSite=Lax keeps cross-site POSTs out,
 * but a page on a sibling host of the same site sends it along. A POST the
 * browser marks Sec-Fetch-Site: same-origin (the account page's sign-out
 * button) needs no token.
 * §3: post-logout redirection only to a URI registered for the client, by
 * exact match, and the client identified by client_id or the hint.
 * §4: on any validation error, no redirection and an error page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/crypto.h"
#include "gateway/json.h"
#include "gateway/keys.h"
#include "gateway/log.h"
#include "oidc/authorize_internal.h"
#include "oidc/signin_internal.h"

/* Identifies this file's per-request state (gw_req_state). */
static const char LOGOUT_STATE_TAG = 0;

/* What the confirmation form's CSRF token is bound to (never a uuid, so no
 * sign-in form's token is one). */
static const char CSRF_CONTEXT[] = "logout";

typedef struct {
    h2o_iovec_t client_id; /* from client_id or the hint's audience */
    h2o_iovec_t post_logout_uri;
    h2o_iovec_t state;
    int confirm; /* a POST of the confirmation form */
    int hint_valid;
    char hint_sid[37]; /* "" when the hint has none */
    char *hint_sub;
    int redirect_ok; /* post_logout_uri verified for the client */
} lo_ctx_t;

static void invalid(gw_req_t *r, const char *why)
{
    oidc_az_error_page(r, 400, "Sign-out request not valid", why);
}

/* ---- id_token_hint ---------------------------------------------------------- */

/* Verifies the hint's signature with our key named by its kid, the key's
 * algorithm pinned (never the header's choice), and its issuer; reads aud,
 * azp, sub and sid. exp is not checked (§2: expired hints are accepted).
 * Returns 0, or -1 with a public reason. */
static int hint_verify(h2o_mem_pool_t *pool, h2o_iovec_t hint, lo_ctx_t *c, const char **why)
{
    gw_jws_t jws;
    gw_err_t err;
    char *payload = NULL;
    int rc = -1;
    *why = "The id_token_hint is not a token issued here.";
    if (gw_jws_parse(hint.base, hint.len, &jws, &err) != 0)
        return -1;
    yajl_val header = gw_json_parse_pool(pool, jws.header, jws.header_len, NULL, &err);
    const char *kid = gw_json_str(header, "kid"), *typ = gw_json_str(header, "typ");
    /* Our ID tokens carry no typ; the other tokens we sign with the same
     * keys, iss and sub (access tokens, at+jwt; recovery events) name
     * theirs, so none of them passes for an ID token (RFC 8725 §3.11). */
    if (gw_json_get(header, "typ") != NULL && (typ == NULL || strcasecmp(typ, "JWT") != 0)) {
        gw_jws_dispose(&jws);
        return -1;
    }
    gw_keyset_t *ks = gw_keys_acquire();
    const gw_signing_key_t *key = NULL;
    for (size_t i = 0; kid != NULL && i < ks->count; i++)
        if (strcmp(ks->keys[i].kid, kid) == 0)
            key = &ks->keys[i];
    if (key == NULL && kid != NULL)
        gw_keys_reload_soon(); /* as oidc_access_verify does */
    if (key != NULL && gw_jws_verify(key->pkey, key->alg, hint.base, hint.len, NULL, &payload, &err) == 0)
        rc = 0;
    gw_keys_release(ks);
    gw_jws_dispose(&jws);
    if (rc != 0)
        return -1;

    gw_json_limits_t limits = {.require_object = true};
    yajl_val claims = gw_json_parse_pool(pool, payload, strlen(payload), &limits, &err);
    free(payload);
    const char *iss = gw_json_str(claims, "iss"), *sub = gw_json_str(claims, "sub");
    const char *azp = gw_json_str(claims, "azp"), *sid = gw_json_str(claims, "sid");
    if (claims == NULL || iss == NULL || strcmp(iss, oidc_cfg->issuer) != 0 || sub == NULL)
        return -1;
    /* The client the token was issued to: aud (OIDC Core §2), or azp when
     * aud names several. */
    yajl_val aud = gw_json_get(claims, "aud");
    const char *client = NULL;
    int aud_has_param = 0;
    if (YAJL_IS_STRING(aud)) {
        client = aud->u.string;
        aud_has_param = c->client_id.base != NULL && strcmp(client, c->client_id.base) == 0;
    } else if (YAJL_IS_ARRAY(aud)) {
        for (size_t i = 0; i < YAJL_GET_ARRAY(aud)->len; i++) {
            yajl_val v = YAJL_GET_ARRAY(aud)->values[i];
            if (!YAJL_IS_STRING(v))
                return -1;
            if (c->client_id.base != NULL && strcmp(v->u.string, c->client_id.base) == 0)
                aud_has_param = 1;
        }
        if (YAJL_GET_ARRAY(aud)->len == 1)
            client = YAJL_GET_ARRAY(aud)->values[0]->u.string;
        else
            client = azp;
    }
    if (client == NULL)
        return -1;
    /* §2: "If both client_id and id_token_hint are present, the OP MUST
     * verify that the Client Identifier matches the one used when issuing
     * the ID Token." */
    if (c->client_id.base != NULL && !aud_has_param) {
        *why = "The client_id does not match the id_token_hint.";
        return -1;
    }
    if (c->client_id.base == NULL)
        c->client_id = h2o_strdup(pool, client, strlen(client));
    if (sid != NULL) {
        if (!oidc_uuid_ok(sid, strlen(sid)))
            return -1;
        memcpy(c->hint_sid, sid, 37);
    }
    c->hint_sub = h2o_strdup(pool, sub, strlen(sub)).base;
    c->hint_valid = 1;
    return 0;
}

/* ---- responses ----------------------------------------------------------------- */

static void finish(gw_req_t *r)
{
    lo_ctx_t *c = gw_req_state(r, &LOGOUT_STATE_TAG, sizeof(*c));
    if (c->redirect_ok) {
        oidc_param_t p[] = {{"state", c->state.base}};
        h2o_iovec_t url =
            oidc_az_redirect_url(&r->req->pool, c->post_logout_uri.base, c->post_logout_uri.len, p, 1);
        gw_reply_redirect(r, 303, url.base, url.len);
        return;
    }
    oidc_az_message_page(r, 200, "You are signed out",
                         "You have been signed out. You may close this window.");
}

static void hidden(char *buf, size_t *o, h2o_mem_pool_t *pool, const char *name, h2o_iovec_t v)
{
    if (v.base == NULL)
        return;
    h2o_iovec_t e = oidc_html_escape(pool, v.base, v.len);
    *o += (size_t)sprintf(buf + *o, "<input type=\"hidden\" name=\"%s\" value=\"%s\">\n", name, e.base);
}

static void confirm_page(gw_req_t *r)
{
    lo_ctx_t *c = gw_req_state(r, &LOGOUT_STATE_TAG, sizeof(*c));
    h2o_mem_pool_t *pool = &r->req->pool;
    size_t room = 1024 + OIDC_CSRF_TOKEN_LEN + 6 * (c->client_id.len + c->post_logout_uri.len + c->state.len);
    char *buf = h2o_mem_alloc_pool(pool, room);
    size_t o =
        (size_t)sprintf(buf, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                             "<link rel=\"stylesheet\" href=\"/static/regain.css\">"
                             "<title>Sign out</title></head><body><main class=\"card\"><h1>Sign out?</h1>"
                             "<p>Do you want to sign out of this service?</p>"
                             "<form method=\"post\" action=\"/logout\">\n");
    hidden(buf, &o, pool, "client_id", c->client_id);
    hidden(buf, &o, pool, "post_logout_redirect_uri", c->post_logout_uri);
    hidden(buf, &o, pool, "state", c->state);
    h2o_iovec_t cookie = oidc_csrf_cookie_get_or_set(r);
    char token[OIDC_CSRF_TOKEN_LEN + 1];
    oidc_csrf_token(cookie.base, cookie.len, CSRF_CONTEXT, token);
    hidden(buf, &o, pool, OIDC_CSRF_FIELD, h2o_iovec_init(token, OIDC_CSRF_TOKEN_LEN));
    o += (size_t)sprintf(buf + o, "<input type=\"hidden\" name=\"confirm\" value=\"yes\">\n"
                                  "<button type=\"submit\">Sign out</button></form></main></body></html>\n");
    /* The form's answer is a 303 to the post-logout redirect URI. */
    if (c->redirect_ok)
        oidc_reply_form_target(r, c->post_logout_uri.base, c->post_logout_uri.len);
    gw_reply_html(r, 200, buf, o);
}

static void on_ended(gw_req_t *r, const gw_err_t *err)
{
    if (err != NULL) {
        gw_log_write(GW_LOG_ERROR, __func__, r->id, "%s (%s)", err->public, err->detail);
        oidc_az_error_page(r, 503, "Try again", "The service is busy. Please try again in a moment.");
        return;
    }
    finish(r);
}

static void on_session(gw_req_t *r, const oidc_session_t *s, const gw_err_t *err)
{
    lo_ctx_t *c = gw_req_state(r, &LOGOUT_STATE_TAG, sizeof(*c));
    if (err != NULL) {
        on_ended(r, err);
        return;
    }
    if (c->hint_valid) {
        if (s == NULL) {
            /* No session in this browser (no cookie, or it has ended):
             * nothing here to sign out of. The session the hint names
             * lives in another browser and is not ended: an ID token is
             * handed to relying parties and can end up in their logs, so
             * holding one must not sign its user out elsewhere (§2 asks
             * the End-User whenever the hint is not the current session). */
            finish(r);
            return;
        }
        int same = c->hint_sid[0] ? strcmp(s->id, c->hint_sid) == 0 : strcmp(s->user_id, c->hint_sub) == 0;
        if (same || c->confirm)
            oidc_session_end(r, s->id, on_ended);
        else
            confirm_page(r);
        return;
    }
    if (s == NULL)
        finish(r);
    else if (c->confirm)
        oidc_session_end(r, s->id, on_ended);
    else
        confirm_page(r);
}

static void on_client(gw_req_t *r, const oidc_client_t *client, const gw_err_t *err)
{
    lo_ctx_t *c = gw_req_state(r, &LOGOUT_STATE_TAG, sizeof(*c));
    if (err != NULL) {
        on_ended(r, err);
        return;
    }
    if (client == NULL) {
        invalid(r, "The application is not registered with this service.");
        return;
    }
    if (!oidc_client_post_logout_uri_ok(client, c->post_logout_uri.base, c->post_logout_uri.len)) {
        invalid(r, "The application asked to return to an address it has not registered.");
        return;
    }
    c->redirect_ok = 1;
    oidc_session_current(r, on_session);
}

/* 1 when the browser says the request came from a page of our own origin
 * (Fetch Metadata, Sec-Fetch-Site). Not Origin: under our Referrer-Policy
 * no-referrer, browsers send "Origin: null" with our own forms' POSTs. */
static int from_our_origin(gw_req_t *r)
{
    h2o_iovec_t site = gw_req_header(r, "sec-fetch-site");
    return site.base != NULL && h2o_memis(site.base, site.len, H2O_STRLIT("same-origin"));
}

/* One optional parameter, bounded; -1 on a repeat or an over-long value. */
static int get(const gw_kvs_t *kvs, const char *name, size_t max, h2o_iovec_t *out)
{
    gw_err_t err;
    if (gw_kvs_get_once(kvs, name, out, &err) != 0)
        return -1;
    return out->base != NULL && out->len > max ? -1 : 0;
}

static void on_logout(gw_req_t *r)
{
    gw_kvs_t kvs;
    h2o_iovec_t hint, ignored, confirm, csrf, cookie;
    if (oidc_az_read_params_or_page(r, &kvs) != 0)
        return;
    lo_ctx_t *c = gw_req_state(r, &LOGOUT_STATE_TAG, sizeof(*c));
    if (get(&kvs, "id_token_hint", GW_JWS_MAX_LEN, &hint) != 0 ||
        get(&kvs, "client_id", OIDC_AZ_CLIENT_ID_MAX, &c->client_id) != 0 ||
        get(&kvs, "post_logout_redirect_uri", OIDC_AZ_URI_MAX, &c->post_logout_uri) != 0 ||
        get(&kvs, "state", OIDC_AZ_STATE_MAX, &c->state) != 0 ||
        get(&kvs, "ui_locales", OIDC_AZ_LOCALES_MAX, &ignored) != 0 ||
        get(&kvs, "logout_hint", OIDC_AZ_LOGIN_HINT_MAX, &ignored) != 0 ||
        get(&kvs, "confirm", 3, &confirm) != 0 ||
        get(&kvs, OIDC_CSRF_FIELD, OIDC_CSRF_TOKEN_LEN, &csrf) != 0) {
        invalid(r, "A parameter is repeated or too long.");
        return;
    }
    /* Only a POST of our own pages confirms: the confirmation form with its
     * token, or a page of our origin; anything else is asked again. */
    c->confirm = confirm.base != NULL && h2o_memis(confirm.base, confirm.len, H2O_STRLIT("yes")) &&
                 h2o_memis(r->req->method.base, r->req->method.len, H2O_STRLIT("POST")) &&
                 ((gw_req_cookie(r, OIDC_CSRF_COOKIE, &cookie) &&
                   oidc_csrf_ok(cookie.base, cookie.len, CSRF_CONTEXT, csrf.base, csrf.len)) ||
                  from_our_origin(r));
    if (hint.base != NULL) {
        const char *why;
        if (hint_verify(&r->req->pool, hint, c, &why) != 0) {
            invalid(r, why);
            return;
        }
    }
    if (c->post_logout_uri.base != NULL) {
        if (c->client_id.base == NULL) {
            invalid(r, "The application did not identify itself, so it cannot be returned to.");
            return;
        }
        oidc_client_find(r, c->client_id.base, c->client_id.len, on_client);
        return;
    }
    oidc_session_current(r, on_session);
}

static gw_route_t ROUTE_LOGOUT = {
    "/logout", GW_GET | GW_POST, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_logout, NULL, NULL, 0};

void oidc_logout_register(void)
{
    gw_route_register(&ROUTE_LOGOUT);
}
