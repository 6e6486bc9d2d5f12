/* The `oidc-ida` provider (provider.h): regain as the relying party of an
 * OpenID Provider that returns verified_claims (OpenID Connect for Identity
 * Assurance 1.0), the contract identity-verification vendors implement.
 *
 * begin:  discovery (cached) -> the authorization request: code flow,
 *         PKCE S256 (RFC 7636), state = the attempt's handle, nonce bound to
 *         the attempt, scope from the config, and a `claims` request (OIDC
 *         Core §5.5) for verified_claims in the ID token (IDA §6). Pushed
 *         (RFC 9126) when the provider advertises a PAR endpoint, so the
 *         request never travels through the browser.
 * finish: the code is redeemed at the token endpoint (client_secret_basic
 *         or private_key_jwt); the ID token is verified: alg ES256 or RS256
 *         only, signature by a key of the provider's JWKS (cached; fetched
 *         again once for an unknown kid, at most every JWKS_MIN_REFRESH_S),
 *         iss, aud (our client alone) and azp, exp, nbf, iat, nonce; then verified_claims is read
 *         into the normalised identity. The policy's evidence rules are the
 *         caller's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "gateway/log.h"
#include "providers/provider.h"

#define DISCOVERY_TTL_S    3600
#define JWKS_TTL_S         3600
#define JWKS_MIN_REFRESH_S 30 /* an unknown kid refetches at most this often */
#define MAX_KEYS           16
#define CLOCK_SKEW_S       60
#define URL_MAX            2048

typedef struct {
    char kid[128];
    char alg[8];
    EVP_PKEY *key;
} ida_key_t;

typedef struct {
    pthread_mutex_t lock;
    char *authorization_endpoint, *token_endpoint, *jwks_uri, *par_endpoint;
    bool iss_in_response; /* RFC 9207: the provider says its authorization responses carry iss */
    int64_t discovered_at;
    ida_key_t keys[MAX_KEYS];
    size_t nkeys;
    int64_t jwks_at;
    EVP_PKEY *client_key; /* private_key_jwt */
    const char *client_alg;
    char client_kid[GW_THUMBPRINT_LEN + 1];
} ida_t;

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* ---- set-up -------------------------------------------------------------- */

static int ida_init(prov_provider_t *p, char *msg, size_t msgsize)
{
    ida_t *s = gw_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    p->state = s;
    if (p->cfg->private_key_file != NULL) {
        FILE *f = fopen(p->cfg->private_key_file, "r");
        if (f == NULL) {
            snprintf(msg, msgsize, "private_key_file: cannot read");
            return -1;
        }
        s->client_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        gw_err_t err;
        if (s->client_key == NULL || (s->client_alg = gw_key_jws_alg(s->client_key)) == NULL ||
            gw_key_thumbprint(s->client_key, s->client_kid, &err) != 0) {
            snprintf(msg, msgsize, "private_key_file: not a P-256 or RSA (2048+) private key in PEM");
            return -1;
        }
    }
    return 0;
}

static void clear_keys(ida_t *s)
{
    for (size_t i = 0; i < s->nkeys; i++)
        EVP_PKEY_free(s->keys[i].key);
    s->nkeys = 0;
}

static void ida_dispose(prov_provider_t *p)
{
    ida_t *s = p->state;
    if (s == NULL)
        return;
    clear_keys(s);
    free(s->authorization_endpoint);
    free(s->token_endpoint);
    free(s->jwks_uri);
    free(s->par_endpoint);
    EVP_PKEY_free(s->client_key);
    pthread_mutex_destroy(&s->lock);
    free(s);
    p->state = NULL;
}

static void ida_describe(const prov_provider_t *p, gw_jw_t *w)
{
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "id", p->cfg->id);
    gw_jw_kv_str(w, "type", "oidc-ida");
    gw_jw_kv_str(w, "display_name", p->cfg->display_name);
    gw_jw_kv_str(w, "issuer", p->cfg->issuer);
    gw_jw_obj_close(w);
}

/* ---- one operation: begin or finish ---------------------------------------- */

typedef struct op op_t;
typedef void (*op_step)(op_t *op);

/* The claims every claims request asks for, and what a verified_claims
 * array is searched for when the flow names none. */
static const char *const BASE[] = {"given_name", "family_name", "birthdate"};

struct op {
    prov_provider_t *p;
    ida_t *s;
    gw_req_t *r;
    /* begin */
    prov_begin_t b;
    prov_begin_cb begin_cb;
    /* finish */
    prov_finish_t f;
    prov_finish_cb finish_cb;
    char *code;
    const char *error; /* the authorization response's error code, or NULL */
    bool has_iss;      /* the authorization response carried iss (RFC 9207) */
    bool iss_required; /* ... and discovery says it must */
    char *id_token;
    int jwks_refetched;
    void *data;
    op_step next;
    /* copies of the endpoints for this operation (the cache may change) */
    char *authz_ep, *token_ep, *jwks_uri, *par_ep;
};

