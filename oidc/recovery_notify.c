/* The account owner is told of every recovery (NIST SP 800-63B §6.1.2.3):
 * a JSON event signed as a JWS with the server's current key (typ
 * "recovery-event+jwt"; the receiver checks it against /jwks.json), posted
 * to the configured notification webhook, which a mail or chat system
 * delivers. Sent without waiting: the person's page does not depend on the
 * receiver; a failure is logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "gateway/keys.h"
#include "gateway/log.h"
#include "oidc/oidc.h"
#include "oidc/recovery_internal.h"

/* How long a receiver should accept the event (a delivery retried by a mail
 * relay may be late; a replay days later must not be). */
#define NOTIFICATION_LIFETIME_S OIDC_RECOVERY_EVENT_TTL_S

typedef struct {
    char request_id[33];
    char attempt[37];
} sent_t;

static void on_sent(void *data, const prov_http_response_t *res)
{
    sent_t *s = data;
    if (res->status < 200 || res->status >= 300)
        gw_log_write(GW_LOG_WARN, "recovery", s->request_id,
                     "attempt %s: notification not delivered (status %d, %s)", s->attempt, res->status,
                     res->error ? res->error : "");
    free(s);
}

void oidc_recovery_notify(gw_req_t *r, const char *event, const char *attempt_id, const char *user_id,
                          const char *user_name, const char *tap_id)
{
    const gw_webhook_config_t *wh = &oidc_cfg->recovery.notification;
    if (wh->url == NULL)
        return;
    uint8_t rnd[16];
    char jti[GW_B64URL_LEN(16) + 1];
    gw_random_bytes(rnd, sizeof(rnd));
    gw_b64url_encode(rnd, sizeof(rnd), jti);
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    /* aud names the receiver and exp bounds the event's life, so a captured
     * event cannot be replayed to another receiver or much later; with typ
     * and no nonce it also cannot pass for an ID token. */
    int64_t now = (int64_t)time(NULL);
    gw_jw_kv_str(w, "iss", oidc_cfg->issuer);
    gw_jw_kv_str(w, "aud", wh->url);
    gw_jw_kv_int64(w, "iat", now);
    gw_jw_kv_int64(w, "exp", now + NOTIFICATION_LIFETIME_S);
    gw_jw_kv_str(w, "jti", jti);
    gw_jw_kv_str(w, "event", event);
    gw_jw_kv_str(w, "sub", user_id);
    gw_jw_kv_str(w, "userName", user_name);
    gw_jw_kv_str(w, "attemptId", attempt_id);
    if (tap_id != NULL)
        gw_jw_kv_str(w, "tapId", tap_id);
    gw_jw_kv_str(
        w, "message",
        "Your account was recovered through an identity check, and a temporary access pass was issued. "
        "If this was not you, contact your help desk at once.");
    gw_jw_obj_close(w);
    size_t len = 0;
    const char *payload = gw_jw_buf(w, &len);
    gw_keyset_t *ks = gw_keys_acquire();
    const gw_signing_key_t *key = gw_keyset_current(ks, "ES256");
    if (key == NULL)
        key = gw_keyset_current(ks, "RS256");
    char *jws = NULL;
    gw_err_t err;
    if (payload != NULL && key != NULL) {
        char header[GW_KID_MAX + 64];
        snprintf(header, sizeof(header), "\"kid\":\"%s\",\"typ\":\"recovery-event+jwt\"", key->kid);
        if (gw_jws_sign(key->pkey, key->alg, header, payload, len, &jws, &err) != 0)
            jws = NULL;
    }
    gw_keys_release(ks);
    gw_jw_free(w);
    if (jws == NULL) {
        gw_log_write(GW_LOG_ERROR, "recovery", r->id, "attempt %s: notification not signed", attempt_id);
        return;
    }
    sent_t *s = gw_calloc(1, sizeof(*s));
    snprintf(s->request_id, sizeof(s->request_id), "%s", r->id);
    snprintf(s->attempt, sizeof(s->attempt), "%s", attempt_id);
    const char *error = NULL;
    if (prov_http_request(gw_req_loop(r), wh->url, "application/jwt", jws, strlen(jws), NULL, wh->ca_file,
                          wh->timeout_ms, on_sent, s, &error) == NULL) {
        gw_log_write(GW_LOG_WARN, "recovery", r->id, "attempt %s: notification not sent: %s", attempt_id,
                     error);
        free(s);
    }
    free(jws);
}
