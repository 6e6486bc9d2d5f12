/* WebAuthn registration (methods/wa_registration.c and the parts it uses)
 * against registrations captured from Chromium's virtual authenticator, and
 * broken twins of them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "webauthn_fixture.h"

static mth_wa_status_t reg(const mth_wa_expect_t *e, const wa_bytes_t *obj)
{
    mth_wa_credential_t c;
    mth_wa_status_t st = mth_wa_verify_registration(e, obj->p, obj->n, &c);
    if (st != MTH_WA_OK)
        assert_null(c.public_key_der);
    mth_wa_credential_free(&c);
    return st;
}

/* Every capture verifies, and what it yields is what Chromium reported:
 * the key as SubjectPublicKeyInfo DER (getPublicKey()), the id, the alg. */
static void test_captured_verify(void **state)
{
    (void)state;
    int algs_seen = 0;
    for (size_t i = 0; i < wa_ncases; i++) {
        const wa_case_t *w = &wa_cases[i];
        mth_wa_expect_t e = wa_expect_reg(w);
        mth_wa_credential_t c;
        mth_wa_status_t st =
            mth_wa_verify_registration(&e, w->attestation_object.p, w->attestation_object.n, &c);
        if (st != MTH_WA_OK)
            fail_msg("%s: %s", w->name, mth_wa_reason(st));
        assert_int_equal(c.alg, w->alg);
        assert_string_equal(c.fmt, w->fmt);
        assert_int_equal(c.id_len, w->cred_id.n);
        assert_memory_equal(c.id, w->cred_id.p, c.id_len);
        assert_int_equal(c.public_key_der_len, w->spki.n);
        assert_memory_equal(c.public_key_der, w->spki.p, w->spki.n);
        assert_true((c.flags & (MTH_WA_FLAG_UP | MTH_WA_FLAG_UV | MTH_WA_FLAG_AT)) ==
                    (MTH_WA_FLAG_UP | MTH_WA_FLAG_UV | MTH_WA_FLAG_AT));
        assert_int_equal(!!(c.flags & MTH_WA_FLAG_BE), w->backup);
        assert_int_equal(c.sign_count, 1);
        algs_seen |= c.alg == MTH_COSE_ES256 ? 1 : c.alg == MTH_COSE_RS256 ? 2 : 4;
        mth_wa_credential_free(&c);
        mth_wa_credential_free(&c); /* twice is harmless */
    }
    assert_int_equal(algs_seen, 7);
}

static void test_wrong_rp_id(void **state)
{
    (void)state;
    for (size_t i = 0; i < wa_ncases; i++) {
        mth_wa_expect_t e = wa_expect_reg(&wa_cases[i]);
        e.rp_id = "example.com";
        assert_int_equal(reg(&e, &wa_cases[i].attestation_object), MTH_WA_WRONG_RP_ID);
        e.rp_id = "localhost.";
        assert_int_equal(reg(&e, &wa_cases[i].attestation_object), MTH_WA_WRONG_RP_ID);
    }
}

static void test_wrong_origin(void **state)
{
    (void)state;
    const wa_case_t *w = wa_find("es256-none");
    mth_wa_expect_t e = wa_expect_reg(w);
    static const char *others[] = {"http://localhost:8766", "https://localhost:8765", "http://localhost",
                                   "http://localhost:8765/", "http://LOCALHOST:8765"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        e.origin = others[i];
        assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_WRONG_ORIGIN);
    }
    /* Our origin, but framed by another site. */
    e = wa_expect_reg(w);
    wa_bytes_t cd = wa_replace(&w->client_data_json, "\"crossOrigin\":false", "\"crossOrigin\":true");
    e.client_data_json = cd.p;
    e.client_data_json_len = cd.n;
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_WRONG_ORIGIN);
    wa_bytes_free(&cd);
    cd = wa_replace(&w->client_data_json, "\"crossOrigin\":false",
                    "\"crossOrigin\":false,\"topOrigin\":\"http://evil.example\"");
    e.client_data_json = cd.p;
    e.client_data_json_len = cd.n;
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_WRONG_ORIGIN);
    wa_bytes_free(&cd);
}

