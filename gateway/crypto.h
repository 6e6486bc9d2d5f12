/* Cryptographic building blocks: base64, random, digests, AEAD for secrets at
 * rest, key pairs with their JWK form, and compact JWS signed with OpenSSL EVP.
 *
 * Why not libjwt on the hot path: it re-parses the PEM key on every call
 * (DEPENDENCIES.md §6). Here a key is an EVP_PKEY loaded once and shared; the
 * functions below keep no state of their own and are safe to call from several
 * threads with the same key.
 *
 * Only two signature algorithms exist here, ES256 (P-256) and RS256
 * (RSA >= 2048 bits). The verifier's algorithm is always chosen by the caller,
 * never by the token (the alg-confusion trap, DEPENDENCIES.md §6). */
#ifndef REGAIN_GATEWAY_CRYPTO_H
#define REGAIN_GATEWAY_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "gateway/err.h"

struct yajl_val_s;

/* ---- OpenSSL errors (openssl_err.c) ---------------------------------------- */

/* Sets err to GW_E_INTERNAL with `public_msg`, puts the failed `call` and
 * OpenSSL's reason in the log-only detail, and clears OpenSSL's error queue
 * (a stale entry would be blamed on the next call). Returns -1. */
int gw_openssl_fail(gw_err_t *err, const char *public_msg, const char *call);

/* ---- base64 (b64.c) ------------------------------------------------------ */

/* Characters of base64url without padding (RFC 4648 §5, RFC 7515 §2) for n bytes. */
#define GW_B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
/* Characters of padded standard base64 (RFC 4648 §4) for n bytes. */
#define GW_B64_LEN(n) ((((n) + 2) / 3) * 4)
/* Bytes a decoder may write for n input characters (either alphabet). */
#define GW_B64_DECODED_MAX(n) (((n) / 4) * 3 + 2)

/* Encode n bytes as base64url without padding into out, which has room for
 * GW_B64URL_LEN(n) + 1 characters; NUL-terminates and returns the length. */
size_t gw_b64url_encode(const uint8_t *in, size_t n, char *out);

/* Decode n characters of base64url without padding into out (room for
 * GW_B64_DECODED_MAX(n) bytes); *outlen gets the byte count. Strict: returns -1
 * on '=', whitespace, any byte outside the url alphabet, a length of 4k+1, or
 * non-zero unused trailing bits (so each byte string has exactly one encoding). */
int gw_b64url_decode(const char *in, size_t n, uint8_t *out, size_t *outlen);

/* Standard base64 with '=' padding (RFC 4648 §4), for keys in config files.
 * Encode: out has room for GW_B64_LEN(n) + 1; NUL-terminates, returns length. */
size_t gw_b64_encode(const uint8_t *in, size_t n, char *out);

/* Decode padded standard base64, strictly: length a multiple of 4, padding only
 * at the end and only where needed, zero trailing bits, no whitespace. out has
 * room for GW_B64_DECODED_MAX(n) bytes. Returns 0, or -1 on any violation. */
int gw_b64_decode(const char *in, size_t n, uint8_t *out, size_t *outlen);

/* ---- random, digests, comparison (rand_hash.c) --------------------------- */

#define GW_SHA256_LEN 32

/* Fill buf with n bytes from OpenSSL's CSPRNG (up to 64 through a
 * per-thread buffer it refills 4 KiB at a time, rand_hash.c says why).
 * Aborts if it fails: a server that cannot draw randomness must not mint
 * codes or nonces. */
void gw_random_bytes(uint8_t *buf, size_t n);

/* SHA-256 of n bytes. */
void gw_sha256(const void *data, size_t n, uint8_t out[GW_SHA256_LEN]);

/* The SHA-256 implementation, fetched once (never free it). */
const EVP_MD *gw_sha256_md(void);

/* An HMAC-SHA-256 key prepared once, for a key used many times (the secret
 * hashing key): each gw_hmac_run then costs two digest copies, not a key
 * schedule and two algorithm look-ups. */
typedef struct {
    EVP_MD_CTX *inner, *outer;
} gw_hmac_key_t;
void gw_hmac_init(gw_hmac_key_t *k, const uint8_t *key, size_t klen);
void gw_hmac_run(const gw_hmac_key_t *k, const void *msg, size_t n, uint8_t out[GW_SHA256_LEN]);
void gw_hmac_dispose(gw_hmac_key_t *k);

/* HMAC-SHA-256 (RFC 2104) of msg under key. */
void gw_hmac_sha256(const uint8_t *key, size_t klen, const void *msg, size_t n, uint8_t out[GW_SHA256_LEN]);

/* 1 when the n bytes at a and b are equal, else 0, in time independent of
 * where they differ. Use it for every secret, MAC and token comparison. */
