#include "gateway/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "gateway/alloc.h"
#include "gateway/config_internal.h"
#include "gateway/crypto.h"

#define CONFIG_MAX_BYTES (256 * 1024)

static int set_encryption_key(gw_cfg_ctx_t *c, gw_config_t *cfg, const char *b64, const char *source)
{
    uint8_t buf[GW_B64_DECODED_MAX(44)];
    size_t len = 0;
    if (strlen(b64) != 44 || gw_b64_decode(b64, 44, buf, &len) != 0 || len != 32) {
        gw_wipe(buf, sizeof(buf));
        return gw_cfg_fail(c, "%s: expected the base64 encoding of 32 random bytes (openssl rand -base64 32)",
                           source);
    }
    memcpy(cfg->keys.encryption_key, buf, 32);
    gw_wipe(buf, sizeof(buf));
    return 0;
}

/* The host of an http:// URL is a loopback one: localhost, 127.0.0.1 or
 * [::1], followed by the end, a port or a path (not "localhost.example"). */
static int http_loopback(const char *u)
{
    static const char *const HOSTS[] = {"localhost", "127.0.0.1", "[::1]"};
    const char *h = u + 7; /* past "http://" */
    for (size_t i = 0; i < sizeof(HOSTS) / sizeof(HOSTS[0]); i++) {
        size_t n = strlen(HOSTS[i]);
        if (strncmp(h, HOSTS[i], n) == 0 && (h[n] == '\0' || h[n] == ':' || h[n] == '/'))
            return 1;
    }
    return 0;
}

static int parse_issuer(gw_cfg_ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    if (gw_cfg_get_string(c, root, "", "issuer", &cfg->issuer) != 0)
        return gw_cfg_fail(c, "issuer: expected a non-empty string");
    if (cfg->issuer == NULL)
        return gw_cfg_fail(c, "issuer: required (for example \"https://id.example.com\")");
    size_t n = strlen(cfg->issuer);
    /* OIDC Discovery §3: the issuer is an https URL with no query or fragment;
     * plain http is tolerated for loopback development only. */
    int https = strncmp(cfg->issuer, "https://", 8) == 0;
    int http = strncmp(cfg->issuer, "http://", 7) == 0 && http_loopback(cfg->issuer);
    if ((!https && !http) || strpbrk(cfg->issuer, "?# ") != NULL || cfg->issuer[n - 1] == '/' || n > 200)
        return gw_cfg_fail(c, "issuer: must be an https URL without query, fragment or trailing slash");
    return 0;
}

static int parse_database(gw_cfg_ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val db = gw_cfg_member(root, "database");
    static const char *const KEYS[] = {"url", "pool_size", "query_timeout_ms", "max_waiting", NULL};
    if (db != NULL) {
        if (gw_cfg_check_keys(c, db, "database", KEYS) != 0 ||
            gw_cfg_get_string(c, db, "database", "url", &cfg->database.url) ||
            gw_cfg_get_uint(c, db, "database", "pool_size", 1, 64, &cfg->database.pool_size) ||
            gw_cfg_get_uint(c, db, "database", "query_timeout_ms", 10, 600000,
                            &cfg->database.query_timeout_ms) ||
            gw_cfg_get_uint(c, db, "database", "max_waiting", 1, 1000000, &cfg->database.max_waiting))
            return -1;
    }
    const char *env = getenv("REGAIN_DATABASE_URL");
    if (env != NULL && *env != '\0') {
        free(cfg->database.url);
        cfg->database.url = gw_strdup(env);
    }
    if (cfg->database.url == NULL)
        return gw_cfg_fail(c, "database.url: required (or set REGAIN_DATABASE_URL)");
    return 0;
}

