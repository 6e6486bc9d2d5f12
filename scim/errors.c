/* SCIM error responses (RFC 7644 §3.12) and SCIM bodies (§3.1, §8.1: the
 * media type application/scim+json). */
#include <stdio.h>
#include <string.h>

#include "gateway/log.h"
#include "scim/endpoints.h"

void scim_error_write(gw_jw_t *w, int status, const char *scim_type, const char *detail)
{
    char st[16];
    snprintf(st, sizeof(st), "%d", status);
    gw_jw_obj_open(w);
    gw_jw_key(w, "schemas");
    gw_jw_arr_open(w);
    gw_jw_str(w, SCIM_URN_ERROR);
    gw_jw_arr_close(w);
    /* §3.12: "status" is the HTTP status code as a JSON string. */
    gw_jw_kv_str(w, "status", st);
    if (scim_type != NULL)
        gw_jw_kv_str(w, "scimType", scim_type);
    if (detail != NULL && detail[0] != '\0')
        gw_jw_kv_str(w, "detail", detail);
    gw_jw_obj_close(w);
}

static void reply_error_body(gw_req_t *r, int status, const char *scim_type, const char *detail)
{
    if (r->req == NULL)
        return;
    gw_jw_t *w = gw_jw_new();
    scim_error_write(w, status, scim_type, detail);
    size_t len = 0;
    const char *body = gw_jw_buf(w, &len);
    if (body == NULL) {
        /* A detail that was not UTF-8 cannot happen (ours are ASCII); be safe. */
        gw_jw_free(w);
        w = gw_jw_new();
        scim_error_write(w, status, scim_type, NULL);
        body = gw_jw_buf(w, &len);
    }
    if (status == 503)
        gw_reply_header(r, "retry-after", "1", 1);
    /* A failed answer is never worth caching. */
    gw_reply_header(r, "cache-control", "no-store", 8);
    gw_reply(r, status, SCIM_MEDIA_TYPE, body, len);
    gw_jw_free(w);
}

void scim_reply_status(gw_req_t *r, int status, const char *scim_type, const char *detail)
{
    reply_error_body(r, status, scim_type, detail);
}

void scim_reply_error(gw_req_t *r, const gw_err_t *err)
{
    int status = gw_err_status(err->kind);
    if (status >= 500)
        gw_log_write(GW_LOG_ERROR, __func__, r->id, "%s (%s) at %s:%d", err->public, err->detail,
                     err->file ? err->file : "?", err->line);
    reply_error_body(r, status, gw_err_scim_type(err->kind), err->public);
}

void scim_reply_fail(gw_req_t *r, gw_err_kind_t kind, const char *detail)
{
    gw_err_t err;
    GW_ERR(&err, kind, detail);
    scim_reply_error(r, &err);
}

void scim_reply_json(gw_req_t *r, int status, const char *json, size_t len)
{
    gw_reply(r, status, SCIM_MEDIA_TYPE, json, len);
}
