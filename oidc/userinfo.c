/* GET|POST /userinfo (OIDC Core §5.3): the signed-in user's claims for a
 * bearer access token with the openid scope. Scope claims (§5.4: profile,
 * email) plus what the claims request's userinfo member asked for (§5.5),
 * which the access token carries in its private `uic` claim. verified_claims
 * (OpenID Connect for Identity Assurance 1.0 §6) come from the session the
 * grant was issued for, trimmed to the request's userinfo member. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oidc/tokens_internal.h"

/* Identifies this file's per-request state (gw_req_state). */
static const char STATE_TAG = 0;

typedef struct {
    const oidc_access_t *at;
    const char *verified_json; /* the session's verified_claims, or NULL */
    yajl_val verified_request; /* claims.userinfo.verified_claims, or NULL */
} userinfo_state_t;

static const char *const PROFILE[] = {"name",       "given_name", "family_name", "preferred_username",
                                      "updated_at", NULL};
static const char *const EMAIL[] = {"email", "email_verified", NULL};

static int in_list(const char *const *list, const char *name)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

static int requested(yajl_val uic, const char *name)
{
    if (uic == NULL || !YAJL_IS_ARRAY(uic))
        return 0;
    for (size_t i = 0; i < uic->u.array.len; i++)
        if (YAJL_IS_STRING(uic->u.array.values[i])) {
            const char *s = YAJL_GET_STRING(uic->u.array.values[i]);
            if (s != NULL && strcmp(s, name) == 0)
                return 1;
        }
    return 0;
}

static void on_user(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    userinfo_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    if (PQntuples(res) != 1) {
        gw_reply_header(r, "www-authenticate",
                        H2O_STRLIT("Bearer realm=\"regain\", error=\"invalid_token\", "
                                   "error_description=\"the user is no longer active\""));
        gw_reply_fail(r, GW_E_INVALID_TOKEN, "the user is no longer active");
        return;
    }
    const char *ev = store_value(res, 0, 5), *upd = store_value(res, 0, 6);
    oidc_user_info_t u = {store_value(res, 0, 0),          store_value(res, 0, 1),
                          store_value(res, 0, 2),          store_value(res, 0, 3),
                          store_value(res, 0, 4),          ev == NULL ? -1 : ev[0] == 't',
                          upd ? strtoll(upd, NULL, 10) : 0};
    const char *scope = st->at->scope;
    size_t slen = strlen(scope);
    int profile = oidc_scope_has(scope, slen, "profile"), email = oidc_scope_has(scope, slen, "email");
    yajl_val uic = gw_json_get(st->at->claims, "uic");
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "sub", st->at->sub);
    /* One pass over the claims we know, so none is written twice. */
    static const char *const ALL[] = {"name",  "given_name",     "family_name", "preferred_username",
                                      "email", "email_verified", "updated_at"};
    for (size_t i = 0; i < sizeof(ALL) / sizeof(ALL[0]); i++)
        if ((profile && in_list(PROFILE, ALL[i])) || (email && in_list(EMAIL, ALL[i])) ||
            requested(uic, ALL[i]))
            oidc_claim_write(w, &u, ALL[i]);
    if (st->verified_json != NULL && st->verified_request != NULL)
        oidc_verified_claims_write(w, st->verified_json, st->verified_request, (int64_t)time(NULL));
    gw_jw_obj_close(w);
    gw_reply_jw(r, 200, w);
}

static void query_user(gw_req_t *r)
{
    userinfo_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    const char *params[1] = {st->at->sub};
    gw_req_query_or_reply(r, &OIDC_STMT_USERINFO, params, on_user);
}

/* The grant's claims request and its session's verified_claims, kept for
 * on_user (pool copies: the result is freed after this callback). */
static void on_verified(gw_req_t *r, PGresult *res, const gw_err_t *qerr)
{
    userinfo_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    if (qerr != NULL) {
        gw_reply_error(r, qerr);
        return;
    }
    const char *req_json = PQntuples(res) == 1 ? store_value(res, 0, 0) : NULL;
    const char *vc_json = PQntuples(res) == 1 ? store_value(res, 0, 1) : NULL;
    if (req_json != NULL && vc_json != NULL) {
        gw_err_t err;
        yajl_val claims = gw_json_parse_pool(&r->req->pool, req_json, strlen(req_json), NULL, &err);
        st->verified_request = gw_json_get(gw_json_get(claims, "userinfo"), "verified_claims");
        st->verified_json = gw_req_strdup(r, vc_json, strlen(vc_json)).base;
    }
    query_user(r);
}

static void on_authorized(gw_req_t *r, const oidc_access_t *at)
{
    /* A client_credentials token has no user (and never openid). */
    if (oidc_access_gid(at) == NULL) {
        gw_reply_header(
            r, "www-authenticate",
            H2O_STRLIT("Bearer realm=\"regain\", error=\"insufficient_scope\", scope=\"openid\""));
        gw_reply_fail(r, GW_E_INSUFFICIENT_SCOPE, "the token was not issued for a user");
        return;
    }
    userinfo_state_t *st = gw_req_state(r, &STATE_TAG, sizeof(*st));
    st->at = at;
    if (requested(gw_json_get(at->claims, "uic"), "verified_claims")) {
        const char *params[2] = {oidc_access_gid(at), at->sub};
        gw_req_query_or_reply(r, &OIDC_STMT_USERINFO_VERIFIED, params, on_verified);
        return;
    }
    query_user(r);
}

static void on_userinfo(gw_req_t *r)
{
    oidc_bearer_authorize(r, "openid", on_authorized);
}

static gw_route_t ROUTE_USERINFO = {
    "/userinfo", GW_GET | GW_POST, GW_ROUTE_NO_STORE, on_userinfo, NULL, NULL, 0};

void oidc_userinfo_register(void)
{
    gw_route_register(&ROUTE_USERINFO);
}
