/* The recovery policy document (issue 6 item 4): validated member by member
 * and written back complete, with the defaults of schema/010_tap.sql for
 * what is absent, so a reader (issue 7's recovery flow) never meets a
 * missing member. Errors name the member by its JSON path. Pure: no request,
 * no database. */
#include <stdio.h>
#include <string.h>

#include "oidc/tap_internal.h"
#include "recovery/recovery.h"

/* Lists are bounded by what recovery keeps (recovery/recovery.h): a longer
 * one would be cut there (members of the groups past the 16th refused as
 * not eligible) or refused whole (more rules), so it is refused here. */
#define GROUPS_MAX    RCV_MAX_LIST
#define PROVIDERS_MAX RCV_MAX_LIST
#define RULES_MAX     RCV_MAX_RULES
#define DISAMBIG_MAX  8
#define STRINGS_MAX   RCV_MAX_LIST
#define CLAIM_MAX     (RCV_NAME_MAX - 1)
#define ATTRIBUTE_MAX 256
#define TEXT_MAX      (RCV_NAME_MAX - 1)
/* What recovery keeps of matching.webhook.url (recovery/recovery.h): a longer
 * one would be refused there, so it is refused here, at the source. */
#define WEBHOOK_URL_MAX (sizeof(((rcv_policy_t *)0)->webhook_url) - 1)

typedef struct {
    gw_jw_t *w;
    oidc_field_err_t *e;
} ctx_t;

static int fail(ctx_t *c, const char *path, const char *msg)
{
    return oidc_field_fail(c->e, path, "%s", msg);
}

static void join(char *out, size_t cap, const char *base, const char *key)
{
    snprintf(out, cap, "%s%s%s", base, base[0] ? "." : "", key);
}

/* Members of `obj` must be among `known`; `path` names obj. */
static int only_known(ctx_t *c, yajl_val obj, const char *path, const char *const *known)
{
    for (size_t i = 0; i < obj->u.object.len; i++) {
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, obj->u.object.keys[i]) == 0;
        if (!ok) {
            char p[96];
            join(p, sizeof(p), path, obj->u.object.keys[i]);
            return fail(c, p, "is not a member of the recovery policy");
        }
    }
    return 0;
}

/* `key` of `obj` as an object, or NULL when absent; -1 on a wrong type. */
static int object_member(ctx_t *c, yajl_val obj, const char *key, const char *path, yajl_val *out)
{
    *out = gw_json_get(obj, key);
    if (*out != NULL && !YAJL_IS_OBJECT(*out))
        return fail(c, path, "must be an object");
    return 0;
}

static int int_member(ctx_t *c, yajl_val obj, const char *key, const char *path, int64_t lo, int64_t hi,
                      int64_t def)
{
    int64_t v = def;
    gw_json_get_t g = gw_json_get_int64(obj, key, &v);
    if (g == GW_JSON_WRONG_TYPE)
        return fail(c, path, "must be an integer");
    if (v < lo || v > hi)
        return oidc_field_fail(c->e, path, "must be between %lld and %lld", (long long)lo, (long long)hi);
    gw_jw_kv_int64(c->w, key, v);
    return 0;
}

static int bool_member(ctx_t *c, yajl_val obj, const char *key, const char *path, bool def)
{
    bool v = def;
    if (gw_json_get_bool(obj, key, &v) == GW_JSON_WRONG_TYPE)
        return fail(c, path, "must be true or false");
    gw_jw_kv_bool(c->w, key, v);
    return 0;
}

static int enum_member(ctx_t *c, yajl_val obj, const char *key, const char *path, const char *const *values,
                       const char *def)
{
    yajl_val v = gw_json_get(obj, key);
    const char *s = def;
    if (v != NULL) {
        s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
        int ok = 0;
        for (const char *const *p = values; *p && !ok; p++)
            ok = strcmp(*p, s) == 0;
        if (!ok) {
            char msg[160];
            size_t n = (size_t)snprintf(msg, sizeof(msg), "must be one of");
            for (const char *const *p = values; *p && n < sizeof(msg); p++)
                n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s \"%s\"", p == values ? "" : ",", *p);
            return fail(c, path, msg);
        }
    }
    gw_jw_kv_str(c->w, key, s);
    return 0;
}

