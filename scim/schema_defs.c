/* The attribute tables of the schemas regain serves (RFC 7643 §4, §7) and
 * attribute resolution.
 *
 * Each definition states what the server really does (RFC 7643 §2.2: the
 * characteristics a client relies on), and where the value is kept, so
 * filters and sortBy become SQL (scim/filter_sql.c) against the tables of
 * schema/007_scim.sql:
 *   column  on a top-level or single-valued complex sub-attribute: a column
 *           of `users` / `groups` (bare name; filter_sql adds the alias);
 *           on a sub-attribute of a `child` attribute: the expression over
 *           the child row (value, type, "primary", display, or
 *           data->>'name' for the other sub-attributes of user_values).
 *   child   Users: user_values.attr of a multi-valued attribute.
 *           Groups: "members" names group_members (member_id uuid,
 *           member_type), see SCIM_SCHEMA_GROUP.
 *   neither: not filterable (password, x509Certificates, groups,
 *           manager.$ref/displayName, meta.location/resourceType).
 *
 * Defaults of a zeroed entry are RFC 7643 §2.2's defaults: single-valued,
 * not required, caseExact false, readWrite, returned default, uniqueness
 * none. */
#include <stdio.h>
#include <strings.h>

#include "scim/internal.h"

#define SUBS(a) .sub_attrs = (a), .sub_count = sizeof(a) / sizeof((a)[0])

/* A plain readWrite string kept in `col`. */
#define STR(nm, col, desc)                                                                                   \
    {                                                                                                        \
        .name = (nm), .type = SCIM_T_STRING, .description = (desc), .column = (col)                          \
    }

/* The sub-attributes every multi-valued attribute of RFC 7643 §2.4 shares,
 * kept in user_values' own columns. */
#define MV_VALUE(desc)                                                                                       \
    {                                                                                                        \
        .name = "value", .type = SCIM_T_STRING, .description = (desc), .column = "value"                     \
    }
#define MV_DISPLAY                                                                                           \
    {                                                                                                        \
        .name = "display", .type = SCIM_T_STRING,                                                            \
        .description = "A human-readable label for the value, for display only.", .column = "display"        \
    }
#define MV_TYPE(cv)                                                                                          \
    {                                                                                                        \
        .name = "type", .type = SCIM_T_STRING,                                                               \
        .description = "What kind of value this is (see canonicalValues; other labels are kept as given).",  \
        .canonical_values = (cv), .column = "type"                                                           \
    }
#define MV_PRIMARY                                                                                           \
    {                                                                                                        \
        .name = "primary", .type = SCIM_T_BOOLEAN,                                                           \
        .description = "True for the preferred value of the attribute; at most one value is primary "        \
                       "(RFC 7643 §2.4).",                                                                   \
        .column = "\"primary\""                                                                              \
    }
/* A sub-attribute of a user_values row kept in its jsonb `data`. */
#define MV_DATA(nm, desc)                                                                                    \
    {                                                                                                        \
        .name = (nm), .type = SCIM_T_STRING, .description = (desc), .column = "data->>'" nm "'"              \
    }

static const char *const REF_EXTERNAL[] = {"external", NULL};
static const char *const REF_USER[] = {"User", NULL};
static const char *const REF_USER_GROUP[] = {"User", "Group", NULL};
static const char *const REF_URI[] = {"uri", NULL};

/* ---- common attributes (RFC 7643 §3.1) ----------------------------------- */

static const char *const RT_NAMES[] = {"User", "Group", NULL};

static const scim_attr_t META_SUBS[] = {
    {.name = "resourceType",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .mutability = SCIM_MUT_READ_ONLY,
     .canonical_values = RT_NAMES,
     .description = "The type of the resource, \"User\" or \"Group\"."},
    {.name = "created",
     .type = SCIM_T_DATETIME,
     .mutability = SCIM_MUT_READ_ONLY,
     .description = "When the server created the resource (RFC 3339, UTC).",
     .column = "created_at"},
    {.name = "lastModified",
     .type = SCIM_T_DATETIME,
     .mutability = SCIM_MUT_READ_ONLY,
     .description = "When the server last changed the resource (RFC 3339, UTC).",
     .column = "updated_at"},
    {.name = "location",
     .type = SCIM_T_REFERENCE,
     .case_exact = true,
     .mutability = SCIM_MUT_READ_ONLY,
     .reference_types = REF_URI,
     .description = "The absolute URI of the resource; the same as the Location header of its creation."},
    {.name = "version",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .mutability = SCIM_MUT_READ_ONLY,
     .description = "A weak entity tag, W/\"n\", that changes whenever the resource does (RFC 7644 §3.14).",
     .column = "version"},
};

