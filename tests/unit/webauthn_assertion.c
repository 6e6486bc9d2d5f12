/* WebAuthn authentication (methods/wa_assertion.c) against assertions
 * captured from Chromium's virtual authenticator, each checked with the key
 * its captured registration yielded, and broken twins of them: some only
 * altered (the signature must fail), some altered and re-signed with the
 * credential's own private key (the check itself must catch them). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "webauthn_fixture.h"

/* The stored credential of each case, from its captured registration. */
static mth_wa_credential_t creds[WA_MAX_CASES];

static int setup(void **state)
{
    if (wa_load(state) != 0)
        return -1;
    for (size_t i = 0; i < wa_ncases; i++) {
        mth_wa_expect_t e = wa_expect_reg(&wa_cases[i]);
        if (mth_wa_verify_registration(&e, wa_cases[i].attestation_object.p, wa_cases[i].attestation_object.n,
                                       &creds[i]) != MTH_WA_OK)
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    for (size_t i = 0; i < wa_ncases; i++)
        mth_wa_credential_free(&creds[i]);
    return wa_unload(state);
}

static size_t idx(const char *name)
{
    return (size_t)(wa_find(name) - wa_cases);
}

static mth_wa_stored_t stored(size_t i, uint32_t count)
{
    return (mth_wa_stored_t){creds[i].alg, creds[i].public_key_der, creds[i].public_key_der_len, count,
                             (creds[i].flags & MTH_WA_FLAG_BE) != 0};
}

static mth_wa_status_t check(const mth_wa_expect_t *e, const mth_wa_stored_t *s, const wa_bytes_t *ad,
                             const wa_bytes_t *sig, mth_wa_assertion_t *out)
{
    return mth_wa_verify_assertion(e, s, ad->p, ad->n, sig->p, sig->n, out);
}

static void test_captured_verify(void **state)
{
    (void)state;
    for (size_t i = 0; i < wa_ncases; i++) {
        const wa_case_t *w = &wa_cases[i];
        uint32_t count = creds[i].sign_count;
        for (int j = 0; j < 2; j++) {
            mth_wa_expect_t e = wa_expect_get(w, j);
            mth_wa_stored_t s = stored(i, count);
            mth_wa_assertion_t out;
            mth_wa_status_t st =
                check(&e, &s, &w->assertions[j].authenticator_data, &w->assertions[j].signature, &out);
            if (st != MTH_WA_OK)
                fail_msg("%s assertion %d: %s", w->name, j, mth_wa_reason(st));
            assert_true(out.sign_count > count);
            assert_true(out.flags & MTH_WA_FLAG_UV);
            count = out.sign_count;
        }
    }
}

/* The counter that did not increase: refused, but only after the signature
 * verified, and the counter seen is reported. */
static void test_counter_rollback(void **state)
{
    (void)state;
    for (size_t i = 0; i < wa_ncases; i++) {
        const wa_case_t *w = &wa_cases[i];
        mth_wa_expect_t e = wa_expect_get(w, 0);
        mth_wa_assertion_t out;
        uint32_t seen = w->assertions[0].authenticator_data.p[36];
        static const uint32_t stored_counts[] = {0, 1, 2, 3, 1000, UINT32_MAX};
        for (size_t k = 0; k < sizeof(stored_counts) / sizeof(stored_counts[0]); k++) {
            mth_wa_stored_t s = stored(i, stored_counts[k]);
            mth_wa_status_t want = stored_counts[k] < seen ? MTH_WA_OK : MTH_WA_COUNTER_ROLLBACK;
            assert_int_equal(
                check(&e, &s, &w->assertions[0].authenticator_data, &w->assertions[0].signature, &out), want);
            assert_int_equal(out.sign_count, seen);
        }
        /* A rolled-back counter with a bad signature is a bad signature. */
        wa_bytes_t sig = wa_copy(w->assertions[0].signature.p, w->assertions[0].signature.n);
        sig.p[sig.n / 2] ^= 0x01;
        mth_wa_stored_t s = stored(i, 1000);
        assert_int_equal(check(&e, &s, &w->assertions[0].authenticator_data, &sig, &out),
                         MTH_WA_BAD_SIGNATURE);
        wa_bytes_free(&sig);
    }
}

/* Authenticators without a counter send 0 every time: fine while the
 * stored one is 0 too, a rollback once a counter was seen. */
static void test_counter_zero(void **state)
{
    (void)state;
    size_t i = idx("es256-none");
    const wa_case_t *w = &wa_cases[i];
    mth_wa_expect_t e = wa_expect_get(w, 0);
    wa_bytes_t ad, sig = wa_resign_assertion(w, 0, w->assertions[0].authenticator_data.p[32], 0, &ad);
    mth_wa_assertion_t out;
    mth_wa_stored_t s = stored(i, 0);
    assert_int_equal(check(&e, &s, &ad, &sig, &out), MTH_WA_OK);
    s = stored(i, 1);
    assert_int_equal(check(&e, &s, &ad, &sig, &out), MTH_WA_COUNTER_ROLLBACK);
    wa_bytes_free(&ad);
    wa_bytes_free(&sig);
}

static void test_wrong_context(void **state)
{
    (void)state;
    for (size_t i = 0; i < wa_ncases; i++) {
        const wa_case_t *w = &wa_cases[i];
        const wa_bytes_t *ad = &w->assertions[1].authenticator_data, *sig = &w->assertions[1].signature;
        mth_wa_stored_t s = stored(i, 0);
        mth_wa_assertion_t out;
        mth_wa_expect_t e = wa_expect_get(w, 1);
        e.rp_id = "example.com";
        assert_int_equal(check(&e, &s, ad, sig, &out), MTH_WA_WRONG_RP_ID);
        e = wa_expect_get(w, 1);
        e.origin = "https://localhost:8765";
        assert_int_equal(check(&e, &s, ad, sig, &out), MTH_WA_WRONG_ORIGIN);
        e = wa_expect_get(w, 1);
        e.challenge = w->assertions[0].challenge.p; /* the other assertion's */
        assert_int_equal(check(&e, &s, ad, sig, &out), MTH_WA_WRONG_CHALLENGE);
        /* The registration's client data (type webauthn.create). */
        e = wa_expect_reg(w);
        assert_int_equal(check(&e, &s, ad, sig, &out), MTH_WA_WRONG_TYPE);
        /* The client data of the other assertion: its challenge is not ours,
         * and if it were, the signature covers the hash of the real one. */
        e = wa_expect_get(w, 0);
        assert_int_equal(check(&e, &s, ad, sig, &out), MTH_WA_BAD_SIGNATURE);
    }
}

static void test_tampered(void **state)
{
    (void)state;
    for (size_t i = 0; i < wa_ncases; i++) {
        const wa_case_t *w = &wa_cases[i];
        mth_wa_expect_t e = wa_expect_get(w, 0);
        mth_wa_stored_t s = stored(i, 0);
        mth_wa_assertion_t out;
        const wa_bytes_t *ad = &w->assertions[0].authenticator_data, *sig = &w->assertions[0].signature;
        /* The signature: a flipped bit at the start, middle and end. */
        size_t at[] = {0, sig->n / 2, sig->n - 1};
        for (size_t k = 0; k < 3; k++) {
            wa_bytes_t bent = wa_copy(sig->p, sig->n);
            bent.p[at[k]] ^= 0x04;
            assert_int_equal(check(&e, &s, ad, &bent, &out), MTH_WA_BAD_SIGNATURE);
            wa_bytes_free(&bent);
        }
        wa_bytes_t empty = {NULL, 0}, cut = wa_copy(sig->p, sig->n - 1);
        assert_int_equal(check(&e, &s, ad, &empty, &out), MTH_WA_BAD_SIGNATURE);
        assert_int_equal(check(&e, &s, ad, &cut, &out), MTH_WA_BAD_SIGNATURE);
        wa_bytes_free(&cut);
        /* Authenticator data: a counter bumped (no re-signing). */
        wa_bytes_t bent = wa_copy(ad->p, ad->n);
        bent.p[36] += 1;
        assert_int_equal(check(&e, &s, &bent, sig, &out), MTH_WA_BAD_SIGNATURE);
        wa_bytes_free(&bent);
        /* Another credential's key. */
        size_t other = (i + 1) % wa_ncases;
        mth_wa_stored_t o = stored(other, 0);
        o.backup_eligible = s.backup_eligible;
        mth_wa_status_t st = check(&e, &o, ad, sig, &out);
        assert_int_equal(st, MTH_WA_BAD_SIGNATURE);
    }
}

/* UV and UP cleared: refused whether or not the data was re-signed. */
static void test_flags(void **state)
{
    (void)state;
    for (size_t i = 0; i < wa_ncases; i++) {
        const wa_case_t *w = &wa_cases[i];
        mth_wa_expect_t e = wa_expect_get(w, 0);
        mth_wa_stored_t s = stored(i, 0);
        mth_wa_assertion_t out;
        uint8_t f = w->assertions[0].authenticator_data.p[32];
        static const struct {
            uint8_t clear, set;
            mth_wa_status_t want;
        } v[] = {
            {MTH_WA_FLAG_UV, 0, MTH_WA_NO_USER_VERIFICATION},
            {MTH_WA_FLAG_UP, 0, MTH_WA_NO_USER_PRESENCE},
            {MTH_WA_FLAG_BE, 0, MTH_WA_BACKUP_STATE_INVALID}, /* BE changed (and BS without BE when set) */
            {0, MTH_WA_FLAG_AT, MTH_WA_MALFORMED},
            {0, MTH_WA_FLAG_ED, MTH_WA_MALFORMED},
        };
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
            if (v[k].clear == MTH_WA_FLAG_BE && !(f & MTH_WA_FLAG_BE))
                continue;
            uint8_t nf = (uint8_t)((f & ~v[k].clear) | v[k].set);
            wa_bytes_t ad, sig = wa_resign_assertion(w, 0, nf, 9, &ad);
            assert_int_equal(check(&e, &s, &ad, &sig, &out), v[k].want);
            /* Unsigned: the same answer, the flag check comes first. */
            assert_int_equal(check(&e, &s, &ad, &w->assertions[0].signature, &out), v[k].want);
            wa_bytes_free(&ad);
            wa_bytes_free(&sig);
        }
        /* Re-signed with the flags as they were: accepted (so the twins
         * above fail for their flag, not for the re-signing). */
        wa_bytes_t ad, sig = wa_resign_assertion(w, 0, f, 9, &ad);
        assert_int_equal(check(&e, &s, &ad, &sig, &out), MTH_WA_OK);
        assert_int_equal(out.sign_count, 9);
        wa_bytes_free(&ad);
        wa_bytes_free(&sig);
    }
}

