/* Declarations private to methods/: the pieces the WebAuthn ceremonies are
 * built from, each in its own file and each usable by the unit tests and the
 * fuzz target on its own. */
#ifndef REGAIN_METHODS_INTERNAL_H
#define REGAIN_METHODS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>
#include <openssl/evp.h>

#include "methods/methods.h"

/* Size limits on what a client sends. Generous for real authenticators (an
 * RSA-4096 key with a 1023-byte credential id and a few extensions is under
 * 2 KiB of authenticator data; an x5c chain a few KiB), small enough that
 * nothing a client sends costs us much. */
#define MTH_WA_ATTESTATION_OBJECT_MAX 32768
#define MTH_WA_AUTHDATA_MAX           8192
#define MTH_WA_CLIENT_DATA_MAX        4096
#define MTH_WA_SIGNATURE_MAX          1024 /* RSA-8192 */
#define MTH_WA_CHALLENGE_MAX          64   /* bytes we ever issue, and then some */

/* ---- CBOR (wa_cbor.c) ----------------------------------------------------- */

/* Limits of the well-formedness pass that runs before libcbor sees a byte. */
#define MTH_CBOR_MAX_DEPTH 8
#define MTH_CBOR_MAX_ITEMS 1024
/* The major type of an item from its first byte (RFC 8949 §3.1). */
#define MTH_CBOR_MAJOR(b) ((unsigned)(b) >> 5)
#define MTH_CBOR_MAP      5

/* Encoded length of the one CBOR data item at buf[0..len), or 0 when it is
 * not well-formed or not in the subset WebAuthn uses: indefinite lengths,
 * tags, reserved additional information and one-byte simple values are
 * refused (CTAP2 canonical CBOR has none), as is any declared length larger
 * than the bytes left (a count of array or map entries included, each entry
 * taking at least one byte), nesting deeper than MTH_CBOR_MAX_DEPTH and more
 * than MTH_CBOR_MAX_ITEMS items. Checked before cbor_load so libcbor never
 * allocates for a size field it was not shown the bytes for. */
size_t mth_cbor_item_len(const uint8_t *buf, size_t len);

/* One item, loaded by libcbor after mth_cbor_item_len accepted it. With
 * `used` NULL the item must fill all `len` bytes; otherwise *used gets its
 * length and the bytes after it are the caller's. NULL when malformed. The
 * caller releases the item with cbor_decref. */
cbor_item_t *mth_cbor_load(const uint8_t *buf, size_t len, size_t *used);

/* Look-ups in a map. Each returns 0 and sets *out to the value, or to NULL
 * when the key is absent; -1 when the key appears more than once (a map with
 * two answers to one question is malformed). The value stays the map's. */
int mth_cbor_map_int(const cbor_item_t *map, int64_t key, cbor_item_t **out);
int mth_cbor_map_str(const cbor_item_t *map, const char *key, cbor_item_t **out);

/* An integer item (major type 0 or 1) that fits int64: 0 and *out, else -1. */
int mth_cbor_int(const cbor_item_t *item, int64_t *out);

/* A definite byte string's bytes: 0, *data and *len; else -1. */
int mth_cbor_bytes(const cbor_item_t *item, const uint8_t **data, size_t *len);

/* ---- authenticator data (wa_authdata.c) ------------------------------------ */

/* Authenticator data split per WebAuthn §6.1. Pointers point into the parsed
 * buffer. */
typedef struct {
    const uint8_t *rp_id_hash; /* 32 bytes */
    uint8_t flags;
    uint32_t sign_count;
    /* attested credential data (§6.5.2), when flags has AT */
    const uint8_t *aaguid; /* 16 bytes */
    const uint8_t *cred_id;
    size_t cred_id_len;
    const uint8_t *cose_key; /* the credential public key, one CBOR item */
    size_t cose_key_len;
} mth_wa_authdata_t;

