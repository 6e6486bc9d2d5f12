/* Verified recovery: comparing a verified identity with directory accounts.
 *
 * Pure functions (no I/O, no database, no global state, safe on any thread):
 * normalisation of names, the `exact` and `relaxed` comparison modes, the
 * recovery policy read from its JSON form, and the decision over a set of
 * candidate accounts. The oidc/ recovery flow fetches the candidates from the
 * SCIM directory tables (in SQL, with parameters) and stores the decision;
 * this folder only answers "which account, and which rule said so?". */
#ifndef REGAIN_RECOVERY_H
#define REGAIN_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

/* ---- normalisation (normalize.c) ------------------------------------------ */

/* Longest value compared, in bytes (names and dates; a longer one never
 * matches). */
#define RCV_VALUE_MAX 512

/* `s` (n bytes of UTF-8) normalised for comparison with libutf8proc:
 * compatibility-lumped punctuation and spaces (UTF8PROC_LUMP), case folded
 * (Unicode default case folding: "ß" becomes "ss"), NFC with every mark
 * kept, control characters removed, runs of white space collapsed to one
 * ASCII space and trimmed at both ends. Returns a malloc'd NUL-terminated
 * string (free()), or NULL for invalid UTF-8 or an input longer than
 * RCV_VALUE_MAX. */
char *rcv_normalize(const char *s, size_t n);

/* A normalised value without its diacritics: the nonspacing marks (Mn) on
 * Latin, Greek and Cyrillic letters ("Müller" -> "muller", "Nguyễn" ->
 * "nguyen", "Ελένη" -> "ελενη"), recomposed to NFC. Marks of other scripts
 * stay: in Devanagari, Thai and the other abugidas they are vowels. Returns
 * a malloc'd string (free()), or NULL on a utf8proc error. */
char *rcv_strip_marks(const char *normalised);

/* ---- comparison (match.c) -------------------------------------------------- */

/* Diacritics in both modes: a directory often writes a name without them
 * ("Nguyen Van Hung" for the document's "Nguyễn Văn Hùng"), and then they
 * cannot be compared; when both values carry them, they must agree
 * (Vietnamese "Hùng" and "Hưng" are different names). So two values (two
 * words, relaxed) are the same when their normal forms are equal, or when
 * one carries no diacritic (rcv_strip_marks leaves it unchanged) and it
 * equals the other without its diacritics. */
typedef enum {
    RCV_MODE_EXACT = 0, /* the normalised values are the same (above) */
    /* Every word of the directory value is one of the verified value's words
     * (each verified word used at most once, order ignored; words are split
     * at spaces and hyphens). An identity document carries the full legal
     * name and directories often a shorter one: the verified "Anna Maria
     * Smith" matches the directory's "Anna Smith", and "Smith-Jones" matches
     * "Jones"; the verified "Anna Smith" does not match the directory's "Anna
     * Maria Smith" (the verification says nothing about "Maria"). Words are
     * the same as values are (above). Values that match exactly match
     * (so exact implies relaxed), and values of more than 32 words match
     * only exactly. An empty directory value never matches. */
    RCV_MODE_RELAXED = 1,
} rcv_mode_t;

/* 1 when `verified` matches `directory` under `mode` after normalisation of
 * both; 0 otherwise (also when either is NULL, invalid, or has no word:
 * empty, or spaces and hyphens only, such as a placeholder "-"). */
int rcv_value_match(const char *verified, const char *directory, rcv_mode_t mode);

/* ---- policy (policy.c) ----------------------------------------------------- */

#define RCV_MAX_RULES 8
#define RCV_MAX_LIST  16
/* Claim names, provider ids, trust frameworks and assurance levels of up to
 * 128 bytes: all the admin API accepts (oidc/recovery_policy.c). */
#define RCV_NAME_MAX 129