static void test_wrong_challenge(void **state)
{
    (void)state;
    const wa_case_t *w = wa_find("rs256-none");
    mth_wa_expect_t e = wa_expect_reg(w);
    uint8_t ch[64];
    memcpy(ch, w->challenge.p, w->challenge.n);
    ch[w->challenge.n - 1] ^= 1;
    e.challenge = ch;
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_WRONG_CHALLENGE);
    ch[w->challenge.n - 1] ^= 1;
    e.challenge_len = w->challenge.n - 1; /* a prefix is not the challenge */
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_WRONG_CHALLENGE);
    e.challenge_len = 0;
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_WRONG_CHALLENGE);
    /* Another ceremony's challenge. */
    e = wa_expect_reg(w);
    e.challenge = w->assertions[0].challenge.p;
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_WRONG_CHALLENGE);
    /* The right one restored verifies (the twins above differ only there). */
    e = wa_expect_reg(w);
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_OK);
}

static void test_wrong_type(void **state)
{
    (void)state;
    const wa_case_t *w = wa_find("eddsa-none");
    mth_wa_expect_t e = wa_expect_reg(w);
    wa_bytes_t cd = wa_replace(&w->client_data_json, "webauthn.create", "webauthn.get");
    e.client_data_json = cd.p;
    e.client_data_json_len = cd.n;
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_WRONG_TYPE);
    wa_bytes_free(&cd);
    /* An assertion's client data offered for a registration. */
    e = wa_expect_reg(w);
    e.client_data_json = w->assertions[0].client_data_json.p;
    e.client_data_json_len = w->assertions[0].client_data_json.n;
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_WRONG_TYPE);
}

static void test_client_data_malformed(void **state)
{
    (void)state;
    const wa_case_t *w = wa_find("es256-none");
    mth_wa_expect_t e = wa_expect_reg(w);
    e.client_data_json_len = w->client_data_json.n - 1; /* truncated JSON */
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_MALFORMED);
    /* A second "type" member: the strict parser refuses it. */
    wa_bytes_t cd = wa_replace(&w->client_data_json, "{", "{\"type\":\"webauthn.create\",");
    e = wa_expect_reg(w);
    e.client_data_json = cd.p;
    e.client_data_json_len = cd.n;
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_MALFORMED);
    wa_bytes_free(&cd);
    cd = wa_replace(&w->client_data_json, "\"crossOrigin\":false", "\"crossOrigin\":\"no\"");
    e.client_data_json = cd.p;
    e.client_data_json_len = cd.n;
    assert_int_equal(reg(&e, &w->attestation_object), MTH_WA_MALFORMED);
    wa_bytes_free(&cd);
}

/* Flags changed inside a "none" object (nothing signs it) and inside a
 * "packed" one (the flag check comes before the signature, §7.1 step 14-16). */
static void test_flags(void **state)
{
    (void)state;
    static const char *names[] = {"es256-none", "rs256-direct", "eddsa-direct"};
    for (size_t i = 0; i < 3; i++) {
        const wa_case_t *w = wa_find(names[i]);
        mth_wa_expect_t e = wa_expect_reg(w);
        wa_bytes_t ad = wa_reg_authdata(w);
        static const struct {
            uint8_t clear, set;
            mth_wa_status_t want;
        } v[] = {
            {MTH_WA_FLAG_UV, 0, MTH_WA_NO_USER_VERIFICATION},
            {MTH_WA_FLAG_UP, 0, MTH_WA_NO_USER_PRESENCE},
            {MTH_WA_FLAG_BE, MTH_WA_FLAG_BS, MTH_WA_BACKUP_STATE_INVALID},
            {MTH_WA_FLAG_AT, 0, MTH_WA_MALFORMED},
            {0, MTH_WA_FLAG_ED, MTH_WA_MALFORMED}, /* no extensions follow */
        };
        for (size_t j = 0; j < sizeof(v) / sizeof(v[0]); j++) {
            wa_bytes_t bent = wa_copy(ad.p, ad.n);
            bent.p[32] = (uint8_t)((bent.p[32] & ~v[j].clear) | v[j].set);
            cbor_item_t *stmt;
            cbor_item_t *top = mth_cbor_load(w->attestation_object.p, w->attestation_object.n, NULL);
            assert_int_equal(mth_cbor_map_str(top, "attStmt", &stmt), 0);
            wa_bytes_t obj = wa_att_object(w->fmt, cbor_incref(stmt), &bent);
            assert_int_equal(reg(&e, &obj), v[j].want);
            cbor_decref(&top);
            wa_bytes_free(&obj);
            wa_bytes_free(&bent);
        }
        wa_bytes_free(&ad);
    }
}

