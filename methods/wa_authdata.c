/* Authenticator data (WebAuthn §6.1) and the flag checks both ceremonies
 * share. */
#include "methods/internal.h"

#define RP_ID_HASH_LEN 32
#define HEADER_LEN     37 /* rpIdHash, flags, signCount */
#define AAGUID_LEN     16

mth_wa_status_t mth_wa_authdata_parse(const uint8_t *buf, size_t len, int registration,
                                      mth_wa_authdata_t *out)
{
    *out = (mth_wa_authdata_t){0};
    if (buf == NULL || len < HEADER_LEN || len > MTH_WA_AUTHDATA_MAX)
        return MTH_WA_MALFORMED;
    out->rp_id_hash = buf;
    out->flags = buf[32];
    out->sign_count =
        ((uint32_t)buf[33] << 24) | ((uint32_t)buf[34] << 16) | ((uint32_t)buf[35] << 8) | buf[36];
    size_t pos = HEADER_LEN;

    int at = (out->flags & MTH_WA_FLAG_AT) != 0;
    /* §6.1: attested credential data comes with a registration; an
     * assertion that claims some is not one we understand. */
    if (at != (registration != 0))
        return MTH_WA_MALFORMED;
    if (at) {
        if (len - pos < AAGUID_LEN + 2)
            return MTH_WA_MALFORMED;
        out->aaguid = buf + pos;
        pos += AAGUID_LEN;
        size_t id_len = ((size_t)buf[pos] << 8) | buf[pos + 1];
        pos += 2;
        /* §6.5.2 / §7.1 step 25: at most 1023 bytes, never more than is there;
         * at least 16 (§4, Credential ID). */
        if (id_len < MTH_WA_CRED_ID_MIN || id_len > MTH_WA_CRED_ID_MAX || id_len > len - pos)
            return MTH_WA_MALFORMED;
        out->cred_id = buf + pos;
        out->cred_id_len = id_len;
        pos += id_len;
        /* The key's length is only known by walking its CBOR. */
        size_t klen = mth_cbor_item_len(buf + pos, len - pos);
        if (klen == 0 || MTH_CBOR_MAJOR(buf[pos]) != MTH_CBOR_MAP)
            return MTH_WA_MALFORMED;
        out->cose_key = buf + pos;
        out->cose_key_len = klen;
        pos += klen;
    }
    if (out->flags & MTH_WA_FLAG_ED) {
        /* Extensions: one map, which we neither need nor act on. */
        size_t elen = pos < len ? mth_cbor_item_len(buf + pos, len - pos) : 0;
        if (elen == 0 || MTH_CBOR_MAJOR(buf[pos]) != MTH_CBOR_MAP)
            return MTH_WA_MALFORMED;
        pos += elen;
    }
    return pos == len ? MTH_WA_OK : MTH_WA_MALFORMED;
}

mth_wa_status_t mth_wa_flags_check(uint8_t flags)
{
    if (!(flags & MTH_WA_FLAG_UP))
        return MTH_WA_NO_USER_PRESENCE;
    if (!(flags & MTH_WA_FLAG_UV))
        return MTH_WA_NO_USER_VERIFICATION;
    /* §6.1.3: a credential that may not be backed up cannot be backed up. */
    if ((flags & MTH_WA_FLAG_BS) && !(flags & MTH_WA_FLAG_BE))
        return MTH_WA_BACKUP_STATE_INVALID;
    return MTH_WA_OK;
}
