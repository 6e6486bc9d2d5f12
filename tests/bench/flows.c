/* `make bench` driver (tests/bench/oidc.sh): complete authorization code
 * flows with password sign-in, C at a time, each by a fresh browser (an
 * empty cookie jar, no session):
 *   GET /authorize (PKCE S256, state, nonce) -> 200, the sign-in page: its
 *       CSRF cookie, and the form's `request`, `pending` (the request's box)
 *       and `csrf` fields
 *   POST /login (one Argon2id verification) -> 303 to the redirect URI with
 *       the session cookie, `code`, `state` (must be ours) and `iss` (must
 *       be the issuer, RFC 9207 §2.4); a redirect to a page of regain's own
 *       is followed first, as a browser would
 *   POST /token (authorization_code, PKCE verifier, client_secret_basic)
 *       -> 200 with an ID token and an access token.
 * HTTP/1.1 over TLS (the cookies are Secure and __Host-), the server's
 * certificate verified against CA_PEM for the name "localhost".  Each
 * browser keeps its connection, as a browser does across navigations;
 * cookies never outlive a flow.  Browser i signs in as USER_PREFIX<i> from
 * 127.0.0.<i+2>: the sign-in throttle counts attempts per account and per
 * address before the check (oidc/throttle_db.c), so 16 concurrent sign-ins of
 * one account from one address would lock it.
 *
 * Written in C, not Node, because the driver shares the machine's cores with
 * the server it measures: the Node driver (node:https) spent about 3 ms of
 * CPU per flow, next to a ~22 ms hash, and that came off the flows.  One
 * thread per browser with blocking I/O keeps it simple.
 *
 * The rate is the steady state's: flows finished between the first flow's
 * end and the moment the first browser stops, over that window. Before the
 * first end the 16 browsers are still connecting and queueing their first
 * hashes; after a browser stops (the time is up, or N flows have started)
 * fewer flows are in the system and the hashing threads run dry one by one.
 * Both edges are the driver's, not the server's: counted in, they took
 * 0.5-1% off a 5 s run. The whole run's rate is printed beside it.
 *
 * Prints one JSON line:
 *   {"flows": n, "seconds": s, "per_s": r (steady state), "window_s": w, "all_per_s": n / s, "errors": e,
 *    "p50_ms": .., "p99_ms": .., "first_error": "..",
 *    "driver_cpu_pct": CPU time of this driver per wall second, in % of one core}
 * Usage: bench_flows ISSUER CA_PEM CLIENT_ID SECRET REDIRECT USER_PREFIX PASSWORD C D [N]
 *   ISSUER is https://localhost:PORT; with N the run ends after N flows
 *   instead of after D seconds (to compare CPU time for the same work). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define C_MAX      256
#define BUF_MAX    (64 * 1024) /* one response; regain's pages are a few KiB */
#define FIELD_MAX  512
#define BOX_MAX    4096 /* the request's box (oidc/pending.c), about 0.5 KiB */
#define COOKIE_MAX 8

static const char *g_issuer, *g_client, *g_redirect, *g_user, *g_password;
static char g_redirect_enc[FIELD_MAX], g_basic[FIELD_MAX], g_host[64];
static unsigned short g_port;
static SSL_CTX *g_ctx;
static double g_deadline;
static atomic_long g_left; /* flows still to start */
static atomic_long g_errors;
static pthread_mutex_t g_err_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_first_error[200];
static pthread_mutex_t g_stop_lock = PTHREAD_MUTEX_INITIALIZER;
static double g_first_stop; /* when the first browser stopped starting flows; 0 until then */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- small encoders ---------------------------------------------------------- */

static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v =
            (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = A[v >> 18 & 63];
        out[o++] = A[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = A[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = A[v & 63];
    }
    out[o] = '\0';
}

static void b64std(const char *in, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)strlen(in));
}

