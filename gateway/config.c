#include "gateway/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"

#define CONFIG_MAX_BYTES (256 * 1024)

typedef struct {
    char *msg;
    size_t msgsize;
    const char *base_dir;
} ctx_t;

static int fail(ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(ctx_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, c->msgsize, fmt, ap);
    va_end(ap);
    return -1;
}

/* A table of the keys an object may hold; anything else is a typo to report. */
static int check_keys(ctx_t *c, yajl_val obj, const char *where, const char *const *allowed)
{
    if (!YAJL_IS_OBJECT(obj))
        return fail(c, "%s: expected an object", where);
    for (size_t i = 0; i < obj->u.object.len; i++) {
        const char *k = obj->u.object.keys[i];
        int known = 0;
        for (const char *const *a = allowed; *a; a++)
            known |= strcmp(*a, k) == 0;
        if (!known)
            return fail(c, "%s%s%s: unknown key", where, *where ? "." : "", k);
        for (size_t j = 0; j < i; j++)
            if (strcmp(obj->u.object.keys[j], k) == 0)
                return fail(c, "%s%s%s: key given twice", where, *where ? "." : "", k);
    }
    return 0;
}

static yajl_val member(yajl_val obj, const char *key)
{
    for (size_t i = 0; obj && i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], key) == 0)
            return obj->u.object.values[i];
    return NULL;
}

static int get_string(ctx_t *c, yajl_val obj, const char *where, const char *key, char **out)
{
    yajl_val v = member(obj, key);
    if (v == NULL)
        return 0;
    if (!YAJL_IS_STRING(v) || v->u.string[0] == '\0')
        return fail(c, "%s.%s: expected a non-empty string", where, key);
    free(*out);
    *out = gw_strdup(v->u.string);
    return 0;
}

static int get_uint(ctx_t *c, yajl_val obj, const char *where, const char *key, unsigned min, unsigned max,
                    unsigned *out)
{
    yajl_val v = member(obj, key);
    if (v == NULL)
        return 0;
    if (!YAJL_IS_INTEGER(v))
        return fail(c, "%s.%s: expected an integer", where, key);
    long long n = YAJL_GET_INTEGER(v);
    if (n < (long long)min || n > (long long)max)
        return fail(c, "%s.%s: must be between %u and %u", where, key, min, max);
    *out = (unsigned)n;
    return 0;
}

static int get_bool(ctx_t *c, yajl_val obj, const char *where, const char *key, int *out)
{
    yajl_val v = member(obj, key);
    if (v == NULL)
        return 0;
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
        return fail(c, "%s%s%s: expected true or false", where, *where ? "." : "", key);
    *out = YAJL_IS_TRUE(v);
    return 0;
}

static char *resolve_path(ctx_t *c, const char *p)
{
    if (p[0] == '/' || c->base_dir == NULL)
        return gw_strdup(p);
    size_t n = strlen(c->base_dir) + strlen(p) + 2;
    char *out = gw_malloc(n);
    snprintf(out, n, "%s/%s", c->base_dir, p);
    return out;
}

static int set_encryption_key(ctx_t *c, gw_config_t *cfg, const char *b64, const char *source)
{
    uint8_t buf[GW_B64_DECODED_MAX(44)];
    size_t len = 0;
    if (strlen(b64) != 44 || gw_b64_decode(b64, 44, buf, &len) != 0 || len != 32) {
        gw_wipe(buf, sizeof(buf));
        return fail(c, "%s: expected the base64 encoding of 32 random bytes (openssl rand -base64 32)",
                    source);
    }
    memcpy(cfg->keys.encryption_key, buf, 32);
    gw_wipe(buf, sizeof(buf));
    return 0;
}

static int parse_issuer(ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    if (get_string(c, root, "", "issuer", &cfg->issuer) != 0)
        return fail(c, "issuer: expected a non-empty string");
    if (cfg->issuer == NULL)
        return fail(c, "issuer: required (for example \"https://id.example.com\")");
    size_t n = strlen(cfg->issuer);
    /* OIDC Discovery §3: the issuer is an https URL with no query or fragment;
     * plain http is tolerated for loopback development only. */
    int https = strncmp(cfg->issuer, "https://", 8) == 0;
    int http = strncmp(cfg->issuer, "http://", 7) == 0;
    if ((!https && !http) || strpbrk(cfg->issuer, "?# ") != NULL || cfg->issuer[n - 1] == '/' || n > 200)
        return fail(c, "issuer: must be an https URL without query, fragment or trailing slash");
    return 0;
}

