/* Client registration metadata: validation, building an oidc_client_t from
 * JSON, writing it back, and redirect-URI rules. Pure: no request, no
 * database, so the CLI, the admin API and the loader share one set of rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "oidc/clients_internal.h"

/* ---- small checks ---------------------------------------------------------- */

int oidc_client_id_valid(const char *id, size_t len)
{
    if (id == NULL || len == 0 || len > OIDC_CLIENT_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)id[i];
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '_' || ch == '~' || ch == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

static const char *const AUTH_NAMES[] = {"none", "client_secret_basic", "client_secret_post",
                                         "private_key_jwt"};

const char *oidc_auth_method_name(int method)
{
    if (method < 0 || method >= (int)(sizeof(AUTH_NAMES) / sizeof(AUTH_NAMES[0])))
        return "";
    return AUTH_NAMES[method];
}

int oidc_auth_method_parse(const char *s, size_t len, int *out)
{
    for (int i = 0; i < (int)(sizeof(AUTH_NAMES) / sizeof(AUTH_NAMES[0])); i++) {
        if (strlen(AUTH_NAMES[i]) == len && memcmp(AUTH_NAMES[i], s, len) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

static const struct {
    unsigned bit;
    const char *name;
} GRANTS[] = {
    {OIDC_GRANT_CODE, "authorization_code"},
    {OIDC_GRANT_REFRESH, "refresh_token"},
    {OIDC_GRANT_CLIENT_CREDENTIALS, "client_credentials"},
};

const char *oidc_grant_name(unsigned grant_bit)
{
    for (size_t i = 0; i < sizeof(GRANTS) / sizeof(GRANTS[0]); i++)
        if (GRANTS[i].bit == grant_bit)
            return GRANTS[i].name;
    return "";
}

int oidc_grant_parse(const char *s, size_t len, unsigned *out)
{
    for (size_t i = 0; i < sizeof(GRANTS) / sizeof(GRANTS[0]); i++) {
        if (strlen(GRANTS[i].name) == len && memcmp(GRANTS[i].name, s, len) == 0) {
            *out = GRANTS[i].bit;
            return 0;
        }
    }
    return -1;
}

/* ---- redirect URIs --------------------------------------------------------- */

static int is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* RFC 3986 §3.3/§3.4 pchar plus '/' and '?': unreserved, sub-delims, ':'
 * and '@' ('%' is checked by the caller). */
static int is_path_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || strchr("-._~!$&'()*+,;=:@/?", c) != NULL;
}

static int is_loopback_host(const char *h, size_t n)
{
    return (n == 9 && memcmp(h, "127.0.0.1", 9) == 0) || (n == 5 && memcmp(h, "[::1]", 5) == 0) ||
           (n == 9 && memcmp(h, "localhost", 9) == 0);
}

/* Splits "scheme://authority" at the start of `uri`: *host and *hostlen name
 * the host (IPv6 literals with brackets), *port_at and *port_len the port
 * digits after ':' (len 0 when there is no port), *rest the offset of the
 * path. Returns 0 or -1 with a public reason. */
typedef struct {
    size_t scheme_len, host_at, host_len, port_at, port_len, rest_at;
} uri_parts_t;

static int uri_split(const char *uri, size_t len, uri_parts_t *p, const char **why)
{
    size_t i = 0;
    if (len == 0 || !is_alpha((unsigned char)uri[0]))
        return *why = "must be an absolute URI with a scheme", -1;
    while (i < len && (is_alpha((unsigned char)uri[i]) || is_digit((unsigned char)uri[i]) || uri[i] == '+' ||
                       uri[i] == '-' || uri[i] == '.'))
        i++;
    if (i >= len || uri[i] != ':')
        return *why = "must be an absolute URI with a scheme", -1;
    p->scheme_len = i;
    if (len - i < 3 || uri[i + 1] != '/' || uri[i + 2] != '/')
        return *why = "must have an authority (scheme://host/...)", -1;
    size_t a = i + 3, e = a;
    while (e < len && uri[e] != '/' && uri[e] != '?' && uri[e] != '#')
        e++;
    if (memchr(uri + a, '@', e - a) != NULL)
        return *why = "must not contain userinfo (user@host)", -1;
    size_t h = a;
    if (h < e && uri[h] == '[') {
        const char *close = memchr(uri + h, ']', e - h);
        if (close == NULL)
            return *why = "has an unterminated IPv6 literal", -1;
        for (const char *c = uri + h + 1; c < close; c++)
            if (!is_hex((unsigned char)*c) && *c != ':' && *c != '.')
                return *why = "has an invalid IPv6 literal", -1;
        h = (size_t)(close - uri) + 1;
    } else {
        while (h < e && uri[h] != ':') {
            unsigned char c = (unsigned char)uri[h];
            if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '-')
                return *why = "has an invalid host name", -1;
            h++;
        }
    }
    p->host_at = a;
    p->host_len = h - a;
    if (p->host_len == 0 || (p->host_len == 2 && uri[a] == '['))
        return *why = "must name a host", -1;
    p->port_at = h;
    p->port_len = 0;
    if (h < e) {
        if (uri[h] != ':')
            return *why = "has an invalid host", -1;
        size_t d = h + 1;
        unsigned long port = 0;
        for (; d < e; d++) {
            if (!is_digit((unsigned char)uri[d]) || d - h > 5)
                return *why = "has an invalid port", -1;
            port = port * 10 + (unsigned long)(uri[d] - '0');
        }
        if (d == h + 1 || port == 0 || port > 65535)
            return *why = "has an invalid port", -1;
        p->port_at = h + 1;
        p->port_len = d - h - 1;
    }
    p->rest_at = e;
    return 0;
}

int oidc_redirect_uri_check(const char *uri, size_t len, gw_err_t *err)
{
    const char *why = NULL;
    uri_parts_t p;
    if (len == 0 || len > OIDC_CLIENT_URI_MAX)
        return GW_ERRF(err, GW_E_INVALID_REQUEST, "redirect URI must be 1 to %d bytes", OIDC_CLIENT_URI_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)uri[i];
        /* Printable ASCII only: an IRI must arrive percent-encoded, and a
         * space or control byte is never part of a URI (RFC 3986 §2). */
        if (c <= 0x20 || c >= 0x7f)
            return GW_ERR(err, GW_E_INVALID_REQUEST,
                          "redirect URI contains a space, control or non-ASCII byte");
        /* RFC 6749 §3.1.2: the endpoint URI MUST NOT include a fragment. */
        if (c == '#')
            return GW_ERR(err, GW_E_INVALID_REQUEST, "redirect URI must not contain a fragment");
    }
    if (uri_split(uri, len, &p, &why) != 0)
        return GW_ERRF(err, GW_E_INVALID_REQUEST, "redirect URI %s", why);
    for (size_t i = p.rest_at; i < len; i++) {
        unsigned char c = (unsigned char)uri[i];
        if (c == '%') {
            if (i + 2 >= len || !is_hex((unsigned char)uri[i + 1]) || !is_hex((unsigned char)uri[i + 2]))
                return GW_ERR(err, GW_E_INVALID_REQUEST, "redirect URI has a bad percent-escape");
            i += 2;
        } else if (!is_path_char(c)) {
            return GW_ERRF(err, GW_E_INVALID_REQUEST,
                           "redirect URI contains '%c', which must be percent-encoded", c);
        }
    }
    int loopback = is_loopback_host(uri + p.host_at, p.host_len);
    if (p.scheme_len == 5 && memcmp(uri, "https", 5) == 0)
        return 0;
    /* RFC 9700 §2.1 / RFC 8252 §7.3 and §8.3: plain http only for loopback
     * redirects of native apps (and development); anywhere else the code
     * would cross the network in the clear. */
    if (p.scheme_len == 4 && memcmp(uri, "http", 4) == 0) {
        if (loopback)
            return 0;
        return GW_ERR(err, GW_E_INVALID_REQUEST,
                      "redirect URI must use https (http only on 127.0.0.1, [::1] or localhost)");
    }
    return GW_ERR(err, GW_E_INVALID_REQUEST, "redirect URI must use https (lower-case scheme)");
}

int oidc_redirect_uri_match(const char *registered, const char *uri, size_t len)
{
    size_t rlen = strlen(registered);
    if (rlen == len && memcmp(registered, uri, len) == 0)
        return 1;
    /* RFC 8252 §7.3: a loopback IP redirect URI matches with any port, since
     * the app learns its ephemeral port only at request time. IP literals
     * only (§8.3: "localhost" may resolve elsewhere), http only. */
    static const char *const PREFIXES[] = {"http://127.0.0.1", "http://[::1]"};
    for (size_t k = 0; k < 2; k++) {
        size_t n = strlen(PREFIXES[k]);
        if (rlen < n || len < n || memcmp(registered, PREFIXES[k], n) != 0 ||
            memcmp(uri, PREFIXES[k], n) != 0)
            continue;
        const char *why;
        uri_parts_t a, b;
        if (uri_split(registered, rlen, &a, &why) != 0 || uri_split(uri, len, &b, &why) != 0)
            return 0;
        if (a.host_len != n - 7 || b.host_len != n - 7)
            return 0;
        return rlen - a.rest_at == len - b.rest_at &&
               memcmp(registered + a.rest_at, uri + b.rest_at, len - b.rest_at) == 0;
    }
    return 0;
}

size_t oidc_redirect_uri_csp_source(const char *uri, size_t len, char *out, size_t cap)
{
    const char *why;
    uri_parts_t p;
    if (uri == NULL || uri_split(uri, len, &p, &why) != 0 ||
        !((p.scheme_len == 5 && memcmp(uri, "https", 5) == 0) ||
          (p.scheme_len == 4 && memcmp(uri, "http", 4) == 0)))
        return 0;
    /* The origin: scheme, host and port as the URI spells them (CSP host
     * matching ignores case; no port means the scheme's default, as in the
     * URI). An IPv6 literal has no spelling in CSP (host-char = ALPHA /
     * DIGIT / "-"), and host-part matching never matches a host that is not
     * a domain (CSP3 #match-hosts, step 1), so the narrowest source that
     * matches one is the scheme alone: "http:" (which also allows https). */
    size_t n = uri[p.host_at] == '[' ? p.scheme_len + 1 : p.port_at + p.port_len;
    if (n + 1 > cap)
        return 0;
    memcpy(out, uri, n);
    if (uri[p.host_at] == '[')
        out[p.scheme_len] = ':';
    out[n] = '\0';
    return n;
}

/* ---- the client object ----------------------------------------------------- */

static void free_strings(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void client_free(oidc_client_t *c)
{
    free(c->id);
    free(c->name);
    free_strings(c->redirect_uris, c->redirect_uri_count);
    free_strings(c->post_logout_redirect_uris, c->post_logout_redirect_uri_count);
    free_strings(c->scopes, c->scope_count);
    for (size_t i = 0; i < c->jwks_count; i++)
        EVP_PKEY_free(c->jwks[i]);
    free(c->jwks);
    free_strings(c->jwks_kids, c->jwks_count);
    gw_wipe(c->secret_hash, sizeof(c->secret_hash));
    free(c);
}

oidc_client_t *oidc_client_ref(oidc_client_t *c)
{
    if (c != NULL)
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void oidc_client_unref(oidc_client_t *c)
{
    if (c != NULL && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        client_free(c);
}

/* ---- from JSON ------------------------------------------------------------- */

static int no_controls(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* An array of distinct strings, each passing `check` (may be NULL). */
static int string_array(yajl_val v, const char *member, size_t max, char ***out, size_t *count,
                        int (*check)(const char *, size_t, gw_err_t *), gw_err_t *err)
{
    *out = NULL;
    *count = 0;
    if (v == NULL || YAJL_IS_NULL(v))
        return 0;
    if (!YAJL_IS_ARRAY(v))
        return GW_ERRF(err, GW_E_INVALID_REQUEST, "%s must be an array of strings", member);
    size_t n = YAJL_GET_ARRAY(v)->len;
    if (n > max)
        return GW_ERRF(err, GW_E_INVALID_REQUEST, "%s has more than %zu entries", member, max);
    char **arr = gw_calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        yajl_val s = YAJL_GET_ARRAY(v)->values[i];
        if (!YAJL_IS_STRING(s)) {
            free_strings(arr, i);
            return GW_ERRF(err, GW_E_INVALID_REQUEST, "%s must be an array of strings", member);
        }
        const char *str = YAJL_GET_STRING(s);
        if (check != NULL && check(str, strlen(str), err) != 0) {
            free_strings(arr, i);
            char msg[sizeof(err->public)];
            memcpy(msg, err->public, sizeof(msg));
            return GW_ERRF(err, GW_E_INVALID_REQUEST, "%s: %.120s", member, msg);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(arr[j], str) == 0) {
                free_strings(arr, i);
                return GW_ERRF(err, GW_E_INVALID_REQUEST, "%s lists a value twice", member);
            }
        }
        arr[i] = gw_strdup(str);
    }
    *out = arr;
    *count = n;
    return 0;
}

static int scope_known(const char *s, size_t n)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return oidc_scope_has(OIDC_SCOPES_SUPPORTED, strlen(OIDC_SCOPES_SUPPORTED), buf);
}

static int parse_scope(const char *s, oidc_client_t *c, gw_err_t *err)
{
    size_t len = strlen(s), cap = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        if (j == i)
            return GW_ERR(err, GW_E_INVALID_REQUEST, "scope must be scope names separated by single spaces");
        if (!scope_known(s + i, j - i))
            return GW_ERRF(err, GW_E_INVALID_REQUEST, "scope %.*s is not supported (supported: %s)",
                           (int)((j - i) > 40 ? 40 : (j - i)), s + i, OIDC_SCOPES_SUPPORTED);
        for (size_t k = 0; k < c->scope_count; k++)
            if (strlen(c->scopes[k]) == j - i && memcmp(c->scopes[k], s + i, j - i) == 0)
                return GW_ERR(err, GW_E_INVALID_REQUEST, "scope lists a value twice");
        if (c->scope_count == cap) {
            cap = cap ? cap * 2 : 8;
            c->scopes = gw_realloc(c->scopes, cap * sizeof(char *));
        }
        c->scopes[c->scope_count++] = gw_strndup(s + i, j - i);
        i = j + 1;
        if (j + 1 == len)
            return GW_ERR(err, GW_E_INVALID_REQUEST, "scope must be scope names separated by single spaces");
    }
    if (c->scope_count == 0)
        return GW_ERR(err, GW_E_INVALID_REQUEST, "scope must name at least one scope");
    return 0;
}

static int parse_jwks(yajl_val v, oidc_client_t *c, gw_err_t *err)
{
    yajl_val keys = gw_json_get(v, "keys");
    if (!YAJL_IS_OBJECT(v) || keys == NULL || !YAJL_IS_ARRAY(keys))
        return GW_ERR(err, GW_E_INVALID_REQUEST, "jwks must be an object with a \"keys\" array");
    size_t n = YAJL_GET_ARRAY(keys)->len;
    if (n == 0 || n > OIDC_CLIENT_KEYS_MAX)
        return GW_ERRF(err, GW_E_INVALID_REQUEST, "jwks must hold 1 to %d keys", OIDC_CLIENT_KEYS_MAX);
    c->jwks = gw_calloc(n, sizeof(EVP_PKEY *));
    c->jwks_kids = gw_calloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        yajl_val k = YAJL_GET_ARRAY(keys)->values[i];
        EVP_PKEY *key = NULL;
        gw_err_t kerr;
        /* Public members only: a private member is refused (the client
         * would have leaked its key to us). */
        if (gw_key_from_jwk_value(k, &key, &kerr) != 0)
            return GW_ERRF(err, GW_E_INVALID_REQUEST, "jwks key %zu: %s", i + 1, kerr.public);
        c->jwks[c->jwks_count] = key;
        c->jwks_kids[c->jwks_count] = NULL;
        c->jwks_count++;
        const char *alg = gw_json_str(k, "alg");
        if (gw_json_get(k, "alg") != NULL && (alg == NULL || strcmp(alg, gw_key_jws_alg(key)) != 0))
            return GW_ERRF(err, GW_E_INVALID_REQUEST, "jwks key %zu: alg must be %s for this key", i + 1,
                           gw_key_jws_alg(key));
        const char *kid = gw_json_str(k, "kid");
        char tp[GW_THUMBPRINT_LEN + 1];
        if (gw_json_get(k, "kid") != NULL) {
            if (kid == NULL || kid[0] == '\0' || strlen(kid) > 128 || !no_controls(kid))
                return GW_ERRF(err, GW_E_INVALID_REQUEST, "jwks key %zu: kid must be 1 to 128 characters",
                               i + 1);
        } else {
            /* No kid: name it by its RFC 7638 thumbprint. */
            if (gw_key_thumbprint(key, tp, &kerr) != 0)
                return GW_ERRF(err, GW_E_INVALID_REQUEST, "jwks key %zu: unsupported key", i + 1);
            kid = tp;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->jwks_kids[j], kid) == 0)
                return GW_ERR(err, GW_E_INVALID_REQUEST, "jwks has two keys with the same kid");
        c->jwks_kids[i] = gw_strdup(kid);
    }
    return 0;
}

