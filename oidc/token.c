/* POST /token (RFC 6749 §3.2, OIDC Core §3.1.3): parses the form, refuses
 * repeated parameters, authenticates the client (clients area), and hands the
 * request to the grant's file. Also mounts /userinfo, /revoke, /introspect.
 *
 * Every response carries Cache-Control: no-store (route flag) and
 * Pragma: no-cache (RFC 6749 §5.1). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/tokens_internal.h"

int64_t oidc_now(void)
{
    return (int64_t)time(NULL);
}

int oidc_iov_is(h2o_iovec_t v, const char *lit)
{
    size_t n = strlen(lit);
    return v.base != NULL && v.len == n && memcmp(v.base, lit, n) == 0;
}

/* ---- replies ----------------------------------------------------------------- */

void oidc_token_reply(gw_req_t *r, const char *access_token, int64_t expires_in, const char *scope,
                      const char *id_token, const char *refresh_token)
{
    size_t len = 0;
    char *body = oidc_token_response_json(access_token, expires_in, scope, id_token, refresh_token, &len);
    if (body == NULL) {
        gw_reply_fail(r, GW_E_INTERNAL, "cannot write the token response");
        return;
    }
    gw_reply_json(r, 200, body, len);
    free(body);
}

void oidc_token_grant_reply(gw_req_t *r, const oidc_client_t *c, oidc_grant_t *g, const oidc_user_info_t *u,
                            yajl_val claims, const char *refresh_token)
{
    int with_id = oidc_scope_has(g->scope, strlen(g->scope), "openid");
    oidc_token_issue_reply(r, c, g, u, gw_json_get(claims, "id_token"), with_id, refresh_token);
    free((char *)g->uic_json); /* malloc'd by the load */
    g->uic_json = NULL;
}

void oidc_token_issue_reply(gw_req_t *r, const oidc_client_t *c, const oidc_grant_t *g,
                            const oidc_user_info_t *u, yajl_val id_token_claims, int with_id,
                            const char *refresh_token)
{
    const gw_config_t *cfg = oidc_cfg;
    int64_t now = oidc_now();
    char jti[OIDC_JTI_LEN + 1], *payload = NULL, *at = NULL, *idt = NULL;
    size_t plen = 0;
    gw_err_t err;
    int64_t at_exp = now + cfg->oidc.access_token_ttl_s, id_exp = now + cfg->oidc.id_token_ttl_s;
    /* Nothing obtained through a TAP outlives the TAP (issue 6). */
    if (g->exp_cap != 0) {
        if (g->exp_cap <= now) {
            gw_reply_fail(r, GW_E_INVALID_GRANT, "the Temporary Access Pass of this grant has expired");
            return;
        }
        at_exp = at_exp < g->exp_cap ? at_exp : g->exp_cap;
        id_exp = id_exp < g->exp_cap ? id_exp : g->exp_cap;
    }
    oidc_jti_new(jti);
    if (oidc_jwt_access_payload(g, jti, now, at_exp, &payload, &plen, &err) != 0 ||
        oidc_jwt_sign("ES256", "at+jwt", payload, plen, &at, &err) != 0)
        goto fail;
    free(payload);
    payload = NULL;
    if (with_id) {
        char at_hash[OIDC_AT_HASH_LEN + 1];
        const char *alg = c->id_token_alg[0] ? c->id_token_alg : "ES256";
        oidc_at_hash(at, strlen(at), at_hash);
        if (oidc_jwt_id_payload(g, u, id_token_claims, at_hash, now, id_exp, &payload, &plen, &err) != 0 ||
            oidc_jwt_sign(alg, NULL, payload, plen, &idt, &err) != 0)
            goto fail;
    }
    oidc_token_reply(r, at, at_exp - now, g->scope, idt, refresh_token);
    free(payload);
    free(at);
    free(idt);
    return;
fail:
    free(payload);
    free(at);
    free(idt);
    gw_reply_error(r, &err);
}

/* ---- the endpoint ------------------------------------------------------------- */

/* RFC 6749 §3.2: "Request and response parameters MUST NOT be included more
 * than once" - for any parameter, not only those this grant reads. */
int oidc_form_no_repeats_or_reply(gw_req_t *r, const gw_kvs_t *form)
{
    for (size_t i = 0; i < form->count; i++) {
        if (form->items[i].value.len == 0)
            continue; /* §3.1: a parameter without a value is omitted */
        for (size_t j = i + 1; j < form->count; j++) {
            if (form->items[j].value.len != 0 && form->items[i].name.len == form->items[j].name.len &&
                memcmp(form->items[i].name.base, form->items[j].name.base, form->items[i].name.len) == 0) {
                gw_err_t err;
                char name[48];
                size_t n = form->items[i].name.len < 40 ? form->items[i].name.len : 40;
                gw_log_escape(name, sizeof(name), form->items[i].name.base, n);
                GW_ERRF(&err, GW_E_INVALID_REQUEST, "parameter %s repeated", name);
                gw_reply_error(r, &err);
                return -1;
            }
        }
    }
    return 0;
}

static void on_client(gw_req_t *r, const oidc_client_t *c, const gw_kvs_t *form)
{
    h2o_iovec_t gt;
    gw_err_t err;
    if (gw_kvs_get_once(form, "grant_type", &gt, &err) != 0) {
        gw_reply_error(r, &err);
        return;
    }
    if (oidc_iov_is(gt, "client_credentials"))
        oidc_token_client_credentials(r, c, form);
    else if (oidc_iov_is(gt, "authorization_code"))
        oidc_token_code(r, c, form);
    else if (oidc_iov_is(gt, "refresh_token"))
        oidc_token_refresh(r, c, form);
    else
        gw_reply_fail(r, GW_E_UNSUPPORTED_GRANT_TYPE, "grant_type not supported");
}

static void on_token(gw_req_t *r)
{
    gw_reply_header(r, "pragma", H2O_STRLIT("no-cache"));
    gw_kvs_t *form = gw_req_alloc(r, sizeof(*form));
    h2o_iovec_t gt;
    gw_err_t err;
    if (gw_req_form_or_reply(r, form) != 0 || oidc_form_no_repeats_or_reply(r, form) != 0)
        return;
    if (gw_kvs_get_once(form, "grant_type", &gt, &err) != 0) {
        gw_reply_error(r, &err);
        return;
    }
    if (gt.base == NULL) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "grant_type is required");
        return;
    }
    oidc_client_authenticate(r, form, on_client);
}

static gw_route_t ROUTE_TOKEN = {"/token", GW_POST, GW_ROUTE_NO_STORE, on_token, NULL, NULL, 0};

void oidc_tokens_register(const gw_config_t *cfg)
{
    (void)cfg;
    oidc_token_db_register();
    gw_route_register(&ROUTE_TOKEN);
    oidc_userinfo_register();
    oidc_revoke_register();
    oidc_introspect_register();
}