int gw_ct_equal(const void *a, const void *b, size_t n);

/* ---- AEAD for secrets at rest (aead.c) ----------------------------------- */

#define GW_AEAD_KEY_LEN   32
#define GW_AEAD_NONCE_LEN 12
#define GW_AEAD_TAG_LEN   16
/* Bytes a sealed box adds to its plaintext. */
#define GW_AEAD_OVERHEAD (GW_AEAD_NONCE_LEN + GW_AEAD_TAG_LEN)

/* AES-256-GCM: *out = random 12-byte nonce || ciphertext || 16-byte tag,
 * *outlen = n + GW_AEAD_OVERHEAD; the caller frees *out with free(). aad
 * (may be NULL when aadlen is 0) binds the box to its context, e.g. the table
 * and row id, so a box copied to another row does not open. Random nonces:
 * keep one key under 2^32 seals (NIST SP 800-38D §8.3), then rotate.
 * Errors: GW_E_INTERNAL when OpenSSL fails. */
int gw_aead_seal(const uint8_t key[GW_AEAD_KEY_LEN], const void *aad, size_t aadlen, const void *pt, size_t n,
                 uint8_t **out, size_t *outlen, gw_err_t *err);

/* Inverse of gw_aead_seal: *out gets the plaintext (always NUL-terminated one
 * byte past *outlen, for convenience); the caller wipes it with gw_wipe and
 * frees it. Errors: GW_E_INTERNAL "sealed data failed authentication" for a
 * wrong key, wrong aad, any changed byte or an input shorter than the overhead;
 * nothing is returned then. Callers that open client-supplied boxes map the
 * kind to their own protocol error. */
int gw_aead_open(const uint8_t key[GW_AEAD_KEY_LEN], const void *aad, size_t aadlen, const uint8_t *box,
                 size_t boxlen, uint8_t **out, size_t *outlen, gw_err_t *err);

/* ---- key pairs and JWK (keypair.c) --------------------------------------- */

#define GW_RSA_MIN_BITS 2048
#define GW_RSA_MAX_BITS 8192
/* Characters of an RFC 7638 SHA-256 thumbprint in base64url. */
#define GW_THUMBPRINT_LEN GW_B64URL_LEN(GW_SHA256_LEN)

/* New P-256 key pair in *out; the caller releases it with EVP_PKEY_free.
 * Errors: GW_E_INTERNAL. */
int gw_key_generate_ec_p256(EVP_PKEY **out, gw_err_t *err);

/* New RSA key pair of bits (GW_RSA_MIN_BITS..GW_RSA_MAX_BITS, a multiple of 8)
 * with e = 65537 in *out; EVP_PKEY_free it. Errors: GW_E_INTERNAL, also for a
 * size out of range. RSA-4096 generation takes about a second: not on a loop
 * thread. */
int gw_key_generate_rsa(unsigned bits, EVP_PKEY **out, gw_err_t *err);

/* The JWS algorithm a key can sign with: "ES256" for P-256, "RS256" for RSA of
 * GW_RSA_MIN_BITS..GW_RSA_MAX_BITS, NULL for anything else (static strings). */
const char *gw_key_jws_alg(const EVP_PKEY *key);

/* Private key as PKCS#8 DER in *der (length *len); the caller wipes it with
 * gw_wipe and frees it with free(). Errors: GW_E_INTERNAL, also for a key type
 * gw_key_jws_alg does not accept or a key without its private half. */
int gw_key_private_der(EVP_PKEY *key, uint8_t **der, size_t *len, gw_err_t *err);

/* Parse PKCS#8 DER back into a private key; EVP_PKEY_free it. Only keys
 * gw_key_jws_alg accepts load. Errors: GW_E_INTERNAL with the OpenSSL reason in
 * the detail. */
int gw_key_from_private_der(const uint8_t *der, size_t len, EVP_PKEY **out, gw_err_t *err);

/* Public key as SPKI PEM ("-----BEGIN PUBLIC KEY-----"), the form libjwt and
 * jose accept; *pem is NUL-terminated, *len excludes the NUL (len may be NULL);
 * free() it. Errors: GW_E_INTERNAL. */
int gw_key_public_pem(EVP_PKEY *key, char **pem, size_t *len, gw_err_t *err);

/* Public JWK JSON text (RFC 7517, RFC 7518 §6.2.1/§6.3.1) of key, members in
 * RFC 7638 order: {"crv":"P-256","kty":"EC","x":..,"y":..} with 32-byte
 * coordinates or {"e":..,"kty":"RSA","n":..}, then "kid", "alg" and "use" for
 * those arguments that are not NULL (JSON-escaped here). Never any private
 * member. *json is NUL-terminated; free() it. Errors: GW_E_INTERNAL for an
 * unsupported key or a control character in kid/alg/use. */
