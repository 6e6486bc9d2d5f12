/* SCIM filter parser: RFC 7644 §3.4.2.2 and its ABNF (Figure 1).
 *
 *   FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
 *   valuePath = attrPath "[" valFilter "]"
 *   valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
 *   attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
 *   logExp    = FILTER SP ("and" / "or") SP FILTER
 *   compValue = false / null / true / number / string   ; RFC 7159
 *   attrPath  = [URI ":"] ATTRNAME *1subAttr
 *
 * Precedence (§3.4.2.2): grouping, then "not", then "and", then "or"; and
 * and or associate to the left. Where the ABNF has one SP we accept any run
 * of blanks (SP, HTAB, CR, LF), blanks just inside brackets and parentheses,
 * and "not" followed by blanks before its "(" (errata 7319: the RFC's own
 * example writes "not (").
 *
 * A value path never nests (valFilter has no valuePath), and a filter's
 * value path takes no sub-attribute after "]": `emails[type eq "work"].value`
 * is a PATCH path (§3.5.2), not a filter. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scim/internal.h"

#define MAX_DEPTH 32

typedef struct {
    h2o_mem_pool_t *pool;
    const char *s;
    size_t len, pos;
    unsigned depth;
    bool in_value_path;
    gw_err_kind_t kind;
    gw_err_t *err;
} parser_t;

static int parse_or(parser_t *p, scim_filter_t **out);

/* ---- characters ----------------------------------------------------------- */

static bool is_alpha(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 7643 §2.1: nameChar = "$" / "-" / "_" / DIGIT / ALPHA */
static bool is_name_char(int c)
{
    return is_alpha(c) || is_digit(c) || c == '$' || c == '-' || c == '_';
}

/* Characters of a URI (RFC 3986 Appendix A) that can appear in a schema URN,
 * without "(" and ")", which are grouping in a filter. */
static bool is_uri_char(int c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("-._~:/?#@!$&'*+,;=%", c) != NULL);
}

