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
    /* STRIPMARK needs COMPOSE (or DECOMPOSE): the string is decomposed, the
     * marks dropped, and the rest recomposed, so the result is NFC. LUMP
     * folds look-alike punctuation (dashes, apostrophes, the many spaces) to
     * ASCII, so "Jean‐Paul" with U+2010 equals "Jean-Paul". */
    utf8proc_ssize_t len =
        utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &mapped,
                     UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |
                         UTF8PROC_LUMP | UTF8PROC_NLF2LS | UTF8PROC_STRIPCC | UTF8PROC_IGNORE);
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
