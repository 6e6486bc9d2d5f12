/* Normalisation of names before comparison (recovery.h). Unicode work is
 * libutf8proc's: hand-written tables of accents and cases always miss a
 * script. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "gateway/alloc.h"
#include "recovery/recovery.h"

static int is_space(utf8proc_int32_t c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
        return 1;
    /* Any Unicode space separator, and the line/paragraph separators that
     * UTF8PROC_NLF2LS produces. */
    utf8proc_category_t cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

char *rcv_normalize(const char *s, size_t n)
{
    if (s == NULL || n > RCV_VALUE_MAX)
        return NULL;
    utf8proc_uint8_t *mapped = NULL;
    /* NFC (COMPOSE), marks kept: UTF8PROC_STRIPMARK dropped every mark,
     * and in Devanagari, Thai and the other abugidas the marks are vowels
     * ("किरण", Kiran, became "करण", Karan), as the Vietnamese horn makes
     * another vowel ("Hưng" became "Hung", and so "Hùng"). Which marks may
     * be ignored is rcv_strip_marks's, and when is match.c's. LUMP folds
     * look-alike punctuation (dashes, apostrophes, the many spaces) to
     * ASCII, so "Jean‐Paul" with U+2010 equals "Jean-Paul". */
    utf8proc_ssize_t len =
        utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &mapped,
                     UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_LUMP |
                         UTF8PROC_NLF2LS | UTF8PROC_STRIPCC | UTF8PROC_IGNORE);
    if (len < 0)
        return NULL;
    char *out = gw_malloc((size_t)len + 1);
    size_t o = 0;
    int pending_space = 0;
    utf8proc_ssize_t i = 0;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(mapped + i, len - i, &c);
        if (k <= 0) { /* cannot happen on utf8proc's own output; be safe */
            free(mapped);
            free(out);
            return NULL;
        }
        if (is_space(c)) {
            pending_space = o > 0;
        } else {
            if (pending_space)
                out[o++] = ' ';
            pending_space = 0;
            memcpy(out + o, mapped + i, (size_t)k);
            o += (size_t)k;
        }
        i += k;
    }
    out[o] = '\0';
    free(mapped);
    return out;
}

/* A letter of the Latin, Greek or Cyrillic script (by block: utf8proc has
 * no script property), whose nonspacing marks are diacritics that
 * directories often leave out. Armenian starts at U+0531. */
static int diacritic_base(utf8proc_int32_t c)
{
    utf8proc_category_t cat = utf8proc_category(c);
    if (cat < UTF8PROC_CATEGORY_LU || cat > UTF8PROC_CATEGORY_LO)
        return 0;
    return c < 0x0530 ||                   /* Latin, IPA, Greek and Coptic, Cyrillic (+ Supplement) */
           (c >= 0x1C80 && c <= 0x1C8F) || /* Cyrillic Extended-C */
           (c >= 0x1D00 && c <= 0x1DBF) || /* Phonetic Extensions */
           (c >= 0x1E00 && c <= 0x1FFF) || /* Latin Extended Additional, Greek Extended */
           (c >= 0x2C60 && c <= 0x2C7F) || /* Latin Extended-C */
           (c >= 0xA640 && c <= 0xA69F) || /* Cyrillic Extended-B */
           (c >= 0xA720 && c <= 0xA7FF) || /* Latin Extended-D */
           (c >= 0xAB30 && c <= 0xAB6F);   /* Latin Extended-E */
}

char *rcv_strip_marks(const char *s)
{
    if (s == NULL)
        return NULL;
    const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    utf8proc_ssize_t n = (utf8proc_ssize_t)strlen(s);
    utf8proc_ssize_t need = utf8proc_decompose((const utf8proc_uint8_t *)s, n, NULL, 0, opts);
    if (need < 0)
        return NULL;
    /* One more for utf8proc_reencode, which writes the UTF-8 in place. */
    utf8proc_int32_t *cp = gw_malloc(sizeof(*cp) * ((size_t)need + 1));
    utf8proc_ssize_t m = utf8proc_decompose((const utf8proc_uint8_t *)s, n, cp, need, opts);
    if (m < 0 || m > need) {
        free(cp);
        return NULL;
    }
    utf8proc_ssize_t o = 0;
    int base = 0; /* the last character that was no mark is a diacritic_base */
    for (utf8proc_ssize_t i = 0; i < m; i++) {
        if (utf8proc_category(cp[i]) == UTF8PROC_CATEGORY_MN) {
            if (base)
                continue; /* a diacritic: dropped (marks stack on one base) */
        } else {
            base = diacritic_base(cp[i]);
        }
        cp[o++] = cp[i];
    }
    utf8proc_ssize_t len = utf8proc_reencode(cp, o, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    char *out = NULL;
    if (len >= 0) {
        out = gw_malloc((size_t)len + 1);
        memcpy(out, cp, (size_t)len);
        out[len] = '\0';
    }
    free(cp);
    return out;
}
