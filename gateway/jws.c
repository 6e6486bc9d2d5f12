/* JWS compact serialization (RFC 7515 §7.1) with ES256 and RS256 (RFC 7518
 * §3.3, §3.4), signed and verified with OpenSSL EVP on keys loaded once. */
#include "gateway/crypto.h"

#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include "gateway/alloc.h"
#include "gateway/json.h"

#define ES256_COORD 32
#define ES256_SIG   (2 * ES256_COORD)
/* Longest alg name we keep; real ones have 5 characters. */
#define ALG_MAX 31
/* A protected header has a few members (alg, kid, typ, x5t, jwk); these caps
 * keep hostile input cheap. */
#define HEADER_MAX_MEMBERS 32
#define HEADER_MAX_DEPTH   8

static int bad_token(gw_err_t *err, const char *why)
{
    return GW_ERRF(err, GW_E_INVALID_TOKEN, "malformed token: %s", why);
}

/* Check the decoded protected header and copy its alg into alg_out. */
static int check_header(const char *header, size_t len, char *alg_out, gw_err_t *err)
{
    /* "a completely valid JSON object" (RFC 7515 §5.2, step 3), parsed
     * strictly: no comments, which yajl's own tree parser takes and which
     * can hide a member from one reader but not another, and no duplicate
     * member (§4 lets a parser reject them or take the last; others take
     * the first: two readings of one header is how alg gets swapped). */
    const gw_json_limits_t limits = {
        .max_bytes = GW_JWS_MAX_LEN, .max_depth = HEADER_MAX_DEPTH, .require_object = true};
    gw_err_t jerr;
    yajl_val tree = gw_json_parse(header, len, &limits, &jerr);
    int rc = -1;
    if (tree == NULL)
        return bad_token(err, "header is not a strict JSON object");
    size_t count = tree->u.object.len;
    if (count > HEADER_MAX_MEMBERS) {
        bad_token(err, "header has too many members");
        goto done;
    }
    const char *alg = NULL;
    for (size_t i = 0; i < count; i++) {
        const char *key = tree->u.object.keys[i];
        if (strcmp(key, "crit") == 0) {
            /* RFC 7515 §4.1.11: we understand no extension, so any crit fails. */
            bad_token(err, "unsupported crit header");
            goto done;
        }
        if (strcmp(key, "alg") == 0) {
            yajl_val v = tree->u.object.values[i];
            if (!YAJL_IS_STRING(v)) {
                bad_token(err, "alg is not a string");
                goto done;
            }
            alg = v->u.string;
        }
    }
    if (alg == NULL) {
        bad_token(err, "missing alg");
        goto done;
    }
    size_t alen = strlen(alg);
    if (alen == 0 || alen > ALG_MAX) {
        bad_token(err, "unsupported alg");
        goto done;
    }
    memcpy(alg_out, alg, alen + 1);
    rc = 0;
done:
    yajl_tree_free(tree);
    return rc;
}

void gw_jws_dispose(gw_jws_t *jws)
{
    if (jws == NULL)
        return;
    free(jws->_buf);
    memset(jws, 0, sizeof(*jws));
}

