/* grant_type=client_credentials (RFC 6749 §4.4): a confidential client gets
 * an access token for itself. The hot path of the token endpoint: no
 * database round trip (the client comes from the clients area's cache), one
 * ES256 signature with the preloaded key. */
#include <stdlib.h>
#include <string.h>

#include "oidc/tokens_internal.h"

#define SCOPE_MAX 1024

/* The client's allowed scopes that make sense without a user. */
static char *default_scope(gw_req_t *r, const oidc_client_t *c)
{
    size_t len = 0;
    for (size_t i = 0; i < c->scope_count; i++)
        len += strlen(c->scopes[i]) + 1;
    char *out = gw_req_alloc(r, len + 1), *p = out;
    for (size_t i = 0; i < c->scope_count; i++) {
        size_t n = strlen(c->scopes[i]);
        if (n == 0 || oidc_scope_is_user(c->scopes[i], n) ||
            oidc_scope_has(out, (size_t)(p - out), c->scopes[i]))
            continue;
        if (p != out)
            *p++ = ' ';
        memcpy(p, c->scopes[i], n);
        p += n;
        *p = '\0';
    }
    *p = '\0';
    return out;
}

/* Every requested token allowed to this client and meaningful without a
 * user (RFC 6749 §3.3: the server may refuse with invalid_scope). */
static int scope_allowed(const oidc_client_t *c, const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        if (oidc_scope_is_user(s + i, j - i) || !oidc_client_scope_ok(c, s + i, j - i))
            return 0;
        i = j + 1;
    }
    return 1;
}

void oidc_token_client_credentials(gw_req_t *r, const oidc_client_t *c, const gw_kvs_t *form)
{
    h2o_iovec_t scope;
    gw_err_t err;
    /* §4.4: "MUST only be used by confidential clients". */
    if (!(c->grants & OIDC_GRANT_CLIENT_CREDENTIALS) || c->auth_method == OIDC_AUTH_NONE) {
        gw_reply_fail(r, GW_E_UNAUTHORIZED_CLIENT, "the client may not use the client_credentials grant");
        return;
    }
    if (gw_kvs_get_once(form, "scope", &scope, &err) != 0) {
        gw_reply_error(r, &err);
        return;
    }
    const char *granted;
    if (scope.base != NULL) {
        if (!oidc_scope_valid(scope.base, scope.len) || !scope_allowed(c, scope.base, scope.len)) {
            gw_reply_fail(r, GW_E_INVALID_SCOPE, "scope not allowed for this client");
            return;
        }
        granted = scope.base;
    } else {
        granted = default_scope(r, c);
        if (granted[0] == '\0') {
            gw_reply_fail(r, GW_E_INVALID_SCOPE, "the client has no scope usable with client_credentials");
            return;
        }
    }
    oidc_grant_t g = {0};
    g.issuer = oidc_cfg->issuer;
    g.client_id = c->id;
    g.sub = c->id; /* RFC 9068 §2.2: sub is the client when no user is involved */
    g.scope = granted;
    oidc_token_issue_reply(r, c, &g, NULL, NULL, 0, NULL);
}
