/* PATCH path parser: RFC 7644 §3.5.2, Figure 7.
 *
 *   PATH = attrPath / valuePath [subAttr]
 *
 * with attrPath, valuePath and subAttr from the filter ABNF (§3.4.2.2):
 *   "members", "name.familyName", "addresses[type eq \"work\"]",
 *   "members[value eq \"2819c223-...\"].displayName",
 *   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
 * The value filter is a valFilter (no nested value path); the schema URI
 * ends at the last colon (see scim_attr_path_parse). No blanks outside the
 * brackets. Errors are invalidPath (§3.12). */
#include <string.h>

#include "scim/internal.h"

int scim_path_parse(h2o_mem_pool_t *pool, const char *s, size_t len, scim_patch_path_t *out, gw_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (len > SCIM_MAX_FILTER_LEN)
        return GW_ERRF(err, GW_E_SCIM_INVALID_PATH, "path longer than %d bytes", SCIM_MAX_FILTER_LEN);
    if (len == 0)
        return GW_ERR(err, GW_E_SCIM_INVALID_PATH, "empty path");
    size_t open = 0;
    while (open < len && s[open] != '[')
        open++;
    if (scim_attr_path_parse(pool, s, open, &out->path) != 0)
        return GW_ERR(err, GW_E_SCIM_INVALID_PATH, "invalid attribute path at 1");
    if (open == len)
        return 0;
    if (out->path.sub != NULL)
        return GW_ERRF(err, GW_E_SCIM_INVALID_PATH, "value filter on a sub-attribute at %zu", open + 1);
    size_t pos = open + 1;
    if (scim_filter_parse_valfilter(pool, s, len, &pos, GW_E_SCIM_INVALID_PATH, &out->value_filter, err) != 0)
        return -1;
    pos++; /* the "]" */
    if (pos == len)
        return 0;
    /* [subAttr] = "." ATTRNAME */
    scim_attr_path_t sub;
    if (s[pos] != '.' || scim_attr_path_parse(pool, s + pos + 1, len - pos - 1, &sub) != 0 ||
        sub.uri != NULL || sub.sub != NULL)
        return GW_ERRF(err, GW_E_SCIM_INVALID_PATH, "invalid sub-attribute after ']' at %zu", pos + 1);
    out->filter_sub = sub.attr;
    return 0;
}
