/* SQL of the key store: blocking calls for start-up and the CLI, and the
 * asynchronous poll that notices a rotation made by another process. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/alloc.h"
#include "gateway/crypto.h"
#include "gateway/keys_internal.h"
#include "gateway/log.h"
#include "gateway/server.h"

/* The published keys, which every gateway loads: those not retired yet
 * (retired_at may lie ahead: a replaced key verifies until the tokens it may
 * have signed have expired). Of one algorithm's keys whose activates_at has
 * come, the newest signs (`signs`); a newer one still waiting is published
 * and verifies only. At most 8, newest first: gw_keys_rotate keeps
 * GW_KEYS_PER_ALG_MAX per algorithm. */
#define SQL_PUBLISHED                                                                                        \
    "SELECT kid, alg, private_key, created_at, activates_at <= now() AND row_number() OVER (PARTITION BY "   \
    "alg, activates_at <= now() ORDER BY created_at DESC, kid) = 1 AS signs FROM signing_keys "              \
    "WHERE retired_at IS NULL OR retired_at > now() ORDER BY created_at DESC, kid LIMIT 8"

#define SQL_ACTIVE                                                                                           \
    "SELECT kid, alg, private_key, signs FROM (" SQL_PUBLISHED ") k ORDER BY created_at DESC, kid"

/* Spelled as gw_keys_install spells ks->fingerprint: a key starting to sign
 * or leaving the set changes it, with no row changed. */
static store_stmt_t STMT_FINGERPRINT = {
    "keys_fingerprint",
    "SELECT coalesce(string_agg(kid || CASE WHEN signs THEN '+,' ELSE ',' END, '' ORDER BY created_at DESC, "
    "kid), '') FROM (" SQL_PUBLISHED ") k",
    0, 0};
static store_stmt_t STMT_ACTIVE = {"keys_active", SQL_ACTIVE, 0, 0};

static int rows_of(PGresult *res, gw_key_row_t rows[GW_KEYSET_MAX])
{
    int n = PQntuples(res);
    if (n > GW_KEYSET_MAX)
        n = GW_KEYSET_MAX;
    for (int i = 0; i < n; i++) {
        rows[i].kid = PQgetvalue(res, i, 0);
        rows[i].alg = PQgetvalue(res, i, 1);
        rows[i].sealed_hex = PQgetvalue(res, i, 2);
        rows[i].current = PQgetvalue(res, i, 3)[0] == 't';
    }
    return n;
}

static int install_result(PGresult *res, gw_err_t *err)
{
    gw_key_row_t rows[GW_KEYSET_MAX];
    int n = rows_of(res, rows);
    return gw_keys_install(rows, (size_t)n, err);
}

/* Adds a key for `alg` that signs from `activate_ms` after now; fills `kid`
 * and, when not NULL, `activates_at` (UTC). */