/* Character classes of the strings a policy holds. */
enum { K_UUID, K_NAME, K_TEXT };

static int string_ok(const char *s, int kind, size_t max)
{
    size_t n = strlen(s);
    if (kind == K_UUID)
        return oidc_uuid_ok(s, n);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (kind == K_NAME && !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' || ch == ':'))
            return 0;
        if (kind == K_TEXT && (ch < 0x20 || ch == 0x7f))
            return 0;
    }
    return 1;
}

static int string_member(ctx_t *c, yajl_val obj, const char *key, const char *path, int kind, size_t max,
                         int required)
{
    yajl_val v = gw_json_get(obj, key);
    if (v == NULL) {
        if (required)
            return fail(c, path, "is required");
        return 0;
    }
    if (!YAJL_IS_STRING(v) || !string_ok(YAJL_GET_STRING(v), kind, max))
        return fail(c, path,
                    kind == K_UUID   ? "must be a SCIM group id (a UUID)"
                    : kind == K_NAME ? "must be 1 to 256 letters, digits, '_', '-', '.' or ':'"
                                     : "must be printable text of 1 to 128 characters");
    gw_jw_kv_str(c->w, key, YAJL_GET_STRING(v));
    return 0;
}

/* An array of distinct strings of one kind, at most `max_items`. */
static int strings_member(ctx_t *c, yajl_val obj, const char *key, const char *path, int kind, size_t max_len,
                          size_t max_items)
{
    yajl_val v = gw_json_get(obj, key);
    gw_jw_key(c->w, key);
    gw_jw_arr_open(c->w);
    if (v != NULL) {
        if (!YAJL_IS_ARRAY(v))
            return fail(c, path, "must be an array of strings");
        if (v->u.array.len > max_items)
            return oidc_field_fail(c->e, path, "must have at most %zu items", max_items);
        for (size_t i = 0; i < v->u.array.len; i++) {
            yajl_val it = v->u.array.values[i];
            char p[96];
            snprintf(p, sizeof(p), "%s[%zu]", path, i);
            if (!YAJL_IS_STRING(it) || !string_ok(YAJL_GET_STRING(it), kind, max_len))
                return fail(c, p,
                            kind == K_UUID ? "must be a SCIM group id (a UUID)"
                                           : "must be printable text of 1 to 128 characters");
            const char *s = YAJL_GET_STRING(it);
            for (size_t j = 0; s != NULL && j < i; j++) {
                const char *prev = YAJL_GET_STRING(v->u.array.values[j]);
                if (prev != NULL && strcmp(prev, s) == 0)
                    return fail(c, p, "is repeated");
            }
            gw_jw_str(c->w, s);
        }
    }
    gw_jw_arr_close(c->w);
    return 0;
}

/* [{"claim": ..., "attribute": ...}], which recovery must be able to run
 * (rcv_rules_check, as when it reads the policy; need_key for the matching
 * rules): a policy it cannot run would be stored and then refuse, or fail,
 * every attempt. */
