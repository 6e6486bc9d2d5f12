/* Validation of an authorization request's parameters: plain data in, a
 * struct out, no HTTP (so every rule is unit-tested, tests/unit/
 * oidc_authorize_params.c).
 *
 * Order matters: client_id and redirect_uri problems are fatal (shown to the
 * user, RFC 6749 §4.1.2.1); response_mode and state are read before any
 * other check so that the error goes back in the right mode with the state
 * (RFC 6749 §4.1.2.1 "state: REQUIRED if present in the request"). */
#include <stdio.h>
#include <string.h>

#include "gateway/crypto.h"
#include "gateway/json.h"
#include "oidc/authorize_internal.h"

static const char *const ERROR_CODES[OIDC_AZE__COUNT] = {
    [OIDC_AZE_NONE] = NULL,
    [OIDC_AZE_INVALID_REQUEST] = "invalid_request",
    [OIDC_AZE_UNAUTHORIZED_CLIENT] = "unauthorized_client",
    [OIDC_AZE_ACCESS_DENIED] = "access_denied",
    [OIDC_AZE_UNSUPPORTED_RESPONSE_TYPE] = "unsupported_response_type",
    [OIDC_AZE_INVALID_SCOPE] = "invalid_scope",
    [OIDC_AZE_SERVER_ERROR] = "server_error",
    [OIDC_AZE_TEMPORARILY_UNAVAILABLE] = "temporarily_unavailable",
    [OIDC_AZE_LOGIN_REQUIRED] = "login_required",
    [OIDC_AZE_INTERACTION_REQUIRED] = "interaction_required",
    [OIDC_AZE_REQUEST_NOT_SUPPORTED] = "request_not_supported",
    [OIDC_AZE_REQUEST_URI_NOT_SUPPORTED] = "request_uri_not_supported",
    [OIDC_AZE_REGISTRATION_NOT_SUPPORTED] = "registration_not_supported",
    [OIDC_AZE_UNMET_AUTHENTICATION_REQUIREMENTS] = "unmet_authentication_requirements",
};

const char *oidc_az_error_code(oidc_az_error_t e)
{
    if (e <= OIDC_AZE_NONE || e >= OIDC_AZE__COUNT)
        return "server_error";
    return ERROR_CODES[e];
}

/* Records the first redirectable error; later ones are ignored. Returns -1. */
static int fail(oidc_az_request_t *a, oidc_az_error_t code, const char *description)
{
    if (a->error == OIDC_AZE_NONE) {
        a->error = code;
        snprintf(a->error_description, sizeof(a->error_description), "%s", description);
    }
    return -1;
}

/* One optional parameter no longer than `max`; a repeat or an over-long
 * value is invalid_request. */
static int get(oidc_az_request_t *a, const gw_kvs_t *kvs, const char *name, size_t max, h2o_iovec_t *out)
{
    gw_err_t err;
    char msg[160];
    *out = h2o_iovec_init(NULL, 0);
    if (gw_kvs_get_once(kvs, name, out, &err) != 0) {
        snprintf(msg, sizeof(msg), "parameter %s repeated", name);
        return fail(a, OIDC_AZE_INVALID_REQUEST, msg);
    }
    if (out->base != NULL && out->len > max) {
        *out = h2o_iovec_init(NULL, 0);
        snprintf(msg, sizeof(msg), "parameter %s too long", name);
        return fail(a, OIDC_AZE_INVALID_REQUEST, msg);
    }
    return 0;
}

static int is(h2o_iovec_t v, const char *lit)
{
    size_t n = strlen(lit);
    return v.base != NULL && v.len == n && memcmp(v.base, lit, n) == 0;
}

