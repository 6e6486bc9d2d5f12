/* HOTP (RFC 4226) and TOTP (RFC 6238) codes and their checking. */
#include "methods/methods.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

static const uint32_t POW10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

uint32_t mth_hotp(const uint8_t *key, size_t keylen, uint64_t counter, unsigned digits)
{
    if (digits < 6 || digits > 8)
        return 0;
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)counter;
        counter >>= 8;
    }
    /* EVP_Q_mac wants a non-NULL key even when it is empty. */
    static const uint8_t empty[1] = {0};
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, keylen ? key : empty, keylen, msg, sizeof(msg), mac,
                  sizeof(mac), &maclen) == NULL ||
        maclen != 20)
        return 0;
    /* RFC 4226 §5.3: dynamic truncation. */
    unsigned off = mac[19] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    OPENSSL_cleanse(mac, sizeof(mac));
    return bin % POW10[digits];
}

/* The typed code as a number: exactly MTH_TOTP_DIGITS digits, spaces
 * anywhere ignored (apps show "123 456"); -1 otherwise. */
static int64_t parse_code(const char *code, size_t len)
{
    int64_t v = 0;
    unsigned nd = 0;
    if (code == NULL || len > 32)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (code[i] == ' ')
            continue;
        if (code[i] < '0' || code[i] > '9' || ++nd > MTH_TOTP_DIGITS)
            return -1;
        v = v * 10 + (code[i] - '0');
    }
    return nd == MTH_TOTP_DIGITS ? v : -1;
}

/* All-ones when a == b, else zero, without a branch on the values. */
static uint64_t eq_mask(uint32_t a, uint32_t b)
{
    uint64_t d = (uint64_t)(a ^ b);
    return ((d | (0 - d)) >> 63) - 1;
}

uint64_t mth_totp_verify(const uint8_t *key, size_t keylen, const char *code, size_t code_len, time_t now,
                         uint64_t last_used_step)
{
    int64_t typed = parse_code(code, code_len);
    if (typed < 0 || now < MTH_TOTP_PERIOD)
        return 0;
    uint64_t t = (uint64_t)now / MTH_TOTP_PERIOD;
    uint64_t found = 0;
    /* RFC 6238 §5.2: one step each side for clock drift. All three codes are
     * computed and compared, so the time taken does not say which matched;
     * the latest matching step wins, so replay protection covers the most. */
    for (uint64_t step = t - 1; step <= t + 1; step++) {
        uint32_t want = mth_hotp(key, keylen, step, MTH_TOTP_DIGITS);
        uint64_t m = eq_mask(want, (uint32_t)typed);
        /* RFC 6238 §5.2: a code is accepted once, so steps up to the last
         * accepted one are spent. */
        m &= (uint64_t)0 - (uint64_t)(step > last_used_step);
        found = (found & ~m) | (step & m);
    }
    return found;
}