/* BE is fixed at registration (§6.1.3): a credential registered without it
 * that now claims it, or the reverse, is refused; BS alone is refused. */
static void test_backup_eligibility(void **state)
{
    (void)state;
    size_t b = idx("es256-none-backup"), n = idx("es256-none");
    mth_wa_assertion_t out;
    const wa_case_t *wb = &wa_cases[b], *wn = &wa_cases[n];
    assert_true(creds[b].flags & MTH_WA_FLAG_BE);
    assert_false(creds[n].flags & MTH_WA_FLAG_BE);

    mth_wa_expect_t e = wa_expect_get(wb, 0);
    mth_wa_stored_t s = stored(b, 0);
    assert_int_equal(check(&e, &s, &wb->assertions[0].authenticator_data, &wb->assertions[0].signature, &out),
                     MTH_WA_OK);
    assert_int_equal(out.flags & (MTH_WA_FLAG_BE | MTH_WA_FLAG_BS), MTH_WA_FLAG_BE | MTH_WA_FLAG_BS);
    s.backup_eligible = 0;
    assert_int_equal(check(&e, &s, &wb->assertions[0].authenticator_data, &wb->assertions[0].signature, &out),
                     MTH_WA_BACKUP_STATE_INVALID);
    /* Backed up now but not then (BS may change, BE may not). */
    s.backup_eligible = 1;
    wa_bytes_t ad, sig = wa_resign_assertion(wb, 0, MTH_WA_FLAG_UP | MTH_WA_FLAG_UV | MTH_WA_FLAG_BE, 7, &ad);
    assert_int_equal(check(&e, &s, &ad, &sig, &out), MTH_WA_OK);
    wa_bytes_free(&ad);
    wa_bytes_free(&sig);

    e = wa_expect_get(wn, 0);
    s = stored(n, 0);
    s.backup_eligible = 1;
    assert_int_equal(check(&e, &s, &wn->assertions[0].authenticator_data, &wn->assertions[0].signature, &out),
                     MTH_WA_BACKUP_STATE_INVALID);
    s.backup_eligible = 0;
    sig = wa_resign_assertion(wn, 0, MTH_WA_FLAG_UP | MTH_WA_FLAG_UV | MTH_WA_FLAG_BE, 7, &ad);
    assert_int_equal(check(&e, &s, &ad, &sig, &out), MTH_WA_BACKUP_STATE_INVALID);
    wa_bytes_free(&ad);
    wa_bytes_free(&sig);
    sig = wa_resign_assertion(wn, 0, MTH_WA_FLAG_UP | MTH_WA_FLAG_UV | MTH_WA_FLAG_BS, 7, &ad);
    assert_int_equal(check(&e, &s, &ad, &sig, &out), MTH_WA_BACKUP_STATE_INVALID);
    wa_bytes_free(&ad);
    wa_bytes_free(&sig);
}

