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

/* HTML5 escapes for text and attribute values (both quote kinds), so one
 * function serves every place a value lands in a page. */
static const char *html_entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    case '\0':
        /* Never reached from our parsers (they refuse NUL); dropped rather
         * than emitted, since a NUL is a parse error in HTML. */
        return "";
    default:
        return NULL;
    }
}

void oidc_html_text(oidc_html_t *h, const char *s, size_t n)
{
    if (s == NULL)
        return;
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = html_entity(s[i]);
        if (rep == NULL)
            continue;
        append(h, s + from, i - from);
        append(h, rep, strlen(rep));
        from = i + 1;
    }
    append(h, s + from, n - from);
}

h2o_iovec_t oidc_html_escape(h2o_mem_pool_t *pool, const char *s, size_t n)
{
    char *out = h2o_mem_alloc_pool(pool, 6 * n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = html_entity(s[i]);
        if (rep == NULL) {
            out[o++] = s[i];
            continue;
        }
        size_t k = strlen(rep);
        memcpy(out + o, rep, k);
        o += k;
    }
    out[o] = '\0';
    return h2o_iovec_init(out, o);
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
