/* The verified_claims a relying party gets (OpenID Connect for Identity
 * Assurance 1.0 §5-§6, shapes from the OpenID Identity Assurance Schema
 * Definition 1.0): the verified identity that recovery stored for a session,
 * trimmed to what the claims request asks for.
 *
 * Only the claims named in the request's verified_claims.claims come back,
 * and only those in OIDC_IDA_CLAIMS (what discovery advertises); the
 * verification element carries trust_framework always and assurance_level,
 * time and verification_process only when asked for. evidence is never
 * passed on: regain keeps what the provider returned for its own records, it
 * does not vouch for it to others. A request whose verification constraints
 * (value / values, time's max_age) the stored verification does not meet
 * gets no verified_claims at all, and neither does one under a trust
 * framework the configuration does not list. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "oidc/tokens_internal.h"

const char *const OIDC_IDA_CLAIMS[] = {"given_name", "family_name", "birthdate", NULL};

/* What recovery stores is small (a few claims and the verification); a
 * larger or deeper value is not ours and is not served. */
#define STORED_MAX   16384
#define STORED_DEPTH 8
/* verified_claims requested as an array: each element is one request. */
#define REQUESTS_MAX 8

/* The verification sub-elements we serve when asked for, as stored. */
static const char *const VERIFICATION_STRINGS[] = {"assurance_level", "time", "verification_process", NULL};

static int listed(const char *const *list, const char *s)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

static int framework_served(const char *tf)
{
    if (tf == NULL || oidc_cfg == NULL)
        return 0;
    for (size_t i = 0; i < oidc_cfg->recovery.trust_framework_count; i++)
        if (strcmp(oidc_cfg->recovery.trust_frameworks[i], tf) == 0)
            return 1;
    return 0;
}

/* OIDC Core §5.5.1 value / values as IDA §5 uses them to constrain an
 * element: the stored string must be the value, or one of the values. An
 * element without either (null, or only essential / purpose) is met by
 * anything present. */
static int same(yajl_val v, const char *have)
{
    const char *s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
    return s != NULL && strcmp(s, have) == 0;
}

static int constraint_met(yajl_val req, const char *have)
{
    if (req == NULL || !YAJL_IS_OBJECT(req))
        return 1;
    yajl_val value = gw_json_get(req, "value"), values = gw_json_get(req, "values");
    if (value == NULL && values == NULL)
        return 1;
    if (have == NULL)
        return 0;
    if (value != NULL && same(value, have))
        return 1;
    if (values != NULL && YAJL_IS_ARRAY(values))
        for (size_t i = 0; i < YAJL_GET_ARRAY(values)->len; i++) {
            if (same(YAJL_GET_ARRAY(values)->values[i], have))
                return 1;
        }
    return 0;
}

/* "YYYY-MM-DDThh:mm:ssZ" as recovery writes verification.time; -1 otherwise. */
static int64_t rfc3339_utc(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    char z = 0;
    int n = 0;
    if (s == NULL || strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &z, &n) != 7 ||
        n != 20 || z != 'Z')
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* IDA §5: time may carry max_age, the most seconds since the verification
 * the relying party accepts. */
static int time_met(yajl_val req, const char *have, int64_t now)
{
    int64_t max_age = 0;
    if (req == NULL || !YAJL_IS_OBJECT(req) || gw_json_get(req, "max_age") == NULL)
        return 1;
    if (gw_json_get_int64(req, "max_age", &max_age) != GW_JSON_OK || max_age < 0)
        return 0;
    int64_t t = rfc3339_utc(have);
    return t >= 0 && now - t <= max_age;
}

/* The stored claim `name` when the request asks for it and we pass it on. */
static const char *claim_served(yajl_val stored_claims, const char *name, yajl_val req)
{
    if (!listed(OIDC_IDA_CLAIMS, name))
        return NULL;
    const char *have = gw_json_str(stored_claims, name);
    return have != NULL && constraint_met(req, have) ? have : NULL;
}

/* How many claims one request element gets from the stored verified
 * claims; 0 when its verification constraints are not met (then the
 * element is omitted, IDA §6) or nothing it asks for is available. */
