/* HTTP/2 response headers: the request id stays out of the HPACK dynamic
 * table.
 *
 * h2o 2.2.5 adds every response header it encodes to the connection's
 * dynamic table (RFC 7541 §6.2.1), at most 32 entries, searched one by one
 * for each header of each response. The request id is new on every
 * response, so each response added an entry no later one could use: the
 * table stayed full, the headers that never change (server, content-type,
 * cache-control, nosniff, ...) were evicted over and over and re-sent as
 * literals, and every header's search walked all 32 entries. Measured with
 * callgrind under h2load (-c16 -m10, GET /.well-known/openid-configuration
 * over h2c): a third of regain's user-space instructions per request, and
 * the client pays the same churn decoding.
 *
 * h2o 2.2.5 offers no per-header choice (later releases have one), so regain
 * defines h2o_hpack_flatten_response, which libh2o calls through its PLT:
 * the executable's definition takes precedence (ELF symbol interposition).
 * It hands h2o the header list without the request id, lets h2o's own
 * encoder (found with dlsym(RTLD_NEXT)) write the HEADERS frame as before,
 * and appends the id to that frame as a literal without indexing
 * (RFC 7541 §6.2.2), which leaves both ends' tables alone.
 *
 * Appending needs the frame to be one HEADERS frame with END_HEADERS; h2o
 * splits into CONTINUATION frames only past the peer's frame size (at least
 * 16,384 bytes), so header lists that could come near it are passed to h2o
 * unchanged. gw_hpack_unique_install() checks at start that the wrapper is
 * the function libh2o will call and that h2o's own is there. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/internal.h"

/* h2o/http2_internal.h declares it but needs headers Debian does not ship
 * (khash.h); the table is only passed through, so it stays incomplete. */
struct st_h2o_hpack_header_table_t;
void h2o_hpack_flatten_response(h2o_buffer_t **buf, struct st_h2o_hpack_header_table_t *header_table,
                                uint32_t stream_id, size_t max_frame_size, h2o_res_t *res,
                                h2o_timestamp_t *ts, const h2o_iovec_t *server_name, size_t content_length);

typedef void (*flatten_fn)(h2o_buffer_t **buf, struct st_h2o_hpack_header_table_t *header_table,
                           uint32_t stream_id, size_t max_frame_size, h2o_res_t *res, h2o_timestamp_t *ts,
                           const h2o_iovec_t *server_name, size_t content_length);

static flatten_fn g_h2o_flatten;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
    /* POSIX: a data pointer from dlsym converts to a function pointer. */
    void *p = dlsym(RTLD_NEXT, "h2o_hpack_flatten_response");
    memcpy(&g_h2o_flatten, &p, sizeof(g_h2o_flatten));
}

/* RFC 9113 §4.1, §6.2: the frame header, the HEADERS type and its flag. */
#define FRAME_HEADER_SIZE  9
#define FRAME_TYPE_HEADERS 0x1
#define FLAG_END_HEADERS   0x4

/* Room for :status, date, content-length and the frame header, beyond the
 * names and values; each header: a first byte and two lengths of at most 5
 * bytes (RFC 7541 §5.1 with a 32-bit length). */
#define FIXED_HEADROOM  128
#define STRING_HEADROOM 11

static int is_request_id(const h2o_header_t *h)
{
    return h->name->len == sizeof(GW_REQUEST_ID_HEADER) - 1 &&
           memcmp(h->name->base, GW_REQUEST_ID_HEADER, sizeof(GW_REQUEST_ID_HEADER) - 1) == 0;
}

/* RFC 7541 §5.2: a string literal without Huffman coding (the id is short;
 * raw bytes cost neither end a Huffman pass), its length an integer with a
 * 7-bit prefix (§5.1). */
static uint8_t *put_string(uint8_t *p, const char *s, size_t len)
{
    size_t n = len;
    if (n < 127) {
        *p++ = (uint8_t)n;
    } else {
        *p++ = 127;
        n -= 127;
        while (n >= 128) {
            *p++ = (uint8_t)(0x80 | (n & 0x7f));
            n >>= 7;
        }
        *p++ = (uint8_t)n;
    }
    memcpy(p, s, len);
    return p + len;
}

