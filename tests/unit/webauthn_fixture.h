/* Captured WebAuthn ceremonies (tests/unit/data/webauthn/chromium.json, see
 * the README there) and the tools the webauthn_* tests use to bend them:
 * decoding, re-signing with the credential's own private key, and building
 * authenticator data and attestation objects with libcbor. */
#ifndef REGAIN_TESTS_WEBAUTHN_FIXTURE_H
#define REGAIN_TESTS_WEBAUTHN_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gateway/crypto.h"
#include "gateway/json.h"
#include "methods/internal.h"
#include "methods/methods.h"

#define WA_DATA      "tests/unit/data/webauthn/chromium.json"
#define WA_MAX_CASES 8

typedef struct {
    uint8_t *p;
    size_t n;
} wa_bytes_t;

typedef struct {
    wa_bytes_t challenge, client_data_json, authenticator_data, signature;
} wa_assertion_case_t;

typedef struct {
    char name[32], fmt[16], rp_id[64], origin[64];
    int alg, backup;
    wa_bytes_t challenge, client_data_json, attestation_object, spki, cred_id, private_key;
    wa_assertion_case_t assertions[2];
} wa_case_t;

static wa_case_t wa_cases[WA_MAX_CASES];
static size_t wa_ncases;

static inline wa_bytes_t wa_b64(const char *s)
{
    wa_bytes_t b = {0};
    if (s == NULL)
        return b;
    size_t n = strlen(s);
    b.p = malloc(GW_B64_DECODED_MAX(n) + 1);
    if (gw_b64url_decode(s, n, b.p, &b.n) != 0) {
        fprintf(stderr, "fixture: bad base64url\n");
        abort();
    }
    return b;
}

static inline wa_bytes_t wa_copy(const void *p, size_t n)
{
    wa_bytes_t b = {malloc(n ? n : 1), n};
    memcpy(b.p, p, n);
    return b;
}

