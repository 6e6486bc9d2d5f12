/* Fuzz target: the box in which the sign-in page carries a pending
 * authorization request (oidc/pending.c). The first byte picks the use, the
 * rest is its input.
 *
 * Properties that must hold for every input:
 *   - as a box sent back by a browser: opening it never crashes, and
 *     whatever opens is parameters without a NUL, no longer than a box holds;
 *   - as a request's parameters: they seal exactly when they fit, the box is
 *     base64url of the right length, opens for its own request with the same
 *     parameters (unless they hold a NUL, which no box may carry), and not
 *     for another request nor with any one character changed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oidc/authorize_internal.h"

#define ID       "0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b11"
#define OTHER_ID "0b7e5c1a-8c1e-4a4e-9a55-3c1d2f0e9b12"

static void as_box(h2o_mem_pool_t *pool, const char *s, size_t n)
{
    const char *json = NULL;
    int64_t created = 0;
    if (oidc_pending_open(pool, ID, s, n, &json, &created) != 0)
        return;
    if (strlen(json) > OIDC_PENDING_PARAMS_MAX)
        abort();
}

static void as_params(h2o_mem_pool_t *pool, const char *s, size_t n, unsigned pick)
{
    const char *box = oidc_pending_seal(pool, ID, (int64_t)time(NULL), h2o_iovec_init(s, n));
    if ((box == NULL) != (n > OIDC_PENDING_PARAMS_MAX))
        abort();
    if (box == NULL)
        return;
    size_t len = strlen(box);
    if (len != GW_B64URL_LEN(8 + n + GW_AEAD_OVERHEAD))
        abort();
    const char *json = NULL;
    int64_t created = 0;
    int opened = oidc_pending_open(pool, ID, box, len, &json, &created);
    int has_nul = memchr(s, '\0', n) != NULL;
    if (opened != (has_nul || n == 0 ? -1 : 0))
        abort();
    if (opened == 0 && (strlen(json) != n || memcmp(json, s, n) != 0))
        abort();
    if (oidc_pending_open(pool, OTHER_ID, box, len, &json, &created) == 0)
        abort();
    char *changed = malloc(len + 1);
    memcpy(changed, box, len + 1);
    size_t at = pick % len;
    changed[at] = changed[at] == 'A' ? 'B' : 'A';
    if (oidc_pending_open(pool, ID, changed, len, &json, &created) == 0)
        abort();
    free(changed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int keyed;
    if (!keyed) {
        static const uint8_t kek[32] = {42};
        oidc_pending_keys_init(kek);
        keyed = 1;
    }
    if (size < 1)
        return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    if (data[0] % 2 == 0)
        as_box(&pool, s, n);
    else
        as_params(&pool, s, n, data[0]);
    h2o_mem_clear_pool(&pool);
    return 0;
}