/* schema/002_oidc.sql: clients.id ~ '^[A-Za-z0-9._~-]{1,128}$' */
static int client_id_ok(h2o_iovec_t v)
{
    if (v.len == 0 || v.len > OIDC_AZ_CLIENT_ID_MAX)
        return 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.base[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '~' || c == '-'))
            return 0;
    }
    return 1;
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
static int scope_char_ok(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

/* Checks the scope syntax, drops repeated values and requires openid (OIDC
 * Core §3.1.2.1: "OpenID Connect requests MUST contain the openid scope
 * value"). Values must be among OIDC_SCOPES_SUPPORTED and not API scopes
 * (OIDC_SCOPES_API); whether the client may ask for them is checked against
 * its registration later. */
static int parse_scope(h2o_mem_pool_t *pool, oidc_az_request_t *a, h2o_iovec_t v)
{
    if (v.base == NULL)
        return fail(a, OIDC_AZE_INVALID_SCOPE, "scope is required and must include openid");
    char *out = h2o_mem_alloc_pool(pool, v.len + 1);
    size_t n = 0, values = 0;
    int openid = 0;
    for (size_t i = 0; i <= v.len;) {
        size_t j = i;
        while (j < v.len && v.base[j] != ' ')
            j++;
        if (j == i)
            return fail(a, OIDC_AZE_INVALID_SCOPE, "scope values are separated by single spaces");
        for (size_t k = i; k < j; k++)
            if (!scope_char_ok((unsigned char)v.base[k]))
                return fail(a, OIDC_AZE_INVALID_SCOPE, "scope has a character RFC 6749 §3.3 does not allow");
        char tok[OIDC_AZ_SCOPE_MAX + 1];
        size_t len = j - i;
        if (len > OIDC_AZ_SCOPE_MAX)
            return fail(a, OIDC_AZE_INVALID_SCOPE, "scope too long");
        memcpy(tok, v.base + i, len);
        tok[len] = '\0';
        if (!oidc_scope_has(OIDC_SCOPES_SUPPORTED, strlen(OIDC_SCOPES_SUPPORTED), tok))
            return fail(a, OIDC_AZE_INVALID_SCOPE, "scope has an unsupported value");
        if (oidc_scope_has(OIDC_SCOPES_API, strlen(OIDC_SCOPES_API), tok))
            return fail(
                a, OIDC_AZE_INVALID_SCOPE,
                "scim, scim.read and admin are granted to clients (client_credentials), not at sign-in");
        if (strcmp(tok, "openid") == 0)
            openid = 1;
        int seen = oidc_scope_has(out, n, tok);
        if (!seen) {
            if (++values > OIDC_AZ_SCOPE_VALUES_MAX)
                return fail(a, OIDC_AZE_INVALID_SCOPE, "too many scope values");
            if (n > 0)
                out[n++] = ' ';
            memcpy(out + n, v.base + i, len);
            n += len;
        }
        if (j == v.len)
            break;
        i = j + 1;
        if (i == v.len)
            return fail(a, OIDC_AZE_INVALID_SCOPE, "scope values are separated by single spaces");
    }
    out[n] = '\0';
    if (!openid)
        return fail(a, OIDC_AZE_INVALID_SCOPE, "scope must include openid");
    a->scope = h2o_iovec_init(out, n);
    return 0;
}

/* OIDC Core §3.1.2.1 prompt: space-delimited, case-sensitive; "If this
 * parameter contains none with any other value, an error is returned."
 * consent: the client was registered by an administrator of the
 * organisation, which is where consent for its scopes is given, so there is
 * nothing more to ask and the value is accepted. select_account: one browser
 * has one session here, so choosing an account means signing in again; it is
 * handled as login. Values this specification does not define are refused. */
static int parse_prompt(oidc_az_request_t *a, h2o_iovec_t v)
{
    if (v.base == NULL)
        return 0;
    unsigned bits = 0;
    for (size_t i = 0; i <= v.len;) {
        size_t j = i;
        while (j < v.len && v.base[j] != ' ')
            j++;
        h2o_iovec_t t = h2o_iovec_init(v.base + i, j - i);
        if (is(t, "none"))
            bits |= OIDC_PROMPT_NONE;
        else if (is(t, "login"))
            bits |= OIDC_PROMPT_LOGIN;
        else if (is(t, "consent"))
            bits |= OIDC_PROMPT_CONSENT;
        else if (is(t, "select_account"))
            bits |= OIDC_PROMPT_SELECT_ACCOUNT;
        else
            return fail(a, OIDC_AZE_INVALID_REQUEST, "prompt has an unsupported value");
        i = j + 1;
        if (j == v.len)
            break;
    }
    if ((bits & OIDC_PROMPT_NONE) && bits != OIDC_PROMPT_NONE)
        return fail(a, OIDC_AZE_INVALID_REQUEST, "prompt none cannot be combined with another value");
    a->prompt = bits;
    return 0;
}

/* OIDC Core §3.1.2.1 max_age: a non-negative integer of seconds. Digits only
 * (no sign, no spaces), at most OIDC_AZ_MAX_AGE_MAX. */
static int parse_max_age(oidc_az_request_t *a, h2o_iovec_t v)
{
    a->max_age = -1;
    if (v.base == NULL)
        return 0;
    if (v.len == 0 || v.len > 10)
        return fail(a, OIDC_AZE_INVALID_REQUEST, "max_age must be a non-negative integer");
    int64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.base[i] < '0' || v.base[i] > '9')
            return fail(a, OIDC_AZE_INVALID_REQUEST, "max_age must be a non-negative integer");
        n = n * 10 + (v.base[i] - '0');
    }
    if (n > OIDC_AZ_MAX_AGE_MAX)
        return fail(a, OIDC_AZE_INVALID_REQUEST, "max_age is too large");
    a->max_age = n;
    return 0;
}

