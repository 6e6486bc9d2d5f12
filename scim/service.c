/* The SCIM discovery endpoints (RFC 7644 §4): /ServiceProviderConfig
 * (RFC 7643 §5, with RFC 9865 §4's pagination), /ResourceTypes (RFC 7643 §6)
 * and /Schemas (RFC 7643 §7), all rendered from the tables of schema_defs.c,
 * so what a client reads is what the server enforces.
 *
 * Served without authentication, which RFC 7644 §4 allows: they describe
 * the software, not the directory's data, are the same for every client,
 * and provisioning clients read them before they have a token (to find the
 * authentication scheme, for one). Nothing here touches the database. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gateway/parse.h"
#include "scim/bulk.h"
#include "scim/endpoints.h"

#define URN_SPC         "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define URN_RESOURCE_TY "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
#define URN_SCHEMA      "urn:ietf:params:scim:schemas:core:2.0:Schema"

static const scim_resource_type_t *const RESOURCE_TYPES[] = {&SCIM_RT_USER, &SCIM_RT_GROUP};
#define N_RESOURCE_TYPES (sizeof(RESOURCE_TYPES) / sizeof(RESOURCE_TYPES[0]))

/* Every schema once, each with the resource type whose core it is (NULL for
 * an extension): the core schemas list the common attributes too. */
static const struct {
    const scim_schema_t *schema;
    const scim_resource_type_t *core_of;
} SCHEMAS[] = {
    {&SCIM_SCHEMA_USER, &SCIM_RT_USER},
    {&SCIM_SCHEMA_GROUP, &SCIM_RT_GROUP},
    {&SCIM_SCHEMA_ENTERPRISE, NULL},
    {&SCIM_SCHEMA_RECOVERY, NULL},
};
#define N_SCHEMAS (sizeof(SCHEMAS) / sizeof(SCHEMAS[0]))

static const char *const TYPE_NAMES[] = {
    [SCIM_T_STRING] = "string",       [SCIM_T_BOOLEAN] = "boolean",   [SCIM_T_DECIMAL] = "decimal",
    [SCIM_T_INTEGER] = "integer",     [SCIM_T_DATETIME] = "dateTime", [SCIM_T_BINARY] = "binary",
    [SCIM_T_REFERENCE] = "reference", [SCIM_T_COMPLEX] = "complex",
};
static const char *const MUTABILITY_NAMES[] = {
    [SCIM_MUT_READ_WRITE] = "readWrite",
    [SCIM_MUT_READ_ONLY] = "readOnly",
    [SCIM_MUT_IMMUTABLE] = "immutable",
    [SCIM_MUT_WRITE_ONLY] = "writeOnly",
};
static const char *const RETURNED_NAMES[] = {
    [SCIM_RET_DEFAULT] = "default",
    [SCIM_RET_ALWAYS] = "always",
    [SCIM_RET_NEVER] = "never",
    [SCIM_RET_REQUEST] = "request",
};
static const char *const UNIQUENESS_NAMES[] = {
    [SCIM_UNIQ_NONE] = "none",
    [SCIM_UNIQ_SERVER] = "server",
    [SCIM_UNIQ_GLOBAL] = "global",
};

/* The public base of the SCIM endpoints: the issuer + /scim/v2. */
static void kv_location(gw_jw_t *w, const char *path1, const char *path2)
{
    const char *issuer = scim_cfg != NULL ? scim_cfg->issuer : "";
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s" SCIM_BASE "%s%s", issuer, path1, path2 != NULL ? path2 : "");
    gw_jw_kv_str(w, "location", buf);
}

static void write_meta(gw_jw_t *w, const char *resource_type, const char *path1, const char *path2)
{
    gw_jw_key(w, "meta");
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "resourceType", resource_type);
    kv_location(w, path1, path2);
    gw_jw_obj_close(w);
}