static int check_uri(const char *s, size_t n, gw_err_t *err)
{
    return oidc_redirect_uri_check(s, n, err);
}

static const char *const MEMBERS[] = {
    "client_id",
    "client_name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "grant_types",
    "scope",
    "jwks",
    "client_id_issued_at",
    "token_endpoint_auth_method",
    "id_token_signed_response_alg",
};

static int build(yajl_val obj, const char *id, oidc_client_t *c, gw_err_t *err)
{
    if (!YAJL_IS_OBJECT(obj))
        return GW_ERR(err, GW_E_INVALID_REQUEST, "client metadata must be a JSON object");
    for (size_t i = 0; i < YAJL_GET_OBJECT(obj)->len; i++) {
        const char *k = YAJL_GET_OBJECT(obj)->keys[i];
        size_t m = 0;
        while (m < sizeof(MEMBERS) / sizeof(MEMBERS[0]) && strcmp(MEMBERS[m], k) != 0)
            m++;
        if (m == sizeof(MEMBERS) / sizeof(MEMBERS[0]))
            return GW_ERRF(err, GW_E_INVALID_REQUEST, "unknown member \"%.40s\"", k);
    }

    /* client_id */
    yajl_val v = gw_json_get(obj, "client_id");
    const char *cid = gw_json_str(obj, "client_id");
    if (v != NULL && cid == NULL)
        return GW_ERR(err, GW_E_INVALID_REQUEST, "client_id must be a string");
    if (id != NULL && cid != NULL && strcmp(id, cid) != 0)
        return GW_ERR(err, GW_E_INVALID_REQUEST, "client_id does not match the URL");
    if (cid == NULL)
        cid = id;
    if (cid == NULL || !oidc_client_id_valid(cid, strlen(cid)))
        return GW_ERR(err, GW_E_INVALID_REQUEST,
                      "client_id must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ -");
    c->id = gw_strdup(cid);

    /* client_name: defaults to the id */
    v = gw_json_get(obj, "client_name");
    const char *name = gw_json_str(obj, "client_name");
    if (v != NULL &&
        (name == NULL || name[0] == '\0' || strlen(name) > OIDC_CLIENT_NAME_MAX || !no_controls(name)))
        return GW_ERRF(err, GW_E_INVALID_REQUEST, "client_name must be 1 to %d characters",
                       OIDC_CLIENT_NAME_MAX);
    c->name = gw_strdup(name ? name : cid);

    /* grant_types */
    v = gw_json_get(obj, "grant_types");
    c->grants = 0;
    if (v == NULL || YAJL_IS_NULL(v)) {
        c->grants = OIDC_GRANT_CODE; /* OIDC Registration §2 default */
    } else if (!YAJL_IS_ARRAY(v) || YAJL_GET_ARRAY(v)->len == 0) {
        return GW_ERR(err, GW_E_INVALID_REQUEST, "grant_types must be a non-empty array");
    } else {
        for (size_t i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
            yajl_val g = YAJL_GET_ARRAY(v)->values[i];
            unsigned bit;
            const char *gs = YAJL_IS_STRING(g) ? YAJL_GET_STRING(g) : NULL;
            if (gs == NULL || oidc_grant_parse(gs, strlen(gs), &bit) != 0)
                return GW_ERR(err, GW_E_INVALID_REQUEST,
                              "grant_types may hold authorization_code, refresh_token, client_credentials");
            if (c->grants & bit)
                return GW_ERR(err, GW_E_INVALID_REQUEST, "grant_types lists a value twice");
            c->grants |= bit;
        }
    }
    if ((c->grants & OIDC_GRANT_REFRESH) && !(c->grants & OIDC_GRANT_CODE))
        return GW_ERR(err, GW_E_INVALID_REQUEST, "refresh_token needs authorization_code in grant_types");

    /* redirect URIs */
    if (string_array(gw_json_get(obj, "redirect_uris"), "redirect_uris", OIDC_CLIENT_URIS_MAX,
                     &c->redirect_uris, &c->redirect_uri_count, check_uri, err) != 0)
        return -1;
    if (string_array(gw_json_get(obj, "post_logout_redirect_uris"), "post_logout_redirect_uris",
                     OIDC_CLIENT_URIS_MAX, &c->post_logout_redirect_uris, &c->post_logout_redirect_uri_count,
                     check_uri, err) != 0)
        return -1;
    /* OIDC Core §3.1.2.1: the code flow needs a registered redirect URI. */
    if ((c->grants & OIDC_GRANT_CODE) && c->redirect_uri_count == 0)
        return GW_ERR(err, GW_E_INVALID_REQUEST, "authorization_code needs at least one redirect_uris entry");

    /* scope */
    v = gw_json_get(obj, "scope");
    const char *scope = gw_json_str(obj, "scope");
    if (v != NULL && !YAJL_IS_NULL(v) && scope == NULL)
        return GW_ERR(err, GW_E_INVALID_REQUEST, "scope must be a space-separated string");
    if (parse_scope(scope ? scope : "openid", c, err) != 0)
        return -1;

    /* token_endpoint_auth_method */
    v = gw_json_get(obj, "token_endpoint_auth_method");
    const char *method = gw_json_str(obj, "token_endpoint_auth_method");
    c->auth_method = OIDC_AUTH_SECRET_BASIC; /* OIDC Registration §2 default */
    if (v != NULL && !YAJL_IS_NULL(v) &&
        (method == NULL || oidc_auth_method_parse(method, strlen(method), &c->auth_method) != 0))
        return GW_ERR(err, GW_E_INVALID_REQUEST,
                      "token_endpoint_auth_method must be client_secret_basic, client_secret_post, "
                      "private_key_jwt or none");
    /* A public client cannot keep a secret, so it may not act on its own
     * behalf (RFC 6749 §4.4 is for confidential clients only). */
    if (c->auth_method == OIDC_AUTH_NONE && (c->grants & OIDC_GRANT_CLIENT_CREDENTIALS))
        return GW_ERR(err, GW_E_INVALID_REQUEST,
                      "token_endpoint_auth_method none cannot use client_credentials");
    c->has_secret = c->auth_method == OIDC_AUTH_SECRET_BASIC || c->auth_method == OIDC_AUTH_SECRET_POST;

    /* id_token_signed_response_alg */
    v = gw_json_get(obj, "id_token_signed_response_alg");
    const char *alg = gw_json_str(obj, "id_token_signed_response_alg");
    if (v != NULL && !YAJL_IS_NULL(v) &&
        (alg == NULL || (strcmp(alg, "ES256") != 0 && strcmp(alg, "RS256") != 0)))
        return GW_ERR(err, GW_E_INVALID_REQUEST, "id_token_signed_response_alg must be ES256 or RS256");
    snprintf(c->id_token_alg, sizeof(c->id_token_alg), "%s", alg ? alg : "ES256");

    /* jwks: exactly for private_key_jwt (and the table's CHECK) */
    v = gw_json_get(obj, "jwks");
    int has_jwks = v != NULL && !YAJL_IS_NULL(v);
    if (c->auth_method == OIDC_AUTH_PRIVATE_KEY_JWT && !has_jwks)
        return GW_ERR(err, GW_E_INVALID_REQUEST, "private_key_jwt needs jwks with the client's public keys");
    if (c->auth_method != OIDC_AUTH_PRIVATE_KEY_JWT && has_jwks)
        return GW_ERR(err, GW_E_INVALID_REQUEST,
                      "jwks is only for token_endpoint_auth_method private_key_jwt");
    if (has_jwks && parse_jwks(v, c, err) != 0)
        return -1;
    return 0;
}

