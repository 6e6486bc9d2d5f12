/* /scim/v2/Groups (RFC 7644 §3.2: the Group resource endpoint). The flow is
 * resource.c, shared with Users; what differs is in SCIM_KIND_GROUP and in
 * resource.c's member handling (PATCH member operations are applied in the
 * database, so a large group's members are never loaded). */
#include "scim/endpoints.h"

const scim_kind_t SCIM_KIND_GROUP = {
    .rt = &SCIM_RT_GROUP,
    .is_group = true,
    .doc = &scim_stmt_group_doc,
    .write = &scim_stmt_group_write,
    .del = &scim_stmt_group_delete,
};

#define GROUPS_PATH SCIM_BASE "/Groups"

static void on_groups(gw_req_t *r)
{
    h2o_iovec_t p = r->req->path_normalized;
    size_t n = sizeof(GROUPS_PATH) - 1;
    scim_endpoint_handle(r, &SCIM_KIND_GROUP, p.base + n, p.len - n);
}

static gw_route_t g_groups = {.path = GROUPS_PATH,
                              .methods = GW_GET | GW_POST | GW_PUT | GW_PATCH | GW_DELETE,
                              .flags = GW_ROUTE_PREFIX | GW_ROUTE_OWN_METHODS,
                              .handler = on_groups,
                              .name = "scim_groups"};

void scim_groups_route(gw_route_t **route)
{
    *route = &g_groups;
}