int gw_jws_parse(const char *compact, size_t len, gw_jws_t *out, gw_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (compact == NULL || len == 0)
        return bad_token(err, "empty");
    if (len > GW_JWS_MAX_LEN)
        return bad_token(err, "too long");
    const char *d1 = memchr(compact, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - compact)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - compact)) != NULL)
        return bad_token(err, "not three segments");
    size_t hl = (size_t)(d1 - compact), pl = (size_t)(d2 - d1 - 1), sl = len - (size_t)(d2 + 1 - compact);
    if (hl == 0 || pl == 0 || sl == 0)
        return bad_token(err, "empty segment");
    if (sl > GW_B64URL_LEN(GW_JWS_MAX_SIG))
        return bad_token(err, "signature too long");

    /* One allocation: header NUL payload NUL signature alg NUL. */
    size_t hcap = GW_B64_DECODED_MAX(hl) + 1, pcap = GW_B64_DECODED_MAX(pl) + 1,
           scap = GW_B64_DECODED_MAX(sl);
    uint8_t *buf = gw_malloc(hcap + pcap + scap + ALG_MAX + 1);
    uint8_t *h = buf, *p = buf + hcap, *s = p + pcap;
    char *alg = (char *)(s + scap);
    size_t hn, pn, sn;
    if (gw_b64url_decode(compact, hl, h, &hn) != 0 || gw_b64url_decode(d1 + 1, pl, p, &pn) != 0 ||
        gw_b64url_decode(d2 + 1, sl, s, &sn) != 0) {
        free(buf);
        return bad_token(err, "invalid base64url");
    }
    h[hn] = '\0';
    p[pn] = '\0';
    /* Callers get C strings; an embedded NUL would let them see less than was signed. */
    if (memchr(h, '\0', hn) != NULL || memchr(p, '\0', pn) != NULL) {
        free(buf);
        return bad_token(err, "NUL byte in header or payload");
    }
    if (check_header((const char *)h, hn, alg, err) != 0) {
        free(buf);
        return -1;
    }
    out->header = (const char *)h;
    out->header_len = hn;
    out->payload = (const char *)p;
    out->payload_len = pn;
    out->sig = s;
    out->sig_len = sn;
    out->alg = alg;
    out->signing_input_len = (size_t)(d2 - compact);
    out->_buf = buf;
    return 0;
}

/* The algorithms we sign and verify with; anything else (none, HS*, PS*) never
 * reaches OpenSSL. */
static int alg_supported(const char *alg)
{
    return alg != NULL && (strcmp(alg, "ES256") == 0 || strcmp(alg, "RS256") == 0);
}

/* The key's own algorithm must be the one asked for: an RSA key must not be
 * used under ES256 nor an EC key under RS256. */
static int key_fits(const EVP_PKEY *key, const char *alg)
{
    const char *key_alg = gw_key_jws_alg(key);
    return key_alg != NULL && strcmp(key_alg, alg) == 0;
}

/* DER ECDSA-Sig-Value (X9.62: SEQUENCE { INTEGER r, INTEGER s }) from our
 * own signer -> raw R || S, 32 bytes each (RFC 7518 §3.4). Read here rather
 * than through d2i_ECDSA_SIG and two BIGNUMs, which took about 4,000
 * instructions per token (callgrind); anything but two positive integers of
 * at most 32 bytes (33 with the sign byte) in one short-form SEQUENCE is
 * refused. */
static int es256_der_to_raw(const uint8_t *der, size_t len, uint8_t raw[ES256_SIG])
{
    if (len < 8 || der[0] != 0x30 || der[1] != len - 2)
        return -1;
    size_t i = 2;
    for (int k = 0; k < 2; k++) {
        if (len - i < 2 || der[i] != 0x02)
            return -1;
        size_t n = der[i + 1];
        i += 2;
        if (n == 0 || n > ES256_COORD + 1 || len - i < n || (der[i] & 0x80) != 0)
            return -1;
        const uint8_t *v = der + i;
        i += n;
        if (n == ES256_COORD + 1) {
            if (v[0] != 0)
                return -1;
            v++;
            n--;
        }
        uint8_t *out = raw + k * ES256_COORD;
        memset(out, 0, ES256_COORD - n);
        memcpy(out + ES256_COORD - n, v, n);
    }
    return i == len ? 0 : -1;
}

/* Raw R || S -> DER for EVP; *der is OPENSSL_malloc'd. */
static int es256_raw_to_der(const uint8_t raw[ES256_SIG], uint8_t **der, size_t *len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, ES256_COORD, NULL), *s = BN_bin2bn(raw + ES256_COORD, ES256_COORD, NULL);
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return -1;
    }
    unsigned char *out = NULL;
    int n = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);
    if (n <= 0)
        return -1;
    *der = out;
    *len = (size_t)n;
    return 0;
}

