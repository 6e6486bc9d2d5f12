/* Sign-in method primitives: passkeys (WebAuthn Level 3 ceremonies' checks),
 * authenticator apps (TOTP, RFC 6238) and QR codes for enrolment.
 *
 * Pure functions: no I/O, no database, no HTTP, no global state, safe on any
 * thread. The oidc/ sign-in area stores what these return and decides what a
 * result means for a session; this folder only answers "is this valid?". */
#ifndef REGAIN_METHODS_H
#define REGAIN_METHODS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- WebAuthn ------------------------------------------------------------- */

/* Bytes of a challenge we issue (WebAuthn §13.4.3 asks for at least 16). */
#define MTH_WA_CHALLENGE_LEN 32
/* Credential ids are at most 1023 bytes (WebAuthn §5.8.3 / CTAP2), and at
 * least 16: an authenticator makes "at least 16 bytes that include at least
 * 100 bits of entropy" or an encrypted credential source, longer still
 * (WebAuthn Level 3 §4, Credential ID); webauthn_credentials keeps 16..1023. */
#define MTH_WA_CRED_ID_MIN 16
#define MTH_WA_CRED_ID_MAX 1023

/* COSE algorithm identifiers we accept (IANA COSE Algorithms registry). */
enum { MTH_COSE_ES256 = -7, MTH_COSE_EDDSA = -8, MTH_COSE_RS256 = -257 };

/* Authenticator data flags (WebAuthn §6.1). */
enum {
    MTH_WA_FLAG_UP = 0x01, /* user present */
    MTH_WA_FLAG_UV = 0x04, /* user verified */
    MTH_WA_FLAG_BE = 0x08, /* backup eligible (a synced passkey can be) */
    MTH_WA_FLAG_BS = 0x10, /* backed up */
    MTH_WA_FLAG_AT = 0x40, /* attested credential data present */
    MTH_WA_FLAG_ED = 0x80, /* extension data present */
};

/* Why a ceremony's result was refused. Each has a stable reason code for the
 * audit log (mth_wa_reason). */
typedef enum {
    MTH_WA_OK = 0,
    MTH_WA_MALFORMED,               /* CBOR, JSON or authenticator data that does not parse */
    MTH_WA_WRONG_TYPE,              /* clientDataJSON.type is not the ceremony's */
    MTH_WA_WRONG_CHALLENGE,         /* clientDataJSON.challenge is not the one issued */
    MTH_WA_WRONG_ORIGIN,            /* clientDataJSON.origin, or crossOrigin true */
    MTH_WA_WRONG_RP_ID,             /* rpIdHash is not SHA-256 of our RP ID */
    MTH_WA_NO_USER_PRESENCE,        /* UP not set */
    MTH_WA_NO_USER_VERIFICATION,    /* UV not set: we always require it */
    MTH_WA_UNSUPPORTED_ALG,         /* credential key not ES256, RS256 or EdDSA */
    MTH_WA_UNSUPPORTED_ATTESTATION, /* a format other than "none" and "packed" */
    MTH_WA_BAD_SIGNATURE,           /* attestation or assertion signature does not verify */
    MTH_WA_COUNTER_ROLLBACK,        /* a valid signature with a counter that did not increase */
    MTH_WA_BACKUP_STATE_INVALID,    /* BS without BE, or BE differs from registration */
} mth_wa_status_t;

/* "malformed", "wrong_challenge", "bad_signature", "counter_rollback", ... */
const char *mth_wa_reason(mth_wa_status_t s);

/* What the relying party expects of a ceremony. */
typedef struct {
    const char *rp_id;        /* "login.example.com": the issuer's host */
    const char *origin;       /* "https://login.example.com" (with ":port" when not 443) */
    const uint8_t *challenge; /* the challenge we issued, raw bytes */
    size_t challenge_len;
    const uint8_t *client_data_json; /* the client's clientDataJSON, raw bytes */
    size_t client_data_json_len;
} mth_wa_expect_t;

/* A credential as registration found it. */
typedef struct {
    uint8_t id[MTH_WA_CRED_ID_MAX];
    size_t id_len;
    int alg;                 /* MTH_COSE_* */
    uint8_t *public_key_der; /* SubjectPublicKeyInfo DER, malloc'd */
    size_t public_key_der_len;
    uint8_t aaguid[16];
    uint32_t sign_count;
    uint8_t flags; /* authenticator data flags of the registration */
    char fmt[16];  /* attestation format: "none" or "packed" */
} mth_wa_credential_t;

/* Frees what mth_wa_verify_registration allocated (safe on a zeroed struct). */
void mth_wa_credential_free(mth_wa_credential_t *c);