/* Parses `len` bytes of authenticator data. `registration` 1: AT must be set
 * and the attested credential data must parse (credential id of
 * MTH_WA_CRED_ID_MIN to MTH_WA_CRED_ID_MAX bytes, then one COSE key item); 0 (an assertion): AT
 * must be clear. With ED, one CBOR map of extensions follows. Nothing may
 * follow the last part. MTH_WA_OK or MTH_WA_MALFORMED. */
mth_wa_status_t mth_wa_authdata_parse(const uint8_t *buf, size_t len, int registration,
                                      mth_wa_authdata_t *out);

/* The flag checks shared by both ceremonies: UP (§7.1 step 14, §7.2 step
 * 16), UV (we always require it), and BS only with BE (§7.1 step 16, §7.2
 * step 18). */
mth_wa_status_t mth_wa_flags_check(uint8_t flags);

/* ---- COSE keys (wa_cose.c) ------------------------------------------------- */

/* A credential public key (COSE_Key, RFC 9052 §7) as an OpenSSL key:
 * EC2 P-256 with alg ES256 (RFC 9053 §2.1, §7.1.1), OKP Ed25519 with alg
 * EdDSA (RFC 9053 §2.2, §7.2), RSA with alg RS256 (RFC 8230 §2, §4; 2048 to
 * 8192 bits, odd e). The key's own alg (WebAuthn §5.8.5 requires it) goes to
 * *alg. MTH_WA_UNSUPPORTED_ALG for another alg; MTH_WA_MALFORMED for a key
 * that is not well-formed, mixes types (kty, crv and alg disagree), repeats
 * a label, carries a private part, or whose point is not on the curve. The
 * caller frees *key with EVP_PKEY_free. */
mth_wa_status_t mth_wa_cose_key_parse(const uint8_t *buf, size_t len, int *alg, EVP_PKEY **key);

/* 1 when `key` is of the kind `alg` signs with (P-256 for ES256, RSA of 2048
 * to 8192 bits for RS256, Ed25519 for EdDSA), else 0. */
int mth_wa_key_fits_alg(EVP_PKEY *key, int alg);

/* ---- signatures (wa_signature.c) ------------------------------------------- */

/* Verifies `sig` over a || b with `key` and COSE `alg`: ES256 is ECDSA P-256
 * with SHA-256 and a DER signature (WebAuthn §6.5.6), RS256 RSASSA-PKCS1-v1_5
 * with SHA-256, EdDSA pure Ed25519 over the message itself. MTH_WA_OK, or
 * MTH_WA_BAD_SIGNATURE (also when the key does not fit alg). */
mth_wa_status_t mth_wa_signature_verify(EVP_PKEY *key, int alg, const uint8_t *sig, size_t sig_len,
                                        const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* ---- client data (wa_client_data.c) --------------------------------------- */

/* WebAuthn §7.1 steps 5-11 / §7.2 steps 7-13 on e->client_data_json: JSON
 * (strict), type equal to `type`, challenge (base64url) equal to
 * e->challenge in constant time, origin equal to e->origin, crossOrigin
 * absent or false, no topOrigin (we are never embedded). On MTH_WA_OK, `hash`
 * gets SHA-256 of the client data. */
mth_wa_status_t mth_wa_client_data_check(const mth_wa_expect_t *e, const char *type, uint8_t hash[32]);

/* ---- attestation statements (wa_attestation.c) ----------------------------- */

/* Verifies the attestation statement `att_stmt` of format `fmt` (§8.7 none:
 * an empty map; §8.2 packed: alg and sig, with x5c the leaf certificate's
 * key and §8.2.1 requirements, without x5c self attestation by the
 * credential key `cred_key` of `cred_alg`) over auth_data || client_hash.
 * MTH_WA_UNSUPPORTED_ATTESTATION for another format. */
mth_wa_status_t mth_wa_attestation_verify(const char *fmt, size_t fmt_len, const cbor_item_t *att_stmt,
                                          const uint8_t *auth_data, size_t ad_len,
                                          const uint8_t client_hash[32], EVP_PKEY *cred_key, int cred_alg,
                                          const uint8_t aaguid[16]);

#endif
