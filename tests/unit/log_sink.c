/* gateway/log_sink.c: while the sink runs, a writer never waits for stderr;
 * what does not fit is dropped, counted, and reported once stderr is read
 * again; nothing that fitted is lost or torn. stderr is a pipe here. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/log.h"

#define RING 4096

/* Everything the pipe yields until it has been quiet for `quiet_ms`. */
static size_t drain(int fd, char *out, size_t cap, int quiet_ms)
{
    size_t n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n < cap && poll(&p, 1, quiet_ms) == 1) {
        ssize_t r = read(fd, out + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    return n;
}

static void full_pipe_drops_and_reports(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);

    gw_log_sink_start(RING);
    unsigned long before = gw_log_sink_dropped();
    /* Far more than the pipe (64 KiB) and the ring hold together. Were a
     * write to wait for the reader, this loop would never end. */
    char line[64];
    int len = snprintf(line, sizeof(line), "{\"msg\":\"%048d\"}\n", 7);
    for (int i = 0; i < 20000; i++)
        gw_log_sink_write(line, (size_t)len);
    unsigned long dropped = gw_log_sink_dropped() - before;
    assert_true(dropped > 0);
    assert_true(dropped < 20000);

    /* Read again: the waiting lines come out whole, then the report. */
    size_t cap = 4 << 20;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n = drain(fds[0], out, cap - 1, 500);
    gw_log_sink_stop();
    n += drain(fds[0], out + n, cap - 1 - n, 100);
    out[n] = '\0';
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);

    /* Drops can come in more than one spell (the writer may lag behind
     * before the pipe is full), each reported once the writer moves again:
     * the reports add up to the count. */
    size_t whole = 0, reports = 0;
    unsigned long reported = 0;
    for (char *p = out, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        const char *msg = strstr(p, "\"msg\":\"");
        unsigned long count;
        if ((size_t)(nl + 1 - p) == (size_t)len && memcmp(p, line, (size_t)len) == 0) {
            whole++;
        } else if (msg != NULL && msg < nl && sscanf(msg, "\"msg\":\"%lu log lines dropped", &count) == 1) {
            reported += count;
            reports++;
        } else {
            fail_msg("a torn or unknown line: %.*s", (int)(nl - p), p);
        }
    }
    free(out);
    assert_int_equal(whole + dropped, 20000);
    assert_true(reports > 0);
    assert_int_equal(reported, dropped);
    close(fds[0]);
    close(fds[1]);
}

/* Before start and after stop, lines go straight out. */
static void direct_when_not_running(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
    gw_log_sink_write("one\n", 4);
    char buf[16] = {0};
    assert_int_equal(drain(fds[0], buf, sizeof(buf) - 1, 100), 4);
    assert_string_equal(buf, "one\n");
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(direct_when_not_running),
        cmocka_unit_test(full_pipe_drops_and_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