/* A begin or finish operation, in the request pool; the caller fills in
 * which of the two it is. */
static op_t *op_new(prov_provider_t *p, gw_req_t *r, void *data)
{
    op_t *op = gw_req_alloc(r, sizeof(*op));
    memset(op, 0, sizeof(*op));
    op->p = p;
    op->s = p->state;
    op->r = r;
    op->data = data;
    return op;
}

static void op_fail(op_t *op, const char *reason, const char *why)
{
    gw_log_write(GW_LOG_WARN, "provider", op->r->id, "%s: %s (%s)", op->p->cfg->id, reason, why);
    if (op->begin_cb != NULL)
        op->begin_cb(op->r, op->data, NULL, reason);
    else
        op->finish_cb(op->r, op->data, NULL, reason);
}

static char *pool_dup(gw_req_t *r, const char *s)
{
    return s == NULL ? NULL : gw_req_strdup(r, s, strlen(s)).base;
}

static void snapshot_endpoints(op_t *op)
{
    pthread_mutex_lock(&op->s->lock);
    op->authz_ep = pool_dup(op->r, op->s->authorization_endpoint);
    op->token_ep = pool_dup(op->r, op->s->token_endpoint);
    op->jwks_uri = pool_dup(op->r, op->s->jwks_uri);
    op->par_ep = op->p->cfg->use_par ? pool_dup(op->r, op->s->par_endpoint) : NULL;
    op->iss_required = op->s->iss_in_response;
    pthread_mutex_unlock(&op->s->lock);
}

static int url_ok(const char *u)
{
    return u != NULL && strlen(u) < URL_MAX &&
           (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://127.0.0.1", 16) == 0 ||
            strncmp(u, "http://localhost", 16) == 0);
}

/* ---- discovery (OpenID Connect Discovery 1.0 §4) --------------------------------- */

static void on_discovery(void *data, const prov_http_response_t *res)
{
    op_t *op = data;
    if (res->status != 200) {
        op_fail(op, PROV_R_PROVIDER_ERROR, res->error ? res->error : "discovery status not 200");
        return;
    }
    gw_err_t err;
    yajl_val d = gw_json_parse(res->body, res->body_len, &(gw_json_limits_t){.require_object = true}, &err);
    const char *iss = gw_json_str(d, "issuer"), *az = gw_json_str(d, "authorization_endpoint"),
               *tok = gw_json_str(d, "token_endpoint"), *jwks = gw_json_str(d, "jwks_uri"),
               *par = gw_json_str(d, "pushed_authorization_request_endpoint");
    /* Discovery §4.3: the issuer in the document must be the one configured. */
    if (d == NULL || iss == NULL || strcmp(iss, op->p->cfg->issuer) != 0 || !url_ok(az) || !url_ok(tok) ||
        !url_ok(jwks) || (par != NULL && !url_ok(par))) {
        if (d != NULL)
            yajl_tree_free(d);
        op_fail(op, PROV_R_PROVIDER_ERROR, "discovery document unusable (issuer or endpoints)");
        return;
    }
    pthread_mutex_lock(&op->s->lock);
    free(op->s->authorization_endpoint);
    free(op->s->token_endpoint);
    free(op->s->jwks_uri);
    free(op->s->par_endpoint);
    op->s->authorization_endpoint = gw_strdup(az);
    op->s->token_endpoint = gw_strdup(tok);
    op->s->jwks_uri = gw_strdup(jwks);
    op->s->par_endpoint = par ? gw_strdup(par) : NULL;
    bool iss_param = false;
    op->s->iss_in_response =
        gw_json_get_bool(d, "authorization_response_iss_parameter_supported", &iss_param) == GW_JSON_OK &&
        iss_param;
    op->s->discovered_at = now_s();
    pthread_mutex_unlock(&op->s->lock);
    yajl_tree_free(d);
    snapshot_endpoints(op);
    op->next(op);
}

static void with_discovery(op_t *op, op_step next)
{
    pthread_mutex_lock(&op->s->lock);
    int fresh = op->s->authorization_endpoint != NULL && now_s() - op->s->discovered_at < DISCOVERY_TTL_S;
    pthread_mutex_unlock(&op->s->lock);
    op->next = next;
    if (fresh) {
        snapshot_endpoints(op);
        next(op);
        return;
    }
    size_t n = strlen(op->p->cfg->issuer) + sizeof("/.well-known/openid-configuration");
    char *url = gw_req_alloc(op->r, n);
    snprintf(url, n, "%s/.well-known/openid-configuration", op->p->cfg->issuer);
    prov_http_for_request(op->r, url, NULL, NULL, 0, NULL, op->p->cfg->ca_file, op->p->cfg->timeout_ms,
                          on_discovery, op);
}

/* ---- client authentication (OIDC Core §9) ------------------------------------------ */

/* Adds the client authentication to `form` (private_key_jwt) or returns the
 * Authorization header lines (client_secret_basic, RFC 6749 §2.3.1: the id
 * and secret form-encoded before base64). NULL header and -1 on failure. */
