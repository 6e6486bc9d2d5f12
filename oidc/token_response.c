/* The JSON body of a successful token response (RFC 6749 §5.1, OIDC Core
 * §3.1.3.3).
 *
 * Its strings are tokens (base64url and dots), "Bearer" and a scope that
 * passed oidc_scope_valid: none needs escaping, and running the two signed
 * tokens (about 1,300 characters) through an escaper one character at a
 * time was most of the JSON cost of a code exchange. So a body whose strings
 * are all plain (gw_json_plain) is written directly, each length measured
 * once; anything else still goes through the JSON writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "oidc/tokens_internal.h"

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put_member(char *p, const char *key, size_t key_len, const char *value, size_t len)
{
    p = put(p, ",\"", 2);
    p = put(p, key, key_len);
    p = put(p, "\":\"", 3);
    p = put(p, value, len);
    return put(p, "\"", 1);
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
    size_t at_len = strlen(access_token), scope_len = scope ? strlen(scope) : 0,
           id_len = id_token ? strlen(id_token) : 0, rt_len = refresh_token ? strlen(refresh_token) : 0;
    if (!gw_json_plain(access_token, at_len) || !gw_json_plain(scope, scope_len) ||
        !gw_json_plain(id_token, id_len) || !gw_json_plain(refresh_token, rt_len))
        return with_writer(access_token, expires_in, scope, id_token, refresh_token, len);
    char *out = gw_malloc(128 + at_len + scope_len + id_len + rt_len), *p = out;
    p = put(p, H2O_STRLIT("{\"access_token\":\""));
    p = put(p, access_token, at_len);
    p = put(p, H2O_STRLIT("\",\"token_type\":\"Bearer\",\"expires_in\":"));
    p += snprintf(p, 24, "%lld", (long long)expires_in);
    if (scope != NULL)
        p = put_member(p, H2O_STRLIT("scope"), scope, scope_len);
    if (id_token != NULL)
        p = put_member(p, H2O_STRLIT("id_token"), id_token, id_len);
    if (refresh_token != NULL)
        p = put_member(p, H2O_STRLIT("refresh_token"), refresh_token, rt_len);
    p = put(p, "}", 1);
    *p = '\0';
    *len = (size_t)(p - out);
    return out;
}