static int rules_member(ctx_t *c, yajl_val obj, const char *key, const char *path, size_t min, size_t max,
                        int use_defaults, int need_key)
{
    rcv_rule_t rules[RCV_MAX_RULES > DISAMBIG_MAX ? RCV_MAX_RULES : DISAMBIG_MAX];
    static const char *const KNOWN[] = {"claim", "attribute", NULL};
    static const char *const DEFAULTS[][2] = {
        {"given_name", "name.givenName"},
        {"family_name", "name.familyName"},
        {"birthdate", "urn:regain:scim:schemas:extension:recovery:2.0:User:birthdate"},
    };
    yajl_val v = gw_json_get(obj, key);
    gw_jw_key(c->w, key);
    gw_jw_arr_open(c->w);
    if (v == NULL && use_defaults) {
        for (size_t i = 0; i < sizeof(DEFAULTS) / sizeof(DEFAULTS[0]); i++) {
            gw_jw_obj_open(c->w);
            gw_jw_kv_str(c->w, "claim", DEFAULTS[i][0]);
            gw_jw_kv_str(c->w, "attribute", DEFAULTS[i][1]);
            gw_jw_obj_close(c->w);
        }
    } else if (v != NULL) {
        if (!YAJL_IS_ARRAY(v))
            return fail(c, path, "must be an array of {\"claim\", \"attribute\"} objects");
        if (v->u.array.len < min || v->u.array.len > max)
            return oidc_field_fail(c->e, path, "must have %zu to %zu rules", min, max);
        for (size_t i = 0; i < v->u.array.len; i++) {
            yajl_val it = v->u.array.values[i];
            char p[64], pc[96], pa[96];
            snprintf(p, sizeof(p), "%s[%zu]", path, i);
            snprintf(pc, sizeof(pc), "%s.claim", p);
            snprintf(pa, sizeof(pa), "%s.attribute", p);
            if (!YAJL_IS_OBJECT(it))
                return fail(c, p, "must be an object with \"claim\" and \"attribute\"");
            gw_jw_obj_open(c->w);
            if (only_known(c, it, p, KNOWN) || string_member(c, it, "claim", pc, K_NAME, CLAIM_MAX, 1) ||
                string_member(c, it, "attribute", pa, K_NAME, ATTRIBUTE_MAX, 1))
                return -1;
            gw_jw_obj_close(c->w);
            memset(&rules[i], 0, sizeof(rules[i]));
            rules[i].attr = rcv_attr_from_name(gw_json_str(it, "attribute"));
        }
        size_t bad;
        const char *why = rcv_rules_check(rules, v->u.array.len, need_key, &bad);
        if (why != NULL) {
            char pa[96];
            if (bad < v->u.array.len)
                snprintf(pa, sizeof(pa), "%s[%zu].attribute", path, bad);
            else
                snprintf(pa, sizeof(pa), "%s", path);
            return fail(c, pa, why);
        }
    } else if (min > 0) {
        return fail(c, path, "is required");
    }
    gw_jw_arr_close(c->w);
    return 0;
}

static int webhook_member(ctx_t *c, yajl_val matching)
{
    static const char *const KNOWN[] = {"url", "timeoutMs", "onError", NULL};
    static const char *const ON_ERROR[] = {"reject", "accept", NULL};
    yajl_val v = gw_json_get(matching, "webhook");
    if (v == NULL || YAJL_IS_NULL(v))
        return 0;
    if (!YAJL_IS_OBJECT(v))
        return fail(c, "matching.webhook", "must be an object");
    if (only_known(c, v, "matching.webhook", KNOWN))
        return -1;
    yajl_val url = gw_json_get(v, "url");
    const char *u = url && YAJL_IS_STRING(url) ? YAJL_GET_STRING(url) : NULL;
    /* The webhook receives personal data: only over TLS. */
    if (u == NULL || strncmp(u, "https://", 8) != 0 || strlen(u) <= 8 ||
        !string_ok(u, K_TEXT, WEBHOOK_URL_MAX) || strchr(u, ' ') != NULL)
        return fail(c, "matching.webhook.url", "must be an https:// URL of at most 511 characters");
    gw_jw_key(c->w, "webhook");
    gw_jw_obj_open(c->w);
    gw_jw_kv_str(c->w, "url", u);
    if (int_member(c, v, "timeoutMs", "matching.webhook.timeoutMs", 100, 30000, 2000) ||
        enum_member(c, v, "onError", "matching.webhook.onError", ON_ERROR, "reject"))
        return -1;
    gw_jw_obj_close(c->w);
    return 0;
}

