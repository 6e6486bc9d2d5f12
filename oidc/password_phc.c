/* Reading the PHC string libargon2 writes for an Argon2id hash (its
 * encoding.c; the PHC string format of the Password Hashing Competition):
 *
 *     $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>
 *
 * salt and tag in standard base64 without padding. regain reads it itself
 * so a check can run through argon2id_verify_ctx with its own memory
 * (password_memory.c); argon2id_verify would parse it again and malloc.
 * Strict: anything else (another version, extra fields, a sign, a leading
 * zero, padding) is refused here, and oidc_password_verify then leaves the
 * string to argon2id_verify, so what verifies does not change. */
#include <string.h>

#include "gateway/crypto.h"
#include "oidc/signin_internal.h"

static const char PREFIX[] = "$argon2id$v=19$m=";

/* A decimal without sign or leading zero, 1 .. 2^32 - 1, then `end`. */
static const char *read_u32(const char *s, char end, uint32_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    if (*p < '1' || *p > '9')
        return NULL;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return NULL;
        p++;
    }
    if (*p != end)
        return NULL;
    *out = (uint32_t)v;
    return p + 1;
}

/* Standard base64 without padding, `n` characters, into at most `max` bytes
 * (gw_b64url_decode after swapping the two alphabet letters that differ). */
static int read_b64(const char *s, size_t n, uint8_t *out, size_t max, size_t *len)
{
    char url[GW_B64URL_LEN(OIDC_PHC_BYTES_MAX)];
    if (n > sizeof(url))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '-' || c == '_')
            return -1; /* not in the standard alphabet */
        url[i] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    uint8_t buf[GW_B64_DECODED_MAX(sizeof(url))];
    if (gw_b64url_decode(url, n, buf, len) != 0 || *len > max)
        return -1;
    memcpy(out, buf, *len);
    return 0;
}

int oidc_phc_parse(const char *s, oidc_phc_t *h)
{
    if (s == NULL || strncmp(s, PREFIX, sizeof(PREFIX) - 1) != 0)
        return -1;
    const char *p = s + sizeof(PREFIX) - 1;
    if ((p = read_u32(p, ',', &h->m_kib)) == NULL || strncmp(p, "t=", 2) != 0 ||
        (p = read_u32(p + 2, ',', &h->t)) == NULL || strncmp(p, "p=", 2) != 0 ||
        (p = read_u32(p + 2, '$', &h->p)) == NULL)
        return -1;
    const char *dollar = strchr(p, '$');
    if (dollar == NULL || strchr(dollar + 1, '$') != NULL)
        return -1;
    if (read_b64(p, (size_t)(dollar - p), h->salt, sizeof(h->salt), &h->salt_len) != 0 ||
        read_b64(dollar + 1, strlen(dollar + 1), h->tag, sizeof(h->tag), &h->tag_len) != 0)
        return -1;
    /* libargon2's own lower bounds (argon2.h), so argon2_ctx sees no input
     * it would refuse for a reason other than a wrong password. */
    if (h->salt_len < 8 || h->tag_len < 4 || h->p > 0xffffff || h->m_kib < 8 * h->p)
        return -1;
    return 0;
}
