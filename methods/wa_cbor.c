/* CBOR for WebAuthn: a bounded well-formedness pass, then libcbor.
 *
 * libcbor 0.8 allocates a definite array or map for the count its header
 * declares before it has seen the entries, so a nine-byte input claiming
 * 2^32 entries would ask for gigabytes. mth_cbor_item_len walks the encoding
 * first and refuses every count and length the input cannot back. */
#include "methods/internal.h"

#include <string.h>

/* Walks the item starting at *pos; 0 and *pos past it, or -1. */
static int scan(const uint8_t *p, size_t len, size_t *pos, unsigned depth, size_t *items)
{
    if (depth > MTH_CBOR_MAX_DEPTH || ++*items > MTH_CBOR_MAX_ITEMS || *pos >= len)
        return -1;
    uint8_t ib = p[(*pos)++];
    unsigned major = ib >> 5, info = ib & 31;
    uint64_t arg = info;
    if (info >= 24 && info <= 27) {
        size_t n = (size_t)1 << (info - 24);
        if (len - *pos < n)
            return -1;
        arg = 0;
        for (size_t i = 0; i < n; i++)
            arg = (arg << 8) | p[*pos + i];
        *pos += n;
    } else if (info > 27) {
        return -1; /* 28-30 reserved; 31 indefinite length, not in CTAP2 canonical CBOR */
    }
    size_t left = len - *pos;
    switch (major) {
    case 0: /* unsigned integer */
    case 1: /* negative integer */
        return 0;
    case 2: /* byte string */
    case 3: /* text string */
        if (arg > left)
            return -1;
        *pos += (size_t)arg;
        return 0;
    case 4: /* array: each element takes at least one byte */
        if (arg > left)
            return -1;
        for (uint64_t i = 0; i < arg; i++)
            if (scan(p, len, pos, depth + 1, items) != 0)
                return -1;
        return 0;
    case 5: /* map: each key and each value takes at least one byte */
        if (arg > left / 2)
            return -1;
        for (uint64_t i = 0; i < 2 * arg; i++)
            if (scan(p, len, pos, depth + 1, items) != 0)
                return -1;
        return 0;
    case 6: /* tags: CTAP2 canonical CBOR has none */
        return -1;
    default: /* 7: false, true, null, undefined and floats only */
        return (info >= 20 && info <= 23) || (info >= 25 && info <= 27) ? 0 : -1;
    }
}

size_t mth_cbor_item_len(const uint8_t *buf, size_t len)
{
    size_t pos = 0, items = 0;
    if (buf == NULL || len == 0 || scan(buf, len, &pos, 0, &items) != 0)
        return 0;
    return pos;
}

cbor_item_t *mth_cbor_load(const uint8_t *buf, size_t len, size_t *used)
{
    size_t n = mth_cbor_item_len(buf, len);
    if (n == 0 || (used == NULL && n != len))
        return NULL;
    struct cbor_load_result res;
    cbor_item_t *item = cbor_load(buf, n, &res);
    if (item == NULL || res.error.code != CBOR_ERR_NONE || res.read != n) {
        if (item != NULL)
            cbor_decref(&item);
        return NULL;
    }
    if (used != NULL)
        *used = n;
    return item;
}

int mth_cbor_int(const cbor_item_t *item, int64_t *out)
{
    if (item == NULL)
        return -1;
    if (cbor_isa_uint(item)) {
        uint64_t v = cbor_get_int(item);
        if (v > INT64_MAX)
            return -1;
        *out = (int64_t)v;
        return 0;
    }
    if (cbor_isa_negint(item)) {
        uint64_t v = cbor_get_int(item); /* the value is -1 - v */
        if (v > INT64_MAX)
            return -1;
        *out = -1 - (int64_t)v;
        return 0;
    }
    return -1;
}

int mth_cbor_bytes(const cbor_item_t *item, const uint8_t **data, size_t *len)
{
    if (item == NULL || !cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item))
        return -1;
    *data = cbor_bytestring_handle(item);
    *len = cbor_bytestring_length(item);
    if (*data == NULL && *len != 0)
        return -1;
    return 0;
}

static int map_find(const cbor_item_t *map, int64_t ikey, const char *skey, cbor_item_t **out)
{
    *out = NULL;
    if (map == NULL || !cbor_isa_map(map))
        return -1;
    struct cbor_pair *pairs = cbor_map_handle(map);
    size_t n = cbor_map_size(map), slen = skey ? strlen(skey) : 0;
    for (size_t i = 0; i < n; i++) {
        const cbor_item_t *k = pairs[i].key;
        int match;
        if (skey != NULL) {
            match = cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) == slen &&
                    (slen == 0 || memcmp(cbor_string_handle(k), skey, slen) == 0);
        } else {
            int64_t v;
            match = mth_cbor_int(k, &v) == 0 && v == ikey;
        }
        if (!match)
            continue;
        if (*out != NULL)
            return -1;
        *out = pairs[i].value;
    }
    return 0;
}

int mth_cbor_map_int(const cbor_item_t *map, int64_t key, cbor_item_t **out)
{
    return map_find(map, key, NULL, out);
}

int mth_cbor_map_str(const cbor_item_t *map, const char *key, cbor_item_t **out)
{
    return map_find(map, 0, key, out);
}
