/* Which account a verified identity belongs to (recovery.h, rcv_decide). */
#include <stdio.h>
#include <string.h>

#include "recovery/recovery.h"

const char *rcv_status_reason(rcv_status_t s)
{
    switch (s) {
    case RCV_OK:
        return "matched";
    case RCV_NO_MATCH:
        return "no_match";
    case RCV_AMBIGUOUS:
        return "ambiguous";
    case RCV_NOT_NAMED:
        return "not_named_account";
    case RCV_INACTIVE:
        return "account_inactive";
    case RCV_NOT_ELIGIBLE:
        return "not_eligible";
    case RCV_CLAIM_MISSING:
        return "claim_missing";
    }
    return "no_match";
}

static const char *claim_value(const rcv_claim_t *claims, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (claims[i].name != NULL && strcmp(claims[i].name, name) == 0)
            return claims[i].value;
    return NULL;
}

static int rule_passes(const rcv_rule_t *r, const char *verified, const rcv_candidate_t *c)
{
    return rcv_value_match(verified, c->attrs[r->attr], r->mode);
}

static void record(const rcv_policy_t *p, const rcv_claim_t *claims, size_t nclaims, const rcv_candidate_t *c,
                   int with_disambiguation, rcv_decision_t *out)
{
    out->rule_count = 0;
    for (size_t i = 0; i < p->rule_count; i++) {
        const rcv_rule_t *r = &p->rules[i];
        snprintf(out->rules[out->rule_count].claim, RCV_NAME_MAX, "%s", r->claim);
        out->rules[out->rule_count].attr = rcv_attr_name(r->attr);
        out->rules[out->rule_count].passed =
            c != NULL && rule_passes(r, claim_value(claims, nclaims, r->claim), c);
        out->rule_count++;
    }
    if (with_disambiguation) {
        const rcv_rule_t *r = &p->disambiguation;
        snprintf(out->rules[out->rule_count].claim, RCV_NAME_MAX, "%s", r->claim);
        out->rules[out->rule_count].attr = rcv_attr_name(r->attr);
        out->rules[out->rule_count].passed =
            c != NULL && rule_passes(r, claim_value(claims, nclaims, r->claim), c);
        out->rule_count++;
    }
}

void rcv_decide(const rcv_policy_t *p, const rcv_claim_t *claims, size_t claim_count,
                const rcv_candidate_t *cands, size_t cand_count, const char *named_user_id,
                rcv_decision_t *out)
{
    memset(out, 0, sizeof(*out));
    out->matched = -1;
    for (size_t i = 0; i < p->rule_count; i++) {
        if (claim_value(claims, claim_count, p->rules[i].claim) == NULL) {
            out->status = RCV_CLAIM_MISSING;
            record(p, claims, claim_count, NULL, 0, out);
            return;
        }
    }
    /* Accounts that pass every rule, active ones and the rest apart: only
     * active accounts compete for "exactly one". */
    int active_idx = -1, inactive_idx = -1;
    size_t active_n = 0, inactive_n = 0;
    for (size_t c = 0; c < cand_count; c++) {
        int all = 1;
        for (size_t i = 0; i < p->rule_count && all; i++)
            all = rule_passes(&p->rules[i], claim_value(claims, claim_count, p->rules[i].claim), &cands[c]);
        if (!all)
            continue;
        if (cands[c].active) {
            if (active_n++ == 0)
                active_idx = (int)c;
        } else if (inactive_n++ == 0) {
            inactive_idx = (int)c;
        }
    }
    out->candidates_matching = active_n;
    int use_dis = 0;
    if (active_n > 1 && p->disambiguation.attr != RCV_ATTR_NONE) {
        const char *dv = claim_value(claims, claim_count, p->disambiguation.claim);
        if (dv != NULL) {
            use_dis = 1;
            size_t n = 0;
            int idx = -1;
            for (size_t c = 0; c < cand_count; c++) {
                if (!cands[c].active)
                    continue;
                int all = rule_passes(&p->disambiguation, dv, &cands[c]);
                for (size_t i = 0; i < p->rule_count && all; i++)
                    all = rule_passes(&p->rules[i], claim_value(claims, claim_count, p->rules[i].claim),
                                      &cands[c]);
                if (all && n++ == 0)
                    idx = (int)c;
            }
            if (n == 1) {
                active_n = 1;
                active_idx = idx;
                out->disambiguated = 1;
            } else if (n == 0) {
                active_n = 0;
                active_idx = -1;
            }
        }
    }
    if (active_n == 0) {
        out->status = inactive_n > 0 ? RCV_INACTIVE : RCV_NO_MATCH;
        record(p, claims, claim_count, inactive_n > 0 ? &cands[inactive_idx] : NULL, use_dis, out);
        return;
    }
    if (active_n > 1) {
        out->status = RCV_AMBIGUOUS;
        record(p, claims, claim_count, &cands[active_idx], use_dis, out);
        return;
    }
    const rcv_candidate_t *m = &cands[active_idx];
    record(p, claims, claim_count, m, use_dis, out);
    if (named_user_id != NULL && strcmp(named_user_id, m->id) != 0) {
        out->status = RCV_NOT_NAMED;
        return;
    }
    out->matched = active_idx;
    out->status = m->eligible ? RCV_OK : RCV_NOT_ELIGIBLE;
}
