/* The files a configuration names, checked before anything starts
 * (gw_config_check_files): `regain config check` and `regain serve` call it
 * right after parsing, so a missing or broken certificate, key or CA file is
 * a configuration error (exit 2, naming the key) at once, not a failure
 * after the database was opened, or, for a CA file, at the first outbound
 * call. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "gateway/config.h"
#include "gateway/crypto.h"

__attribute__((format(printf, 3, 4))) static int fail(char *msg, size_t msgsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgsize, fmt, ap);
    va_end(ap);
    ERR_clear_error();
    return -1;
}

/* The first OpenSSL reason in the queue, or `fallback`. */
static const char *ossl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    return r != NULL ? r : fallback;
}

/* Opens `path` for reading; a message naming `key` when it cannot. A
 * directory opens but does not read, so that is refused here too. */
static FILE *open_file(const char *key, const char *path, char *msg, size_t msgsize)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fail(msg, msgsize, "%s: cannot read %s: %s", key, path, strerror(errno));
        return NULL;
    }
    if (getc(f) == EOF && ferror(f)) {
        fail(msg, msgsize, "%s: cannot read %s: %s", key, path, strerror(errno));
        fclose(f);
        return NULL;
    }
    rewind(f);
    return f;
}

static int readable(const char *key, const char *path, char *msg, size_t msgsize)
{
    FILE *f = open_file(key, path, msg, msgsize);
    if (f == NULL)
        return -1;
    fclose(f);
    return 0;
}

int gw_tls_use_listener_files(SSL_CTX *ctx, size_t i, const gw_listen_config_t *l, char *msg, size_t msgsize)
{
    char cert_key[64], key_key[64];
    snprintf(cert_key, sizeof(cert_key), "listen[%zu].tls.certificate_file", i);
    snprintf(key_key, sizeof(key_key), "listen[%zu].tls.key_file", i);
    if (readable(cert_key, l->certificate_file, msg, msgsize) != 0)
        return -1;
    FILE *f = open_file(key_key, l->key_file, msg, msgsize);
    if (f == NULL)
        return -1;
    /* Read apart from the certificate, so that "not a key" and "not this
     * certificate's key" get their own messages. */
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    int rc = -1;
    if (pk == NULL)
        fail(msg, msgsize, "%s: %s is not a PEM private key: %s", key_key, l->key_file,
             ossl_reason("cannot load"));
    else if (SSL_CTX_use_certificate_chain_file(ctx, l->certificate_file) != 1)
        fail(msg, msgsize, "%s: %s is not a PEM certificate chain: %s", cert_key, l->certificate_file,
             ossl_reason("cannot load"));
    else if (SSL_CTX_use_PrivateKey(ctx, pk) != 1 || SSL_CTX_check_private_key(ctx) != 1)
        fail(msg, msgsize, "%s: %s is not the key of the certificate in %s", key_key, l->key_file,
             l->certificate_file);
    else
        rc = 0;
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return rc;
}

/* A listener's certificate chain and key, loaded as gateway/server.c loads
 * them, into a context thrown away. */
static int check_tls(size_t i, const gw_listen_config_t *l, char *msg, size_t msgsize)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return fail(msg, msgsize, "listen[%zu].tls: %s", i, ossl_reason("cannot create a TLS context"));
    int rc = gw_tls_use_listener_files(ctx, i, l, msg, msgsize);
    SSL_CTX_free(ctx);
    return rc;
}

/* A provider's private_key_jwt key: what providers/oidc_ida.c loads. */
static int check_private_key(const char *key, const char *path, char *msg, size_t msgsize)
{
    FILE *f = open_file(key, path, msg, msgsize);
    if (f == NULL)
        return -1;
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    int ok = pk != NULL && gw_key_jws_alg(pk) != NULL;
    EVP_PKEY_free(pk);
    if (!ok)
        return fail(msg, msgsize, "%s: %s is not a P-256 or RSA (2048+) private key in PEM", key, path);
    ERR_clear_error();
    return 0;
}

/* Trust anchors for outbound TLS: what providers/http.c loads at start
 * (prov_http_preload). At least one certificate must load. */
static int check_ca_file(const char *key, const char *path, char *msg, size_t msgsize)
{
    if (readable(key, path, msg, msgsize) != 0)
        return -1;
    X509_STORE *store = X509_STORE_new();
    int ok = store != NULL && X509_STORE_load_file(store, path) == 1;
    if (!ok)
        fail(msg, msgsize, "%s: %s holds no PEM certificate: %s", key, path, ossl_reason("cannot load"));
    X509_STORE_free(store);
    ERR_clear_error();
    return ok ? 0 : -1;
}

int gw_config_check_files(const gw_config_t *cfg, char *msg, size_t msgsize)
{
    char key[64];
    for (size_t i = 0; i < cfg->listen_count; i++)
        if (cfg->listen[i].certificate_file != NULL && check_tls(i, &cfg->listen[i], msg, msgsize) != 0)
            return -1;
    for (size_t i = 0; i < cfg->provider_count; i++) {
        const gw_provider_config_t *p = &cfg->providers[i];
        snprintf(key, sizeof(key), "providers[%zu].private_key_file", i);
        if (p->private_key_file != NULL && check_private_key(key, p->private_key_file, msg, msgsize) != 0)
            return -1;
        snprintf(key, sizeof(key), "providers[%zu].ca_file", i);
        if (p->ca_file != NULL && check_ca_file(key, p->ca_file, msg, msgsize) != 0)
            return -1;
    }
    if (cfg->recovery.notification.ca_file != NULL &&
        check_ca_file("recovery.notification_webhook.ca_file", cfg->recovery.notification.ca_file, msg,
                      msgsize) != 0)
        return -1;
    if (cfg->recovery.claim_validation.ca_file != NULL &&
        check_ca_file("recovery.claim_validation_webhook.ca_file", cfg->recovery.claim_validation.ca_file,
                      msg, msgsize) != 0)
        return -1;
    return 0;
}