static void write_strings(gw_jw_t *w, const char *key, const char *const *list)
{
    gw_jw_key(w, key);
    gw_jw_arr_open(w);
    for (; list != NULL && *list != NULL; list++)
        gw_jw_str(w, *list);
    gw_jw_arr_close(w);
}

/* One attribute definition, RFC 7643 §7 "attributes": every characteristic
 * spelled out, so a client need not know the defaults of §2.2. */
static void write_attr(gw_jw_t *w, const scim_attr_t *a)
{
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "name", a->name);
    gw_jw_kv_str(w, "type", TYPE_NAMES[a->type]);
    gw_jw_kv_bool(w, "multiValued", a->multi_valued);
    gw_jw_kv_str(w, "description", a->description);
    gw_jw_kv_bool(w, "required", a->required);
    gw_jw_kv_bool(w, "caseExact", a->case_exact);
    gw_jw_kv_str(w, "mutability", MUTABILITY_NAMES[a->mutability]);
    gw_jw_kv_str(w, "returned", RETURNED_NAMES[a->returned]);
    gw_jw_kv_str(w, "uniqueness", UNIQUENESS_NAMES[a->uniqueness]);
    if (a->canonical_values != NULL)
        write_strings(w, "canonicalValues", a->canonical_values);
    /* §7: referenceTypes is required for reference attributes. */
    if (a->type == SCIM_T_REFERENCE)
        write_strings(w, "referenceTypes", a->reference_types);
    if (a->type == SCIM_T_COMPLEX) {
        gw_jw_key(w, "subAttributes");
        gw_jw_arr_open(w);
        for (size_t i = 0; i < a->sub_count; i++)
            write_attr(w, &a->sub_attrs[i]);
        gw_jw_arr_close(w);
    }
    gw_jw_obj_close(w);
}

static void write_schema(gw_jw_t *w, const scim_schema_t *s, const scim_resource_type_t *core_of)
{
    gw_jw_obj_open(w);
    write_strings(w, "schemas", (const char *const[]){URN_SCHEMA, NULL});
    gw_jw_kv_str(w, "id", s->id);
    gw_jw_kv_str(w, "name", s->name);
    gw_jw_kv_str(w, "description", s->description);
    gw_jw_key(w, "attributes");
    gw_jw_arr_open(w);
    /* RFC 7643 §3.1 makes id, externalId and meta part of every resource
     * without a schema of their own; listing them under the core schema
     * tells clients their characteristics (externalId is caseExact). */
    if (core_of != NULL)
        for (size_t i = 0; i < SCIM_COMMON_ATTR_COUNT; i++)
            write_attr(w, &SCIM_COMMON_ATTRS[i]);
    for (size_t i = 0; i < s->count; i++)
        write_attr(w, &s->attrs[i]);
    gw_jw_arr_close(w);
    write_meta(w, "Schema", "/Schemas/", s->id);
    gw_jw_obj_close(w);
}

static void write_resource_type(gw_jw_t *w, const scim_resource_type_t *rt)
{
    gw_jw_obj_open(w);
    write_strings(w, "schemas", (const char *const[]){URN_RESOURCE_TY, NULL});
    gw_jw_kv_str(w, "id", rt->id);
    gw_jw_kv_str(w, "name", rt->name);
    gw_jw_kv_str(w, "endpoint", rt->endpoint);
    gw_jw_kv_str(w, "description", rt->description);
    gw_jw_kv_str(w, "schema", rt->core->id);
    gw_jw_key(w, "schemaExtensions");
    gw_jw_arr_open(w);
    for (const scim_schema_t *const *e = rt->extensions; *e != NULL; e++) {
        gw_jw_obj_open(w);
        gw_jw_kv_str(w, "schema", (*e)->id);
        gw_jw_kv_bool(w, "required", false);
        gw_jw_obj_close(w);
    }
    gw_jw_arr_close(w);
    write_meta(w, "ResourceType", "/ResourceTypes/", rt->id);
    gw_jw_obj_close(w);
}

