/* gzip for bodies that are sent many times unchanged (the discovery
 * document, the JWKS): compressed once when the body is made, and sent to
 * every client whose Accept-Encoding takes gzip (RFC 9110 §8.4, §12.5.3).
 *
 * Relying parties fetch these documents with gzip on offer (Node's fetch,
 * Python's requests, browsers). The discovery document shrinks from about
 * 1.9 kB to about 0.6 kB: fewer bytes to encrypt, copy and send on every
 * fetch, for one deflate at start. Bodies that change per request are not
 * compressed (compressing each costs more than the bytes it saves, and
 * compressing secrets beside attacker-chosen text invites BREACH). */
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "gateway/alloc.h"
#include "gateway/internal.h"
#include "gateway/parse.h"

/* Past this, an Accept-Encoding value is not read (identity is sent): real
 * ones are a few dozen bytes. */
#define ACCEPT_ENCODING_MAX 1024

int gw_gzip_encode(const char *in, size_t len, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* windowBits 15 + 16: the gzip wrapper (RFC 1952) around the deflate data. */
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong cap = deflateBound(&z, (uLong)len);
    char *buf = gw_malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END || n >= len) {
        free(buf); /* a body gzip does not shrink is sent as it is */
        return -1;
    }
    *out = gw_realloc(buf, n);
    *out_len = n;
    return 0;
}

void gw_codings_init(gw_codings_t *c, const char *body, size_t len)
{
    c->body = body;
    c->len = len;
    if (gw_gzip_encode(body, len, &c->gzip, &c->gzip_len) != 0) {
        c->gzip = NULL;
        c->gzip_len = 0;
    }
}

void gw_codings_dispose(gw_codings_t *c)
{
    free(c->gzip);
    c->gzip = NULL;
    c->gzip_len = 0;
}

/* RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
 * In thousandths, or -1 when it is not one. */
static int qvalue(const char *s, const char *e)
{
    if (s == e || (*s != '0' && *s != '1'))
        return -1;
    int q = (*s - '0') * 1000, scale = 100;
    s++;
    if (s == e)
        return q;
    if (*s++ != '.' || e - s > 3)
        return -1;
    for (; s < e; s++, scale /= 10) {
        if (*s < '0' || *s > '9')
            return -1;
        q += (*s - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* One element "coding [ OWS ; OWS q=qvalue ]": its coding and weight; the
 * weight is -1 for an element that does not parse (it then counts for
 * nothing). Other parameters are not defined for Accept-Encoding. */
static int element_weight(const char *s, const char *e, const char **coding_end)
{
    const char *semi = memchr(s, ';', (size_t)(e - s));
    const char *ce = semi != NULL ? semi : e;
    gw_trim_ows(&s, &ce);
    *coding_end = ce;
    if (semi == NULL)
        return 1000;
    const char *p = semi + 1, *pe = e;
    gw_trim_ows(&p, &pe);
    if (pe - p < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
        return -1;
    return qvalue(p + 2, pe);
}

static int coding_is(const char *s, const char *e, const char *name)
{
    size_t n = strlen(name);
    return (size_t)(e - s) == n && strncasecmp(s, name, n) == 0;
}

/* RFC 9110 §12.5.3: gzip is acceptable when an element names it (or
 * "x-gzip", §8.4.1.3) with a weight above 0, or, named nowhere, "*" has a
 * weight above 0. Without the header, or with an empty one, identity is
 * sent: any coding would be allowed then, but a client that says nothing
 * may not decode one. */
int gw_accepts_gzip(const char *v, size_t len)
{
    if (len > ACCEPT_ENCODING_MAX)
        return 0;
    int gzip = -1, star = -1; /* weights seen; -1: not named */
    const char *end = v + len;
    while (v < end) {
        const char *comma = memchr(v, ',', (size_t)(end - v));
        const char *ee = comma != NULL ? comma : end;
        const char *s = v, *cs;
        gw_trim_ows(&s, &ee);
        if (s < ee) {
            int w = element_weight(s, ee, &cs);
            int *slot = coding_is(s, cs, "gzip") || coding_is(s, cs, "x-gzip") ? &gzip
                        : coding_is(s, cs, "*")                                ? &star
                                                                               : NULL;
            /* A coding named twice: the last weight that parses counts. */
            if (slot != NULL && w >= 0)
                *slot = w;
            else if (slot != NULL && *slot < 0)
                *slot = 0;
        }
        v = comma != NULL ? comma + 1 : end;
    }
    return gzip >= 0 ? gzip > 0 : star > 0;
}

/* Every Accept-Encoding field of the request, as one list (RFC 9110 §5.3). */
static int request_accepts_gzip(h2o_req_t *req)
{
    ssize_t i = -1;
    int seen = 0;
    char joined[ACCEPT_ENCODING_MAX + 1];
    size_t n = 0;
    while ((i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_ENCODING, i)) != -1) {
        const h2o_iovec_t *val = &req->headers.entries[i].value;
        if (n + seen + val->len > ACCEPT_ENCODING_MAX)
            return 0;
        if (seen++)
            joined[n++] = ',';
        memcpy(joined + n, val->base, val->len);
        n += val->len;
    }
    return seen && gw_accepts_gzip(joined, n);
}

void gw_reply_codings(gw_req_t *r, int status, const char *content_type, const gw_codings_t *c,
                      void (*release)(void *arg), void *arg)
{
    h2o_req_t *req = r->req;
    if (req == NULL || r->replied || c->gzip == NULL) {
        gw_reply_borrowed(r, status, content_type, c->body, c->len, release, arg);
        return;
    }
    /* Caches keep one copy per coding (RFC 9110 §12.5.5). */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("accept-encoding"));
    if (!request_accepts_gzip(req)) {
        gw_reply_borrowed(r, status, content_type, c->body, c->len, release, arg);
        return;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_ENCODING, NULL, H2O_STRLIT("gzip"));
    gw_reply_borrowed(r, status, content_type, c->gzip, c->gzip_len, release, arg);
}
