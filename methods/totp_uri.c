/* The otpauth:// enrolment URI (Google Authenticator's Key Uri Format), which
 * every common authenticator app reads from a QR code. */
#include "methods/methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"

/* Longest secret we put in a URI: 64 bytes is far more than RFC 4226 asks. */
#define MAX_KEY_LEN 64
/* Longest issuer or account name, in bytes before encoding: a userName is
 * 1 to 256 characters (schema/002_oidc.sql), up to 4 bytes each in UTF-8. */
#define MAX_NAME_LEN 1024

/* RFC 3986 §2.3 unreserved characters stay; everything else, including ':'
 * (the label's own separator), '/', '&', '=', spaces and every non-ASCII
 * UTF-8 byte, becomes %XX. Spaces are %20, never '+': the label is a path. */
static size_t pct_encode(const char *s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return o;
}

char *mth_totp_uri(const char *issuer, const char *account, const uint8_t *key, size_t keylen)
{
    if (issuer == NULL || account == NULL || key == NULL || keylen == 0 || keylen > MAX_KEY_LEN)
        return NULL;
    size_t ilen = strlen(issuer), alen = strlen(account);
    if (ilen == 0 || alen == 0 || ilen > MAX_NAME_LEN || alen > MAX_NAME_LEN)
        return NULL;

    char secret[MAX_KEY_LEN * 8 / 5 + 2];
    size_t slen = mth_base32_encode(key, keylen, secret, sizeof(secret));
    char *enc_issuer = gw_malloc(ilen * 3 + 1), *enc_account = gw_malloc(alen * 3 + 1);
    size_t eilen = pct_encode(issuer, enc_issuer), ealen = pct_encode(account, enc_account);

    static const char fmt[] = "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d";
    size_t cap = sizeof(fmt) + 2 * eilen + ealen + slen + 16;
    char *uri = gw_malloc(cap);
    /* The issuer is in the label (older apps) and the parameter (newer ones,
     * which prefer it): both, as the Key Uri Format recommends. */
    snprintf(uri, cap, fmt, enc_issuer, enc_account, secret, enc_issuer, MTH_TOTP_DIGITS, MTH_TOTP_PERIOD);
    gw_wipe(secret, sizeof(secret));
    free(enc_issuer);
    free(enc_account);
    return uri;
}
