/* The Temporary Access Pass as text (generation, grouping, normalisation,
 * keyed hash), the TAP policy and the bounds of an issue request, and the
 * RFC 3339 times they use. Pure functions: no request, no database. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "oidc/tap_internal.h"

const char OIDC_TAP_ALPHABET[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
#define ALPHABET_N (sizeof(OIDC_TAP_ALPHABET) - 1)

void oidc_tap_generate(size_t length, char out[OIDC_TAP_LENGTH_MAX + 1])
{
    if (length < OIDC_TAP_LENGTH_MIN)
        length = OIDC_TAP_LENGTH_MIN;
    if (length > OIDC_TAP_LENGTH_MAX)
        length = OIDC_TAP_LENGTH_MAX;
    /* Rejection sampling: a byte counts only below the largest multiple of
     * 31 that fits (248), so every symbol is equally likely. */
    const unsigned limit = 256 - 256 % ALPHABET_N;
    size_t n = 0;
    uint8_t buf[64];
    while (n < length) {
        gw_random_bytes(buf, sizeof(buf));
        for (size_t i = 0; i < sizeof(buf) && n < length; i++)
            if (buf[i] < limit)
                out[n++] = OIDC_TAP_ALPHABET[buf[i] % ALPHABET_N];
    }
    out[n] = '\0';
    gw_wipe(buf, sizeof(buf));
}

size_t oidc_tap_format(const char *tap, size_t n, char out[OIDC_TAP_DISPLAY_MAX + 1])
{
    size_t o = 0;
    if (n > OIDC_TAP_LENGTH_MAX)
        n = OIDC_TAP_LENGTH_MAX;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && i % 4 == 0)
            out[o++] = '-';
        out[o++] = tap[i];
    }
    out[o] = '\0';
    return o;
}

int oidc_tap_normalise(const char *in, size_t n, char out[OIDC_TAP_LENGTH_MAX + 1])
{
    if (in == NULL || n > OIDC_TAP_INPUT_MAX)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == ' ' || c == '\t' || c == '-' || c == '.' || c == '_')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == '\0' || strchr(OIDC_TAP_ALPHABET, c) == NULL || o == OIDC_TAP_LENGTH_MAX)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return o < OIDC_TAP_LENGTH_MIN ? -1 : (int)o;
}

void oidc_tap_hash_hex(const char *norm, size_t n, char out[GW_SECRET_HASH_HEX_LEN + 1])
{
    /* A label keeps a TAP's hash apart from the hashes of other secrets
     * under the same key. */
    static const char LABEL[] = "regain/tap/v1";
    char msg[sizeof(LABEL) + OIDC_TAP_LENGTH_MAX];
    if (n > OIDC_TAP_LENGTH_MAX)
        n = OIDC_TAP_LENGTH_MAX;
    memcpy(msg, LABEL, sizeof(LABEL)); /* with its NUL */
    memcpy(msg + sizeof(LABEL), norm, n);
    gw_secret_hash_hex(msg, sizeof(LABEL) + n, out);
    gw_wipe(msg, sizeof(msg));
}

/* ---- field errors --------------------------------------------------------------- */