static inline void wa_bytes_free(wa_bytes_t *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static inline void wa_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Loads every case once per test binary (a cmocka group set-up). */
static inline int wa_load(void **state)
{
    (void)state;
    FILE *f = fopen(WA_DATA, "rb");
    if (f == NULL) {
        fprintf(stderr, "fixture: cannot open %s (run from the repository root)\n", WA_DATA);
        return -1;
    }
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    gw_err_t err;
    yajl_val root = gw_json_parse(buf, n, NULL, &err);
    yajl_val cases = gw_json_get(root, "cases");
    if (cases == NULL || !YAJL_IS_ARRAY(cases))
        return -1;
    for (size_t i = 0; i < cases->u.array.len && wa_ncases < WA_MAX_CASES; i++) {
        yajl_val c = cases->u.array.values[i], reg = gw_json_get(c, "registration");
        yajl_val as = gw_json_get(c, "assertions");
        if (reg == NULL || as == NULL || as->u.array.len != 2)
            return -1;
        wa_case_t *w = &wa_cases[wa_ncases++];
        int64_t alg;
        bool backup = false;
        wa_str(w->name, sizeof(w->name), gw_json_str(c, "name"));
        wa_str(w->rp_id, sizeof(w->rp_id), gw_json_str(c, "rp_id"));
        wa_str(w->origin, sizeof(w->origin), gw_json_str(c, "origin"));
        wa_str(w->fmt, sizeof(w->fmt),
               strcmp(gw_json_str(c, "attestation"), "direct") == 0 ? "packed" : "none");
        gw_json_get_int64(c, "alg", &alg);
        gw_json_get_bool(c, "backup", &backup);
        w->alg = (int)alg;
        w->backup = backup;
        w->challenge = wa_b64(gw_json_str(reg, "challenge"));
        w->client_data_json = wa_b64(gw_json_str(reg, "client_data_json"));
        w->attestation_object = wa_b64(gw_json_str(reg, "attestation_object"));
        w->spki = wa_b64(gw_json_str(reg, "public_key_spki"));
        w->cred_id = wa_b64(gw_json_str(reg, "credential_id"));
        w->private_key = wa_b64(gw_json_str(c, "private_key_pkcs8"));
        for (size_t j = 0; j < 2; j++) {
            yajl_val a = as->u.array.values[j];
            w->assertions[j].challenge = wa_b64(gw_json_str(a, "challenge"));
            w->assertions[j].client_data_json = wa_b64(gw_json_str(a, "client_data_json"));
            w->assertions[j].authenticator_data = wa_b64(gw_json_str(a, "authenticator_data"));
            w->assertions[j].signature = wa_b64(gw_json_str(a, "signature"));
        }
    }
    yajl_tree_free(root);
    return wa_ncases > 0 ? 0 : -1;
}

static inline int wa_unload(void **state)
{
    (void)state;
    for (size_t i = 0; i < wa_ncases; i++) {
        wa_case_t *w = &wa_cases[i];
        wa_bytes_free(&w->challenge);
        wa_bytes_free(&w->client_data_json);
        wa_bytes_free(&w->attestation_object);
        wa_bytes_free(&w->spki);
        wa_bytes_free(&w->cred_id);
        wa_bytes_free(&w->private_key);
        for (size_t j = 0; j < 2; j++) {
            wa_bytes_free(&w->assertions[j].challenge);
            wa_bytes_free(&w->assertions[j].client_data_json);
            wa_bytes_free(&w->assertions[j].authenticator_data);
            wa_bytes_free(&w->assertions[j].signature);
        }
    }
    wa_ncases = 0;
    return 0;
}

static inline const wa_case_t *wa_find(const char *name)
{
    for (size_t i = 0; i < wa_ncases; i++)
        if (strcmp(wa_cases[i].name, name) == 0)
            return &wa_cases[i];
    fprintf(stderr, "fixture: no case %s\n", name);
    abort();
}

/* What the relying party expected in the captured registration. */
static inline mth_wa_expect_t wa_expect_reg(const wa_case_t *w)
{
    return (mth_wa_expect_t){
        w->rp_id, w->origin, w->challenge.p, w->challenge.n, w->client_data_json.p, w->client_data_json.n};
}

static inline mth_wa_expect_t wa_expect_get(const wa_case_t *w, int i)
{
    const wa_assertion_case_t *a = &w->assertions[i];
    return (mth_wa_expect_t){
        w->rp_id, w->origin, a->challenge.p, a->challenge.n, a->client_data_json.p, a->client_data_json.n};
}

/* `s` with the first `from` replaced by `to`, as new bytes. */
static inline wa_bytes_t wa_replace(const wa_bytes_t *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    for (size_t i = 0; i + fl <= s->n; i++) {
        if (memcmp(s->p + i, from, fl) != 0)
            continue;
        wa_bytes_t r = {malloc(s->n - fl + tl), s->n - fl + tl};
        memcpy(r.p, s->p, i);
        memcpy(r.p + i, to, tl);
        memcpy(r.p + i + tl, s->p + i + fl, s->n - i - fl);
        return r;
    }
    fprintf(stderr, "fixture: '%s' not found\n", from);
    abort();
}

/* The credential's private key from the virtual authenticator. */
static EVP_PKEY *wa_private_key(const wa_case_t *w)
{
    const uint8_t *p = w->private_key.p;
    EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)w->private_key.n);
    if (k == NULL)
        abort();
    return k;
}

/* Signature by `w`'s credential over a || b, as the authenticator makes it. */
static inline wa_bytes_t wa_sign(const wa_case_t *w, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    EVP_PKEY *k = wa_private_key(w);
    uint8_t *msg = malloc(an + bn);
    memcpy(msg, a, an);
    memcpy(msg + an, b, bn);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t n = 0;
    if (EVP_DigestSignInit_ex(ctx, NULL, w->alg == MTH_COSE_EDDSA ? NULL : "SHA256", NULL, NULL, k, NULL) !=
            1 ||
        EVP_DigestSign(ctx, NULL, &n, msg, an + bn) != 1)
        abort();
    wa_bytes_t sig = {malloc(n), n};
    if (EVP_DigestSign(ctx, sig.p, &sig.n, msg, an + bn) != 1)
        abort();
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    free(msg);
    return sig;
}

