/* Declarations shared by the TAP, policy and audit files only (oidc/tap*.c,
 * oidc/admin_tap.c, oidc/admin_policy.c, oidc/admin_audit.c,
 * oidc/recovery_policy.c, oidc/cli_tap.c). What other areas use (minting a
 * TAP for recovery) is in oidc/internal.h.
 *
 * The pure parts (generation, normalisation, policy and request validation,
 * RFC 3339) take plain data and are unit-tested in tests/unit/oidc_tap.c. */
#ifndef REGAIN_OIDC_TAP_INTERNAL_H
#define REGAIN_OIDC_TAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "gateway/json.h"
#include "gateway/secrets.h"
#include "gateway/store.h"
#include "oidc/internal.h"

/* Bounds (issue 6; Microsoft Graph temporaryAccessPassAuthenticationMethodConfiguration). */
#define OIDC_TAP_LENGTH_MIN   8
#define OIDC_TAP_LENGTH_MAX   48
#define OIDC_TAP_LIFETIME_MIN 10    /* minutes */
#define OIDC_TAP_LIFETIME_MAX 43200 /* minutes: 30 days */
/* What a person may type: separators and spaces around the characters. */
#define OIDC_TAP_INPUT_MAX 128
/* A grouped TAP: groups of 4 joined by '-'. */
#define OIDC_TAP_DISPLAY_MAX (OIDC_TAP_LENGTH_MAX + OIDC_TAP_LENGTH_MAX / 4)
/* A session from a one-time TAP must register a method within this time. */
#define OIDC_TAP_ONCE_SESSION_S 600
/* A start time may lie this far in the past (clocks differ), no further. */
#define OIDC_TAP_START_SKEW_S 300

/* ---- the TAP itself (tap.c) ------------------------------------------------ */

/* The alphabet: upper-case letters and digits without the ones people
 * confuse (0 O, 1 I L); 31 symbols, so 16 characters carry 79 bits. */
extern const char OIDC_TAP_ALPHABET[];

/* `length` (8..48) characters drawn uniformly from the alphabet with the
 * CSPRNG (rejection sampling, no modulo bias); NUL-terminated. */
void oidc_tap_generate(size_t length, char out[OIDC_TAP_LENGTH_MAX + 1]);

/* The TAP in groups of four joined by '-' (the last group may be shorter);
 * returns the length written (NUL-terminated). */
size_t oidc_tap_format(const char *tap, size_t n, char out[OIDC_TAP_DISPLAY_MAX + 1]);

/* What a person typed, normalised: separators (space, tab, '-', '.', '_')
 * dropped, letters upper-cased. Returns the length, or -1 when the input is
 * longer than OIDC_TAP_INPUT_MAX, a character is outside the alphabet, or the
 * length is outside 8..48 (no such TAP exists then). */
int oidc_tap_normalise(const char *in, size_t n, char out[OIDC_TAP_LENGTH_MAX + 1]);

/* The keyed hash stored for a normalised TAP (domain-separated from the
 * other secrets), as a bytea hex parameter. */
void oidc_tap_hash_hex(const char *norm, size_t n, char out[GW_SECRET_HASH_HEX_LEN + 1]);

/* ---- field-named validation errors --------------------------------------------- */

typedef struct {
    char field[96]; /* JSON path of the offending member, e.g. "matching.rules[1].claim" */
    char msg[160];  /* "must be between 10 and 43200" */
} oidc_field_err_t;

