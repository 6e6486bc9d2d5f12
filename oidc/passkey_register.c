/* Adding a passkey on the account page (WebAuthn Level 3 §7.1), as JSON
 * endpoints the page's script calls:
 *   POST /account/security/passkey/options  creation options and a challenge
 *        bound to this user, this session and this browser;
 *   POST /account/security/passkey          the new credential: verified
 *        (methods/), stored with its audit event, and a TAP session lifted
 *        (session_method_registered) in the same statement.
 *
 * Discoverable credentials with user verification are required
 * (residentKey and userVerification "required"), so the passkey signs in
 * without a username; attestation "none" is asked for (we do not need to
 * know the make), and the algorithms offered are ES256, EdDSA and RS256. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/methods_internal.h"

#define CDJ_MAX 4096
#define ATT_MAX (32 * 1024)

typedef struct {
    yajl_val body;
    const char *request; /* authorization request to continue, or NULL */
    const char *name;
    uint8_t challenge[MTH_WA_CHALLENGE_LEN];
    char browser[GW_SECRET_HASH_HEX_LEN + 1];
    oidc_account_t *a;
    /* finish */
    uint8_t *raw_id, *cdj, *att;
    size_t raw_id_len, cdj_len, att_len;
    char *transports; /* PostgreSQL array literal */
} reg_t;

static void unavailable(gw_req_t *r, const gw_err_t *err)
{
    gw_log_write(GW_LOG_ERROR, "passkey", r->id, "database: %s (%s)", err ? err->public : "?",
                 err ? err->detail : "");
    oidc_json_fail(r, 503, "temporarily_unavailable", "try again in a moment");
}

static int csrf_or_reply(gw_req_t *r, reg_t *g)
{
    const char *csrf = gw_json_str(g->body, OIDC_CSRF_FIELD);
    if (csrf == NULL || !oidc_account_csrf_ok(g->a, csrf, strlen(csrf))) {
        oidc_json_fail(r, 403, "invalid_csrf", "the page has expired; reload it and try again");
        return -1;
    }
    if (oidc_browser_binding(r, g->browser) != 0) {
        oidc_json_fail(r, 403, "invalid_csrf", "the page has expired; reload it and try again");
        return -1;
    }
    if (!g->a->may_change) {
        gw_log_write(GW_LOG_WARN, "passkey", r->id, "refused: session %s weaker than the account's methods",
                     g->a->id);
        oidc_json_fail(r, 403, "step_up_required",
                       "sign in with your passkey, or your password and authenticator app, to add a passkey");
        return -1;
    }
    return 0;
}

/* ---- options --------------------------------------------------------------------- */

static void param(gw_jw_t *w, int alg)
{
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "type", "public-key");
    gw_jw_kv_int64(w, "alg", alg);
    gw_jw_obj_close(w);
}

static void too_many(gw_req_t *r, const char *user_id)
{
    gw_log_write(GW_LOG_INFO, "passkey", r->id, "refused: user %s holds the most passkeys already", user_id);
    oidc_json_fail(r, 409, "too_many_passkeys",
                   "your account has as many passkeys as it can hold; to add another, remove one first");
}

/* Row: user name, display name, existing credential ids (hex, comma
 * separated), how many there are. */
