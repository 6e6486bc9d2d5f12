/* Fuzz target: the PATCH engine, then the check and the projection of its
 * result, on a sample User and Group.
 *
 * Invariants: the input document is never modified; a failure sets a SCIM
 * error kind, a one-line message and no output, password or member lists
 * (RFC 7644 §3.5.2: atomic); a success gives an object whose `schemas`
 * starts with the core URN and no `password`; everything is freed (the
 * sanitizer build checks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scim/json_tree.h"

static const char *USER =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:ietf:params:scim:schemas:extension:"
    "enterprise:2.0:User\"],\"id\":\"2819c223\",\"externalId\":\"bjensen\",\"userName\":\"bjensen@example."
    "com\","
    "\"name\":{\"familyName\":\"Jensen\",\"givenName\":\"Barbara\"},\"active\":true,"
    "\"emails\":[{\"value\":\"bjensen@example.com\",\"type\":\"work\",\"primary\":true},"
    "{\"value\":\"babs@jensen.org\",\"type\":\"home\"}],"
    "\"addresses\":[{\"type\":\"work\",\"streetAddress\":\"100 Universal City Plaza\",\"primary\":true}],"
    "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"employeeNumber\":\"701984\","
    "\"manager\":{\"value\":\"26118915\"}},"
    "\"meta\":{\"resourceType\":\"User\",\"created\":\"2010-01-23T04:56:22Z\",\"version\":3}}";

static const char *GROUP =
    "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"id\":\"e9e30dba\","
    "\"displayName\":\"Tour Guides\",\"members\":[{\"value\":\"2819c223\",\"type\":\"User\"}]}";

static bool scim_kind(gw_err_kind_t k)
{
    return k >= GW_E_SCIM_INVALID_FILTER && k <= GW_E_SCIM_SENSITIVE;
}

static void one(const scim_resource_type_t *rt, yajl_val doc, yajl_val patch, bool with_members)
{
    yajl_val before = scim_jt_copy(doc), out = NULL, checked = NULL;
    char *pw = NULL, *pw2 = NULL;
    scim_members_ops_t m;
    gw_err_t err = {0};
    int rc = scim_patch_apply(rt, doc, patch, &out, &pw, with_members ? &m : NULL, &err);
    if (!scim_jt_equal(doc, before, true))
        abort();
    if (rc != 0) {
        if (out != NULL || pw != NULL || !scim_kind(err.kind) || strchr(err.public, '\n') != NULL)
            abort();
        if (with_members && (m.add != NULL || m.remove != NULL || m.must != NULL || m.remove_all))
            abort();
        yajl_tree_free(before);
        return;
    }
    yajl_val s = gw_json_get(out, "schemas");
    if (!YAJL_IS_OBJECT(out) || !YAJL_IS_ARRAY(s) || s->u.array.len == 0 ||
        strcmp(s->u.array.values[0]->u.string, rt->core->id) != 0 || gw_json_find_ci(out, "password") != NULL)
        abort();
    if (scim_resource_check(rt, out, SCIM_WRITE_REPLACE, doc, &checked, &pw2, &err) == 0) {
        gw_jw_t *w = gw_jw_new();
        if (scim_project(rt, checked, NULL, NULL, "https://example.com/scim/v2", w, &err) != 0)
            abort();
        gw_jw_free(w);
        w = gw_jw_new();
        scim_project(rt, out, "name.givenName,emails", NULL, "https://example.com/scim/v2", w, &err);
        gw_jw_free(w);
        yajl_tree_free(checked);
    } else if (checked != NULL || pw2 != NULL || !scim_kind(err.kind)) {
        abort();
    }
    free(pw);
    free(pw2);
    if (with_members) {
        yajl_tree_free(m.add);
        yajl_tree_free(m.remove);
        yajl_tree_free(m.must);
    }
    yajl_tree_free(out);
    yajl_tree_free(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const gw_json_limits_t lim = {
        .max_bytes = 64 * 1024, .max_depth = 8, .require_object = true, .unique_keys_ci = true};
    gw_err_t err;
    yajl_val patch = gw_json_parse((const char *)data, size, &lim, &err);
    if (patch == NULL)
        return 0;
    yajl_val user = gw_json_parse(USER, strlen(USER), NULL, &err);
    yajl_val group = gw_json_parse(GROUP, strlen(GROUP), NULL, &err);
    if (user == NULL || group == NULL)
        abort();
    one(&SCIM_RT_USER, user, patch, false);
    one(&SCIM_RT_GROUP, group, patch, false);
    one(&SCIM_RT_GROUP, group, patch, true);
    yajl_tree_free(user);
    yajl_tree_free(group);
    yajl_tree_free(patch);
    return 0;
}
