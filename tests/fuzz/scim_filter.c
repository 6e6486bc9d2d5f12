/* Fuzz target: SCIM filters (scim/filter_parse.c, RFC 7644 §3.4.2.2).
 *
 * Besides "no crash", for every input: a failure is invalidFilter with a
 * message naming a position; a success prints (scim_filter_format) to text
 * that, when within the parser's length limit, parses again to the same tree
 * (same S-expression) and prints the same text again; decoded strings are
 * NUL-free; value paths never nest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scim/internal.h"

static void check_tree(const scim_filter_t *f, bool inside)
{
    switch (f->kind) {
    case SCIM_F_CMP:
        if (f->path.attr == NULL || f->path.attr[0] == '\0')
            abort();
        if (f->op == SCIM_CMP_PR
                ? f->value != NULL
                : (f->value_kind == SCIM_V_STRING || f->value_kind == SCIM_V_NUMBER) != (f->value != NULL))
            abort();
        break;
    case SCIM_F_AND:
    case SCIM_F_OR:
        check_tree(f->left, inside);
        check_tree(f->right, inside);
        break;
    case SCIM_F_NOT:
        check_tree(f->left, inside);
        break;
    case SCIM_F_VALUE_PATH:
        if (inside || f->path.sub != NULL)
            abort();
        check_tree(f->left, true);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    scim_filter_t *f;
    gw_err_t err = {0};
    if (scim_filter_parse(&pool, (const char *)data, size, &f, &err) == 0) {
        check_tree(f, false);
        const char *text = scim_filter_format(&pool, f), *tree = scim_filter_sexpr(&pool, f);
        scim_filter_t *g;
        /* Printing can lengthen a filter (a control character becomes
         * \u00XX): past the parser's length limit it cannot come back. */
        if (strlen(text) <= SCIM_MAX_FILTER_LEN) {
            if (scim_filter_parse(&pool, text, strlen(text), &g, &err) != 0)
                abort();
            if (strcmp(scim_filter_sexpr(&pool, g), tree) != 0 ||
                strcmp(scim_filter_format(&pool, g), text) != 0)
                abort();
        }
    } else if (err.kind != GW_E_SCIM_INVALID_FILTER || err.public[0] == '\0') {
        abort();
    }
    h2o_mem_clear_pool(&pool);
    return 0;
}