static int parse_database(ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val db = member(root, "database");
    static const char *const KEYS[] = {"url", "pool_size", "query_timeout_ms", "max_waiting", NULL};
    if (db != NULL) {
        if (check_keys(c, db, "database", KEYS) != 0 ||
            get_string(c, db, "database", "url", &cfg->database.url) ||
            get_uint(c, db, "database", "pool_size", 1, 64, &cfg->database.pool_size) ||
            get_uint(c, db, "database", "query_timeout_ms", 10, 600000, &cfg->database.query_timeout_ms) ||
            get_uint(c, db, "database", "max_waiting", 1, 1000000, &cfg->database.max_waiting))
            return -1;
    }
    const char *env = getenv("REGAIN_DATABASE_URL");
    if (env != NULL && *env != '\0') {
        free(cfg->database.url);
        cfg->database.url = gw_strdup(env);
    }
    if (cfg->database.url == NULL)
        return fail(c, "database.url: required (or set REGAIN_DATABASE_URL)");
    return 0;
}

static int parse_listener(ctx_t *c, gw_listen_config_t *l, yajl_val v, size_t index)
{
    char where[32], twhere[40];
    snprintf(where, sizeof(where), "listen[%zu]", index);
    snprintf(twhere, sizeof(twhere), "%s.tls", where);
    static const char *const KEYS[] = {"address", "port", "tls", NULL};
    static const char *const TLS_KEYS[] = {"certificate_file", "key_file", NULL};
    unsigned port = 0;
    if (check_keys(c, v, where, KEYS) || get_string(c, v, where, "address", &l->address) ||
        get_uint(c, v, where, "port", 1, 65535, &port))
        return -1;
    if (port == 0)
        return fail(c, "%s.port: required", where);
    l->port = (uint16_t)port;
    if (l->address == NULL)
        l->address = gw_strdup("127.0.0.1");
    yajl_val tls = member(v, "tls");
    if (tls == NULL)
        return 0;
    char *cert = NULL, *key = NULL;
    int rc = -1;
    if (check_keys(c, tls, twhere, TLS_KEYS) || get_string(c, tls, twhere, "certificate_file", &cert) ||
        get_string(c, tls, twhere, "key_file", &key))
        goto out;
    if (cert == NULL || key == NULL) {
        fail(c, "%s.%s: required", twhere, cert == NULL ? "certificate_file" : "key_file");
        goto out;
    }
    l->certificate_file = resolve_path(c, cert);
    l->key_file = resolve_path(c, key);
    rc = 0;
out:
    free(cert);
    free(key);
    return rc;
}

static int parse_listen(ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val list = member(root, "listen");
    if (list == NULL)
        return fail(c, "listen: required (a list of {\"address\", \"port\", \"tls\"})");
    if (!YAJL_IS_ARRAY(list) || list->u.array.len == 0)
        return fail(c, "listen: expected a non-empty array");
    if (list->u.array.len > GW_CONFIG_MAX_LISTENERS)
        return fail(c, "listen: at most %d listeners", GW_CONFIG_MAX_LISTENERS);
    for (size_t i = 0; i < list->u.array.len; i++) {
        if (parse_listener(c, &cfg->listen[i], list->u.array.values[i], i) != 0)
            return -1;
        cfg->listen_count = i + 1;
    }
    return 0;
}

static int parse_server(ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val s = member(root, "server");
    static const char *const KEYS[] = {"threads",
                                       "max_request_body_bytes",
                                       "idle_timeout_ms",
                                       "max_streams_per_connection",
                                       "shutdown_timeout_ms",
                                       NULL};
    if (s == NULL)
        return 0;
    unsigned body = (unsigned)cfg->server.max_request_body_bytes;
    if (check_keys(c, s, "server", KEYS) ||
        get_uint(c, s, "server", "threads", 0, 256, &cfg->server.threads) ||
        get_uint(c, s, "server", "max_request_body_bytes", 1024, 64 * 1024 * 1024, &body) ||
        get_uint(c, s, "server", "idle_timeout_ms", 100, 3600000, &cfg->server.idle_timeout_ms) ||
        get_uint(c, s, "server", "max_streams_per_connection", 1, 1000,
                 &cfg->server.max_streams_per_connection) ||
        get_uint(c, s, "server", "shutdown_timeout_ms", 0, 600000, &cfg->server.shutdown_timeout_ms) ||
        get_uint(c, s, "server", "worker_threads", 0, 256, &cfg->server.worker_threads))
        return -1;
    cfg->server.max_request_body_bytes = body;
    return 0;
}