/* A byte changed in signed parts of a packed object: the attestation
 * signature no longer verifies. */
static void test_tampered_packed(void **state)
{
    (void)state;
    for (size_t i = 0; i < wa_ncases; i++) {
        const wa_case_t *w = &wa_cases[i];
        if (strcmp(w->fmt, "packed") != 0)
            continue;
        mth_wa_expect_t e = wa_expect_reg(w);
        cbor_item_t *top = mth_cbor_load(w->attestation_object.p, w->attestation_object.n, NULL), *stmt;
        assert_int_equal(mth_cbor_map_str(top, "attStmt", &stmt), 0);
        wa_bytes_t ad = wa_reg_authdata(w);
        ad.p[36] ^= 0x01; /* the counter */
        wa_bytes_t obj = wa_att_object("packed", cbor_incref(stmt), &ad);
        assert_int_equal(reg(&e, &obj), MTH_WA_BAD_SIGNATURE);
        wa_bytes_free(&obj);
        ad.p[36] ^= 0x01;
        ad.p[ad.n - 3] ^= 0x20; /* inside the credential key */
        obj = wa_att_object("packed", cbor_incref(stmt), &ad);
        mth_wa_status_t st = reg(&e, &obj);
        /* The key may no longer parse (a point off the curve) or not verify. */
        assert_true(st == MTH_WA_BAD_SIGNATURE || st == MTH_WA_MALFORMED);
        wa_bytes_free(&obj);
        wa_bytes_free(&ad);

        /* The signature itself. */
        cbor_item_t *sig;
        assert_int_equal(mth_cbor_map_str(stmt, "sig", &sig), 0);
        cbor_bytestring_handle(sig)[cbor_bytestring_length(sig) - 1] ^= 0x01;
        ad = wa_reg_authdata(w);
        obj = wa_att_object("packed", cbor_incref(stmt), &ad);
        assert_int_equal(reg(&e, &obj), MTH_WA_BAD_SIGNATURE);
        wa_bytes_free(&obj);
        wa_bytes_free(&ad);
        cbor_decref(&top);
    }
}

/* Packed self attestation (no x5c): signed by the credential key itself,
 * made here with the private key the virtual authenticator holds. */
static void test_packed_self(void **state)
{
    (void)state;
    static const char *names[] = {"es256-none", "rs256-none", "eddsa-none"};
    for (size_t i = 0; i < 3; i++) {
        const wa_case_t *w = wa_find(names[i]);
        mth_wa_expect_t e = wa_expect_reg(w);
        wa_bytes_t ad = wa_reg_authdata(w);
        uint8_t hash[32];
        gw_sha256(w->client_data_json.p, w->client_data_json.n, hash);
        wa_bytes_t sig = wa_sign(w, ad.p, ad.n, hash, 32);
        for (int variant = 0; variant < 3; variant++) {
            cbor_item_t *stmt = cbor_new_definite_map(2);
            /* 0: right; 1: another alg than the key's; 2: signature by another key */
            int alg = variant == 1 ? (w->alg == MTH_COSE_ES256 ? MTH_COSE_RS256 : MTH_COSE_ES256) : w->alg;
            wa_map_put(stmt, cbor_build_string("alg"), wa_cint(alg));
            const wa_bytes_t *s = &sig;
            wa_bytes_t other = {0};
            if (variant == 2) {
                const wa_case_t *o = wa_find(w->alg == MTH_COSE_ES256 ? "es256-direct" : "es256-none");
                other = wa_sign(o, ad.p, ad.n, hash, 32);
                s = &other;
            }
            wa_map_put(stmt, cbor_build_string("sig"), cbor_build_bytestring(s->p, s->n));
            wa_bytes_t obj = wa_att_object("packed", stmt, &ad);
            mth_wa_credential_t c;
            mth_wa_status_t st = mth_wa_verify_registration(&e, obj.p, obj.n, &c);
            if (variant == 0) {
                assert_int_equal(st, MTH_WA_OK);
                assert_string_equal(c.fmt, "packed");
                assert_memory_equal(c.public_key_der, w->spki.p, w->spki.n);
            } else {
                assert_int_equal(st, MTH_WA_BAD_SIGNATURE);
            }
            mth_wa_credential_free(&c);
            wa_bytes_free(&obj);
            wa_bytes_free(&other);
        }
        wa_bytes_free(&sig);
        wa_bytes_free(&ad);
    }
}

