/* The recovery policy as recovery reads it: the JSON document the admin API
 * stores (GET /admin/v1/recovery/policy), over safe defaults. */
#include <stdio.h>
#include <string.h>

#include "gateway/json.h"
#include "recovery/recovery.h"

static const char *const g_attr_names[RCV_ATTR__COUNT] = {
    [RCV_ATTR_NONE] = "",
    [RCV_ATTR_GIVEN_NAME] = "name.givenName",
    [RCV_ATTR_FAMILY_NAME] = "name.familyName",
    [RCV_ATTR_LEGAL_GIVEN_NAME] = "urn:regain:scim:schemas:extension:recovery:2.0:User:legalGivenName",
    [RCV_ATTR_LEGAL_FAMILY_NAME] = "urn:regain:scim:schemas:extension:recovery:2.0:User:legalFamilyName",
    [RCV_ATTR_BIRTHDATE] = "urn:regain:scim:schemas:extension:recovery:2.0:User:birthdate",
    [RCV_ATTR_EMPLOYEE_NUMBER] = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
};

/* Short forms an administrator may also write. */
static const struct {
    const char *alias;
    rcv_attr_t attr;
} g_aliases[] = {
    {"givenName", RCV_ATTR_GIVEN_NAME},
    {"familyName", RCV_ATTR_FAMILY_NAME},
    {"legalGivenName", RCV_ATTR_LEGAL_GIVEN_NAME},
    {"legalFamilyName", RCV_ATTR_LEGAL_FAMILY_NAME},
    {"birthdate", RCV_ATTR_BIRTHDATE},
    {"employeeNumber", RCV_ATTR_EMPLOYEE_NUMBER},
};

rcv_attr_t rcv_attr_from_name(const char *name)
{
    if (name == NULL)
        return RCV_ATTR_NONE;
    for (int a = 1; a < RCV_ATTR__COUNT; a++)
        if (strcasecmp(name, g_attr_names[a]) == 0)
            return (rcv_attr_t)a;
    for (size_t i = 0; i < sizeof(g_aliases) / sizeof(g_aliases[0]); i++)
        if (strcasecmp(name, g_aliases[i].alias) == 0)
            return g_aliases[i].attr;
    return RCV_ATTR_NONE;
}

