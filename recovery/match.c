/* The `exact` and `relaxed` comparison of one verified value with one
 * directory value (recovery.h says what each mode means and why). */
#include <stdlib.h>
#include <string.h>

#include "recovery/recovery.h"

#define MAX_WORDS 32
/* What separates words in a normalised value. */
#define SEPARATORS " -"

/* Splits a normalised value in place at spaces and hyphens; returns the word
 * count, or -1 when there are more than MAX_WORDS (the pairing below is
 * quadratic; such a value matches only an equal one). */
static int split_words(char *s, char *words[MAX_WORDS])
{
    int n = 0;
    char *p = s;
    while (*p != '\0') {
        while (*p != '\0' && strchr(SEPARATORS, *p) != NULL)
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (n == MAX_WORDS)
            return -1;
        words[n++] = p;
        p += strcspn(p, SEPARATORS);
    }
    return n;
}

/* Whether two normalised values (or words) are the same (recovery.h): equal,
 * or equal without diacritics when one of them carries none. `sa` and `sb`
 * are rcv_strip_marks of `a` and `b`. */
static int same(const char *a, const char *sa, const char *b, const char *sb)
{
    if (strcmp(a, b) == 0)
        return 1;
    return (strcmp(a, sa) == 0 || strcmp(b, sb) == 0) && strcmp(sa, sb) == 0;
}

/* A word's diacritic-free form; the word itself should utf8proc fail
 * (then only an equal word is the same). */
static char *stripped(char *w)
{
    char *s = rcv_strip_marks(w);
    return s != NULL ? s : w;
}

typedef struct {
    int vn, dn;
    unsigned char ok[MAX_WORDS][MAX_WORDS]; /* [directory word][verified word] */
    int owner[MAX_WORDS];                   /* the directory word a verified word serves, or -1 */
    unsigned char seen[MAX_WORDS];
} pairing_t;

/* Kuhn's augmenting path: "the same" is not transitive ("hùng" and "hưng"
 * are both "hung"), so a greedy pairing could miss one that exists. */
static int augment(pairing_t *p, int d)
{
    for (int v = 0; v < p->vn; v++) {
        if (!p->ok[d][v] || p->seen[v])
            continue;
        p->seen[v] = 1;
        if (p->owner[v] < 0 || augment(p, p->owner[v])) {
            p->owner[v] = d;
            return 1;
        }
    }
    return 0;
}

static int relaxed(char *verified, char *directory)
{
    char *vw[MAX_WORDS], *dw[MAX_WORDS], *vs[MAX_WORDS], *ds[MAX_WORDS];
    int vn = split_words(verified, vw), dn = split_words(directory, dw);
    if (vn <= 0 || dn <= 0 || dn > vn)
        return 0;
    pairing_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return 0;
    p->vn = vn;
    p->dn = dn;
    for (int v = 0; v < vn; v++)
        vs[v] = stripped(vw[v]);
    for (int d = 0; d < dn; d++)
        ds[d] = stripped(dw[d]);
    for (int d = 0; d < dn; d++)
        for (int v = 0; v < vn; v++)
            p->ok[d][v] = (unsigned char)same(dw[d], ds[d], vw[v], vs[v]);
    for (int v = 0; v < vn; v++)
        p->owner[v] = -1;
    int all = 1;
    for (int d = 0; d < dn && all; d++) {
        memset(p->seen, 0, sizeof(p->seen));
        all = augment(p, d);
    }
    for (int v = 0; v < vn; v++)
        if (vs[v] != vw[v])
            free(vs[v]);
    for (int d = 0; d < dn; d++)
        if (ds[d] != dw[d])
            free(ds[d]);
    free(p);
    return all;
}

/* Whether a normalised value has a word: anything besides the spaces and
 * hyphens that separate words. A value of separators only ("-", a common
 * placeholder for a missing name) says nothing about a person, so it
 * matches nothing in either mode. */
static int has_word(const char *s)
{
    return s[strspn(s, SEPARATORS)] != '\0';
}

int rcv_value_match(const char *verified, const char *directory, rcv_mode_t mode)
{
    if (verified == NULL || directory == NULL)
        return 0;
    char *v = rcv_normalize(verified, strlen(verified));
    char *d = rcv_normalize(directory, strlen(directory));
    int ok = 0;
    if (v != NULL && d != NULL && has_word(v) && has_word(d)) {
        char *sv = stripped(v), *sd = stripped(d);
        ok = same(v, sv, d, sd);
        if (sv != v)
            free(sv);
        if (sd != d)
            free(sd);
        ok = ok || (mode == RCV_MODE_RELAXED && relaxed(v, d));
    }
    free(v);
    free(d);
    return ok;
}
