/* base64 and base64url (RFC 4648 §4, §5), strict on input.
 *
 * Decoding is strict because tokens are compared and hashed in their encoded
 * form: if "Zg" and "Zh" both decoded to "f", one signature would validate two
 * token strings (RFC 4648 §3.5 calls out the non-zero pad bits). */
#include "gateway/crypto.h"

static const char STD_ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL_ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t encode(const uint8_t *in, size_t n, char *out, const char *alphabet, int pad)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

size_t gw_b64url_encode(const uint8_t *in, size_t n, char *out)
{
    return encode(in, n, out, URL_ALPHABET, 0);
}

size_t gw_b64_encode(const uint8_t *in, size_t n, char *out)
{
    return encode(in, n, out, STD_ALPHABET, 1);
}

/* Value of one character, or -1. Arithmetic rather than a table lookup so the
 * time taken does not depend on secret key bytes through the cache. */
static int char_value(unsigned char c, int url)
{
    int v = -1;
    v += ((c >= 'A') & (c <= 'Z')) * (c - 'A' + 1);
    v += ((c >= 'a') & (c <= 'z')) * (c - 'a' + 27);
    v += ((c >= '0') & (c <= '9')) * (c - '0' + 53);
    if (url) {
        v += (c == '-') * 63;
        v += (c == '_') * 64;
    } else {
        v += (c == '+') * 63;
        v += (c == '/') * 64;
    }
    return v;
}

/* Unpadded decode of m characters; trailing bits must be zero. */
static int decode(const char *in, size_t m, uint8_t *out, size_t *outlen, int url)
{
    if (m % 4 == 1)
        return -1;
    size_t o = 0, i = 0;
    int bad = 0;
    for (; i + 4 <= m; i += 4) {
        int a = char_value((unsigned char)in[i], url), b = char_value((unsigned char)in[i + 1], url);
        int c = char_value((unsigned char)in[i + 2], url), d = char_value((unsigned char)in[i + 3], url);
        bad |= (a | b | c | d) < 0;
        uint32_t v = (uint32_t)(a & 63) << 18 | (uint32_t)(b & 63) << 12 | (uint32_t)(c & 63) << 6 |
                     (uint32_t)(d & 63);
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    size_t rest = m - i;
    if (rest >= 2) {
        int a = char_value((unsigned char)in[i], url), b = char_value((unsigned char)in[i + 1], url);
        int c = rest == 3 ? char_value((unsigned char)in[i + 2], url) : 0;
        bad |= (a | b | c) < 0;
        uint32_t v = (uint32_t)(a & 63) << 18 | (uint32_t)(b & 63) << 12 | (uint32_t)(c & 63) << 6;
        out[o++] = (uint8_t)(v >> 16);
        if (rest == 3) {
            out[o++] = (uint8_t)(v >> 8);
            bad |= (v & 0xff) != 0;
        } else {
            bad |= (v & 0xffff) != 0;
        }
    }
    if (bad)
        return -1;
    *outlen = o;
    return 0;
}

int gw_b64url_decode(const char *in, size_t n, uint8_t *out, size_t *outlen)
{
    return decode(in, n, out, outlen, 1);
}

int gw_b64_decode(const char *in, size_t n, uint8_t *out, size_t *outlen)
{
    if (n % 4 != 0)
        return -1;
    size_t pad = 0;
    if (n > 0 && in[n - 1] == '=')
        pad++;
    if (n > 1 && in[n - 2] == '=')
        pad++;
    /* Any other '=' is not in the alphabet and fails in decode(). */
    return decode(in, n - pad, out, outlen, 0);
}
