/* What every sign-in form handler (password, authenticator app code, TAP)
 * answers the same way: a field sent twice, and a sign-in link that names no
 * valid request. One wording, so the methods cannot drift apart. */
#include "oidc/signin_internal.h"

int oidc_signin_field(gw_req_t *r, const gw_kvs_t *form, const char *name, h2o_iovec_t *out)
{
    gw_err_t err;
    /* A repeated field is refused rather than one copy picked: two parsers
     * picking different copies is how parameter pollution starts. */
    if (gw_kvs_get_once(form, name, out, &err) != 0) {
        oidc_error_page(r, 400, "Bad request", "The sign-in form was sent with a repeated field.");
        return -1;
    }
    return 0;
}

void oidc_signin_link_invalid(gw_req_t *r)
{
    oidc_error_page(r, 400, "Sign-in request not found",
                    "This sign-in link is not valid. Go back to the application and start again.");
}