const char *rcv_attr_name(rcv_attr_t a)
{
    return a > RCV_ATTR_NONE && a < RCV_ATTR__COUNT ? g_attr_names[a] : "";
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

static void rule_set(rcv_rule_t *r, const char *claim, rcv_attr_t attr, rcv_mode_t mode)
{
    copy(r->claim, sizeof(r->claim), claim);
    r->attr = attr;
    r->mode = mode;
}

void rcv_policy_defaults(rcv_policy_t *p)
{
    memset(p, 0, sizeof(*p));
    p->mode = RCV_POLICY_DISABLED;
    rule_set(&p->rules[0], "given_name", RCV_ATTR_GIVEN_NAME, RCV_MODE_RELAXED);
    rule_set(&p->rules[1], "family_name", RCV_ATTR_FAMILY_NAME, RCV_MODE_RELAXED);
    rule_set(&p->rules[2], "birthdate", RCV_ATTR_BIRTHDATE, RCV_MODE_EXACT);
    p->rule_count = 3;
    p->max_verification_age_s = 3600;
    p->attempt_lifetime_s = 900;
    p->tap_lifetime_minutes = 60;
    p->tap_usable_once = 1;
    p->tap_length = 16;
    p->end_sessions = 1;
    p->remove_methods = 0;
    p->max_attempts_per_account = 5;
    p->max_attempts_per_address = 20;
    p->rate_window_s = 3600;
}

/* The first present member of `names` (the policy's spellings differ between
 * versions of the admin API; accept both camelCase and snake_case). */
static yajl_val member(yajl_val obj, const char *const *names)
{
    for (; *names != NULL; names++) {
        yajl_val v = gw_json_get(obj, *names);
        if (v != NULL)
            return v;
    }
    return NULL;
}
#define MEMBER(obj, ...) member((obj), (const char *const[]){__VA_ARGS__, NULL})

static void read_int(yajl_val v, int64_t *out)
{
    if (v != NULL && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= 0)
        *out = YAJL_GET_INTEGER(v);
}

static void read_bool(yajl_val v, int *out)
{
    if (v != NULL && YAJL_IS_TRUE(v))
        *out = 1;
    else if (v != NULL && YAJL_IS_FALSE(v))
        *out = 0;
}

/* An array of strings (or of objects with a `value`/`id` member, as SCIM
 * group references are written). -1 when an entry does not fit: dropping
 * it would widen a list where "none" means "any", or shift the per-provider
 * groups that follow the ids. */
static int read_list(yajl_val v, char (*out)[RCV_NAME_MAX], size_t *count)
{
    if (v == NULL || !YAJL_IS_ARRAY(v))
        return 0;
    *count = 0;
    for (size_t i = 0; i < v->u.array.len && *count < RCV_MAX_LIST; i++) {
        yajl_val e = v->u.array.values[i];
        const char *s = YAJL_IS_STRING(e) ? YAJL_GET_STRING(e) : NULL;
        if (s == NULL)
            s = gw_json_str(e, "value");
        if (s == NULL)
            s = gw_json_str(e, "id");
        if (s != NULL && strlen(s) >= RCV_NAME_MAX)
            return -1;
        if (s != NULL)
            copy(out[(*count)++], RCV_NAME_MAX, s);
    }
    return 0;
}

const char *rcv_rules_check(const rcv_rule_t *rules, size_t n, int need_key, size_t *bad)
{
    int key = 0;
    for (size_t i = 0; i < n; i++) {
        if (rules[i].attr <= RCV_ATTR_NONE || rules[i].attr >= RCV_ATTR__COUNT) {
            *bad = i;
            return "the attribute is not one recovery can compare (name.givenName, name.familyName, "
                   "legalGivenName, legalFamilyName, birthdate, employeeNumber)";
        }
        key |= rules[i].attr == RCV_ATTR_BIRTHDATE || rules[i].attr == RCV_ATTR_EMPLOYEE_NUMBER;
    }
    if (need_key && !key) {
        *bad = n;
        return "a rule must compare the birthdate or the employee number: accounts are looked up by one of "
               "them";
    }
    return NULL;
}

static int read_rule(yajl_val o, rcv_rule_t *r, rcv_mode_t default_mode, char *msg, size_t msgsize)
{
    const char *claim = gw_json_str(o, "claim");
    const char *attr = gw_json_str(o, "attribute");
    const char *mode = gw_json_str(o, "mode");
    if (mode == NULL)
        mode = gw_json_str(o, "normalization");
    if (claim == NULL || attr == NULL || strlen(claim) >= RCV_NAME_MAX) {
        snprintf(msg, msgsize, "a matching rule needs \"claim\" and \"attribute\"");
        return -1;
    }
    /* An unknown attribute stays RCV_ATTR_NONE for rcv_rules_check. */
    rcv_attr_t a = rcv_attr_from_name(attr);
    rcv_mode_t m = default_mode;
    if (mode != NULL)
        m = strcmp(mode, "relaxed") == 0 ? RCV_MODE_RELAXED : RCV_MODE_EXACT;
    /* Dates and numbers have no words to relax. */
    if (a == RCV_ATTR_BIRTHDATE || a == RCV_ATTR_EMPLOYEE_NUMBER)
        m = RCV_MODE_EXACT;
    rule_set(r, claim, a, m);
    return 0;
}

int rcv_policy_parse(const char *json, size_t len, rcv_policy_t *p, char *msg, size_t msgsize)
{
    rcv_policy_defaults(p);
    gw_err_t err;
    gw_json_limits_t lim = {.max_bytes = 256 * 1024, .require_object = true};
    yajl_val root = gw_json_parse(json, len, &lim, &err);
    if (root == NULL) {
        snprintf(msg, msgsize, "the recovery policy is not a JSON object");
        return -1;
    }
    int rc = -1;
    const char *mode = gw_json_str(root, "mode");
    if (mode != NULL && strcmp(mode, "enabled") == 0)
        p->mode = RCV_POLICY_ENABLED;
    else if (mode != NULL && strcmp(mode, "evaluation") == 0)
        p->mode = RCV_POLICY_EVALUATION;
    else
        p->mode = RCV_POLICY_DISABLED;

    char groups[RCV_MAX_LIST][RCV_NAME_MAX];
    size_t ngroups = 0;
    yajl_val provs = MEMBER(root, "providers", "allowedProviders", "allowed_providers");
    yajl_val ev = MEMBER(root, "evidence", "requiredEvidence", "required_evidence");
    if (read_list(MEMBER(root, "eligibleGroups", "eligible_groups"), groups, &ngroups) != 0 ||
        read_list(provs, p->providers, &p->provider_count) != 0 ||
        read_list(MEMBER(ev, "trustFrameworks", "trust_frameworks"), p->trust_frameworks,
                  &p->trust_framework_count) != 0 ||
        read_list(MEMBER(ev, "assuranceLevels", "assurance_levels"), p->assurance_levels,
                  &p->assurance_level_count) != 0) {
        snprintf(msg, msgsize,
                 "a group, provider, trust framework or assurance level is longer than %d bytes",
                 RCV_NAME_MAX - 1);
        goto out;
    }
    p->eligible_group_count = 0;
    for (size_t i = 0; i < ngroups; i++)
        if (strlen(groups[i]) == 36)
            copy(p->eligible_groups[p->eligible_group_count++], 37, groups[i]);
    /* {"id", "groups": [uuid...]}: read_list kept the ids in order. */
    for (size_t i = 0, k = 0;
         provs != NULL && YAJL_IS_ARRAY(provs) && i < provs->u.array.len && k < p->provider_count; i++) {
        yajl_val e = provs->u.array.values[i];
        if (YAJL_IS_STRING(e) || gw_json_str(e, "id") != NULL || gw_json_str(e, "value") != NULL) {
            yajl_val g = gw_json_get(e, "groups");
            p->provider_group_count[k] = 0;
            for (size_t j = 0; g != NULL && YAJL_IS_ARRAY(g) && j < g->u.array.len && j < RCV_MAX_LIST; j++) {
                yajl_val gv = g->u.array.values[j];
                if (YAJL_IS_STRING(gv) && strlen(gv->u.string) == 36)
                    copy(p->provider_groups[k][p->provider_group_count[k]++], 37, gv->u.string);
            }
            k++;
        }
    }

    yajl_val matching = MEMBER(root, "matching");
    rcv_mode_t default_mode = RCV_MODE_EXACT;
    const char *mm = gw_json_str(matching, "mode");
    if (mm != NULL && strcmp(mm, "relaxed") == 0)
        default_mode = RCV_MODE_RELAXED;
    yajl_val rules = MEMBER(matching, "rules");
    if (rules == NULL)
        rules = MEMBER(root, "matchingRules", "matching_rules");
    if (rules != NULL && YAJL_IS_ARRAY(rules)) {
        if (rules->u.array.len == 0 || rules->u.array.len > RCV_MAX_RULES) {
            snprintf(msg, msgsize, "matching needs 1 to %d rules", RCV_MAX_RULES);
            goto out;
        }
        p->rule_count = 0;
        for (size_t i = 0; i < rules->u.array.len; i++)
            if (read_rule(rules->u.array.values[i], &p->rules[p->rule_count++], default_mode, msg, msgsize))
                goto out;
        size_t bad;
        const char *why = rcv_rules_check(p->rules, p->rule_count, 1, &bad);
        if (why != NULL) {
            if (bad < p->rule_count)
                snprintf(msg, msgsize, "matching rule %zu: %s", bad, why);
            else
                snprintf(msg, msgsize, "matching rules: %s", why);
            goto out;
        }
    } else if (mm != NULL) {
        for (size_t i = 0; i < p->rule_count; i++)
            if (p->rules[i].attr != RCV_ATTR_BIRTHDATE)
                p->rules[i].mode = default_mode;
    }
    yajl_val dis = MEMBER(matching, "disambiguate", "disambiguation");
    if (dis == NULL)
        dis = MEMBER(root, "disambiguation");
    /* A list of rules in the admin API's document; recovery applies the first. */
    if (dis != NULL && YAJL_IS_ARRAY(dis))
        dis = dis->u.array.len > 0 ? dis->u.array.values[0] : NULL;
    if (dis != NULL && YAJL_IS_OBJECT(dis)) {
        size_t bad;
        const char *why = NULL;
        if (read_rule(dis, &p->disambiguation, RCV_MODE_EXACT, msg, msgsize) ||
            (why = rcv_rules_check(&p->disambiguation, 1, 0, &bad)) != NULL) {
            if (why != NULL)
                snprintf(msg, msgsize, "disambiguation rule: %s", why);
            goto out;
        }
    }

    yajl_val hook = MEMBER(matching, "webhook");
    const char *hook_url = gw_json_str(hook, "url");
    /* The webhook can veto a recovery: one named but unusable (no url, or
     * longer than we keep) makes the policy unusable, rather than silently
     * recovering without the check. */
    if (hook != NULL && !YAJL_IS_NULL(hook) &&
        (hook_url == NULL || hook_url[0] == '\0' || strlen(hook_url) >= sizeof(p->webhook_url))) {
        snprintf(msg, msgsize, "matching.webhook.url is missing or longer than %zu characters",
                 sizeof(p->webhook_url) - 1);
        goto out;
    }
    if (hook_url != NULL) {
        copy(p->webhook_url, sizeof(p->webhook_url), hook_url);
        p->webhook_timeout_ms = 2000;
        read_int(MEMBER(hook, "timeoutMs"), &p->webhook_timeout_ms);
        const char *oe = gw_json_str(hook, "onError");
        p->webhook_accept_on_error = oe != NULL && strcmp(oe, "accept") == 0;
    }
    const char *one = gw_json_str(ev, "assuranceLevel");
    if (one != NULL && p->assurance_level_count == 0 && strlen(one) < RCV_NAME_MAX)
        copy(p->assurance_levels[p->assurance_level_count++], RCV_NAME_MAX, one);
    read_int(MEMBER(ev, "maxAgeSeconds", "max_age_seconds", "maxVerificationAgeSeconds"),
             &p->max_verification_age_s);

    read_int(MEMBER(root, "attemptLifetimeSeconds", "attempt_lifetime_seconds"), &p->attempt_lifetime_s);
    yajl_val tap = MEMBER(root, "tap", "tapSettings");
    read_int(MEMBER(tap, "lifetimeInMinutes", "lifetime_minutes"), &p->tap_lifetime_minutes);
    read_bool(MEMBER(tap, "isUsableOnce", "usable_once"), &p->tap_usable_once);
    read_int(MEMBER(tap, "length"), &p->tap_length);
    yajl_val after = MEMBER(root, "afterRecovery", "after_recovery", "postRecovery");
    read_bool(MEMBER(after, "endSessions", "end_sessions"), &p->end_sessions);
    read_bool(MEMBER(after, "removeOldMethods", "removeMethods", "remove_methods"), &p->remove_methods);
    /* {"perAccount": {"max": 5, "windowSeconds": 3600}, "perAddress": {...}};
     * one window serves both (the longer one, so neither limit loosens). */
    yajl_val rl = MEMBER(root, "rateLimits", "rate_limits");
    yajl_val acct = MEMBER(rl, "perAccount", "per_account"), addr = MEMBER(rl, "perAddress", "per_address");
    int64_t w1 = 0, w2 = 0;
    if (acct != NULL && YAJL_IS_OBJECT(acct)) {
        read_int(MEMBER(acct, "max"), &p->max_attempts_per_account);
        read_int(MEMBER(acct, "windowSeconds"), &w1);
    } else {
        read_int(acct, &p->max_attempts_per_account);
    }
    if (addr != NULL && YAJL_IS_OBJECT(addr)) {
        read_int(MEMBER(addr, "max"), &p->max_attempts_per_address);
        read_int(MEMBER(addr, "windowSeconds"), &w2);
    } else {
        read_int(addr, &p->max_attempts_per_address);
    }
    read_int(MEMBER(rl, "windowSeconds", "window_seconds"), &p->rate_window_s);
    if (w1 > 0 || w2 > 0)
        p->rate_window_s = w1 > w2 ? w1 : w2;
    if (p->attempt_lifetime_s < 60)
        p->attempt_lifetime_s = 60;
    if (p->rate_window_s < 1)
        p->rate_window_s = 1;
    rc = 0;
out:
    yajl_tree_free(root);
    return rc;
}

static int in_list(char (*list)[RCV_NAME_MAX], size_t n, const char *v)
{
    if (n == 0)
        return 1;
    if (v == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], v) == 0)
            return 1;
    return 0;
}

int rcv_policy_allows_provider(const rcv_policy_t *p, const char *provider_id)
{
    return in_list((char(*)[RCV_NAME_MAX])p->providers, p->provider_count, provider_id);
}

void rcv_policy_provider_groups(const rcv_policy_t *p, const char *provider_id, char *out, size_t size)
{
    size_t o = 0;
    o += (size_t)snprintf(out + o, size - o, "{");
    for (size_t i = 0; i < p->provider_count; i++) {
        if (strcmp(p->providers[i], provider_id) != 0)
            continue;
        for (size_t j = 0; j < p->provider_group_count[i] && o < size; j++)
            o += (size_t)snprintf(out + o, size - o, "%s%s", j ? "," : "", p->provider_groups[i][j]);
        break;
    }
    if (o < size)
        snprintf(out + o, size - o, "}");
}

int rcv_policy_allows_framework(const rcv_policy_t *p, const char *trust_framework)
{
    return in_list((char(*)[RCV_NAME_MAX])p->trust_frameworks, p->trust_framework_count, trust_framework);
}

int rcv_policy_allows_level(const rcv_policy_t *p, const char *assurance_level)
{
    return in_list((char(*)[RCV_NAME_MAX])p->assurance_levels, p->assurance_level_count, assurance_level);
}
