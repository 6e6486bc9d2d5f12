/* /scim/v2/Users (RFC 7644 §3.2: the User resource endpoint) and the route
 * registration of the resource endpoints. The flow itself is resource.c,
 * shared with Groups. */
#include <string.h>

#include "scim/endpoints.h"

const scim_kind_t SCIM_KIND_USER = {
    .rt = &SCIM_RT_USER,
    .is_group = false,
    .doc = &scim_stmt_user_doc,
    .write = &scim_stmt_user_write,
    .del = &scim_stmt_user_delete,
};

#define USERS_PATH SCIM_BASE "/Users"

static void on_users(gw_req_t *r)
{
    h2o_iovec_t p = r->req->path_normalized;
    size_t n = sizeof(USERS_PATH) - 1;
    scim_endpoint_handle(r, &SCIM_KIND_USER, p.base + n, p.len - n);
}

/* RFC 7644 §3.4.3 allows a query at the server root across resource types;
 * regain answers queries on /Users/.search and /Groups/.search, and says so
 * here with §3.12's 501 ("service provider does not support the request
 * operation") rather than a partial answer. */
static void on_root_search(gw_req_t *r)
{
    scim_reply_status(r, 501, NULL,
                      "search at the root is not supported; use /Users/.search or /Groups/.search");
}

static gw_route_t g_users = {.path = USERS_PATH,
                             .methods = GW_GET | GW_POST | GW_PUT | GW_PATCH | GW_DELETE,
                             .flags = GW_ROUTE_PREFIX | GW_ROUTE_OWN_METHODS,
                             .handler = on_users,
                             .name = "scim_users"};

static gw_route_t g_root_search = {
    .path = SCIM_BASE "/.search", .methods = GW_POST, .handler = on_root_search, .name = "scim_search"};

void scim_resources_register(void)
{
    scim_users_db_register();
    scim_groups_db_register();
    gw_route_register(&g_users);
    gw_route_t *groups;
    scim_groups_route(&groups);
    gw_route_register(groups);
    gw_route_register(&g_root_search);
}