static int client_auth(op_t *op, const char *audience, gw_jw_t *unused, char **form, char **header)
{
    (void)unused;
    h2o_mem_pool_t *pool = &op->r->req->pool;
    const gw_provider_config_t *c = op->p->cfg;
    *header = NULL;
    if (c->client_secret != NULL) {
        h2o_iovec_t id = gw_url_encode(pool, c->client_id, strlen(c->client_id));
        h2o_iovec_t sec = gw_url_encode(pool, c->client_secret, strlen(c->client_secret));
        size_t n = id.len + 1 + sec.len;
        char *pair = gw_req_alloc(op->r, n + 1);
        snprintf(pair, n + 1, "%s:%s", id.base, sec.base);
        char *b64 = gw_req_alloc(op->r, GW_B64_LEN(n) + 1);
        gw_b64_encode((const uint8_t *)pair, n, b64);
        gw_wipe(pair, n);
        size_t hl = strlen(b64) + 32;
        *header = gw_req_alloc(op->r, hl);
        snprintf(*header, hl, "Authorization: Basic %s\r\n", b64);
        gw_wipe(b64, strlen(b64));
        return 0;
    }
    /* private_key_jwt (RFC 7523 §3): iss = sub = client_id, aud = the
     * endpoint, a fresh jti, a short exp. */
    uint8_t rnd[16];
    char jti[GW_B64URL_LEN(16) + 1];
    gw_random_bytes(rnd, sizeof(rnd));
    gw_b64url_encode(rnd, sizeof(rnd), jti);
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "iss", c->client_id);
    gw_jw_kv_str(w, "sub", c->client_id);
    gw_jw_kv_str(w, "aud", audience);
    gw_jw_kv_str(w, "jti", jti);
    gw_jw_kv_int64(w, "iat", now_s());
    gw_jw_kv_int64(w, "exp", now_s() + 60);
    gw_jw_obj_close(w);
    size_t len = 0;
    const char *payload = gw_jw_buf(w, &len);
    char hdr[GW_THUMBPRINT_LEN + 16];
    snprintf(hdr, sizeof(hdr), "\"kid\":\"%s\"", op->s->client_kid);
    char *jws = NULL;
    gw_err_t err;
    int rc = payload != NULL
                 ? gw_jws_sign(op->s->client_key, op->s->client_alg, hdr, payload, len, &jws, &err)
                 : -1;
    gw_jw_free(w);
    if (rc != 0)
        return -1;
    size_t fl = strlen(*form) + strlen(jws) + 128;
    char *nf = gw_req_alloc(op->r, fl);
    snprintf(nf, fl,
             "%s&client_id=%s&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%"
             "3Ajwt-bearer"
             "&client_assertion=%s",
             *form, gw_url_encode(pool, c->client_id, strlen(c->client_id)).base, jws);
    free(jws);
    *form = nf;
    return 0;
}

/* POSTs `form` to `endpoint` with the client authentication (its assertion
 * for `audience`); the answer goes to `cb`. */
static void post_authenticated(op_t *op, const char *endpoint, const char *audience, char *form,
                               prov_http_cb cb)
{
    char *header = NULL;
    if (client_auth(op, audience, NULL, &form, &header) != 0) {
        op_fail(op, PROV_R_PROVIDER_ERROR, "client authentication could not be built");
        return;
    }
    prov_http_for_request(op->r, endpoint, "application/x-www-form-urlencoded", form, strlen(form), header,
                          op->p->cfg->ca_file, op->p->cfg->timeout_ms, cb, op);
}

/* ---- begin ------------------------------------------------------------------------------- */

/* The `claims` request (OIDC Core §5.5, IDA §6): verified_claims in the ID
 * token, with its verification data and the claims matching needs. */
static const char *claims_request(op_t *op)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "id_token");
    gw_jw_obj_open(w);
    gw_jw_key(w, "verified_claims");
    gw_jw_obj_open(w);
    gw_jw_key(w, "verification");
    gw_jw_obj_open(w);
    gw_jw_kv_null(w, "trust_framework");
    gw_jw_kv_null(w, "assurance_level");
    gw_jw_kv_null(w, "time");
    gw_jw_kv_null(w, "verification_process");
    gw_jw_kv_null(w, "evidence");
    gw_jw_obj_close(w);
    gw_jw_key(w, "claims");
    gw_jw_obj_open(w);
    for (size_t i = 0; i < sizeof(BASE) / sizeof(BASE[0]); i++)
        gw_jw_kv_null(w, BASE[i]);
    for (size_t i = 0; i < op->b.claim_count; i++) {
        int dup = 0;
        for (size_t k = 0; k < sizeof(BASE) / sizeof(BASE[0]); k++)
            dup |= strcmp(BASE[k], op->b.claims[i]) == 0;
        for (size_t k = 0; k < i; k++)
            dup |= strcmp(op->b.claims[k], op->b.claims[i]) == 0;
        if (!dup)
            gw_jw_kv_null(w, op->b.claims[i]);
    }
    gw_jw_obj_close(w);
    gw_jw_obj_close(w);
    gw_jw_obj_close(w);
    gw_jw_obj_close(w);
    size_t len = 0;
    const char *buf = gw_jw_buf(w, &len);
    const char *out = buf ? gw_req_strdup(op->r, buf, len).base : "{}";
    gw_jw_free(w);
    return out;
}