/* RFC 7636 §4.2-4.3 with S256 only (RFC 9700 §2.1.1: "plain" is not to be
 * used): the challenge is BASE64URL(SHA256(verifier)), exactly 43 characters
 * of base64url that decode to 32 bytes. */
static int parse_pkce(oidc_az_request_t *a, h2o_iovec_t challenge, h2o_iovec_t method)
{
    if (challenge.base == NULL)
        return fail(a, OIDC_AZE_INVALID_REQUEST, "code_challenge is required (PKCE, RFC 7636)");
    if (method.base == NULL)
        return fail(a, OIDC_AZE_INVALID_REQUEST, "code_challenge_method is required and must be S256");
    if (!is(method, "S256"))
        return fail(a, OIDC_AZE_INVALID_REQUEST, "code_challenge_method must be S256");
    uint8_t raw[GW_B64_DECODED_MAX(GW_B64URL_LEN(GW_SHA256_LEN))];
    size_t rawlen = 0;
    if (challenge.len != GW_B64URL_LEN(GW_SHA256_LEN) ||
        gw_b64url_decode(challenge.base, challenge.len, raw, &rawlen) != 0 || rawlen != GW_SHA256_LEN)
        return fail(a, OIDC_AZE_INVALID_REQUEST, "code_challenge must be 43 base64url characters (S256)");
    a->code_challenge = challenge;
    return 0;
}

/* Members of a claims request element: null or an object whose known members
 * have the right types (OIDC Core §5.5.1: essential is a boolean, value a
 * string or other JSON value, values an array). verified_claims (OpenID
 * Connect for Identity Assurance) may also be an array of such objects. */
static int claim_request_ok(const char *name, yajl_val v)
{
    if (v == NULL || YAJL_IS_NULL(v))
        return 1;
    if (YAJL_IS_ARRAY(v) && strcmp(name, "verified_claims") == 0) {
        for (size_t i = 0; i < YAJL_GET_ARRAY(v)->len; i++)
            if (!YAJL_IS_OBJECT(YAJL_GET_ARRAY(v)->values[i]))
                return 0;
        return 1;
    }
    if (!YAJL_IS_OBJECT(v))
        return 0;
    bool b;
    if (gw_json_get_bool(v, "essential", &b) == GW_JSON_WRONG_TYPE)
        return 0;
    yajl_val values = gw_json_get(v, "values");
    if (values != NULL && !YAJL_IS_ARRAY(values))
        return 0;
    return 1;
}

static int acr_known(yajl_val v)
{
    static const char *const KNOWN[] = {OIDC_ACR_PASSWORD, OIDC_ACR_MFA, OIDC_ACR_PHISHING_RESISTANT,
                                        OIDC_ACR_VERIFIED_RECOVERY};
    for (size_t i = 0; YAJL_IS_STRING(v) && i < sizeof(KNOWN) / sizeof(KNOWN[0]); i++)
        if (strcmp(v->u.string, KNOWN[i]) == 0)
            return 1;
    return 0;
}

/* OIDC Core §5.5.1.1: an essential acr with value or values must be met by
 * one of them, "If this is an Essential Claim and the requirement cannot be
 * met, then the Authorization Server MUST treat that outcome as a failed
 * authentication attempt". 1 when one names only values we never assert
 * (oidc/acr.c judges the ones we know, which a sign-in can reach). */
static int essential_acr_unmeetable(yajl_val root)
{
    for (size_t m = 0; m < OIDC_ACR_CLAIM_MEMBERS; m++) {
        yajl_val acr = oidc_acr_essential(root, m);
        if (acr == NULL)
            continue;
        yajl_val one = gw_json_get(acr, "value"), values = gw_json_get(acr, "values");
        if (one == NULL && values == NULL)
            continue; /* any acr will do */
        int met = acr_known(one);
        for (size_t i = 0; YAJL_IS_ARRAY(values) && i < YAJL_GET_ARRAY(values)->len && !met; i++)
            met = acr_known(YAJL_GET_ARRAY(values)->values[i]);
        if (!met)
            return 1;
    }
    return 0;
}