static int parse_listener(gw_cfg_ctx_t *c, gw_listen_config_t *l, yajl_val v, size_t index)
{
    char where[32], twhere[40];
    snprintf(where, sizeof(where), "listen[%zu]", index);
    snprintf(twhere, sizeof(twhere), "%s.tls", where);
    static const char *const KEYS[] = {"address", "port", "tls", NULL};
    static const char *const TLS_KEYS[] = {"certificate_file", "key_file", NULL};
    unsigned port = 0;
    if (gw_cfg_check_keys(c, v, where, KEYS) || gw_cfg_get_string(c, v, where, "address", &l->address) ||
        gw_cfg_get_uint(c, v, where, "port", 1, 65535, &port))
        return -1;
    if (port == 0)
        return gw_cfg_fail(c, "%s.port: required", where);
    l->port = (uint16_t)port;
    if (l->address == NULL)
        l->address = gw_strdup("127.0.0.1");
    yajl_val tls = gw_cfg_member(v, "tls");
    if (tls == NULL)
        return 0;
    char *cert = NULL, *key = NULL;
    int rc = -1;
    if (gw_cfg_check_keys(c, tls, twhere, TLS_KEYS) ||
        gw_cfg_get_string(c, tls, twhere, "certificate_file", &cert) ||
        gw_cfg_get_string(c, tls, twhere, "key_file", &key))
        goto out;
    if (cert == NULL || key == NULL) {
        gw_cfg_fail(c, "%s.%s: required", twhere, cert == NULL ? "certificate_file" : "key_file");
        goto out;
    }
    l->certificate_file = gw_cfg_resolve_path(c, cert);
    l->key_file = gw_cfg_resolve_path(c, key);
    rc = 0;
out:
    free(cert);
    free(key);
    return rc;
}

/* A listener's bound address, numeric (regain resolves no names at start). */
typedef struct {
    int family;
    uint8_t addr[16];
} listen_addr_t;

static int listen_addr(const char *text, listen_addr_t *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, text, a->addr) == 1)
        a->family = AF_INET;
    else if (inet_pton(AF_INET6, text, a->addr) == 1)
        a->family = AF_INET6;
    else
        return -1;
    return 0;
}

static int listen_addr_is_any(const listen_addr_t *a)
{
    static const uint8_t ZERO[16] = {0};
    return memcmp(a->addr, ZERO, sizeof(ZERO)) == 0;
}

/* Every worker thread binds its own socket with SO_REUSEPORT, so two
 * listeners on one port would join one group: the kernel would spread the
 * port's connections over both, and a TLS listener would answer some of its
 * clients in cleartext (and the other way round). An IPv6 listener is
 * IPv6-only, so it never shares a port with an IPv4 one; the wildcard
 * address shares it with every address of its family. */
static int listeners_overlap(const listen_addr_t *a, const listen_addr_t *b)
{
    return a->family == b->family &&
           (listen_addr_is_any(a) || listen_addr_is_any(b) || memcmp(a->addr, b->addr, sizeof(a->addr)) == 0);
}

static int check_listeners_distinct(gw_cfg_ctx_t *c, const gw_config_t *cfg)
{
    listen_addr_t addrs[GW_CONFIG_MAX_LISTENERS];
    for (size_t i = 0; i < cfg->listen_count; i++) {
        if (listen_addr(cfg->listen[i].address, &addrs[i]) != 0)
            return gw_cfg_fail(c, "listen[%zu].address: \"%s\" is not a numeric IPv4 or IPv6 address", i,
                               cfg->listen[i].address);
        for (size_t j = 0; j < i; j++)
            if (cfg->listen[j].port == cfg->listen[i].port && listeners_overlap(&addrs[j], &addrs[i]))
                return gw_cfg_fail(c, "listen[%zu]: port %u on %s is already listen[%zu]'s (%s)", i,
                                   cfg->listen[i].port, cfg->listen[i].address, j, cfg->listen[j].address);
    }
    return 0;
}

static int parse_listen(gw_cfg_ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val list = gw_cfg_member(root, "listen");
    if (list == NULL)
        return gw_cfg_fail(c, "listen: required (a list of {\"address\", \"port\", \"tls\"})");
    if (!YAJL_IS_ARRAY(list) || list->u.array.len == 0)
        return gw_cfg_fail(c, "listen: expected a non-empty array");
    if (list->u.array.len > GW_CONFIG_MAX_LISTENERS)
        return gw_cfg_fail(c, "listen: at most %d listeners", GW_CONFIG_MAX_LISTENERS);
    for (size_t i = 0; i < list->u.array.len; i++) {
        if (parse_listener(c, &cfg->listen[i], list->u.array.values[i], i) != 0)
            return -1;
        cfg->listen_count = i + 1;
    }
    return check_listeners_distinct(c, cfg);
}

