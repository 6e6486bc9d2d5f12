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
 * level. The values of one request (acr_values, or an essential "acr" of
 * the claims parameter's id_token or userinfo member) are alternatives: it
 * is met when the session reaches any one of them, so the level it needs is
 * the lowest named. When a relying party sends more than one, each binds:
 * a voluntary acr_values cannot loosen an essential claim (§5.5.1.1: the
 * server "MUST return an acr Claim Value that matches one of the requested
 * values"), so the session must meet every one, and the ID token asserts a
 * value of the essential id_token request when there is one.
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

/* One request's levels, in the relying party's order of preference. */
typedef struct {
    int level[MAX_REQUESTED];
    size_t n;
    int recovery; /* urn:regain:acr:verified-recovery was named */
} request_t;

/* The requests a relying party can make, in the order that picks the acr an
 * ID token asserts: the id_token member's essential claim first. */
enum { FROM_ID_TOKEN, FROM_USERINFO, FROM_ACR_VALUES, FROM_N };

typedef struct {
    request_t q[FROM_N];
} requested_t;

static void note_recovery(request_t *q, const char *s, size_t n)
{
    if (n == sizeof(OIDC_ACR_VERIFIED_RECOVERY) - 1 && memcmp(s, OIDC_ACR_VERIFIED_RECOVERY, n) == 0)
        q->recovery = 1;
}

static void add(request_t *q, const char *s, size_t n)
{
    int level = level_n(s, n);
    if (level != OIDC_ACR_LEVEL_NONE && q->n < MAX_REQUESTED)
        q->level[q->n++] = level;
    note_recovery(q, s, n);
}

/* Only values of ours bind: a request naming none is left to whoever knows
 * its values. */
static int binds(const request_t *q)
{
    return q->n > 0 || q->recovery;
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
static void from_claims(requested_t *rq, const char *json, size_t len)
{
    if (json == NULL || len == 0)
        return;
    gw_err_t err;
    yajl_val root = gw_json_parse(json, len, NULL, &err);
    if (root == NULL)
        return; /* the authorize area validated it; nothing to read */
    static const int FROM[OIDC_ACR_CLAIM_MEMBERS] = {FROM_ID_TOKEN, FROM_USERINFO};
    for (size_t m = 0; m < OIDC_ACR_CLAIM_MEMBERS; m++) {
        yajl_val acr = oidc_acr_essential(root, m);
        if (acr == NULL)
            continue;
        request_t *q = &rq->q[FROM[m]];
        const char *one = gw_json_str(acr, "value");
        if (one != NULL)
            add(q, one, strlen(one));
        yajl_val values = gw_json_get(acr, "values");
        if (YAJL_IS_ARRAY(values))
            for (size_t i = 0; i < YAJL_GET_ARRAY(values)->len; i++) {
                const char *v = YAJL_GET_STRING(YAJL_GET_ARRAY(values)->values[i]);
                if (v != NULL)
                    add(q, v, strlen(v));
            }
    }
    yajl_tree_free(root);
}

static void requested(requested_t *rq, const char *acr_values, size_t acr_len, const char *claims,
                      size_t claims_len)
{
    memset(rq, 0, sizeof(*rq));
    request_t *q = &rq->q[FROM_ACR_VALUES];
    for (size_t i = 0; acr_values != NULL && i < acr_len;) {
        size_t j = i;
        while (j < acr_len && acr_values[j] != ' ')
            j++;
        add(q, acr_values + i, j - i);
        i = j + 1;
    }
    from_claims(rq, claims, claims_len);
}

int oidc_acr_needed(const char *acr_values, size_t acr_len, const char *claims_json, size_t claims_len)
{
    requested_t rq;
    requested(&rq, acr_values, acr_len, claims_json, claims_len);
    int need = OIDC_ACR_LEVEL_NONE;
    for (size_t k = 0; k < FROM_N; k++) {
        const request_t *q = &rq.q[k];
        int lowest = OIDC_ACR_LEVEL_NONE;
        for (size_t i = 0; i < q->n; i++)
            if (lowest == OIDC_ACR_LEVEL_NONE || q->level[i] < lowest)
                lowest = q->level[i];
        if (lowest > need)
            need = lowest;
    }
    return need;
}

/* The value of request `q` the session meets, in the relying party's order
 * of preference; NULL when it meets none. */
static const char *met_by(const request_t *q, const char *session_acr, int have)
{
    static const char *const NAMES[] = {NULL, OIDC_ACR_PASSWORD, OIDC_ACR_MFA, OIDC_ACR_PHISHING_RESISTANT};
    if (q->recovery && session_acr != NULL && strcmp(session_acr, OIDC_ACR_VERIFIED_RECOVERY) == 0)
        return session_acr;
    for (size_t i = 0; i < q->n; i++)
        if (q->level[i] <= have)
            return NAMES[q->level[i]];
    return NULL;
}

int oidc_acr_satisfied(const char *acr_values, size_t acr_len, const char *claims_json, size_t claims_len,
                       const char *session_acr, const char **assert)
{
    requested_t rq;
    requested(&rq, acr_values, acr_len, claims_json, claims_len);
    int have = oidc_acr_level(session_acr);
    *assert = NULL;
    for (size_t k = 0; k < FROM_N; k++) {
        if (!binds(&rq.q[k]))
            continue;
        const char *met = met_by(&rq.q[k], session_acr, have);
        if (met == NULL)
            return 0;
        if (*assert == NULL)
            *assert = met;
    }
    if (*assert == NULL)
        *assert = session_acr;
    return 1;
}