const scim_attr_t SCIM_COMMON_ATTRS[] = {
    {.name = "id",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .mutability = SCIM_MUT_READ_ONLY,
     .returned = SCIM_RET_ALWAYS,
     .uniqueness = SCIM_UNIQ_SERVER,
     .description = "The identifier the server assigned (a UUID); it never changes and is never reused.",
     .column = "id"},
    {.name = "externalId",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .description = "The identifier the provisioning client uses for the resource; stored as given.",
     .column = "external_id"},
    {.name = "meta",
     .type = SCIM_T_COMPLEX,
     .mutability = SCIM_MUT_READ_ONLY,
     .description = "Resource metadata maintained by the server.",
     SUBS(META_SUBS)},
};
const size_t SCIM_COMMON_ATTR_COUNT = sizeof(SCIM_COMMON_ATTRS) / sizeof(SCIM_COMMON_ATTRS[0]);

/* ---- User (RFC 7643 §4.1) ------------------------------------------------ */

static const char *const EMAIL_TYPES[] = {"work", "home", "other", NULL};
static const char *const PHONE_TYPES[] = {"work", "home", "mobile", "fax", "pager", "other", NULL};
static const char *const IM_TYPES[] = {"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo", NULL};
static const char *const PHOTO_TYPES[] = {"photo", "thumbnail", NULL};
static const char *const ADDRESS_TYPES[] = {"work", "home", "other", NULL};
static const char *const GROUP_MEMBERSHIP_TYPES[] = {"direct", "indirect", NULL};

static const scim_attr_t NAME_SUBS[] = {
    STR("formatted", "name_formatted",
        "The whole name as it should be displayed, e.g. \"Ms. Barbara J Jensen, III\"."),
    STR("familyName", "family_name", "The family (last) name."),
    STR("givenName", "given_name", "The given (first) name."),
    STR("middleName", "name_middle_name", "The middle name or names."),
    STR("honorificPrefix", "name_honorific_prefix", "Title before the name, such as \"Ms.\"."),
    STR("honorificSuffix", "name_honorific_suffix", "Suffix after the name, such as \"III\"."),
};

static const scim_attr_t EMAIL_SUBS[] = {
    MV_VALUE("An email address (RFC 5321 form), compared without regard to case."),
    MV_DISPLAY,
    MV_TYPE(EMAIL_TYPES),
    MV_PRIMARY,
};

static const scim_attr_t PHONE_SUBS[] = {
    MV_VALUE("A telephone number, ideally as a tel: URI (RFC 3966)."),
    MV_DISPLAY,
    MV_TYPE(PHONE_TYPES),
    MV_PRIMARY,
};

static const scim_attr_t IM_SUBS[] = {
    MV_VALUE("An instant-messaging address."),
    MV_DISPLAY,
    MV_TYPE(IM_TYPES),
    MV_PRIMARY,
};

static const scim_attr_t PHOTO_SUBS[] = {
    {.name = "value",
     .type = SCIM_T_REFERENCE,
     .reference_types = REF_EXTERNAL,
     .description = "URL of an image of the user.",
     .column = "value"},
    MV_DISPLAY,
    MV_TYPE(PHOTO_TYPES),
    MV_PRIMARY,
};

static const scim_attr_t ADDRESS_SUBS[] = {
    MV_DATA("formatted", "The whole mailing address as it should be displayed; may contain newlines."),
    MV_DATA("streetAddress", "Street, house number and similar lines of the address."),
    MV_DATA("locality", "City or locality."),
    MV_DATA("region", "State or region."),
    MV_DATA("postalCode", "Postal or ZIP code."),
    MV_DATA("country", "Country as an ISO 3166-1 alpha-2 code, such as \"DE\"."),
    MV_TYPE(ADDRESS_TYPES),
    MV_PRIMARY,
};

/* Group membership is managed through the Group resource (RFC 7643 §4.1.2):
 * every part of it is readOnly here, derived from group_members. */
