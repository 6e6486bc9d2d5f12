/* Authentication context class references: what a relying party asks for
 * and whether a session reaches it.
 *
 * OIDC Core §3.1.2.1 makes acr_values voluntary, and §5.5.1.1 makes an
 * essential "acr" claim binding. We treat both the same way for our own
 * values: a relying party that names urn:regain:acr:phishing-resistant gets
 * it only from a passkey sign-in, because a weaker assertion that the
 * relying party did not check would silently downgrade it. A weaker session
 * is stepped up (the user signs in again), never accepted. Values we do not
 * know (another area's, like verified recovery) are not judged here.
 *
 * Levels are ordered: a phishing-resistant sign-in (a passkey with user
 * verification) is also multi-factor, and multi-factor is also a password's
 * level. A request is met when the session reaches any one of the values it
 * names (they are alternatives), so the level needed is the lowest named.
 *
 * Verified recovery stands apart from the levels (it says how the person
 * got back in, not how strong the sign-in was): a request naming it is met
 * by a session from a verified recovery, or by one reaching another value
 * the request names; never by any session at all, or an ordinary sign-in
 * would answer a relying party that asked for a verified identity. */
#include <string.h>

#include "gateway/json.h"
#include "oidc/internal.h"

int oidc_acr_level(const char *acr)
{
    if (acr == NULL)
        return OIDC_ACR_LEVEL_NONE;
    if (strcmp(acr, OIDC_ACR_PHISHING_RESISTANT) == 0)
        return OIDC_ACR_LEVEL_PHISHING_RESISTANT;
    if (strcmp(acr, OIDC_ACR_MFA) == 0)
        return OIDC_ACR_LEVEL_MFA;
    if (strcmp(acr, OIDC_ACR_PASSWORD) == 0)
        return OIDC_ACR_LEVEL_PASSWORD;
    return OIDC_ACR_LEVEL_NONE;
}

static int level_n(const char *s, size_t n)
{
    static const char *const KNOWN[] = {OIDC_ACR_PASSWORD, OIDC_ACR_MFA, OIDC_ACR_PHISHING_RESISTANT};
    for (size_t i = 0; i < sizeof(KNOWN) / sizeof(KNOWN[0]); i++)
        if (strlen(KNOWN[i]) == n && memcmp(KNOWN[i], s, n) == 0)
            return (int)i + 1;
    return OIDC_ACR_LEVEL_NONE;
}

#define MAX_REQUESTED 16

/* The levels requested, in the relying party's order of preference. */
typedef struct {
    int level[MAX_REQUESTED];
    size_t n;
    int recovery; /* urn:regain:acr:verified-recovery was named */
} requested_t;

static void note_recovery(requested_t *q, const char *s, size_t n)
{
    if (n == sizeof(OIDC_ACR_VERIFIED_RECOVERY) - 1 && memcmp(s, OIDC_ACR_VERIFIED_RECOVERY, n) == 0)
        q->recovery = 1;
}

static void add(requested_t *q, int level)
{
    if (level != OIDC_ACR_LEVEL_NONE && q->n < MAX_REQUESTED)
        q->level[q->n++] = level;
}

yajl_val oidc_acr_essential(yajl_val claims, size_t m)
{
    static const char *const MEMBERS[OIDC_ACR_CLAIM_MEMBERS] = {"id_token", "userinfo"};
    yajl_val acr = m < OIDC_ACR_CLAIM_MEMBERS ? gw_json_get(gw_json_get(claims, MEMBERS[m]), "acr") : NULL;
    bool essential = false;
    return gw_json_get_bool(acr, "essential", &essential) == GW_JSON_OK && essential ? acr : NULL;
}

/* An essential acr claim request (OIDC Core §5.5.1: {"essential": true,
 * "value": ".."} or "values": [..]) in the id_token or userinfo member. */
static void from_claims(requested_t *q, const char *json, size_t len)
{
    if (json == NULL || len == 0)
        return;
    gw_err_t err;
    yajl_val root = gw_json_parse(json, len, NULL, &err);
    if (root == NULL)
        return; /* the authorize area validated it; nothing to read */
    for (size_t m = 0; m < OIDC_ACR_CLAIM_MEMBERS; m++) {
        yajl_val acr = oidc_acr_essential(root, m);
        if (acr == NULL)
            continue;
        const char *one = gw_json_str(acr, "value");
        if (one != NULL) {
            add(q, level_n(one, strlen(one)));
            note_recovery(q, one, strlen(one));
        }
        yajl_val values = gw_json_get(acr, "values");
        if (YAJL_IS_ARRAY(values))
            for (size_t i = 0; i < YAJL_GET_ARRAY(values)->len; i++) {
                const char *v = YAJL_GET_STRING(YAJL_GET_ARRAY(values)->values[i]);
                if (v != NULL) {
                    add(q, level_n(v, strlen(v)));
                    note_recovery(q, v, strlen(v));
                }
            }
    }
    yajl_tree_free(root);
}

static void requested(requested_t *q, const char *acr_values, size_t acr_len, const char *claims,
                      size_t claims_len)
{
    q->n = 0;
    q->recovery = 0;
    for (size_t i = 0; acr_values != NULL && i < acr_len;) {
        size_t j = i;
        while (j < acr_len && acr_values[j] != ' ')
            j++;
        add(q, level_n(acr_values + i, j - i));
        note_recovery(q, acr_values + i, j - i);
        i = j + 1;
    }
    from_claims(q, claims, claims_len);
}

int oidc_acr_needed(const char *acr_values, size_t acr_len, const char *claims_json, size_t claims_len)
{
    requested_t q;
    requested(&q, acr_values, acr_len, claims_json, claims_len);
    int need = OIDC_ACR_LEVEL_NONE;
    for (size_t i = 0; i < q.n; i++)
        if (need == OIDC_ACR_LEVEL_NONE || q.level[i] < need)
            need = q.level[i];
    return need;
}

int oidc_acr_satisfied(const char *acr_values, size_t acr_len, const char *claims_json, size_t claims_len,
                       const char *session_acr, const char **assert)
{
    static const char *const NAMES[] = {NULL, OIDC_ACR_PASSWORD, OIDC_ACR_MFA, OIDC_ACR_PHISHING_RESISTANT};
    requested_t q;
    requested(&q, acr_values, acr_len, claims_json, claims_len);
    int have = oidc_acr_level(session_acr);
    *assert = session_acr;
    if (q.n == 0 && !q.recovery)
        return 1;
    if (q.recovery && session_acr != NULL && strcmp(session_acr, OIDC_ACR_VERIFIED_RECOVERY) == 0)
        return 1;
    for (size_t i = 0; i < q.n; i++)
        if (q.level[i] <= have) {
            *assert = NAMES[q.level[i]];
            return 1;
        }
    return 0;
}