/* application/x-www-form-urlencoded (WHATWG URL §5.2), as browsers send it. */
static void form_enc(const char *in, char *out, size_t cap)
{
    static const char H[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '*' ||
            c == '-' || c == '.' || c == '_') {
            out[o++] = (char)c;
        } else if (c == ' ') {
            out[o++] = '+';
        } else {
            out[o++] = '%';
            out[o++] = H[c >> 4];
            out[o++] = H[c & 15];
        }
    }
    out[o] = '\0';
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Query parameter `name` of a URL, percent-decoded; 0 when found. */
static int query_param(const char *url, const char *name, char *out, size_t cap)
{
    const char *q = strchr(url, '?');
    size_t nl = strlen(name);
    for (const char *p = q; p != NULL && *p; p = strchr(p + 1, '&')) {
        p++;
        if (strncmp(p, name, nl) != 0 || p[nl] != '=')
            continue;
        size_t o = 0;
        for (p += nl + 1; *p && *p != '&' && *p != '#' && o + 1 < cap; p++) {
            if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
                out[o++] = (char)(hexval(p[1]) << 4 | hexval(p[2]));
                p += 2;
            } else {
                out[o++] = *p == '+' ? ' ' : *p;
            }
        }
        out[o] = '\0';
        return 0;
    }
    return -1;
}

/* The value of <input ... name="NAME" ... value="..."> in a page, with the
 * character references regain's escaper writes turned back; 0 when found. */
static int form_input(const char *html, const char *name, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "name=\"%s\"", name);
    const char *p = strstr(html, pat);
    if (p == NULL)
        return -1;
    const char *end = strchr(p, '>'), *v = strstr(p, "value=\"");
    if (end == NULL || v == NULL || v > end)
        return -1;
    v += 7;
    size_t o = 0;
    while (*v && *v != '"' && o + 1 < cap) {
        static const struct {
            const char *ref;
            char c;
        } R[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
        size_t i = 0;
        for (; i < sizeof(R) / sizeof(R[0]); i++)
            if (strncmp(v, R[i].ref, strlen(R[i].ref)) == 0)
                break;
        if (i < sizeof(R) / sizeof(R[0])) {
            out[o++] = R[i].c;
            v += strlen(R[i].ref);
        } else {
            out[o++] = *v++;
        }
    }
    out[o] = '\0';
    return *v == '"' ? 0 : -1;
}

/* ---- one browser: its connection and cookie jar -------------------------------- */

typedef struct {
    int id;
    char addr[16];
    char username[FIELD_MAX];
    int fd;
    SSL *ssl;
    SSL_SESSION *session; /* resumed if the server closes the connection */
    char cookies[COOKIE_MAX][FIELD_MAX];
    int ncookies;
    char buf[BUF_MAX + 1];
    /* the last response */
    int status;
    char location[2048];
    const char *body;
    /* each finished flow: how long it took (ms) and when it ended (now_s) */
    struct done {
        double ms, end;
    } * done;
    size_t ndone, capdone;
} browser_t;

static void fail(browser_t *b, const char *fmt, ...)
{
    (void)b;
    atomic_fetch_add(&g_errors, 1);
    pthread_mutex_lock(&g_err_lock);
    if (g_first_error[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_first_error, sizeof(g_first_error), fmt, ap);
        va_end(ap);
        for (char *c = g_first_error; *c; c++)
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
                *c = ' ';
    }
    pthread_mutex_unlock(&g_err_lock);
}

static void disconnect(browser_t *b)
{
    if (b->ssl != NULL) {
        SSL_SESSION *s = SSL_get1_session(b->ssl);
        if (s != NULL) {
            SSL_SESSION_free(b->session);
            b->session = s;
        }
        SSL_shutdown(b->ssl);
        SSL_free(b->ssl);
        b->ssl = NULL;
    }
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
}

