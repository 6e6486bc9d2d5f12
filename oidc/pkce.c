/* PKCE with S256 (RFC 7636): the check the token endpoint makes before it
 * redeems an authorization code. Pure functions of bytes. */
#include <string.h>

#include "oidc/tokens_internal.h"

/* RFC 7636 §4.1: code-verifier = 43*128unreserved,
 * unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~". */
int oidc_pkce_verifier_valid(const char *v, size_t len)
{
    if (v == NULL || len < OIDC_PKCE_MIN || len > OIDC_PKCE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                 c == '.' || c == '_' || c == '~';
        if (!ok)
            return 0;
    }
    return 1;
}

void oidc_pkce_s256(const char *verifier, size_t len, char out[OIDC_PKCE_S256_LEN + 1])
{
    uint8_t digest[GW_SHA256_LEN];
    gw_sha256(verifier, len, digest);
    gw_b64url_encode(digest, sizeof(digest), out);
}

int oidc_pkce_s256_matches(const char s256[OIDC_PKCE_S256_LEN + 1], const char *challenge)
{
    if (challenge == NULL || strlen(challenge) != OIDC_PKCE_S256_LEN)
        return 0;
    /* The challenge is not secret (it crossed the front channel), but the
     * comparison is constant-time anyway: one habit for every token check. */
    return gw_ct_equal(s256, challenge, OIDC_PKCE_S256_LEN);
}
