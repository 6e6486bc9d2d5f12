/* Fuzz target: form bodies and query strings, percent-encoding, cookies.
 *
 * Besides "no crash", it checks properties that must hold for every input:
 * decoded strings are NUL-free and NUL-terminated, encoding what was parsed
 * and parsing it again gives the same pairs, and a cookie built from any
 * found value is found again unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/parse.h"

static void check_string(h2o_iovec_t v)
{
    if (v.base == NULL || v.base[v.len] != '\0' || memchr(v.base, '\0', v.len) != NULL)
        abort();
}

static void round_trip(h2o_mem_pool_t *pool, const gw_kvs_t *kvs)
{
    size_t cap = 1, n = 0;
    for (size_t i = 0; i < kvs->count; i++)
        cap += 3 * (kvs->items[i].name.len + kvs->items[i].value.len) + 2;
    char *body = h2o_mem_alloc_pool(pool, cap);
    for (size_t i = 0; i < kvs->count; i++) {
        h2o_iovec_t name = gw_url_encode(pool, kvs->items[i].name.base, kvs->items[i].name.len);
        h2o_iovec_t value = gw_url_encode(pool, kvs->items[i].value.base, kvs->items[i].value.len);
        if (name.len == 0 && value.len == 0)
            continue; /* "=" alone is a pair, but "" is not: skip both */
        if (n > 0)
            body[n++] = '&';
        memcpy(body + n, name.base, name.len);
        n += name.len;
        body[n++] = '=';
        memcpy(body + n, value.base, value.len);
        n += value.len;
    }
    gw_kvs_t again;
    gw_err_t err;
    if (gw_form_parse(pool, body, n, kvs->count, &again, &err) != 0)
        abort();
    size_t j = 0;
    for (size_t i = 0; i < kvs->count; i++) {
        const gw_kv_t *a = &kvs->items[i];
        if (a->name.len == 0 && a->value.len == 0)
            continue;
        const gw_kv_t *b = &again.items[j++];
        if (a->name.len != b->name.len || memcmp(a->name.base, b->name.base, a->name.len) != 0 ||
            a->value.len != b->value.len || memcmp(a->value.base, b->value.base, a->value.len) != 0)
            abort();
    }
    if (j != again.count)
        abort();
}

static void cookies(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    static const char *names[] = {"sid", "__Host-sid", "a", ""};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        h2o_iovec_t v;
        if (!gw_cookie_find(s, len, names[i], &v))
            continue;
        if (v.base < s || v.base + v.len > s + len)
            abort();
        h2o_iovec_t built = gw_cookie_build(pool, "__Host-sid", v, 60, GW_COOKIE_DEFAULT);
        if (built.base == NULL)
            continue; /* the value has bytes a cookie may not carry */
        h2o_iovec_t back;
        if (!gw_cookie_find(built.base, built.len, "__Host-sid", &back) || back.len != v.len ||
            memcmp(back.base, v.base, v.len) != 0 || strstr(built.base, "; Secure") == NULL)
            abort();
    }
    h2o_iovec_t split[2] = {h2o_iovec_init(s, len / 2), h2o_iovec_init(s + len / 2, len - len / 2)};
    h2o_iovec_t v;
    gw_cookie_find_multi(split, 2, "sid", &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    h2o_mem_pool_t pool;
    gw_kvs_t kvs;
    gw_err_t err;
    h2o_mem_init_pool(&pool);
    if (gw_form_parse(&pool, s, size, 64, &kvs, &err) == 0) {
        for (size_t i = 0; i < kvs.count; i++) {
            check_string(kvs.items[i].name);
            check_string(kvs.items[i].value);
        }
        if (kvs.count > 0) {
            h2o_iovec_t once;
            const char *first = kvs.items[0].name.base;
            if (gw_kvs_find(&kvs, first) == NULL)
                abort();
            if (gw_kvs_get_once(&kvs, first, &once, &err) == 0 && once.base != NULL && once.len == 0)
                abort();
        }
        round_trip(&pool, &kvs);
    } else if (err.kind != GW_E_INVALID_REQUEST) {
        abort();
    }
    cookies(&pool, s, size);
    h2o_mem_clear_pool(&pool);
    return 0;
}