static int matching_member(ctx_t *c, yajl_val doc)
{
    static const char *const KNOWN[] = {"mode", "rules", "disambiguate", "webhook", NULL};
    static const char *const MODES[] = {"exact", "relaxed", NULL};
    yajl_val m;
    if (object_member(c, doc, "matching", "matching", &m))
        return -1;
    if (m != NULL && only_known(c, m, "matching", KNOWN))
        return -1;
    gw_jw_key(c->w, "matching");
    gw_jw_obj_open(c->w);
    if (enum_member(c, m, "mode", "matching.mode", MODES, "exact") ||
        rules_member(c, m, "rules", "matching.rules", 1, RULES_MAX, 1, 1) ||
        rules_member(c, m, "disambiguate", "matching.disambiguate", 0, DISAMBIG_MAX, 0, 0) ||
        webhook_member(c, m))
        return -1;
    gw_jw_obj_close(c->w);
    return 0;
}

static int providers_member(ctx_t *c, yajl_val doc)
{
    static const char *const KNOWN[] = {"id", "groups", NULL};
    yajl_val v = gw_json_get(doc, "providers");
    gw_jw_key(c->w, "providers");
    gw_jw_arr_open(c->w);
    if (v != NULL) {
        if (!YAJL_IS_ARRAY(v))
            return fail(c, "providers", "must be an array of {\"id\", \"groups\"} objects");
        if (v->u.array.len > PROVIDERS_MAX)
            return oidc_field_fail(c->e, "providers", "must have at most %d items", PROVIDERS_MAX);
        for (size_t i = 0; i < v->u.array.len; i++) {
            yajl_val it = v->u.array.values[i];
            char p[64], pid[96], pg[96];
            snprintf(p, sizeof(p), "providers[%zu]", i);
            snprintf(pid, sizeof(pid), "%s.id", p);
            snprintf(pg, sizeof(pg), "%s.groups", p);
            if (!YAJL_IS_OBJECT(it))
                return fail(c, p, "must be an object with \"id\" and optional \"groups\"");
            if (only_known(c, it, p, KNOWN))
                return -1;
            const char *id = gw_json_str(it, "id");
            for (size_t j = 0; id != NULL && j < i; j++) {
                const char *other = gw_json_str(v->u.array.values[j], "id");
                if (other != NULL && strcmp(other, id) == 0)
                    return fail(c, pid, "is repeated");
            }
            gw_jw_obj_open(c->w);
            if (string_member(c, it, "id", pid, K_NAME, 64, 1))
                return -1;
            if (gw_json_get(it, "groups") != NULL &&
                strings_member(c, it, "groups", pg, K_UUID, 36, GROUPS_MAX))
                return -1;
            gw_jw_obj_close(c->w);
        }
    }
    gw_jw_arr_close(c->w);
    return 0;
}

static int evidence_member(ctx_t *c, yajl_val doc)
{
    static const char *const KNOWN[] = {"trustFrameworks", "assuranceLevels", "maxAgeSeconds", NULL};
    yajl_val v;
    if (object_member(c, doc, "evidence", "evidence", &v) ||
        (v != NULL && only_known(c, v, "evidence", KNOWN)))
        return -1;
    gw_jw_key(c->w, "evidence");
    gw_jw_obj_open(c->w);
    if (strings_member(c, v, "trustFrameworks", "evidence.trustFrameworks", K_TEXT, TEXT_MAX, STRINGS_MAX) ||
        strings_member(c, v, "assuranceLevels", "evidence.assuranceLevels", K_TEXT, TEXT_MAX, STRINGS_MAX) ||
        int_member(c, v, "maxAgeSeconds", "evidence.maxAgeSeconds", 60, 10LL * 366 * 86400, 31536000))
        return -1;
    gw_jw_obj_close(c->w);
    return 0;
}

static int tap_member(ctx_t *c, yajl_val doc)
{
    static const char *const KNOWN[] = {"lifetimeInMinutes", "isUsableOnce", "length", NULL};
    yajl_val v;
    if (object_member(c, doc, "tap", "tap", &v) || (v != NULL && only_known(c, v, "tap", KNOWN)))
        return -1;
    gw_jw_key(c->w, "tap");
    gw_jw_obj_open(c->w);
    if (int_member(c, v, "lifetimeInMinutes", "tap.lifetimeInMinutes", OIDC_TAP_LIFETIME_MIN,
                   OIDC_TAP_LIFETIME_MAX, 60) ||
        bool_member(c, v, "isUsableOnce", "tap.isUsableOnce", true) ||
        int_member(c, v, "length", "tap.length", OIDC_TAP_LENGTH_MIN, OIDC_TAP_LENGTH_MAX, 16))
        return -1;
    gw_jw_obj_close(c->w);
    return 0;
}