static int peek(const parser_t *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void skip_blanks(parser_t *p)
{
    while (p->pos < p->len && is_blank((unsigned char)p->s[p->pos]))
        p->pos++;
}

/* ---- errors: a short message with the 1-based byte position --------------- */

static int fail_at(parser_t *p, size_t pos, const char *what)
{
    return GW_ERRF(p->err, p->kind, "%s at %zu", what, pos + 1);
}

static int fail_unexpected(parser_t *p)
{
    if (p->pos >= p->len)
        return GW_ERRF(p->err, p->kind, "unexpected end at %zu", p->pos + 1);
    int c = peek(p);
    if (c > 0x20 && c < 0x7f)
        return GW_ERRF(p->err, p->kind, "unexpected '%c' at %zu", c, p->pos + 1);
    return GW_ERRF(p->err, p->kind, "unexpected byte 0x%02x at %zu", (unsigned)c, p->pos + 1);
}

/* ---- attribute paths ------------------------------------------------------ */

static char *pool_strndup(h2o_mem_pool_t *pool, const char *s, size_t n)
{
    char *d = h2o_mem_alloc_pool(pool, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ATTRNAME = ALPHA *(nameChar); also "$ref" (RFC 7643 §2.3.7, the reference
 * sub-attribute of members and groups). */
static bool attr_name_ok(const char *s, size_t n)
{
    if (n == 4 && strncasecmp(s, "$ref", 4) == 0)
        return true;
    if (n == 0 || !is_alpha((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_name_char((unsigned char)s[i]))
            return false;
    return true;
}

int scim_attr_path_parse(h2o_mem_pool_t *pool, const char *s, size_t len, scim_attr_path_t *out)
{
    /* The URI itself holds colons and dots ("...:2.0:User"); an attribute
     * name holds neither, so the attribute starts after the last colon. */
    size_t colon = len;
    for (size_t i = len; i > 0; i--) {
        if (s[i - 1] == ':') {
            colon = i - 1;
            break;
        }
    }
    const char *name = s;
    size_t name_len = len;
    out->uri = NULL;
    if (colon < len) {
        if (colon == 0 || !is_alpha((unsigned char)s[0]))
            return -1;
        for (size_t i = 0; i < colon; i++)
            if (!is_uri_char((unsigned char)s[i]))
                return -1;
        name = s + colon + 1;
        name_len = len - colon - 1;
    }
    const char *dot = memchr(name, '.', name_len);
    size_t attr_len = dot ? (size_t)(dot - name) : name_len;
    if (!attr_name_ok(name, attr_len))
        return -1;
    if (dot != NULL && !attr_name_ok(dot + 1, name_len - attr_len - 1))
        return -1; /* also a second dot: *1subAttr */
    if (colon < len)
        out->uri = pool_strndup(pool, s, colon);
    out->attr = pool_strndup(pool, name, attr_len);
    out->sub = dot ? pool_strndup(pool, dot + 1, name_len - attr_len - 1) : NULL;
    return 0;
}

/* Reads an attrPath token at p->pos: everything up to a blank, bracket,
 * parenthesis or quote. */
static int parse_attr_path(parser_t *p, scim_attr_path_t *out)
{
    size_t start = p->pos;
    while (p->pos < p->len) {
        int c = (unsigned char)p->s[p->pos];
        if (is_blank(c) || c == '[' || c == ']' || c == '(' || c == ')' || c == '"')
            break;
        p->pos++;
    }
    if (p->pos == start) {
        if (p->pos >= p->len)
            return fail_at(p, start, "expected an attribute, found the end");
        return fail_unexpected(p);
    }
    if (scim_attr_path_parse(p->pool, p->s + start, p->pos - start, out) != 0)
        return fail_at(p, start, "invalid attribute path");
    return 0;
}

/* ---- values --------------------------------------------------------------- */

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)s[i];
        v <<= 4;
        if (is_digit(c))
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xc0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xe0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (char)(0xf0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return need;
}

/* A JSON string (RFC 8259 §7) at p->pos, decoded into pool memory. NUL
 * (raw or "\u0000"), lone surrogates and invalid UTF-8 are refused: the
 * value goes to PostgreSQL as a C string. */
static int parse_string(parser_t *p, char **out)
{
    size_t start = p->pos++;
    char *d = h2o_mem_alloc_pool(p->pool, p->len - start); /* decoding never grows */
    size_t n = 0;
    for (;;) {
        if (p->pos >= p->len)
            return fail_at(p, start, "unclosed string");
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20)
            return fail_at(p, p->pos, "control character in string");
        if (c >= 0x80) {
            size_t k = utf8_seq((const unsigned char *)p->s + p->pos, p->len - p->pos);
            if (k == 0)
                return fail_at(p, p->pos, "invalid UTF-8 in string");
            memcpy(d + n, p->s + p->pos, k);
            n += k;
            p->pos += k;
            continue;
        }
        if (c != '\\') {
            d[n++] = (char)c;
            p->pos++;
            continue;
        }
        size_t esc = p->pos;
        if (p->pos + 1 >= p->len)
            return fail_at(p, start, "unclosed string");
        char e = p->s[p->pos + 1];
        p->pos += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            d[n++] = e;
            break;
        case 'b':
            d[n++] = '\b';
            break;
        case 'f':
            d[n++] = '\f';
            break;
        case 'n':
            d[n++] = '\n';
            break;
        case 'r':
            d[n++] = '\r';
            break;
        case 't':
            d[n++] = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (p->len - p->pos < 4 || hex4(p->s + p->pos, &cp) != 0)
                return fail_at(p, esc, "invalid \\u escape");
            p->pos += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail_at(p, esc, "lone surrogate in string");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
                    hex4(p->s + p->pos + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                    return fail_at(p, esc, "lone surrogate in string");
                p->pos += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0)
                return fail_at(p, esc, "NUL in string");
            n += put_utf8(d + n, cp);
            break;
        }
        default:
            return fail_at(p, esc, "invalid escape in string");
        }
    }
    d[n] = '\0';
    *out = d;
    return 0;
}

/* number = [ minus ] int [ frac ] [ exp ]   (RFC 8259 §6); kept as text. */
static int parse_number(parser_t *p, char **out)
{
    size_t start = p->pos;
    if (peek(p) == '-')
        p->pos++;
    if (peek(p) == '0')
        p->pos++;
    else if (is_digit(peek(p)))
        while (is_digit(peek(p)))
            p->pos++;
    else
        return fail_at(p, start, "invalid number");
    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p)))
            return fail_at(p, start, "invalid number");
        while (is_digit(peek(p)))
            p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-')
            p->pos++;
        if (!is_digit(peek(p)))
            return fail_at(p, start, "invalid number");
        while (is_digit(peek(p)))
            p->pos++;
    }
    *out = pool_strndup(p->pool, p->s + start, p->pos - start);
    return 0;
}