void h2o_hpack_flatten_response(h2o_buffer_t **buf, struct st_h2o_hpack_header_table_t *header_table,
                                uint32_t stream_id, size_t max_frame_size, h2o_res_t *res,
                                h2o_timestamp_t *ts, const h2o_iovec_t *server_name, size_t content_length)
{
    pthread_once(&g_once, resolve);
    h2o_headers_t *hs = &res->headers;
    size_t id_at = SIZE_MAX, bound = FIXED_HEADROOM + server_name->len;
    for (size_t i = 0; i < hs->size; i++) {
        const h2o_header_t *h = &hs->entries[i];
        bound += h->name->len + h->value.len + STRING_HEADROOM;
        if (id_at == SIZE_MAX && is_request_id(h))
            id_at = i;
    }
    if (id_at == SIZE_MAX || bound > max_frame_size) {
        g_h2o_flatten(buf, header_table, stream_id, max_frame_size, res, ts, server_name, content_length);
        return;
    }

    /* h2o encodes the list without the id; the list is restored after. */
    h2o_header_t id = hs->entries[id_at];
    memmove(&hs->entries[id_at], &hs->entries[id_at + 1], (hs->size - id_at - 1) * sizeof(h2o_header_t));
    hs->size--;
    size_t start = (*buf)->size;
    g_h2o_flatten(buf, header_table, stream_id, max_frame_size, res, ts, server_name, content_length);
    memmove(&hs->entries[id_at + 1], &hs->entries[id_at], (hs->size - id_at) * sizeof(h2o_header_t));
    hs->entries[id_at] = id;
    hs->size++;

    const uint8_t *f = (const uint8_t *)(*buf)->bytes + start;
    size_t payload = (*buf)->size - start - FRAME_HEADER_SIZE;
    if (((size_t)f[0] << 16 | (size_t)f[1] << 8 | f[2]) != payload || f[3] != FRAME_TYPE_HEADERS ||
        !(f[4] & FLAG_END_HEADERS)) {
        /* Unreachable with the bound above; appending now would corrupt the
         * connection for every stream on it. */
        fprintf(stderr, "regain: h2o wrote an unexpected HEADERS frame layout\n");
        abort();
    }
    h2o_iovec_t room = h2o_buffer_reserve(buf, 1 + id.name->len + id.value.len + STRING_HEADROOM);
    uint8_t *p = (uint8_t *)room.base;
    *p++ = 0x00; /* §6.2.2: literal header field without indexing, new name */
    p = put_string(p, id.name->base, id.name->len);
    p = put_string(p, id.value.base, id.value.len);
    size_t added = (size_t)(p - (uint8_t *)room.base);
    (*buf)->size += added;
    payload += added;
    uint8_t *frame = (uint8_t *)(*buf)->bytes + start; /* the reserve may have moved the buffer */
    frame[0] = (uint8_t)(payload >> 16);
    frame[1] = (uint8_t)(payload >> 8);
    frame[2] = (uint8_t)payload;
}

int gw_hpack_unique_install(char *msg, size_t msgsize)
{
    pthread_once(&g_once, resolve);
    void *called = dlsym(RTLD_DEFAULT, "h2o_hpack_flatten_response");
    void *ours = NULL;
    flatten_fn self = h2o_hpack_flatten_response;
    memcpy(&ours, &self, sizeof(ours));
    if (called != ours) {
        snprintf(msg, msgsize,
                 "HTTP/2: libh2o does not call regain's h2o_hpack_flatten_response; request ids "
                 "churn the HPACK table (slower, still correct)");
        return 1;
    }
    if (g_h2o_flatten == NULL) {
        snprintf(msg, msgsize, "HTTP/2: h2o's own h2o_hpack_flatten_response not found: %s", dlerror());
        return -1;
    }
    return 0;
}
