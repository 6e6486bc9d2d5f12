/* JSON writer.
 *
 * It writes what yajl_gen 2.1 (no beautify, UTF-8 validation on) wrote
 * before it, byte for byte - tests/unit/json_write_yajl.c compares the two
 * on random input - but into its own buffer: yajl_gen validated and escaped
 * each string one byte at a time through a switch and formatted integers
 * with sprintf, which was most of the cost of building a token's claims.
 * A run of printable ASCII without '"' or '\\' (all of a token, an id or a
 * URL) is copied whole.
 *
 * yajl_gen validated UTF-8 but not structure (in 2.1 a map close after a
 * key printed "{"a"}"), so the writer keeps its own stack of open
 * containers and whether a key or a value comes next, and fails instead of
 * emitting invalid JSON. */
#include "gateway/json.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h> /* its status codes, kept for the error detail */

#include "gateway/alloc.h"

#define JW_MAX_DEPTH 128 /* yajl_gen's own limit (YAJL_MAX_DEPTH) */
#define JW_FIRST_CAP 512

struct gw_jw {
    char *buf;
    size_t len, cap;
    const char *failure; /* first problem, or NULL */
    int gen_status;      /* the yajl_gen_status yajl_gen gave for it, or 0 */
    int done;            /* a complete top-level value was written */
    unsigned depth;
    unsigned char in_object[JW_MAX_DEPTH];
    unsigned char want_key[JW_MAX_DEPTH]; /* per open object: key comes next */
    unsigned char has_item[JW_MAX_DEPTH]; /* per open container: a comma before the next */
};

/* 1 for the bytes that stand in a JSON string as they are (RFC 8259 §7):
 * printable ASCII but '"' and '\\'. Control characters are escaped; bytes
 * from 0x7f up go through the UTF-8 check. */
static const unsigned char PLAIN[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 70 */
};

#define ONES  0x0101010101010101u
#define HIGHS 0x8080808080808080u

/* Length of the run of PLAIN bytes that `s` starts with. Eight bytes at a
 * time while no byte of the word is below 0x20, above 0x7e, '"' or '\\'
 * (the classic "has a byte less than / equal to" bit tricks), then PLAIN:
 * the strings are mostly signed tokens of 500 to 900 characters. */
size_t gw_json_plain_prefix(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t x, q, b;
        memcpy(&x, s + i, 8);
        q = x ^ (ONES * '"');
        b = x ^ (ONES * '\\');
        uint64_t bad = ((x - ONES * 0x20) & ~x) |         /* a byte below 0x20 */
                       ((x + ONES * (0x80 - 0x7f)) | x) | /* one above 0x7e */
                       ((q - ONES) & ~q) | ((b - ONES) & ~b);
        if ((bad & HIGHS) != 0)
            break;
    }
    while (i < n && PLAIN[s[i]])
        i++;
    return i;
}

gw_jw_t *gw_jw_new(void)
{
    gw_jw_t *w = gw_malloc(sizeof(*w));
    w->buf = gw_malloc(JW_FIRST_CAP);
    w->len = 0;
    w->cap = JW_FIRST_CAP;
    w->failure = NULL;
    w->gen_status = 0;
    w->done = 0;
    w->depth = 0; /* the per-level arrays are written before they are read */
    return w;
}

void gw_jw_free(gw_jw_t *w)
{
    if (w == NULL)
        return;
    free(w->buf);
    free(w);
}

/* Room for `n` more bytes. */
static char *reserve(gw_jw_t *w, size_t n)
{
    if (w->cap - w->len < n) {
        size_t cap = w->cap;
        while (cap - w->len < n)
            cap *= 2;
        w->buf = gw_realloc(w->buf, cap);
        w->cap = cap;
    }
    return w->buf + w->len;
}

static void put(gw_jw_t *w, const char *s, size_t n)
{
    memcpy(reserve(w, n), s, n);
    w->len += n;
}

static void put_char(gw_jw_t *w, char c)
{
    *reserve(w, 1) = c;
    w->len++;
}

static void set_failure(gw_jw_t *w, const char *why, int status)
{
    if (w->failure == NULL) {
        w->failure = why;
        w->gen_status = status;
    }
}

