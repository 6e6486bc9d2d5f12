/* Pending authorization requests that the browser carries, sealed.
 *
 * /authorize used to store every request that needed a sign-in in
 * authorization_requests before it showed the sign-in page: a row written
 * for every page view, by anyone, before anyone signed in, and one more
 * statement and commit in every sign-in. Now the page carries the request
 * itself in a box: AES-256-GCM under a key of its own, so a box opens only
 * for the id the page's CSRF token is bound to, and nobody can forge or
 * alter one.
 *
 * Each box has a key of its own: HMAC of the request's id under a key
 * derived from the key-encryption key (as totp_secret.c derives its key).
 * Under one key, GCM's random 96-bit nonces are safe for about 2^32 seals
 * (NIST SP 800-38D §8.3), and a repeated nonce would let anyone forge boxes;
 * a sign-in page is shown on every visit, so a busy server would reach that
 * in months. With a key per request (a fresh random id each), no key seals
 * twice. The id is also the associated data.
 *
 * The password form finishes the request from the box alone (login.c,
 * authorize.c): no row at all. The page's other doors (a code, a passkey, a
 * Temporary Access Pass, recovery) leave the page and come back to the
 * request by id, so the first of them to be used stores the box as the row
 * it replaces (oidc_pending_live_query) and everything goes on as before.
 *
 * What a box cannot do is be used up: a row is deleted by the statement that
 * issues its code, a box may finish its request again until it expires
 * (OIDC_AZ_REQUEST_TTL_S after /authorize made it). That gives nothing a
 * browser sent to the same /authorize URL again would not get, and each
 * finish takes a sign-in of its own.
 *
 * Wire form: base64url(nonce || ciphertext || tag) of the creation time
 * (8 bytes, big-endian epoch seconds) followed by the request's parameters
 * (oidc_az_to_json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "oidc/authorize_internal.h"
#include "oidc/signin_internal.h"

#define AAD_LABEL "regain/pending-request/v1:"
/* A clock this far ahead in another gateway process still opens its boxes. */
#define CLOCK_SKEW_S 60

/* The key the boxes' keys are derived from, prepared once: two derivations
 * per sign-in run on the event loop. */
static gw_hmac_key_t g_keys;

void oidc_pending_keys_init(const uint8_t kek[32])
{
    static const char LABEL[] = "regain/pending-request-key/v1";
    uint8_t key[GW_SHA256_LEN];
    gw_hmac_sha256(kek, 32, LABEL, sizeof(LABEL) - 1, key);
    gw_hmac_dispose(&g_keys);
    gw_hmac_init(&g_keys, key, sizeof(key));
    gw_wipe(key, sizeof(key));
}

/* The associated data: label and the id in lower case (ids compare so in
 * SQL); and the box's own key, the HMAC of the same bytes. */
static size_t aad_and_key(const char *id, char out[sizeof(AAD_LABEL) + OIDC_UUID_LEN],
                          uint8_t key[GW_AEAD_KEY_LEN])
{
    size_t n = sizeof(AAD_LABEL) - 1;
    memcpy(out, AAD_LABEL, n);
    for (size_t i = 0; i < OIDC_UUID_LEN && id[i] != '\0'; i++)
        out[n++] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] + 32 : id[i]);
    gw_hmac_run(&g_keys, out, n, key);
    return n;
}

const char *oidc_pending_seal(h2o_mem_pool_t *pool, const char *id, int64_t created_at,
                              h2o_iovec_t params_json)
{
    if (!oidc_uuid_ok(id, strlen(id)) || params_json.len > OIDC_PENDING_PARAMS_MAX)
        return NULL;
    size_t n = 8 + params_json.len;
    uint8_t *pt = gw_malloc(n);
    for (int i = 0; i < 8; i++)
        pt[i] = (uint8_t)((uint64_t)created_at >> (56 - 8 * i));
    memcpy(pt + 8, params_json.base, params_json.len);
    char a[sizeof(AAD_LABEL) + OIDC_UUID_LEN];
    uint8_t key[GW_AEAD_KEY_LEN], *box = NULL;
    size_t boxlen = 0, alen = aad_and_key(id, a, key);
    gw_err_t err;
    int rc = gw_aead_seal(key, a, alen, pt, n, &box, &boxlen, &err);
    gw_wipe(key, sizeof(key));
    free(pt);
    if (rc != 0)
        return NULL;
    char *out = h2o_mem_alloc_pool(pool, GW_B64URL_LEN(boxlen) + 1);
    gw_b64url_encode(box, boxlen, out);
    free(box);
    return out;
}