static void test_statement_shapes(void **state)
{
    (void)state;
    const wa_case_t *w = wa_find("es256-none");
    mth_wa_expect_t e = wa_expect_reg(w);
    wa_bytes_t ad = wa_reg_authdata(w), obj;

    /* Formats we do not take, including a different case of "none". */
    static const char *fmts[] = {"tpm", "fido-u2f", "android-key", "apple", "None", "nonе", ""};
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        obj = wa_att_object(fmts[i], cbor_new_definite_map(0), &ad);
        assert_int_equal(reg(&e, &obj), MTH_WA_UNSUPPORTED_ATTESTATION);
        wa_bytes_free(&obj);
    }
    /* "none" with something in its statement. */
    cbor_item_t *stmt = cbor_new_definite_map(1);
    wa_map_put(stmt, cbor_build_string("alg"), wa_cint(-7));
    obj = wa_att_object("none", stmt, &ad);
    assert_int_equal(reg(&e, &obj), MTH_WA_MALFORMED);
    wa_bytes_free(&obj);
    /* packed without sig, with ECDAA, with a garbage certificate. */
    stmt = cbor_new_definite_map(1);
    wa_map_put(stmt, cbor_build_string("alg"), wa_cint(-7));
    obj = wa_att_object("packed", stmt, &ad);
    assert_int_equal(reg(&e, &obj), MTH_WA_MALFORMED);
    wa_bytes_free(&obj);
    stmt = cbor_new_definite_map(3);
    wa_map_put(stmt, cbor_build_string("alg"), wa_cint(-7));
    wa_map_put(stmt, cbor_build_string("sig"), cbor_build_bytestring((const uint8_t *)"x", 1));
    wa_map_put(stmt, cbor_build_string("ecdaaKeyId"), cbor_build_bytestring((const uint8_t *)"x", 1));
    obj = wa_att_object("packed", stmt, &ad);
    assert_int_equal(reg(&e, &obj), MTH_WA_UNSUPPORTED_ATTESTATION);
    wa_bytes_free(&obj);
    stmt = cbor_new_definite_map(3);
    wa_map_put(stmt, cbor_build_string("alg"), wa_cint(-7));
    wa_map_put(stmt, cbor_build_string("sig"), cbor_build_bytestring((const uint8_t *)"x", 1));
    cbor_item_t *x5c = cbor_new_definite_array(1);
    cbor_array_push(x5c, cbor_move(cbor_build_bytestring((const uint8_t *)"\x30\x03\x02\x01\x01", 5)));
    wa_map_put(stmt, cbor_build_string("x5c"), x5c);
    obj = wa_att_object("packed", stmt, &ad);
    assert_int_equal(reg(&e, &obj), MTH_WA_MALFORMED);
    wa_bytes_free(&obj);
    /* An attestation signature algorithm we do not know. */
    stmt = cbor_new_definite_map(2);
    wa_map_put(stmt, cbor_build_string("alg"), wa_cint(-35));
    wa_map_put(stmt, cbor_build_string("sig"), cbor_build_bytestring((const uint8_t *)"x", 1));
    obj = wa_att_object("packed", stmt, &ad);
    assert_int_equal(reg(&e, &obj), MTH_WA_UNSUPPORTED_ALG);
    wa_bytes_free(&obj);
    /* The object without authData, and with "fmt" twice. */
    cbor_item_t *m = cbor_new_definite_map(2);
    wa_map_put(m, cbor_build_string("fmt"), cbor_build_string("none"));
    wa_map_put(m, cbor_build_string("attStmt"), cbor_new_definite_map(0));
    obj = wa_serialize(m);
    assert_int_equal(reg(&e, &obj), MTH_WA_MALFORMED);
    wa_bytes_free(&obj);
    m = cbor_new_definite_map(4);
    wa_map_put(m, cbor_build_string("fmt"), cbor_build_string("none"));
    wa_map_put(m, cbor_build_string("attStmt"), cbor_new_definite_map(0));
    wa_map_put(m, cbor_build_string("authData"), cbor_build_bytestring(ad.p, ad.n));
    wa_map_put(m, cbor_build_string("fmt"), cbor_build_string("tpm"));
    obj = wa_serialize(m);
    assert_int_equal(reg(&e, &obj), MTH_WA_MALFORMED);
    wa_bytes_free(&obj);
    /* Rebuilt from its parts, the capture still verifies. */
    obj = wa_att_object("none", cbor_new_definite_map(0), &ad);
    assert_int_equal(reg(&e, &obj), MTH_WA_OK);
    wa_bytes_free(&obj);
    wa_bytes_free(&ad);
}