/* The authorization request's parameters as a form / query string. */
static char *authz_params(op_t *op)
{
    h2o_mem_pool_t *pool = &op->r->req->pool;
    const gw_provider_config_t *c = op->p->cfg;
    uint8_t digest[GW_SHA256_LEN];
    char challenge[GW_B64URL_LEN(GW_SHA256_LEN) + 1];
    gw_sha256(op->b.code_verifier, strlen(op->b.code_verifier), digest);
    gw_b64url_encode(digest, sizeof(digest), challenge);
    const char *claims = claims_request(op);
#define ENC(s) gw_url_encode(pool, (s), strlen(s)).base
    const char *parts[][2] = {{"response_type", "code"},
                              {"client_id", ENC(c->client_id)},
                              {"redirect_uri", ENC(op->b.redirect_uri)},
                              {"scope", ENC(c->scopes)},
                              {"state", ENC(op->b.handle)},
                              {"nonce", ENC(op->b.nonce)},
                              {"code_challenge", challenge},
                              {"code_challenge_method", "S256"},
                              {"claims", ENC(claims)}};
#undef ENC
    size_t n = 1;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        n += strlen(parts[i][0]) + strlen(parts[i][1]) + 2;
    char *out = gw_req_alloc(op->r, n);
    size_t o = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        o += (size_t)snprintf(out + o, n - o, "%s%s=%s", i ? "&" : "", parts[i][0], parts[i][1]);
    return out;
}

static void redirect_to(op_t *op, const char *query)
{
    size_t n = strlen(op->authz_ep) + strlen(query) + 2;
    char *loc = gw_req_alloc(op->r, n);
    snprintf(loc, n, "%s%c%s", op->authz_ep, strchr(op->authz_ep, '?') ? '&' : '?', query);
    op->begin_cb(op->r, op->data, loc, NULL);
}

static void on_par(void *data, const prov_http_response_t *res)
{
    op_t *op = data;
    gw_err_t err;
    yajl_val v =
        res->status == 201 || res->status == 200 ? gw_json_parse(res->body, res->body_len, NULL, &err) : NULL;
    const char *uri = gw_json_str(v, "request_uri");
    if (uri == NULL || strlen(uri) > 512) {
        if (v != NULL)
            yajl_tree_free(v);
        op_fail(op, PROV_R_PROVIDER_ERROR, res->error ? res->error : "pushed authorization request refused");
        return;
    }
    h2o_mem_pool_t *pool = &op->r->req->pool;
    /* RFC 9126 §4: only client_id and request_uri travel through the browser. */
    size_t n = strlen(uri) * 3 + strlen(op->p->cfg->client_id) * 3 + 32;
    char *q = gw_req_alloc(op->r, n);
    snprintf(q, n, "client_id=%s&request_uri=%s",
             gw_url_encode(pool, op->p->cfg->client_id, strlen(op->p->cfg->client_id)).base,
             gw_url_encode(pool, uri, strlen(uri)).base);
    yajl_tree_free(v);
    redirect_to(op, q);
}

static void begin_discovered(op_t *op)
{
    char *params = authz_params(op);
    if (op->par_ep == NULL) {
        redirect_to(op, params);
        return;
    }
    /* PAR (RFC 9126 §2): the assertion's audience is the issuer. */
    post_authenticated(op, op->par_ep, op->p->cfg->issuer, params, on_par);
}

static void ida_begin(prov_provider_t *p, gw_req_t *r, const prov_begin_t *b, prov_begin_cb cb, void *data)
{
    op_t *op = op_new(p, r, data);
    op->b = *b;
    op->begin_cb = cb;
    with_discovery(op, begin_discovered);
}

/* ---- finish: the ID token ------------------------------------------------------------------ */

/* 1 when s[0..n) are all ASCII digits. */
static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* RFC 3339 date-time ("2024-05-01T10:00:00Z", fractions and offsets) to
 * epoch seconds; -1 when it is not one. Every field is two (the year four)
 * digits and the offset is "Z" or "+HH:MM" / "-HH:MM" (§5.6): sscanf alone
 * would take " 5" or "-1" for a field, and an offset is only read once its
 * six characters are known to be there. */
