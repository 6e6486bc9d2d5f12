/* providers/http.c: a call has a deadline for the whole exchange, not only
 * for each read. A local server that answers a byte at a time, each well
 * within the I/O timeout, must not hold the call past the deadline (twice
 * the I/O timeout); one that answers at once still gets through. Real parts:
 * h2o's event loop and HTTP client, a TCP server on a loopback port. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <h2o.h>

#include "providers/provider.h"

typedef struct {
    int listen_fd;
    int port;
    int trickle; /* 1: a byte every 100 ms; 0: the whole answer at once */
} server_t;

static void *serve(void *p)
{
    server_t *s = p;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[2048];
    (void)recv(fd, buf, sizeof(buf), 0);
    static const char HEAD[] =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n";
    static const char BODY[] = "{\"result\":\"pass\",\"padding\":\"xxxxxxxxxx\"}";
    if (send(fd, HEAD, sizeof(HEAD) - 1, MSG_NOSIGNAL) < 0)
        goto out;
    if (!s->trickle) {
        (void)send(fd, BODY, sizeof(BODY) - 1, MSG_NOSIGNAL);
        goto out;
    }
    for (size_t i = 0; i < sizeof(BODY) - 1; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (send(fd, BODY + i, 1, MSG_NOSIGNAL) < 0)
            break; /* the client gave up */
    }
out:
    close(fd);
    return NULL;
}

static void server_start(server_t *s, pthread_t *t)
{
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->listen_fd, 4), 0);
    socklen_t len = sizeof(a);
    getsockname(s->listen_fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(t, NULL, serve, s), 0);
}

typedef struct {
    int done;
    int status;
    int failed;
} result_t;

static void on_done(void *data, const prov_http_response_t *res)
{
    result_t *r = data;
    r->done = 1;
    r->status = res->status;
    r->failed = res->error != NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One call with a 300 ms I/O timeout; returns the seconds it took. */
static double call(h2o_evloop_t *loop, int trickle, result_t *r)
{
    server_t s = {.trickle = trickle};
    pthread_t t;
    server_start(&s, &t);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/validate", s.port);
    const char *error = NULL;
    memset(r, 0, sizeof(*r));
    double start = now_s();
    prov_http_req_t *q =
        prov_http_request(loop, url, "application/json", "{}", 2, NULL, NULL, 300, on_done, r, &error);
    assert_non_null(q);
    while (!r->done && now_s() - start < 20)
        h2o_evloop_run(loop, 50);
    double took = now_s() - start;
    pthread_join(t, NULL);
    close(s.listen_fd);
    return took;
}

static void deadline(void **state)
{
    h2o_evloop_t *loop = *state;
    result_t r;
    double took = call(loop, 1, &r);
    assert_true(r.done);
    assert_true(r.failed);
    if (took > 2.0)
        fail_msg("a trickling answer held the call for %.1f s (deadline 0.6 s)", took);
}

static void prompt_answer(void **state)
{
    h2o_evloop_t *loop = *state;
    result_t r;
    call(loop, 0, &r);
    assert_true(r.done);
    assert_false(r.failed);
    assert_int_equal(r.status, 200);
}

static int setup(void **state)
{
    prov_http_allow_plain_loopback(1);
    *state = h2o_evloop_create();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prompt_answer),
        cmocka_unit_test(deadline),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
