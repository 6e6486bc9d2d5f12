/* application/x-www-form-urlencoded and query strings; percent-encoding. */
#include "gateway/parse.h"

#include <string.h>

int gw_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. Overlong encodings are how "%C0%AF" once became '/' past filters. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t extra;
        unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return 0;
        }
        if (n - i - 1 < extra)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= extra; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += extra + 1;
    }
    return 1;
}

/* Decode s[0..n) into dst (room for n bytes) and NUL-terminate it. The
 * UTF-8 check runs only when a byte from 0x80 up came out: ASCII is UTF-8,
 * and the parameters of a token request are ASCII. */
static int decode_component(const char *s, size_t n, char *dst, h2o_iovec_t *out, gw_err_t *err)
{
    size_t o = 0;
    unsigned char high = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int h, l;
            if (n - i < 3 || (h = gw_hex_digit(s[i + 1])) < 0 || (l = gw_hex_digit(s[i + 2])) < 0)
                return GW_ERR(err, GW_E_INVALID_REQUEST, "malformed percent-encoding in parameter");
            c = (unsigned char)(h << 4 | l);
            i += 2;
        }
        if (c == '\0')
            return GW_ERR(err, GW_E_INVALID_REQUEST, "NUL byte in parameter");
        high |= c;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    if ((high & 0x80) != 0 && !utf8_valid((const unsigned char *)dst, o))
        return GW_ERR(err, GW_E_INVALID_REQUEST, "parameter is not valid UTF-8");
    *out = h2o_iovec_init(dst, o);
    return 0;
}

int gw_form_parse(h2o_mem_pool_t *pool, const char *s, size_t len, size_t max_params, gw_kvs_t *out,
                  gw_err_t *err)
{
    out->items = NULL;
    out->count = 0;
    if (len > 0 && s[0] == '?') {
        s++;
        len--;
    }

    /* Count first, so an attacker's 100,000 pairs cost one scan, not memory. */
    size_t pairs = 0;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end > i && ++pairs > max_params)
            return GW_ERR(err, GW_E_INVALID_REQUEST, "too many parameters");
        i = end + 1;
    }
    if (pairs == 0)
        return 0;

    gw_kv_t *items = h2o_mem_alloc_pool(pool, sizeof(*items) * pairs);
    /* Decoded text is never longer than its source; one NUL per component. */
    char *text = h2o_mem_alloc_pool(pool, len + 2 * pairs);
    size_t count = 0;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;
        if (end > i) {
            const char *pair = s + i;
            size_t plen = end - i;
            const char *eq = memchr(pair, '=', plen);
            size_t nlen = eq ? (size_t)(eq - pair) : plen;
            const char *val = eq ? eq + 1 : pair + plen;
            size_t vlen = eq ? plen - nlen - 1 : 0;
            if (decode_component(pair, nlen, text, &items[count].name, err) != 0)
                return -1;
            text += items[count].name.len + 1;
            if (decode_component(val, vlen, text, &items[count].value, err) != 0)
                return -1;
            text += items[count].value.len + 1;
            count++;
        }
        i = end + 1;
    }
    out->items = items;
    out->count = count;
    return 0;
}

static int name_is(const h2o_iovec_t *v, const char *name, size_t nlen)
{
    return v->len == nlen && memcmp(v->base, name, nlen) == 0;
}

const h2o_iovec_t *gw_kvs_find(const gw_kvs_t *kvs, const char *name)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < kvs->count; i++)
        if (name_is(&kvs->items[i].name, name, nlen))
            return &kvs->items[i].value;
    return NULL;
}

int gw_kvs_get_once(const gw_kvs_t *kvs, const char *name, h2o_iovec_t *value, gw_err_t *err)
{
    size_t nlen = strlen(name);
    *value = h2o_iovec_init(NULL, 0);
    for (size_t i = 0; i < kvs->count; i++) {
        if (!name_is(&kvs->items[i].name, name, nlen) || kvs->items[i].value.len == 0)
            continue;
        if (value->base != NULL) {
            *value = h2o_iovec_init(NULL, 0);
            return GW_ERRF(err, GW_E_INVALID_REQUEST, "parameter %.64s repeated", name);
        }
        *value = kvs->items[i].value;
    }
    return 0;
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

h2o_iovec_t gw_url_encode(h2o_mem_pool_t *pool, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t outlen = 0;
    for (size_t i = 0; i < n; i++)
        outlen += is_unreserved((unsigned char)s[i]) ? 1 : 3;
    char *dst = h2o_mem_alloc_pool(pool, outlen + 1), *p = dst;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c)) {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xF];
        }
    }
    *p = '\0';
    return h2o_iovec_init(dst, outlen);
}