static int64_t rfc3339(const char *s)
{
    int y, mo, d, h, mi, sec;
    if (s == NULL || strlen(s) < 20 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) ||
        s[7] != '-' || !all_digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') || !all_digits(s + 11, 2) ||
        s[13] != ':' || !all_digits(s + 14, 2) || s[16] != ':' || !all_digits(s + 17, 2) ||
        sscanf(s, "%4d-%2d-%2d%*c%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!all_digits(p, 1))
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && all_digits(p + 1, 2) && p[3] == ':' &&
               all_digits(p + 4, 2)) {
        int oh = (p[1] - '0') * 10 + (p[2] - '0'), om = (p[4] - '0') * 10 + (p[5] - '0');
        if (oh > 23 || om > 59)
            return -1;
        offset = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return (int64_t)timegm(&tm) - offset;
}

/* Evidence written back as text, from the tree, without its attachments:
 * IDA evidence may embed the documents themselves (attachments[].content,
 * base64 images of a passport, say) or point at them, and what recovery
 * keeps and passes on (recovery_attempts and sessions.verified_claims, the
 * claim-validation webhook) must never hold document images
 * (schema/011_recovery.sql). Dropped at any depth: a check's or a
 * document's own attachments too. */
static void write_value(gw_jw_t *w, yajl_val v, int depth)
{
    if (depth > 8 || v == NULL) {
        gw_jw_null(w);
    } else if (YAJL_IS_STRING(v)) {
        gw_jw_str(w, YAJL_GET_STRING(v));
    } else if (YAJL_IS_INTEGER(v)) {
        gw_jw_int64(w, YAJL_GET_INTEGER(v));
    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        gw_jw_bool(w, YAJL_IS_TRUE(v));
    } else if (YAJL_IS_OBJECT(v)) {
        gw_jw_obj_open(w);
        for (size_t i = 0; i < v->u.object.len; i++) {
            if (strcmp(v->u.object.keys[i], "attachments") == 0)
                continue;
            gw_jw_key(w, v->u.object.keys[i]);
            write_value(w, v->u.object.values[i], depth + 1);
        }
        gw_jw_obj_close(w);
    } else if (YAJL_IS_ARRAY(v)) {
        gw_jw_arr_open(w);
        for (size_t i = 0; i < v->u.array.len; i++)
            write_value(w, v->u.array.values[i], depth + 1);
        gw_jw_arr_close(w);
    } else {
        gw_jw_null(w); /* doubles: nothing in evidence needs them */
    }
}

static char *value_text(yajl_val v)
{
    gw_jw_t *w = gw_jw_new();
    write_value(w, v, 0);
    size_t len = 0;
    const char *buf = gw_jw_buf(w, &len);
    char *out = buf ? gw_strndup(buf, len) : NULL;
    gw_jw_free(w);
    return out;
}

/* How many of `names` an element of verified_claims carries as strings; -1
 * when it is no usable element (no verification.trust_framework, no claims
 * object). */
static int element_score(yajl_val e, const char *const *names, size_t n)
{
    yajl_val claims = gw_json_get(e, "claims");
    if (e == NULL || !YAJL_IS_OBJECT(e) ||
        gw_json_str(gw_json_get(e, "verification"), "trust_framework") == NULL || claims == NULL ||
        !YAJL_IS_OBJECT(claims))
        return -1;
    int score = 0;
    for (size_t i = 0; i < n; i++)
        score += gw_json_str(claims, names[i]) != NULL;
    return score;
}

/* The element of verified_claims (an object, or an array of them) to read:
 * of an array, the usable element carrying the most of the claims matching
 * needs (`names`, the first of equals), so the first that carries them all.
 * IDA lets a provider split the claims over elements, each verified its own
 * way (an address from a utility bill, the name and birthdate from an
 * identity document); element 0 alone may hold none of what we match on.
 * Claims are never merged across elements: each has its own verification. */
static yajl_val pick_verified_claims(yajl_val vc, const char *const *names, size_t n)
{
    if (vc == NULL || !YAJL_IS_ARRAY(vc))
        return vc;
    yajl_val best = NULL;
    int best_score = -1;
    for (size_t i = 0; i < vc->u.array.len; i++) {
        int score = element_score(vc->u.array.values[i], names, n);
        if (score > best_score)
            best = vc->u.array.values[i], best_score = score;
    }
    return best;
}

/* Reads verified_claims into the identity: of an array, the element
 * pick_verified_claims chooses for `names` (BASE when none), with its own
 * verification. Returns a reason or NULL. */
static const char *read_verified_claims(yajl_val payload, const char *const *names, size_t n,
                                        prov_identity_t *id)
{
    if (names == NULL || n == 0)
        names = BASE, n = sizeof(BASE) / sizeof(BASE[0]);
    yajl_val vc = pick_verified_claims(gw_json_get(payload, "verified_claims"), names, n);
    yajl_val ver = gw_json_get(vc, "verification");
    yajl_val claims = gw_json_get(vc, "claims");
    const char *tf = gw_json_str(ver, "trust_framework");
    if (vc == NULL || !YAJL_IS_OBJECT(vc) || tf == NULL || claims == NULL || !YAJL_IS_OBJECT(claims))
        return PROV_R_NO_VERIFIED_CLAIMS;
    id->trust_framework = gw_strdup(tf);
    const char *al = gw_json_str(ver, "assurance_level");
    id->assurance_level = al ? gw_strdup(al) : NULL;
    const char *t = gw_json_str(ver, "time");
    id->verified_at = t != NULL ? rfc3339(t) : 0;
    if (id->verified_at < 0)
        return PROV_R_MALFORMED;
    /* verification_process is kept to be passed on as such, never as the
     * transaction id: IDA names it a reference to the verification process,
     * which a bank-style provider repeats in every token of a customer (or
     * of every customer), so a one-time use of it would refuse the second
     * honest recovery as replayed. */
    const char *proc = gw_json_str(ver, "verification_process");
    if (proc != NULL && strlen(proc) <= 256)
        id->verification_process = gw_strdup(proc);
    /* The transaction id, usable once: the txn claim (RFC 8417 §2.2, which
     * IDA uses to identify the transaction for audit trails), or where
     * earlier IDA drafts put it (verification.txn, an evidence's txn);
     * verify_id_token falls back to the token's jti. */
    yajl_val ev = gw_json_get(ver, "evidence");
    const char *txn = gw_json_str(payload, "txn");
    if (txn == NULL)
        txn = gw_json_str(ver, "txn");
    if (txn == NULL && ev != NULL && YAJL_IS_ARRAY(ev) && ev->u.array.len > 0)
        txn = gw_json_str(ev->u.array.values[0], "txn");
    if (txn != NULL && strlen(txn) <= 256)
        id->txn = gw_strdup(txn);
    if (ev != NULL)
        id->evidence_json = value_text(ev);
    for (size_t i = 0; i < claims->u.object.len; i++) {
        yajl_val v = claims->u.object.values[i];
        if (YAJL_IS_STRING(v) && strlen(v->u.string) <= 512)
            prov_identity_add_claim(id, claims->u.object.keys[i], v->u.string);
    }
    return NULL;
}

/* 1 when the token is for our client alone (OIDC Core §3.1.3.7 steps 3-5):
 * aud is our client_id, as a string or the one element of an array (a
 * token with "additional audiences not trusted by the Client" MUST be
 * rejected, and we trust none), and azp, when present, is our client_id. */
static int audience_ok(yajl_val payload, const char *client_id)
{
    yajl_val aud = gw_json_get(payload, "aud");
    if (aud != NULL && YAJL_IS_ARRAY(aud) && aud->u.array.len == 1)
        aud = aud->u.array.values[0];
    if (aud == NULL || !YAJL_IS_STRING(aud) || strcmp(aud->u.string, client_id) != 0)
        return 0;
    yajl_val azp = gw_json_get(payload, "azp");
    return azp == NULL || (YAJL_IS_STRING(azp) && strcmp(azp->u.string, client_id) == 0);
}

static void with_jwks(op_t *op, op_step next);

static void verify_id_token(op_t *op)
{
    gw_jws_t jws;
    gw_err_t err;
    const char *tok = op->id_token;
    if (gw_jws_parse(tok, strlen(tok), &jws, &err) != 0) {
        op_fail(op, PROV_R_MALFORMED, "ID token is not a compact JWS");
        return;
    }
    char alg[8];
    snprintf(alg, sizeof(alg), "%s", jws.alg);
    char kid[128] = "";
    gw_err_t e2;
    yajl_val h = gw_json_parse(jws.header, jws.header_len, NULL, &e2);
    const char *k = gw_json_str(h, "kid");
    if (k != NULL)
        snprintf(kid, sizeof(kid), "%s", k);
    if (h != NULL)
        yajl_tree_free(h);
    gw_jws_dispose(&jws);
    /* The algorithm is ours to choose (DEPENDENCIES.md §6): ES256 or RS256,
     * and it must fit the key it names. */
    if (strcmp(alg, "ES256") != 0 && strcmp(alg, "RS256") != 0) {
        op_fail(op, PROV_R_BAD_SIGNATURE, "ID token alg not ES256 or RS256");
        return;
    }
    EVP_PKEY *key = NULL;
    size_t candidates = 0;
    pthread_mutex_lock(&op->s->lock);
    for (size_t i = 0; i < op->s->nkeys; i++) {
        ida_key_t *ik = &op->s->keys[i];
        if (strcmp(ik->alg, alg) != 0 || (kid[0] != '\0' && strcmp(ik->kid, kid) != 0))
            continue;
        candidates++;
        if (key == NULL) {
            key = ik->key;
            EVP_PKEY_up_ref(key);
        }
    }
    int64_t age = now_s() - op->s->jwks_at;
    pthread_mutex_unlock(&op->s->lock);
    if (key == NULL) {
        /* An unknown kid: the provider may have rotated. Fetch once,
         * bounded, so forged kids cannot make us hammer the provider. */
        if (!op->jwks_refetched && age >= JWKS_MIN_REFRESH_S) {
            op->jwks_refetched = 1;
            pthread_mutex_lock(&op->s->lock);
            op->s->jwks_at = 0;
            pthread_mutex_unlock(&op->s->lock);
            with_jwks(op, verify_id_token);
            return;
        }
        op_fail(op, PROV_R_BAD_SIGNATURE, "no key of the provider's JWKS for this kid and alg");
        return;
    }
    (void)candidates;
    char *payload_json = NULL;
    int rc = gw_jws_verify(key, alg, tok, strlen(tok), NULL, &payload_json, &err);
    EVP_PKEY_free(key);
    if (rc != 0) {
        op_fail(op, PROV_R_BAD_SIGNATURE, "ID token signature does not verify");
        return;
    }
    yajl_val pl =
        gw_json_parse(payload_json, strlen(payload_json), &(gw_json_limits_t){.require_object = true}, &err);
    free(payload_json);
    const char *reason = NULL, *why = NULL;
    /* exp, nbf and iat may be any int64: the skew is added to the clock, never to them. */
    int64_t exp = 0, iat = 0, nbf = 0;
    gw_json_get_t has_nbf = gw_json_get_int64(pl, "nbf", &nbf);
    const char *nonce = gw_json_str(pl, "nonce");
    if (pl == NULL) {
        reason = PROV_R_MALFORMED, why = "payload not a JSON object";
    } else if (gw_json_str(pl, "iss") == NULL || strcmp(gw_json_str(pl, "iss"), op->p->cfg->issuer) != 0) {
        reason = PROV_R_WRONG_ISSUER, why = "iss";
    } else if (!audience_ok(pl, op->p->cfg->client_id)) {
        reason = PROV_R_WRONG_AUDIENCE, why = "aud/azp";
    } else if (gw_json_get_int64(pl, "exp", &exp) != GW_JSON_OK || exp < now_s() - CLOCK_SKEW_S) {
        reason = PROV_R_TOKEN_EXPIRED, why = "exp";
    } else if (has_nbf == GW_JSON_WRONG_TYPE) {
        reason = PROV_R_MALFORMED, why = "nbf";
    } else if (has_nbf == GW_JSON_OK && nbf > now_s() + CLOCK_SKEW_S) {
        /* RFC 7519 §4.1.5: the JWT MUST NOT be accepted before nbf. */
        reason = PROV_R_TOKEN_NOT_YET, why = "nbf";
    } else if (gw_json_get_int64(pl, "iat", &iat) != GW_JSON_OK || iat > now_s() + CLOCK_SKEW_S) {
        reason = PROV_R_MALFORMED, why = "iat";
    } else if (nonce == NULL || op->f.nonce == NULL || strlen(nonce) != strlen(op->f.nonce) ||
               !gw_ct_equal(nonce, op->f.nonce, strlen(nonce))) {
        reason = PROV_R_WRONG_NONCE, why = "nonce";
    }
    prov_identity_t id;
    memset(&id, 0, sizeof(id));
    if (reason == NULL)
        reason = read_verified_claims(pl, op->f.claims, op->f.claim_count, &id), why = "verified_claims";
    if (reason == NULL && id.txn == NULL) {
        const char *jti = gw_json_str(pl, "jti");
        if (jti != NULL && strlen(jti) <= 256)
            id.txn = gw_strdup(jti);
    }
    if (pl != NULL)
        yajl_tree_free(pl);
    if (reason != NULL) {
        prov_identity_dispose(&id);
        op_fail(op, reason, why);
        return;
    }
    gw_sha256(tok, strlen(tok), id.result_hash);
    id.aggregated_jwt = gw_strdup(tok);
    op->finish_cb(op->r, op->data, &id, NULL);
    prov_identity_dispose(&id);
}

/* ---- JWKS ------------------------------------------------------------------------------------ */

static void on_jwks(void *data, const prov_http_response_t *res)
{
    op_t *op = data;
    gw_err_t err;
    yajl_val v = res->status == 200 ? gw_json_parse(res->body, res->body_len, NULL, &err) : NULL;
    yajl_val keys = gw_json_get(v, "keys");
    if (keys == NULL || !YAJL_IS_ARRAY(keys)) {
        if (v != NULL)
            yajl_tree_free(v);
        op_fail(op, PROV_R_PROVIDER_ERROR, res->error ? res->error : "JWKS unusable");
        return;
    }
    ida_key_t fresh[MAX_KEYS];
    size_t n = 0;
    for (size_t i = 0; i < keys->u.array.len && n < MAX_KEYS; i++) {
        yajl_val k = keys->u.array.values[i];
        const char *use = gw_json_str(k, "use");
        if (use != NULL && strcmp(use, "sig") != 0)
            continue;
        EVP_PKEY *pk = NULL;
        if (gw_key_from_jwk_value(k, &pk, &err) != 0)
            continue; /* keys we cannot use are skipped, not fatal */
        const char *alg = gw_key_jws_alg(pk);
        const char *jalg = gw_json_str(k, "alg");
        if (alg == NULL || (jalg != NULL && strcmp(jalg, alg) != 0)) {
            EVP_PKEY_free(pk);
            continue;
        }
        const char *kid = gw_json_str(k, "kid");
        snprintf(fresh[n].kid, sizeof(fresh[n].kid), "%s", kid ? kid : "");
        snprintf(fresh[n].alg, sizeof(fresh[n].alg), "%s", alg);
        fresh[n].key = pk;
        n++;
    }
    yajl_tree_free(v);
    pthread_mutex_lock(&op->s->lock);
    clear_keys(op->s);
    memcpy(op->s->keys, fresh, n * sizeof(fresh[0]));
    op->s->nkeys = n;
    op->s->jwks_at = now_s();
    pthread_mutex_unlock(&op->s->lock);
    op->next(op);
}

static void with_jwks(op_t *op, op_step next)
{
    pthread_mutex_lock(&op->s->lock);
    int fresh = op->s->jwks_at != 0 && now_s() - op->s->jwks_at < JWKS_TTL_S;
    pthread_mutex_unlock(&op->s->lock);
    op->next = next;
    if (fresh) {
        next(op);
        return;
    }
    prov_http_for_request(op->r, op->jwks_uri, NULL, NULL, 0, NULL, op->p->cfg->ca_file,
                          op->p->cfg->timeout_ms, on_jwks, op);
}

/* ---- finish: the token endpoint ------------------------------------------------------------- */

static void on_token(void *data, const prov_http_response_t *res)
{
    op_t *op = data;
    gw_err_t err;
    yajl_val v = res->status == 200 ? gw_json_parse(res->body, res->body_len, NULL, &err) : NULL;
    const char *idt = gw_json_str(v, "id_token");
    if (idt == NULL || strlen(idt) > GW_JWS_MAX_LEN) {
        if (v != NULL)
            yajl_tree_free(v);
        op_fail(op, PROV_R_PROVIDER_ERROR, res->error ? res->error : "token endpoint gave no ID token");
        return;
    }
    op->id_token = gw_req_strdup(op->r, idt, strlen(idt)).base;
    yajl_tree_free(v);
    with_jwks(op, verify_id_token);
}

static void finish_discovered(op_t *op)
{
    /* RFC 9207 §2.4: a provider that advertises the iss parameter must send
     * it; a response without it may come from a mix-up and is refused. */
    if (!op->has_iss && op->iss_required) {
        op_fail(op, PROV_R_WRONG_ISSUER, "authorization response without iss (RFC 9207)");
        return;
    }
    if (op->error != NULL) {
        /* RFC 6749 §4.1.2.1: access_denied is the person saying no. */
        op_fail(op, strcmp(op->error, "access_denied") == 0 ? PROV_R_CANCELLED : PROV_R_PROVIDER_ERROR,
                "the provider returned an error");
        return;
    }
    if (op->f.code_verifier == NULL) {
        op_fail(op, PROV_R_MALFORMED, "the attempt has no PKCE verifier");
        return;
    }
    h2o_mem_pool_t *pool = &op->r->req->pool;
    size_t n = strlen(op->code) * 3 + strlen(op->f.redirect_uri) * 3 + strlen(op->f.code_verifier) + 128;
    char *form = gw_req_alloc(op->r, n);
    snprintf(form, n, "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s",
             gw_url_encode(pool, op->code, strlen(op->code)).base,
             gw_url_encode(pool, op->f.redirect_uri, strlen(op->f.redirect_uri)).base, op->f.code_verifier);
    post_authenticated(op, op->token_ep, op->token_ep, form, on_token);
}

static void ida_finish(prov_provider_t *p, gw_req_t *r, const prov_finish_t *f, prov_finish_cb cb, void *data)
{
    op_t *op = op_new(p, r, data);
    op->f = *f;
    op->finish_cb = cb;
    h2o_iovec_t code = {NULL, 0}, error = {NULL, 0}, iss = {NULL, 0};
    gw_err_t err;
    if (gw_kvs_get_once(f->params, "error", &error, &err) != 0 ||
        gw_kvs_get_once(f->params, "code", &code, &err) != 0 ||
        gw_kvs_get_once(f->params, "iss", &iss, &err) != 0) {
        op_fail(op, PROV_R_MALFORMED, "repeated parameter");
        return;
    }
    /* RFC 9207 §2.4: iss, when present, must be exactly the issuer this
     * attempt was sent to (simple string comparison), error or not. */
    if (iss.base != NULL && !h2o_memis(iss.base, iss.len, p->cfg->issuer, strlen(p->cfg->issuer))) {
        op_fail(op, PROV_R_WRONG_ISSUER, "authorization response iss is another issuer (RFC 9207)");
        return;
    }
    op->has_iss = iss.base != NULL;
    if (error.base != NULL) {
        op->error = error.len <= 64 ? gw_req_strdup(r, error.base, error.len).base : "invalid_request";
    } else if (code.base == NULL || code.len == 0 || code.len > 2048) {
        op_fail(op, PROV_R_MALFORMED, "no code");
        return;
    } else {
        op->code = gw_req_strdup(r, code.base, code.len).base;
    }
    with_discovery(op, finish_discovered);
}

const prov_ops_t prov_oidc_ida_ops = {"oidc-ida", ida_init, ida_begin, ida_finish, ida_describe, ida_dispose};