/* After a value, "pr", "]" or ")": the end, a blank or a closing bracket. */
static int expect_boundary(parser_t *p)
{
    int c = peek(p);
    if (c == -1 || is_blank(c) || c == ')' || c == ']')
        return 0;
    return fail_unexpected(p);
}

/* Matches keyword `kw` (ASCII case-insensitively) at p->pos when the next
 * character cannot continue a word. */
static bool at_keyword(const parser_t *p, const char *kw)
{
    size_t n = strlen(kw);
    if (p->len - p->pos < n || strncasecmp(p->s + p->pos, kw, n) != 0)
        return false;
    return p->pos + n == p->len || !is_name_char((unsigned char)p->s[p->pos + n]);
}

static const struct {
    const char *name;
    scim_cmp_t op;
} OPS[] = {
    {"eq", SCIM_CMP_EQ}, {"ne", SCIM_CMP_NE}, {"co", SCIM_CMP_CO}, {"sw", SCIM_CMP_SW}, {"ew", SCIM_CMP_EW},
    {"pr", SCIM_CMP_PR}, {"gt", SCIM_CMP_GT}, {"ge", SCIM_CMP_GE}, {"lt", SCIM_CMP_LT}, {"le", SCIM_CMP_LE},
};

static int parse_value(parser_t *p, scim_filter_t *f)
{
    int c = peek(p);
    if (c == '"') {
        f->value_kind = SCIM_V_STRING;
        if (parse_string(p, &f->value) != 0)
            return -1;
    } else if (c == '-' || is_digit(c)) {
        f->value_kind = SCIM_V_NUMBER;
        if (parse_number(p, &f->value) != 0)
            return -1;
    } else if (at_keyword(p, "true")) {
        f->value_kind = SCIM_V_TRUE;
        p->pos += 4;
    } else if (at_keyword(p, "false")) {
        f->value_kind = SCIM_V_FALSE;
        p->pos += 5;
    } else if (at_keyword(p, "null")) {
        f->value_kind = SCIM_V_NULL;
        p->pos += 4;
    } else if (c == -1 || c == ')' || c == ']') {
        return fail_at(p, p->pos, "missing value");
    } else {
        return fail_at(p, p->pos, "invalid value");
    }
    return expect_boundary(p);
}

static scim_filter_t *new_node(parser_t *p, scim_filter_kind_t kind)
{
    scim_filter_t *f = h2o_mem_alloc_pool(p->pool, sizeof(*f));
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    return f;
}

static int enter(parser_t *p)
{
    if (++p->depth > MAX_DEPTH)
        return fail_at(p, p->pos, "filter nested too deeply");
    return 0;
}