static int parse_server(gw_cfg_ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val s = gw_cfg_member(root, "server");
    static const char *const KEYS[] = {"threads",
                                       "max_request_body_bytes",
                                       "idle_timeout_ms",
                                       "max_streams_per_connection",
                                       "shutdown_timeout_ms",
                                       "worker_threads",
                                       "worker_hold_ms",
                                       NULL};
    if (s == NULL)
        return 0;
    unsigned body = (unsigned)cfg->server.max_request_body_bytes;
    if (gw_cfg_check_keys(c, s, "server", KEYS) ||
        gw_cfg_get_uint(c, s, "server", "threads", 0, 256, &cfg->server.threads) ||
        gw_cfg_get_uint(c, s, "server", "max_request_body_bytes", 1024, 64 * 1024 * 1024, &body) ||
        gw_cfg_get_uint(c, s, "server", "idle_timeout_ms", 100, 3600000, &cfg->server.idle_timeout_ms) ||
        gw_cfg_get_uint(c, s, "server", "max_streams_per_connection", 1, 1000,
                        &cfg->server.max_streams_per_connection) ||
        gw_cfg_get_uint(c, s, "server", "shutdown_timeout_ms", 0, 600000, &cfg->server.shutdown_timeout_ms) ||
        gw_cfg_get_uint(c, s, "server", "worker_threads", 0, 256, &cfg->server.worker_threads) ||
        gw_cfg_get_uint(c, s, "server", "worker_hold_ms", 0, 1000, &cfg->server.worker_hold_ms))
        return -1;
    cfg->server.max_request_body_bytes = body;
    return 0;
}