static size_t element_claims(yajl_val req, yajl_val stored_ver, yajl_val stored_claims, int64_t now)
{
    if (req == NULL || !YAJL_IS_OBJECT(req))
        return 0;
    yajl_val ver = gw_json_get(req, "verification"), claims = gw_json_get(req, "claims");
    /* IDA §5: both are required, and claims is not empty. */
    if (ver == NULL || !YAJL_IS_OBJECT(ver) || claims == NULL || !YAJL_IS_OBJECT(claims) ||
        YAJL_GET_OBJECT(claims)->len == 0)
        return 0;
    if (!constraint_met(gw_json_get(ver, "trust_framework"), gw_json_str(stored_ver, "trust_framework")))
        return 0;
    for (const char *const *k = VERIFICATION_STRINGS; *k != NULL; k++) {
        yajl_val r = gw_json_get(ver, *k);
        const char *have = gw_json_str(stored_ver, *k);
        if (!constraint_met(r, have))
            return 0;
        if (strcmp(*k, "time") == 0 && !time_met(r, have, now))
            return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < YAJL_GET_OBJECT(claims)->len; i++)
        if (claim_served(stored_claims, YAJL_GET_OBJECT(claims)->keys[i], YAJL_GET_OBJECT(claims)->values[i]))
            n++;
    return n;
}

static void element_write(gw_jw_t *w, yajl_val req, yajl_val stored_ver, yajl_val stored_claims)
{
    yajl_val ver = gw_json_get(req, "verification"), claims = gw_json_get(req, "claims");
    gw_jw_obj_open(w);
    gw_jw_key(w, "verification");
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "trust_framework", gw_json_str(stored_ver, "trust_framework"));
    for (const char *const *k = VERIFICATION_STRINGS; *k != NULL; k++) {
        const char *have = gw_json_str(stored_ver, *k);
        if (have != NULL && gw_json_get(ver, *k) != NULL)
            gw_jw_kv_str(w, *k, have);
    }
    gw_jw_obj_close(w);
    gw_jw_key(w, "claims");
    gw_jw_obj_open(w);
    /* The request's keys are unique (strict parse), so no claim twice. */
    for (size_t i = 0; i < YAJL_GET_OBJECT(claims)->len; i++) {
        const char *name = YAJL_GET_OBJECT(claims)->keys[i];
        const char *have = claim_served(stored_claims, name, YAJL_GET_OBJECT(claims)->values[i]);
        if (have != NULL)
            gw_jw_kv_str(w, name, have);
    }
    gw_jw_obj_close(w);
    gw_jw_obj_close(w);
}

int oidc_verified_claims_write(gw_jw_t *w, const char *stored_json, yajl_val request, int64_t now)
{
    if (stored_json == NULL || request == NULL)
        return 0;
    gw_err_t err;
    gw_json_limits_t limits = {.max_bytes = STORED_MAX, .max_depth = STORED_DEPTH, .require_object = true};
    yajl_val stored = gw_json_parse(stored_json, strlen(stored_json), &limits, &err);
    if (stored == NULL)
        return 0;
    yajl_val sver = gw_json_get(stored, "verification"), sclaims = gw_json_get(stored, "claims");
    int written = 0;
    if (!framework_served(gw_json_str(sver, "trust_framework")))
        goto out;
    if (YAJL_IS_OBJECT(request)) {
        if (element_claims(request, sver, sclaims, now) > 0) {
            gw_jw_key(w, "verified_claims");
            element_write(w, request, sver, sclaims);
            written = 1;
        }
        goto out;
    }
    if (!YAJL_IS_ARRAY(request))
        goto out;
    size_t len = YAJL_GET_ARRAY(request)->len < REQUESTS_MAX ? YAJL_GET_ARRAY(request)->len : REQUESTS_MAX;
    for (size_t i = 0; i < len; i++) {
        yajl_val req = YAJL_GET_ARRAY(request)->values[i];
        if (element_claims(req, sver, sclaims, now) == 0)
            continue;
        if (!written) {
            gw_jw_key(w, "verified_claims");
            gw_jw_arr_open(w);
            written = 1;
        }
        element_write(w, req, sver, sclaims);
    }
    if (written)
        gw_jw_arr_close(w);
out:
    yajl_tree_free(stored);
    return written;
}