static int parse_keys(ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val k = member(root, "keys");
    static const char *const KEYS[] = {"encryption_key", "refresh_interval_ms", NULL};
    char *b64 = NULL;
    int have = 0;
    if (k != NULL) {
        if (check_keys(c, k, "keys", KEYS) || get_string(c, k, "keys", "encryption_key", &b64) ||
            get_uint(c, k, "keys", "refresh_interval_ms", 100, 3600000, &cfg->keys.refresh_interval_ms))
            goto fail;
        if (b64 != NULL && set_encryption_key(c, cfg, b64, "keys.encryption_key") != 0)
            goto fail;
        have = b64 != NULL;
    }
    const char *env = getenv("REGAIN_KEY_ENCRYPTION_KEY");
    if (env != NULL && *env != '\0') {
        if (set_encryption_key(c, cfg, env, "REGAIN_KEY_ENCRYPTION_KEY") != 0)
            goto fail;
        have = 1;
    }
    if (b64)
        gw_wipe(b64, strlen(b64));
    free(b64);
    if (!have)
        return fail(c, "keys.encryption_key: required (or set REGAIN_KEY_ENCRYPTION_KEY)");
    return 0;
fail:
    if (b64)
        gw_wipe(b64, strlen(b64));
    free(b64);
    return -1;
}

static int parse_oidc(ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val o = member(root, "oidc");
    static const char *const KEYS[] = {"access_token_ttl_s",
                                       "id_token_ttl_s",
                                       "refresh_token_ttl_s",
                                       "code_ttl_s",
                                       "session_ttl_s",
                                       "argon2_t",
                                       "argon2_m_kib",
                                       "argon2_p",
                                       "throttle_max_failures",
                                       "throttle_window_s",
                                       "throttle_lockout_s",
                                       "throttle_addr_max_failures",
                                       "allow_remove_last_method",
                                       "account_reauth_s",
                                       "passkey_challenges_per_browser",
                                       "passkey_challenges_per_address",
                                       NULL};
    if (o == NULL)
        return 0;
    return check_keys(c, o, "oidc", KEYS) ||
                   get_uint(c, o, "oidc", "access_token_ttl_s", 10, 86400, &cfg->oidc.access_token_ttl_s) ||
                   get_uint(c, o, "oidc", "id_token_ttl_s", 10, 86400, &cfg->oidc.id_token_ttl_s) ||
                   get_uint(c, o, "oidc", "refresh_token_ttl_s", 60, 31536000,
                            &cfg->oidc.refresh_token_ttl_s) ||
                   get_uint(c, o, "oidc", "code_ttl_s", 1, 600, &cfg->oidc.code_ttl_s) ||
                   get_uint(c, o, "oidc", "session_ttl_s", 60, 2592000, &cfg->oidc.session_ttl_s) ||
                   get_uint(c, o, "oidc", "argon2_t", 1, 16, &cfg->oidc.argon2_t) ||
                   get_uint(c, o, "oidc", "argon2_m_kib", 8, 4194304, &cfg->oidc.argon2_m_kib) ||
                   get_uint(c, o, "oidc", "argon2_p", 1, 16, &cfg->oidc.argon2_p) ||
                   get_uint(c, o, "oidc", "throttle_max_failures", 1, 1000,
                            &cfg->oidc.throttle_max_failures) ||
                   get_uint(c, o, "oidc", "throttle_addr_max_failures", 1, 100000,
                            &cfg->oidc.throttle_addr_max_failures) ||
                   get_uint(c, o, "oidc", "throttle_window_s", 1, 86400, &cfg->oidc.throttle_window_s) ||
                   get_uint(c, o, "oidc", "throttle_lockout_s", 1, 86400, &cfg->oidc.throttle_lockout_s) ||
                   get_bool(c, o, "oidc", "allow_remove_last_method", &cfg->oidc.allow_remove_last_method) ||
                   get_uint(c, o, "oidc", "account_reauth_s", 30, 86400, &cfg->oidc.account_reauth_s) ||
                   get_uint(c, o, "oidc", "passkey_challenges_per_browser", 1, 1000,
                            &cfg->oidc.passkey_challenges_per_browser) ||
                   get_uint(c, o, "oidc", "passkey_challenges_per_address", 1, 100000,
                            &cfg->oidc.passkey_challenges_per_address)
               ? -1
               : 0;
}

static int parse_log(ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val l = member(root, "log");
    static const char *const KEYS[] = {"level", "access_log", NULL};
    if (l == NULL)
        return 0;
    char *level = NULL;
    if (check_keys(c, l, "log", KEYS) || get_string(c, l, "log", "level", &level) ||
        get_bool(c, l, "log", "access_log", &cfg->log.access_log)) {
        free(level);
        return -1;
    }
    int bad = level != NULL && gw_log_level_parse(level, &cfg->log.level) != 0;
    free(level);
    if (bad)
        return fail(c, "log.level: expected one of error, warn, info, debug");
    return 0;
}