/* Credential keys of algorithms we do not accept, and broken keys. */
static void test_cose_keys(void **state)
{
    (void)state;
    const wa_case_t *w = wa_find("es256-none");
    mth_wa_expect_t e = wa_expect_reg(w);
    wa_bytes_t ad = wa_reg_authdata(w);
    mth_wa_authdata_t a;
    assert_int_equal(mth_wa_authdata_parse(ad.p, ad.n, 1, &a), MTH_WA_OK);
    cbor_item_t *orig = mth_cbor_load(a.cose_key, a.cose_key_len, NULL), *x, *y;
    assert_int_equal(mth_cbor_map_int(orig, -2, &x), 0);
    assert_int_equal(mth_cbor_map_int(orig, -3, &y), 0);
    static const struct {
        int kty, alg, crv, ylen, extra_d;
        mth_wa_status_t want;
    } v[] = {
        {2, -7, 1, 32, 0, MTH_WA_OK},
        {2, -35, 2, 32, 0, MTH_WA_UNSUPPORTED_ALG}, /* ES384 */
        {3, -37, 1, 32, 0, MTH_WA_UNSUPPORTED_ALG}, /* PS256 */
        {2, -257, 1, 32, 0, MTH_WA_MALFORMED},      /* RS256 alg on an EC key */
        {2, -7, 2, 32, 0, MTH_WA_MALFORMED},        /* ES256 on P-384 */
        {1, -7, 1, 32, 0, MTH_WA_MALFORMED},        /* kty OKP */
        {2, -7, 1, 31, 0, MTH_WA_MALFORMED},        /* short y */
        {2, -7, 1, 32, 1, MTH_WA_MALFORMED},        /* a private key inside */
        {2, 0, 1, 32, 0, MTH_WA_MALFORMED},         /* no alg (0 means leave out) */
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        cbor_item_t *k = cbor_new_definite_map(6);
        wa_map_put(k, wa_cint(1), wa_cint(v[i].kty));
        if (v[i].alg)
            wa_map_put(k, wa_cint(3), wa_cint(v[i].alg));
        wa_map_put(k, wa_cint(-1), wa_cint(v[i].crv));
        wa_map_put(k, wa_cint(-2), cbor_build_bytestring(cbor_bytestring_handle(x), 32));
        wa_map_put(k, wa_cint(-3), cbor_build_bytestring(cbor_bytestring_handle(y), (size_t)v[i].ylen));
        if (v[i].extra_d)
            wa_map_put(k, wa_cint(-4), cbor_build_bytestring(cbor_bytestring_handle(y), 32));
        wa_bytes_t key = wa_serialize(k);
        wa_bytes_t ad2 = wa_authdata_with_key(&ad, &key);
        wa_bytes_t obj = wa_att_object("none", cbor_new_definite_map(0), &ad2);
        mth_wa_status_t st = reg(&e, &obj);
        if (st != v[i].want)
            fail_msg("key %zu: %s", i, mth_wa_reason(st));
        wa_bytes_free(&obj);
        wa_bytes_free(&ad2);
        wa_bytes_free(&key);
    }
    /* A point not on the curve. */
    cbor_item_t *k = cbor_new_definite_map(5);
    uint8_t bad[32];
    memcpy(bad, cbor_bytestring_handle(y), 32);
    bad[31] ^= 1;
    wa_map_put(k, wa_cint(1), wa_cint(2));
    wa_map_put(k, wa_cint(3), wa_cint(-7));
    wa_map_put(k, wa_cint(-1), wa_cint(1));
    wa_map_put(k, wa_cint(-2), cbor_build_bytestring(cbor_bytestring_handle(x), 32));
    wa_map_put(k, wa_cint(-3), cbor_build_bytestring(bad, 32));
    wa_bytes_t key = wa_serialize(k);
    wa_bytes_t ad2 = wa_authdata_with_key(&ad, &key);
    wa_bytes_t obj = wa_att_object("none", cbor_new_definite_map(0), &ad2);
    assert_int_equal(reg(&e, &obj), MTH_WA_MALFORMED);
    wa_bytes_free(&obj);
    wa_bytes_free(&ad2);
    wa_bytes_free(&key);
    cbor_decref(&orig);
    wa_bytes_free(&ad);
}

