/* Between gateway/store.c and its helpers: store_lookup.c looks the
 * database's host name up off the event loop; store_pick.c chooses the
 * connection each query goes to. */
#ifndef REGAIN_GATEWAY_STORE_INTERNAL_H
#define REGAIN_GATEWAY_STORE_INTERNAL_H

#include <libpq-fe.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- store_pick.c ---------------------------------------------------------- */

/* A connection whose backend has been on one query this long is behind
 * something slow; see store_pick.c. */
#define STORE_PACK_US 500

/* What store_pick needs to know of one connection. */
typedef struct {
    int usable;            /* ready, and room for one more query in its pipeline */
    unsigned in_flight;    /* queries sent and not answered yet */
    uint64_t head_busy_us; /* how long the backend has been on the oldest of them (0: none) */
    int searching;         /* one of them is a run-time statement (a search) */
} store_conn_load_t;

/* The index of the connection the next query goes to, or -1 when none of
 * the `n` is usable. */
int store_pick(const store_conn_load_t *load, unsigned n);

#endif