/* attrExp or valuePath, at an attribute path. */
static int parse_attr_exp(parser_t *p, scim_filter_t **out)
{
    scim_attr_path_t path;
    if (parse_attr_path(p, &path) != 0)
        return -1;
    if (peek(p) == '[') {
        size_t open = p->pos;
        if (p->in_value_path)
            return fail_at(p, open, "nested value path");
        if (path.sub != NULL)
            return fail_at(p, open, "value path on a sub-attribute");
        if (enter(p) != 0)
            return -1;
        p->pos++;
        scim_filter_t *f = new_node(p, SCIM_F_VALUE_PATH);
        f->path = path;
        p->in_value_path = true;
        if (parse_or(p, &f->left) != 0)
            return -1;
        p->in_value_path = false;
        if (peek(p) != ']')
            return peek(p) == -1 ? fail_at(p, open, "unclosed '['") : fail_unexpected(p);
        p->pos++;
        p->depth--;
        if (peek(p) == '.')
            return fail_at(p, p->pos, "sub-attribute after a value path (only in PATCH paths)");
        if (expect_boundary(p) != 0)
            return -1;
        *out = f;
        return 0;
    }
    size_t at = p->pos;
    skip_blanks(p);
    if (p->pos == at)
        return peek(p) == -1 ? fail_at(p, at, "missing operator") : fail_unexpected(p);
    scim_filter_t *f = new_node(p, SCIM_F_CMP);
    f->path = path;
    size_t op_at = p->pos;
    size_t i;
    for (i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++)
        if (at_keyword(p, OPS[i].name))
            break;
    if (i == sizeof(OPS) / sizeof(OPS[0]))
        return fail_at(p, op_at, peek(p) == -1 ? "missing operator" : "unknown operator");
    f->op = OPS[i].op;
    p->pos += 2;
    if (f->op == SCIM_CMP_PR) {
        f->value_kind = SCIM_V_NULL;
        if (expect_boundary(p) != 0)
            return -1;
        *out = f;
        return 0;
    }
    at = p->pos;
    skip_blanks(p);
    if (p->pos == at)
        return peek(p) == -1 || peek(p) == ')' || peek(p) == ']' ? fail_at(p, at, "missing value")
                                                                 : fail_unexpected(p);
    if (parse_value(p, f) != 0)
        return -1;
    *out = f;
    return 0;
}

/* "(" FILTER ")" after its "(" was seen at `open`. */
static int parse_group(parser_t *p, size_t open, scim_filter_t **out)
{
    if (enter(p) != 0)
        return -1;
    p->pos++;
    if (parse_or(p, out) != 0)
        return -1;
    if (peek(p) != ')')
        return peek(p) == -1 ? fail_at(p, open, "unclosed '('") : fail_unexpected(p);
    p->pos++;
    p->depth--;
    return expect_boundary(p);
}

static int parse_unary(parser_t *p, scim_filter_t **out)
{
    skip_blanks(p);
    if (peek(p) == '(')
        return parse_group(p, p->pos, out);
    if (at_keyword(p, "not")) {
        size_t save = p->pos;
        p->pos += 3;
        skip_blanks(p);
        if (peek(p) == '(') {
            /* not an attribute named "not": *1"not" "(" FILTER ")" */
            scim_filter_t *f = new_node(p, SCIM_F_NOT);
            if (parse_group(p, p->pos, &f->left) != 0)
                return -1;
            *out = f;
            return 0;
        }
        p->pos = save;
    }
    if (peek(p) == -1)
        return fail_at(p, p->pos, "expected an expression, found the end");
    return parse_attr_exp(p, out);
}

/* Left-associative chain of `unary` joined by `kw`. */
static int parse_chain(parser_t *p, scim_filter_t **out, const char *kw, scim_filter_kind_t kind,
                       int (*next)(parser_t *, scim_filter_t **))
{
    scim_filter_t *left;
    if (next(p, &left) != 0)
        return -1;
    for (;;) {
        size_t save = p->pos;
        skip_blanks(p);
        if (p->pos == save || !at_keyword(p, kw)) {
            p->pos = save;
            break;
        }
        p->pos += strlen(kw);
        if (peek(p) != -1 && peek(p) != ')' && peek(p) != ']' && !is_blank(peek(p)) && peek(p) != '(')
            return fail_unexpected(p);
        skip_blanks(p);
        if (peek(p) == -1 || peek(p) == ')' || peek(p) == ']')
            return fail_at(p, p->pos, "missing expression after logical operator");
        scim_filter_t *f = new_node(p, kind);
        f->left = left;
        if (next(p, &f->right) != 0)
            return -1;
        left = f;
    }
    *out = left;
    return 0;
}

static int parse_and(parser_t *p, scim_filter_t **out)
{
    return parse_chain(p, out, "and", SCIM_F_AND, parse_unary);
}

static int parse_or(parser_t *p, scim_filter_t **out)
{
    if (parse_chain(p, out, "or", SCIM_F_OR, parse_and) != 0)
        return -1;
    skip_blanks(p);
    return 0;
}