static const scim_attr_t USER_GROUP_SUBS[] = {
    {.name = "value",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .mutability = SCIM_MUT_READ_ONLY,
     .description = "The id of a group the user belongs to."},
    {.name = "$ref",
     .type = SCIM_T_REFERENCE,
     .case_exact = true,
     .mutability = SCIM_MUT_READ_ONLY,
     .reference_types = REF_USER_GROUP,
     .description = "The URI of that group."},
    {.name = "display",
     .type = SCIM_T_STRING,
     .mutability = SCIM_MUT_READ_ONLY,
     .description = "The group's displayName."},
    {.name = "type",
     .type = SCIM_T_STRING,
     .mutability = SCIM_MUT_READ_ONLY,
     .canonical_values = GROUP_MEMBERSHIP_TYPES,
     .description = "\"direct\" for a membership of the user itself, \"indirect\" for one through a nested "
                    "group."},
};

static const scim_attr_t ENTITLEMENT_SUBS[] = {
    MV_VALUE("An entitlement the user has."),
    MV_DISPLAY,
    MV_TYPE(NULL),
    MV_PRIMARY,
};

static const scim_attr_t ROLE_SUBS[] = {
    MV_VALUE("A role the user has."),
    MV_DISPLAY,
    MV_TYPE(NULL),
    MV_PRIMARY,
};

/* Kept as given in users.x509_certificates; not filterable (their values are
 * large base64 text no index should hold). */
static const scim_attr_t X509_SUBS[] = {
    {.name = "value",
     .type = SCIM_T_BINARY,
     .case_exact = true,
     .description = "A DER-encoded X.509 certificate, base64-encoded."},
    {.name = "display", .type = SCIM_T_STRING, .description = "A human-readable label for the certificate."},
    {.name = "type", .type = SCIM_T_STRING, .description = "What the certificate is for."},
    {.name = "primary", .type = SCIM_T_BOOLEAN, .description = "True for the preferred certificate."},
};

static const scim_attr_t USER_ATTRS[] = {
    {.name = "userName",
     .type = SCIM_T_STRING,
     .required = true,
     .uniqueness = SCIM_UNIQ_SERVER,
     .description = "The name the user signs in with: unique in this server without regard to case, "
                    "1 to 256 characters.",
     .column = "user_name"},
    {.name = "name", .type = SCIM_T_COMPLEX, .description = "The parts of the user's name.", SUBS(NAME_SUBS)},
    STR("displayName", "display_name", "The name shown for the user."),
    STR("nickName", "nick_name", "The casual name of the user."),
    {.name = "profileUrl",
     .type = SCIM_T_REFERENCE,
     .reference_types = REF_EXTERNAL,
     .description = "URL of the user's online profile.",
     .column = "profile_url"},
    STR("title", "title", "The user's job title."),
    STR("userType", "user_type", "How the organisation relates to the user, such as \"Employee\"."),
    STR("preferredLanguage", "preferred_language",
        "The language the user prefers, as an Accept-Language value (RFC 9110 §12.5.4)."),
    STR("locale", "locale", "The user's default location for formatting, as a language tag (RFC 5646)."),
    STR("timezone", "timezone", "The user's time zone, as an IANA database name such as \"Europe/Berlin\"."),
    {.name = "active",
     .type = SCIM_T_BOOLEAN,
     .description = "Whether the user may sign in. Setting it to false ends the user's sessions and revokes "
                    "their refresh tokens. Defaults to true.",
     .column = "active"},
    {.name = "password",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .mutability = SCIM_MUT_WRITE_ONLY,
     .returned = SCIM_RET_NEVER,
     .description = "Sets the user's sign-in password; it is stored only as an Argon2id hash and never "
                    "returned or filterable."},
    {.name = "emails",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .description = "Email addresses of the user. The primary one (or else the first) is the OpenID "
                    "Connect email claim.",
     SUBS(EMAIL_SUBS),
     .child = "emails"},
    {.name = "phoneNumbers",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .description = "Telephone numbers of the user.",
     SUBS(PHONE_SUBS),
     .child = "phoneNumbers"},
    {.name = "ims",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .description = "Instant-messaging addresses of the user.",
     SUBS(IM_SUBS),
     .child = "ims"},
    {.name = "photos",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .description = "URLs of images of the user.",
     SUBS(PHOTO_SUBS),
     .child = "photos"},
    {.name = "addresses",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .description = "Physical mailing addresses of the user.",
     SUBS(ADDRESS_SUBS),
     .child = "addresses"},
    {.name = "groups",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .mutability = SCIM_MUT_READ_ONLY,
     .description = "The groups the user belongs to, directly or through nested groups; change them "
                    "through the Group resource.",
     SUBS(USER_GROUP_SUBS)},
    {.name = "entitlements",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .description = "Entitlements of the user, as the directory names them.",
     SUBS(ENTITLEMENT_SUBS),
     .child = "entitlements"},
    {.name = "roles",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .description = "Roles of the user, as the directory names them.",
     SUBS(ROLE_SUBS),
     .child = "roles"},
    {.name = "x509Certificates",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .description = "Certificates issued to the user; kept as given, not filterable.",
     SUBS(X509_SUBS)},
};

