/* The access log line (gateway/access_log.c): every field, JSON escapes at
 * every position of the word-at-a-time scan, the query left out, and the
 * truncation of long paths, checked by parsing the line back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "gateway/internal.h"
#include "gateway/json.h"

typedef struct {
    gw_thread_t *t;
    gw_route_t route;
    gw_req_t r;
    h2o_req_t req;
} fixture_t;

static void on_flush_ignored(h2o_timeout_entry_t *entry)
{
    (void)entry;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->t = calloc(1, sizeof(*f->t));
    f->t->loop = h2o_evloop_create();
    h2o_timeout_init(f->t->loop, &f->t->access_flush_timeout, 200);
    f->t->access_flush_entry.cb = on_flush_ignored;
    f->route.name = "/token";
    strcpy(f->r.id, "00a1b2c3d4e5f60718");
    f->r.route = &f->route;
    f->req.method = h2o_iovec_init(H2O_STRLIT("GET"));
    f->req.version = 0x200;
    f->req.query_at = SIZE_MAX;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (h2o_timeout_is_linked(&f->t->access_flush_entry))
        h2o_timeout_unlink(&f->t->access_flush_entry);
    h2o_timeout_dispose(f->t->loop, &f->t->access_flush_timeout);
    h2o_evloop_destroy(f->t->loop);
    free(f->t);
    free(f);
    return 0;
}

/* Logs one request and parses the line back; the caller frees the tree. */
static yajl_val log_one(fixture_t *f, int status, size_t bytes, uint64_t ns)
{
    f->t->access_len = 0;
    gw_access_log_request(f->t, &f->r, &f->req, status, bytes, ns);
    const char *line = f->t->access_buf;
    size_t len = f->t->access_len;
    assert_true(len > 2);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1)); /* one line per request */
    gw_err_t err;
    yajl_val v = gw_json_parse(line, len - 1, NULL, &err);
    if (v == NULL)
        fail_msg("not JSON (%s): %.*s", err.public, (int)len, line);
    return v;
}

static const char *str(yajl_val v, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val s = yajl_tree_get(v, path, yajl_t_string);
    assert_non_null(s);
    return YAJL_GET_STRING(s);
}

static double num(yajl_val v, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val n = yajl_tree_get(v, path, yajl_t_number);
    assert_non_null(n);
    return YAJL_GET_DOUBLE(n);
}

static void test_fields(void **state)
{
    fixture_t *f = *state;
    static const char PATH[] = "/token?code=secret-code&state=x";
    f->req.path = h2o_iovec_init(PATH, sizeof(PATH) - 1);
    f->req.query_at = strchr(PATH, '?') - PATH;
    yajl_val v = log_one(f, 201, 1911, 1234567);
    const char *time = str(v, "time");
    assert_int_equal(strlen(time), 24); /* 2026-11-26T05:14:36.123Z */
    assert_int_equal(time[10], 'T');
    assert_int_equal(time[19], '.');
    assert_int_equal(time[23], 'Z');
    assert_string_equal(str(v, "type"), "access");
    assert_string_equal(str(v, "request_id"), "00a1b2c3d4e5f60718");
    assert_string_equal(str(v, "method"), "GET");
    assert_string_equal(str(v, "path"), "/token"); /* the query never reaches the log */
    assert_string_equal(str(v, "route"), "/token");
    assert_int_equal((int)num(v, "status"), 201);
    assert_true(num(v, "duration_ms") > 1.2339 && num(v, "duration_ms") < 1.2341);
    assert_int_equal((int)num(v, "bytes"), 1911);
    assert_string_equal(str(v, "protocol"), "HTTP/2");
    yajl_tree_free(v);

    f->req.version = 0x101;
    f->r.route = NULL; /* unmatched: an empty route */
    v = log_one(f, 404, 0, 0);
    assert_string_equal(str(v, "protocol"), "HTTP/1.1");
    assert_string_equal(str(v, "route"), "");
    assert_true(num(v, "duration_ms") == 0);
    yajl_tree_free(v);
    assert_null(strstr(f->t->access_buf, "secret"));
}

/* Each byte that needs an escape, at every offset of a 40-byte path: before,
 * inside and after the 8-byte words, and in the byte-wise tail. */