int oidc_client_from_json(yajl_val obj, const char *id, oidc_client_t **out, gw_err_t *err)
{
    oidc_client_t *c = gw_calloc(1, sizeof(*c));
    atomic_init(&c->refs, 1);
    if (build(obj, id, c, err) != 0) {
        client_free(c);
        *out = NULL;
        return -1;
    }
    *out = c;
    return 0;
}

/* ---- to JSON --------------------------------------------------------------- */

int oidc_client_jwks_json(const oidc_client_t *c, char **out, gw_err_t *err)
{
    *out = NULL;
    if (c->jwks_count == 0)
        return 0;
    size_t cap = 16, n = 0;
    char *buf = gw_malloc(cap);
    n = (size_t)snprintf(buf, cap, "{\"keys\":[");
    for (size_t i = 0; i < c->jwks_count; i++) {
        char *jwk = NULL;
        if (gw_key_public_jwk(c->jwks[i], c->jwks_kids[i], gw_key_jws_alg(c->jwks[i]), "sig", &jwk, err) !=
            0) {
            free(buf);
            return -1;
        }
        size_t l = strlen(jwk);
        buf = gw_realloc(buf, cap = n + l + 8);
        if (i > 0)
            buf[n++] = ',';
        memcpy(buf + n, jwk, l);
        n += l;
        free(jwk);
    }
    buf = gw_realloc(buf, n + 3);
    memcpy(buf + n, "]}", 3);
    *out = buf;
    return 0;
}