/* Fills `e` and returns -1. */
int oidc_field_fail(oidc_field_err_t *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 400 {"error":"invalid_request","error_description":"FIELD: MSG","field":"FIELD"}. */
void oidc_reply_field_error(gw_req_t *r, const oidc_field_err_t *e);

/* ---- RFC 3339 (tap.c) ---------------------------------------------------------------- */

/* Parses an RFC 3339 date-time (§5.6: full-date "T" full-time, with "Z" or an
 * offset; fractions of a second dropped) into epoch seconds. -1 when it is not one. */
int oidc_rfc3339_parse(const char *s, size_t n, int64_t *out);
/* Epoch seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void oidc_rfc3339_format(int64_t t, char out[32]);

/* ---- the TAP policy (tap.c) ----------------------------------------------------------- */

typedef struct {
    int enabled;          /* state "enabled" | "disabled" */
    int default_length;   /* defaultLength 8..48 */
    int default_lifetime; /* defaultLifetimeInMinutes, within min..max */
    int min_lifetime;     /* minimumLifetimeInMinutes 10..43200 */
    int max_lifetime;     /* maximumLifetimeInMinutes 10..43200, >= min */
    int once_forced;      /* isUsableOnce: every TAP is one-time */
    int max_failures;     /* maxFailedAttempts 1..100 (ours): wrong TAPs before the lock */
} oidc_tap_policy_t;

/* Reads a TAP policy document (a PUT body or the stored one). Absent members
 * take the defaults; "id", "@odata.type", "version" and "updatedDateTime"
 * (what GET adds) are ignored; anything else unknown is an error. Returns 0,
 * or -1 with the field named. */
int oidc_tap_policy_from_json(yajl_val doc, oidc_tap_policy_t *out, oidc_field_err_t *e);
/* The same over `base` instead of the defaults (PATCH: absent members keep
 * their current values); the bounds are checked on the result. */
int oidc_tap_policy_apply(yajl_val doc, const oidc_tap_policy_t *base, oidc_tap_policy_t *out,
                          oidc_field_err_t *e);
/* The policy's members (Graph names) into an object the caller opened. */
void oidc_tap_policy_write_members(gw_jw_t *w, const oidc_tap_policy_t *p);

/* What an issuer asked for, defaults applied. */
typedef struct {
    int64_t start; /* epoch seconds; 0: now */
    int lifetime;  /* minutes */
    int once;      /* isUsableOnce */
    int length;    /* characters */
} oidc_tap_request_t;

/* Reads a create body ({startDateTime, lifetimeInMinutes, isUsableOnce}, all
 * optional) and checks it against `pol`: out-of-range values name their
 * field. Unknown members are errors. */
int oidc_tap_request_from_json(yajl_val body, const oidc_tap_policy_t *pol, int64_t now,
                               oidc_tap_request_t *out, oidc_field_err_t *e);
/* The bounds check alone (the CLI fills `req` from flags; -1 fields take the
 * policy default). */
int oidc_tap_request_check(const oidc_tap_policy_t *pol, int64_t now, oidc_tap_request_t *req,
                           oidc_field_err_t *e);

/* ---- the recovery policy (recovery_policy.c) ------------------------------------------ */

/* Validates a recovery policy document and writes its complete, normalised
 * form (absent members take the defaults of schema/010_tap.sql) into `w`.
 * Returns 0, or -1 with the field named. */
int oidc_recovery_policy_normalise(yajl_val doc, gw_jw_t *w, oidc_field_err_t *e);

/* ---- SQL (tap_db.c) ------------------------------------------------------------------- */

void oidc_tap_db_register(void);

/* $1 kind -> version, document::text with "version" and "updatedDateTime" added. */
extern store_stmt_t OIDC_STMT_POLICY_GET;
/* policy_put($1 kind, $2 document, $3 if-match version or NULL, $4 actor, $5 addr, $6 UA)
 * -> status, version, document::text as OIDC_STMT_POLICY_GET shows it. */
extern store_stmt_t OIDC_STMT_POLICY_PUT;
/* $1 user id or userName -> id of the user (active or not). */
extern store_stmt_t OIDC_STMT_TAP_USER;
/* tap_issue($1 user, $2 hash, $3 start (RFC 3339 or NULL), $4 lifetime, $5 once, $6 length,
 * $7 actor, $8 addr, $9 UA, $10 acr or NULL, $11 recovery attempt or NULL)
 * -> status, then OIDC_TAP_COLUMNS of the new TAP. */
extern store_stmt_t OIDC_STMT_TAP_ISSUE;
extern store_stmt_t OIDC_STMT_TAP_ISSUE_RECOVERY;
/* $1 user id, $2 TAP id or NULL -> OIDC_TAP_COLUMNS of the live (not revoked) TAPs. */
extern store_stmt_t OIDC_STMT_TAP_LIST;
/* tap_revoke($1 user, $2 TAP id or NULL, $3 actor, $4 addr, $5 UA) -> status, id. */
extern store_stmt_t OIDC_STMT_TAP_REVOKE;
/* tap_redeem (schema/031), and the end of the previous session: see tap_db.c. */
extern store_stmt_t OIDC_STMT_TAP_REDEEM;

/* Columns of a TAP as the API shows it (never the secret), in this order:
 * id, createdDateTime, startDateTime, lifetimeInMinutes, isUsableOnce,
 * methodUsabilityReason (NULL: usable), expires (RFC 3339). */
enum {
    OIDC_TAP_COL_ID,
    OIDC_TAP_COL_CREATED,
    OIDC_TAP_COL_START,
    OIDC_TAP_COL_LIFETIME,
    OIDC_TAP_COL_ONCE,
    OIDC_TAP_COL_REASON,
    OIDC_TAP_COL_EXPIRES,
    OIDC_TAP_NCOLS
};

/* Writes the TAP of row `row` from column `first` as a Graph
 * temporaryAccessPassAuthenticationMethod object; `secret` (the grouped TAP,
 * only in the create response) may be NULL. */
void oidc_tap_write_row(gw_jw_t *w, const PGresult *res, int row, int first, const char *secret);

/* ---- small request helpers (admin_policy.c) ---------------------------------------------- */

/* The body as a JSON object of at most `max` bytes; replies (415, 413, 400)
 * and returns NULL when it is not. The tree lives in the request's pool. */
yajl_val oidc_admin_json_body_or_reply(gw_req_t *r, size_t max);

/* Who and where, for audit events: actor "admin:<client_id>", the client
 * address and the User-Agent (cut to 512 bytes), all in r's pool. */
typedef struct {
    const char *actor;
    char addr[64];
    const char *user_agent; /* may be NULL */
} oidc_audit_who_t;
void oidc_audit_who(gw_req_t *r, const oidc_access_t *at, oidc_audit_who_t *who);

/* ---- registration -------------------------------------------------------------------------- */

void oidc_admin_tap_register(void);
void oidc_admin_policy_register(void);
void oidc_admin_audit_register(void);
void oidc_tap_signin_register(void);

#endif
