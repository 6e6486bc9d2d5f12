/* SQL of the clients area. Rows come back as one JSON object in the shape of
 * the admin API (oidc_client_from_json), so the loader, the API and the CLI
 * share one parser and one set of rules; arrays go in as JSON too, which
 * spares us PostgreSQL's array literal syntax and its escaping. */
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/secrets.h"
#include "oidc/clients_internal.h"

#define SECRET_METHODS "('client_secret_basic', 'client_secret_post')"

#define COLUMNS                                                                                              \
    "json_build_object('client_id', c.id, 'client_name', c.name, 'redirect_uris', c.redirect_uris, "         \
    "'post_logout_redirect_uris', c.post_logout_redirect_uris, 'grant_types', c.grant_types, "               \
    "'scope', array_to_string(c.scopes, ' '), 'token_endpoint_auth_method', c.token_endpoint_auth_method, "  \
    "'id_token_signed_response_alg', c.id_token_alg, 'jwks', c.jwks)::text, encode(c.secret_hash, 'hex')"

/* A JSON array parameter as text[] in its order. */
#define ARR(n)                                                                                               \
    "ARRAY(SELECT e FROM json_array_elements_text($" #n "::json) WITH ORDINALITY AS t(e, i) ORDER BY i)"

store_stmt_t OIDC_STMT_CLIENT_GET = {"oidc_client_get", "SELECT " COLUMNS " FROM clients c WHERE c.id = $1",
                                     1, 0};

store_stmt_t OIDC_STMT_CLIENT_LIST = {"oidc_client_list", "SELECT " COLUMNS " FROM clients c ORDER BY c.id",
                                      0, 0};

/* Every change is an audit event in the same statement (schema/008_audit.sql):
 * nothing changes a client without its record. `rows` names the CTE of the
 * changed rows (columns id and token_endpoint_auth_method); actor, addr and ua
 * number the parameters of the actor, the client address and the User-Agent. */
#define AUDIT(type, rows, actor, addr, ua)                                                                   \
    "ev AS (SELECT audit_append('" type "', $" #actor ", NULL, $" #addr ", $" #ua ", 'success', NULL, "      \
    "jsonb_build_object('clientId', " rows ".id, 'tokenEndpointAuthMethod', " rows                           \
    ".token_endpoint_auth_method)) AS e FROM " rows ")"

/* Column 2 (`had_secret`) only matters for the update; false here. */
store_stmt_t OIDC_STMT_CLIENT_INSERT = {
    "oidc_client_insert",
    "WITH c AS (INSERT INTO clients (id, name, secret_hash, token_endpoint_auth_method, jwks, redirect_uris, "
    "post_logout_redirect_uris, grant_types, scopes, id_token_alg) "
    "VALUES ($1, $2, $3::bytea, $4, $5::jsonb, " ARR(6) ", " ARR(7) ", " ARR(8) ", " ARR(
        9) ", $10) "
           "RETURNING *), " AUDIT("client.registered", "c", 11, 12, 13) " SELECT " COLUMNS
                                                                        ", false FROM c CROSS JOIN ev",
    13, 0};

/* PUT replaces the settings and keeps the secret: a client that changes to
 * a secret method and had none gets the new one in $3 (the caller shows it
 * once when column 2 says there was none); a change away from the secret
 * methods drops it (the table's CHECK wants exactly that). */
store_stmt_t OIDC_STMT_CLIENT_UPDATE = {
    "oidc_client_update",
    "WITH old AS (SELECT id, secret_hash IS NOT NULL AS had FROM clients WHERE id = $1 FOR UPDATE), "
    "c AS (UPDATE clients AS x SET name = $2, token_endpoint_auth_method = $4, jwks = $5::jsonb, "
    "secret_hash = CASE WHEN $4 IN " SECRET_METHODS " THEN coalesce(x.secret_hash, $3::bytea) ELSE NULL END, "
    "redirect_uris = " ARR(6) ", post_logout_redirect_uris = " ARR(7) ", grant_types = " ARR(
        8) ", "
           "scopes = " ARR(9) ", id_token_alg = $10 FROM old WHERE x.id = old.id RETURNING x.*, "
                              "old.had), " AUDIT("client.updated", "c", 11, 12,
                                                 13) " SELECT " COLUMNS ", c.had FROM c CROSS JOIN ev",
    13, 0};

/* $1 id, $2-$4 who (AUDIT). One row: removed; none: no such client. */
store_stmt_t OIDC_STMT_CLIENT_DELETE = {
    "oidc_client_delete",
    "WITH c AS (DELETE FROM clients WHERE id = $1 RETURNING id, token_endpoint_auth_method), " AUDIT(
        "client.removed", "c", 2, 3, 4) " SELECT c.id FROM c CROSS JOIN ev",
    4, 0};

/* $1 id, $2 hash hex, $3-$5 who (AUDIT). One row: whether the client uses a
 * secret (and so got the new one); no row: no such client. */
store_stmt_t OIDC_STMT_CLIENT_SECRET = {
    "oidc_client_secret",
    "WITH c AS (SELECT id, token_endpoint_auth_method IN " SECRET_METHODS " AS secretful FROM clients "
    "WHERE id = $1), u AS (UPDATE clients SET secret_hash = $2::bytea WHERE id IN "
    "(SELECT id FROM c WHERE secretful) RETURNING id, token_endpoint_auth_method), " AUDIT(
        "client.secret_rotated", "u", 3, 4, 5) " SELECT secretful, (SELECT count(*) FROM ev) FROM c",
    5, 0};