static int parse_keys(gw_cfg_ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val k = gw_cfg_member(root, "keys");
    static const char *const KEYS[] = {"encryption_key", "refresh_interval_ms", NULL};
    char *b64 = NULL;
    int have = 0;
    if (k != NULL) {
        if (gw_cfg_check_keys(c, k, "keys", KEYS) ||
            gw_cfg_get_string(c, k, "keys", "encryption_key", &b64) ||
            gw_cfg_get_uint(c, k, "keys", "refresh_interval_ms", 100, 3600000,
                            &cfg->keys.refresh_interval_ms))
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
        return gw_cfg_fail(c, "keys.encryption_key: required (or set REGAIN_KEY_ENCRYPTION_KEY)");
    return 0;
fail:
    if (b64)
        gw_wipe(b64, strlen(b64));
    free(b64);
    return -1;
}

/* OWASP's Password Storage Cheat Sheet lists the Argon2id settings it counts
 * as equal in defense, trading memory for passes: m=46 MiB t=1 down to
 * m=7 MiB t=5 (p=1). Each has at least 7 MiB of memory and a memory times
 * passes product of at least 7168 KiB x 5; a configuration below that floor
 * would store passwords more weakly than any of them, so it is refused. */
#define ARGON2_MIN_M_KIB     7168u
#define ARGON2_MIN_M_TIMES_T (7168u * 5u)

static int argon2_cost_ok(gw_cfg_ctx_t *c, const gw_config_t *cfg)
{
    unsigned m = cfg->oidc.argon2_m_kib, t = cfg->oidc.argon2_t;
    if (m < ARGON2_MIN_M_KIB)
        return gw_cfg_fail(c, "oidc.argon2_m_kib: at least %u (OWASP's lowest Argon2id memory)",
                           ARGON2_MIN_M_KIB);
    if ((unsigned long long)m * t < ARGON2_MIN_M_TIMES_T)
        return gw_cfg_fail(
            c,
            "oidc.argon2_t: with argon2_m_kib %u, at least %u passes (OWASP's Argon2id settings "
            "have argon2_m_kib x argon2_t >= %u)",
            m, (ARGON2_MIN_M_TIMES_T + m - 1) / m, ARGON2_MIN_M_TIMES_T);
    return 0;
}

static int parse_oidc(gw_cfg_ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val o = gw_cfg_member(root, "oidc");
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
    return gw_cfg_check_keys(c, o, "oidc", KEYS) ||
                   gw_cfg_get_uint(c, o, "oidc", "access_token_ttl_s", 10, 86400,
                                   &cfg->oidc.access_token_ttl_s) ||
                   gw_cfg_get_uint(c, o, "oidc", "id_token_ttl_s", 10, 86400, &cfg->oidc.id_token_ttl_s) ||
                   gw_cfg_get_uint(c, o, "oidc", "refresh_token_ttl_s", 60, 31536000,
                                   &cfg->oidc.refresh_token_ttl_s) ||
                   gw_cfg_get_uint(c, o, "oidc", "code_ttl_s", 1, 600, &cfg->oidc.code_ttl_s) ||
                   gw_cfg_get_uint(c, o, "oidc", "session_ttl_s", 60, 2592000, &cfg->oidc.session_ttl_s) ||
                   gw_cfg_get_uint(c, o, "oidc", "argon2_t", 1, 16, &cfg->oidc.argon2_t) ||
                   gw_cfg_get_uint(c, o, "oidc", "argon2_m_kib", 8, 4194304, &cfg->oidc.argon2_m_kib) ||
                   gw_cfg_get_uint(c, o, "oidc", "argon2_p", 1, 16, &cfg->oidc.argon2_p) ||
                   gw_cfg_get_uint(c, o, "oidc", "throttle_max_failures", 1, 1000,
                                   &cfg->oidc.throttle_max_failures) ||
                   gw_cfg_get_uint(c, o, "oidc", "throttle_addr_max_failures", 1, 100000,
                                   &cfg->oidc.throttle_addr_max_failures) ||
                   gw_cfg_get_uint(c, o, "oidc", "throttle_window_s", 1, 86400,
                                   &cfg->oidc.throttle_window_s) ||
                   gw_cfg_get_uint(c, o, "oidc", "throttle_lockout_s", 1, 86400,
                                   &cfg->oidc.throttle_lockout_s) ||
                   gw_cfg_get_bool(c, o, "oidc", "allow_remove_last_method",
                                   &cfg->oidc.allow_remove_last_method) ||
                   gw_cfg_get_uint(c, o, "oidc", "account_reauth_s", 30, 86400,
                                   &cfg->oidc.account_reauth_s) ||
                   gw_cfg_get_uint(c, o, "oidc", "passkey_challenges_per_browser", 1, 1000,
                                   &cfg->oidc.passkey_challenges_per_browser) ||
                   gw_cfg_get_uint(c, o, "oidc", "passkey_challenges_per_address", 1, 100000,
                                   &cfg->oidc.passkey_challenges_per_address) ||
                   argon2_cost_ok(c, cfg)
               ? -1
               : 0;
}

static int parse_log(gw_cfg_ctx_t *c, gw_config_t *cfg, yajl_val root)
{
    yajl_val l = gw_cfg_member(root, "log");
    static const char *const KEYS[] = {"level", "access_log", NULL};
    if (l == NULL)
        return 0;
    char *level = NULL;
    if (gw_cfg_check_keys(c, l, "log", KEYS) || gw_cfg_get_string(c, l, "log", "level", &level) ||
        gw_cfg_get_bool(c, l, "log", "access_log", &cfg->log.access_log)) {
        free(level);
        return -1;
    }
    int bad = level != NULL && gw_log_level_parse(level, &cfg->log.level) != 0;
    free(level);
    if (bad)
        return gw_cfg_fail(c, "log.level: expected one of error, warn, info, debug");
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
    cfg->server.worker_hold_ms = 50;
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
    gw_cfg_ctx_t c = {msg, msgsize, base_dir, 0};
    char errbuf[256];
    static const char *const KEYS[] = {"issuer", "dev_mode", "database",  "listen",   "server", "keys",
                                       "oidc",   "log",      "providers", "recovery", NULL};
    set_defaults(cfg);
    yajl_val root = yajl_tree_parse(json, errbuf, sizeof(errbuf));
    if (root == NULL) {
        /* yajl's message spans lines (with an excerpt); keep the first. */
        errbuf[strcspn(errbuf, "\n")] = '\0';
        return gw_cfg_fail(&c, "not valid JSON: %s", errbuf);
    }
    int rc = -1;
    if (!YAJL_IS_OBJECT(root)) {
        gw_cfg_fail(&c, "expected a JSON object at the top level");
        goto out;
    }
    if (gw_cfg_check_keys(&c, root, "", KEYS) || parse_issuer(&c, cfg, root) ||
        gw_cfg_get_bool(&c, root, "", "dev_mode", &cfg->dev_mode) || parse_database(&c, cfg, root) ||
        parse_listen(&c, cfg, root) || parse_server(&c, cfg, root) || parse_keys(&c, cfg, root) ||
        parse_oidc(&c, cfg, root) || parse_log(&c, cfg, root) ||
        gw_config_parse_recovery(cfg, gw_cfg_member(root, "providers"), gw_cfg_member(root, "recovery"),
                                 base_dir, msg, msgsize))
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
