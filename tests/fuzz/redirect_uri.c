/* Fuzz target: redirect-URI registration check and request-time matching
 * (oidc/client_parse.c), and the Basic credentials decoder
 * (oidc/client_creds.c), all fed untrusted bytes.
 *
 * Properties besides "no crash": an accepted URI has no fragment, no
 * userinfo, only printable ASCII and an https or loopback-http scheme; a URI
 * always matches itself; a non-loopback URI matches nothing but itself; its
 * form-action source (oidc_redirect_uri_csp_source) is a prefix of it (its
 * origin, or its scheme and colon) made of characters a CSP source allows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/clients_internal.h"

static void check_accepted(const char *s, size_t n)
{
    if (memchr(s, '#', n) != NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            abort();
    int https = n >= 8 && memcmp(s, "https://", 8) == 0;
    int http = n >= 7 && memcmp(s, "http://", 7) == 0;
    if (!https && !http)
        abort();
    const char *auth = s + (https ? 8 : 7);
    size_t alen = strcspn(auth, "/?");
    if (memchr(auth, '@', alen) != NULL)
        abort();
    if (http && !(strncmp(auth, "127.0.0.1", 9) == 0 || strncmp(auth, "[::1]", 5) == 0 ||
                  strncmp(auth, "localhost", 9) == 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Input: "registered\npresented"; the whole input is also a URI. */
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    size_t n = strlen(s); /* up to the first NUL */
    gw_err_t err;
    if (oidc_redirect_uri_check(s, n, &err) == 0) {
        check_accepted(s, n);
        if (!oidc_redirect_uri_match(s, s, n))
            abort();
        char src[OIDC_CLIENT_URI_MAX + 1];
        size_t k = oidc_redirect_uri_csp_source(s, n, src, sizeof(src));
        if (k == 0 || k != strlen(src) ||
            strspn(src, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789:/.-") != k)
            abort();
        if (memcmp(src, s, k) != 0) /* the origin, or "http:" / "https:" */
            abort();
    }
    char *nl = strchr(s, '\n');
    if (nl != NULL) {
        *nl = '\0';
        const char *presented = nl + 1;
        size_t plen = strlen(presented);
        int m = oidc_redirect_uri_match(s, presented, plen);
        int exact = strlen(s) == plen && memcmp(s, presented, plen) == 0;
        int loop = strncmp(s, "http://127.0.0.1", 16) == 0 || strncmp(s, "http://[::1]", 12) == 0;
        if (m && !exact && !loop)
            abort();
    }

    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    h2o_iovec_t id, secret;
    int rc = oidc_basic_auth_decode(&pool, (const char *)data, size, &id, &secret, &err);
    if (rc == 0 && (id.len == 0 || id.base[id.len] != '\0' || memchr(id.base, '\0', id.len) != NULL ||
                    secret.base[secret.len] != '\0' || memchr(secret.base, '\0', secret.len) != NULL))
        abort();
    h2o_mem_clear_pool(&pool);
    free(s);
    return 0;
}
