/* Fuzz target: what the TAP area reads from the network (oidc/tap.c,
 * oidc/recovery_policy.c): a typed TAP, RFC 3339 times, TAP policy and issue
 * request bodies, recovery policy documents. The first byte picks the
 * reader, the rest is its input.
 *
 * Besides "no crash", properties that must hold for every input: a
 * normalised TAP is 8..48 characters of the alphabet and normalises to
 * itself from its grouped form; a parsed time formats and parses back to the
 * same second; a TAP policy that reads writes a document that reads back the
 * same; an accepted issue request lies within the policy's bounds; a
 * recovery policy's normal form is its own normal form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oidc/tap_internal.h"

static void tap_text(const char *s, size_t n)
{
    char norm[OIDC_TAP_LENGTH_MAX + 1], shown[OIDC_TAP_DISPLAY_MAX + 1], again[OIDC_TAP_LENGTH_MAX + 1];
    int len = oidc_tap_normalise(s, n, norm);
    if (len < 0)
        return;
    if (len < OIDC_TAP_LENGTH_MIN || len > OIDC_TAP_LENGTH_MAX || strlen(norm) != (size_t)len)
        abort();
    for (int i = 0; i < len; i++)
        if (strchr(OIDC_TAP_ALPHABET, norm[i]) == NULL)
            abort();
    size_t sn = oidc_tap_format(norm, (size_t)len, shown);
    if (oidc_tap_normalise(shown, sn, again) != len || strcmp(again, norm) != 0)
        abort();
}

static void time_text(const char *s, size_t n)
{
    int64_t t, back;
    char out[32];
    if (oidc_rfc3339_parse(s, n, &t) != 0)
        return;
    oidc_rfc3339_format(t, out);
    if (oidc_rfc3339_parse(out, strlen(out), &back) != 0 || back != t)
        abort();
}

static yajl_val json(const char *s, size_t n)
{
    gw_err_t err;
    gw_json_limits_t lim = {.max_bytes = 64 * 1024, .max_depth = 8, .require_object = true};
    return gw_json_parse(s, n, &lim, &err);
}

static void tap_policy(const char *s, size_t n)
{
    yajl_val doc = json(s, n);
    if (doc == NULL)
        return;
    oidc_tap_policy_t p, q;
    oidc_field_err_t e;
    if (oidc_tap_policy_from_json(doc, &p, &e) == 0) {
        gw_jw_t *w = gw_jw_new();
        gw_jw_obj_open(w);
        oidc_tap_policy_write_members(w, &p);
        gw_jw_obj_close(w);
        size_t len;
        const char *buf = gw_jw_buf(w, &len);
        yajl_val back = buf ? json(buf, len) : NULL;
        if (back == NULL || oidc_tap_policy_from_json(back, &q, &e) != 0 || memcmp(&p, &q, sizeof(p)) != 0)
            abort();
        yajl_tree_free(back);
        gw_jw_free(w);
    } else if (e.msg[0] == '\0') {
        abort(); /* a refusal always says why */
    }
    /* The same body as an issue request under the default policy. */
    yajl_val empty = json("{}", 2);
    oidc_tap_policy_from_json(empty, &p, &e);
    oidc_tap_request_t r;
    const int64_t now = 1795680000;
    if (oidc_tap_request_from_json(doc, &p, now, &r, &e) == 0 &&
        (r.lifetime < p.min_lifetime || r.lifetime > p.max_lifetime || r.length < OIDC_TAP_LENGTH_MIN ||
         r.length > OIDC_TAP_LENGTH_MAX || (r.once != 0 && r.once != 1) || (!r.once && p.once_forced) ||
         (r.start != 0 && (r.start < now - OIDC_TAP_START_SKEW_S || r.start > now + 43200LL * 60))))
        abort();
    yajl_tree_free(empty);
    yajl_tree_free(doc);
}

static void recovery_policy(const char *s, size_t n)
{
    yajl_val doc = json(s, n);
    if (doc == NULL)
        return;
    oidc_field_err_t e;
    gw_jw_t *w = gw_jw_new();
    if (oidc_recovery_policy_normalise(doc, w, &e) == 0) {
        size_t len, len2;
        const char *buf = gw_jw_buf(w, &len);
        yajl_val back = buf ? json(buf, len) : NULL;
        gw_jw_t *w2 = gw_jw_new();
        if (back == NULL || oidc_recovery_policy_normalise(back, w2, &e) != 0)
            abort();
        const char *buf2 = gw_jw_buf(w2, &len2);
        if (buf2 == NULL || len2 != len || memcmp(buf, buf2, len) != 0)
            abort();
        gw_jw_free(w2);
        yajl_tree_free(back);
    } else if (e.msg[0] == '\0') {
        abort();
    }
    gw_jw_free(w);
    yajl_tree_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0:
        tap_text(s, n);
        break;
    case 1:
        time_text(s, n);
        break;
    case 2:
        tap_policy(s, n);
        break;
    default:
        recovery_policy(s, n);
        break;
    }
    return 0;
}