/* What follows a complete expression that is neither the end nor a closing
 * bracket: name the problem. */
static int fail_trailing(parser_t *p)
{
    if (is_alpha(peek(p)))
        return fail_at(p, p->pos, "expected 'and' or 'or'");
    return fail_unexpected(p);
}

int scim_filter_parse(h2o_mem_pool_t *pool, const char *s, size_t len, scim_filter_t **out, gw_err_t *err)
{
    parser_t p = {.pool = pool, .s = s, .len = len, .kind = GW_E_SCIM_INVALID_FILTER, .err = err};
    if (len > SCIM_MAX_FILTER_LEN)
        return GW_ERRF(err, GW_E_SCIM_INVALID_FILTER, "filter longer than %d bytes", SCIM_MAX_FILTER_LEN);
    if (parse_or(&p, out) != 0)
        return -1;
    if (p.pos != p.len)
        return fail_trailing(&p);
    return 0;
}

int scim_filter_parse_valfilter(h2o_mem_pool_t *pool, const char *s, size_t len, size_t *pos,
                                gw_err_kind_t kind, scim_filter_t **out, gw_err_t *err)
{
    parser_t p = {.pool = pool,
                  .s = s,
                  .len = len,
                  .pos = *pos,
                  .depth = 1,
                  .in_value_path = true,
                  .kind = kind,
                  .err = err};
    if (len > SCIM_MAX_FILTER_LEN)
        return GW_ERRF(err, kind, "path longer than %d bytes", SCIM_MAX_FILTER_LEN);
    if (parse_or(&p, out) != 0)
        return -1;
    if (peek(&p) != ']')
        return peek(&p) == -1 ? fail_at(&p, *pos - 1, "unclosed '['") : fail_trailing(&p);
    *pos = p.pos;
    return 0;
}

/* ---- printing ------------------------------------------------------------- */

typedef struct {
    h2o_mem_pool_t *pool;
    char *b;
    size_t len, cap;
} sbuf_t;

static void sb_addn(sbuf_t *sb, const char *s, size_t n)
{
    scim_text_append(sb->pool, &sb->b, &sb->len, &sb->cap, s, n);
}

