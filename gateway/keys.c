/* Key sets: building a snapshot from sealed rows, and swapping it in. */
#include "gateway/keys.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "gateway/internal.h"
#include "gateway/keys_internal.h"
#include "gateway/log.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static gw_keyset_t *g_current;
static uint8_t g_kek[32];

static void keyset_free(gw_keyset_t *ks)
{
    for (size_t i = 0; i < ks->count; i++)
        EVP_PKEY_free(ks->keys[i].pkey);
    free(ks->jwks);
    free(ks->jwks_gzip);
    free(ks->fingerprint);
    free(ks);
}

gw_keyset_t *gw_keys_acquire(void)
{
    pthread_mutex_lock(&g_lock);
    gw_keyset_t *ks = g_current;
    if (ks != NULL)
        atomic_fetch_add(&ks->refs, 1);
    pthread_mutex_unlock(&g_lock);
    return ks;
}

void gw_keys_release(gw_keyset_t *ks)
{
    if (ks != NULL && atomic_fetch_sub(&ks->refs, 1) == 1)
        keyset_free(ks);
}

const gw_signing_key_t *gw_keyset_current(const gw_keyset_t *ks, const char *alg)
{
    /* Not merely the newest: a rotated key is published before it signs. */
    for (size_t i = 0; i < ks->count; i++)
        if (ks->keys[i].current && strcmp(ks->keys[i].alg, alg) == 0)
            return &ks->keys[i];
    return NULL;
}

void gw_keys_rotation_waits(unsigned refresh_interval_ms, unsigned max_token_ttl_s, gw_keys_rotation_t *rot)
{
    /* A gateway loads a published key within one poll; the second poll is
     * slack for a slow query or a poll that fails once. Then relying parties'
     * copies of /jwks.json fetched before it was published have expired. */
    rot->activate_ms = 2 * (uint64_t)refresh_interval_ms + (uint64_t)GW_JWKS_MAX_AGE_S * 1000;
    /* A gateway switches keys at its first poll after the new key's time, so
     * the old one may sign for one more poll; its last token lives
     * max_token_ttl_s; and a verifier that cached /jwks.json just before the
     * key left it keeps it for the cache time, which does no harm. */
    rot->keep_ms = (uint64_t)refresh_interval_ms + ((uint64_t)max_token_ttl_s + GW_JWKS_MAX_AGE_S) * 1000;
}

static _Atomic uint64_t g_reload_asked_ms;

int gw_keys_reload_due(uint64_t now_ms)
{
    uint64_t last = atomic_load(&g_reload_asked_ms);
    if (last != 0 && now_ms < last + GW_KEYS_RELOAD_SOON_MIN_MS)
        return 0;
    /* Of several threads seeing unknown kids at once, one asks. */
    return atomic_compare_exchange_strong(&g_reload_asked_ms, &last, now_ms);
}

void gw_keys_set_kek(const uint8_t kek[32])
{
    memcpy(g_kek, kek, 32);
}

const char *gw_keyset_fingerprint(void)
{
    /* Read on the refresh thread only, which is also the only writer. */
    return g_current ? g_current->fingerprint : "";
}