static void on_user(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    reg_t *g = data;
    if (res == NULL || PQntuples(res) != 1) {
        unavailable(r, err);
        return;
    }
    if (strtoll(store_value(res, 0, 3), NULL, 10) >= OIDC_PASSKEYS_MAX) {
        too_many(r, g->a->user_id);
        return;
    }
    uint8_t handle[16];
    oidc_uuid_bytes(g->a->user_id, handle);
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "publicKey");
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "challenge", oidc_b64url(r, g->challenge, sizeof(g->challenge)));
    gw_jw_key(w, "rp");
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "id", oidc_rp_id());
    gw_jw_kv_str(w, "name", oidc_rp_id());
    gw_jw_obj_close(w);
    /* WebAuthn §14.6.1: the user handle is an opaque id, not a name or an
     * address: the account's uuid. */
    gw_jw_key(w, "user");
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "id", oidc_b64url(r, handle, sizeof(handle)));
    gw_jw_kv_str(w, "name", store_value(res, 0, 0));
    gw_jw_kv_str(w, "displayName", store_value(res, 0, 1));
    gw_jw_obj_close(w);
    gw_jw_key(w, "pubKeyCredParams");
    gw_jw_arr_open(w);
    param(w, MTH_COSE_ES256);
    param(w, MTH_COSE_EDDSA);
    param(w, MTH_COSE_RS256);
    gw_jw_arr_close(w);
    gw_jw_kv_int64(w, "timeout", OIDC_CHALLENGE_TTL_S * 1000);
    gw_jw_kv_str(w, "attestation", "none");
    gw_jw_key(w, "authenticatorSelection");
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "residentKey", "required");
    gw_jw_kv_bool(w, "requireResidentKey", true);
    gw_jw_kv_str(w, "userVerification", "required");
    gw_jw_obj_close(w);
    /* The same authenticator is not registered twice (§5.4.3). */
    gw_jw_key(w, "excludeCredentials");
    gw_jw_arr_open(w);
    const char *ids = store_value(res, 0, 2);
    while (ids != NULL && *ids != '\0') {
        size_t n = strcspn(ids, ",");
        size_t bytes = n / 2;
        uint8_t *id = gw_req_alloc(r, bytes + 1);
        for (size_t i = 0; i < bytes; i++) {
            char hx[3] = {ids[2 * i], ids[2 * i + 1], 0};
            id[i] = (uint8_t)strtoul(hx, NULL, 16);
        }
        gw_jw_obj_open(w);
        gw_jw_kv_str(w, "type", "public-key");
        gw_jw_kv_str(w, "id", oidc_b64url(r, id, bytes));
        gw_jw_obj_close(w);
        ids += n + (ids[n] == ',');
    }
    gw_jw_arr_close(w);
    gw_jw_obj_close(w);
    gw_jw_obj_close(w);
    gw_reply_jw(r, 200, w);
}

static void on_challenge_stored(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    reg_t *g = data;
    if (oidc_challenge_stored_or_reply(r, res, err) != 0)
        return;
    const char *params[1] = {g->a->user_id};
    gw_req_query(r, &oidc_stmt_register_options, params, on_user, g);
}

static void on_options_account(gw_req_t *r, oidc_account_t *a, void *data)
{
    reg_t *g = data;
    g->a = a;
    if (csrf_or_reply(r, g) != 0)
        return;
    gw_random_bytes(g->challenge, sizeof(g->challenge));
    oidc_challenge_store(r, g->challenge, "create", a->user_id, a->id, OIDC_CONTEXT_ACCOUNT, g->browser,
                         on_challenge_stored, g);
}

static void on_options(gw_req_t *r)
{
    reg_t *g = gw_req_alloc(r, sizeof(*g));
    memset(g, 0, sizeof(*g));
    if (oidc_ceremony_body_or_reply(r, &g->body) != 0)
        return;
    oidc_account_require(r, 1, on_options_account, g);
}

/* ---- the new credential ------------------------------------------------------------ */

static void on_inserted(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    reg_t *g = data;
    if (res == NULL && err != NULL && err->kind == GW_E_CONFLICT) {
        oidc_json_fail(r, 409, "already_registered", "this passkey is already registered");
        return;
    }
    if (res != NULL && PQntuples(res) == 0) {
        too_many(r, g->a->user_id);
        return;
    }
    if (res == NULL || PQntuples(res) != 1) {
        unavailable(r, err);
        return;
    }
    gw_log_write(GW_LOG_INFO, "passkey", r->id, "registered credential %s for user %s",
                 store_value(res, 0, 0), g->a->user_id);
    h2o_iovec_t dest;
    if (g->request != NULL) {
        /* Opened for a pending authorization request (a TAP sign-in sent
         * the user here): carry on with it. */
        dest = oidc_context_destination(r, g->request);
    } else {
        dest = h2o_iovec_init(H2O_STRLIT(OIDC_ACCOUNT_PATH "?m=passkey-added"));
    }
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_strn(w, "redirect", dest.base, dest.len);
    gw_jw_obj_close(w);
    gw_reply_jw(r, 200, w);
}

