/* SQL about users for sign-in: the CLI's insert (the lookup by userName is
 * part of oidc_stmt_login_attempt, throttle_db.c). */
#include <stdio.h>
#include <string.h>

#include "oidc/signin_internal.h"

int oidc_user_insert_blocking(PGconn *conn, const char *username, const char *given, const char *family,
                              const char *email, int email_verified, const char *password_hash,
                              char id_out[OIDC_UUID_LEN + 1], char *msg, size_t msgsize)
{
    const char *params[6] = {username,     given, family, email, email_verified ? "true" : "false",
                             password_hash};
    PGresult *res =
        PQexecParams(conn,
                     "INSERT INTO users (user_name, given_name, family_name, email, email_verified, "
                     "password_hash) VALUES ($1, $2, $3, $4, $5::boolean, $6) RETURNING id",
                     6, NULL, params, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        snprintf(id_out, OIDC_UUID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
        rc = 0;
    } else {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state != NULL && strcmp(state, "23505") == 0) /* unique_violation */
            rc = 1;
        else
            snprintf(msg, msgsize, "%s", PQerrorMessage(conn));
    }
    PQclear(res);
    return rc;
}