/* OIDC Core §5.5: a JSON object; members userinfo and id_token are objects
 * of claim requests; other members are ignored. */
static int parse_claims(h2o_mem_pool_t *pool, oidc_az_request_t *a, h2o_iovec_t v)
{
    if (v.base == NULL)
        return 0;
    gw_err_t err;
    gw_json_limits_t limits = {
        .max_bytes = OIDC_AZ_CLAIMS_MAX, .max_depth = OIDC_AZ_CLAIMS_DEPTH, .require_object = true};
    yajl_val root = gw_json_parse_pool(pool, v.base, v.len, &limits, &err);
    if (root == NULL)
        return fail(a, OIDC_AZE_INVALID_REQUEST, "claims is not a valid JSON object");
    static const char *const MEMBERS[] = {"userinfo", "id_token"};
    for (size_t m = 0; m < 2; m++) {
        yajl_val obj = gw_json_get(root, MEMBERS[m]);
        if (obj == NULL)
            continue;
        if (!YAJL_IS_OBJECT(obj))
            return fail(a, OIDC_AZE_INVALID_REQUEST, "claims members userinfo and id_token must be objects");
        for (size_t i = 0; i < YAJL_GET_OBJECT(obj)->len; i++)
            if (!claim_request_ok(YAJL_GET_OBJECT(obj)->keys[i], YAJL_GET_OBJECT(obj)->values[i]))
                return fail(a, OIDC_AZE_INVALID_REQUEST, "claims has a malformed claim request");
    }
    if (essential_acr_unmeetable(root))
        return fail(a, OIDC_AZE_UNMET_AUTHENTICATION_REQUIREMENTS,
                    "the essential acr names no value this server asserts");
    /* §5.5.1: a sub value in the id_token member names the End-User. */
    yajl_val sub = gw_json_get(gw_json_get(gw_json_get(root, "id_token"), "sub"), "value");
    if (sub != NULL) {
        if (!YAJL_IS_STRING(sub))
            return fail(a, OIDC_AZE_INVALID_REQUEST, "claims id_token sub value must be a string");
        a->required_sub = h2o_iovec_init(sub->u.string, strlen(sub->u.string)); /* the tree is the pool's */
    }
    a->claims = v;
    return 0;
}

/* The sub of an id_token_hint names the End-User too. The hint only ever
 * narrows who may answer, so its signature need not be checked here: a
 * forged one can only make the request unanswerable. A hint whose payload
 * cannot be read is ignored, as before. */
static int parse_id_token_hint(h2o_mem_pool_t *pool, oidc_az_request_t *a, h2o_iovec_t v)
{
    gw_jws_t jws;
    gw_err_t err;
    if (v.base == NULL || gw_jws_parse(v.base, v.len, &jws, &err) != 0)
        return 0;
    gw_json_limits_t limits = {.max_bytes = GW_JWS_MAX_LEN, .max_depth = 8, .require_object = true};
    /* The tree lives in the pool, so sub outlives the disposed JWS. */
    const char *sub =
        gw_json_str(gw_json_parse_pool(pool, jws.payload, jws.payload_len, &limits, &err), "sub");
    gw_jws_dispose(&jws);
    if (sub == NULL)
        return 0;
    if (a->required_sub.base != NULL && strcmp(a->required_sub.base, sub) != 0)
        return fail(a, OIDC_AZE_INVALID_REQUEST, "id_token_hint and claims name different users");
    a->required_sub = h2o_iovec_init(sub, strlen(sub));
    return 0;
}

/* Space-separated tokens of visible ASCII (acr_values, ui_locales). */
static int tokens_ok(h2o_iovec_t v)
{
    for (size_t i = 0; i < v.len; i++)
        if ((unsigned char)v.base[i] < 0x20 || (unsigned char)v.base[i] > 0x7E)
            return 0;
    return 1;
}

