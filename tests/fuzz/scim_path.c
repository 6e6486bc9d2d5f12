/* Fuzz target: SCIM PATCH paths (scim/path_parse.c, RFC 7644 §3.5.2).
 *
 * Besides "no crash": a failure is invalidPath with a message; a success
 * prints (scim_path_format) to text that parses to the same tree (when within
 * the parser's length limit), a value filter never holds a value path, and a
 * sub-attribute after "]" only comes with a value filter. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scim/internal.h"

static bool has_value_path(const scim_filter_t *f)
{
    switch (f->kind) {
    case SCIM_F_VALUE_PATH:
        return true;
    case SCIM_F_AND:
    case SCIM_F_OR:
        return has_value_path(f->left) || has_value_path(f->right);
    case SCIM_F_NOT:
        return has_value_path(f->left);
    default:
        return false;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    scim_patch_path_t p;
    gw_err_t err = {0};
    if (scim_path_parse(&pool, (const char *)data, size, &p, &err) == 0) {
        if (p.path.attr == NULL || (p.filter_sub != NULL && p.value_filter == NULL) ||
            (p.value_filter != NULL && (p.path.sub != NULL || has_value_path(p.value_filter))))
            abort();
        const char *text = scim_path_format(&pool, &p), *tree = scim_path_sexpr(&pool, &p);
        scim_patch_path_t q;
        /* Printing can lengthen a path (a control character becomes
         * \u00XX): past the parser's length limit it cannot come back. */
        if (strlen(text) <= SCIM_MAX_FILTER_LEN) {
            if (scim_path_parse(&pool, text, strlen(text), &q, &err) != 0)
                abort();
            if (strcmp(scim_path_sexpr(&pool, &q), tree) != 0 ||
                strcmp(scim_path_format(&pool, &q), text) != 0)
                abort();
        }
    } else if (err.kind != GW_E_SCIM_INVALID_PATH || err.public[0] == '\0') {
        abort();
    }
    h2o_mem_clear_pool(&pool);
    return 0;
}