static int connect_tls(browser_t *b)
{
    struct sockaddr_in local = {.sin_family = AF_INET},
                       srv = {.sin_family = AF_INET, .sin_port = htons(g_port)};
    inet_pton(AF_INET, b->addr, &local.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &srv.sin_addr);
    b->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(b->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(b->fd, (struct sockaddr *)&local, sizeof(local)) != 0 ||
        connect(b->fd, (struct sockaddr *)&srv, sizeof(srv)) != 0)
        return -1;
    b->ssl = SSL_new(g_ctx);
    SSL_set_fd(b->ssl, b->fd);
    SSL_set_tlsext_host_name(b->ssl, "localhost");
    SSL_set1_host(b->ssl, "localhost"); /* the certificate must name it */
    if (b->session != NULL)
        SSL_set_session(b->ssl, b->session);
    return SSL_connect(b->ssl) == 1 ? 0 : -1;
}

static void jar_set(browser_t *b, const char *v, size_t n)
{
    /* name=value up to the first ';'; a later cookie of one name replaces it. */
    const char *semi = memchr(v, ';', n), *eq = memchr(v, '=', n);
    size_t len = semi ? (size_t)(semi - v) : n;
    if (eq == NULL || eq > v + len || len >= FIELD_MAX)
        return;
    size_t nl = (size_t)(eq - v) + 1;
    int i = 0;
    while (i < b->ncookies && strncmp(b->cookies[i], v, nl) != 0)
        i++;
    if (i == COOKIE_MAX)
        return;
    if (i == b->ncookies)
        b->ncookies++;
    memcpy(b->cookies[i], v, len);
    b->cookies[i][len] = '\0';
}

/* Sends one request and reads its response into b (status, Location,
 * Set-Cookie into the jar, body); 0, or -1 after fail(). */