int oidc_az_parse(h2o_mem_pool_t *pool, const gw_kvs_t *kvs, oidc_az_request_t *out, char *fatal,
                  size_t fatal_size)
{
    gw_err_t err;
    memset(out, 0, sizeof(*out));
    out->max_age = -1;

    /* Fatal: who the client is and where it wants the answer. */
    if (gw_kvs_get_once(kvs, "client_id", &out->client_id, &err) != 0) {
        snprintf(fatal, fatal_size, "The parameter client_id is repeated.");
        return -1;
    }
    if (out->client_id.base == NULL || !client_id_ok(out->client_id)) {
        snprintf(fatal, fatal_size, "The request has no valid client_id.");
        return -1;
    }
    /* OIDC Core §3.1.2.1: redirect_uri is REQUIRED. */
    if (gw_kvs_get_once(kvs, "redirect_uri", &out->redirect_uri, &err) != 0) {
        snprintf(fatal, fatal_size, "The parameter redirect_uri is repeated.");
        return -1;
    }
    if (out->redirect_uri.base == NULL || out->redirect_uri.len > OIDC_AZ_URI_MAX) {
        snprintf(fatal, fatal_size, "The request has no valid redirect_uri.");
        return -1;
    }

    /* How errors go back. */
    h2o_iovec_t v;
    if (get(out, kvs, "response_mode", 32, &v) == 0 && v.base != NULL) {
        if (is(v, "form_post"))
            out->response_mode = OIDC_RM_FORM_POST;
        else if (!is(v, "query"))
            fail(out, OIDC_AZE_INVALID_REQUEST, "response_mode must be query or form_post");
    }
    get(out, kvs, "state", OIDC_AZ_STATE_MAX, &out->state);

    /* OIDC Core §6: request objects are not supported (§3.1.2.6 codes). */
    if (get(out, kvs, "request", SIZE_MAX, &v) == 0 && v.base != NULL)
        fail(out, OIDC_AZE_REQUEST_NOT_SUPPORTED, "request objects are not supported");
    if (get(out, kvs, "request_uri", SIZE_MAX, &v) == 0 && v.base != NULL)
        fail(out, OIDC_AZE_REQUEST_URI_NOT_SUPPORTED, "request_uri is not supported");
    if (get(out, kvs, "registration", SIZE_MAX, &v) == 0 && v.base != NULL)
        fail(out, OIDC_AZE_REGISTRATION_NOT_SUPPORTED, "registration is not supported");

    /* RFC 6749 §4.1.1: response_type REQUIRED; the code flow only. */
    if (get(out, kvs, "response_type", 64, &v) == 0) {
        if (v.base == NULL)
            fail(out, OIDC_AZE_INVALID_REQUEST, "response_type is required");
        else if (!is(v, "code"))
            fail(out, OIDC_AZE_UNSUPPORTED_RESPONSE_TYPE, "only response_type code is supported");
    }

    if (get(out, kvs, "scope", OIDC_AZ_SCOPE_MAX, &v) == 0)
        parse_scope(pool, out, v);

    h2o_iovec_t challenge, method;
    if (get(out, kvs, "code_challenge", 128, &challenge) == 0 &&
        get(out, kvs, "code_challenge_method", 16, &method) == 0)
        parse_pkce(out, challenge, method);

    get(out, kvs, "nonce", OIDC_AZ_NONCE_MAX, &out->nonce);
    if (get(out, kvs, "prompt", 64, &v) == 0)
        parse_prompt(out, v);
    if (get(out, kvs, "max_age", 16, &v) == 0)
        parse_max_age(out, v);
    get(out, kvs, "login_hint", OIDC_AZ_LOGIN_HINT_MAX, &out->login_hint);
    if (get(out, kvs, "acr_values", OIDC_AZ_ACR_VALUES_MAX, &out->acr_values) == 0 &&
        out->acr_values.base != NULL && !tokens_ok(out->acr_values)) {
        out->acr_values = h2o_iovec_init(NULL, 0);
        fail(out, OIDC_AZE_INVALID_REQUEST, "acr_values has a character that is not allowed");
    }
    if (get(out, kvs, "claims", OIDC_AZ_CLAIMS_MAX, &v) == 0)
        parse_claims(pool, out, v);

    /* OIDC Core §3.1.2.1 display: one of four values; no effect on our pages. */
    if (get(out, kvs, "display", 16, &v) == 0 && v.base != NULL && !is(v, "page") && !is(v, "popup") &&
        !is(v, "touch") && !is(v, "wap"))
        fail(out, OIDC_AZE_INVALID_REQUEST, "display has an unsupported value");
    /* Accepted, bounded, not acted upon: ui_locales, claims_locales. */
    get(out, kvs, "ui_locales", OIDC_AZ_LOCALES_MAX, &v);
    get(out, kvs, "claims_locales", OIDC_AZ_LOCALES_MAX, &v);
    if (get(out, kvs, "id_token_hint", GW_JWS_MAX_LEN, &v) == 0)
        parse_id_token_hint(pool, out, v);
    return 0;
}

