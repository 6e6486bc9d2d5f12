#include "gateway/err.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    int status;
    const char *oauth;
    const char *scim;
} KINDS[GW_E__COUNT] = {
    [GW_E_NONE] = {200, NULL, NULL},
    [GW_E_INVALID_REQUEST] = {400, "invalid_request", NULL},
    [GW_E_INVALID_CLIENT] = {401, "invalid_client", NULL},
    [GW_E_INVALID_GRANT] = {400, "invalid_grant", NULL},
    [GW_E_UNAUTHORIZED_CLIENT] = {400, "unauthorized_client", NULL},
    [GW_E_UNSUPPORTED_GRANT_TYPE] = {400, "unsupported_grant_type", NULL},
    [GW_E_UNSUPPORTED_RESPONSE_TYPE] = {400, "unsupported_response_type", NULL},
    [GW_E_INVALID_SCOPE] = {400, "invalid_scope", NULL},
    [GW_E_ACCESS_DENIED] = {403, "access_denied", NULL},
    [GW_E_LOGIN_REQUIRED] = {400, "login_required", NULL},
    [GW_E_INTERACTION_REQUIRED] = {400, "interaction_required", NULL},
    [GW_E_INVALID_TOKEN] = {401, "invalid_token", NULL},
    [GW_E_INSUFFICIENT_SCOPE] = {403, "insufficient_scope", NULL},
    [GW_E_SCIM_INVALID_FILTER] = {400, "invalid_request", "invalidFilter"},
    [GW_E_SCIM_TOO_MANY] = {400, "invalid_request", "tooMany"},
    [GW_E_SCIM_UNIQUENESS] = {409, "invalid_request", "uniqueness"},
    [GW_E_SCIM_MUTABILITY] = {400, "invalid_request", "mutability"},
    [GW_E_SCIM_INVALID_SYNTAX] = {400, "invalid_request", "invalidSyntax"},
    [GW_E_SCIM_INVALID_PATH] = {400, "invalid_request", "invalidPath"},
    [GW_E_SCIM_NO_TARGET] = {400, "invalid_request", "noTarget"},
    [GW_E_SCIM_INVALID_VALUE] = {400, "invalid_request", "invalidValue"},
    [GW_E_SCIM_INVALID_VERS] = {400, "invalid_request", "invalidVers"},
    [GW_E_SCIM_SENSITIVE] = {403, "invalid_request", "sensitive"},
    [GW_E_BAD_REQUEST] = {400, "invalid_request", NULL},
    [GW_E_NOT_FOUND] = {404, "invalid_request", NULL},
    [GW_E_METHOD_NOT_ALLOWED] = {405, "invalid_request", NULL},
    [GW_E_CONFLICT] = {409, "invalid_request", NULL},
    [GW_E_PRECONDITION_FAILED] = {412, "invalid_request", NULL},
    [GW_E_PAYLOAD_TOO_LARGE] = {413, "invalid_request", NULL},
    [GW_E_URI_TOO_LONG] = {414, "invalid_request", NULL},
    [GW_E_HEADERS_TOO_LARGE] = {431, "invalid_request", NULL},
    [GW_E_UNSUPPORTED_MEDIA_TYPE] = {415, "invalid_request", NULL},
    [GW_E_TOO_MANY_REQUESTS] = {429, "temporarily_unavailable", NULL},
    [GW_E_UNAVAILABLE] = {503, "temporarily_unavailable", NULL},
    [GW_E_TIMEOUT] = {503, "temporarily_unavailable", NULL},
    [GW_E_INTERNAL] = {500, "server_error", NULL},
};

int gw_err_set(gw_err_t *err, gw_err_kind_t kind, const char *file, int line, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->kind = kind;
    err->file = file;
    err->line = line;
    err->detail[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->public, sizeof(err->public), fmt, ap);
    va_end(ap);
    /* Public messages quote what a client sent (an attribute name, a path);
     * a control character among it must not reach a response or a log line
     * as such, whatever writes the message. */
    for (char *c = err->public; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return -1;
}

void gw_err_detail(gw_err_t *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
}

static int in_range(gw_err_kind_t kind)
{
    return kind >= 0 && kind < GW_E__COUNT;
}

int gw_err_status(gw_err_kind_t kind)
{
    return in_range(kind) ? KINDS[kind].status : 500;
}

const char *gw_err_oauth_code(gw_err_kind_t kind)
{
    return in_range(kind) ? KINDS[kind].oauth : "server_error";
}

const char *gw_err_scim_type(gw_err_kind_t kind)
{
    return in_range(kind) ? KINDS[kind].scim : NULL;
}