static void write_supported(gw_jw_t *w, const char *key, bool supported)
{
    gw_jw_key(w, key);
    gw_jw_obj_open(w);
    gw_jw_kv_bool(w, "supported", supported);
    gw_jw_obj_close(w);
}

static void write_service_provider_config(gw_jw_t *w)
{
    gw_jw_obj_open(w);
    write_strings(w, "schemas", (const char *const[]){URN_SPC, NULL});
    write_supported(w, "patch", true);
    gw_jw_key(w, "bulk");
    gw_jw_obj_open(w);
    gw_jw_kv_bool(w, "supported", true);
    gw_jw_kv_int64(w, "maxOperations", SCIM_BULK_MAX_OPERATIONS);
    /* What /Bulk really reads: its own limit, or the server's request body
     * limit when smaller, since h2o refuses a bigger body with a 413 of its
     * own (not a SCIM error) before /Bulk sees it. */
    gw_jw_kv_int64(w, "maxPayloadSize", (int64_t)scim_bulk_max_payload());
    gw_jw_obj_close(w);
    gw_jw_key(w, "filter");
    gw_jw_obj_open(w);
    gw_jw_kv_bool(w, "supported", true);
    gw_jw_kv_int64(w, "maxResults", SCIM_MAX_PAGE);
    gw_jw_obj_close(w);
    /* PUT and PATCH may set `password` (stored as an Argon2id hash). */
    write_supported(w, "changePassword", true);
    write_supported(w, "sort", true);
    /* Weak ETags in meta.version and the ETag header, If-Match and
     * If-None-Match (RFC 7644 §3.14). */
    write_supported(w, "etag", true);
    /* RFC 9865 §4: both cursor and index pagination, index by default (what
     * a client that knows only RFC 7644 §3.4.2.4 expects). */
    gw_jw_key(w, "pagination");
    gw_jw_obj_open(w);
    gw_jw_kv_bool(w, "cursor", true);
    gw_jw_kv_bool(w, "index", true);
    gw_jw_kv_str(w, "defaultPaginationMethod", "index");
    gw_jw_kv_int64(w, "defaultPageSize", SCIM_DEFAULT_PAGE);
    gw_jw_kv_int64(w, "maxPageSize", SCIM_MAX_PAGE);
    gw_jw_obj_close(w);
    gw_jw_key(w, "authenticationSchemes");
    gw_jw_arr_open(w);
    gw_jw_obj_open(w);
    gw_jw_kv_str(w, "type", "oauthbearertoken");
    gw_jw_kv_str(w, "name", "OAuth Bearer Token");
    gw_jw_kv_str(w, "description",
                 "An access token from this server's /token endpoint (client_credentials grant) with scope "
                 "\"scim\", or \"scim.read\" for reading only, sent as Authorization: Bearer.");
    gw_jw_kv_str(w, "specUri", "https://www.rfc-editor.org/info/rfc6750");
    gw_jw_kv_bool(w, "primary", true);
    gw_jw_obj_close(w);
    gw_jw_arr_close(w);
    write_meta(w, "ServiceProviderConfig", "/ServiceProviderConfig", NULL);
    gw_jw_obj_close(w);
}

/* RFC 7644 §3.4.2: a ListResponse holding everything at once. */
static void list_open(gw_jw_t *w, size_t total)
{
    gw_jw_obj_open(w);
    write_strings(w, "schemas", (const char *const[]){SCIM_URN_LIST, NULL});
    gw_jw_kv_int64(w, "totalResults", (int64_t)total);
    gw_jw_kv_int64(w, "itemsPerPage", (int64_t)total);
    gw_jw_kv_int64(w, "startIndex", 1);
    gw_jw_key(w, "Resources");
    gw_jw_arr_open(w);
}

static void list_close(gw_jw_t *w)
{
    gw_jw_arr_close(w);
    gw_jw_obj_close(w);
}

