/* Shared by the configuration readers (gateway/config.c and
 * gateway/config_recovery.c): one set of rules for every key. Unknown keys
 * are errors, wrong types and bounds name the key ("where.key: ..."), and
 * the first error is the one reported. Not part of gateway/config.h: only
 * the parser needs these. */
#ifndef REGAIN_GATEWAY_CONFIG_INTERNAL_H
#define REGAIN_GATEWAY_CONFIG_INTERNAL_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

typedef struct {
    char *msg; /* the one error message */
    size_t msgsize;
    const char *base_dir; /* relative paths are relative to the config file */
    int dev_mode;
} gw_cfg_ctx_t;

/* Writes the message; returns -1 for `return gw_cfg_fail(...)`. */
int gw_cfg_fail(gw_cfg_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* obj[key], or NULL (also when obj is not an object). */
yajl_val gw_cfg_member(yajl_val obj, const char *key);

/* obj must be an object holding only keys of `allowed` (NULL-terminated),
 * each once. `where` is the object's path ("" for the top level). */
int gw_cfg_check_keys(gw_cfg_ctx_t *c, yajl_val obj, const char *where, const char *const *allowed);

/* Each leaves *out alone when the key is absent, and fails naming where.key
 * when it has the wrong type or is out of bounds. */
int gw_cfg_get_string(gw_cfg_ctx_t *c, yajl_val obj, const char *where, const char *key, char **out);
int gw_cfg_get_uint(gw_cfg_ctx_t *c, yajl_val obj, const char *where, const char *key, unsigned min,
                    unsigned max, unsigned *out);
int gw_cfg_get_bool(gw_cfg_ctx_t *c, yajl_val obj, const char *where, const char *key, int *out);

/* p made absolute against the config file's folder; a new string. */
char *gw_cfg_resolve_path(const gw_cfg_ctx_t *c, const char *p);

#endif
