/* The bench baseline: a bare h2o 2.2.5 server set up the way regain is (one
 * evloop per thread, SO_REUSEPORT listeners, a cleartext port serving
 * HTTP/1.1 and h2c, a TLS port with ALPN h2 + http/1.1), answering one small
 * fixed JSON body on GET /hello.  `make bench` compares regain against it, so
 * the gap it reports is regain's own cost, not h2o's.
 *
 * With PADDED_BYTES, GET /padded answers a JSON body of exactly that many
 * bytes (regain's discovery document is ~2 KB, /hello 36 bytes): the bench
 * shows it beside the targets, so the cost of the bytes themselves (TLS,
 * copies, the client's parsing) can be told apart from regain's own.  /hello
 * is registered first and unchanged.
 *
 * Usage: bench_hello PORT TLS_PORT CERT_FILE KEY_FILE [THREADS [PADDED_BYTES]]
 * Stops on SIGTERM or SIGINT. */
#define H2O_USE_LIBUV 0
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <h2o.h>
#include <h2o/http1.h>
#include <h2o/http2.h>
#include <openssl/ssl.h>

static const char HELLO_BODY[] = "{\"hello\":\"world\",\"service\":\"bench\"}";

static h2o_globalconf_t g_config;
static char *g_padded;
static size_t g_padded_len;
static SSL_CTX *g_ssl_ctx;
static unsigned short g_port, g_tls_port;

typedef struct {
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t plain, tls;
} worker_t;

static int on_hello(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
        return -1;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = sizeof(HELLO_BODY) - 1;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_send_inline(req, HELLO_BODY, sizeof(HELLO_BODY) - 1);
    return 0;
}

static int on_padded(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
        return -1;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = g_padded_len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_send_inline(req, g_padded, g_padded_len);
    return 0;
}

/* {"pad":"xxx...x"}, exactly `n` bytes (at least the 10 of the frame). */
static void make_padded(size_t n)
{
    static const char HEAD[] = "{\"pad\":\"", TAIL[] = "\"}";
    if (n < sizeof(HEAD) + sizeof(TAIL) - 2)
        n = sizeof(HEAD) + sizeof(TAIL) - 2;
    g_padded = malloc(n);
    memset(g_padded, 'x', n);
    memcpy(g_padded, HEAD, sizeof(HEAD) - 1);
    memcpy(g_padded + n - (sizeof(TAIL) - 1), TAIL, sizeof(TAIL) - 1);
    g_padded_len = n;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock != NULL)
        h2o_accept(listener->data, sock);
}

static int open_listener(unsigned short port)
{
    struct sockaddr_in addr;
    int fd, on = 1;

    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
        return -1;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, SOMAXCONN) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void start_listener(worker_t *w, h2o_accept_ctx_t *actx, unsigned short port)
{
    int fd = open_listener(port);
    if (fd == -1) {
        fprintf(stderr, "bench_hello: port %u: %s\n", port, strerror(errno));
        exit(1);
    }
    h2o_socket_t *sock = h2o_evloop_socket_create(w->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = actx;
    h2o_socket_read_start(sock, on_accept);
}

static void *run_worker(void *arg)
{
    worker_t *w = arg;

    w->loop = h2o_evloop_create();
    h2o_context_init(&w->ctx, w->loop, &g_config);
    w->plain.ctx = &w->ctx;
    w->plain.hosts = g_config.hosts;
    w->tls = w->plain;
    w->tls.ssl_ctx = g_ssl_ctx;
    start_listener(w, &w->plain, g_port);
    start_listener(w, &w->tls, g_tls_port);
    while (h2o_evloop_run(w->loop, INT32_MAX) == 0)
        ;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_hello PORT TLS_PORT CERT_FILE KEY_FILE [THREADS [PADDED_BYTES]]\n");
        return 2;
    }
    g_port = (unsigned short)atoi(argv[1]);
    g_tls_port = (unsigned short)atoi(argv[2]);
    int nthreads = argc > 5 ? atoi(argv[5]) : 2;
    if (nthreads < 1 || nthreads > 64)
        nthreads = 2;

    signal(SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    /* Workers inherit the mask, so only sigwait() below sees the signals. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    h2o_config_init(&g_config);
    g_config.server_name = h2o_iovec_init(H2O_STRLIT("bench"));
    g_config.max_request_entity_size = 1024 * 1024;
    g_config.http2.max_concurrent_requests_per_connection = 100;
    h2o_hostconf_t *host = h2o_config_register_host(&g_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/hello", 0);
    h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = on_hello;
    long padded = argc > 6 ? atol(argv[6]) : 0;
    if (padded > 0 && padded <= 1024 * 1024) {
        make_padded((size_t)padded);
        path = h2o_config_register_path(host, "/padded", 0);
        h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = on_padded;
    }

    g_ssl_ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(g_ssl_ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(g_ssl_ctx, argv[3]) != 1 ||
        SSL_CTX_use_PrivateKey_file(g_ssl_ctx, argv[4], SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "bench_hello: cannot load %s / %s\n", argv[3], argv[4]);
        return 1;
    }
    h2o_ssl_register_alpn_protocols(g_ssl_ctx, h2o_http2_alpn_protocols);

    worker_t *workers = calloc((size_t)nthreads, sizeof(*workers));
    pthread_t tid;
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&tid, NULL, run_worker, &workers[i]) != 0) {
            fprintf(stderr, "bench_hello: pthread_create failed\n");
            return 1;
        }
        pthread_detach(tid);
    }
    int sig;
    sigwait(&stop, &sig);
    /* A benchmark helper: the process ends here; the OS reclaims the loops. */
    return 0;
}
