/* The one request parameter revocation (RFC 7009 §2.1) and introspection
 * (RFC 7662 §2.1) share: `token`, with an optional `token_type_hint`. Both
 * endpoints decide by the token's own shape, never by the hint. */
#include "oidc/tokens_internal.h"

int oidc_token_param_or_reply(gw_req_t *r, const gw_kvs_t *form, h2o_iovec_t *token)
{
    h2o_iovec_t hint;
    gw_err_t err;
    /* The hint is read only so a repeated one is refused like any repeated
     * parameter (RFC 6749 §3.2, which both RFCs build on). */
    if (gw_kvs_get_once(form, "token", token, &err) != 0 ||
        gw_kvs_get_once(form, "token_type_hint", &hint, &err) != 0) {
        gw_reply_error(r, &err);
        return -1;
    }
    if (token->base == NULL) {
        gw_reply_fail(r, GW_E_INVALID_REQUEST, "token is required");
        return -1;
    }
    return 0;
}

int oidc_token_is_jwt(h2o_iovec_t token)
{
    size_t dots = 0;
    for (size_t i = 0; i < token.len; i++)
        dots += token.base[i] == '.';
    return dots == 2;
}
