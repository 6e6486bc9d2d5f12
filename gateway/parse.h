/* Parsers and builders for the small text formats of HTTP: form bodies and
 * query strings, percent-encoding, and cookies.
 *
 * Pure functions of bytes: no h2o_req_t. Strings are pointer + length; results
 * that need memory come from the h2o_mem_pool_t the caller passes (normally
 * req->pool), so they live until the request ends and are never free()d. */
#ifndef REGAIN_GATEWAY_PARSE_H
#define REGAIN_GATEWAY_PARSE_H

#include <stddef.h>
#include <h2o.h>

#include "gateway/err.h"

/* One decoded name/value pair. Both are NUL-terminated (the NUL is not counted
 * in len) and contain no NUL byte and only valid UTF-8. */
typedef struct {
    h2o_iovec_t name, value;
} gw_kv_t;

/* Pairs in the order they appeared; duplicates are kept. */
typedef struct {
    gw_kv_t *items;
    size_t count;
} gw_kvs_t;

/* Parse an application/x-www-form-urlencoded body or a query string (WHATWG
 * URL "application/x-www-form-urlencoded parser"): pairs split on '&', name
 * and value split on the first '=', '+' decodes to space, %XX to a byte.
 * A leading '?' is skipped and empty pairs ("a=1&&b=2") are ignored; a pair
 * without '=' has an empty value.
 *
 * Stricter than WHATWG, which passes bad input through: a '%' not followed by
 * two hex digits, a NUL byte (raw or decoded) and invalid UTF-8 after
 * decoding are errors, because a parameter that decodes differently here and
 * in another component (a proxy, the database) is an injection vector.
 *
 * `out` and all strings in it are allocated from `pool`. Returns 0, or -1
 * with GW_E_INVALID_REQUEST for malformed input or more than `max_params`
 * pairs (checked before anything is decoded). */
int gw_form_parse(h2o_mem_pool_t *pool, const char *s, size_t len, size_t max_params, gw_kvs_t *out,
                  gw_err_t *err);

/* The value of the first pair named exactly `name` (case-sensitive), or NULL.
 * Points into `kvs`. */
const h2o_iovec_t *gw_kvs_find(const gw_kvs_t *kvs, const char *name);

/* The only value of `name`. RFC 6749 §3.1: parameters sent without a value
 * are treated as omitted, and request and response parameters MUST NOT be
 * included more than once. So pairs with an empty value are ignored; if none
 * is left, `value` gets base NULL and len 0 and the call succeeds. Returns -1
 * with GW_E_INVALID_REQUEST "parameter NAME repeated" when two non-empty
 * values are present. `value` points into `kvs`. */
int gw_kvs_get_once(const gw_kvs_t *kvs, const char *name, h2o_iovec_t *value, gw_err_t *err);

/* The value of one hex digit (either case), or -1 for any other character. */
int gw_hex_digit(char c);

/* Percent-encode `n` bytes of `s` for a query string, a form body or a URI
 * component: RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~) are copied,
 * every other byte becomes %XX with upper-case hex (so a space is %20, never
 * '+', which every decoder reads the same way). The result is allocated from
 * `pool` and NUL-terminated (the NUL is not counted in len). */
h2o_iovec_t gw_url_encode(h2o_mem_pool_t *pool, const char *s, size_t n);

/* Narrows [*b, *e) to leave out optional whitespace (RFC 9110 §5.6.3: spaces
 * and tabs) at both ends. */
void gw_trim_ows(const char **b, const char **e);

/* Find cookie `name` in the value of one Cookie header (RFC 6265 §4.2:
 * "a=1; b=2"). The name match is exact and case-sensitive; whitespace around
 * names and values is tolerated, and a value in double quotes is returned
 * without them. When a name occurs more than once the first wins (browsers
 * send the cookie with the longest path first). Returns 1 and sets `value`
 * (pointing into `header`) when found, 0 otherwise. */
int gw_cookie_find(const char *header, size_t len, const char *name, h2o_iovec_t *value);

/* The same over several Cookie header values, as HTTP/2 sends them split
 * (RFC 9113 §8.2.3); the first match in order wins. */
int gw_cookie_find_multi(const h2o_iovec_t *headers, size_t count, const char *name, h2o_iovec_t *value);

/* Attribute selection for gw_cookie_build. */
#define GW_COOKIE_SECURE          0x01u
#define GW_COOKIE_HTTPONLY        0x02u
#define GW_COOKIE_SAMESITE_LAX    0x04u
#define GW_COOKIE_SAMESITE_STRICT 0x08u
#define GW_COOKIE_SAMESITE_NONE   0x10u
/* What session cookies use: Secure; HttpOnly; SameSite=Lax. */
#define GW_COOKIE_DEFAULT (GW_COOKIE_SECURE | GW_COOKIE_HTTPONLY | GW_COOKIE_SAMESITE_LAX)

/* Build a Set-Cookie header value "name=value; Path=/; Max-Age=N; Secure;
 * HttpOnly; SameSite=Lax" from `pool` (NUL-terminated, NUL not counted).
 * Path is always "/" and no Domain is ever emitted (host-only cookies).
 * max_age_seconds > 0 sets Max-Age, 0 emits Max-Age=0 (delete the cookie),
 * < 0 makes a session cookie.
 * Secure is forced for names starting with "__Host-" or "__Secure-" (RFC
 * 6265bis §4.1.3) and for SameSite=None, which browsers drop without it.
 * Returns base NULL and len 0 when the name is not an RFC 9110 token, the
 * value has a byte outside RFC 6265 cookie-octet, or more than one SameSite
 * flag is given, or name and value exceed 4096 bytes (RFC 6265 §6.1): that is a bug in the caller, not a
 * client error. */
h2o_iovec_t gw_cookie_build(h2o_mem_pool_t *pool, const char *name, h2o_iovec_t value,
                            long long max_age_seconds, unsigned flags);

#endif