static char *hex_uuid(gw_req_t *r, const uint8_t b[16])
{
    char *s = gw_req_alloc(r, OIDC_UUID_LEN + 1);
    snprintf(s, OIDC_UUID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return s;
}

static void on_consumed(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    reg_t *g = data;
    if (res == NULL) {
        unavailable(r, err);
        return;
    }
    if (PQntuples(res) != 1 || strcmp(store_value(res, 0, 0), "1") != 0) {
        oidc_json_fail(r, 400, "invalid_challenge",
                       "the challenge is unknown, expired or already used; try again");
        return;
    }
    mth_wa_expect_t e = {oidc_rp_id(),         oidc_rp_origin(), g->challenge,
                         sizeof(g->challenge), g->cdj,           g->cdj_len};
    mth_wa_credential_t c;
    memset(&c, 0, sizeof(c));
    mth_wa_status_t st = mth_wa_verify_registration(&e, g->att, g->att_len, &c);
    if (st != MTH_WA_OK) {
        gw_log_write(GW_LOG_INFO, "passkey", r->id, "registration refused: %s", mth_wa_reason(st));
        mth_wa_credential_free(&c);
        gw_jw_t *w = gw_jw_new();
        gw_jw_obj_open(w);
        gw_jw_kv_str(w, "error", "passkey_refused");
        gw_jw_kv_str(w, "error_description", "the passkey's answer was not valid");
        gw_jw_kv_str(w, "reason", mth_wa_reason(st));
        gw_jw_obj_close(w);
        gw_reply_jw(r, 400, w);
        return;
    }
    /* The id the browser reported must be the one the authenticator attested. */
    if (c.id_len != g->raw_id_len || !gw_ct_equal(c.id, g->raw_id, c.id_len)) {
        mth_wa_credential_free(&c);
        oidc_json_fail(r, 400, "invalid_request", "rawId is not the attested credential id");
        return;
    }
    char count[24], alg[16], most[16];
    snprintf(count, sizeof(count), "%u", c.sign_count);
    snprintf(alg, sizeof(alg), "%d", c.alg);
    snprintf(most, sizeof(most), "%d", OIDC_PASSKEYS_MAX);
    static const uint8_t ZERO[16];
    const char *params[16] = {g->a->user_id,
                              oidc_bytea_encode(r, c.id, c.id_len),
                              oidc_bytea_encode(r, c.public_key_der, c.public_key_der_len),
                              gw_req_strdup(r, alg, strlen(alg)).base,
                              gw_req_strdup(r, count, strlen(count)).base,
                              (c.flags & MTH_WA_FLAG_BE) ? "true" : "false",
                              (c.flags & MTH_WA_FLAG_BS) ? "true" : "false",
                              memcmp(c.aaguid, ZERO, 16) == 0 ? NULL : hex_uuid(r, c.aaguid),
                              g->transports,
                              gw_req_strdup(r, c.fmt, strlen(c.fmt)).base,
                              g->name,
                              g->a->id,
                              oidc_actor(r, g->a->user_id),
                              oidc_req_addr(r),
                              oidc_req_user_agent(r),
                              gw_req_strdup(r, most, strlen(most)).base};
    mth_wa_credential_free(&c);
    gw_req_query(r, &oidc_stmt_passkey_insert, params, on_inserted, g);
}

/* The transports the browser reported (getTransports), as a text[] literal
 * of the values WebAuthn §5.8.4 defines, each once, in the order sent;
 * others are dropped. All six fit the buffer. */
static char *transports(gw_req_t *r, yajl_val list)
{
    static const char *const KNOWN[] = {"usb", "nfc", "ble", "smart-card", "hybrid", "internal"};
    char *out = gw_req_alloc(r, 64);
    size_t n = 0;
    unsigned seen = 0;
    out[n++] = '{';
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < YAJL_GET_ARRAY(list)->len && i < 8; i++) {
        const char *t = YAJL_GET_STRING(YAJL_GET_ARRAY(list)->values[i]);
        for (size_t k = 0; t != NULL && k < sizeof(KNOWN) / sizeof(KNOWN[0]); k++)
            if (!(seen & 1u << k) && strcmp(t, KNOWN[k]) == 0) {
                seen |= 1u << k;
                if (n > 1)
                    out[n++] = ',';
                memcpy(out + n, t, strlen(t));
                n += strlen(t);
            }
    }
    out[n++] = '}';
    out[n] = '\0';
    return out;
}