/* A packed attestation over `ad` with an x5c leaf made here: subject OU
 * `ou`, a CA or not, version 3 or 1, with the AAGUID extension when `aaguid`
 * is not NULL; signed by the certificate's key, or another with `wrong_key`. */
static wa_bytes_t packed_with_cert(const wa_case_t *w, const wa_bytes_t *ad, const char *ou, int ca, int v3,
                                   const uint8_t *aaguid, int wrong_key)
{
    EVP_PKEY *k = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(k);
    X509_set_version(x, v3 ? 2 : 0);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const uint8_t *)"DE", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const uint8_t *)"Test Vendor", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC, (const uint8_t *)ou, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const uint8_t *)"Test Batch", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (v3) {
        X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
                                                 ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
        X509_add_ext(x, bc, -1);
        X509_EXTENSION_free(bc);
    }
    if (aaguid != NULL) {
        uint8_t val[18] = {0x04, 16};
        memcpy(val + 2, aaguid, 16);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(os, val, sizeof(val));
        ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
        X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        ASN1_OBJECT_free(oid);
        ASN1_OCTET_STRING_free(os);
    }
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    uint8_t *der = NULL;
    int der_len = i2d_X509(x, &der);
    assert_true(der_len > 0);

    uint8_t hash[32], *msg = malloc(ad->n + 32);
    gw_sha256(w->client_data_json.p, w->client_data_json.n, hash);
    memcpy(msg, ad->p, ad->n);
    memcpy(msg + ad->n, hash, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t sig[128];
    size_t sig_len = sizeof(sig);
    assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, wrong_key ? other : k, NULL), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, msg, ad->n + 32), 1);
    EVP_MD_CTX_free(ctx);
    free(msg);

    cbor_item_t *stmt = cbor_new_definite_map(3), *x5c = cbor_new_definite_array(1);
    wa_map_put(stmt, cbor_build_string("alg"), wa_cint(MTH_COSE_ES256));
    wa_map_put(stmt, cbor_build_string("sig"), cbor_build_bytestring(sig, sig_len));
    cbor_array_push(x5c, cbor_move(cbor_build_bytestring(der, (size_t)der_len)));
    wa_map_put(stmt, cbor_build_string("x5c"), x5c);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
    return wa_att_object("packed", stmt, ad);
}