static void reply(gw_req_t *r, gw_jw_t *w)
{
    gw_err_t err;
    size_t len = 0;
    const char *body = gw_jw_buf(w, &len);
    if (body == NULL || gw_jw_error(w, &err) != 0) {
        if (body == NULL)
            GW_ERR(&err, GW_E_INTERNAL, "could not encode response");
        scim_reply_error(r, &err);
    } else {
        scim_reply_json(r, 200, body, len);
    }
    gw_jw_free(w);
}

/* The part of the path after `prefix`, percent-decoded into pool memory:
 * "" for the collection, the id after a '/', or NULL when malformed. */
static const char *path_rest(gw_req_t *r, size_t prefix_len)
{
    h2o_iovec_t p = r->req->path_normalized;
    if (p.len <= prefix_len || (p.len == prefix_len + 1 && p.base[prefix_len] == '/'))
        return "";
    if (p.base[prefix_len] != '/')
        return NULL;
    const char *s = p.base + prefix_len + 1;
    size_t n = p.len - prefix_len - 1;
    char *out = gw_req_alloc(r, n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = gw_hex_digit(s[i + 1]), hi >= 0) &&
            (lo = gw_hex_digit(s[i + 2]), lo >= 0)) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    if (strlen(out) != (size_t)(o - out) || strchr(out, '/') != NULL)
        return NULL;
    return out;
}

/* RFC 7644 §4: these endpoints take no filter; answering 403 keeps a client
 * from believing its filter was applied. Also only GET (and HEAD). */