/* Directory attributes a rule can compare (SCIM names). */
typedef enum {
    RCV_ATTR_NONE = 0,
    RCV_ATTR_GIVEN_NAME,        /* name.givenName -> users.given_name */
    RCV_ATTR_FAMILY_NAME,       /* name.familyName -> users.family_name */
    RCV_ATTR_LEGAL_GIVEN_NAME,  /* recovery extension legalGivenName */
    RCV_ATTR_LEGAL_FAMILY_NAME, /* recovery extension legalFamilyName */
    RCV_ATTR_BIRTHDATE,         /* recovery extension birthdate (YYYY-MM-DD) */
    RCV_ATTR_EMPLOYEE_NUMBER,   /* enterprise extension employeeNumber */
    RCV_ATTR__COUNT
} rcv_attr_t;

/* "name.givenName" ... as the policy writes them; RCV_ATTR_NONE if unknown. */
rcv_attr_t rcv_attr_from_name(const char *name);
const char *rcv_attr_name(rcv_attr_t a);

typedef struct {
    char claim[RCV_NAME_MAX]; /* verified claim: "given_name", "birthdate", ... */
    rcv_attr_t attr;
    rcv_mode_t mode; /* dates and numbers are always compared exactly */
} rcv_rule_t;

typedef enum { RCV_POLICY_DISABLED = 0, RCV_POLICY_EVALUATION, RCV_POLICY_ENABLED } rcv_policy_mode_t;

typedef struct {
    rcv_policy_mode_t mode;
    char eligible_groups[RCV_MAX_LIST][37]; /* SCIM group ids; none: nobody is eligible */
    size_t eligible_group_count;
    char providers[RCV_MAX_LIST][RCV_NAME_MAX]; /* allowed provider ids; none: all configured */
    size_t provider_count;
    /* Per allowed provider: the groups whose members may use it (none: the
     * eligible groups). {"id", "groups"} in the admin API's document. */
    char provider_groups[RCV_MAX_LIST][RCV_MAX_LIST][37];
    size_t provider_group_count[RCV_MAX_LIST];
    /* matching.webhook: the organisation's own pass/fail check (url NULL:
     * none; the config's recovery.claim_validation_webhook applies then). */
    char webhook_url[512];
    int64_t webhook_timeout_ms;
    int webhook_accept_on_error; /* onError "accept" */
    rcv_rule_t rules[RCV_MAX_RULES];
    size_t rule_count;
    rcv_rule_t disambiguation;                         /* attr RCV_ATTR_NONE when not configured */
    char trust_frameworks[RCV_MAX_LIST][RCV_NAME_MAX]; /* none: any */
    size_t trust_framework_count;
    char assurance_levels[RCV_MAX_LIST][RCV_NAME_MAX]; /* none: any */
    size_t assurance_level_count;
    int64_t max_verification_age_s;   /* the verification's time must be this recent */
    int64_t attempt_lifetime_s;       /* default 900 */
    int64_t tap_lifetime_minutes;     /* default 60 */
    int tap_usable_once;              /* default 1 */
    int64_t tap_length;               /* default 16 */
    int end_sessions;                 /* default 1 */
    int remove_methods;               /* default 0 */
    int64_t max_attempts_per_account; /* per rate window; default 5 */
    int64_t max_attempts_per_address; /* default 20 */
    int64_t rate_window_s;            /* default 3600 */
} rcv_policy_t;

/* The defaults above: disabled, given_name/family_name (relaxed) and
 * birthdate rules, 15-minute attempts. */
void rcv_policy_defaults(rcv_policy_t *p);

/* Whether recovery can run `n` rules: the matching rules (need_key 1) or
 * the disambiguation rules (need_key 0). Each must compare an attribute
 * recovery knows (rcv_attr_from_name; RCV_ATTR_NONE is none), and with
 * need_key one must compare the birthdate or the employee number: the only
 * attributes candidates are looked up by (names cannot be, after Unicode
 * normalisation, and the directory is never scanned), so without one every
 * attempt would end claim_missing. NULL when it can; otherwise why, with
 * `*bad` the offending rule's index, or n for the list as a whole. The one
 * check both the admin API (at PUT) and rcv_policy_parse apply. */
