/* The end of every sign-in by a method (a passkey, an authenticator app
 * code): a fresh session cookie, the browser's previous session ended, and
 * the browser sent on to where the sign-in began. */
#include <stdio.h>
#include <string.h>

#include "gateway/alloc.h"
#include "oidc/methods_internal.h"

void oidc_session_params_new(gw_req_t *r, oidc_session_params_t *p)
{
    memset(p, 0, sizeof(*p));
    h2o_iovec_t old;
    if (gw_req_cookie(r, OIDC_SESSION_COOKIE, &old) && oidc_secret_format_ok(old.base, old.len)) {
        gw_secret_hash_hex(old.base, old.len, p->old_hash);
        p->has_old = 1;
    }
    gw_secret_new(p->token);
    gw_secret_hash_hex(p->token, GW_SECRET_LEN, p->hash);
    snprintf(p->ttl, sizeof(p->ttl), "%u", oidc_cfg->oidc.session_ttl_s);
    gw_req_peer(r, p->peer);
    p->user_agent = oidc_req_user_agent(r);
}

void oidc_session_params_commit(gw_req_t *r, oidc_session_params_t *p)
{
    /* A fresh token at every sign-in: a cookie planted before it is
     * worthless (session fixation). */
    oidc_session_cookie_set(r, p->token, oidc_cfg->oidc.session_ttl_s);
    gw_wipe(p->token, sizeof(p->token));
}

void oidc_signin_finished(gw_req_t *r, const char *context, int json)
{
    h2o_iovec_t dest = oidc_context_destination(r, context);
    if (json) {
        gw_jw_t *w = gw_jw_new();
        gw_jw_obj_open(w);
        gw_jw_kv_strn(w, "redirect", dest.base, dest.len);
        gw_jw_obj_close(w);
        gw_reply_jw(r, 200, w);
        return;
    }
    /* RFC 9110 §15.4.4: 303, so a reload of the next page never re-posts. */
    gw_reply_redirect(r, 303, dest.base, dest.len);
}
