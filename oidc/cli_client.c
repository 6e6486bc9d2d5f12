/* `regain client add|list|remove`: blocking libpq on the CLI's own
 * connection (never on a loop thread). The options become the same JSON
 * metadata the admin API takes, so both go through one set of rules
 * (oidc_client_from_json). Exit codes: 0 done, 1 failed, 2 usage or invalid
 * input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "gateway/secrets.h"
#include "oidc/clients_internal.h"
#include "oidc/oidc.h"

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

const char oidc_cli_client_usage[] =
    "usage: regain client add --id ID [--name NAME] [--redirect-uri URI]... [--post-logout-redirect-uri "
    "URI]...\n"
    "                         [--grant-types authorization_code,refresh_token,client_credentials]\n"
    "                         [--scopes \"openid profile email offline_access\"]\n"
    "                         [--auth-method client_secret_basic|client_secret_post|private_key_jwt|none]\n"
    "                         [--id-token-alg ES256|RS256] [--jwks FILE] [--json] --config FILE\n"
    "       regain client list [--json] --config FILE\n"
    "       regain client remove ID --config FILE\n";

/* Prints "regain client: WHAT ARG" and the usage; returns EXIT_USAGE. */
static int usage(const char *what, const char *arg)
{
    fprintf(stderr, "regain client: %s%s\n%s", what, arg, oidc_cli_client_usage);
    return EXIT_USAGE;
}

/* "--name value" or "--name=value"; advances *i past what it used. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = gw_malloc(max + 1);
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f) || n > max;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Comma- or space-separated list as a JSON array of strings. */
static void write_list(gw_jw_t *w, const char *s)
{
    gw_jw_arr_open(w);
    for (const char *p = s; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ", ");
        if (n > 0)
            gw_jw_strn(w, p, n);
        p += n;
    }
    gw_jw_arr_close(w);
}

static void print_client_text(const oidc_client_t *c)
{
    printf("%s\t%s\t%s\t", c->id, oidc_auth_method_name(c->auth_method), c->name);
    for (unsigned bit = 1, first = 1; bit <= OIDC_GRANT_CLIENT_CREDENTIALS; bit <<= 1)
        if (c->grants & bit) {
            printf("%s%s", first ? "" : ",", oidc_grant_name(bit));
            first = 0;
        }
    printf("\t");
    for (size_t i = 0; i < c->redirect_uri_count; i++)
        printf("%s%s", i ? "," : "", c->redirect_uris[i]);
    printf("\n");
}

static int print_json(gw_jw_t *w)
{
    size_t len;
    const char *buf = gw_jw_buf(w, &len);
    if (buf == NULL) {
        fprintf(stderr, "regain client: could not encode the output\n");
        return EXIT_FAIL;
    }
    fwrite(buf, 1, len, stdout);
    fputc('\n', stdout);
    return EXIT_OK;
}

