/* Declarations shared by the recovery area's files only (oidc/recovery*.c):
 * verified self-service recovery as an authentication context (issue 7;
 * DESIGN.md "Recovery as an authentication context").
 *
 *   recovery.c        routes: GET|POST /recover, GET /recover/dev,
 *                     GET|POST /recover/callback; starting an attempt and
 *                     handing the person to the provider
 *   recovery_flow.c   after the provider: evidence, matching, webhook, TAP
 *   recovery_pages.c  the pages (pure builders)
 *   recovery_notify.c the signed notification event
 *   recovery_admin.c  GET /admin/v1/recovery/providers
 *   recovery_db.c     SQL (schema/011_recovery.sql)
 *
 * Matching itself is recovery/ (recovery/recovery.h); providers are
 * providers/ (providers/provider.h). */
#ifndef REGAIN_OIDC_RECOVERY_INTERNAL_H
#define REGAIN_OIDC_RECOVERY_INTERNAL_H

#include "gateway/store.h"
#include "oidc/signin_internal.h"
#include "providers/provider.h"
#include "recovery/recovery.h"

#define OIDC_RECOVERY_PATH          "/recover"
#define OIDC_RECOVERY_DEV_PATH      "/recover/dev"
#define OIDC_RECOVERY_CALLBACK_PATH "/recover/callback"
/* Binds an attempt to the browser that started it: the provider's redirect
 * must come back to the same browser (a login CSRF would otherwise let an
 * attacker finish a victim's attempt, or the reverse). */
#define OIDC_RECOVERY_COOKIE "__Host-regain-recovery"
/* More candidates than this for one birthdate is treated as ambiguous. */
#define OIDC_RECOVERY_MAX_CANDIDATES 50

/* One attempt as the flow carries it between callbacks (request pool). */
typedef struct {
    char id[OIDC_UUID_LEN + 1];
    char request_id[OIDC_UUID_LEN + 1]; /* "" when none */
    char provider_id[RCV_NAME_MAX];
    char *named_username; /* NULL when none */
    char *named_user;     /* uuid or NULL */
    char *nonce, *verifier;
    int evaluation;
    char peer[64];
    const char *user_agent;
    rcv_policy_t policy;
    prov_provider_t *provider;
    prov_identity_t identity; /* copied from the provider's callback; disposed at the end */
    int has_identity;
    char *claims_json; /* IDA verified_claims stored for the match */
    rcv_decision_t decision;
    const rcv_candidate_t *matched;
    rcv_candidate_t *cands;
    size_t ncands;
    char *provider_ok; /* per candidate: the provider is allowed for its groups */
} oidc_recovery_t;

/* ---- flow (recovery_flow.c) ------------------------------------------------- */

/* Continues an attempt whose provider returned `id` (or failed with
 * `reason`): verified -> evidence -> matching -> TAP or the outcome page. */
void oidc_recovery_finished(gw_req_t *r, oidc_recovery_t *a, const prov_identity_t *id, const char *reason);

/* Moves the attempt (recovery_move) and then shows the neutral outcome. */
void oidc_recovery_refuse(gw_req_t *r, oidc_recovery_t *a, const char *from, const char *to,
                          const char *reason);

/* Reads the policy from a `SELECT recovery_policy()::text` row; -1 logs. */
int oidc_recovery_policy_read(gw_req_t *r, PGresult *res, rcv_policy_t *p);

/* Logs and shows the 503 page. */
void oidc_recovery_unavailable(gw_req_t *r, const gw_err_t *err);

/* ---- notification (recovery_notify.c) ------------------------------------------ */

/* Posts the signed event (a JWS: typ "recovery-event+jwt", signed with the
 * server's current key) to the configured notification webhook, without
 * waiting for it; a failure is logged. No-op without a webhook. */
void oidc_recovery_notify(gw_req_t *r, const char *event, const char *attempt_id, const char *user_id,
                          const char *user_name, const char *tap_id);

/* ---- pages (recovery_pages.c) ------------------------------------------------------ */

typedef struct {
    const char *request_id;
    const char *csrf;
    const char *username; /* prefilled, or NULL */
    int evaluation;
    const char *const *provider_ids;
    const char *const *provider_names;
    size_t provider_count;
    const char *error;
} oidc_recovery_start_view_t;

h2o_iovec_t oidc_page_recovery_start(h2o_mem_pool_t *pool, const oidc_recovery_start_view_t *v);
/* The simulated provider's form (dev provider). */
h2o_iovec_t oidc_page_recovery_dev(h2o_mem_pool_t *pool, const char *provider_name, const char *handle);
/* The one outcome a person sees whatever failed (no account enumeration);
 * in evaluation mode, the evaluation notice instead, whatever the result. */
h2o_iovec_t oidc_page_recovery_outcome(h2o_mem_pool_t *pool, int evaluation);
/* The TAP, shown once, with the form that signs in with it. */
h2o_iovec_t oidc_page_recovery_tap(h2o_mem_pool_t *pool, const char *tap, const char *expires,
                                   const char *request_id, const char *csrf, const char *username);

/* Sends a page with no-store. */
void oidc_recovery_page_send(gw_req_t *r, int status, h2o_iovec_t page);

/* ---- admin API (recovery_admin.c) ------------------------------------------------------ */

/* GET /admin/v1/recovery/providers */
void oidc_recovery_admin_register(void);

/* ---- SQL (recovery_db.c) ------------------------------------------------------------ */

void oidc_recovery_db_register(void);

/* SELECT recovery_policy()::text */
extern store_stmt_t oidc_stmt_recovery_policy;
/* recovery_start(...): see schema/011_recovery.sql. */
extern store_stmt_t oidc_stmt_recovery_start;
/* recovery_move(...), all 16 parameters. */
extern store_stmt_t oidc_stmt_recovery_move;
/* recovery_by_handle($1 hash). */
extern store_stmt_t oidc_stmt_recovery_by_handle;
/* recovery_candidates($1 birthdate, $2 employee, $3 groups uuid[], $4 limit, $5 provider groups uuid[]). */
extern store_stmt_t oidc_stmt_recovery_candidates;

#endif