/* Setting up an EVP signing context (algorithm fetches through OpenSSL 3's
 * provider name map, under its lock) costs about as much as a P-256
 * signature, and asking a key for its curve's name (gw_key_jws_alg) about
 * 3,600 instructions per token. Each thread keeps a few contexts, one per key it signs with, with
 * the key's algorithm; a context holds a reference to its key, so a rotated
 * key (and its address) lives until the thread's slot is reused, and the
 * contexts are freed when the thread ends. */
#define SIGN_CACHE_SLOTS 4

typedef struct {
    EVP_PKEY *key;
    EVP_PKEY_CTX *ctx;
    const char *alg; /* gw_key_jws_alg(key) */
} sign_slot_t;

static pthread_key_t g_sign_cache;
static pthread_once_t g_sign_cache_once = PTHREAD_ONCE_INIT;

static void sign_cache_free(void *p)
{
    sign_slot_t *slots = p;
    for (size_t i = 0; i < SIGN_CACHE_SLOTS; i++)
        EVP_PKEY_CTX_free(slots[i].ctx);
    free(slots);
}

static void sign_cache_create(void)
{
    pthread_key_create(&g_sign_cache, sign_cache_free);
}

/* This thread's signing context for `key`, and in *key_alg the algorithm
 * the key fits (NULL: none we sign with, and no context). NULL also when
 * OpenSSL cannot set one up. */
static EVP_PKEY_CTX *sign_ctx(EVP_PKEY *key, const char **key_alg)
{
    pthread_once(&g_sign_cache_once, sign_cache_create);
    sign_slot_t *slots = pthread_getspecific(g_sign_cache);
    if (slots == NULL) {
        slots = gw_calloc(SIGN_CACHE_SLOTS, sizeof(*slots));
        pthread_setspecific(g_sign_cache, slots);
    }
    size_t victim = 0;
    for (size_t i = 0; i < SIGN_CACHE_SLOTS; i++) {
        if (slots[i].key == key) {
            *key_alg = slots[i].alg;
            return slots[i].ctx;
        }
        if (slots[i].ctx == NULL)
            victim = i;
    }
    const char *alg = *key_alg = gw_key_jws_alg(key);
    if (alg == NULL)
        return NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
        (alg[0] == 'R' && (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
                           EVP_PKEY_CTX_set_signature_md(ctx, gw_sha256_md()) != 1))) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    if (slots[victim].ctx != NULL) { /* all full: reuse the first */
        EVP_PKEY_CTX_free(slots[victim].ctx);
    }
    slots[victim].key = key;
    slots[victim].ctx = ctx;
    slots[victim].alg = alg;
    return ctx;
}