/* §8.2.1 certificate requirements on an x5c leaf. */
static void test_packed_certificate(void **state)
{
    (void)state;
    const wa_case_t *w = wa_find("eddsa-none");
    mth_wa_expect_t e = wa_expect_reg(w);
    wa_bytes_t ad = wa_reg_authdata(w);
    mth_wa_authdata_t a;
    assert_int_equal(mth_wa_authdata_parse(ad.p, ad.n, 1, &a), MTH_WA_OK);
    uint8_t other_aaguid[16];
    memcpy(other_aaguid, a.aaguid, 16);
    other_aaguid[0] ^= 0x80;
    static const char OU[] = "Authenticator Attestation";
    static const struct {
        const char *ou;
        int ca, v3, aaguid, wrong_key;
        mth_wa_status_t want;
    } v[] = {
        {OU, 0, 1, 0, 0, MTH_WA_OK},
        {OU, 0, 1, 1, 0, MTH_WA_OK},                      /* AAGUID extension that matches */
        {OU, 0, 1, 2, 0, MTH_WA_UNSUPPORTED_ATTESTATION}, /* ... that does not */
        {"Authenticator", 0, 1, 0, 0, MTH_WA_UNSUPPORTED_ATTESTATION},
        {OU, 1, 1, 0, 0, MTH_WA_UNSUPPORTED_ATTESTATION}, /* a CA */
        {OU, 0, 0, 0, 0, MTH_WA_UNSUPPORTED_ATTESTATION}, /* version 1 */
        {OU, 0, 1, 0, 1, MTH_WA_BAD_SIGNATURE},           /* signed by another key */
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const uint8_t *g = v[i].aaguid == 1 ? a.aaguid : v[i].aaguid == 2 ? other_aaguid : NULL;
        wa_bytes_t obj = packed_with_cert(w, &ad, v[i].ou, v[i].ca, v[i].v3, g, v[i].wrong_key);
        mth_wa_credential_t c;
        mth_wa_status_t st = mth_wa_verify_registration(&e, obj.p, obj.n, &c);
        if (st != v[i].want)
            fail_msg("certificate %zu: %s", i, mth_wa_reason(st));
        if (st == MTH_WA_OK) {
            /* The credential is still the captured EdDSA one. */
            assert_int_equal(c.alg, MTH_COSE_EDDSA);
            assert_memory_equal(c.public_key_der, w->spki.p, w->spki.n);
        }
        mth_wa_credential_free(&c);
        wa_bytes_free(&obj);
    }
    wa_bytes_free(&ad);
}