static int cmd_add(PGconn *conn, int argc, char **argv)
{
    const char *id = NULL, *name = NULL, *grants = NULL, *scopes = NULL, *method = NULL, *alg = NULL,
               *jwks = NULL;
    const char *redirects[OIDC_CLIENT_URIS_MAX], *logouts[OIDC_CLIENT_URIS_MAX];
    size_t nr = 0, nl = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if ((v = opt_value(argc, argv, &i, "--id")) != NULL) {
            id = v;
        } else if ((v = opt_value(argc, argv, &i, "--name")) != NULL) {
            name = v;
        } else if ((v = opt_value(argc, argv, &i, "--redirect-uri")) != NULL) {
            if (nr == OIDC_CLIENT_URIS_MAX)
                return usage("at most 32 redirect URIs", "");
            redirects[nr++] = v;
        } else if ((v = opt_value(argc, argv, &i, "--post-logout-redirect-uri")) != NULL) {
            if (nl == OIDC_CLIENT_URIS_MAX)
                return usage("at most 32 post-logout redirect URIs", "");
            logouts[nl++] = v;
        } else if ((v = opt_value(argc, argv, &i, "--grant-types")) != NULL) {
            grants = v;
        } else if ((v = opt_value(argc, argv, &i, "--scopes")) != NULL) {
            scopes = v;
        } else if ((v = opt_value(argc, argv, &i, "--auth-method")) != NULL) {
            method = v;
        } else if ((v = opt_value(argc, argv, &i, "--id-token-alg")) != NULL) {
            alg = v;
        } else if ((v = opt_value(argc, argv, &i, "--jwks")) != NULL) {
            jwks = v;
        } else {
            return usage("unknown option ", argv[i]);
        }
    }
    if (id == NULL || id[0] == '\0')
        return usage("client add needs --id ID", "");

    /* The options as registration metadata. */
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "client_id", id);
    if (name != NULL)
        gw_jw_kv_str(w, "client_name", name);
    gw_jw_key(w, "redirect_uris");
    gw_jw_arr_open(w);
    for (size_t i = 0; i < nr; i++)
        gw_jw_str(w, redirects[i]);
    gw_jw_arr_close(w);
    gw_jw_key(w, "post_logout_redirect_uris");
    gw_jw_arr_open(w);
    for (size_t i = 0; i < nl; i++)
        gw_jw_str(w, logouts[i]);
    gw_jw_arr_close(w);
    if (grants != NULL) {
        gw_jw_key(w, "grant_types");
        write_list(w, grants);
    }
    if (scopes != NULL) {
        /* Accept "a b" and "a,b": normalise to single spaces. */
        char *sc = gw_strdup(scopes);
        size_t k = 0;
        for (const char *p = scopes; *p;) {
            while (*p == ',' || *p == ' ')
                p++;
            size_t n = strcspn(p, ", ");
            if (n > 0) {
                if (k > 0)
                    sc[k++] = ' ';
                memmove(sc + k, p, n);
                k += n;
            }
            p += n;
        }
        sc[k] = '\0';
        gw_jw_kv_str(w, "scope", sc);
        free(sc);
    }
    if (method != NULL)
        gw_jw_kv_str(w, "token_endpoint_auth_method", method);
    if (alg != NULL)
        gw_jw_kv_str(w, "id_token_signed_response_alg", alg);
    int rc = EXIT_USAGE;
    char *jwks_text = NULL;
    yajl_val doc = NULL;
    oidc_client_t *c = NULL;
    gw_err_t err;
    if (jwks != NULL) {
        size_t jlen = 0;
        jwks_text = read_file(jwks, OIDC_CLIENT_JSON_MAX, &jlen);
        gw_json_limits_t jl = {.max_bytes = OIDC_CLIENT_JSON_MAX, .require_object = true};
        yajl_val check = jwks_text != NULL ? gw_json_parse(jwks_text, jlen, &jl, &err) : NULL;
        if (check == NULL) {
            fprintf(stderr, "regain client: --jwks %s: %s\n", jwks,
                    jwks_text == NULL ? "cannot read it (missing, or over 64 KiB)" : "not a JSON object");
            goto out;
        }
        yajl_tree_free(check);
        gw_jw_kv_raw(w, "jwks", jwks_text, jlen); /* validated just above */
    }
    gw_jw_obj_close(w);
    size_t len;
    const char *meta = gw_jw_buf(w, &len);
    if (meta == NULL) {
        fprintf(stderr, "regain client: options are not valid UTF-8\n");
        goto out;
    }
    doc = gw_json_parse(meta, len, NULL, &err);
    if (doc == NULL || oidc_client_from_json(doc, NULL, &c, &err) != 0) {
        fprintf(stderr, "regain client add: %s\n", err.public);
        goto out;
    }

    char secret[GW_SECRET_LEN + 1] = "", hex[GW_SECRET_HASH_HEX_LEN + 1];
    const char *params[OIDC_CLIENT_DB_NPARAMS];
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    if (c->has_secret) {
        gw_secret_new(secret);
        gw_secret_hash_hex(secret, GW_SECRET_LEN, hex);
    }
    rc = EXIT_FAIL;
    if (oidc_client_db_params(&pool, c, c->has_secret ? hex : NULL, params, &err) != 0) {
        fprintf(stderr, "regain client add: %s\n", err.public);
    } else {
        params[OIDC_CLIENT_DB_WHO] = "cli"; /* the audit event's actor (schema/008_audit.sql) */
        PGresult *res = PQexecParams(conn, OIDC_STMT_CLIENT_INSERT.sql, OIDC_CLIENT_DB_NPARAMS, NULL, params,
                                     NULL, NULL, 0);
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            if (json) {
                gw_jw_t *o = gw_jw_new();
                oidc_client_write_json(o, c, c->has_secret ? secret : NULL);
                rc = print_json(o);
                gw_jw_free(o);
            } else {
                printf("client %s registered (%s)\n", c->id, oidc_auth_method_name(c->auth_method));
                if (c->has_secret)
                    printf("client_secret: %s\n(shown once: store it now; regain keeps only a hash)\n",
                           secret);
                rc = EXIT_OK;
            }
        } else if (state != NULL && strcmp(state, "23505") == 0) {
            fprintf(stderr, "regain client add: a client with id %s already exists\n", c->id);
        } else {
            fprintf(stderr, "regain client add: database error: %s", PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    gw_wipe(secret, sizeof(secret));
    h2o_mem_clear_pool(&pool);
out:
    oidc_client_unref(c);
    yajl_tree_free(doc);
    free(jwks_text);
    gw_jw_free(w);
    return rc;
}

static int cmd_list(PGconn *conn, int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return usage("unknown option ", argv[i]);
    }
    PGresult *res = PQexecParams(conn, OIDC_STMT_CLIENT_LIST.sql, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "regain client list: database error: %s", PQresultErrorMessage(res));
        PQclear(res);
        return EXIT_FAIL;
    }
    int rc = EXIT_OK;
    gw_jw_t *w = gw_jw_new();
    gw_jw_obj_open(w);
    gw_jw_key(w, "clients");
    gw_jw_arr_open(w);
    for (int i = 0; i < PQntuples(res); i++) {
        oidc_client_t *c = NULL;
        gw_err_t err;
        if (oidc_client_from_row(res, i, &c, &err) != 0) {
            fprintf(stderr, "regain client list: row %d: %s (%s)\n", i + 1, err.public, err.detail);
            rc = EXIT_FAIL;
            continue;
        }
        if (json)
            oidc_client_write_json(w, c, NULL);
        else
            print_client_text(c);
        oidc_client_unref(c);
    }
    gw_jw_arr_close(w);
    gw_jw_obj_close(w);
    if (json && print_json(w) != EXIT_OK)
        rc = EXIT_FAIL;
    gw_jw_free(w);
    PQclear(res);
    return rc;
}