static void set_defaults(gw_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->database.pool_size = 2;
    cfg->database.query_timeout_ms = 5000;
    cfg->database.max_waiting = 4096;
    cfg->server.threads = 0;
    cfg->server.max_request_body_bytes = 1024 * 1024;
    cfg->server.idle_timeout_ms = 10000;
    cfg->server.max_streams_per_connection = 100;
    cfg->server.shutdown_timeout_ms = 10000;
    cfg->keys.refresh_interval_ms = 10000;
    cfg->oidc.access_token_ttl_s = 600;
    cfg->oidc.id_token_ttl_s = 600;
    cfg->oidc.refresh_token_ttl_s = 30 * 86400;
    cfg->oidc.code_ttl_s = 60;
    cfg->oidc.session_ttl_s = 8 * 3600;
    cfg->oidc.argon2_t = 2;
    cfg->oidc.argon2_m_kib = 19 * 1024;
    cfg->oidc.argon2_p = 1;
    cfg->oidc.throttle_max_failures = 5;
    cfg->oidc.throttle_addr_max_failures = 100;
    cfg->oidc.throttle_window_s = 900;
    cfg->oidc.throttle_lockout_s = 900;
    cfg->oidc.account_reauth_s = 300;
    cfg->oidc.passkey_challenges_per_browser = 10;
    cfg->oidc.passkey_challenges_per_address = 300;
    cfg->log.level = GW_LOG_INFO;
    cfg->log.access_log = 1;
}

int gw_config_parse(gw_config_t *cfg, const char *json, const char *base_dir, char *msg, size_t msgsize)
{
    ctx_t c = {msg, msgsize, base_dir};
    char errbuf[256];
    static const char *const KEYS[] = {"issuer", "dev_mode", "database",  "listen",   "server", "keys",
                                       "oidc",   "log",      "providers", "recovery", NULL};
    set_defaults(cfg);
    yajl_val root = yajl_tree_parse(json, errbuf, sizeof(errbuf));
    if (root == NULL) {
        /* yajl's message spans lines (with an excerpt); keep the first. */
        errbuf[strcspn(errbuf, "\n")] = '\0';
        return fail(&c, "not valid JSON: %s", errbuf);
    }
    int rc = -1;
    if (!YAJL_IS_OBJECT(root)) {
        fail(&c, "expected a JSON object at the top level");
        goto out;
    }
    if (check_keys(&c, root, "", KEYS) || parse_issuer(&c, cfg, root) ||
        get_bool(&c, root, "", "dev_mode", &cfg->dev_mode) || parse_database(&c, cfg, root) ||
        parse_listen(&c, cfg, root) || parse_server(&c, cfg, root) || parse_keys(&c, cfg, root) ||
        parse_oidc(&c, cfg, root) || parse_log(&c, cfg, root) ||
        gw_config_parse_recovery(cfg, member(root, "providers"), member(root, "recovery"), base_dir, msg,
                                 msgsize))
        goto out;
    rc = 0;
out:
    yajl_tree_free(root);
    if (rc != 0)
        gw_config_dispose(cfg);
    return rc;
}

int gw_config_load(gw_config_t *cfg, const char *path, char *msg, size_t msgsize)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(msg, msgsize, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    char *buf = gw_malloc(CONFIG_MAX_BYTES + 1);
    size_t n = fread(buf, 1, CONFIG_MAX_BYTES + 1, f);
    int read_error = ferror(f);
    fclose(f);
    if (read_error || n > CONFIG_MAX_BYTES) {
        snprintf(msg, msgsize, "%s: %s", path, read_error ? "cannot read" : "larger than 256 KiB");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n) != NULL) {
        snprintf(msg, msgsize, "%s: not a text file", path);
        free(buf);
        return -1;
    }
    char *dir = gw_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        free(dir);
        dir = gw_strdup(".");
    } else {
        slash[slash == dir ? 1 : 0] = '\0';
    }
    char inner[400];
    int rc = gw_config_parse(cfg, buf, dir, inner, sizeof(inner));
    if (rc != 0)
        snprintf(msg, msgsize, "%s: %s", path, inner);
    gw_wipe(buf, n);
    free(buf);
    free(dir);
    return rc;
}

void gw_config_dispose(gw_config_t *cfg)
{
    free(cfg->issuer);
    free(cfg->database.url);
    for (size_t i = 0; i < GW_CONFIG_MAX_LISTENERS; i++) {
        free(cfg->listen[i].address);
        free(cfg->listen[i].certificate_file);
        free(cfg->listen[i].key_file);
    }
    gw_wipe(cfg->keys.encryption_key, sizeof(cfg->keys.encryption_key));
    gw_config_dispose_recovery(cfg);
    memset(cfg, 0, sizeof(*cfg));
}