static int generate_and_insert(PGconn *conn, const uint8_t kek[32], const char *alg, uint64_t activate_ms,
                               char kid[GW_KID_MAX], char activates_at[32], gw_err_t *err)
{
    EVP_PKEY *key = NULL;
    uint8_t *der = NULL, *box = NULL;
    size_t derlen = 0, boxlen = 0;
    char *jwk = NULL, tp[GW_THUMBPRINT_LEN + 1], wait[24];
    int rc = -1;
    int es = strcmp(alg, "ES256") == 0;
    if (!es && strcmp(alg, "RS256") != 0)
        return GW_ERRF(err, GW_E_BAD_REQUEST, "unsupported algorithm %s (ES256 or RS256)", alg);
    if ((es ? gw_key_generate_ec_p256(&key, err) : gw_key_generate_rsa(2048, &key, err)) != 0 ||
        gw_key_thumbprint(key, tp, err) != 0 || gw_key_public_jwk(key, tp, alg, "sig", &jwk, err) != 0 ||
        gw_key_private_der(key, &der, &derlen, err) != 0 ||
        gw_aead_seal(kek, tp, strlen(tp), der, derlen, &box, &boxlen, err) != 0)
        goto out;
    snprintf(wait, sizeof(wait), "%llu", (unsigned long long)activate_ms);
    const char *params[5] = {tp, alg, jwk, (const char *)box, wait};
    int lengths[5] = {0, 0, 0, (int)boxlen, 0};
    int formats[5] = {0, 0, 0, 1, 0};
    PGresult *res = PQexecParams(
        conn,
        "INSERT INTO signing_keys (kid, alg, public_jwk, private_key, activates_at) "
        "VALUES ($1, $2, $3::jsonb, $4, clock_timestamp() + $5::bigint * interval '1 millisecond') "
        "RETURNING to_char(activates_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
        5, NULL, params, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        GW_ERR(err, GW_E_INTERNAL, "cannot store the new signing key");
        gw_err_detail(err, "%s", PQresultErrorMessage(res));
        PQclear(res);
        goto out;
    }
    if (activates_at != NULL)
        snprintf(activates_at, 32, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    snprintf(kid, GW_KID_MAX, "%s", tp);
    rc = 0;
out:
    if (der != NULL) {
        gw_wipe(der, derlen);
        free(der);
    }
    free(box);
    free(jwk);
    EVP_PKEY_free(key);
    return rc;
}

static int exec_simple(PGconn *conn, const char *sql, gw_err_t *err)
{
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok) {
        GW_ERR(err, GW_E_INTERNAL, "database error");
        gw_err_detail(err, "%s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return ok ? 0 : -1;
}

/* The published keys (SQL_ACTIVE), read with the blocking connection of a
 * tool or of start-up; NULL with `err` filled when they cannot be read. */
static PGresult *read_published(PGconn *conn, gw_err_t *err)
{
    PGresult *res = PQexec(conn, SQL_ACTIVE);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        GW_ERR(err, GW_E_INTERNAL, "cannot read signing_keys");
        gw_err_detail(err, "%s", PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

int gw_keys_init(PGconn *conn, const uint8_t kek[32], gw_err_t *err)
{
    gw_keys_set_kek(kek);
    /* Several gateways may start at once against an empty table: the
     * transaction-scoped advisory lock lets exactly one create the first key. */
    if (exec_simple(conn, "BEGIN", err) != 0 ||
        exec_simple(conn, "SELECT pg_advisory_xact_lock(7365820184)", err) != 0)
        return -1;
    /* ES256 signs access tokens and most ID tokens; RS256 is there for
     * clients registered with id_token_alg RS256. */
    static const char *const ALGS[] = {"ES256", "RS256"};
    char kid[2][GW_KID_MAX];
    int have[2] = {1, 1};
    for (size_t i = 0; i < 2; i++) {
        const char *params[1] = {ALGS[i]};
        PGresult *res =
            PQexecParams(conn,
                         "SELECT 1 FROM signing_keys WHERE (retired_at IS NULL OR retired_at > now()) "
                         "AND alg = $1 LIMIT 1",
                         1, NULL, params, NULL, NULL, 0);
        int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        have[i] = ok && PQntuples(res) > 0;
        PQclear(res);
        /* A first key signs at once: no token can name an older one. */
        if (!ok || (!have[i] && generate_and_insert(conn, kek, ALGS[i], 0, kid[i], NULL, err) != 0)) {
            exec_simple(conn, "ROLLBACK", NULL);
            if (!ok)
                GW_ERR(err, GW_E_INTERNAL, "cannot read signing_keys");
            return -1;
        }
    }
    if (exec_simple(conn, "COMMIT", err) != 0) {
        exec_simple(conn, "ROLLBACK", NULL);
        return -1;
    }
    for (size_t i = 0; i < 2; i++)
        if (!have[i])
            gw_log_info("created the first signing key %s (%s)", kid[i], ALGS[i]);
    PGresult *res = read_published(conn, err);
    if (res == NULL)
        return -1;
    int rc = install_result(res, err);
    PQclear(res);
    store_stmt_register(&STMT_FINGERPRINT);
    store_stmt_register(&STMT_ACTIVE);
    return rc;
}

/* Sealed with another keys.encryption_key than the stored keys, the new key
 * would leave a set no gateway can load (nor start with): the key given must
 * open every published key first. */
static int check_kek(PGconn *conn, const uint8_t kek[32], gw_err_t *err)
{
    PGresult *res = read_published(conn, err);
    if (res == NULL)
        return -1;
    gw_key_row_t rows[GW_KEYSET_MAX];
    int n = rows_of(res, rows);
    int rc = gw_keys_check_open(kek, rows, (size_t)n, err);
    PQclear(res);
    return rc;
}

/* The set holds GW_KEYS_PER_ALG_MAX keys of one algorithm: a rotation that
 * would publish one more waits until the oldest has left, rather than cut
 * short the life of tokens it signed. *signing: whether a key of `alg` signs
 * now (none before the first `regain serve`). */
static int check_room(PGconn *conn, const char *alg, int force, int *signing, gw_err_t *err)
{
    const char *params[1] = {alg};
    PGresult *res = PQexecParams(conn,
                                 "SELECT count(*), count(*) FILTER (WHERE activates_at <= now()), "
                                 "coalesce(to_char(min(retired_at) AT TIME ZONE 'UTC', "
                                 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'never') FROM signing_keys "
                                 "WHERE alg = $1 AND (retired_at IS NULL OR retired_at > now())",
                                 1, NULL, params, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        GW_ERR(err, GW_E_INTERNAL, "cannot read signing_keys");
        gw_err_detail(err, "%s", PQresultErrorMessage(res));
    } else if (!force && atoi(PQgetvalue(res, 0, 0)) >= GW_KEYS_PER_ALG_MAX) {
        GW_ERRF(err, GW_E_CONFLICT,
                "%s already has %d published keys, the most the key set holds; the oldest leaves it at %s: "
                "rotate after that, or with --force",
                alg, GW_KEYS_PER_ALG_MAX, PQgetvalue(res, 0, 2));
    } else {
        *signing = atoi(PQgetvalue(res, 0, 1)) > 0;
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int gw_keys_rotate(PGconn *conn, const uint8_t kek[32], const gw_keys_rotation_t *rot, gw_keys_rotated_t *out,
                   gw_err_t *err)
{
    if (exec_simple(conn, "BEGIN", err) != 0 ||
        exec_simple(conn, "SELECT pg_advisory_xact_lock(7365820184)", err) != 0)
        return -1;
    /* With no key of alg signing yet, no token can name another one: the new
     * key signs at once, as the first key does (gw_keys_init). */
    int signing = 0;
    if (check_kek(conn, kek, err) != 0 || check_room(conn, rot->alg, rot->force, &signing, err) != 0)
        goto fail;
    out->activate_ms = rot->force || !signing ? 0 : rot->activate_ms;
    if (generate_and_insert(conn, kek, rot->alg, out->activate_ms, out->kid, out->activates_at, err) != 0)
        goto fail;
    /* The keys replaced stop signing when the new key starts, and stay
     * published until what they signed has expired (OIDC Core §10.1.1);
     * least() keeps an earlier end set by an earlier rotation. --force: a
     * compromised key must stop verifying now. */
    char keep[24];
    snprintf(keep, sizeof(keep), "%llu", (unsigned long long)rot->keep_ms);
    const char *params[3] = {rot->alg, out->kid, keep};
    PGresult *res =
        rot->force
            ? PQexecParams(conn,
                           "UPDATE signing_keys SET retired_at = now() WHERE alg = $1 AND kid <> $2 "
                           "AND (retired_at IS NULL OR retired_at > now())",
                           2, NULL, params, NULL, NULL, 0)
            : PQexecParams(conn,
                           "UPDATE signing_keys SET retired_at = least(retired_at, (SELECT activates_at FROM "
                           "signing_keys WHERE kid = $2) + $3::bigint * interval '1 millisecond') "
                           "WHERE alg = $1 AND kid <> $2 AND (retired_at IS NULL OR retired_at > now())",
                           3, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        GW_ERR(err, GW_E_INTERNAL, "cannot retire old keys");
        gw_err_detail(err, "%s", PQresultErrorMessage(res));
    }
    PQclear(res);
    if (!ok || exec_simple(conn, "COMMIT", err) != 0)
        goto fail;
    return 0;
fail:
    exec_simple(conn, "ROLLBACK", NULL);
    return -1;
}

/* --- the asynchronous poll --- */

typedef struct {
    gw_thread_t *thread;
    h2o_timeout_t timeout; /* keys.refresh_interval_ms */
    h2o_timeout_t soon;    /* 0 ms: the next loop turn, for gw_keys_reload_soon */
    h2o_timeout_entry_t entry;
    store_query_t *query;
    int again; /* asked for while a check was under way, which may predate the key */
} refresh_t;

static refresh_t *g_refresh;
/* The thread that owns g_refresh, set once before the loops run. Every
 * thread calls gw_keys_stop_refresh at shutdown: the others must decide it is
 * not theirs without reading g_refresh, which the owner frees meanwhile. */
static const gw_thread_t *_Atomic g_refresh_owner;

/* gw_keys_reload_soon's message to the refresh thread. Static, as other
 * threads may reach for it while the owner stops: g_soon_lock guards whether
 * the receiver is registered (g_soon_open) and whether the one message is
 * queued (g_soon_queued; h2o must not be handed a queued message again). */
static pthread_mutex_t g_soon_lock = PTHREAD_MUTEX_INITIALIZER;
static h2o_multithread_receiver_t g_soon_receiver;
static h2o_multithread_message_t g_soon_msg;
static int g_soon_open, g_soon_queued;

static void schedule(refresh_t *rf)
{
    rf->query = NULL;
    h2o_timeout_link(rf->thread->loop, rf->again ? &rf->soon : &rf->timeout, &rf->entry);
    rf->again = 0;
}

static void on_active(void *data, PGresult *res, const gw_err_t *qerr)
{
    refresh_t *rf = data;
    gw_err_t err;
    if (res != NULL && install_result(res, &err) == 0)
        gw_log_info("signing keys reloaded: %s", gw_keyset_fingerprint());
    else
        gw_log_warn("signing keys not reloaded: %s %s", res ? err.public : qerr->public,
                    res ? err.detail : "");
    schedule(rf);
}

static void on_fingerprint(void *data, PGresult *res, const gw_err_t *qerr)
{
    refresh_t *rf = data;
    (void)qerr; /* the database being away is reported by /readyz, not here */
    const char *fp = res ? store_value(res, 0, 0) : NULL;
    if (fp != NULL && *fp != '\0' && strcmp(fp, gw_keyset_fingerprint()) != 0) {
        gw_err_t err;
        rf->query = store_query_send(rf->thread->store, &STMT_ACTIVE, NULL, on_active, rf, &err);
        if (rf->query != NULL)
            return;
    }
    schedule(rf);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    refresh_t *rf = H2O_STRUCT_FROM_MEMBER(refresh_t, entry, entry);
    gw_err_t err;
    rf->query = store_query_send(rf->thread->store, &STMT_FINGERPRINT, NULL, on_fingerprint, rf, &err);
    if (rf->query == NULL)
        schedule(rf);
}

/* On the refresh thread: check now instead of at the next tick. */
static void on_reload_soon(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    pthread_mutex_lock(&g_soon_lock);
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    g_soon_queued = 0;
    pthread_mutex_unlock(&g_soon_lock);
    refresh_t *rf = g_refresh;
    if (rf == NULL)
        return;
    gw_log_debug("a token named a key this process does not have: checking for new signing keys");
    if (rf->query != NULL) {
        rf->again = 1;
        return;
    }
    if (h2o_timeout_is_linked(&rf->entry))
        h2o_timeout_unlink(&rf->entry);
    h2o_timeout_link(rf->thread->loop, &rf->soon, &rf->entry);
}

void gw_keys_reload_soon(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (!gw_keys_reload_due((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000))
        return;
    pthread_mutex_lock(&g_soon_lock);
    if (g_soon_open && !g_soon_queued) {
        g_soon_queued = 1;
        h2o_multithread_send_message(&g_soon_receiver, &g_soon_msg);
    }
    pthread_mutex_unlock(&g_soon_lock);
}

void gw_keys_start_refresh(gw_thread_t *t, unsigned interval_ms)
{
    refresh_t *rf = gw_calloc(1, sizeof(*rf));
    rf->thread = t;
    h2o_timeout_init(t->loop, &rf->timeout, interval_ms);
    h2o_timeout_init(t->loop, &rf->soon, 0);
    rf->entry.cb = on_tick;
    g_refresh = rf;
    g_refresh_owner = t;
    h2o_multithread_register_receiver(t->queue, &g_soon_receiver, on_reload_soon);
    pthread_mutex_lock(&g_soon_lock);
    g_soon_open = 1;
    pthread_mutex_unlock(&g_soon_lock);
    schedule(rf);
}

void gw_keys_stop_refresh(gw_thread_t *t)
{
    if (g_refresh_owner != t)
        return;
    refresh_t *rf = g_refresh;
    if (rf == NULL)
        return;
    pthread_mutex_lock(&g_soon_lock);
    g_soon_open = 0;
    int queued = g_soon_queued;
    pthread_mutex_unlock(&g_soon_lock);
    /* h2o unregisters only a receiver without messages; one still queued
     * stays with the loop's queue, which is never run nor freed again. */
    if (!queued)
        h2o_multithread_unregister_receiver(t->queue, &g_soon_receiver);
    if (h2o_timeout_is_linked(&rf->entry))
        h2o_timeout_unlink(&rf->entry);
    if (rf->query != NULL)
        store_query_cancel(rf->query);
    h2o_timeout_dispose(t->loop, &rf->soon);
    h2o_timeout_dispose(t->loop, &rf->timeout);
    free(rf);
    g_refresh = NULL;
}