static void write_strings(gw_jw_t *w, const char *key, char **v, size_t n)
{
    gw_jw_key(w, key);
    gw_jw_arr_open(w);
    for (size_t i = 0; i < n; i++)
        gw_jw_str(w, v[i]);
    gw_jw_arr_close(w);
}

void oidc_client_write_json(gw_jw_t *w, const oidc_client_t *c, const char *secret)
{
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "client_id", c->id);
    if (secret != NULL) {
        gw_jw_kv_str(w, "client_secret", secret);
        gw_jw_kv_int64(w, "client_secret_expires_at", 0);
    }
    gw_jw_kv_str(w, "client_name", c->name);
    write_strings(w, "redirect_uris", c->redirect_uris, c->redirect_uri_count);
    write_strings(w, "post_logout_redirect_uris", c->post_logout_redirect_uris,
                  c->post_logout_redirect_uri_count);
    gw_jw_key(w, "grant_types");
    gw_jw_arr_open(w);
    for (unsigned bit = 1; bit <= OIDC_GRANT_CLIENT_CREDENTIALS; bit <<= 1)
        if (c->grants & bit)
            gw_jw_str(w, oidc_grant_name(bit));
    gw_jw_arr_close(w);
    size_t len = 0;
    for (size_t i = 0; i < c->scope_count; i++)
        len += strlen(c->scopes[i]) + 1;
    char *scope = gw_malloc(len + 1);
    scope[0] = '\0';
    for (size_t i = 0, n = 0; i < c->scope_count; i++) {
        size_t l = strlen(c->scopes[i]);
        if (i > 0)
            scope[n++] = ' ';
        memcpy(scope + n, c->scopes[i], l + 1);
        n += l;
    }
    gw_jw_kv_str(w, "scope", scope);
    free(scope);
    gw_jw_kv_str(w, "token_endpoint_auth_method", oidc_auth_method_name(c->auth_method));
    gw_jw_kv_str(w, "id_token_signed_response_alg", c->id_token_alg);
    char *jwks = NULL;
    gw_err_t err;
    if (oidc_client_jwks_json(c, &jwks, &err) == 0 && jwks != NULL)
        gw_jw_kv_raw(w, "jwks", jwks, strlen(jwks));
    free(jwks);
    gw_jw_obj_close(w);
}