/* Verifies a registration (WebAuthn §7.1 steps on clientDataJSON, the
 * attestation object's authenticator data and statement): type
 * "webauthn.create", challenge, origin, rpIdHash, UP and UV set, AT present,
 * a supported algorithm, attestation "none" (empty statement) or "packed"
 * (self attestation: signed by the credential key itself; or with x5c: the
 * signature checked with the leaf certificate, which we do not chain to a
 * root). On MTH_WA_OK fills `out`; on any other status `out` holds nothing
 * to free. Left to the caller (it needs the database): that the credential
 * id is not registered yet and equals the response's rawId (§7.1 step 26).
 * An attestation object over 32 KiB, or client data over 4 KiB, is
 * MTH_WA_MALFORMED. */
mth_wa_status_t mth_wa_verify_registration(const mth_wa_expect_t *e, const uint8_t *attestation_object,
                                           size_t len, mth_wa_credential_t *out);

/* A stored credential, as an assertion is checked against it. */
typedef struct {
    int alg;
    const uint8_t *public_key_der;
    size_t public_key_der_len;
    uint32_t sign_count; /* the last counter seen */
    int backup_eligible; /* BE at registration */
} mth_wa_stored_t;

/* What a verified assertion reports, for the caller to store. */
typedef struct {
    uint32_t sign_count;
    uint8_t flags;
} mth_wa_assertion_t;

/* Verifies an authentication assertion (WebAuthn §7.2): type "webauthn.get",
 * challenge, origin, rpIdHash, UP and UV, BE unchanged and BS only with BE,
 * the signature over authenticatorData || SHA-256(clientDataJSON) with the
 * stored key, and then the counter: when either counter is non-zero the new
 * one must be greater, else MTH_WA_COUNTER_ROLLBACK (only ever returned for
 * an otherwise valid assertion, so it can be audited as a cloned key). `out`
 * is filled on MTH_WA_OK and on MTH_WA_COUNTER_ROLLBACK (the counter seen,
 * for the audit record). MTH_WA_MALFORMED also when the stored key does not
 * load or is not of the stored algorithm's kind. Left to the caller: that
 * the credential id is one the ceremony allowed, and for a username-less
 * sign-in that the response's userHandle names the credential's owner
 * (§7.2 steps 5-6). */
mth_wa_status_t mth_wa_verify_assertion(const mth_wa_expect_t *e, const mth_wa_stored_t *cred,
                                        const uint8_t *authenticator_data, size_t ad_len,
                                        const uint8_t *signature, size_t sig_len, mth_wa_assertion_t *out);

/* ---- TOTP (RFC 6238 over RFC 4226 HOTP) ----------------------------------- */

#define MTH_TOTP_SECRET_LEN 20 /* bytes: RFC 4226 §4 recommends 160 bits */
#define MTH_TOTP_DIGITS     6
#define MTH_TOTP_PERIOD     30 /* seconds */

/* RFC 4648 §6 base32 without padding into `out` (NUL-terminated); returns the
 * length, or 0 when `outsize` is too small. */
size_t mth_base32_encode(const uint8_t *in, size_t n, char *out, size_t outsize);

/* HOTP value (RFC 4226 §5.3) of `counter` with HMAC-SHA-1, `digits` 6..8
 * (0 for any other digit count). */
uint32_t mth_hotp(const uint8_t *key, size_t keylen, uint64_t counter, unsigned digits);

/* Checks a 6-digit code typed at time `now` against the steps now-1, now,
 * now+1 (RFC 6238 §5.2 window), skipping any step <= `last_used_step` so a
 * code is accepted once. Spaces in `code` are ignored. Returns the matched
 * step, or 0. Comparisons take the same time whatever matches. */
uint64_t mth_totp_verify(const uint8_t *key, size_t keylen, const char *code, size_t code_len, time_t now,
                         uint64_t last_used_step);

/* The otpauth://totp/ enrolment URI (the Key Uri Format that authenticator
 * apps read): label "issuer:account", secret in base32, issuer, SHA1, 6
 * digits, 30 s; components percent-encoded (RFC 3986 unreserved characters
 * kept, everything else, ':' and UTF-8 included, as %XX). malloc'd; NULL for
 * a NULL or empty issuer or account, either over 1024 bytes (a userName's
 * 256 characters of UTF-8), or a key of 0 or more than 64 bytes. */
char *mth_totp_uri(const char *issuer, const char *account, const uint8_t *key, size_t keylen);

/* ---- QR codes --------------------------------------------------------------- */

/* `text` as a QR code (libqrencode, error correction M) drawn as a standalone
 * SVG document with a 4-module quiet zone and a <title> for screen readers
 * (`title` XML-escaped; NULL gives "QR code"); the same text always gives the
 * same document. malloc'd; NULL when the text is empty or does not fit a QR
 * code. */
char *mth_qr_svg(const char *text, const char *title);

#endif
