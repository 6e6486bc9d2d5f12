/* Adding an authenticator app on the account page (RFC 6238):
 *   POST /account/security/totp          a new secret, sealed at rest
 *                                        (totp_secret.c), shown once as an
 *                                        otpauth:// link and a QR code;
 *   POST /account/security/totp/confirm  one valid code confirms it.
 * Until confirmed it is not a sign-in method; it may be confirmed for half
 * an hour with at most ten tries (methods_db.c). The confirming code's step
 * is remembered, so that code cannot also sign in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/methods_internal.h"

typedef struct {
    h2o_iovec_t csrf;
    const char *request; /* uuid or NULL */
    const char *name;
    char id[OIDC_UUID_LEN + 1];
    char code[OIDC_CODE_MAX + 1];
    size_t code_len;
    uint8_t key[MTH_TOTP_SECRET_LEN];
    oidc_account_t *a;
} enrol_t;

static void unavailable(gw_req_t *r, enrol_t *e, const gw_err_t *err)
{
    gw_wipe(e->key, sizeof(e->key));
    gw_log_write(GW_LOG_ERROR, "account", r->id, "totp: %s (%s)", err ? err->public : "?",
                 err ? err->detail : "");
    gw_reply_header(r, "retry-after", H2O_STRLIT("5"));
    oidc_error_page(r, 503, "Unavailable", "This page is unavailable right now. Try again in a moment.");
}

/* The enrolment page for e->key (wiped here). */
static void enrol_page(gw_req_t *r, enrol_t *e, const char *error)
{
    char *uri = mth_totp_uri(oidc_rp_id(), e->a->user_name, e->key, sizeof(e->key));
    gw_wipe(e->key, sizeof(e->key));
    if (uri == NULL) {
        oidc_error_page(r, 500, "Something went wrong", "The authenticator app link could not be made.");
        return;
    }
    char *svg = mth_qr_svg(uri, "QR code of the authenticator app link");
    oidc_totp_enrol_view_t v = {e->id, uri, svg, e->a->csrf, e->request, error};
    h2o_iovec_t page = oidc_page_totp_enrol(&r->req->pool, &v);
    gw_wipe(uri, strlen(uri));
    free(uri);
    if (svg != NULL) {
        gw_wipe(svg, strlen(svg));
        free(svg);
    }
    /* For a pending request, confirming goes on to it (resume), which may
     * answer with the relying party's redirect. */
    oidc_page_reply_for_request(r, e->request, page);
}

static int csrf_or_page(gw_req_t *r, const oidc_account_t *a, const enrol_t *e)
{
    if (oidc_account_csrf_ok(a, e->csrf.base, e->csrf.len) && !a->may_change) {
        gw_log_write(GW_LOG_WARN, "account", r->id, "refused: session %s weaker than the account's methods",
                     a->id);
        oidc_account_back(r, e->request, "stronger-first");
        return -1;
    }
    if (oidc_account_csrf_ok(a, e->csrf.base, e->csrf.len))
        return 0;
    gw_log_write(GW_LOG_WARN, "account", r->id, "refused: CSRF token missing or wrong");
    oidc_error_page(r, 403, "Form expired",
                    "This form has expired or did not come from this site. Go back, reload and try again.");
    return -1;
}

/* ---- POST /account/security/totp ------------------------------------------------ */

static void on_created(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    enrol_t *e = data;
    if (res == NULL) {
        unavailable(r, e, err);
        return;
    }
    if (PQntuples(res) != 1) {
        gw_wipe(e->key, sizeof(e->key));
        gw_log_write(GW_LOG_INFO, "account", r->id, "totp: user %s holds the most apps already",
                     e->a->user_id);
        oidc_account_back(r, e->request, "too-many-apps");
        return;
    }
    gw_log_write(GW_LOG_INFO, "account", r->id, "totp %s enrolment started for user %s", e->id,
                 e->a->user_id);
    enrol_page(r, e, NULL);
}

static void on_add_account(gw_req_t *r, oidc_account_t *a, void *data)
{
    enrol_t *e = data;
    e->a = a;
    if (csrf_or_page(r, a, e) != 0)
        return;
    gw_err_t err;
    char *sealed = NULL;
    oidc_uuid_new(e->id);
    gw_random_bytes(e->key, sizeof(e->key));
    if (oidc_totp_seal(e->id, e->key, sizeof(e->key), &sealed, &err) != 0) {
        unavailable(r, e, &err);
        return;
    }
    char most[16];
    snprintf(most, sizeof(most), "%d", OIDC_TOTP_APPS_MAX);
    const char *params[5] = {e->id, a->user_id, gw_req_strdup(r, sealed, strlen(sealed)).base, e->name,
                             gw_req_strdup(r, most, strlen(most)).base};
    free(sealed);
    gw_req_query(r, &oidc_stmt_totp_create, params, on_created, e);
}

/* ---- POST /account/security/totp/confirm ---------------------------------------- */

