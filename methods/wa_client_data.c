/* clientDataJSON (WebAuthn §5.8.1): the browser's statement of what it asked
 * for and where. */
#include "methods/internal.h"

#include <string.h>

#include <openssl/crypto.h>

#include "gateway/crypto.h"
#include "gateway/json.h"

/* 1 when the base64url text `b64` decodes to exactly the challenge issued;
 * the bytes are compared in constant time (the challenge is a secret until
 * it is used). */
static int challenge_matches(const char *b64, const mth_wa_expect_t *e)
{
    size_t n = strlen(b64);
    uint8_t got[GW_B64_DECODED_MAX(GW_B64URL_LEN(MTH_WA_CHALLENGE_MAX))];
    size_t got_len = 0;
    if (e->challenge == NULL || e->challenge_len == 0 || e->challenge_len > MTH_WA_CHALLENGE_MAX ||
        n > GW_B64URL_LEN(MTH_WA_CHALLENGE_MAX) || gw_b64url_decode(b64, n, got, &got_len) != 0 ||
        got_len != e->challenge_len)
        return 0;
    return CRYPTO_memcmp(got, e->challenge, got_len) == 0;
}

mth_wa_status_t mth_wa_client_data_check(const mth_wa_expect_t *e, const char *type, uint8_t hash[32])
{
    if (e == NULL || e->client_data_json == NULL || e->client_data_json_len == 0 ||
        e->client_data_json_len > MTH_WA_CLIENT_DATA_MAX || e->origin == NULL)
        return MTH_WA_MALFORMED;
    /* §7.1 step 5: UTF-8 JSON; our parser also refuses duplicate members,
     * so "type" cannot say one thing to us and another to someone else. */
    gw_json_limits_t lim = {.max_bytes = MTH_WA_CLIENT_DATA_MAX, .max_depth = 4, .require_object = true};
    gw_err_t err;
    yajl_val c = gw_json_parse((const char *)e->client_data_json, e->client_data_json_len, &lim, &err);
    if (c == NULL)
        return MTH_WA_MALFORMED;
    mth_wa_status_t st;
    const char *t = gw_json_str(c, "type"), *ch = gw_json_str(c, "challenge"),
               *origin = gw_json_str(c, "origin");
    bool cross = false;
    if (t == NULL || ch == NULL || origin == NULL ||
        gw_json_get_bool(c, "crossOrigin", &cross) == GW_JSON_WRONG_TYPE) {
        st = MTH_WA_MALFORMED;
    } else if (strcmp(t, type) != 0) { /* §7.1 step 7, §7.2 step 10 */
        st = MTH_WA_WRONG_TYPE;
    } else if (!challenge_matches(ch, e)) { /* step 8 / 11 */
        st = MTH_WA_WRONG_CHALLENGE;
    } else if (strcmp(origin, e->origin) != 0 || cross || gw_json_get(c, "topOrigin") != NULL) {
        /* step 9-10 / 12-13: exactly our origin, and never inside another
         * site's frame (we do not allow being embedded) */
        st = MTH_WA_WRONG_ORIGIN;
    } else {
        gw_sha256(e->client_data_json, e->client_data_json_len, hash); /* step 11 / 14 */
        st = MTH_WA_OK;
    }
    yajl_tree_free(c);
    return st;
}