static void test_escapes_everywhere(void **state)
{
    fixture_t *f = *state;
    static const char BAD[] = {'"', '\\', 0x01, 0x1f, 0x7f, '\n'};
    char path[41];
    for (size_t b = 0; b < sizeof(BAD); b++) {
        for (size_t at = 0; at < 40; at++) {
            memset(path, 'a', 40);
            path[40] = '\0';
            path[at] = BAD[b];
            f->req.path = h2o_iovec_init(path, 40);
            yajl_val v = log_one(f, 200, 0, 0);
            assert_memory_equal(str(v, "path"), path, 41);
            yajl_tree_free(v);
        }
    }
}

/* Bytes next to the escaped ranges go through as they are. */
static void test_near_misses_unescaped(void **state)
{
    fixture_t *f = *state;
    static const char PATH[] = "/ !#[]^_`{|}~/0123456789/ABCXYZ/abcxyz/%20";
    f->req.path = h2o_iovec_init(PATH, sizeof(PATH) - 1);
    yajl_tree_free(log_one(f, 200, 0, 0));
    char want[128];
    snprintf(want, sizeof(want), "\"path\":\"%s\"", PATH);
    assert_non_null(strstr(f->t->access_buf, want));
}

/* UTF-8 from 0x80 up is copied as it is, inside a plain run and after an
 * escape alike; a byte that is not part of valid UTF-8 (0xff, a lone
 * continuation byte, a sequence cut short) is written as the text \xHH, so
 * the line stays JSON (RFC 8259 §8.1: UTF-8) and still shows what was sent. */
static void test_high_bytes_valid_utf8(void **state)
{
    fixture_t *f = *state;
    static const char PATH[] = "/caf\xc3\xa9/0123456789/\xff\x80\"\xc3\xa9/\xe2\x82";
    f->req.path = h2o_iovec_init(PATH, sizeof(PATH) - 1);
    static const char METHOD[] = "G\xc3T";
    f->req.method = h2o_iovec_init(METHOD, sizeof(METHOD) - 1);
    yajl_val v = log_one(f, 200, 0, 0);
    assert_string_equal(str(v, "path"), "/caf\xc3\xa9/0123456789/\\xff\\x80\"\xc3\xa9/\\xe2\\x82");
    assert_string_equal(str(v, "method"), "G\\xc3T");
    yajl_tree_free(v);
    /* A valid sequence cut by the 256-byte limit is escaped, not split. */
    char path[300];
    memset(path, 'a', sizeof(path));
    memcpy(path + 255, "\xc3\xa9", 2);
    f->req.path = h2o_iovec_init(path, sizeof(path));
    v = log_one(f, 200, 0, 0);
    const char *got = str(v, "path");
    assert_int_equal(strlen(got), 255 + 4);
    assert_string_equal(got + 255, "\\xc3");
    yajl_tree_free(v);
}

static void test_long_values_truncated(void **state)
{
    fixture_t *f = *state;
    char path[1000];
    memset(path, '"', sizeof(path)); /* every byte escaped: the widest line */
    f->req.path = h2o_iovec_init(path, sizeof(path));
    char method[40];
    memset(method, 0x01, sizeof(method));
    f->req.method = h2o_iovec_init(method, sizeof(method));
    yajl_val v = log_one(f, 200, 0, 0);
    assert_int_equal(strlen(str(v, "path")), 256);
    assert_int_equal(strlen(str(v, "method")), 16);
    yajl_tree_free(v);
}

/* A full buffer is written out before the next line (to stderr here). */
static void test_buffer_rolls_over(void **state)
{
    fixture_t *f = *state;
    static const char PATH[] = "/healthz";
    f->req.path = h2o_iovec_init(PATH, sizeof(PATH) - 1);
    f->t->access_len = sizeof(f->t->access_buf) - 100;
    memset(f->t->access_buf, ' ', f->t->access_len);
    f->t->access_buf[f->t->access_len - 1] = '\n';
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
    assert_true(saved >= 0 && null >= 0);
    dup2(null, STDERR_FILENO);
    gw_access_log_request(f->t, &f->r, &f->req, 200, 2, 1000);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(null);
    assert_true(f->t->access_len < 400);
    assert_memory_equal(f->t->access_buf, "{\"time\":\"", 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_near_misses_unescaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_high_bytes_valid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_values_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_rolls_over, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
