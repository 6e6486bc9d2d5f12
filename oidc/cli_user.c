/* `regain user add`: creates a user who can sign in with a password.
 * Blocking libpq is fine here: this is a command-line tool, not a loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/alloc.h"
#include "oidc/oidc.h"
#include "oidc/signin_internal.h"

const char oidc_cli_user_usage[] =
    "usage: regain user add --username U [--given-name G] [--family-name F] [--email E] [--email-verified]\n"
    "                       [--password-stdin | --password P] --config FILE\n";

/* 1 to `max` characters (UTF-8 code points, as the schema's length() counts
 * them), no control characters, which would end up in pages, logs and SCIM
 * responses. */
static int text_ok(const char *s, size_t max)
{
    size_t n = strlen(s), chars = 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
        chars += ((unsigned char)s[i] & 0xc0) != 0x80;
    }
    return chars > 0 && chars <= max;
}

/* One line from stdin, without its line ending; -1 when too long or empty. */
static int read_password(char *buf, size_t cap)
{
    if (fgets(buf, (int)cap, stdin) == NULL)
        return -1;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (n == cap - 1)
        return -1; /* no newline within the limit: longer than allowed */
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return n == 0 ? -1 : 0;
}

static int cmd_add(const gw_config_t *cfg, PGconn *conn, int argc, char **argv)
{
    const char *username = NULL, *given = NULL, *family = NULL, *email = NULL, *password = NULL;
    int verified = 0, from_stdin = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--username") == 0)
            slot = &username;
        else if (strcmp(a, "--given-name") == 0)
            slot = &given;
        else if (strcmp(a, "--family-name") == 0)
            slot = &family;
        else if (strcmp(a, "--email") == 0)
            slot = &email;
        else if (strcmp(a, "--password") == 0)
            slot = &password;
        else if (strcmp(a, "--email-verified") == 0)
            verified = 1;
        else if (strcmp(a, "--password-stdin") == 0)
            from_stdin = 1;
        else {
            fprintf(stderr, "regain user add: unknown option %s\n%s", a, oidc_cli_user_usage);
            return 2;
        }
        if (slot != NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "regain user add: %s needs a value\n%s", a, oidc_cli_user_usage);
                return 2;
            }
            *slot = argv[++i];
        }
    }
    if (username == NULL) {
        fprintf(stderr, "regain user add: --username is required\n%s", oidc_cli_user_usage);
        return 2;
    }
    if (password != NULL && from_stdin) {
        fprintf(stderr, "regain user add: use either --password or --password-stdin\n%s",
                oidc_cli_user_usage);
        return 2;
    }
    if (!text_ok(username, OIDC_USERNAME_MAX) || username[0] == ' ' ||
        username[strlen(username) - 1] == ' ') {
        fprintf(stderr,
                "regain user add: the username must be 1 to %d characters of printable text without "
                "leading or trailing spaces\n",
                OIDC_USERNAME_MAX);
        return 2;
    }
    if ((given && !text_ok(given, 256)) || (family && !text_ok(family, 256)) ||
        (email && (!text_ok(email, 320) || strchr(email, '@') == NULL))) {
        fprintf(stderr, "regain user add: names are 1 to 256 bytes of printable text; the email address "
                        "has an @ and at most 320 bytes\n");
        return 2;
    }
    char buf[OIDC_PASSWORD_MAX + 2];
    if (from_stdin) {
        if (read_password(buf, sizeof(buf)) != 0) {
            fprintf(stderr, "regain user add: no password on stdin, or longer than %d bytes\n",
                    OIDC_PASSWORD_MAX);
            return 2;
        }
        password = buf;
    } else if (password != NULL) {
        fprintf(stderr, "regain user add: note: --password is visible to other local users (ps); prefer "
                        "--password-stdin\n");
    }
    if (password != NULL && (password[0] == '\0' || strlen(password) > OIDC_PASSWORD_MAX)) {
        fprintf(stderr, "regain user add: the password must be 1 to %d bytes\n", OIDC_PASSWORD_MAX);
        return 2;
    }

    char *hash = NULL;
    if (password != NULL) {
        oidc_argon2_params_t prm = {cfg->oidc.argon2_t, cfg->oidc.argon2_m_kib, cfg->oidc.argon2_p};
        gw_err_t err;
        int rc = oidc_password_hash(&prm, password, strlen(password), &hash, &err);
        gw_wipe(buf, sizeof(buf));
        if (rc != 0) {
            fprintf(stderr, "regain user add: %s (%s)\n", err.public, err.detail);
            return 1;
        }
    }
    char id[OIDC_UUID_LEN + 1], msg[512];
    int rc =
        oidc_user_insert_blocking(conn, username, given, family, email, verified, hash, id, msg, sizeof(msg));
    free(hash);
    if (rc == 1) {
        fprintf(stderr, "regain user add: the username %s is already taken (usernames ignore case)\n",
                username);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "regain user add: database error: %s", msg);
        return 1;
    }
    printf("%s\n", id);
    return 0;
}

int oidc_cli_user(const gw_config_t *cfg, PGconn *conn, int argc, char **argv)
{
    if (strcmp(argv[0], "add") == 0)
        return cmd_add(cfg, conn, argc, argv);
    fprintf(stderr, "regain user: unknown action %s\n%s", argv[0], oidc_cli_user_usage);
    return 2;
}