static int check_request_or_reply(gw_req_t *r)
{
    if (!h2o_memis(r->req->method.base, r->req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(r->req->method.base, r->req->method.len, H2O_STRLIT("HEAD"))) {
        gw_reply_allow(r, GW_GET);
        scim_reply_fail(r, GW_E_METHOD_NOT_ALLOWED, "only GET is supported on this endpoint");
        return -1;
    }
    h2o_iovec_t q = gw_req_query_string(r);
    for (size_t i = 0; i < q.len;) {
        size_t end = i;
        while (end < q.len && q.base[end] != '&')
            end++;
        if (end - i >= 6 && strncasecmp(q.base + i, "filter", 6) == 0 &&
            (end - i == 6 || q.base[i + 6] == '=')) {
            scim_reply_fail(r, GW_E_ACCESS_DENIED, "filtering is not supported on this endpoint");
            return -1;
        }
        i = end + 1;
    }
    return 0;
}

#define PATH_SPC     SCIM_BASE "/ServiceProviderConfig"
#define PATH_RTYPES  SCIM_BASE "/ResourceTypes"
#define PATH_SCHEMAS SCIM_BASE "/Schemas"

static void on_service_provider_config(gw_req_t *r)
{
    if (check_request_or_reply(r) != 0)
        return;
    gw_jw_t *w = gw_jw_new();
    write_service_provider_config(w);
    reply(r, w);
}

static void on_resource_types(gw_req_t *r)
{
    if (check_request_or_reply(r) != 0)
        return;
    const char *id = path_rest(r, sizeof(PATH_RTYPES) - 1);
    if (id == NULL) {
        scim_reply_fail(r, GW_E_NOT_FOUND, "no such resource type");
        return;
    }
    gw_jw_t *w = gw_jw_new();
    if (id[0] == '\0') {
        list_open(w, N_RESOURCE_TYPES);
        for (size_t i = 0; i < N_RESOURCE_TYPES; i++)
            write_resource_type(w, RESOURCE_TYPES[i]);
        list_close(w);
        reply(r, w);
        return;
    }
    for (size_t i = 0; i < N_RESOURCE_TYPES; i++) {
        if (strcasecmp(id, RESOURCE_TYPES[i]->id) == 0) {
            write_resource_type(w, RESOURCE_TYPES[i]);
            reply(r, w);
            return;
        }
    }
    gw_jw_free(w);
    scim_reply_fail(r, GW_E_NOT_FOUND, "no such resource type");
}

static void on_schemas(gw_req_t *r)
{
    if (check_request_or_reply(r) != 0)
        return;
    const char *id = path_rest(r, sizeof(PATH_SCHEMAS) - 1);
    if (id == NULL) {
        scim_reply_fail(r, GW_E_NOT_FOUND, "no such schema");
        return;
    }
    gw_jw_t *w = gw_jw_new();
    if (id[0] == '\0') {
        list_open(w, N_SCHEMAS);
        for (size_t i = 0; i < N_SCHEMAS; i++)
            write_schema(w, SCHEMAS[i].schema, SCHEMAS[i].core_of);
        list_close(w);
        reply(r, w);
        return;
    }
    /* URNs are compared without regard to case (RFC 8141 §3.1 for the
     * prefix; the rest is ours and unambiguous). */
    for (size_t i = 0; i < N_SCHEMAS; i++) {
        if (strcasecmp(id, SCHEMAS[i].schema->id) == 0) {
            write_schema(w, SCHEMAS[i].schema, SCHEMAS[i].core_of);
            reply(r, w);
            return;
        }
    }
    gw_jw_free(w);
    scim_reply_fail(r, GW_E_NOT_FOUND, "no such schema");
}

#define ALL_METHODS (GW_GET | GW_POST | GW_PUT | GW_PATCH | GW_DELETE)

/* Every method reaches the handlers, which answer in SCIM's error format:
 * GET only here (a 405 with Allow), 404 for anything unknown. */
static gw_route_t ROUTE_SPC = {
    PATH_SPC, ALL_METHODS, GW_ROUTE_OWN_METHODS, on_service_provider_config, PATH_SPC, NULL, 0};
static gw_route_t ROUTE_RTYPES = {PATH_RTYPES,
                                  ALL_METHODS,
                                  GW_ROUTE_PREFIX | GW_ROUTE_OWN_METHODS,
                                  on_resource_types,
                                  PATH_RTYPES,
                                  NULL,
                                  0};
static gw_route_t ROUTE_SCHEMAS = {
    PATH_SCHEMAS, ALL_METHODS, GW_ROUTE_PREFIX | GW_ROUTE_OWN_METHODS, on_schemas, PATH_SCHEMAS, NULL, 0};

/* Anything else under /scim/v2 answers in SCIM's own error format rather
 * than the gateway's. /Me stands for the authenticated subject (RFC 7644
 * §3.11), and a SCIM client here is a client acting as itself, never a
 * user: "A service provider that does NOT support this feature SHOULD
 * respond with HTTP status code 501 (Not Implemented)." */
static void on_unknown(gw_req_t *r)
{
    h2o_iovec_t path = r->req->path_normalized;
    h2o_iovec_t rest = h2o_iovec_init(path.base + sizeof(SCIM_BASE) - 1, path.len - (sizeof(SCIM_BASE) - 1));
    if (h2o_memis(rest.base, rest.len, H2O_STRLIT("/Me")) ||
        (rest.len > 3 && memcmp(rest.base, "/Me/", 4) == 0)) {
        scim_reply_status(r, 501, NULL,
                          "/Me is not supported: SCIM clients act as themselves, not as a user");
        return;
    }
    scim_reply_fail(r, GW_E_NOT_FOUND, "no such SCIM endpoint");
}

static gw_route_t ROUTE_UNKNOWN = {
    SCIM_BASE, ALL_METHODS, GW_ROUTE_PREFIX | GW_ROUTE_OWN_METHODS, on_unknown, SCIM_BASE "/*", NULL, 0};

void scim_service_register(void)
{
    gw_route_register(&ROUTE_SPC);
    gw_route_register(&ROUTE_RTYPES);
    gw_route_register(&ROUTE_SCHEMAS);
}

void scim_service_register_last(void)
{
    gw_route_register(&ROUTE_UNKNOWN);
}
