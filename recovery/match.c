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

static int relaxed(char *verified, char *directory)
{
    char *vw[MAX_WORDS], *dw[MAX_WORDS];
    int vn = split_words(verified, vw), dn = split_words(directory, dw);
    if (vn <= 0 || dn <= 0)
        return 0;
    int used[MAX_WORDS] = {0};
    for (int d = 0; d < dn; d++) {
        int found = 0;
        for (int v = 0; v < vn && !found; v++) {
            if (!used[v] && strcmp(vw[v], dw[d]) == 0) {
                used[v] = 1;
                found = 1;
            }
        }
        if (!found)
            return 0;
    }
    return 1;
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
    if (v != NULL && d != NULL && has_word(v) && has_word(d))
        ok = strcmp(v, d) == 0 || (mode == RCV_MODE_RELAXED && relaxed(v, d));
    free(v);
    free(d);
    return ok;
}
