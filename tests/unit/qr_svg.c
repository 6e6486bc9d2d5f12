/* QR codes as SVG (methods/qr_svg.c): the document's shape, the escaped
 * title, determinism, and the drawn modules read back into a grid whose
 * finder patterns must sit in three corners inside the quiet zone. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "methods/methods.h"

static const char URI[] = "otpauth://totp/Example:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                          "&issuer=Example&algorithm=SHA1&digits=6&period=30";

static void test_document_shape(void **state)
{
    (void)state;
    char *svg = mth_qr_svg(URI, "Example: alice");
    assert_non_null(svg);
    assert_true(strncmp(svg, "<svg ", 5) == 0);
    assert_non_null(strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, " viewBox=\"0 0 "));
    assert_non_null(strstr(svg, "<title>Example: alice</title>"));
    size_t n = strlen(svg);
    assert_true(n > 20 && strcmp(svg + n - 7, "</svg>\n") == 0);
    free(svg);
}

static void test_title_escaped(void **state)
{
    (void)state;
    char *svg = mth_qr_svg("hello", "<b>R&D</b> \"it's\"\x01 j\xc3\xb6rg \xff");
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<title>&lt;b&gt;R&amp;D&lt;/b&gt; &quot;it&#39;s&quot;"
                                "\xef\xbf\xbd j\xc3\xb6rg \xef\xbf\xbd</title>"));
    assert_null(strstr(svg, "<b>"));
    free(svg);
}

static void test_deterministic(void **state)
{
    (void)state;
    char *a = mth_qr_svg(URI, "t"), *b = mth_qr_svg(URI, "t"), *c = mth_qr_svg("otpauth://other", "t");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    free(a);
    free(b);
    free(c);
}

static void test_too_long(void **state)
{
    (void)state;
    /* Version 40 at level M holds 2,331 bytes in 8-bit mode. */
    size_t n = 2340;
    char *text = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        text[i] = (char)('a' + i % 26);
    text[n] = '\0';
    assert_null(mth_qr_svg(text, "t"));
    text[2000] = '\0';
    char *fits = mth_qr_svg(text, "t");
    assert_non_null(fits);
    free(fits);
    memset(text, 'a', n);
    text[n] = '\0';
    char *huge = malloc(100001);
    memset(huge, 'a', 100000);
    huge[100000] = '\0';
    assert_null(mth_qr_svg(huge, "t"));
    assert_null(mth_qr_svg("", "t"));
    assert_null(mth_qr_svg(NULL, "t"));
    free(huge);
    free(text);
}

#define GRID_MAX 200

/* Reads the path back: every "Mx yhNv1h-Nz" paints N modules of row y. */
static int read_grid(const char *svg, unsigned char grid[GRID_MAX][GRID_MAX], int *size)
{
    if (sscanf(strstr(svg, "viewBox=\""), "viewBox=\"0 0 %d", size) != 1 || *size > GRID_MAX)
        return -1;
    const char *p = strstr(svg, " d=\"");
    if (p == NULL)
        return -1;
    p += 4;
    while (*p == 'M') {
        int x, y, run, run2, used = 0;
        if (sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &run2, &used) != 4 || used == 0 || run != run2 ||
            x < 0 || y < 0 || x + run > *size || y >= *size)
            return -1;
        for (int i = 0; i < run; i++)
            grid[y][x + i] = 1;
        p += used;
    }
    return *p == '"' ? 0 : -1;
}

/* A finder pattern (ISO/IEC 18004 §6.3.3) with its top-left module at x, y:
 * dark 7x7 ring, light 5x5 ring, dark 3x3 centre. */
static int is_finder(unsigned char g[GRID_MAX][GRID_MAX], int x, int y)
{
    for (int dy = 0; dy < 7; dy++)
        for (int dx = 0; dx < 7; dx++) {
            int ring = dx < dy ? dx : dy;
            int far = 6 - dx < 6 - dy ? 6 - dx : 6 - dy;
            ring = ring < far ? ring : far;
            int dark = ring != 1;
            if (g[y + dy][x + dx] != dark)
                return 0;
        }
    return 1;
}

static void test_modules_read_back(void **state)
{
    (void)state;
    static unsigned char grid[GRID_MAX][GRID_MAX];
    char *svg = mth_qr_svg(URI, "t");
    assert_non_null(svg);
    int size = 0;
    assert_int_equal(read_grid(svg, grid, &size), 0);
    int w = size - 8;
    /* Sizes are 21 + 4 (version - 1) modules. */
    assert_true(w >= 21 && (w - 21) % 4 == 0);
    assert_true(is_finder(grid, 4, 4));
    assert_true(is_finder(grid, 4 + w - 7, 4));
    assert_true(is_finder(grid, 4, 4 + w - 7));
    assert_false(is_finder(grid, 4 + w - 7, 4 + w - 7));
    /* The quiet zone stays light. */
    for (int i = 0; i < size; i++)
        for (int q = 0; q < 4; q++) {
            assert_int_equal(grid[q][i], 0);
            assert_int_equal(grid[size - 1 - q][i], 0);
            assert_int_equal(grid[i][q], 0);
            assert_int_equal(grid[i][size - 1 - q], 0);
        }
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_shape),    cmocka_unit_test(test_title_escaped),
        cmocka_unit_test(test_deterministic),     cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_modules_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
