/* Between gateway/store.c and gateway/store_lookup.c: looking the
 * database's host name up off the event loop. */
#ifndef REGAIN_GATEWAY_STORE_INTERNAL_H
#define REGAIN_GATEWAY_STORE_INTERNAL_H

#include <libpq-fe.h>
#include <netdb.h>
#include <stddef.h>

/* Addresses of one name handed to libpq (it tries them in order). */
#define STORE_LOOKUP_MAX_ADDRS 8

typedef struct {
    char *name; /* the host name to look up, or NULL: libpq needs no lookup */
    char *port; /* its port */
} store_lookup_t;

/* 1 (and `out` filled) when connecting with `conninfo` would have libpq look
 * a host name up; 0 when not; -1 when `conninfo` cannot be read. */
int store_lookup_plan(const char *conninfo, store_lookup_t *out);
void store_lookup_dispose(store_lookup_t *l);

/* PQconnectStartParams with `conninfo`, host `name` and the addresses the
 * lookup found as hostaddr. NULL with `err` filled when there is none (or no
 * memory). */
PGconn *store_lookup_connect(const char *conninfo, const char *name, const struct addrinfo *res, char *err,
                             size_t errsize);

#endif