int oidc_az_session_user_fits(const oidc_az_request_t *a, const char *user_id)
{
    /* OIDC Core §3.1.2.2: "The Authorization Server MUST NOT reply with an
     * ID Token or Access Token for a different user, even if they have an
     * active session with the Authorization Server." */
    return a->required_sub.base == NULL || strcmp(a->required_sub.base, user_id) == 0;
}

int oidc_az_session_fits(const oidc_az_request_t *a, int64_t auth_time, int64_t now)
{
    if (a->prompt & (OIDC_PROMPT_LOGIN | OIDC_PROMPT_SELECT_ACCOUNT))
        return 0;
    if (a->max_age >= 0) {
        /* "If the elapsed time is greater than this value, the OP MUST
         * attempt to actively re-authenticate"; max_age=0 equals
         * prompt=login (Core errata set 2). */
        if (a->max_age == 0 || now - auth_time > a->max_age)
            return 0;
    }
    return 1;
}

/* ---- the stored form ------------------------------------------------------ */

static void kv(gw_jw_t *w, const char *key, h2o_iovec_t v)
{
    if (v.base != NULL)
        gw_jw_kv_strn(w, key, v.base, v.len);
}

h2o_iovec_t oidc_az_to_json(h2o_mem_pool_t *pool, const oidc_az_request_t *a)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    kv(w, "client_id", a->client_id);
    kv(w, "redirect_uri", a->redirect_uri);
    gw_jw_kv_str(w, "response_mode", a->response_mode == OIDC_RM_FORM_POST ? "form_post" : "query");
    kv(w, "state", a->state);
    kv(w, "scope", a->scope);
    kv(w, "nonce", a->nonce);
    kv(w, "code_challenge", a->code_challenge);
    gw_jw_kv_int64(w, "prompt", a->prompt);
    gw_jw_kv_int64(w, "max_age", a->max_age);
    kv(w, "login_hint", a->login_hint);
    kv(w, "acr_values", a->acr_values);
    kv(w, "claims", a->claims); /* as a string: client text is never raw JSON */
    kv(w, "required_sub", a->required_sub);
    kv(w, "stale_session", a->stale_session);
    gw_jw_obj_close(w);
    size_t len = 0;
    const char *buf = gw_jw_buf(w, &len);
    h2o_iovec_t out = buf ? h2o_strdup(pool, buf, len) : h2o_iovec_init(NULL, 0);
    gw_jw_free(w);
    return out;
}

static h2o_iovec_t str(yajl_val root, const char *key)
{
    const char *s = gw_json_str(root, key);
    return s ? h2o_iovec_init(s, strlen(s)) : h2o_iovec_init(NULL, 0);
}

int oidc_az_from_json(h2o_mem_pool_t *pool, const char *json, size_t len, oidc_az_request_t *out)
{
    gw_err_t err;
    memset(out, 0, sizeof(*out));
    gw_json_limits_t limits = {.require_object = true};
    yajl_val root = gw_json_parse_pool(pool, json, len, &limits, &err);
    if (root == NULL)
        return -1;
    int64_t prompt = 0, max_age = -1;
    out->client_id = str(root, "client_id");
    out->redirect_uri = str(root, "redirect_uri");
    const char *mode = gw_json_str(root, "response_mode");
    out->response_mode = mode && strcmp(mode, "form_post") == 0 ? OIDC_RM_FORM_POST : OIDC_RM_QUERY;
    out->state = str(root, "state");
    out->scope = str(root, "scope");
    out->nonce = str(root, "nonce");
    out->code_challenge = str(root, "code_challenge");
    if (gw_json_get_int64(root, "prompt", &prompt) != GW_JSON_OK ||
        gw_json_get_int64(root, "max_age", &max_age) != GW_JSON_OK)
        return -1;
    out->prompt = (unsigned)prompt;
    out->max_age = max_age;
    out->login_hint = str(root, "login_hint");
    out->acr_values = str(root, "acr_values");
    out->claims = str(root, "claims");
    out->required_sub = str(root, "required_sub");
    out->stale_session = str(root, "stale_session");
    if (out->client_id.base == NULL || out->redirect_uri.base == NULL || out->scope.base == NULL ||
        out->code_challenge.base == NULL)
        return -1;
    return 0;
}