/* May a value be written now? */
static int value_allowed(gw_jw_t *w)
{
    if (w->failure != NULL)
        return 0;
    if (w->depth == 0) {
        if (w->done) {
            set_failure(w, "value after the end of the document", 0);
            return 0;
        }
        return 1;
    }
    if (w->in_object[w->depth - 1] && w->want_key[w->depth - 1]) {
        set_failure(w, "value where a key belongs", 0);
        return 0;
    }
    return 1;
}

/* The separator before a value: a comma between array elements (an object's
 * value follows its key's colon). */
static void value_sep(gw_jw_t *w)
{
    if (w->depth == 0 || w->in_object[w->depth - 1])
        return;
    if (w->has_item[w->depth - 1])
        put_char(w, ',');
    w->has_item[w->depth - 1] = 1;
}

/* Record that a value (scalar, or a container just closed) was written. */
static void value_written(gw_jw_t *w)
{
    if (w->depth == 0)
        w->done = 1;
    else if (w->in_object[w->depth - 1])
        w->want_key[w->depth - 1] = 1;
}

/* yajl_string_validate_utf8's rule: a lead byte 110xxxxx, 1110xxxx or
 * 11110xxx followed by that many 10xxxxxx bytes; nothing else above 0x7f.
 * (Like yajl, overlong forms and surrogates pass.) */
static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i++];
        size_t more;
        if (c <= 0x7f)
            continue;
        if ((c >> 5) == 0x6)
            more = 1;
        else if ((c >> 4) == 0xe)
            more = 2;
        else if ((c >> 3) == 0x1e)
            more = 3;
        else
            return 0;
        if (n - i < more)
            return 0;
        for (; more > 0; more--)
            if ((s[i++] >> 6) != 0x2)
                return 0;
    }
    return 1;
}

/* A quoted string, escaped as yajl_string_encode does (solidus unescaped,
 * \u00XX in upper case for the control characters without a short form).
 * Fails, writing nothing, when `s` is not UTF-8 by utf8_ok. */
static int put_string(gw_jw_t *w, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = gw_json_plain_prefix(str, n);
    if (i < n && !utf8_ok(s + i, n - i))
        return -1;
    /* The exact length: a long string with one escape must not reserve six
     * bytes for each of its others. */
    size_t out_len = 2 + n;
    for (size_t j = i; j < n; j++) {
        unsigned char c = s[j];
        if (!PLAIN[c] && c < 0x7f)
            out_len += c == '"' || c == '\\' || c == '\r' || c == '\n' || c == '\f' || c == '\b' || c == '\t'
                           ? 1
                           : 5;
    }
    char *p = reserve(w, out_len), *start = p;
    *p++ = '"';
    memcpy(p, str, i);
    p += i;
    static const char HEX[] = "0123456789ABCDEF";
    for (; i < n; i++) {
        unsigned char c = s[i];
        if (PLAIN[c] || c >= 0x7f) {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *p++ = (char)c;
            break;
        case '\r':
            *p++ = 'r';
            break;
        case '\n':
            *p++ = 'n';
            break;
        case '\f':
            *p++ = 'f';
            break;
        case '\b':
            *p++ = 'b';
            break;
        case '\t':
            *p++ = 't';
            break;
        default:
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = HEX[c >> 4];
            *p++ = HEX[c & 15];
        }
    }
    *p++ = '"';
    w->len += (size_t)(p - start);
    return 0;
}

static void open_container(gw_jw_t *w, int object)
{
    if (!value_allowed(w))
        return;
    if (w->depth == JW_MAX_DEPTH) {
        set_failure(w, "nested too deeply", 0);
        return;
    }
    value_sep(w);
    put_char(w, object ? '{' : '[');
    w->in_object[w->depth] = (unsigned char)object;
    w->want_key[w->depth] = 1;
    w->has_item[w->depth] = 0;
    w->depth++;
}

static void close_container(gw_jw_t *w, int object)
{
    if (w->failure != NULL)
        return;
    if (w->depth == 0 || w->in_object[w->depth - 1] != object) {
        set_failure(w, "close does not match an open", 0);
        return;
    }
    if (object && !w->want_key[w->depth - 1]) {
        set_failure(w, "key without a value", 0);
        return;
    }
    put_char(w, object ? '}' : ']');
    w->depth--;
    value_written(w);
}

void gw_jw_obj_open(gw_jw_t *w)
{
    open_container(w, 1);
}

void gw_jw_obj_close(gw_jw_t *w)
{
    close_container(w, 1);
}

void gw_jw_arr_open(gw_jw_t *w)
{
    open_container(w, 0);
}

