/* base32 (RFC 4648 §6) for TOTP secrets: the alphabet authenticator apps read. */
#include "methods/methods.h"

size_t mth_base32_encode(const uint8_t *in, size_t n, char *out, size_t outsize)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    /* 5 bits per character; no '=' padding (the Key Uri Format omits it). */
    size_t need = (n * 8 + 4) / 5;
    if (n > (SIZE_MAX - 4) / 8 || outsize == 0 || need > outsize - 1)
        return 0;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return o;
}
