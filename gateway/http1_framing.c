/* HTTP/1.1 request framing that two parsers could read two ways is refused,
 * and so is a head without exactly one Host (HTTP/1.0: at most one).
 *
 * RFC 9112 §6.1: a server that gets both Content-Length and
 * Transfer-Encoding "MUST close the connection after responding to such a
 * request"; §6.3 (5): Content-Length fields with differing values make the
 * framing invalid, and the server "MUST respond with a 400 (Bad Request)
 * status code and then close the connection". h2o 2.2.5 takes the chunked
 * body, or the first length, and goes on reading requests on the
 * connection: behind a proxy that framed the body by the other reading, the
 * bytes after it are a second, smuggled request. Neither header reaches a
 * handler (h2o consumes both), so the check sits where h2o parses the head.
 *
 * As with gateway/hpack_unique.c, regain defines phr_parse_request, which
 * libh2o calls through its PLT: the executable's definition takes
 * precedence. It runs picohttpparser's own (found with dlsym(RTLD_NEXT)) and
 * reports a parse error for such a head; h2o answers that with its 400 and
 * closes the connection. gw_http1_framing_install() checks at start that
 * this wrapper is the one libh2o calls. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gateway/internal.h"

/* picohttpparser.h is not installed with libh2o; this is its layout. */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
                      size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
                      size_t last_len);

typedef int (*parse_fn)(const char *, size_t, const char **, size_t *, const char **, size_t *, int *,
                        struct phr_header *, size_t *, size_t);

static parse_fn g_phr_parse;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
    /* POSIX: a data pointer from dlsym converts to a function pointer. */
    void *p = dlsym(RTLD_NEXT, "phr_parse_request");
    memcpy(&g_phr_parse, &p, sizeof(g_phr_parse));
}

static int name_is(const struct phr_header *h, const char *name, size_t n)
{
    return h->name != NULL && h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

/* Both Content-Length and Transfer-Encoding, or Content-Length fields that
 * differ (a repeated equal value is one length, §6.3 (5) allows it). */
static int framing_ambiguous(const struct phr_header *headers, size_t n)
{
    const struct phr_header *length = NULL;
    int chunked = 0;
    for (size_t i = 0; i < n; i++) {
        if (name_is(&headers[i], "transfer-encoding", 17)) {
            chunked = 1;
        } else if (name_is(&headers[i], "content-length", 14)) {
            if (length != NULL && (length->value_len != headers[i].value_len ||
                                   memcmp(length->value, headers[i].value, length->value_len) != 0))
                return 1;
            length = &headers[i];
        }
    }
    return chunked && length != NULL;
}

/* RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status
 * code to any HTTP/1.1 request message that lacks a Host header field and to
 * any request message that contains more than one Host header field line";
 * two Hosts are two readings of which site is meant. */
static int host_wrong(const struct phr_header *headers, size_t n, int minor_version)
{
    int hosts = 0;
    for (size_t i = 0; i < n; i++)
        hosts += name_is(&headers[i], "host", 4);
    return hosts > 1 || (hosts == 0 && minor_version >= 1);
}

int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
                      size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
                      size_t last_len)
{
    pthread_once(&g_once, resolve);
    int rc = g_phr_parse(buf, len, method, method_len, path, path_len, minor_version, headers, num_headers,
                         last_len);
    if (rc > 0 &&
        (framing_ambiguous(headers, *num_headers) || host_wrong(headers, *num_headers, *minor_version)))
        return -1;
    return rc;
}

int gw_http1_framing_install(char *msg, size_t msgsize)
{
    pthread_once(&g_once, resolve);
    void *called = dlsym(RTLD_DEFAULT, "phr_parse_request");
    void *ours = NULL;
    parse_fn self = phr_parse_request;
    memcpy(&ours, &self, sizeof(ours));
    if (called != ours || g_phr_parse == NULL) {
        snprintf(msg, msgsize, "HTTP/1.1: cannot check request framing (phr_parse_request %s)",
                 called != ours ? "is not regain's" : "not found in libh2o");
        return -1;
    }
    return 0;
}