/* bytea in PostgreSQL's text output is "\x" followed by hex digits. */
static uint8_t *bytea_decode(const char *text, size_t *len)
{
    size_t n = strlen(text);
    if (n < 2 || text[0] != '\\' || text[1] != 'x' || (n - 2) % 2 != 0)
        return NULL;
    uint8_t *out = gw_malloc((n - 2) / 2 + 1);
    for (size_t i = 0; i < (n - 2) / 2; i++) {
        int hi = gw_hex_digit(text[2 + 2 * i]), lo = gw_hex_digit(text[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = (n - 2) / 2;
    return out;
}

/* Opens one sealed row with `kek` and checks that the key really has the kid
 * it is filed under (the kid is also the AEAD's associated data). */
static int open_key(const uint8_t kek[32], const gw_key_row_t *row, gw_signing_key_t *out, gw_err_t *err)
{
    size_t boxlen = 0, derlen = 0;
    uint8_t *box = bytea_decode(row->sealed_hex, &boxlen), *der = NULL;
    char kid[GW_THUMBPRINT_LEN + 1];
    int rc = -1;
    if (box == NULL) {
        GW_ERRF(err, GW_E_INTERNAL, "signing key %s: stored value is malformed", row->kid);
        goto out;
    }
    if (gw_aead_open(kek, row->kid, strlen(row->kid), box, boxlen, &der, &derlen, err) != 0) {
        /* A configuration error, as far as anyone can tell: the tag also
         * fails for an altered box, but nothing else writes these rows. */
        GW_ERRF(err, GW_E_BAD_REQUEST,
                "signing key %s does not open: is keys.encryption_key the one it was sealed with?", row->kid);
        goto out;
    }
    if (gw_key_from_private_der(der, derlen, &out->pkey, err) != 0 ||
        gw_key_thumbprint(out->pkey, kid, err) != 0)
        goto out;
    if (strcmp(kid, row->kid) != 0) {
        GW_ERRF(err, GW_E_INTERNAL, "signing key %s: thumbprint mismatch", row->kid);
        goto out;
    }
    snprintf(out->kid, sizeof(out->kid), "%s", row->kid);
    snprintf(out->alg, sizeof(out->alg), "%s", row->alg);
    out->current = row->current;
    rc = 0;
out:
    if (der != NULL) {
        gw_wipe(der, derlen);
        free(der);
    }
    free(box);
    if (rc != 0 && out->pkey != NULL) {
        EVP_PKEY_free(out->pkey);
        out->pkey = NULL;
    }
    return rc;
}

static int build_jwks(gw_keyset_t *ks, gw_err_t *err)
{
    size_t cap = 64, len = 0;
    char *buf = gw_malloc(cap);
    len = (size_t)snprintf(buf, cap, "{\"keys\":[");
    for (size_t i = 0; i < ks->count; i++) {
        char *jwk = NULL;
        if (gw_key_public_jwk(ks->keys[i].pkey, ks->keys[i].kid, ks->keys[i].alg, "sig", &jwk, err) != 0) {
            free(buf);
            return -1;
        }
        size_t n = strlen(jwk);
        buf = gw_realloc(buf, (cap = len + n + 8));
        if (i > 0)
            buf[len++] = ',';
        memcpy(buf + len, jwk, n);
        len += n;
        free(jwk);
    }
    buf = gw_realloc(buf, len + 3);
    memcpy(buf + len, "]}", 3);
    ks->jwks = buf;
    ks->jwks_len = len + 2;
    if (gw_gzip_encode(ks->jwks, ks->jwks_len, &ks->jwks_gzip, &ks->jwks_gzip_len) != 0)
        ks->jwks_gzip = NULL;
    return 0;
}

int gw_keys_install(const gw_key_row_t *rows, size_t n, gw_err_t *err)
{
    gw_keyset_t *ks = gw_calloc(1, sizeof(*ks));
    size_t fplen = 1;
    if (n > GW_KEYSET_MAX)
        n = GW_KEYSET_MAX;
    for (size_t i = 0; i < n; i++) {
        if (open_key(g_kek, &rows[i], &ks->keys[ks->count], err) != 0)
            goto fail;
        ks->count++;
        fplen += strlen(rows[i].kid) + 2;
    }
    if (ks->count == 0) {
        GW_ERR(err, GW_E_INTERNAL, "no signing key");
        goto fail;
    }
    /* As STMT_FINGERPRINT (keys_db.c) spells it, so a key starting to sign
     * is a change too. */
    ks->fingerprint = gw_calloc(1, fplen);
    for (size_t i = 0; i < n; i++) {
        strcat(ks->fingerprint, rows[i].kid);
        strcat(ks->fingerprint, rows[i].current ? "+," : ",");
    }
    if (build_jwks(ks, err) != 0)
        goto fail;
    atomic_store(&ks->refs, 1);
    pthread_mutex_lock(&g_lock);
    gw_keyset_t *old = g_current;
    g_current = ks;
    pthread_mutex_unlock(&g_lock);
    gw_keys_release(old);
    return 0;
fail:
    keyset_free(ks);
    return -1;
}

int gw_keys_check_open(const uint8_t kek[32], const gw_key_row_t *rows, size_t n, gw_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        gw_signing_key_t key = {0};
        if (open_key(kek, &rows[i], &key, err) != 0)
            return -1;
        EVP_PKEY_free(key.pkey);
    }
    return 0;
}

void gw_keys_dispose(void)
{
    pthread_mutex_lock(&g_lock);
    gw_keyset_t *old = g_current;
    g_current = NULL;
    pthread_mutex_unlock(&g_lock);
    gw_keys_release(old);
    gw_wipe(g_kek, sizeof(g_kek));
}
