/* Password hashing with Argon2id (RFC 9106) through libargon2.
 *
 * Cost from the `oidc` config section; the defaults are OWASP's Password
 * Storage Cheat Sheet minimum for Argon2id (m = 19 MiB, t = 2, p = 1). One
 * check costs tens of milliseconds of CPU, so requests run it on the worker
 * pool (gateway/workers.h), never on an event loop. */
#include <argon2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/workers.h"
#include "oidc/signin_internal.h"

#define SALT_LEN 16 /* RFC 9106 §3.1: 16 bytes is enough for password hashing */
#define TAG_LEN  32

int oidc_password_hash(const oidc_argon2_params_t *prm, const char *pwd, size_t len, char **out,
                       gw_err_t *err)
{
    uint8_t salt[SALT_LEN];
    gw_random_bytes(salt, sizeof(salt));
    size_t enclen = argon2_encodedlen(prm->t, prm->m_kib, prm->p, SALT_LEN, TAG_LEN, Argon2_id);
    char *enc = gw_malloc(enclen);
    int rc =
        argon2id_hash_encoded(prm->t, prm->m_kib, prm->p, pwd, len, salt, SALT_LEN, TAG_LEN, enc, enclen);
    if (rc != ARGON2_OK) {
        free(enc);
        GW_ERR(err, GW_E_INTERNAL, "password hashing failed");
        gw_err_detail(err, "argon2: %s", argon2_error_message(rc));
        return -1;
    }
    *out = enc;
    return 0;
}

int oidc_password_verify(const char *encoded, const char *pwd, size_t len)
{
    static const char PREFIX[] = "$argon2id$";
    if (encoded == NULL || strncmp(encoded, PREFIX, sizeof(PREFIX) - 1) != 0)
        return 0;
    /* libargon2 compares the tags in constant time itself, either way. */
    oidc_phc_t h;
    if (oidc_phc_parse(encoded, &h) != 0)
        return argon2id_verify(encoded, pwd, len) == ARGON2_OK; /* a form we do not read */
    uint8_t out[OIDC_PHC_BYTES_MAX];
    argon2_context c = {
        .out = out,
        .outlen = (uint32_t)h.tag_len,
        .pwd = (uint8_t *)(uintptr_t)pwd, /* read only: ARGON2_FLAG_CLEAR_PASSWORD is not set */
        .pwdlen = (uint32_t)len,
        .salt = h.salt,
        .saltlen = (uint32_t)h.salt_len,
        .t_cost = h.t,
        .m_cost = h.m_kib,
        .lanes = h.p,
        .threads = h.p, /* as argon2id_verify does */
        .version = ARGON2_VERSION_13,
        .allocate_cbk = oidc_argon2_memory_alloc,
        .free_cbk = oidc_argon2_memory_free,
        .flags = ARGON2_DEFAULT_FLAGS,
    };
    int ok = len <= UINT32_MAX && argon2id_verify_ctx(&c, (const char *)h.tag) == ARGON2_OK;
    gw_wipe(out, sizeof(out));
    return ok;
}

/* ---- the dummy hash: unknown users cost as much as known ones ------------- */

static oidc_argon2_params_t g_params = {2, 19 * 1024, 1};
static pthread_once_t g_dummy_once = PTHREAD_ONCE_INIT;
static char *g_dummy;

void oidc_password_set_params(const oidc_argon2_params_t *prm)
{
    g_params = *prm;
}

static void make_dummy(void)
{
    /* A random password nobody knows: verifying against it always fails, and
     * takes as long as a real check at the configured cost. */
    uint8_t pwd[32];
    gw_err_t err;
    gw_random_bytes(pwd, sizeof(pwd));
    if (oidc_password_hash(&g_params, (const char *)pwd, sizeof(pwd), &g_dummy, &err) != 0)
        g_dummy = NULL;
    gw_wipe(pwd, sizeof(pwd));
}

/* Freed at exit so leak checks stay clean; the workers have stopped by then. */
__attribute__((destructor)) static void free_dummy(void)
{
    free(g_dummy);
    g_dummy = NULL;
}

/* ---- asynchronous verification ---------------------------------------------- */

typedef struct {
    gw_req_t *r; /* NULL once the request has gone */
    char *encoded;
    char pwd[OIDC_PASSWORD_MAX];
    size_t len;
    int ok;
    oidc_password_cb cb;
    void *data;
} pw_job_t;

static void pw_work(void *arg)
{
    pw_job_t *j = arg;
    if (j->encoded != NULL) {
        j->ok = oidc_password_verify(j->encoded, j->pwd, j->len);
    } else {
        pthread_once(&g_dummy_once, make_dummy);
        (void)oidc_password_verify(g_dummy, j->pwd, j->len);
        j->ok = 0;
    }
    gw_wipe(j->pwd, sizeof(j->pwd));
}

static void pw_detach(void *pending)
{
    ((pw_job_t *)pending)->r = NULL;
}

static void pw_done(void *arg)
{
    pw_job_t *j = arg;
    gw_req_t *r = j->r;
    int ok = j->ok;
    oidc_password_cb cb = j->cb;
    void *data = j->data;
    free(j->encoded);
    free(j);
    if (r == NULL)
        return; /* the client went away while the worker ran */
    gw_req_clear_pending(r);
    cb(r, data, ok);
}

void oidc_password_verify_async(gw_req_t *r, const char *encoded, char *pwd, size_t len, oidc_password_cb cb,
                                void *data)
{
    pw_job_t *j = gw_calloc(1, sizeof(*j));
    j->r = r;
    j->encoded = encoded != NULL ? gw_strdup(encoded) : NULL;
    if (len > sizeof(j->pwd))
        len = sizeof(j->pwd); /* callers bound it; never overflow */
    memcpy(j->pwd, pwd, len);
    gw_wipe(pwd, len);
    j->len = len;
    j->cb = cb;
    j->data = data;
    gw_req_set_pending(r, j, pw_detach);
    gw_work_submit(r->thread, pw_work, pw_done, j);
}