/* Every truncation, a trailing byte, and hostile CBOR headers. */
static void test_cbor_garbage(void **state)
{
    (void)state;
    for (size_t i = 0; i < wa_ncases; i++) {
        const wa_case_t *w = &wa_cases[i];
        mth_wa_expect_t e = wa_expect_reg(w);
        for (size_t n = 0; n < w->attestation_object.n; n++) {
            wa_bytes_t cut = wa_copy(w->attestation_object.p, n);
            assert_int_equal(reg(&e, &cut), MTH_WA_MALFORMED);
            wa_bytes_free(&cut);
        }
        wa_bytes_t longer = {malloc(w->attestation_object.n + 1), w->attestation_object.n + 1};
        memcpy(longer.p, w->attestation_object.p, w->attestation_object.n);
        longer.p[w->attestation_object.n] = 0;
        assert_int_equal(reg(&e, &longer), MTH_WA_MALFORMED);
        wa_bytes_free(&longer);
    }
    const wa_case_t *w = wa_find("es256-none");
    mth_wa_expect_t e = wa_expect_reg(w);
    static const struct {
        const char *p;
        size_t n;
    } bad[] = {
        {"\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 9}, /* array of 2^64-1 entries */
        {"\xbb\x00\x00\x00\x01\x00\x00\x00\x00", 9}, /* map of 2^32 pairs */
        {"\xba\x7f\xff\xff\xff\x00", 6},
        {"\x5b\x00\x00\x00\x01\x00\x00\x00\x00\x00", 10},     /* byte string longer than the input */
        {"\xbf\x63\x66\x6d\x74\x64\x6e\x6f\x6e\x65\xff", 11}, /* indefinite map */
        {"\xd8\x18\xa0", 3},                                  /* a tag */
        {"\xa1\x63\x66\x6d\x74\xf8\x20", 7},                  /* one-byte simple value */
        {"\x1c", 1},                                          /* reserved additional information */
        {"\xa0", 1},
        {"\x80", 1},
        {"\xf6", 1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wa_bytes_t b = wa_copy(bad[i].p, bad[i].n);
        assert_int_equal(reg(&e, &b), MTH_WA_MALFORMED);
        wa_bytes_free(&b);
    }
    /* Nesting deeper than the limit. */
    uint8_t deep[64];
    memset(deep, 0x81, sizeof(deep));
    deep[63] = 0xa0;
    assert_int_equal(mth_cbor_item_len(deep, sizeof(deep)), 0);
    assert_int_equal(mth_cbor_item_len(deep + 64 - MTH_CBOR_MAX_DEPTH - 1, MTH_CBOR_MAX_DEPTH + 1),
                     MTH_CBOR_MAX_DEPTH + 1);
    /* Pseudo-random bytes, fixed seed. */
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 2000; round++) {
        uint8_t junk[300];
        size_t n = 1 + (size_t)(s % sizeof(junk));
        for (size_t i = 0; i < n; i++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            junk[i] = (uint8_t)s;
        }
        wa_bytes_t b = wa_copy(junk, n);
        assert_int_equal(reg(&e, &b), MTH_WA_MALFORMED);
        wa_bytes_free(&b);
    }
}

static void test_authdata_lengths(void **state)
{
    (void)state;
    const wa_case_t *w = wa_find("es256-none");
    wa_bytes_t ad = wa_reg_authdata(w);
    mth_wa_authdata_t a;
    assert_int_equal(mth_wa_authdata_parse(ad.p, ad.n, 1, &a), MTH_WA_OK);
    assert_int_equal(a.cred_id_len, w->cred_id.n);
    assert_int_equal(mth_wa_authdata_parse(ad.p, ad.n, 0, &a), MTH_WA_MALFORMED); /* AT in an assertion */
    for (size_t n = 0; n < ad.n; n++)
        assert_int_equal(mth_wa_authdata_parse(ad.p, n, 1, &a), MTH_WA_MALFORMED);
    /* A credential id length pointing past the end, and one over 1023. */
    wa_bytes_t bent = wa_copy(ad.p, ad.n);
    bent.p[53] = 0xff;
    bent.p[54] = 0xff;
    assert_int_equal(mth_wa_authdata_parse(bent.p, bent.n, 1, &a), MTH_WA_MALFORMED);
    bent.p[53] = 0x04;
    bent.p[54] = 0x00;
    assert_int_equal(mth_wa_authdata_parse(bent.p, bent.n, 1, &a), MTH_WA_MALFORMED);
    wa_bytes_free(&bent);
    /* The same key after an id of 15 bytes, then of 16: WebAuthn L3 §4 has a
     * credential id of at least 16 bytes (the stored form's lower bound). */
    size_t key_at = 55 + w->cred_id.n;
    assert_true(w->cred_id.n >= 16 && ad.n > key_at);
    for (size_t id = 15; id <= 16; id++) {
        bent = (wa_bytes_t){malloc(55 + id + ad.n - key_at), 55 + id + ad.n - key_at};
        memcpy(bent.p, ad.p, 53);
        bent.p[53] = 0;
        bent.p[54] = (uint8_t)id;
        memcpy(bent.p + 55, w->cred_id.p, id);
        memcpy(bent.p + 55 + id, ad.p + key_at, ad.n - key_at);
        assert_int_equal(mth_wa_authdata_parse(bent.p, bent.n, 1, &a),
                         id < 16 ? MTH_WA_MALFORMED : MTH_WA_OK);
        wa_bytes_free(&bent);
    }
    /* ED with an extensions map after the key parses. */
    bent = (wa_bytes_t){malloc(ad.n + 1), ad.n + 1};
    memcpy(bent.p, ad.p, ad.n);
    bent.p[32] |= MTH_WA_FLAG_ED;
    bent.p[ad.n] = 0xa0;
    assert_int_equal(mth_wa_authdata_parse(bent.p, bent.n, 1, &a), MTH_WA_OK);
    bent.p[ad.n] = 0x80; /* an array is not an extensions map */
    assert_int_equal(mth_wa_authdata_parse(bent.p, bent.n, 1, &a), MTH_WA_MALFORMED);
    wa_bytes_free(&bent);
    wa_bytes_free(&ad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captured_verify),
        cmocka_unit_test(test_wrong_rp_id),
        cmocka_unit_test(test_wrong_origin),
        cmocka_unit_test(test_wrong_challenge),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_client_data_malformed),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_tampered_packed),
        cmocka_unit_test(test_packed_self),
        cmocka_unit_test(test_packed_certificate),
        cmocka_unit_test(test_statement_shapes),
        cmocka_unit_test(test_cose_keys),
        cmocka_unit_test(test_cbor_garbage),
        cmocka_unit_test(test_authdata_lengths),
    };
    return cmocka_run_group_tests(tests, wa_load, wa_unload);
}