static void test_stored_key(void **state)
{
    (void)state;
    size_t i = idx("rs256-none"), j = idx("eddsa-none");
    const wa_case_t *w = &wa_cases[i];
    mth_wa_expect_t e = wa_expect_get(w, 0);
    mth_wa_assertion_t out;
    mth_wa_stored_t s = stored(i, 0);
    s.alg = MTH_COSE_ES256; /* an RSA key stored as ES256 */
    assert_int_equal(check(&e, &s, &w->assertions[0].authenticator_data, &w->assertions[0].signature, &out),
                     MTH_WA_MALFORMED);
    s.alg = -37;
    assert_int_equal(check(&e, &s, &w->assertions[0].authenticator_data, &w->assertions[0].signature, &out),
                     MTH_WA_UNSUPPORTED_ALG);
    s = stored(i, 0);
    s.public_key_der_len--;
    assert_int_equal(check(&e, &s, &w->assertions[0].authenticator_data, &w->assertions[0].signature, &out),
                     MTH_WA_MALFORMED);
    s = stored(j, 0);
    s.alg = MTH_COSE_EDDSA;
    s.public_key_der = creds[i].public_key_der; /* EdDSA alg, RSA key */
    s.public_key_der_len = creds[i].public_key_der_len;
    assert_int_equal(check(&e, &s, &w->assertions[0].authenticator_data, &w->assertions[0].signature, &out),
                     MTH_WA_MALFORMED);
}

