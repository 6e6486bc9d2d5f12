/* The `dev` provider: a simulated identity verification for evaluation and
 * tests (provider.h). It shows the provider contract by example: begin sends
 * the person to a page of regain's own (/recover/dev) where the tester types
 * the claims it should "verify"; finish turns that form into the normalised
 * identity every provider returns. It verifies nothing, so the config
 * refuses it unless dev_mode is set (gateway/config_recovery.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "providers/provider.h"

/* Form fields the dev page offers, as OIDC IDA claim names. */
static const char *const CLAIMS[] = {"given_name", "family_name", "birthdate", "employee_number",
                                     "document_number"};

#define FIELD_MAX 256

static int dev_init(prov_provider_t *p, char *msg, size_t msgsize)
{
    (void)p;
    (void)msg;
    (void)msgsize;
    return 0;
}

static void dev_begin(prov_provider_t *p, gw_req_t *r, const prov_begin_t *b, prov_begin_cb cb, void *data)
{
    char location[256];
    /* The handle is high-entropy base64url: safe in a query unescaped. */
    snprintf(location, sizeof(location), "/recover/dev?provider=%s&handle=%s", p->cfg->id, b->handle);
    cb(r, data, location, NULL);
}

static h2o_iovec_t field(const gw_kvs_t *kv, const char *name)
{
    h2o_iovec_t v = {NULL, 0};
    gw_err_t err;
    if (gw_kvs_get_once(kv, name, &v, &err) != 0 || v.base == NULL || v.len == 0 || v.len > FIELD_MAX)
        return h2o_iovec_init(NULL, 0);
    return v;
}

static void dev_finish(prov_provider_t *p, gw_req_t *r, const prov_finish_t *f, prov_finish_cb cb, void *data)
{
    (void)p;
    prov_identity_t id;
    memset(&id, 0, sizeof(id));
    if (field(f->params, "cancel").base != NULL) {
        cb(r, data, NULL, PROV_R_CANCELLED);
        return;
    }
    h2o_iovec_t tf = field(f->params, "trust_framework");
    h2o_iovec_t al = field(f->params, "assurance_level");
    h2o_iovec_t age = field(f->params, "verified_seconds_ago");
    h2o_iovec_t txn = field(f->params, "txn");
    id.trust_framework = tf.base ? gw_strndup(tf.base, tf.len) : gw_strdup("dev");
    id.assurance_level = al.base ? gw_strndup(al.base, al.len) : gw_strdup("substantial");
    long ago = age.base ? strtol(gw_req_strdup(r, age.base, age.len).base, NULL, 10) : 0;
    if (ago < 0)
        ago = 0;
    id.verified_at = (int64_t)time(NULL) - ago;
    if (txn.base != NULL) {
        id.txn = gw_strndup(txn.base, txn.len);
    } else {
        uint8_t rnd[16];
        char b64[GW_B64URL_LEN(16) + 1];
        gw_random_bytes(rnd, sizeof(rnd));
        gw_b64url_encode(rnd, sizeof(rnd), b64);
        id.txn = gw_strdup(b64);
    }
    /* The "signed result" of a simulation: a digest of what was typed. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned len = 0;
    EVP_DigestInit_ex(md, gw_sha256_md(), NULL);
    EVP_DigestUpdate(md, "dev", 3);
    EVP_DigestUpdate(md, id.txn, strlen(id.txn));
    for (size_t i = 0; i < sizeof(CLAIMS) / sizeof(CLAIMS[0]); i++) {
        h2o_iovec_t v = field(f->params, CLAIMS[i]);
        if (v.base == NULL)
            continue;
        char *value = gw_strndup(v.base, v.len);
        prov_identity_add_claim(&id, CLAIMS[i], value);
        EVP_DigestUpdate(md, CLAIMS[i], strlen(CLAIMS[i]) + 1);
        EVP_DigestUpdate(md, value, strlen(value) + 1);
        free(value);
    }
    EVP_DigestFinal_ex(md, id.result_hash, &len);
    EVP_MD_CTX_free(md);
    cb(r, data, &id, NULL);
    prov_identity_dispose(&id);
}

static void dev_describe(const prov_provider_t *p, gw_jw_t *w)
{
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "id", p->cfg->id);
    gw_jw_kv_str(w, "type", "dev");
    gw_jw_kv_str(w, "display_name", p->cfg->display_name);
    gw_jw_kv_bool(w, "simulated", true);
    gw_jw_obj_close(w);
}

const prov_ops_t prov_dev_ops = {"dev", dev_init, dev_begin, dev_finish, dev_describe, NULL};