const scim_schema_t SCIM_SCHEMA_USER = {
    SCIM_URN_USER,
    "User",
    "A person with an account in the directory.",
    USER_ATTRS,
    sizeof(USER_ATTRS) / sizeof(USER_ATTRS[0]),
};

/* ---- Enterprise User extension (RFC 7643 §4.3) --------------------------- */

static const scim_attr_t MANAGER_SUBS[] = {
    {.name = "value",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .description = "The id of the user's manager (a User of this server).",
     .column = "manager_id"},
    {.name = "$ref",
     .type = SCIM_T_REFERENCE,
     .case_exact = true,
     .reference_types = REF_USER,
     .description = "The URI of the manager's User resource."},
    {.name = "displayName",
     .type = SCIM_T_STRING,
     .mutability = SCIM_MUT_READ_ONLY,
     .description = "The manager's displayName, filled in by the server."},
};

static const scim_attr_t ENTERPRISE_ATTRS[] = {
    STR("employeeNumber", "employee_number", "The number the organisation gave the person."),
    STR("costCenter", "cost_center", "The cost center the person is charged to."),
    STR("organization", "organization", "The organisation the person belongs to."),
    STR("division", "division", "The division the person belongs to."),
    STR("department", "department", "The department the person belongs to."),
    {.name = "manager", .type = SCIM_T_COMPLEX, .description = "The person's manager.", SUBS(MANAGER_SUBS)},
};

const scim_schema_t SCIM_SCHEMA_ENTERPRISE = {
    SCIM_URN_ENTERPRISE,
    "EnterpriseUser",
    "Attributes of people who work for an organisation.",
    ENTERPRISE_ATTRS,
    sizeof(ENTERPRISE_ATTRS) / sizeof(ENTERPRISE_ATTRS[0]),
};

/* ---- regain recovery extension -------------------------------------------
 * What account recovery compares a verified identity with (DESIGN.md
 * "Matching"). Eligibility is group membership, not an attribute here. */

static const scim_attr_t RECOVERY_ATTRS[] = {
    {.name = "birthdate",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .description = "The person's date of birth as an RFC 3339 full-date, YYYY-MM-DD (e.g. \"1984-02-29\"); "
                    "anything else, or a date that does not exist, is rejected. Compared by exact value; "
                    "in this form text order is date order.",
     .column = "birthdate"},
    STR("legalGivenName", "legal_given_name",
        "The given name as on the person's identity documents, when it differs from name.givenName; "
        "recovery matches the verified given name against it, or else against name.givenName."),
    STR("legalFamilyName", "legal_family_name",
        "The family name as on the person's identity documents, when it differs from name.familyName; "
        "recovery matches the verified family name against it, or else against name.familyName."),
};

const scim_schema_t SCIM_SCHEMA_RECOVERY = {
    SCIM_URN_RECOVERY,
    "RecoveryUser",
    "regain: the identity attributes account recovery matches a verified person against.",
    RECOVERY_ATTRS,
    sizeof(RECOVERY_ATTRS) / sizeof(RECOVERY_ATTRS[0]),
};

/* ---- Group (RFC 7643 §4.2) -------------------------------------------------
 * members are kept in group_members, one row per member: `child` "members"
 * names that table for filter_sql; value is member_id (a uuid), type is
 * member_type. Sub-attributes are immutable (RFC 7643 §4.2): a member is
 * added or removed, never edited. */

static const char *const MEMBER_TYPES[] = {"User", "Group", NULL};

static const scim_attr_t MEMBER_SUBS[] = {
    {.name = "value",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .mutability = SCIM_MUT_IMMUTABLE,
     .description = "The id of a User or Group of this server.",
     .column = "member_id"},
    {.name = "$ref",
     .type = SCIM_T_REFERENCE,
     .case_exact = true,
     .mutability = SCIM_MUT_IMMUTABLE,
     .reference_types = REF_USER_GROUP,
     .description = "The URI of the member's resource."},
    {.name = "type",
     .type = SCIM_T_STRING,
     .case_exact = true,
     .mutability = SCIM_MUT_IMMUTABLE,
     .canonical_values = MEMBER_TYPES,
     .description = "\"User\" or \"Group\" (groups may be nested); the server sets it from the member's id.",
     .column = "member_type"},
    {.name = "display",
     .type = SCIM_T_STRING,
     .mutability = SCIM_MUT_READ_ONLY,
     .description =
         "The member's displayName (a user's userName when it has none), filled in by the server."},
};

