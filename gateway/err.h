/* One error type for every layer (STYLE.md "Errors").
 *
 * A function that can fail returns 0 or -1 and fills a gw_err_t. The kind picks
 * the HTTP status and the protocol's error code (see gw_err_status and the
 * renderers in http.h); `public` is safe to show a client; `detail` is for the
 * log only and may carry library messages. */
#ifndef REGAIN_GATEWAY_ERR_H
#define REGAIN_GATEWAY_ERR_H

#include <stddef.h>

typedef enum {
    GW_E_NONE = 0,
    /* OAuth 2.0 / OpenID Connect (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6) */
    GW_E_INVALID_REQUEST,
    GW_E_INVALID_CLIENT,
    GW_E_INVALID_GRANT,
    GW_E_UNAUTHORIZED_CLIENT,
    GW_E_UNSUPPORTED_GRANT_TYPE,
    GW_E_UNSUPPORTED_RESPONSE_TYPE,
    GW_E_INVALID_SCOPE,
    GW_E_ACCESS_DENIED,
    GW_E_LOGIN_REQUIRED,
    GW_E_INTERACTION_REQUIRED,
    GW_E_INVALID_TOKEN,
    GW_E_INSUFFICIENT_SCOPE,
    /* SCIM 2.0 scimType values (RFC 7644 §3.12) */
    GW_E_SCIM_INVALID_FILTER,
    GW_E_SCIM_TOO_MANY,
    GW_E_SCIM_UNIQUENESS,
    GW_E_SCIM_MUTABILITY,
    GW_E_SCIM_INVALID_SYNTAX,
    GW_E_SCIM_INVALID_PATH,
    GW_E_SCIM_NO_TARGET,
    GW_E_SCIM_INVALID_VALUE,
    GW_E_SCIM_INVALID_VERS,
    GW_E_SCIM_SENSITIVE,
    /* Generic */
    GW_E_BAD_REQUEST,
    GW_E_NOT_FOUND,
    GW_E_METHOD_NOT_ALLOWED,
    GW_E_CONFLICT,
    GW_E_PRECONDITION_FAILED,
    GW_E_PAYLOAD_TOO_LARGE,
    GW_E_URI_TOO_LONG,
    GW_E_HEADERS_TOO_LARGE,
    GW_E_UNSUPPORTED_MEDIA_TYPE,
    GW_E_TOO_MANY_REQUESTS,
    GW_E_UNAVAILABLE,
    GW_E_TIMEOUT,
    GW_E_INTERNAL,
    GW_E__COUNT
} gw_err_kind_t;

typedef struct {
    gw_err_kind_t kind;
    char public[160]; /* safe for a response body; control characters become '?' */
    char detail[256]; /* for the log only */
    const char *file;
    int line;
} gw_err_t;

/* Fill `err` (may be NULL) with kind and a public message; returns -1 so a
 * caller can write `return GW_ERR(err, GW_E_INVALID_GRANT, "code expired");`. */
#define GW_ERR(err, kind, public_msg) gw_err_set((err), (kind), __FILE__, __LINE__, "%s", (public_msg))
#define GW_ERRF(err, kind, ...)       gw_err_set((err), (kind), __FILE__, __LINE__, __VA_ARGS__)
int gw_err_set(gw_err_t *err, gw_err_kind_t kind, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Add private detail (library messages, SQL state) to an error already set. */
void gw_err_detail(gw_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The mapping table: HTTP status, OAuth `error` code (NULL where none) and
 * SCIM `scimType` (NULL where none) for a kind. */
int gw_err_status(gw_err_kind_t kind);
const char *gw_err_oauth_code(gw_err_kind_t kind);
const char *gw_err_scim_type(gw_err_kind_t kind);

#endif
