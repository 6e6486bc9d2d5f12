/* SQL the sign-in form needs from the authorize area's table: is the pending
 * authorization request it refers to still live? */
#include "oidc/signin_internal.h"

store_stmt_t oidc_stmt_authz_request_live = {
    "signin_authz_request_live",
    "SELECT params->>'login_hint', params->>'acr_values', params->>'claims', params->>'redirect_uri' "
    "FROM authorization_requests "
    "WHERE id = $1::uuid AND expires_at > now()",
    1,
    0,
};

void oidc_login_db_register(void)
{
    store_stmt_register(&oidc_stmt_authz_request_live);
}
