/* Fuzz target: WebAuthn attestation objects (CBOR, authenticator data, COSE
 * keys, attestation statements) through mth_wa_verify_registration, and the
 * same bytes as an assertion's authenticator data.
 *
 * The client data is fixed and valid, with rp id "localhost", so inputs get
 * past the JSON checks into the CBOR. Seeds are the objects captured from
 * Chromium (tests/unit/data/webauthn/). Whatever the input, the result must
 * be a defined status, and only a "none" or "packed" object can succeed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "methods/internal.h"
#include "methods/methods.h"

static const char CLIENT_DATA_CREATE[] =
    "{\"type\":\"webauthn.create\",\"challenge\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
    "\"origin\":\"http://localhost:8765\",\"crossOrigin\":false}";
static const char CLIENT_DATA_GET[] =
    "{\"type\":\"webauthn.get\",\"challenge\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\","
    "\"origin\":\"http://localhost:8765\",\"crossOrigin\":false}";

/* A P-256 SubjectPublicKeyInfo: the curve's base point as the key. */
static const uint8_t STORED_SPKI[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1,
    0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d,
    0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe,
    0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b,
    0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t challenge[32];
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)i;
    mth_wa_expect_t e = {"localhost",
                         "http://localhost:8765",
                         challenge,
                         sizeof(challenge),
                         (const uint8_t *)CLIENT_DATA_CREATE,
                         sizeof(CLIENT_DATA_CREATE) - 1};
    mth_wa_credential_t c;
    mth_wa_status_t st = mth_wa_verify_registration(&e, data, size, &c);
    if (st < MTH_WA_OK || st > MTH_WA_BACKUP_STATE_INVALID || strcmp(mth_wa_reason(st), "unknown") == 0)
        abort();
    if (st == MTH_WA_OK) {
        if (c.public_key_der == NULL || c.id_len == 0 || c.id_len > MTH_WA_CRED_ID_MAX ||
            (strcmp(c.fmt, "none") != 0 && strcmp(c.fmt, "packed") != 0))
            abort();
    } else if (c.public_key_der != NULL) {
        abort();
    }
    mth_wa_credential_free(&c);

    /* The same bytes as assertion authenticator data, the last 72 as a
     * signature. */
    e.client_data_json = (const uint8_t *)CLIENT_DATA_GET;
    e.client_data_json_len = sizeof(CLIENT_DATA_GET) - 1;
    mth_wa_stored_t s = {MTH_COSE_ES256, STORED_SPKI, sizeof(STORED_SPKI), 0, 0};
    mth_wa_assertion_t out;
    size_t sig_len = size > 72 ? 72 : size / 2;
    st = mth_wa_verify_assertion(&e, &s, data, size - sig_len, data + size - sig_len, sig_len, &out);
    if (st < MTH_WA_OK || st > MTH_WA_BACKUP_STATE_INVALID)
        abort();
    return 0;
}
