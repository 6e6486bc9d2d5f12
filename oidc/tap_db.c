/* SQL of TAPs and policies. Each change is one call of a function of
 * schema/010_tap.sql, which records its audit event in the same statement;
 * parameters are text, never formatted into SQL. */
#include <stdlib.h>
#include <string.h>

#include "oidc/tap_internal.h"

store_stmt_t OIDC_STMT_POLICY_GET = {
    "tap_policy_get",
    "SELECT version, (document || jsonb_build_object('version', version, 'updatedDateTime', "
    "regain_rfc3339(created_at)))::text FROM policy_current($1)",
    1, 0};

store_stmt_t OIDC_STMT_POLICY_PUT = {
    "tap_policy_put",
    "SELECT o_status, o_version, (o_document || jsonb_build_object('version', o_version, 'updatedDateTime', "
    "regain_rfc3339(o_created_at)))::text "
    "FROM policy_put($1, $2::jsonb, $3::integer, $4, $5, $6)",
    6, 0};

/* $1 a uuid or NULL, $2 a userName or NULL. */
store_stmt_t OIDC_STMT_TAP_USER = {"tap_user",
                                   "(SELECT id FROM users WHERE id = $1::uuid) UNION ALL "
                                   "(SELECT id FROM users WHERE lower(user_name) = lower($2)) LIMIT 1",
                                   2, 0};

store_stmt_t OIDC_STMT_TAP_ISSUE = {
    "tap_issue",
    "SELECT o_status, o_id, o_created_at, o_start_at, o_lifetime, o_once, o_reason, o_expires_at "
    "FROM tap_issue($1::uuid, $2::bytea, $3::timestamptz, $4::integer, $5::boolean, $6::integer, $7, $8, $9, "
    "$10, $11::uuid)",
    11, 0};

/* The same columns as tap_issue, for a TAP minted by a verified recovery:
 * the attempt moves to tap_issued in the same statement ($11 the attempt,
 * $1 the user it matched). */
store_stmt_t OIDC_STMT_TAP_ISSUE_RECOVERY = {
    "tap_issue_recovery",
    "SELECT o_status, o_id, o_created_at, o_start_at, o_lifetime, o_once, o_reason, o_expires_at "
    "FROM recovery_issue_tap($11::uuid, $1::uuid, $2::bytea, $3::timestamptz, $4::integer, $5::boolean, "
    "$6::integer, $7, $8, $9, $10)",
    11, 0};

store_stmt_t OIDC_STMT_TAP_LIST = {
    "tap_list",
    "SELECT t.id, regain_rfc3339(t.created_at), regain_rfc3339(t.start_at), t.lifetime_minutes, "
    "t.is_usable_once, tap_unusable_reason(t, (SELECT document->>'state' = 'enabled' "
    "FROM policy_current('temporaryAccessPass'))), regain_rfc3339(t.expires_at) "
    "FROM taps t WHERE t.user_id = $1::uuid AND t.revoked_at IS NULL AND ($2::uuid IS NULL OR t.id = "
    "$2::uuid) "
    "ORDER BY t.created_at DESC",
    2, 0};

store_stmt_t OIDC_STMT_TAP_REVOKE = {
    "tap_revoke", "SELECT o_status, o_id FROM tap_revoke($1::uuid, $2::uuid, $3, $4, $5)", 5, 0};

/* $1 hash, $2 username or NULL, $3 addr, $4 UA, $5 session token hash,
 * $6 session ttl s, $7 one-time ttl s, $8 window s, $9 address max, $10 lockout s,
 * $11 the browser's previous session token hash (may be NULL)
 * -> status, session id, user id, TAP id, session ttl s. The previous
 * session ends when the TAP opened a new one, in the same statement, as at
 * every other sign-in (OIDC_SESSION_END_OLD). The WITH query calling
 * tap_redeem (volatile, so never folded into its readers) runs once, and the
 * update reads its status. */
#define TAP_REDEEMED                                                                                         \
    "redeemed AS (SELECT o_status, o_session_id, o_user_id, o_tap_id, o_session_ttl_s FROM tap_redeem("      \
    "$1::bytea, $2, $3, $4, $5::bytea, $6::integer, $7::integer, $8::integer, $9::integer, $10::integer))"
#define TAP_REDEEM_ENDS_OLD                                                                                  \
    OIDC_SESSION_END_OLD("$11", " AND EXISTS (SELECT 1 FROM redeemed WHERE o_status = 'ok')")
store_stmt_t OIDC_STMT_TAP_REDEEM = {
    "tap_redeem",
    "WITH " TAP_REDEEMED ", " TAP_REDEEM_ENDS_OLD
    " SELECT o_status, o_session_id, o_user_id, o_tap_id, o_session_ttl_s FROM redeemed",
    11, 0};

void oidc_tap_db_register(void)
{
    store_stmt_register(&OIDC_STMT_POLICY_GET);
    store_stmt_register(&OIDC_STMT_POLICY_PUT);
    store_stmt_register(&OIDC_STMT_TAP_USER);
    store_stmt_register(&OIDC_STMT_TAP_ISSUE);
    store_stmt_register(&OIDC_STMT_TAP_ISSUE_RECOVERY);
    store_stmt_register(&OIDC_STMT_TAP_LIST);
    store_stmt_register(&OIDC_STMT_TAP_REVOKE);
    store_stmt_register(&OIDC_STMT_TAP_REDEEM);
}

void oidc_tap_write_row(gw_jw_t *w, const PGresult *res, int row, int first, const char *secret)
{
    const char *reason = store_value(res, row, first + OIDC_TAP_COL_REASON);
    const char *once = store_value(res, row, first + OIDC_TAP_COL_ONCE);
    const char *lifetime = store_value(res, row, first + OIDC_TAP_COL_LIFETIME);
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "@odata.type", "#microsoft.graph.temporaryAccessPassAuthenticationMethod");
    gw_jw_kv_str(w, "id", store_value(res, row, first + OIDC_TAP_COL_ID));
    if (secret != NULL)
        gw_jw_kv_str(w, "temporaryAccessPass", secret);
    gw_jw_kv_str(w, "createdDateTime", store_value(res, row, first + OIDC_TAP_COL_CREATED));
    gw_jw_kv_str(w, "startDateTime", store_value(res, row, first + OIDC_TAP_COL_START));
    gw_jw_kv_int64(w, "lifetimeInMinutes", lifetime ? strtoll(lifetime, NULL, 10) : 0);
    gw_jw_kv_bool(w, "isUsableOnce", once != NULL && once[0] == 't');
    gw_jw_kv_bool(w, "isUsable", reason == NULL);
    gw_jw_kv_str(w, "methodUsabilityReason", reason ? reason : "EnabledByPolicy");
    gw_jw_kv_str(w, "expirationDateTime", store_value(res, row, first + OIDC_TAP_COL_EXPIRES));
    gw_jw_obj_close(w);
}