int gw_key_public_jwk(EVP_PKEY *key, const char *kid, const char *alg, const char *use, char **json,
                      gw_err_t *err);

/* RFC 7638 thumbprint: base64url(SHA-256(required members, sorted, no spaces))
 * written to out (GW_THUMBPRINT_LEN + 1 with the NUL). This is our `kid`.
 * Errors: GW_E_INTERNAL for an unsupported key. */
int gw_key_thumbprint(EVP_PKEY *key, char out[GW_THUMBPRINT_LEN + 1], gw_err_t *err);

/* Parse a public JWK (n bytes of JSON text, one object) into a public key;
 * EVP_PKEY_free it. Accepts kty EC with crv P-256 (x and y exactly 32 bytes,
 * the point on the curve) and kty RSA (GW_RSA_MIN_BITS..GW_RSA_MAX_BITS, odd
 * e > 1). Refuses missing or non-string members, a private member ("d", "p",
 * ...), and "use" other than "sig". Errors: GW_E_INVALID_REQUEST with a public
 * reason (client metadata and provider JWKS are untrusted input). */
int gw_key_from_jwk(const char *json, size_t n, EVP_PKEY **out, gw_err_t *err);

/* Same for one object already parsed by yajl (an element of a JWKS "keys"
 * array). The tree stays the caller's. */
int gw_key_from_jwk_value(const struct yajl_val_s *obj, EVP_PKEY **out, gw_err_t *err);

/* ---- JWS compact serialization (jws.c) ----------------------------------- */

/* Longest compact JWS we accept: tokens larger than this are refused before
 * any decoding work (an ID token with verified_claims is ~3 KiB). */
#define GW_JWS_MAX_LEN 16384
/* Longest raw signature: RSA-8192. */
#define GW_JWS_MAX_SIG 1024

/* A compact JWS split and decoded, not verified. All pointers point into one
 * allocation owned by the struct; gw_jws_dispose releases it. */
typedef struct {
    const char *header; /* decoded protected header, JSON object, NUL-terminated */
    size_t header_len;
    const char *payload; /* decoded payload, NUL-terminated (no NUL inside) */
    size_t payload_len;
    const uint8_t *sig; /* raw signature bytes */
    size_t sig_len;
    const char *alg;          /* header "alg", NUL-terminated */
    size_t signing_input_len; /* bytes of the compact form before the second '.' */
    void *_buf;
} gw_jws_t;

/* Split a compact JWS of len bytes (RFC 7515 §7.1) and decode its parts.
 * Refuses: len 0 or > GW_JWS_MAX_LEN, other than exactly three non-empty
 * segments, non-strict base64url, a header that is not a JSON object, lacks a
 * string "alg", repeats a member name, or carries "crit" (we understand no
 * extensions, RFC 7515 §4.1.11), and NUL bytes inside header or payload.
 * On success the caller calls gw_jws_dispose. Errors: GW_E_INVALID_TOKEN. */
int gw_jws_parse(const char *compact, size_t len, gw_jws_t *out, gw_err_t *err);

/* Release what gw_jws_parse allocated and zero the struct; safe to call twice
 * or after a failed parse. */
void gw_jws_dispose(gw_jws_t *jws);

/* Sign payload (payload_len bytes, normally JSON claims) as a compact JWS with
 * alg "ES256" or "RS256", which must match the key (gw_key_jws_alg).
 * header_extra_json is NULL or trusted JSON members without braces, e.g.
 * "\"kid\":\"..\",\"typ\":\"at+jwt\"", appended after "alg"; it must not
 * contain its own "alg". ES256 signatures are raw R||S (RFC 7518 §3.4), RS256
 * is RSASSA-PKCS1-v1_5 with SHA-256. *out is NUL-terminated; free() it.
 * Errors: GW_E_INTERNAL. */
int gw_jws_sign(EVP_PKEY *key, const char *alg, const char *header_extra_json, const char *payload,
                size_t payload_len, char **out, gw_err_t *err);

/* Verify a compact JWS with a public (or private) key and the algorithm the
 * caller expects. The header's alg must equal expected_alg, which must be
 * "ES256" or "RS256" and match the key; anything else ("none", "HS256", a
 * different family) is refused before any signature work. On success
 * *header_json and *payload_json (each may be NULL when not wanted) get
 * NUL-terminated copies the caller frees with free(). Claims (exp, iss, aud)
 * are not checked here. Errors: GW_E_INVALID_TOKEN with a public reason;
 * GW_E_INTERNAL when expected_alg does not fit the key (a caller bug). */
int gw_jws_verify(EVP_PKEY *pub, const char *expected_alg, const char *compact, size_t len,
                  char **header_json, char **payload_json, gw_err_t *err);

#endif
