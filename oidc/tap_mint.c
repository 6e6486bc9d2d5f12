/* Minting a TAP: the secret is drawn here, only its keyed hash goes to
 * PostgreSQL (tap_issue, which replaces the user's active TAP and records
 * tap.issued / tap.replaced in the same statement), and the text is handed
 * to the caller once, then wiped. Used by the admin API and by recovery
 * (issue 7) through oidc_tap_mint (oidc/internal.h). */
#include <stdio.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/log.h"
#include "oidc/tap_internal.h"

typedef struct {
    oidc_tap_minted_cb cb;
    void *data;
    char tap[OIDC_TAP_LENGTH_MAX + 1];
    size_t len;
} mint_t;

/* The request's pool is freed without the callback when the client goes
 * away first: the TAP is wiped then too. */
static void mint_dispose(void *p)
{
    mint_t *m = p;
    gw_wipe(m->tap, sizeof(m->tap));
}

static void on_issued(gw_req_t *r, void *data, PGresult *res, const gw_err_t *err)
{
    mint_t *m = data;
    /* Everything the callback needs is copied out of `m` first: it replies,
     * and a reply may free the request's pool (and `m`) before it returns. */
    oidc_tap_minted_cb cb = m->cb;
    void *cb_data = m->data;
    oidc_tap_minted_t out;
    memset(&out, 0, sizeof(out));
    oidc_tap_format(m->tap, m->len, out.tap);
    gw_wipe(m->tap, sizeof(m->tap));
    gw_err_t e;
    const char *status = res != NULL && PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
    if (res == NULL) {
        cb(r, cb_data, NULL, err);
    } else if (status != NULL &&
               (strcmp(status, "expired") == 0 || strcmp(status, "wrong_state") == 0 ||
                /* recovery_issue_tap: the recovery policy no longer allows it */
                strcmp(status, "recovery_disabled") == 0 || strcmp(status, "evaluation_mode") == 0 ||
                strcmp(status, "provider_not_allowed") == 0)) {
        GW_ERR(&e, GW_E_CONFLICT, "the recovery attempt is no longer waiting for its TAP");
        cb(r, cb_data, NULL, &e);
    } else if (status == NULL || strcmp(status, "ok") != 0) {
        GW_ERR(&e, GW_E_NOT_FOUND, "no such active user");
        cb(r, cb_data, NULL, &e);
    } else {
        snprintf(out.id, sizeof(out.id), "%s", store_value(res, 0, 1 + OIDC_TAP_COL_ID));
        snprintf(out.expires, sizeof(out.expires), "%s", store_value(res, 0, 1 + OIDC_TAP_COL_EXPIRES));
        out.res = res;
        cb(r, cb_data, &out, NULL);
    }
    gw_wipe(out.tap, sizeof(out.tap));
}

void oidc_tap_mint(gw_req_t *r, const oidc_tap_mint_t *req, oidc_tap_minted_cb cb, void *data)
{
    gw_err_t e;
    if (req->user_id == NULL || !oidc_uuid_ok(req->user_id, strlen(req->user_id)) ||
        req->lifetime_minutes < OIDC_TAP_LIFETIME_MIN || req->lifetime_minutes > OIDC_TAP_LIFETIME_MAX ||
        req->length < OIDC_TAP_LENGTH_MIN || req->length > OIDC_TAP_LENGTH_MAX || req->actor == NULL ||
        (req->recovery_attempt_id != NULL &&
         !oidc_uuid_ok(req->recovery_attempt_id, strlen(req->recovery_attempt_id)))) {
        GW_ERR(&e, GW_E_INVALID_REQUEST, "TAP parameters out of bounds");
        cb(r, data, NULL, &e);
        return;
    }
    mint_t *m = h2o_mem_alloc_shared(&r->req->pool, sizeof(*m), mint_dispose);
    memset(m, 0, sizeof(*m));
    m->cb = cb;
    m->data = data;
    m->len = (size_t)req->length;
    oidc_tap_generate(m->len, m->tap);
    char hash[GW_SECRET_HASH_HEX_LEN + 1], start[32], lifetime[16], length[16];
    oidc_tap_hash_hex(m->tap, m->len, hash);
    if (req->start != 0)
        oidc_rfc3339_format(req->start, start);
    snprintf(lifetime, sizeof(lifetime), "%d", req->lifetime_minutes);
    snprintf(length, sizeof(length), "%d", req->length);
    const char *params[11] = {req->user_id,
                              hash,
                              req->start != 0 ? start : NULL,
                              lifetime,
                              req->once ? "true" : "false",
                              length,
                              req->actor,
                              req->addr,
                              req->user_agent,
                              req->acr,
                              req->recovery_attempt_id};
    gw_req_query(r, req->recovery_attempt_id != NULL ? &OIDC_STMT_TAP_ISSUE_RECOVERY : &OIDC_STMT_TAP_ISSUE,
                 params, on_issued, m);
}