const char *rcv_rules_check(const rcv_rule_t *rules, size_t n, int need_key, size_t *bad);

/* Reads the policy's JSON document (the one GET /admin/v1/recovery/policy
 * shows) over the defaults. Unknown members are ignored (the admin API
 * validates the document; this reader only takes what recovery uses).
 * Returns 0, or -1 with a one-line reason in `msg` for a document that
 * recovery cannot run with (rules rcv_rules_check refuses). */
int rcv_policy_parse(const char *json, size_t len, rcv_policy_t *p, char *msg, size_t msgsize);

/* 1 when `provider_id` is allowed by the policy. */
int rcv_policy_allows_provider(const rcv_policy_t *p, const char *provider_id);

/* The groups limiting `provider_id` as a Postgres uuid[] literal ("{a,b}"),
 * written into out (room for RCV_MAX_LIST * 37 + 3); "{}" when the provider
 * names none (then only eligibility applies). */
void rcv_policy_provider_groups(const rcv_policy_t *p, const char *provider_id, char *out, size_t size);

/* 1 when `value` is in the policy's list (an empty list allows everything). */
int rcv_policy_allows_framework(const rcv_policy_t *p, const char *trust_framework);
int rcv_policy_allows_level(const rcv_policy_t *p, const char *assurance_level);

/* ---- decision (decide.c) ------------------------------------------------------ */

/* A directory account as the candidate query returns it. */
typedef struct {
    const char *id; /* uuid */
    const char *user_name;
    int active;
    int eligible;                       /* member of an eligible group */
    const char *attrs[RCV_ATTR__COUNT]; /* NULL when unset */
} rcv_candidate_t;

/* A verified claim by name, as the provider normalised them. */
typedef struct {
    const char *name;
    const char *value;
} rcv_claim_t;

typedef enum {
    RCV_OK = 0,
    RCV_NO_MATCH,      /* "no_match": no account matches every rule */
    RCV_AMBIGUOUS,     /* "ambiguous": more than one, even after disambiguation */
    RCV_NOT_NAMED,     /* "not_named_account": the match is not the account named */
    RCV_INACTIVE,      /* "account_inactive" */
    RCV_NOT_ELIGIBLE,  /* "not_eligible": not in an eligible group */
    RCV_CLAIM_MISSING, /* "claim_missing": a rule's claim is not verified */
} rcv_status_t;

const char *rcv_status_reason(rcv_status_t s);

/* The outcome of matching, with one line per rule for the audit detail. */
typedef struct {
    rcv_status_t status;
    int matched;                /* index into the candidates, -1 if none */
    size_t candidates_matching; /* accounts that matched every rule */
    int disambiguated;          /* 1 when the disambiguation rule chose the one */
    /* For the matched account (or the first candidate examined when none
     * matched): each rule's claim and whether it passed. */
    struct {
        char claim[RCV_NAME_MAX];
        const char *attr;
        int passed;
    } rules[RCV_MAX_RULES + 1];
    size_t rule_count;
} rcv_decision_t;

/* Decides which account the verified claims belong to: the candidates that
 * pass every rule; when several do and the policy has a disambiguation rule
 * whose claim was verified, those that also pass it. Exactly one must remain;
 * with `named_user_id` (a login_hint or a typed username, resolved to an id;
 * NULL when none) it must be that account. Then it must be active and
 * eligible. Claims are looked up by exact name. */
void rcv_decide(const rcv_policy_t *p, const rcv_claim_t *claims, size_t claim_count,
                const rcv_candidate_t *cands, size_t cand_count, const char *named_user_id,
                rcv_decision_t *out);

#endif
