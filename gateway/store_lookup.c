/* The database's host name, looked up off the event loop.
 *
 * libpq looks a host name up with a blocking getaddrinfo inside
 * PQconnectStart (its documentation: give hostaddr to avoid it). With the
 * shipped docker-compose.yml ("host=postgres") every connection and every
 * reconnect of every worker thread stopped its loop for the lookup, for
 * seconds when DNS is slow or down. So the store looks the name up with h2o's
 * resolver threads (h2o_hostinfo_getaddr) and hands libpq the numeric
 * addresses as hostaddr, one host entry per address in the order the
 * resolver gave them: libpq tries them in turn as it would have, and `host`
 * stays the name, for TLS certificate checks (sslmode=verify-full) and the
 * password file. A name is looked up again at every connection attempt, so a
 * database that moves to a new address is found.
 *
 * Only a single host is handled this way; a list of hosts ("host=a,b"), a
 * socket directory, a numeric address or a given hostaddr connect as
 * before. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gateway/alloc.h"
#include "gateway/store_internal.h"

/* libpq's value for `keyword`: the conninfo's, else its environment
 * variable's, else NULL. */
static const char *option(const PQconninfoOption *opts, const char *keyword, const char *envvar)
{
    for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, keyword) == 0 && o->val != NULL && o->val[0] != '\0')
            return o->val;
    const char *env = envvar ? getenv(envvar) : NULL;
    return env != NULL && env[0] != '\0' ? env : NULL;
}

static int is_numeric_address(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int store_lookup_plan(const char *conninfo, store_lookup_t *out)
{
    memset(out, 0, sizeof(*out));
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    if (opts == NULL)
        return -1;
    const char *host = option(opts, "host", "PGHOST");
    const char *port = option(opts, "port", "PGPORT");
    int needed = host != NULL && option(opts, "hostaddr", "PGHOSTADDR") == NULL && host[0] != '/' &&
                 host[0] != '@' && strchr(host, ',') == NULL && !is_numeric_address(host) &&
                 (port == NULL || strchr(port, ',') == NULL);
    if (needed) {
        out->name = gw_strdup(host);
        out->port = gw_strdup(port != NULL ? port : "5432");
    }
    PQconninfoFree(opts);
    return needed;
}

void store_lookup_dispose(store_lookup_t *l)
{
    free(l->name);
    free(l->port);
    memset(l, 0, sizeof(*l));
}

/* "a,b,c" of at most STORE_LOOKUP_MAX_ADDRS numeric addresses from `res`,
 * and as many copies of `name`. 0 when there is none. */
static size_t address_lists(const struct addrinfo *res, const char *name, char *addrs, size_t addrs_size,
                            char *hosts, size_t hosts_size)
{
    size_t n = 0, alen = 0, hlen = 0;
    addrs[0] = hosts[0] = '\0';
    for (const struct addrinfo *ai = res; ai != NULL && n < STORE_LOOKUP_MAX_ADDRS; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN];
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof(text), NULL, 0, NI_NUMERICHOST) != 0)
            continue;
        int a = snprintf(addrs + alen, addrs_size - alen, "%s%s", n ? "," : "", text);
        int h = snprintf(hosts + hlen, hosts_size - hlen, "%s%s", n ? "," : "", name);
        if (a < 0 || h < 0 || (size_t)a >= addrs_size - alen || (size_t)h >= hosts_size - hlen)
            break;
        alen += (size_t)a;
        hlen += (size_t)h;
        n++;
    }
    addrs[alen] = hosts[hlen] = '\0'; /* drops what a cut-off last entry wrote */
    return n;
}

PGconn *store_lookup_connect(const char *conninfo, const char *name, const struct addrinfo *res, char *err,
                             size_t errsize)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    if (opts == NULL) {
        snprintf(err, errsize, "the database URL cannot be read");
        return NULL;
    }
    char addrs[STORE_LOOKUP_MAX_ADDRS * (INET6_ADDRSTRLEN + 1)];
    size_t hosts_size = STORE_LOOKUP_MAX_ADDRS * (strlen(name) + 1) + 1;
    char *hosts = gw_malloc(hosts_size);
    PGconn *pg = NULL;
    if (address_lists(res, name, addrs, sizeof(addrs), hosts, hosts_size) == 0) {
        snprintf(err, errsize, "%s has no address", name);
        goto out;
    }
    size_t count = 0;
    for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
        count++;
    const char **keys = gw_calloc(count + 3, sizeof(*keys));
    const char **vals = gw_calloc(count + 3, sizeof(*vals));
    size_t k = 0;
    for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0)
            continue;
        keys[k] = o->keyword;
        vals[k++] = o->val;
    }
    keys[k] = "host";
    vals[k++] = hosts;
    keys[k] = "hostaddr";
    vals[k++] = addrs;
    pg = PQconnectStartParams(keys, vals, 0);
    free(keys);
    free(vals);
out:
    free(hosts);
    PQconninfoFree(opts);
    return pg;
}
