/* The JSON body of a successful token response (RFC 6749 §5.1, OIDC Core
 * §3.1.3.3), through the JSON writer, which copies the tokens' plain runs
 * whole (gateway/json_write.c). */
#include <stdlib.h>

#include "gateway/alloc.h"
#include "oidc/tokens_internal.h"

char *oidc_token_response_json(const char *access_token, int64_t expires_in, const char *scope,
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
