/* Strict JSON parsing into yajl trees, typed getters, and a JSON writer.
 *
 * yajl's own yajl_tree_parse accepts comments, keeps duplicate keys, has no
 * depth limit and needs NUL-terminated input (DEPENDENCIES.md §7); request
 * bodies go through gw_json_parse instead. */
#ifndef REGAIN_GATEWAY_JSON_H
#define REGAIN_GATEWAY_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include <yajl/yajl_tree.h>

#include "gateway/err.h"

#define GW_JSON_DEFAULT_MAX_BYTES (1024 * 1024)
#define GW_JSON_DEFAULT_MAX_DEPTH 32

/* Limits for gw_json_parse; a zero field takes the default. */
typedef struct {
    size_t max_bytes;    /* longest accepted input (GW_JSON_DEFAULT_MAX_BYTES) */
    unsigned max_depth;  /* deepest nesting of objects and arrays; the top-level
                            container is depth 1 (GW_JSON_DEFAULT_MAX_DEPTH) */
    bool require_object; /* the top-level value must be an object */
    bool unique_keys_ci; /* also reject keys differing only in ASCII case, for
                            SCIM, whose attribute names are case-insensitive */
} gw_json_limits_t;

/* Parse `len` bytes of JSON (RFC 8259) strictly: no comments, no duplicate
 * object key at any depth, nesting and length within `limits` (NULL for the
 * defaults), no NUL byte in the input and no "\u0000" in a string or key
 * (yajl trees hold C strings, which would silently truncate there), valid
 * UTF-8, one value and nothing after it. `buf` needs no NUL terminator.
 * Numbers follow yajl_tree: YAJL_IS_INTEGER when the text is an integer that
 * fits int64, YAJL_IS_DOUBLE when strtod takes it; the text is kept.
 *
 * Returns a tree the caller owns and releases with yajl_tree_free(), or NULL
 * with GW_E_PAYLOAD_TOO_LARGE (over max_bytes) or GW_E_SCIM_INVALID_SYNTAX
 * and a one-line public message; yajl's own message goes to err->detail. */
yajl_val gw_json_parse(const char *buf, size_t len, const gw_json_limits_t *limits, gw_err_t *err);

/* gw_json_parse whose tree is released when `pool` is cleared (at the end of
 * the request): the caller must not yajl_tree_free it. */
yajl_val gw_json_parse_pool(h2o_mem_pool_t *pool, const char *buf, size_t len, const gw_json_limits_t *limits,
                            gw_err_t *err);

/* Getters. Each takes any yajl_val (NULL or a non-object gives "absent") and
 * returns pointers into the tree, valid while the tree lives. */

/* The value of `key` in object `obj`, exact match, or NULL. */
yajl_val gw_json_get(yajl_val obj, const char *key);

/* The same with an ASCII case-insensitive key match (RFC 7643 §2.1: SCIM
 * attribute names are case-insensitive); the first match wins. */
yajl_val gw_json_find_ci(yajl_val obj, const char *key);

/* The string value of `key`, or NULL if absent or not a string. */
const char *gw_json_str(yajl_val obj, const char *key);

/* Result of the typed getters below. */
typedef enum {
    GW_JSON_WRONG_TYPE = -1, /* present, but not of the requested type */
    GW_JSON_ABSENT = 0,      /* no such key (or obj is not an object) */
    GW_JSON_OK = 1           /* *out was set */
} gw_json_get_t;

/* `key` as a boolean (true/false only). */
gw_json_get_t gw_json_get_bool(yajl_val obj, const char *key, bool *out);

/* `key` as an integer that fits int64 ("1.0" and "1e3" are WRONG_TYPE). */
gw_json_get_t gw_json_get_int64(yajl_val obj, const char *key, int64_t *out);

/* How many of the `n` bytes of `s`, from the start, can stand between JSON
 * quotes as they are: printable ASCII without '"' and '\\' (RFC 8259 §7).
 * Eight bytes at a time: the JSON writer and the access log run every
 * string they write through it. */
size_t gw_json_plain_prefix(const char *s, size_t n);

/* JSON writer: the output of yajl_gen with UTF-8 validation on, byte for
 * byte (gateway/json_write.c says why it is not yajl_gen).
 *
 * Calls do not return errors: the first failure (a string that is not valid
 * UTF-8, a value where a key belongs, a close without an open, raw text of
 * length 0, nesting over 128) is remembered and later calls are ignored, so
 * a builder checks once, at the end, with gw_jw_buf or gw_jw_error. */
typedef struct gw_jw gw_jw_t;

/* A new writer; the caller owns it and releases it with gw_jw_free. */
gw_jw_t *gw_jw_new(void);
void gw_jw_free(gw_jw_t *w);

void gw_jw_obj_open(gw_jw_t *w);
void gw_jw_obj_close(gw_jw_t *w);
void gw_jw_arr_open(gw_jw_t *w);
void gw_jw_arr_close(gw_jw_t *w);
/* A key inside an object; NUL-terminated or with length. */
void gw_jw_key(gw_jw_t *w, const char *key);
void gw_jw_keyn(gw_jw_t *w, const char *key, size_t n);
/* A string value; gw_jw_str(w, NULL) writes null. */
void gw_jw_str(gw_jw_t *w, const char *s);
void gw_jw_strn(gw_jw_t *w, const char *s, size_t n);
void gw_jw_int64(gw_jw_t *w, int64_t v);
void gw_jw_bool(gw_jw_t *w, bool v);
void gw_jw_null(gw_jw_t *w);
/* Insert `n` bytes of JSON text verbatim as one value (a serialized claim set,
 * a big integer's exact digits). The text is not checked: it must be one
 * valid JSON value from a trusted source, never client input. */
void gw_jw_raw(gw_jw_t *w, const char *json, size_t n);

/* key + value in one call. */
void gw_jw_kv_str(gw_jw_t *w, const char *key, const char *value);
void gw_jw_kv_strn(gw_jw_t *w, const char *key, const char *value, size_t n);
void gw_jw_kv_int64(gw_jw_t *w, const char *key, int64_t v);
void gw_jw_kv_bool(gw_jw_t *w, const char *key, bool v);
void gw_jw_kv_null(gw_jw_t *w, const char *key);
void gw_jw_kv_raw(gw_jw_t *w, const char *key, const char *json, size_t n);

/* The finished document and its length, owned by `w` and valid until
 * gw_jw_free; not NUL-terminated. NULL (and *len 0) when a call failed or a
 * container is still open. */
const char *gw_jw_buf(gw_jw_t *w, size_t *len);

/* 0 if the document so far is fine, else -1 with GW_E_INTERNAL "could not
 * encode response" (the yajl_gen status goes to err->detail). */
int gw_jw_error(const gw_jw_t *w, gw_err_t *err);

#endif