static void test_authdata_malformed(void **state)
{
    (void)state;
    size_t i = idx("eddsa-none");
    const wa_case_t *w = &wa_cases[i];
    mth_wa_expect_t e = wa_expect_get(w, 0);
    mth_wa_stored_t s = stored(i, 0);
    mth_wa_assertion_t out;
    const wa_bytes_t *ad = &w->assertions[0].authenticator_data;
    for (size_t n = 0; n < ad->n; n++) {
        wa_bytes_t cut = wa_copy(ad->p, n);
        assert_int_equal(check(&e, &s, &cut, &w->assertions[0].signature, &out), MTH_WA_MALFORMED);
        wa_bytes_free(&cut);
    }
    wa_bytes_t longer = {malloc(ad->n + 1), ad->n + 1};
    memcpy(longer.p, ad->p, ad->n);
    longer.p[ad->n] = 0xa0;
    assert_int_equal(check(&e, &s, &longer, &w->assertions[0].signature, &out), MTH_WA_MALFORMED);
    /* ... unless ED says extensions follow; then the signature decides. */
    longer.p[32] |= MTH_WA_FLAG_ED;
    assert_int_equal(check(&e, &s, &longer, &w->assertions[0].signature, &out), MTH_WA_BAD_SIGNATURE);
    wa_bytes_free(&longer);
}

static void test_reasons(void **state)
{
    (void)state;
    assert_string_equal(mth_wa_reason(MTH_WA_OK), "ok");
    assert_string_equal(mth_wa_reason(MTH_WA_MALFORMED), "malformed");
    assert_string_equal(mth_wa_reason(MTH_WA_WRONG_CHALLENGE), "wrong_challenge");
    assert_string_equal(mth_wa_reason(MTH_WA_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(mth_wa_reason(MTH_WA_COUNTER_ROLLBACK), "counter_rollback");
    assert_string_equal(mth_wa_reason(MTH_WA_BACKUP_STATE_INVALID), "backup_state_invalid");
    /* Every status has its own code. */
    for (int a = MTH_WA_OK; a <= MTH_WA_BACKUP_STATE_INVALID; a++)
        for (int b = a + 1; b <= MTH_WA_BACKUP_STATE_INVALID; b++)
            assert_string_not_equal(mth_wa_reason((mth_wa_status_t)a), mth_wa_reason((mth_wa_status_t)b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captured_verify),    cmocka_unit_test(test_counter_rollback),
        cmocka_unit_test(test_counter_zero),       cmocka_unit_test(test_wrong_context),
        cmocka_unit_test(test_tampered),           cmocka_unit_test(test_flags),
        cmocka_unit_test(test_backup_eligibility), cmocka_unit_test(test_stored_key),
        cmocka_unit_test(test_authdata_malformed), cmocka_unit_test(test_reasons),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
