/* GET /jwks.json: the public keys of the published key set (RFC 7517 §5):
 * the key that signs, a rotated key before it signs, and replaced keys until
 * the tokens they signed have expired. */
#include "gateway/keys.h"
#include "oidc/internal.h"

static void release_keyset(void *ks)
{
    gw_keys_release(ks);
}

static void on_jwks(gw_req_t *r)
{
    gw_keyset_t *ks = gw_keys_acquire();
    /* Short caching: relying parties refetch on an unknown kid anyway, and a
     * rotation should reach them within minutes. A rotated key signs only
     * once copies cached before it was published have expired
     * (gw_keys_rotation_waits). */
    gw_reply_header(r, "cache-control", H2O_STRLIT("public, max-age=" H2O_TO_STR(GW_JWKS_MAX_AGE_S)));
    /* Sent from the key set itself, which the request holds until it ends. */
    gw_codings_t body = {ks->jwks, ks->jwks_len, ks->jwks_gzip, ks->jwks_gzip_len};
    gw_reply_codings(r, 200, "application/json", &body, release_keyset, ks);
}

static gw_route_t ROUTE_JWKS = {"/jwks.json", GW_GET, 0, on_jwks, NULL, NULL, 0};

void oidc_jwks_register(void)
{
    gw_route_register(&ROUTE_JWKS);
}