int gw_jws_sign(EVP_PKEY *key, const char *alg, const char *header_extra_json, const char *payload,
                size_t payload_len, char **out, gw_err_t *err)
{
    const char *key_alg = NULL;
    EVP_PKEY_CTX *ctx = alg_supported(alg) ? sign_ctx(key, &key_alg) : NULL;
    if (key_alg == NULL || strcmp(key_alg, alg) != 0)
        return GW_ERR(err, GW_E_INTERNAL, "signing algorithm does not fit the key");
    size_t extra_len = header_extra_json ? strlen(header_extra_json) : 0;
    if (extra_len > 0 && strstr(header_extra_json, "\"alg\"") != NULL)
        return GW_ERR(err, GW_E_INTERNAL, "extra header members must not set alg");
    size_t max_sig = (size_t)EVP_PKEY_get_size(key);
    size_t header_len = 16 + extra_len; /* {"alg":"ES256"  ,  } */
    if (header_len > GW_JWS_MAX_LEN || payload_len > GW_JWS_MAX_LEN ||
        GW_B64URL_LEN(header_len) + GW_B64URL_LEN(payload_len) + GW_B64URL_LEN(max_sig) + 2 > GW_JWS_MAX_LEN)
        return GW_ERR(err, GW_E_INTERNAL, "token would exceed the size limit");

    char header[GW_JWS_MAX_LEN + 32];
    size_t hn = 0;
    memcpy(header, "{\"alg\":\"", 8);
    hn = 8;
    memcpy(header + hn, alg, 5);
    hn += 5;
    header[hn++] = '"';
    if (extra_len > 0) {
        header[hn++] = ',';
        memcpy(header + hn, header_extra_json, extra_len);
        hn += extra_len;
    }
    header[hn++] = '}';

    size_t cap = GW_B64URL_LEN(hn) + 1 + GW_B64URL_LEN(payload_len) + 1 + GW_B64URL_LEN(max_sig) + 1;
    char *tok = gw_malloc(cap);
    size_t n = gw_b64url_encode((const uint8_t *)header, hn, tok);
    tok[n++] = '.';
    n += gw_b64url_encode((const uint8_t *)payload, payload_len, tok + n);
    size_t input_len = n;

    uint8_t *sig = gw_malloc(max_sig);
    size_t sig_len = max_sig;
    int rc = -1;
    uint8_t digest[GW_SHA256_LEN];
    gw_sha256(tok, input_len, digest);
    if (ctx == NULL || EVP_PKEY_sign(ctx, sig, &sig_len, digest, sizeof(digest)) != 1) {
        gw_openssl_fail(err, "cannot sign token", "EVP_PKEY_sign");
        goto done;
    }
    uint8_t raw[ES256_SIG];
    const uint8_t *final_sig = sig;
    if (alg[0] == 'E') {
        if (es256_der_to_raw(sig, sig_len, raw) != 0) {
            gw_openssl_fail(err, "cannot sign token", "d2i_ECDSA_SIG");
            goto done;
        }
        final_sig = raw;
        sig_len = ES256_SIG;
    }
    tok[n++] = '.';
    n += gw_b64url_encode(final_sig, sig_len, tok + n);
    *out = tok;
    tok = NULL;
    rc = 0;
done:
    free(sig);
    free(tok);
    return rc;
}

int gw_jws_verify(EVP_PKEY *pub, const char *expected_alg, const char *compact, size_t len,
                  char **header_json, char **payload_json, gw_err_t *err)
{
    if (!alg_supported(expected_alg) || !key_fits(pub, expected_alg))
        return GW_ERR(err, GW_E_INTERNAL, "verification algorithm does not fit the key");
    gw_jws_t jws;
    if (gw_jws_parse(compact, len, &jws, err) != 0)
        return -1;
    int rc = -1;
    uint8_t *der = NULL;
    EVP_MD_CTX *md = NULL;
    /* The alg-confusion trap: the token does not get to choose. */
    if (strcmp(jws.alg, expected_alg) != 0) {
        GW_ERR(err, GW_E_INVALID_TOKEN, "unexpected token algorithm");
        goto done;
    }
    const uint8_t *sig = jws.sig;
    size_t sig_len = jws.sig_len;
    if (expected_alg[0] == 'E') {
        if (sig_len != ES256_SIG) {
            GW_ERR(err, GW_E_INVALID_TOKEN, "invalid token signature");
            gw_err_detail(err, "ES256 signature of %zu bytes, want 64", sig_len);
            goto done;
        }
        if (es256_raw_to_der(jws.sig, &der, &sig_len) != 0) {
            gw_openssl_fail(err, "cannot verify token", "i2d_ECDSA_SIG");
            goto done;
        }
        sig = der;
    } else if (sig_len != (size_t)EVP_PKEY_get_size(pub)) {
        /* RFC 8017 §8.2.2 step 1: the signature is exactly k octets. */
        GW_ERR(err, GW_E_INVALID_TOKEN, "invalid token signature");
        gw_err_detail(err, "RS256 signature of %zu bytes", sig_len);
        goto done;
    }
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) != 1) {
        gw_openssl_fail(err, "cannot verify token", "EVP_DigestVerifyInit");
        goto done;
    }
    if (EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)compact, jws.signing_input_len) != 1) {
        ERR_clear_error();
        GW_ERR(err, GW_E_INVALID_TOKEN, "invalid token signature");
        goto done;
    }
    if (header_json != NULL)
        *header_json = gw_strndup(jws.header, jws.header_len);
    if (payload_json != NULL)
        *payload_json = gw_strndup(jws.payload, jws.payload_len);
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    gw_jws_dispose(&jws);
    return rc;
}
