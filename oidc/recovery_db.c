/* The recovery area's SQL (schema/011_recovery.sql). */
#include "oidc/recovery_internal.h"

store_stmt_t oidc_stmt_recovery_policy = {"recovery_policy", "SELECT recovery_policy()::text", 0, 0};

store_stmt_t oidc_stmt_recovery_start = {
    "recovery_start",
    "SELECT o_status, o_id, o_expires_at FROM recovery_start($1::uuid, $2, $3, $4::bytea, $5, $6, $7, "
    "$8::integer, $9::integer, $10::integer, $11::integer, $12::boolean, $13::boolean, $14, $15, $16)",
    16, 0};

store_stmt_t oidc_stmt_recovery_move = {
    "recovery_move",
    "SELECT o_status, o_state, o_named_user, o_evaluation, o_request, o_provider, o_nonce, o_verifier, "
    "o_named_username FROM recovery_move($1::uuid, $2::text[], $3, $4, $5::jsonb, $6, $7, $8::bytea, $9, "
    "to_timestamp($10::bigint), $11::jsonb, $12::uuid, $13::uuid, $14::integer, $15::integer, $16)",
    16, 0};

store_stmt_t oidc_stmt_recovery_by_handle = {
    "recovery_by_handle",
    "SELECT o_id, o_provider, o_state, o_expired, o_nonce, o_verifier, o_request, o_named_username, "
    "o_named_user, o_evaluation FROM recovery_by_handle($1::bytea)",
    1, 0};

store_stmt_t oidc_stmt_recovery_candidates = {
    "recovery_candidates",
    "SELECT o_id, o_user_name, o_active, o_eligible, o_given_name, o_family_name, o_legal_given_name, "
    "o_legal_family_name, o_birthdate, o_employee_number, o_provider_ok FROM recovery_candidates($1, $2, "
    "$3::uuid[], $4::integer, $5::uuid[])",
    5, 0};

void oidc_recovery_db_register(void)
{
    store_stmt_register(&oidc_stmt_recovery_policy);
    store_stmt_register(&oidc_stmt_recovery_start);
    store_stmt_register(&oidc_stmt_recovery_move);
    store_stmt_register(&oidc_stmt_recovery_by_handle);
    store_stmt_register(&oidc_stmt_recovery_candidates);
}