static int after_member(ctx_t *c, yajl_val doc)
{
    static const char *const KNOWN[] = {"endSessions", "removeOldMethods", NULL};
    yajl_val v;
    if (object_member(c, doc, "afterRecovery", "afterRecovery", &v) ||
        (v != NULL && only_known(c, v, "afterRecovery", KNOWN)))
        return -1;
    gw_jw_key(c->w, "afterRecovery");
    gw_jw_obj_open(c->w);
    if (bool_member(c, v, "endSessions", "afterRecovery.endSessions", true) ||
        bool_member(c, v, "removeOldMethods", "afterRecovery.removeOldMethods", false))
        return -1;
    gw_jw_obj_close(c->w);
    return 0;
}

static int limit_member(ctx_t *c, yajl_val limits, const char *key, int64_t def_max)
{
    static const char *const KNOWN[] = {"max", "windowSeconds", NULL};
    char path[64], pmax[80], pwin[80];
    snprintf(path, sizeof(path), "rateLimits.%s", key);
    snprintf(pmax, sizeof(pmax), "%s.max", path);
    snprintf(pwin, sizeof(pwin), "%s.windowSeconds", path);
    yajl_val v;
    if (object_member(c, limits, key, path, &v) || (v != NULL && only_known(c, v, path, KNOWN)))
        return -1;
    gw_jw_key(c->w, key);
    gw_jw_obj_open(c->w);
    if (int_member(c, v, "max", pmax, 1, 1000, def_max) ||
        int_member(c, v, "windowSeconds", pwin, 60, 30 * 86400, 3600))
        return -1;
    gw_jw_obj_close(c->w);
    return 0;
}

static int rate_member(ctx_t *c, yajl_val doc)
{
    static const char *const KNOWN[] = {"perAccount", "perAddress", NULL};
    yajl_val v;
    if (object_member(c, doc, "rateLimits", "rateLimits", &v) ||
        (v != NULL && only_known(c, v, "rateLimits", KNOWN)))
        return -1;
    gw_jw_key(c->w, "rateLimits");
    gw_jw_obj_open(c->w);
    if (limit_member(c, v, "perAccount", 5) || limit_member(c, v, "perAddress", 20))
        return -1;
    gw_jw_obj_close(c->w);
    return 0;
}

int oidc_recovery_policy_normalise(yajl_val doc, gw_jw_t *w, oidc_field_err_t *e)
{
    /* version and updatedDateTime are what GET adds: a client may PUT back
     * what it read. */
    static const char *const KNOWN[] = {"mode",          "eligibleGroups",  "providers",
                                        "matching",      "evidence",        "tap",
                                        "afterRecovery", "rateLimits",      "attemptLifetimeSeconds",
                                        "version",       "updatedDateTime", NULL};
    static const char *const MODES[] = {"disabled", "evaluation", "enabled", NULL};
    ctx_t c = {w, e};
    if (!YAJL_IS_OBJECT(doc))
        return oidc_field_fail(e, "", "the policy must be a JSON object");
    if (only_known(&c, doc, "", KNOWN))
        return -1;
    gw_jw_obj_open(w);
    if (enum_member(&c, doc, "mode", "mode", MODES, "disabled") ||
        strings_member(&c, doc, "eligibleGroups", "eligibleGroups", K_UUID, 36, GROUPS_MAX) ||
        providers_member(&c, doc) || matching_member(&c, doc) || evidence_member(&c, doc) ||
        tap_member(&c, doc) || after_member(&c, doc) || rate_member(&c, doc) ||
        int_member(&c, doc, "attemptLifetimeSeconds", "attemptLifetimeSeconds", 60, 86400, 900))
        return -1;
    gw_jw_obj_close(w);
    return 0;
}