/* Assertion authenticator data of case `w`, re-signed: flags and counter as
 * given, over the captured assertion's client data. */
static inline wa_bytes_t wa_resign_assertion(const wa_case_t *w, int i, uint8_t flags, uint32_t counter,
                                             wa_bytes_t *ad_out)
{
    const wa_assertion_case_t *a = &w->assertions[i];
    *ad_out = wa_copy(a->authenticator_data.p, a->authenticator_data.n);
    ad_out->p[32] = flags;
    ad_out->p[33] = (uint8_t)(counter >> 24);
    ad_out->p[34] = (uint8_t)(counter >> 16);
    ad_out->p[35] = (uint8_t)(counter >> 8);
    ad_out->p[36] = (uint8_t)counter;
    uint8_t hash[32];
    gw_sha256(a->client_data_json.p, a->client_data_json.n, hash);
    return wa_sign(w, ad_out->p, ad_out->n, hash, 32);
}

/* ---- building CBOR ---- */

static inline cbor_item_t *wa_cint(int64_t v)
{
    if (v >= 0)
        return v < 256 ? cbor_build_uint8((uint8_t)v) : cbor_build_uint16((uint16_t)v);
    uint64_t m = (uint64_t)(-1 - v);
    return m < 256 ? cbor_build_negint8((uint8_t)m) : cbor_build_negint16((uint16_t)m);
}

static inline void wa_map_put(cbor_item_t *map, cbor_item_t *k, cbor_item_t *v)
{
    if (!cbor_map_add(map, (struct cbor_pair){.key = cbor_move(k), .value = cbor_move(v)}))
        abort();
}

static inline wa_bytes_t wa_serialize(cbor_item_t *item)
{
    wa_bytes_t b = {0};
    size_t cap = 0;
    b.n = cbor_serialize_alloc(item, &b.p, &cap);
    if (b.n == 0)
        abort();
    cbor_decref(&item);
    return b;
}

/* An attestation object {fmt, attStmt, authData}; takes `stmt`. */
static inline wa_bytes_t wa_att_object(const char *fmt, cbor_item_t *stmt, const wa_bytes_t *ad)
{
    cbor_item_t *m = cbor_new_definite_map(3);
    wa_map_put(m, cbor_build_string("fmt"), cbor_build_string(fmt));
    wa_map_put(m, cbor_build_string("attStmt"), stmt);
    wa_map_put(m, cbor_build_string("authData"), cbor_build_bytestring(ad->p, ad->n));
    return wa_serialize(m);
}

/* The authenticator data inside a captured attestation object. */
static inline wa_bytes_t wa_reg_authdata(const wa_case_t *w)
{
    cbor_item_t *top = mth_cbor_load(w->attestation_object.p, w->attestation_object.n, NULL), *ad;
    const uint8_t *p;
    size_t n;
    if (top == NULL || mth_cbor_map_str(top, "authData", &ad) != 0 || mth_cbor_bytes(ad, &p, &n) != 0)
        abort();
    wa_bytes_t b = wa_copy(p, n);
    cbor_decref(&top);
    return b;
}

/* Registration authenticator data with its COSE key replaced by `key`. */
static inline wa_bytes_t wa_authdata_with_key(const wa_bytes_t *ad, const wa_bytes_t *key)
{
    mth_wa_authdata_t a;
    if (mth_wa_authdata_parse(ad->p, ad->n, 1, &a) != MTH_WA_OK)
        abort();
    size_t head = (size_t)(a.cose_key - ad->p);
    wa_bytes_t r = {malloc(head + key->n), head + key->n};
    memcpy(r.p, ad->p, head);
    memcpy(r.p + head, key->p, key->n);
    return r;
}

#endif