static void sb_add(sbuf_t *sb, const char *s)
{
    sb_addn(sb, s, strlen(s));
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void sb_json_string(sbuf_t *sb, const char *s)
{
    sb_add(sb, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sb_addn(sb, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            sb_add(sb, esc);
        } else {
            sb_addn(sb, (const char *)&c, 1);
        }
    }
    sb_add(sb, "\"");
}

static void sb_path(sbuf_t *sb, const scim_attr_path_t *path, bool mark_uri)
{
    if (path->uri != NULL) {
        sb_add(sb, mark_uri ? "{" : "");
        sb_add(sb, path->uri);
        sb_add(sb, mark_uri ? "}" : ":");
    }
    sb_add(sb, path->attr);
    if (path->sub != NULL) {
        sb_add(sb, ".");
        sb_add(sb, path->sub);
    }
}

static void sb_value(sbuf_t *sb, const scim_filter_t *f)
{
    switch (f->value_kind) {
    case SCIM_V_STRING:
        sb_json_string(sb, f->value);
        break;
    case SCIM_V_NUMBER:
        sb_add(sb, f->value);
        break;
    case SCIM_V_TRUE:
        sb_add(sb, "true");
        break;
    case SCIM_V_FALSE:
        sb_add(sb, "false");
        break;
    case SCIM_V_NULL:
        sb_add(sb, "null");
        break;
    }
}

static void sb_sexpr(sbuf_t *sb, const scim_filter_t *f)
{
    switch (f->kind) {
    case SCIM_F_CMP:
        sb_add(sb, "(");
        sb_add(sb, OPS[f->op].name);
        sb_add(sb, " ");
        sb_path(sb, &f->path, true);
        if (f->op != SCIM_CMP_PR) {
            sb_add(sb, " ");
            sb_value(sb, f);
        }
        sb_add(sb, ")");
        break;
    case SCIM_F_AND:
    case SCIM_F_OR:
        sb_add(sb, f->kind == SCIM_F_AND ? "(and " : "(or ");
        sb_sexpr(sb, f->left);
        sb_add(sb, " ");
        sb_sexpr(sb, f->right);
        sb_add(sb, ")");
        break;
    case SCIM_F_NOT:
        sb_add(sb, "(not ");
        sb_sexpr(sb, f->left);
        sb_add(sb, ")");
        break;
    case SCIM_F_VALUE_PATH:
        sb_add(sb, "(vp ");
        sb_path(sb, &f->path, true);
        sb_add(sb, " ");
        sb_sexpr(sb, f->left);
        sb_add(sb, ")");
        break;
    }
}

static void sb_format(sbuf_t *sb, const scim_filter_t *f);

/* One operand of an and/or, in parentheses only when the text would group
 * differently without them: "and" binds tighter than "or", and both group
 * from the left (RFC 7644 §3.4.2.2). So a chain of 40 "or" prints as it was
 * written, not 40 parentheses deep, past what the parser takes back. */
static void sb_operand(sbuf_t *sb, const scim_filter_t *op, scim_filter_kind_t parent, bool right)
{
    bool binary = op->kind == SCIM_F_AND || op->kind == SCIM_F_OR;
    bool paren = binary && ((parent == SCIM_F_AND && op->kind == SCIM_F_OR) || (right && op->kind == parent));
    if (paren)
        sb_add(sb, "(");
    sb_format(sb, op);
    if (paren)
        sb_add(sb, ")");
}

static void sb_format(sbuf_t *sb, const scim_filter_t *f)
{
    switch (f->kind) {
    case SCIM_F_CMP:
        sb_path(sb, &f->path, false);
        sb_add(sb, " ");
        sb_add(sb, OPS[f->op].name);
        if (f->op != SCIM_CMP_PR) {
            sb_add(sb, " ");
            sb_value(sb, f);
        }
        break;
    case SCIM_F_AND:
    case SCIM_F_OR:
        sb_operand(sb, f->left, f->kind, false);
        sb_add(sb, f->kind == SCIM_F_AND ? " and " : " or ");
        sb_operand(sb, f->right, f->kind, true);
        break;
    case SCIM_F_NOT:
        sb_add(sb, "not (");
        sb_format(sb, f->left);
        sb_add(sb, ")");
        break;
    case SCIM_F_VALUE_PATH:
        sb_path(sb, &f->path, false);
        sb_add(sb, "[");
        sb_format(sb, f->left);
        sb_add(sb, "]");
        break;
    }
}

char *scim_filter_sexpr(h2o_mem_pool_t *pool, const scim_filter_t *f)
{
    sbuf_t sb = {.pool = pool};
    sb_add(&sb, "");
    sb_sexpr(&sb, f);
    return sb.b;
}

char *scim_filter_format(h2o_mem_pool_t *pool, const scim_filter_t *f)
{
    sbuf_t sb = {.pool = pool};
    sb_add(&sb, "");
    sb_format(&sb, f);
    return sb.b;
}

char *scim_path_sexpr(h2o_mem_pool_t *pool, const scim_patch_path_t *path)
{
    sbuf_t sb = {.pool = pool};
    sb_add(&sb, "(path ");
    sb_path(&sb, &path->path, true);
    if (path->value_filter != NULL) {
        sb_add(&sb, " ");
        sb_sexpr(&sb, path->value_filter);
    }
    if (path->filter_sub != NULL) {
        sb_add(&sb, " .");
        sb_add(&sb, path->filter_sub);
    }
    sb_add(&sb, ")");
    return sb.b;
}

char *scim_path_format(h2o_mem_pool_t *pool, const scim_patch_path_t *path)
{
    sbuf_t sb = {.pool = pool};
    sb_path(&sb, &path->path, false);
    if (path->value_filter != NULL) {
        sb_add(&sb, "[");
        sb_format(&sb, path->value_filter);
        sb_add(&sb, "]");
    }
    if (path->filter_sub != NULL) {
        sb_add(&sb, ".");
        sb_add(&sb, path->filter_sub);
    }
    return sb.b;
}
