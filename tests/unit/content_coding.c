/* gateway/content_coding.c: which Accept-Encoding values take gzip (RFC 9110
 * §12.5.3), and that the gzip form inflates back to the body. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gateway/http.h"

static int accepts(const char *v)
{
    return gw_accepts_gzip(v, strlen(v));
}

static void test_gzip_named_or_starred(void **state)
{
    (void)state;
    static const char *const YES[] = {
        "gzip",
        "GZIP",
        "x-gzip",
        "gzip, deflate, br",
        "br;q=1.0, gzip;q=0.8, *;q=0.1",
        "deflate,gzip",
        "  gzip  ",
        "gzip ; q=0.001",
        "gzip;Q=1",
        "gzip;q=1.000",
        "*",
        "br, *;q=0.5",
        "gzip;q=0, gzip;q=0.5", /* named twice: the last weight counts */
        "identity;q=0, gzip",
        ",,gzip,,",
    };
    for (size_t i = 0; i < sizeof(YES) / sizeof(YES[0]); i++)
        if (!accepts(YES[i]))
            fail_msg("\"%s\" should take gzip", YES[i]);
}

static void test_gzip_refused_or_not_offered(void **state)
{
    (void)state;
    static const char *const NO[] = {
        "",
        "   ",
        "identity",
        "br, deflate",
        "gzip;q=0",
        "gzip;q=0.000",
        "x-gzip;q=0",
        "*;q=0",
        "gzip;q=0, *",   /* named with 0: the wildcard does not revive it */
        "*, gzip;q=0",   /* order does not matter */
        "gzipx",         /* not the coding */
        "gzip;q=2",      /* not a qvalue: the element counts for nothing */
        "gzip;q=0.5000", /* four decimals */
        "gzip;q=1.5",
        "gzip;q=",
        "gzip;level=9",
        "gzip;q=abc",
        "*;q=-1",
        ",",
    };
    for (size_t i = 0; i < sizeof(NO) / sizeof(NO[0]); i++)
        if (accepts(NO[i]))
            fail_msg("\"%s\" should not take gzip", NO[i]);
}

static void test_overlong_value_is_not_read(void **state)
{
    (void)state;
    char big[2048];
    memset(big, ' ', sizeof(big));
    memcpy(big, "gzip", 4);
    assert_false(gw_accepts_gzip(big, sizeof(big)));
    assert_true(gw_accepts_gzip(big, 1000));
}

static char *inflate_all(const char *in, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK); /* gzip wrapper only */
    size_t cap = 1 << 16;
    char *out = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    inflateEnd(&z);
    return out;
}

static void test_gzip_form_inflates_to_the_body(void **state)
{
    (void)state;
    char body[4000];
    size_t len = 0;
    while (len + 60 < sizeof(body))
        len += (size_t)snprintf(body + len, sizeof(body) - len,
                                "{\"endpoint\":\"https://id.example.com/%zu\"},", len);
    gw_codings_t c;
    gw_codings_init(&c, body, len);
    assert_ptr_equal(c.body, body);
    assert_int_equal(c.len, len);
    assert_non_null(c.gzip);
    assert_true(c.gzip_len < len / 2);
    assert_int_equal((unsigned char)c.gzip[0], 0x1f); /* RFC 1952 §2.3.1 ID1 ID2 */
    assert_int_equal((unsigned char)c.gzip[1], 0x8b);
    size_t n = 0;
    char *back = inflate_all(c.gzip, c.gzip_len, &n);
    assert_int_equal(n, len);
    assert_memory_equal(back, body, len);
    free(back);
    gw_codings_dispose(&c);
    assert_null(c.gzip);
}

static void test_incompressible_body_has_no_gzip_form(void **state)
{
    (void)state;
    gw_codings_t c;
    gw_codings_init(&c, "{}", 2);
    assert_null(c.gzip);
    assert_int_equal(c.gzip_len, 0);
    gw_codings_dispose(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip_named_or_starred),
        cmocka_unit_test(test_gzip_refused_or_not_offered),
        cmocka_unit_test(test_overlong_value_is_not_read),
        cmocka_unit_test(test_gzip_form_inflates_to_the_body),
        cmocka_unit_test(test_incompressible_body_has_no_gzip_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
