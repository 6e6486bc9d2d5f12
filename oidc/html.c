/* HTML output for the sign-in pages: a growing buffer in the request pool and
 * the one escaping function every untrusted string goes through. */
#include <string.h>

#include "oidc/signin_internal.h"

void oidc_html_init(oidc_html_t *h, h2o_mem_pool_t *pool)
{
    h->pool = pool;
    h->cap = 2048;
    h->buf = h2o_mem_alloc_pool(pool, h->cap);
    h->len = 0;
    h->buf[0] = '\0';
}

static void reserve(oidc_html_t *h, size_t more)
{
    if (h->len + more + 1 <= h->cap)
        return;
    size_t cap = h->cap * 2;
    while (cap < h->len + more + 1)
        cap *= 2;
    /* Pool memory is not reallocated; the old block goes with the pool. */
    char *nb = h2o_mem_alloc_pool(h->pool, cap);
    memcpy(nb, h->buf, h->len + 1);
    h->buf = nb;
    h->cap = cap;
}

static void append(oidc_html_t *h, const char *s, size_t n)
{
    reserve(h, n);
    memcpy(h->buf + h->len, s, n);
    h->len += n;
    h->buf[h->len] = '\0';
}

void oidc_html_raw(oidc_html_t *h, const char *s)
{
    append(h, s, strlen(s));
}

void oidc_html_text(oidc_html_t *h, const char *s, size_t n)
{
    if (s == NULL)
        return;
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        case '\0':
            /* Never reached from our parsers (they refuse NUL); dropped rather
             * than emitted, since a NUL is a parse error in HTML. */
            rep = "";
            break;
        default:
            continue;
        }
        append(h, s + from, i - from);
        append(h, rep, strlen(rep));
        from = i + 1;
    }
    append(h, s + from, n - from);
}

int oidc_uuid_ok(const char *s, size_t n)
{
    if (s == NULL || n != OIDC_UUID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}