const char *oidc_pending_new(h2o_mem_pool_t *pool, const oidc_az_request_t *a, char id[OIDC_UUID_LEN + 1])
{
    h2o_iovec_t json = oidc_az_to_json(pool, a);
    if (json.base == NULL || json.len > OIDC_PENDING_PARAMS_MAX)
        return NULL;
    /* A version 4 UUID (RFC 9562 §5.4): as unguessable as the database's
     * gen_random_uuid() ids, which share the column. */
    uint8_t b[16];
    gw_random_bytes(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    static const char HEX[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            id[n++] = '-';
        id[n++] = HEX[b[i] >> 4];
        id[n++] = HEX[b[i] & 15];
    }
    id[n] = '\0';
    return oidc_pending_seal(pool, id, (int64_t)time(NULL), json);
}

int oidc_pending_open(h2o_mem_pool_t *pool, const char *id, const char *sealed, size_t len,
                      const char **params_json, int64_t *created_at)
{
    if (sealed == NULL || len == 0 || len > OIDC_PENDING_MAX || !oidc_uuid_ok(id, strlen(id)))
        return -1;
    uint8_t *box = gw_malloc(GW_B64_DECODED_MAX(len));
    size_t boxlen = 0;
    uint8_t *pt = NULL;
    size_t n = 0;
    char a[sizeof(AAD_LABEL) + OIDC_UUID_LEN];
    uint8_t key[GW_AEAD_KEY_LEN];
    size_t alen = aad_and_key(id, a, key);
    gw_err_t err;
    int rc = -1;
    if (gw_b64url_decode(sealed, len, box, &boxlen) != 0 ||
        gw_aead_open(key, a, alen, box, boxlen, &pt, &n, &err) != 0)
        goto done;
    if (n <= 8 || memchr(pt + 8, '\0', n - 8) != NULL)
        goto done;
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = t << 8 | pt[i];
    int64_t now = (int64_t)time(NULL), created = (int64_t)t;
    if (created > now + CLOCK_SKEW_S || now >= created + OIDC_AZ_REQUEST_TTL_S)
        goto done;
    char *json = h2o_mem_alloc_pool(pool, n - 8 + 1);
    memcpy(json, pt + 8, n - 8);
    json[n - 8] = '\0';
    *params_json = json;
    *created_at = created;
    rc = 0;
done:
    gw_wipe(key, sizeof(key));
    free(box);
    if (pt != NULL) {
        gw_wipe(pt, n);
        free(pt);
    }
    return rc;
}

/* ---- storing a box as the row it replaces ------------------------------------------ */

/* The same answer as oidc_stmt_authz_request_live (login_hint, acr_values,
 * claims, redirect_uri of a live request; no row otherwise), storing the request first
 * when it is not stored yet. Of two doors used at once, one inserts and the
 * other finds its row. A request whose client has been removed meanwhile is
 * not stored, as the client's removal would have deleted its row. The outer
 * SELECT does not see the row `stored` inserts (one snapshot), so the two
 * branches give one row between them. Like /authorize's insert before it,
 * each insert also removes a few expired rows. */
static store_stmt_t STMT_PENDING_STORE = {
    "authz_pending_store",
    "WITH " OIDC_GC_EXPIRED(
        "authorization_requests",
        "16") ", "
              "stored AS (INSERT INTO authorization_requests (id, client_id, params, created_at, expires_at) "
              "  SELECT $1::uuid, p.params->>'client_id', p.params, to_timestamp($3::bigint), "
              "    to_timestamp($3::bigint) + make_interval(secs => $4::int) "
              "  FROM (SELECT $2::jsonb AS params) p "
              "  WHERE to_timestamp($3::bigint) + make_interval(secs => $4::int) > now() "
              "    AND EXISTS (SELECT 1 FROM clients c WHERE c.id = p.params->>'client_id') "
              "  ON CONFLICT (id) DO NOTHING RETURNING params) "
              "SELECT params->>'login_hint', params->>'acr_values', params->>'claims', "
              "  params->>'redirect_uri' FROM stored "
              "UNION ALL "
              "SELECT params->>'login_hint', params->>'acr_values', params->>'claims', "
              "  params->>'redirect_uri' FROM authorization_requests "
              "WHERE id = $1::uuid AND expires_at > now()",
    4, 0};

void oidc_pending_db_register(void)
{
    store_stmt_register(&STMT_PENDING_STORE);
}

void oidc_pending_live_query(gw_req_t *r, const char *id, h2o_iovec_t sealed, gw_req_query_data_cb cb,
                             void *data)
{
    const char *json;
    int64_t created;
    if (sealed.len == 0 ||
        oidc_pending_open(&r->req->pool, id, sealed.base, sealed.len, &json, &created) != 0) {
        /* No box, or one that does not open: the row alone decides. */
        const char *params[1] = {id};
        gw_req_query(r, &oidc_stmt_authz_request_live, params, cb, data);
        return;
    }
    char when[24], ttl[16];
    snprintf(when, sizeof(when), "%lld", (long long)created);
    snprintf(ttl, sizeof(ttl), "%d", OIDC_AZ_REQUEST_TTL_S);
    const char *params[4] = {id, json, when, ttl};
    gw_req_query(r, &STMT_PENDING_STORE, params, cb, data);
}