int oidc_field_fail(oidc_field_err_t *e, const char *field, const char *fmt, ...)
{
    snprintf(e->field, sizeof(e->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- RFC 3339 ------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): no time zone, no libc state. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int oidc_rfc3339_parse(const char *s, size_t n, int64_t *out)
{
    int y, mo, d, h, mi, sec;
    /* 2026-01-02T03:04:05 */
    if (s == NULL || n < 20 || n > 40 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    static const int MDAYS[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > MDAYS[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    size_t i = 19;
    if (i < n && s[i] == '.') {
        size_t j = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == j || i - j > 9)
            return -1;
    }
    int64_t offset = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return -1;
    }
    if (i != n)
        return -1;
    if (sec == 60)
        sec = 59; /* a leap second: the second before it is close enough */
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    return 0;
}

void oidc_rfc3339_format(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the TAP policy ---------------------------------------------------------------- */

static const oidc_tap_policy_t POLICY_DEFAULTS = {1, 16, 60, 10, 43200, 1, 5};

/* An optional integer member within [lo, hi]: 0 when absent or fine. */
static int int_member(yajl_val obj, const char *key, const char *field, int lo, int hi, int *out,
                      oidc_field_err_t *e)
{
    int64_t v;
    gw_json_get_t g = gw_json_get_int64(obj, key, &v);
    if (g == GW_JSON_ABSENT)
        return 0;
    if (g != GW_JSON_OK)
        return oidc_field_fail(e, field, "must be an integer");
    if (v < lo || v > hi)
        return oidc_field_fail(e, field, "must be between %d and %d", lo, hi);
    *out = (int)v;
    return 0;
}

static int bool_member(yajl_val obj, const char *key, const char *field, int *out, oidc_field_err_t *e)
{
    bool b;
    gw_json_get_t g = gw_json_get_bool(obj, key, &b);
    if (g == GW_JSON_ABSENT)
        return 0;
    if (g != GW_JSON_OK)
        return oidc_field_fail(e, field, "must be true or false");
    *out = b;
    return 0;
}

/* Every member of `obj` must be one of `known` (NULL-terminated). */
static int only_known(yajl_val obj, const char *const *known, oidc_field_err_t *e)
{
    for (size_t i = 0; i < obj->u.object.len; i++) {
        const char *k = obj->u.object.keys[i];
        int ok = 0;
        for (const char *const *p = known; *p && !ok; p++)
            ok = strcmp(*p, k) == 0;
        if (!ok)
            return oidc_field_fail(e, k, "is not a member of this resource");
    }
    return 0;
}

int oidc_tap_policy_from_json(yajl_val doc, oidc_tap_policy_t *out, oidc_field_err_t *e)
{
    return oidc_tap_policy_apply(doc, &POLICY_DEFAULTS, out, e);
}

int oidc_tap_policy_apply(yajl_val doc, const oidc_tap_policy_t *base, oidc_tap_policy_t *out,
                          oidc_field_err_t *e)
{
    static const char *const KNOWN[] = {"@odata.type",
                                        "id",
                                        "state",
                                        "defaultLength",
                                        "defaultLifetimeInMinutes",
                                        "minimumLifetimeInMinutes",
                                        "maximumLifetimeInMinutes",
                                        "isUsableOnce",
                                        "maxFailedAttempts",
                                        "version",
                                        "updatedDateTime",
                                        NULL};
    *out = *base;
    if (!YAJL_IS_OBJECT(doc))
        return oidc_field_fail(e, "", "the policy must be a JSON object");
    if (only_known(doc, KNOWN, e) != 0)
        return -1;
    yajl_val state = gw_json_get(doc, "state");
    if (state != NULL) {
        const char *s = YAJL_IS_STRING(state) ? YAJL_GET_STRING(state) : "";
        if (strcmp(s, "enabled") != 0 && strcmp(s, "disabled") != 0)
            return oidc_field_fail(e, "state", "must be \"enabled\" or \"disabled\"");
        out->enabled = strcmp(s, "enabled") == 0;
    }
    if (int_member(doc, "defaultLength", "defaultLength", OIDC_TAP_LENGTH_MIN, OIDC_TAP_LENGTH_MAX,
                   &out->default_length, e) ||
        int_member(doc, "minimumLifetimeInMinutes", "minimumLifetimeInMinutes", OIDC_TAP_LIFETIME_MIN,
                   OIDC_TAP_LIFETIME_MAX, &out->min_lifetime, e) ||
        int_member(doc, "maximumLifetimeInMinutes", "maximumLifetimeInMinutes", OIDC_TAP_LIFETIME_MIN,
                   OIDC_TAP_LIFETIME_MAX, &out->max_lifetime, e) ||
        int_member(doc, "defaultLifetimeInMinutes", "defaultLifetimeInMinutes", OIDC_TAP_LIFETIME_MIN,
                   OIDC_TAP_LIFETIME_MAX, &out->default_lifetime, e) ||
        bool_member(doc, "isUsableOnce", "isUsableOnce", &out->once_forced, e) ||
        int_member(doc, "maxFailedAttempts", "maxFailedAttempts", 1, 100, &out->max_failures, e))
        return -1;
    if (out->min_lifetime > out->max_lifetime)
        return oidc_field_fail(e, "minimumLifetimeInMinutes", "must not exceed maximumLifetimeInMinutes (%d)",
                               out->max_lifetime);
    if (out->default_lifetime < out->min_lifetime || out->default_lifetime > out->max_lifetime)
        return oidc_field_fail(
            e, "defaultLifetimeInMinutes",
            "must be between minimumLifetimeInMinutes (%d) and maximumLifetimeInMinutes (%d)",
            out->min_lifetime, out->max_lifetime);
    return 0;
}

void oidc_tap_policy_write_members(gw_jw_t *w, const oidc_tap_policy_t *p)
{
    gw_jw_kv_str(w, "@odata.type", "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration");
    gw_jw_kv_str(w, "id", "TemporaryAccessPass");
    gw_jw_kv_str(w, "state", p->enabled ? "enabled" : "disabled");
    gw_jw_kv_int64(w, "defaultLength", p->default_length);
    gw_jw_kv_int64(w, "defaultLifetimeInMinutes", p->default_lifetime);
    gw_jw_kv_int64(w, "minimumLifetimeInMinutes", p->min_lifetime);
    gw_jw_kv_int64(w, "maximumLifetimeInMinutes", p->max_lifetime);
    gw_jw_kv_bool(w, "isUsableOnce", p->once_forced);
    gw_jw_kv_int64(w, "maxFailedAttempts", p->max_failures);
}

/* ---- an issue request --------------------------------------------------------------- */

int oidc_tap_request_check(const oidc_tap_policy_t *pol, int64_t now, oidc_tap_request_t *req,
                           oidc_field_err_t *e)
{
    if (!pol->enabled)
        return oidc_field_fail(e, "state", "the Temporary Access Pass policy is disabled");
    if (req->lifetime < 0)
        req->lifetime = pol->default_lifetime;
    if (req->lifetime < pol->min_lifetime || req->lifetime > pol->max_lifetime)
        return oidc_field_fail(e, "lifetimeInMinutes", "must be between %d and %d (the policy's bounds)",
                               pol->min_lifetime, pol->max_lifetime);
    if (req->once < 0)
        req->once = 1; /* one-time unless asked otherwise */
    if (!req->once && pol->once_forced)
        return oidc_field_fail(e, "isUsableOnce", "must be true: the policy allows one-time passes only");
    if (req->length < 0)
        req->length = pol->default_length;
    if (req->length < OIDC_TAP_LENGTH_MIN || req->length > OIDC_TAP_LENGTH_MAX)
        return oidc_field_fail(e, "length", "must be between %d and %d", OIDC_TAP_LENGTH_MIN,
                               OIDC_TAP_LENGTH_MAX);
    if (req->start != 0) {
        if (req->start < now - OIDC_TAP_START_SKEW_S)
            return oidc_field_fail(e, "startDateTime", "must not lie in the past");
        if (req->start > now + (int64_t)OIDC_TAP_LIFETIME_MAX * 60)
            return oidc_field_fail(e, "startDateTime", "must lie within %d days from now",
                                   OIDC_TAP_LIFETIME_MAX / 1440);
    }
    return 0;
}

int oidc_tap_request_from_json(yajl_val body, const oidc_tap_policy_t *pol, int64_t now,
                               oidc_tap_request_t *out, oidc_field_err_t *e)
{
    static const char *const KNOWN[] = {"@odata.type", "startDateTime", "lifetimeInMinutes", "isUsableOnce",
                                        NULL};
    out->start = 0;
    out->lifetime = -1;
    out->once = -1;
    out->length = -1;
    if (!YAJL_IS_OBJECT(body))
        return oidc_field_fail(e, "", "the body must be a JSON object");
    if (only_known(body, KNOWN, e) != 0)
        return -1;
    yajl_val start = gw_json_get(body, "startDateTime");
    if (start != NULL && !YAJL_IS_NULL(start)) {
        const char *s = YAJL_IS_STRING(start) ? YAJL_GET_STRING(start) : NULL;
        if (s == NULL || oidc_rfc3339_parse(s, strlen(s), &out->start) != 0)
            return oidc_field_fail(e, "startDateTime", "must be an RFC 3339 date-time");
    }
    int64_t v;
    gw_json_get_t g = gw_json_get_int64(body, "lifetimeInMinutes", &v);
    if (g == GW_JSON_WRONG_TYPE)
        return oidc_field_fail(e, "lifetimeInMinutes", "must be an integer");
    if (g == GW_JSON_OK) {
        if (v < 0 || v > OIDC_TAP_LIFETIME_MAX)
            return oidc_field_fail(e, "lifetimeInMinutes", "must be between %d and %d (the policy's bounds)",
                                   pol->min_lifetime, pol->max_lifetime);
        out->lifetime = (int)v;
    }
    int once = -1;
    if (bool_member(body, "isUsableOnce", "isUsableOnce", &once, e) != 0)
        return -1;
    out->once = once;
    return oidc_tap_request_check(pol, now, out, e);
}
