/* Access to the SCIM endpoints: a bearer access token (RFC 6750) from our
 * own /token with scope `scim` (reads and writes) or `scim.read` (reads).
 *
 * The token itself is checked by oidc_bearer_authorize, which answers a
 * missing, malformed, expired or revoked token with 401 and its RFC 6750
 * body and WWW-Authenticate challenge. The scope is checked here, so a
 * token without the scope gets 403 with the challenge (RFC 6750 §3.1
 * insufficient_scope) and a SCIM error body (RFC 7644 §3.12). */
#include <string.h>

#include "oidc/internal.h"
#include "scim/endpoints.h"

#define SCOPE_WRITE "scim"
#define SCOPE_READ  "scim.read"

typedef struct {
    scim_auth_cb cb;
    bool write;
    void *saved; /* the handler's r->data, given back before cb */
} auth_state_t;

static void deny(gw_req_t *r, const char *needed)
{
    char challenge[160];
    int n = snprintf(challenge, sizeof(challenge),
                     "Bearer error=\"insufficient_scope\", error_description=\"token lacks the required "
                     "scope\", scope=\"%s\"",
                     needed);
    gw_reply_header(r, "www-authenticate", challenge, (size_t)n);
    scim_reply_fail(r, GW_E_INSUFFICIENT_SCOPE,
                    strcmp(needed, SCOPE_WRITE) == 0 ? "this operation needs a token with scope scim"
                                                     : "this operation needs a token with scope scim or "
                                                       "scim.read");
}

static void on_token(gw_req_t *r, const oidc_access_t *at)
{
    auth_state_t *st = r->data;
    r->data = st->saved;
    const char *scope = at->scope != NULL ? at->scope : "";
    size_t n = strlen(scope);
    bool can_write = oidc_scope_has(scope, n, SCOPE_WRITE);
    bool can_read = can_write || oidc_scope_has(scope, n, SCOPE_READ);
    if (st->write ? !can_write : !can_read) {
        deny(r, st->write ? SCOPE_WRITE : SCOPE_WRITE " " SCOPE_READ);
        return;
    }
    st->cb(r, can_write);
}

void scim_authorize(gw_req_t *r, bool write, scim_auth_cb cb)
{
    auth_state_t *st = gw_req_alloc(r, sizeof(*st));
    st->cb = cb;
    st->write = write;
    /* r->data carries the callback through oidc_bearer_authorize (whose own
     * state lives elsewhere); the handler's value is restored before cb. */
    st->saved = r->data;
    r->data = st;
    oidc_bearer_authorize(r, NULL, on_token);
}
