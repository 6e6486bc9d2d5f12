/* QR codes (libqrencode) drawn as SVG, for the authenticator app enrolment
 * page: no image files, no client-side script, crisp at any zoom. */
#include "methods/methods.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "gateway/alloc.h"

/* Longer text cannot fit even a version-40 symbol (2,331 bytes at level M);
 * refusing early spares libqrencode the attempt. */
#define MAX_TEXT_LEN  2400
#define MAX_TITLE_LEN 512
#define QUIET_ZONE    4 /* modules of light margin, ISO/IEC 18004 §6.3.8 */

typedef struct {
    char *p;
    size_t len, cap;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? b->cap * 2 : 1024;
        b->p = gw_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Length of the valid UTF-8 sequence at s (RFC 3629 §4: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        unsigned char lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        unsigned char lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* The title as XML character data: markup characters as entities, and what
 * XML 1.0 §2.2 does not allow (control characters, invalid UTF-8) replaced by
 * U+FFFD, so a name from a database can never break or inject markup. */
static void sb_put_xml_text(sbuf_t *b, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t budget = MAX_TITLE_LEN;
    while (*s && budget > 0) {
        size_t n = utf8_seq(s);
        if (*s == '&')
            sb_put(b, "&amp;", 5);
        else if (*s == '<')
            sb_put(b, "&lt;", 4);
        else if (*s == '>')
            sb_put(b, "&gt;", 4);
        else if (*s == '"')
            sb_put(b, "&quot;", 6);
        else if (*s == '\'')
            sb_put(b, "&#39;", 5);
        else if (n == 0 || (*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r') || *s == 0x7f)
            sb_put(b, "\xef\xbf\xbd", 3);
        else
            sb_put(b, (const char *)s, n);
        s += n ? n : 1;
        budget--;
    }
}

char *mth_qr_svg(const char *text, const char *title)
{
    if (text == NULL || text[0] == '\0' || strlen(text) > MAX_TEXT_LEN)
        return NULL;
    /* Level M (15 % recovery) as the header promises; 8-bit mode is hinted,
     * libqrencode still picks denser modes for runs that allow them. */
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL)
        return NULL;

    int w = qr->width, size = w + 2 * QUIET_ZONE;
    sbuf_t b = {0};
    sb_printf(&b,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
              "role=\"img\" shape-rendering=\"crispEdges\">",
              size, size);
    sb_put(&b, "<title>", 7);
    sb_put_xml_text(&b, title != NULL ? title : "QR code");
    sb_put(&b, "</title>", 8);
    sb_printf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"", size, size);
    /* One subpath per horizontal run of dark modules (bit 0 of each byte). */
    for (int y = 0; y < w; y++) {
        for (int x = 0; x < w;) {
            if (!(qr->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < w && (qr->data[y * w + x + run] & 1))
                run++;
            sb_printf(&b, "M%d %dh%dv1h-%dz", x + QUIET_ZONE, y + QUIET_ZONE, run, run);
            x += run;
        }
    }
    sb_put(&b, "\"/></svg>\n", 10);
    QRcode_free(qr);
    return b.p;
}
