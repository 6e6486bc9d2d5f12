/* Cookie header parsing and Set-Cookie building (RFC 6265, RFC 6265bis). */
#include "gateway/parse.h"

#include <stdio.h>
#include <string.h>

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

void gw_trim_ows(const char **b, const char **e)
{
    while (*b < *e && is_ows(**b))
        (*b)++;
    while (*e > *b && is_ows((*e)[-1]))
        (*e)--;
}

int gw_cookie_find(const char *header, size_t len, const char *name, h2o_iovec_t *value)
{
    size_t nlen = strlen(name);
    const char *p = header, *end = header + len;
    if (nlen == 0)
        return 0;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *pe = semi ? semi : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        if (eq != NULL) {
            const char *nb = p, *ne = eq, *vb = eq + 1, *ve = pe;
            gw_trim_ows(&nb, &ne);
            if ((size_t)(ne - nb) == nlen && memcmp(nb, name, nlen) == 0) {
                gw_trim_ows(&vb, &ve);
                if (ve - vb >= 2 && vb[0] == '"' && ve[-1] == '"') {
                    vb++;
                    ve--;
                }
                *value = h2o_iovec_init(vb, (size_t)(ve - vb));
                return 1;
            }
        }
        p = pe + (semi ? 1 : 0);
    }
    return 0;
}

int gw_cookie_find_multi(const h2o_iovec_t *headers, size_t count, const char *name, h2o_iovec_t *value)
{
    for (size_t i = 0; i < count; i++)
        if (gw_cookie_find(headers[i].base, headers[i].len, name, value))
            return 1;
    return 0;
}

/* RFC 9110 §5.6.2 tchar */
static int is_tchar(unsigned char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 6265 §4.1.1 cookie-octet: no CTL, whitespace, DQUOTE, comma, semicolon
 * or backslash, so a value can never add an attribute or a second cookie. */
static int is_cookie_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) || (c >= 0x3C && c <= 0x5B) ||
           (c >= 0x5D && c <= 0x7E);
}

h2o_iovec_t gw_cookie_build(h2o_mem_pool_t *pool, const char *name, h2o_iovec_t value,
                            long long max_age_seconds, unsigned flags)
{
    size_t nlen = strlen(name);
    unsigned samesite =
        flags & (GW_COOKIE_SAMESITE_LAX | GW_COOKIE_SAMESITE_STRICT | GW_COOKIE_SAMESITE_NONE);
    /* RFC 6265 §6.1: browsers keep at most 4096 bytes of name and value. */
    if (nlen == 0 || nlen + value.len > 4096 || (samesite & (samesite - 1)) != 0)
        return h2o_iovec_init(NULL, 0);
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)name[i]))
            return h2o_iovec_init(NULL, 0);
    for (size_t i = 0; i < value.len; i++)
        if (!is_cookie_octet((unsigned char)value.base[i]))
            return h2o_iovec_init(NULL, 0);

    /* RFC 6265bis §4.1.3: browsers reject prefixed cookies without Secure
     * (and __Host- also needs Path=/ and no Domain, which always hold here). */
    if (strncmp(name, "__Host-", 7) == 0 || strncmp(name, "__Secure-", 9) == 0 ||
        (flags & GW_COOKIE_SAMESITE_NONE) != 0)
        flags |= GW_COOKIE_SECURE;

    char age[32] = "";
    if (max_age_seconds >= 0)
        snprintf(age, sizeof(age), "; Max-Age=%lld", max_age_seconds);
    const char *ss = (flags & GW_COOKIE_SAMESITE_LAX)      ? "; SameSite=Lax"
                     : (flags & GW_COOKIE_SAMESITE_STRICT) ? "; SameSite=Strict"
                     : (flags & GW_COOKIE_SAMESITE_NONE)   ? "; SameSite=None"
                                                           : "";
    const char *secure = (flags & GW_COOKIE_SECURE) ? "; Secure" : "";
    const char *httponly = (flags & GW_COOKIE_HTTPONLY) ? "; HttpOnly" : "";

    size_t cap = nlen + 1 + value.len + sizeof("; Path=/") + strlen(age) + strlen(secure) + strlen(httponly) +
                 strlen(ss) + 1;
    char *buf = h2o_mem_alloc_pool(pool, cap);
    int n = snprintf(buf, cap, "%s=%.*s; Path=/%s%s%s%s", name, (int)value.len, value.base ? value.base : "",
                     age, secure, httponly, ss);
    return h2o_iovec_init(buf, (size_t)n);
}