static int cmd_remove(PGconn *conn, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return usage("client remove takes exactly one client id", "");
    if (!oidc_client_id_valid(argv[1], strlen(argv[1])))
        return usage("invalid client id ", argv[1]);
    const char *params[4] = {argv[1], "cli", NULL, NULL}; /* id, then who for the audit event */
    PGresult *res = PQexecParams(conn, OIDC_STMT_CLIENT_DELETE.sql, 4, NULL, params, NULL, NULL, 0);
    int rc = EXIT_FAIL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "regain client remove: database error: %s", PQresultErrorMessage(res));
    } else if (PQntuples(res) == 0) {
        fprintf(stderr, "regain client remove: no client %s\n", argv[1]);
    } else {
        /* Running servers drop their cached copy within the cache TTL. */
        printf("client %s removed\n", argv[1]);
        rc = EXIT_OK;
    }
    PQclear(res);
    return rc;
}

int oidc_cli_client(const gw_config_t *cfg, PGconn *conn, int argc, char **argv)
{
    (void)cfg;
    if (argc < 1)
        return usage("missing action", "");
    if (strcmp(argv[0], "add") == 0)
        return cmd_add(conn, argc, argv);
    if (strcmp(argv[0], "list") == 0)
        return cmd_list(conn, argc, argv);
    if (strcmp(argv[0], "remove") == 0)
        return cmd_remove(conn, argc, argv);
    return usage("unknown action (add, list or remove): ", argv[0]);
}
