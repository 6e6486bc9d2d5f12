/* Where a request came from, as the audit trail records it: the peer address
 * and the User-Agent, copied into the request pool for a statement's
 * parameters. */
#include <string.h>

#include "oidc/internal.h"

/* Enough to tell browsers apart; a longer header is cut rather than refused,
 * since it only describes the request. */
#define AUDIT_USER_AGENT_MAX 512

const char *oidc_req_addr(gw_req_t *r)
{
    char peer[64];
    gw_req_peer(r, peer);
    return gw_req_strdup(r, peer, strlen(peer)).base;
}

const char *oidc_req_user_agent(gw_req_t *r)
{
    h2o_iovec_t ua = gw_req_header(r, "user-agent");
    if (ua.base == NULL)
        return NULL;
    return gw_req_strdup(r, ua.base, ua.len > AUDIT_USER_AGENT_MAX ? AUDIT_USER_AGENT_MAX : ua.len).base;
}