/* OIDC Core §9: a jti is used once. The row stays until the assertion
 * expires; this client's expired rows go in the same statement, so the
 * table stays as small as the assertions alive right now. A row back means
 * first use; none means replay. */
store_stmt_t OIDC_STMT_CLIENT_JTI_USE = {
    "oidc_client_jti_use",
    "WITH purge AS (DELETE FROM client_assertion_jtis WHERE client_id = $1 AND expires_at < now()) "
    "INSERT INTO client_assertion_jtis (client_id, jti, expires_at) "
    "VALUES ($1, $2, to_timestamp($3::bigint)) ON CONFLICT DO NOTHING RETURNING 1",
    3, 0};

void oidc_client_db_register(void)
{
    store_stmt_register(&OIDC_STMT_CLIENT_GET);
    store_stmt_register(&OIDC_STMT_CLIENT_LIST);
    store_stmt_register(&OIDC_STMT_CLIENT_INSERT);
    store_stmt_register(&OIDC_STMT_CLIENT_UPDATE);
    store_stmt_register(&OIDC_STMT_CLIENT_DELETE);
    store_stmt_register(&OIDC_STMT_CLIENT_SECRET);
    store_stmt_register(&OIDC_STMT_CLIENT_JTI_USE);
}

static const char *json_strings(h2o_mem_pool_t *pool, char **v, size_t n, gw_err_t *err)
{
    gw_jw_t *w = gw_jw_new();
    gw_jw_arr_open(w);
    for (size_t i = 0; i < n; i++)
        gw_jw_str(w, v[i]);
    gw_jw_arr_close(w);
    size_t len;
    const char *buf = gw_jw_buf(w, &len);
    const char *out = NULL;
    if (buf == NULL)
        gw_jw_error(w, err);
    else
        out = h2o_strdup(pool, buf, len).base;
    gw_jw_free(w);
    return out;
}

int oidc_client_db_params(h2o_mem_pool_t *pool, const oidc_client_t *c, const char *secret_hex,
                          const char *params[OIDC_CLIENT_DB_NPARAMS], gw_err_t *err)
{
    char *grants[3];
    size_t ng = 0;
    for (unsigned bit = 1; bit <= OIDC_GRANT_CLIENT_CREDENTIALS; bit <<= 1)
        if (c->grants & bit)
            grants[ng++] = (char *)oidc_grant_name(bit);
    char *jwks = NULL;
    if (oidc_client_jwks_json(c, &jwks, err) != 0)
        return -1;
    params[OIDC_CLIENT_DB_WHO] = params[OIDC_CLIENT_DB_WHO + 1] = params[OIDC_CLIENT_DB_WHO + 2] = NULL;
    params[0] = c->id;
    params[1] = c->name;
    params[2] = secret_hex;
    params[3] = oidc_auth_method_name(c->auth_method);
    params[4] = jwks != NULL ? h2o_strdup(pool, jwks, strlen(jwks)).base : NULL;
    free(jwks);
    params[5] = json_strings(pool, c->redirect_uris, c->redirect_uri_count, err);
    params[6] = json_strings(pool, c->post_logout_redirect_uris, c->post_logout_redirect_uri_count, err);
    params[7] = json_strings(pool, grants, ng, err);
    params[8] = json_strings(pool, c->scopes, c->scope_count, err);
    params[9] = c->id_token_alg;
    for (int i = 5; i < 9; i++)
        if (params[i] == NULL)
            return -1;
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

int oidc_client_from_row(const PGresult *res, int row, oidc_client_t **out, gw_err_t *err)
{
    *out = NULL;
    const char *json = store_value(res, row, 0), *hash = store_value(res, row, 1);
    if (json == NULL)
        return GW_ERR(err, GW_E_INTERNAL, "client row without metadata");
    gw_err_t perr;
    gw_json_limits_t lim = {.max_bytes = OIDC_CLIENT_JSON_MAX, .require_object = true};
    yajl_val obj = gw_json_parse(json, strlen(json), &lim, &perr);
    oidc_client_t *c = NULL;
    int rc = obj != NULL ? oidc_client_from_json(obj, NULL, &c, &perr) : -1;
    yajl_tree_free(obj);
    if (rc != 0) {
        /* A row that no longer passes our rules: an admin must fix it. */
        GW_ERR(err, GW_E_INTERNAL, "stored client does not validate");
        gw_err_detail(err, "%s", perr.public);
        return -1;
    }
    if (c->has_secret) {
        if (hash == NULL || strlen(hash) != 2 * GW_SECRET_HASH_LEN) {
            oidc_client_unref(c);
            return GW_ERR(err, GW_E_INTERNAL, "stored client has no secret hash");
        }
        for (size_t i = 0; i < GW_SECRET_HASH_LEN; i++) {
            int hi = hexval(hash[2 * i]), lo = hexval(hash[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                oidc_client_unref(c);
                return GW_ERR(err, GW_E_INTERNAL, "stored client has a bad secret hash");
            }
            c->secret_hash[i] = (uint8_t)(hi * 16 + lo);
        }
    }
    *out = c;
    return 0;
}