void gw_jw_arr_close(gw_jw_t *w)
{
    close_container(w, 0);
}

void gw_jw_keyn(gw_jw_t *w, const char *key, size_t n)
{
    if (w->failure != NULL)
        return;
    if (w->depth == 0 || !w->in_object[w->depth - 1] || !w->want_key[w->depth - 1]) {
        set_failure(w, "key outside an object or after a key", 0);
        return;
    }
    size_t mark = w->len;
    if (w->has_item[w->depth - 1])
        put_char(w, ',');
    if (put_string(w, key ? key : "", key ? n : 0) != 0) {
        w->len = mark;
        set_failure(w, "string is not valid UTF-8", yajl_gen_invalid_string);
        return;
    }
    put_char(w, ':');
    w->has_item[w->depth - 1] = 1;
    w->want_key[w->depth - 1] = 0;
}

void gw_jw_key(gw_jw_t *w, const char *key)
{
    gw_jw_keyn(w, key, key ? strlen(key) : 0);
}

void gw_jw_strn(gw_jw_t *w, const char *s, size_t n)
{
    if (!value_allowed(w))
        return;
    size_t mark = w->len;
    value_sep(w);
    if (put_string(w, s ? s : "", s ? n : 0) != 0) {
        w->len = mark;
        set_failure(w, "string is not valid UTF-8", yajl_gen_invalid_string);
        return;
    }
    value_written(w);
}

void gw_jw_str(gw_jw_t *w, const char *s)
{
    if (s == NULL)
        gw_jw_null(w);
    else
        gw_jw_strn(w, s, strlen(s));
}

/* A scalar's text, verbatim. */
static void put_value(gw_jw_t *w, const char *text, size_t n)
{
    if (!value_allowed(w))
        return;
    value_sep(w);
    put(w, text, n);
    value_written(w);
}

void gw_jw_int64(gw_jw_t *w, int64_t v)
{
    /* As "%lld" prints it; the magnitude as unsigned, so INT64_MIN works. */
    char digits[24], *p = digits + sizeof(digits);
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + m % 10);
        m /= 10;
    } while (m != 0);
    if (v < 0)
        *--p = '-';
    put_value(w, p, (size_t)(digits + sizeof(digits) - p));
}

void gw_jw_bool(gw_jw_t *w, bool v)
{
    if (v)
        put_value(w, "true", 4);
    else
        put_value(w, "false", 5);
}

void gw_jw_null(gw_jw_t *w)
{
    put_value(w, "null", 4);
}

void gw_jw_raw(gw_jw_t *w, const char *json, size_t n)
{
    if (!value_allowed(w))
        return;
    if (json == NULL || n == 0) {
        set_failure(w, "empty raw JSON", 0);
        return;
    }
    put_value(w, json, n);
}

void gw_jw_kv_str(gw_jw_t *w, const char *key, const char *value)
{
    gw_jw_key(w, key);
    gw_jw_str(w, value);
}

void gw_jw_kv_strn(gw_jw_t *w, const char *key, const char *value, size_t n)
{
    gw_jw_key(w, key);
    gw_jw_strn(w, value, n);
}

void gw_jw_kv_int64(gw_jw_t *w, const char *key, int64_t v)
{
    gw_jw_key(w, key);
    gw_jw_int64(w, v);
}

void gw_jw_kv_bool(gw_jw_t *w, const char *key, bool v)
{
    gw_jw_key(w, key);
    gw_jw_bool(w, v);
}

void gw_jw_kv_null(gw_jw_t *w, const char *key)
{
    gw_jw_key(w, key);
    gw_jw_null(w);
}

void gw_jw_kv_raw(gw_jw_t *w, const char *key, const char *json, size_t n)
{
    gw_jw_key(w, key);
    gw_jw_raw(w, json, n);
}

const char *gw_jw_buf(gw_jw_t *w, size_t *len)
{
    *len = 0;
    if (w->failure != NULL)
        return NULL;
    if (!w->done) {
        set_failure(w, "document incomplete", 0);
        return NULL;
    }
    *len = w->len;
    return w->buf;
}

int gw_jw_error(const gw_jw_t *w, gw_err_t *err)
{
    if (w->failure == NULL)
        return 0;
    GW_ERR(err, GW_E_INTERNAL, "could not encode response");
    gw_err_detail(err, "json writer: %s (yajl_gen status %d)", w->failure, w->gen_status);
    return -1;
}
