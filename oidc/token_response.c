/* The JSON body of a successful token response (RFC 6749 §5.1, OIDC Core
 * §3.1.3.3).
 *
 * Its strings are tokens (base64url and dots), "Bearer" and a scope that
 * passed oidc_scope_valid: none needs escaping, and running the two signed
 * tokens (about 1,300 characters) through yajl's escaper one character at a
 * time was most of the JSON cost of a code exchange. So a body whose strings
 * are all plain is written directly; anything else still goes through the
 * JSON writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "oidc/tokens_internal.h"

/* 1 when `s` can stand between JSON quotes as it is: printable ASCII
 * without '"' and '\\' (RFC 8259 §7). */
static int plain(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            return 0;
    return 1;
}

static char *put(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static char *put_member(char *p, const char *key, const char *value)
{
    p = put(p, ",\"");
    p = put(p, key);
    p = put(p, "\":\"");
    p = put(p, value);
    return put(p, "\"");
}

static char *with_writer(const char *access_token, int64_t expires_in, const char *scope,
                         const char *id_token, const char *refresh_token, size_t *len)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "access_token", access_token);
    gw_jw_kv_str(w, "token_type", "Bearer");
    gw_jw_kv_int64(w, "expires_in", expires_in);
    if (scope != NULL)
        gw_jw_kv_str(w, "scope", scope);
    if (id_token != NULL)
        gw_jw_kv_str(w, "id_token", id_token);
    if (refresh_token != NULL)
        gw_jw_kv_str(w, "refresh_token", refresh_token);
    gw_jw_obj_close(w);
    const char *buf = gw_jw_buf(w, len);
    char *out = buf != NULL ? gw_strndup(buf, *len) : NULL;
    gw_jw_free(w);
    return out;
}

char *oidc_token_response_json(const char *access_token, int64_t expires_in, const char *scope,
                               const char *id_token, const char *refresh_token, size_t *len)
{
    if (!plain(access_token) || (scope != NULL && !plain(scope)) || (id_token != NULL && !plain(id_token)) ||
        (refresh_token != NULL && !plain(refresh_token)))
        return with_writer(access_token, expires_in, scope, id_token, refresh_token, len);
    size_t cap = 128 + strlen(access_token) + (scope ? strlen(scope) : 0) +
                 (id_token ? strlen(id_token) : 0) + (refresh_token ? strlen(refresh_token) : 0);
    char *out = gw_malloc(cap), *p = out;
    p = put(p, "{\"access_token\":\"");
    p = put(p, access_token);
    p = put(p, "\",\"token_type\":\"Bearer\",\"expires_in\":");
    p += snprintf(p, 24, "%lld", (long long)expires_in);
    if (scope != NULL)
        p = put_member(p, "scope", scope);
    if (id_token != NULL)
        p = put_member(p, "id_token", id_token);
    if (refresh_token != NULL)
        p = put_member(p, "refresh_token", refresh_token);
    p = put(p, "}");
    *p = '\0';
    *len = (size_t)(p - out);
    return out;
}