static void on_confirmed(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    enrol_t *e = data;
    if (res == NULL) {
        unavailable(r, e, err);
        return;
    }
    if (PQntuples(res) != 1) {
        oidc_account_back(r, e->request, "gone");
        return;
    }
    const char *lifted = store_value(res, 0, 1);
    gw_log_write(GW_LOG_INFO, "account", r->id, "totp %s confirmed for user %s%s", e->id, e->a->user_id,
                 lifted && lifted[0] == 't' ? " (registration session now full)" : "");
    /* Opened for a pending authorization request (a TAP sign-in sent the
     * user here): carry on with it. */
    if (e->request != NULL) {
        h2o_iovec_t dest = oidc_context_destination(r, e->request);
        gw_reply_redirect(r, 303, dest.base, dest.len);
        return;
    }
    oidc_account_back(r, NULL, "totp-added");
}

static void on_enrolment(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    enrol_t *e = data;
    if (res == NULL) {
        unavailable(r, e, err);
        return;
    }
    if (PQntuples(res) != 1 || oidc_totp_open(e->id, store_value(res, 0, 0), e->key) != 0) {
        oidc_account_back(r, e->request, "expired");
        return;
    }
    uint64_t step = mth_totp_verify(e->key, sizeof(e->key), e->code, e->code_len, time(NULL), 0);
    gw_wipe(e->code, sizeof(e->code));
    if (step == 0) {
        enrol_page(r, e, "That code did not work. Enter the code the app shows now.");
        return;
    }
    gw_wipe(e->key, sizeof(e->key));
    char step_text[24];
    snprintf(step_text, sizeof(step_text), "%llu", (unsigned long long)step);
    const char *params[7] = {e->id,
                             e->a->user_id,
                             gw_req_strdup(r, step_text, strlen(step_text)).base,
                             e->a->id,
                             oidc_actor(r, e->a->user_id),
                             oidc_req_addr(r),
                             oidc_req_user_agent(r)};
    gw_req_query(r, &oidc_stmt_totp_confirm, params, on_confirmed, e);
}

static void on_confirm_account(gw_req_t *r, oidc_account_t *a, void *data)
{
    enrol_t *e = data;
    e->a = a;
    if (csrf_or_page(r, a, e) != 0)
        return;
    const char *params[2] = {e->id, a->user_id};
    gw_req_query(r, &oidc_stmt_totp_enrol_load, params, on_enrolment, e);
}

/* ---- the forms ---------------------------------------------------------------------- */

static enrol_t *read_form(gw_req_t *r, int confirm)
{
    gw_kvs_t form;
    gw_err_t err;
    h2o_iovec_t csrf, request, name, id, code;
    if (gw_req_form_or_reply(r, &form) != 0)
        return NULL;
    if (gw_kvs_get_once(&form, OIDC_CSRF_FIELD, &csrf, &err) ||
        gw_kvs_get_once(&form, "request", &request, &err) || gw_kvs_get_once(&form, "name", &name, &err) ||
        gw_kvs_get_once(&form, "id", &id, &err) || gw_kvs_get_once(&form, "code", &code, &err) ||
        (request.base != NULL && request.len > 0 && !oidc_uuid_ok(request.base, request.len)) ||
        (!confirm && !oidc_name_ok(name.base, name.len)) ||
        (confirm && (!oidc_uuid_ok(id.base, id.len) || code.base == NULL || code.len > OIDC_CODE_MAX))) {
        oidc_error_page(r, 400, "Bad request",
                        "The form was not filled in correctly. Go back and try again.");
        return NULL;
    }
    enrol_t *e = gw_req_alloc(r, sizeof(*e));
    memset(e, 0, sizeof(*e));
    e->csrf = csrf;
    e->request = request.base && request.len ? gw_req_strdup(r, request.base, request.len).base : NULL;
    if (!confirm)
        e->name = gw_req_strdup(r, name.base, name.len).base;
    if (confirm) {
        memcpy(e->id, id.base, OIDC_UUID_LEN);
        memcpy(e->code, code.base, code.len);
        e->code_len = code.len;
    }
    return e;
}

static void on_add(gw_req_t *r)
{
    enrol_t *e = read_form(r, 0);
    if (e != NULL)
        oidc_account_require(r, 0, on_add_account, e);
}

static void on_confirm(gw_req_t *r)
{
    enrol_t *e = read_form(r, 1);
    if (e != NULL)
        oidc_account_require(r, 0, on_confirm_account, e);
}

static gw_route_t g_add = {
    OIDC_ACCOUNT_PATH "/totp", GW_POST, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_add, NULL, NULL, 0};
static gw_route_t g_confirm = {
    OIDC_ACCOUNT_PATH "/totp/confirm", GW_POST, GW_ROUTE_HTML | GW_ROUTE_NO_STORE, on_confirm, NULL, NULL, 0};

void oidc_totp_enrol_register(void)
{
    gw_route_register(&g_add);
    gw_route_register(&g_confirm);
}
