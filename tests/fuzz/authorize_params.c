/* Fuzz target: authorization request parameters (oidc/authorize_params.c)
 * and the response builders (oidc/authorize_response.c).
 *
 * The input is a query string. Besides "no crash", for every input: a
 * request that passes has every required member within its bounds; its
 * stored form reads back to the same values; a redirect URL starts with the
 * redirect URI and holds no byte that needs encoding; HTML escaping leaves no
 * markup character behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/authorize_internal.h"

static void same(h2o_iovec_t a, h2o_iovec_t b)
{
    if ((a.base == NULL) != (b.base == NULL))
        abort();
    if (a.base != NULL && (a.len != b.len || memcmp(a.base, b.base, a.len) != 0))
        abort();
}

static void check_valid(h2o_mem_pool_t *pool, const oidc_az_request_t *a)
{
    if (a->scope.base == NULL || !oidc_scope_has(a->scope.base, a->scope.len, "openid"))
        abort();
    if (a->code_challenge.len != 43 || a->max_age < -1 || a->max_age > OIDC_AZ_MAX_AGE_MAX)
        abort();
    if ((a->prompt & OIDC_PROMPT_NONE) && a->prompt != OIDC_PROMPT_NONE)
        abort();
    if (a->state.len > OIDC_AZ_STATE_MAX || a->nonce.len > OIDC_AZ_NONCE_MAX ||
        a->claims.len > OIDC_AZ_CLAIMS_MAX)
        abort();
    h2o_iovec_t json = oidc_az_to_json(pool, a);
    oidc_az_request_t b;
    if (json.base == NULL || oidc_az_from_json(pool, json.base, json.len, &b) != 0)
        abort();
    same(a->client_id, b.client_id);
    same(a->redirect_uri, b.redirect_uri);
    same(a->state, b.state);
    same(a->scope, b.scope);
    same(a->nonce, b.nonce);
    same(a->code_challenge, b.code_challenge);
    same(a->login_hint, b.login_hint);
    same(a->acr_values, b.acr_values);
    same(a->claims, b.claims);
    if (a->prompt != b.prompt || a->max_age != b.max_age || a->response_mode != b.response_mode)
        abort();
}

static void check_builders(h2o_mem_pool_t *pool, const oidc_az_request_t *a)
{
    oidc_param_t p[] = {{"state", a->state.base}, {"error_description", a->nonce.base}};
    h2o_iovec_t url = oidc_az_redirect_url(pool, a->redirect_uri.base, a->redirect_uri.len, p, 2);
    const char *hash = memchr(a->redirect_uri.base, '#', a->redirect_uri.len);
    size_t keep = hash ? (size_t)(hash - a->redirect_uri.base) : a->redirect_uri.len;
    if (url.len < keep || memcmp(url.base, a->redirect_uri.base, keep) != 0 || url.base[url.len] != '\0')
        abort();
    for (size_t i = keep; i < url.len; i++) {
        unsigned char c = (unsigned char)url.base[i];
        if (c <= 0x20 || c >= 0x7F || c == '#' || c == '"' || c == '<' || c == '>')
            abort();
    }
    h2o_iovec_t e = oidc_html_escape(pool, a->redirect_uri.base, a->redirect_uri.len);
    if (memchr(e.base, '<', e.len) || memchr(e.base, '>', e.len) || memchr(e.base, '"', e.len) ||
        memchr(e.base, '\'', e.len))
        abort();
    h2o_iovec_t page = oidc_az_form_post_html(pool, a->redirect_uri.base, a->redirect_uri.len, p, 2);
    if (strstr(page.base, "<script>") != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2o_mem_pool_t pool;
    gw_kvs_t kvs;
    gw_err_t err;
    oidc_az_request_t a;
    char fatal[160];
    h2o_mem_init_pool(&pool);
    if (gw_form_parse(&pool, (const char *)data, size, GW_MAX_PARAMS, &kvs, &err) == 0) {
        if (oidc_az_parse(&pool, &kvs, &a, fatal, sizeof(fatal)) == 0) {
            if (a.client_id.base == NULL || a.redirect_uri.base == NULL ||
                a.redirect_uri.len > OIDC_AZ_URI_MAX)
                abort();
            if (a.error == OIDC_AZE_NONE)
                check_valid(&pool, &a);
            else if (strcmp(oidc_az_error_code(a.error), "server_error") == 0 ||
                     a.error_description[0] == '\0')
                abort();
            check_builders(&pool, &a);
            oidc_az_session_fits(&a, 1000, 2000);
        } else if (fatal[0] == '\0') {
            abort();
        }
    }
    h2o_mem_clear_pool(&pool);
    return 0;
}
