/* Building and editing yajl trees, and finding attribute definitions; shared
 * by resource_json.c, patch.c and project.c only.
 *
 * Trees made here have the layout yajl_tree_parse gives (yajl_tree.h:
 * object keys[]/values[] and strings malloc'd, numbers keep their text in
 * u.number.r), so yajl_tree_free releases them and they mix freely with
 * parsed trees. Allocation aborts on out of memory (gateway/alloc.h). */
#ifndef REGAIN_SCIM_JSON_TREE_H
#define REGAIN_SCIM_JSON_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "scim/internal.h"

/* New values, owned by the caller (yajl_tree_free). */
yajl_val scim_jt_object(void);
yajl_val scim_jt_array(void);
yajl_val scim_jt_string(const char *s);
yajl_val scim_jt_bool(bool b);
yajl_val scim_jt_null(void);
/* A deep copy of `v` (NULL gives NULL). */
yajl_val scim_jt_copy(yajl_val v);

/* Object editing. Keys match ASCII case-insensitively (RFC 7643 §2.1).
 * set: takes ownership of `v`, replaces (and frees) the value of a matching
 * key, whose name becomes `key`; otherwise appends. */
void scim_jt_set(yajl_val obj, const char *key, yajl_val v);
/* Removes and frees `key`'s entry; false when there was none. */
bool scim_jt_del(yajl_val obj, const char *key);
/* Appends `v` (owned from now on) to array `arr`. */
void scim_jt_push(yajl_val arr, yajl_val v);
/* Removes and frees element `i` of `arr`. */
void scim_jt_remove_at(yajl_val arr, size_t i);

/* JSON equality; object keys compare case-insensitively and in any order,
 * strings exactly or, when !case_exact, ASCII case-insensitively; numbers by
 * value. */
bool scim_jt_equal(yajl_val a, yajl_val b, bool case_exact);

/* true/false, or the strings "true"/"false" in any case (Entra ID sends
 * "True"/"False"): 1 or 0; -1 for anything else. */
int scim_jt_truth(yajl_val v);

/* Absent, null, "", [] or {}: SCIM treats these as unassigned (RFC 7643 §2.5). */
bool scim_jt_unassigned(yajl_val v);

/* Definitions by name, case-insensitively (RFC 7643 §2.1); NULL if none. */
const scim_attr_t *scim_jt_attr(const scim_attr_t *attrs, size_t n, const char *name);
/* One of rt's extension schemas by URN, or NULL. */
const scim_schema_t *scim_jt_extension(const scim_resource_type_t *rt, const char *urn);

/* A top-level attribute of `rt` named without URN: core schema first, then
 * the common attributes (id, externalId, meta). *schema is rt->core or NULL
 * for a common attribute. */
const scim_attr_t *scim_jt_top(const scim_resource_type_t *rt, const char *name,
                               const scim_schema_t **schema);

#endif
