/* gateway/json_write.c against yajl_gen 2.1, which it replaced: the same
 * calls must give the same bytes, and a string yajl_gen refuses (not UTF-8
 * by its rule) must fail the writer too. Random documents from a fixed seed,
 * with strings drawn from the bytes where encoders differ: quote, backslash,
 * solidus, each control character, DEL, valid and broken UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "gateway/json.h"

/* Both writers, fed the same calls. */
typedef struct {
    gw_jw_t *w;
    yajl_gen g;
    int yajl_failed;
} pair_t;

static uint64_t g_rng = 0x9e3779b97f4a7c15u;

static uint32_t next_rand(void)
{
    g_rng ^= g_rng << 13; /* xorshift64 */
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 32);
}

static void pair_init(pair_t *p)
{
    p->w = gw_jw_new();
    p->g = yajl_gen_alloc(NULL);
    assert_non_null(p->g);
    yajl_gen_config(p->g, yajl_gen_validate_utf8, 1);
    p->yajl_failed = 0;
}

static void yajl_did(pair_t *p, yajl_gen_status st)
{
    if (st != yajl_gen_status_ok)
        p->yajl_failed = 1;
}

/* Compares what the two wrote and frees both; returns 1 when yajl_gen
 * accepted the calls, 0 when it refused them (the writer must then have
 * failed too). Fails the test, naming `what`, on any difference. */
static int pair_check(pair_t *p, const char *what, size_t *len)
{
    size_t n = 0, yn = 0;
    const char *buf = gw_jw_buf(p->w, &n);
    const unsigned char *ybuf = NULL;
    yajl_gen_get_buf(p->g, &ybuf, &yn);
    int accepted = !p->yajl_failed;
    if (!accepted && buf != NULL)
        fail_msg("%s: yajl_gen refused, the writer gave %.*s", what, (int)n, buf);
    if (accepted && buf == NULL)
        fail_msg("%s: the writer failed, yajl_gen gave %.*s", what, (int)yn, ybuf);
    if (accepted && (n != yn || memcmp(buf, ybuf, n) != 0))
        fail_msg("%s:\n writer %.*s\n yajl   %.*s", what, (int)n, buf, (int)yn, ybuf);
    if (len != NULL)
        *len = n;
    gw_jw_free(p->w);
    yajl_gen_free(p->g);
    return accepted;
}

/* A string of up to 24 bytes from pieces where escaping and UTF-8
 * validation can go wrong. */
static size_t random_string(char *out)
{
    static const char *const PIECES[] = {"a",
                                         "Z",
                                         "0",
                                         " ",
                                         "~",
                                         "\"",
                                         "\\",
                                         "/",
                                         "\x7f",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "\xc3",
                                         "\xe2\x82",
                                         "\x80",
                                         "\xff",
                                         "\xf8\x88\x80\x80\x80",
                                         "\xed\xa0\x80",
                                         "\xc0\x80"};
    size_t n = 0, pieces = next_rand() % 8;
    for (size_t i = 0; i < pieces; i++) {
        if (next_rand() % 4 == 0) {
            out[n++] = (char)(next_rand() % 0x20); /* any control character, NUL too */
        } else {
            const char *piece = PIECES[next_rand() % (sizeof(PIECES) / sizeof(PIECES[0]))];
            size_t len = strlen(piece);
            memcpy(out + n, piece, len);
            n += len;
        }
    }
    return n;
}

static void both_string(pair_t *p, int key)
{
    char s[64];
    size_t n = random_string(s);
    if (key)
        gw_jw_keyn(p->w, s, n);
    else
        gw_jw_strn(p->w, s, n);
    yajl_did(p, yajl_gen_string(p->g, (const unsigned char *)s, n));
}

static void both_scalar(pair_t *p)
{
    switch (next_rand() % 5) {
    case 0:
        both_string(p, 0);
        break;
    case 1: {
        static const int64_t EDGES[] = {0, 1, -1, 9, 10, -10, INT64_MAX, INT64_MIN, 1311281970};
        int64_t v =
            next_rand() % 2 ? EDGES[next_rand() % 9] : (int64_t)(((uint64_t)next_rand() << 32) | next_rand());
        gw_jw_int64(p->w, v);
        yajl_did(p, yajl_gen_integer(p->g, (long long)v));
        break;
    }
    case 2: {
        int v = (int)(next_rand() % 2);
        gw_jw_bool(p->w, v);
        yajl_did(p, yajl_gen_bool(p->g, v));
        break;
    }
    case 3:
        gw_jw_null(p->w);
        yajl_did(p, yajl_gen_null(p->g));
        break;
    default:
        gw_jw_raw(p->w, "{\"r\":[1,2.5]}", 13);
        yajl_did(p, yajl_gen_number(p->g, "{\"r\":[1,2.5]}", 13));
    }
}