static const scim_attr_t GROUP_ATTRS[] = {
    {.name = "displayName",
     .type = SCIM_T_STRING,
     .required = true,
     .description = "The name of the group. Not unique: filter on it expecting several results.",
     .column = "display_name"},
    {.name = "members",
     .type = SCIM_T_COMPLEX,
     .multi_valued = true,
     .returned = SCIM_RET_DEFAULT,
     .description = "The users and groups in the group. Recovery eligibility is granted by membership.",
     SUBS(MEMBER_SUBS),
     .child = "members"},
};

const scim_schema_t SCIM_SCHEMA_GROUP = {
    SCIM_URN_GROUP,
    "Group",
    "A set of users and groups.",
    GROUP_ATTRS,
    sizeof(GROUP_ATTRS) / sizeof(GROUP_ATTRS[0]),
};

/* ---- resource types (RFC 7643 §6) ------------------------------------------ */

static const scim_schema_t *const USER_EXTENSIONS[] = {&SCIM_SCHEMA_ENTERPRISE, &SCIM_SCHEMA_RECOVERY, NULL};
static const scim_schema_t *const NO_EXTENSIONS[] = {NULL};

const scim_resource_type_t SCIM_RT_USER = {
    "User", "User", "/Users", "User accounts", &SCIM_SCHEMA_USER, USER_EXTENSIONS, "users u",
};

const scim_resource_type_t SCIM_RT_GROUP = {
    "Group", "Group", "/Groups", "Groups of users and groups", &SCIM_SCHEMA_GROUP, NO_EXTENSIONS, "groups g",
};

/* ---- resolution (RFC 7643 §2.1: names are case-insensitive) -------------- */

static const scim_attr_t *find(const scim_attr_t *attrs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(attrs[i].name, name) == 0)
            return &attrs[i];
    return NULL;
}

int scim_attr_resolve(const scim_resource_type_t *rt, const char *uri, const char *attr, const char *sub,
                      gw_err_kind_t kind, scim_attr_ref_t *out, gw_err_t *err)
{
    const scim_schema_t *schema = NULL;
    const scim_attr_t *a = NULL;

    if (attr == NULL || attr[0] == '\0')
        return GW_ERR(err, kind, "attribute name missing");
    if (uri != NULL) {
        /* RFC 7644 §3.10: a fully qualified name; the core URN also qualifies
         * the common attributes (id, externalId, meta). */
        if (strcasecmp(uri, rt->core->id) == 0) {
            schema = rt->core;
        } else {
            for (const scim_schema_t *const *e = rt->extensions; *e != NULL; e++)
                if (strcasecmp(uri, (*e)->id) == 0)
                    schema = *e;
        }
        if (schema == NULL)
            return GW_ERRF(err, kind, "unknown schema \"%.100s\"", uri);
        a = find(schema->attrs, schema->count, attr);
        if (a == NULL && schema == rt->core && (a = find(SCIM_COMMON_ATTRS, SCIM_COMMON_ATTR_COUNT, attr)))
            schema = NULL;
    } else {
        schema = rt->core;
        a = find(schema->attrs, schema->count, attr);
        if (a == NULL) {
            schema = NULL;
            a = find(SCIM_COMMON_ATTRS, SCIM_COMMON_ATTR_COUNT, attr);
        }
        /* Lenient: extension attributes without their URN, as some clients
         * send them; the first extension that has the name wins. */
        for (const scim_schema_t *const *e = rt->extensions; a == NULL && *e != NULL; e++) {
            a = find((*e)->attrs, (*e)->count, attr);
            if (a != NULL)
                schema = *e;
        }
    }
    if (a == NULL)
        return GW_ERRF(err, kind, "unknown attribute \"%.100s\"", attr);

    const scim_attr_t *s = NULL;
    if (sub != NULL) {
        if (a->sub_attrs == NULL)
            return GW_ERRF(err, kind, "attribute \"%.60s\" has no sub-attributes", a->name);
        s = find(a->sub_attrs, a->sub_count, sub);
        if (s == NULL)
            return GW_ERRF(err, kind, "unknown sub-attribute \"%.60s.%.60s\"", a->name, sub);
    }
    out->schema = schema;
    out->attr = a;
    out->sub = s;
    return 0;
}