static void on_finish_account(gw_req_t *r, oidc_account_t *a, void *data)
{
    reg_t *g = data;
    g->a = a;
    if (csrf_or_reply(r, g) != 0)
        return;
    const char *params[4] = {oidc_bytea_encode(r, g->challenge, sizeof(g->challenge)), a->user_id, a->id,
                             g->browser};
    gw_req_query(r, &oidc_stmt_create_consume, params, on_consumed, g);
}

static void on_finish(gw_req_t *r)
{
    reg_t *g = gw_req_alloc(r, sizeof(*g));
    memset(g, 0, sizeof(*g));
    if (oidc_ceremony_body_or_reply(r, &g->body) != 0)
        return;
    yajl_val cred = gw_json_get(g->body, "credential");
    yajl_val resp = gw_json_get(cred, "response");
    const char *type = gw_json_str(cred, "type");
    const char *name = gw_json_str(g->body, "name");
    const char *request = gw_json_str(g->body, "request");
    if (name == NULL || name[0] == '\0')
        name = "Passkey";
    if (request != NULL && request[0] == '\0')
        request = NULL;
    if (type == NULL || strcmp(type, "public-key") != 0 ||
        oidc_b64url_decode_max(r, gw_json_str(cred, "rawId"), MTH_WA_CRED_ID_MAX, &g->raw_id,
                               &g->raw_id_len) != 0 ||
        oidc_b64url_decode_max(r, gw_json_str(resp, "clientDataJSON"), CDJ_MAX, &g->cdj, &g->cdj_len) != 0 ||
        oidc_b64url_decode_max(r, gw_json_str(resp, "attestationObject"), ATT_MAX, &g->att, &g->att_len) !=
            0) {
        oidc_json_fail(r, 400, "invalid_request", "credential is missing or malformed");
        return;
    }
    if (!oidc_name_ok(name, strlen(name)) || (request != NULL && !oidc_uuid_ok(request, strlen(request)))) {
        oidc_json_fail(r, 400, "invalid_request", "name or request is not valid");
        return;
    }
    if (oidc_client_data_challenge(g->cdj, g->cdj_len, g->challenge) != 0) {
        oidc_json_fail(r, 400, "invalid_request", "clientDataJSON has no challenge of ours");
        return;
    }
    g->name = name;
    g->request = request;
    g->transports = transports(r, gw_json_get(resp, "transports"));
    oidc_account_require(r, 1, on_finish_account, g);
}

static gw_route_t g_options = {
    OIDC_ACCOUNT_PATH "/passkey/options", GW_POST, GW_ROUTE_NO_STORE, on_options, NULL, NULL, 0};
static gw_route_t g_finish = {
    OIDC_ACCOUNT_PATH "/passkey", GW_POST, GW_ROUTE_NO_STORE, on_finish, NULL, NULL, 0};

void oidc_passkey_register_register(void)
{
    gw_route_register(&g_options);
    gw_route_register(&g_finish);
}