/* Opens (or, with `open` 0, closes) an object or an array in both writers. */
static void both_container(pair_t *p, int object, int open)
{
    void (*ours)(gw_jw_t *) =
        object ? (open ? gw_jw_obj_open : gw_jw_obj_close) : (open ? gw_jw_arr_open : gw_jw_arr_close);
    yajl_gen_status (*theirs)(yajl_gen) = object ? (open ? yajl_gen_map_open : yajl_gen_map_close)
                                                 : (open ? yajl_gen_array_open : yajl_gen_array_close);
    ours(p->w);
    yajl_did(p, theirs(p->g));
}

static void both_value(pair_t *p, int depth)
{
    unsigned kind = depth >= 4 ? 0 : next_rand() % 4;
    if (kind >= 2) {
        int object = kind == 2;
        size_t members = next_rand() % 5;
        both_container(p, object, 1);
        for (size_t i = 0; i < members; i++) {
            if (object)
                both_string(p, 1);
            both_value(p, depth + 1);
        }
        both_container(p, object, 0);
    } else {
        both_scalar(p);
    }
}

static void test_random_documents_match_yajl(void **state)
{
    (void)state;
    size_t ok = 0, refused = 0;
    for (int round = 0; round < 20000; round++) {
        pair_t p;
        pair_init(&p);
        both_value(&p, 0);
        char what[32];
        snprintf(what, sizeof(what), "round %d", round);
        if (pair_check(&p, what, NULL))
            ok++;
        else
            refused++;
    }
    /* Both outcomes were exercised often. */
    assert_true(ok > 2000);
    assert_true(refused > 2000);
}

/* Every byte at every offset of a 24-byte string of plain text: each
 * escape form, and each place in an 8-byte word where the writer's word at
 * a time scan must notice it. */
static void test_each_byte_matches_yajl(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        for (size_t at = 0; at < 24; at++) {
            char s[24];
            memset(s, 'x', sizeof(s));
            s[at] = (char)c;
            pair_t p;
            pair_init(&p);
            gw_jw_strn(p.w, s, sizeof(s));
            yajl_did(&p, yajl_gen_string(p.g, (const unsigned char *)s, sizeof(s)));
            char what[40];
            snprintf(what, sizeof(what), "byte 0x%02x at %zu", c, at);
            pair_check(&p, what, NULL);
            assert_int_equal(gw_json_plain_prefix(s, sizeof(s)) == sizeof(s),
                             c >= 0x20 && c <= 0x7e && c != '"' && c != '\\');
        }
    }
}

/* A document longer than the first buffer grows it without losing bytes. */
static void test_long_document(void **state)
{
    (void)state;
    pair_t p;
    pair_init(&p);
    gw_jw_arr_open(p.w);
    yajl_gen_array_open(p.g);
    char s[300];
    memset(s, 'q', sizeof(s));
    for (int i = 0; i < 40; i++) {
        s[i] = '"';
        gw_jw_strn(p.w, s, sizeof(s));
        yajl_gen_string(p.g, (const unsigned char *)s, sizeof(s));
    }
    gw_jw_arr_close(p.w);
    yajl_gen_array_close(p.g);
    size_t n = 0;
    assert_true(pair_check(&p, "long document", &n));
    assert_true(n > 12000);
}

/* A first string far longer than the first buffer, with every ASCII byte
 * (each escape form) repeated: the writer reserves exactly what it writes,
 * so a miscount shows as a heap overflow under ASan, or as a difference. */
static void test_long_escaped_string(void **state)
{
    (void)state;
    char s[2048];
    for (size_t i = 0; i < sizeof(s); i++)
        s[i] = (char)(i % 128);
    pair_t p;
    pair_init(&p);
    gw_jw_strn(p.w, s, sizeof(s));
    yajl_did(&p, yajl_gen_string(p.g, (const unsigned char *)s, sizeof(s)));
    assert_true(pair_check(&p, "long escaped string", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_documents_match_yajl),
        cmocka_unit_test(test_each_byte_matches_yajl),
        cmocka_unit_test(test_long_document),
        cmocka_unit_test(test_long_escaped_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