static int http(browser_t *b, const char *method, const char *path, const char *extra, const char *body)
{
    char req[8192];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nhost: %s\r\n%s", method, path, g_host, extra);
    if (b->ncookies > 0) {
        n += snprintf(req + n, sizeof(req) - (size_t)n, "cookie: ");
        for (int i = 0; i < b->ncookies; i++)
            n += snprintf(req + n, sizeof(req) - (size_t)n, "%s%s", i ? "; " : "", b->cookies[i]);
        n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    }
    if (body != NULL)
        n += snprintf(req + n, sizeof(req) - (size_t)n,
                      "content-type: application/x-www-form-urlencoded\r\ncontent-length: %zu\r\n\r\n%s",
                      strlen(body), body);
    else
        n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    if (n >= (int)sizeof(req)) {
        fail(b, "request too long");
        return -1;
    }
    if (b->ssl == NULL && connect_tls(b) != 0) {
        disconnect(b);
        fail(b, "connect/TLS to %s failed", g_issuer);
        return -1;
    }
    if (SSL_write(b->ssl, req, n) != n) {
        disconnect(b);
        fail(b, "%s %s: write failed", method, path);
        return -1;
    }
    size_t len = 0;
    char *head_end = NULL;
    b->buf[0] = '\0'; /* nothing of the previous response */
    long clen = -1;
    for (;;) {
        if (head_end == NULL && (head_end = strstr(b->buf, "\r\n\r\n")) != NULL) {
            *head_end = '\0';
            const char *cl = strcasestr(b->buf, "\r\ncontent-length:");
            if (cl == NULL || strcasestr(b->buf, "\r\ntransfer-encoding:") != NULL)
                break; /* regain sends a length with every response */
            clen = strtol(cl + 17, NULL, 10);
        }
        if (head_end != NULL && clen >= 0 && len >= (size_t)(head_end + 4 - b->buf) + (size_t)clen)
            break;
        if (len == BUF_MAX)
            break;
        int r = SSL_read(b->ssl, b->buf + len, (int)(BUF_MAX - len));
        if (r <= 0)
            break;
        len += (size_t)r;
        b->buf[len] = '\0';
    }
    if (head_end == NULL || clen < 0 || len != (size_t)(head_end + 4 - b->buf) + (size_t)clen) {
        disconnect(b);
        fail(b, "%s %s: bad or cut response", method, path);
        return -1;
    }
    b->body = head_end + 4;
    if (sscanf(b->buf, "HTTP/1.1 %d ", &b->status) != 1) {
        disconnect(b);
        fail(b, "%s %s: bad status line", method, path);
        return -1;
    }
    b->location[0] = '\0';
    int closing = 0;
    for (char *line = strstr(b->buf, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        char *h = line + 2, *eol = strstr(h, "\r\n");
        size_t hl = eol ? (size_t)(eol - h) : strlen(h);
        if (strncasecmp(h, "set-cookie:", 11) == 0) {
            const char *v = h + 11;
            while (*v == ' ')
                v++;
            jar_set(b, v, hl - (size_t)(v - h));
        } else if (strncasecmp(h, "location:", 9) == 0) {
            const char *v = h + 9;
            while (*v == ' ')
                v++;
            snprintf(b->location, sizeof(b->location), "%.*s", (int)(hl - (size_t)(v - h)), v);
        } else if (strncasecmp(h, "connection:", 11) == 0 && strcasestr(h, "close") != NULL &&
                   strcasestr(h, "close") < h + hl) {
            closing = 1;
        }
    }
    if (closing)
        disconnect(b);
    return 0;
}

/* ---- one flow ------------------------------------------------------------------ */

static int flow(browser_t *b)
{
    unsigned char rnd[56], digest[32];
    char verifier[64], challenge[64], state[24], nonce[24];
    RAND_bytes(rnd, sizeof(rnd));
    b64url(rnd, 32, verifier);
    b64url(rnd + 32, 12, state);
    b64url(rnd + 44, 12, nonce);
    EVP_Digest(verifier, strlen(verifier), digest, NULL, EVP_sha256(), NULL);
    b64url(digest, 32, challenge);
    b->ncookies = 0; /* a fresh browser */

    char path[4096], body[5 * FIELD_MAX + BOX_MAX], f_req[FIELD_MAX], f_csrf[FIELD_MAX], f_box[BOX_MAX],
        e_req[FIELD_MAX], e_csrf[FIELD_MAX], e_box[BOX_MAX], e_user[FIELD_MAX], e_pwd[FIELD_MAX];
    snprintf(path, sizeof(path),
             "/authorize?client_id=%s&redirect_uri=%s&response_type=code&scope=openid+profile&state=%s"
             "&nonce=%s&code_challenge=%s&code_challenge_method=S256",
             g_client, g_redirect_enc, state, nonce, challenge);
    if (http(b, "GET", path, "", NULL) != 0)
        return -1;
    if (b->status != 200) {
        fail(b, "authorize %d", b->status);
        return -1;
    }
    if (form_input(b->body, "request", f_req, sizeof(f_req)) != 0 ||
        form_input(b->body, "csrf", f_csrf, sizeof(f_csrf)) != 0) {
        fail(b, "authorize: no sign-in form");
        return -1;
    }
    /* The box goes back with the form when the page has one, as a browser
     * sends every field of the form. */
    if (form_input(b->body, "pending", f_box, sizeof(f_box)) != 0)
        f_box[0] = '\0';
    form_enc(f_req, e_req, sizeof(e_req));
    form_enc(f_csrf, e_csrf, sizeof(e_csrf));
    form_enc(f_box, e_box, sizeof(e_box));
    form_enc(b->username, e_user, sizeof(e_user));
    form_enc(g_password, e_pwd, sizeof(e_pwd));
    snprintf(body, sizeof(body), "request=%s&pending=%s&csrf=%s&username=%s&password=%s", e_req, e_box,
             e_csrf, e_user, e_pwd);
    if (http(b, "POST", "/login", "", body) != 0)
        return -1;
    /* regain's own redirects (a path, or an absolute URL on the issuer) are
     * followed until one leaves for the relying party. */
    size_t il = strlen(g_issuer), rl = strlen(g_redirect);
    for (int hop = 0; b->status == 303 && strncmp(b->location, g_redirect, rl) != 0; hop++) {
        const char *next = strncmp(b->location, g_issuer, il) == 0 ? b->location + il : b->location;
        if (hop == 2 || next[0] != '/') {
            fail(b, "login: redirect to %.80s", b->location);
            return -1;
        }
        snprintf(path, sizeof(path), "%s", next);
        if (http(b, "GET", path, "", NULL) != 0)
            return -1;
    }
    char code[FIELD_MAX], got_state[FIELD_MAX], iss[FIELD_MAX];
    if (b->status != 303 || b->location[rl] != '?') {
        fail(b, "login %d", b->status);
        return -1;
    }
    if (query_param(b->location, "code", code, sizeof(code)) != 0 ||
        query_param(b->location, "state", got_state, sizeof(got_state)) != 0 ||
        strcmp(got_state, state) != 0 || query_param(b->location, "iss", iss, sizeof(iss)) != 0 ||
        strcmp(iss, g_issuer) != 0) {
        fail(b, "login: redirect without code, or wrong state or iss");
        return -1;
    }
    /* The relying party's back channel: the same connection stands in for it. */
    char e_code[FIELD_MAX], e_verifier[FIELD_MAX], auth[FIELD_MAX + 32];
    form_enc(code, e_code, sizeof(e_code));
    form_enc(verifier, e_verifier, sizeof(e_verifier));
    snprintf(body, sizeof(body), "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s",
             e_code, g_redirect_enc, e_verifier);
    snprintf(auth, sizeof(auth), "authorization: Basic %s\r\n", g_basic);
    int saved = b->ncookies;
    b->ncookies = 0; /* no browser cookies on the back channel */
    int rc = http(b, "POST", "/token", auth, body);
    b->ncookies = saved;
    if (rc != 0)
        return -1;
    if (b->status != 200 || strstr(b->body, "\"id_token\"") == NULL ||
        strstr(b->body, "\"access_token\"") == NULL) {
        fail(b, "token %d %.100s", b->status, b->body);
        return -1;
    }
    return 0;
}

static void *browser_main(void *arg)
{
    browser_t *b = arg;
    while (now_s() < g_deadline && atomic_fetch_sub(&g_left, 1) > 0) {
        double t = now_s();
        if (flow(b) != 0)
            continue;
        if (b->ndone == b->capdone) {
            b->capdone = b->capdone ? 2 * b->capdone : 1024;
            b->done = realloc(b->done, b->capdone * sizeof(*b->done));
        }
        double end = now_s();
        b->done[b->ndone++] = (struct done){(end - t) * 1e3, end};
    }
    double stop = now_s();
    pthread_mutex_lock(&g_stop_lock);
    if (g_first_stop == 0 || stop < g_first_stop)
        g_first_stop = stop;
    pthread_mutex_unlock(&g_stop_lock);
    disconnect(b);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 10 && argc != 11) {
        fprintf(stderr,
                "usage: bench_flows ISSUER CA_PEM CLIENT_ID SECRET REDIRECT USER_PREFIX PASSWORD C D [N]\n");
        return 2;
    }
    g_issuer = argv[1];
    g_client = argv[3];
    g_redirect = argv[5];
    g_user = argv[6];
    g_password = argv[7];
    int c = atoi(argv[8]);
    double d = atof(argv[9]);
    long n = argc == 11 ? atol(argv[10]) : -1;
    const char *port = strrchr(g_issuer, ':');
    if (strncmp(g_issuer, "https://", 8) != 0 || port == NULL || c < 1 || c > C_MAX || d <= 0)
        return 2;
    g_port = (unsigned short)atoi(port + 1);
    snprintf(g_host, sizeof(g_host), "%s", g_issuer + 8);
    form_enc(g_redirect, g_redirect_enc, sizeof(g_redirect_enc));
    /* RFC 6749 §2.3.1: client id and secret are form-encoded before Basic. */
    char id_enc[FIELD_MAX], secret_enc[FIELD_MAX], pair[2 * FIELD_MAX];
    form_enc(g_client, id_enc, sizeof(id_enc));
    form_enc(argv[4], secret_enc, sizeof(secret_enc));
    snprintf(pair, sizeof(pair), "%s:%s", id_enc, secret_enc);
    b64std(pair, g_basic);

    g_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(g_ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(g_ctx, argv[2], NULL) != 1) {
        fprintf(stderr, "bench_flows: cannot load %s\n", argv[2]);
        return 1;
    }
    SSL_CTX_set_alpn_protos(g_ctx, (const unsigned char *)"\x08http/1.1", 9);
    SSL_CTX_set_session_cache_mode(g_ctx, SSL_SESS_CACHE_CLIENT);
    /* A response is a few TLS records: read what has arrived in one read(2)
     * instead of a header and a body read per record (15 reads per flow
     * without it). The driver's CPU counts against the flows. */
    SSL_CTX_set_read_ahead(g_ctx, 1);

    atomic_store(&g_left, n >= 0 ? n : 1L << 60);
    browser_t *bs = calloc((size_t)c, sizeof(browser_t));
    pthread_t th[C_MAX];
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double start = now_s();
    g_deadline = start + d;
    for (int i = 0; i < c; i++) {
        bs[i].id = i;
        bs[i].fd = -1;
        snprintf(bs[i].addr, sizeof(bs[i].addr), "127.0.0.%d", i + 2);
        snprintf(bs[i].username, sizeof(bs[i].username), "%s%d", g_user, i);
        pthread_create(&th[i], NULL, browser_main, &bs[i]);
    }
    size_t total = 0;
    for (int i = 0; i < c; i++) {
        pthread_join(th[i], NULL);
        total += bs[i].ndone;
    }
    double seconds = now_s() - start;
    getrusage(RUSAGE_SELF, &ru1);
    double cpu =
        (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
        (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) /
            1e6;
    double *lat = calloc(total + 1, sizeof(double)), *ends = calloc(total + 1, sizeof(double));
    size_t k = 0;
    for (int i = 0; i < c; i++) {
        for (size_t j = 0; j < bs[i].ndone; j++, k++) {
            lat[k] = bs[i].done[j].ms;
            ends[k] = bs[i].done[j].end;
        }
        free(bs[i].done);
        SSL_SESSION_free(bs[i].session);
    }
    qsort(lat, total, sizeof(double), cmp);
    qsort(ends, total, sizeof(double), cmp);
    /* The steady state: flows that ended after the first one and before
     * the first browser stopped. */
    double all_rate = (double)total / seconds, rate = all_rate, window = 0;
    if (total > 1 && g_first_stop > ends[0]) {
        size_t in = 0;
        for (size_t j = 1; j < total && ends[j] <= g_first_stop; j++)
            in++;
        window = g_first_stop - ends[0];
        if (in > 0)
            rate = (double)in / window;
    }
    char p50[32] = "-", p99[32] = "-";
    if (total > 0) {
        snprintf(p50, sizeof(p50), "%.2f", lat[(size_t)((double)total * 0.50)]);
        size_t i99 = (size_t)((double)total * 0.99);
        snprintf(p99, sizeof(p99), "%.2f", lat[i99 < total ? i99 : total - 1]);
    }
    printf("{\"flows\": %zu, \"seconds\": %.3f, \"per_s\": %.1f, \"window_s\": %.3f, \"all_per_s\": %.1f, "
           "\"errors\": %ld, \"p50_ms\": \"%s\", \"p99_ms\": \"%s\", \"first_error\": \"%s\", "
           "\"driver_cpu_pct\": %.0f}\n",
           total, seconds, rate, window, all_rate, atomic_load(&g_errors), p50, p99, g_first_error,
           100.0 * cpu / seconds);
    free(lat);
    free(ends);
    free(bs);
    SSL_CTX_free(g_ctx);
    return 0;
}
