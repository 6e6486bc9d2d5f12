/* Fuzz target: a BulkRequest (scim/bulk_parse.c, RFC 7644 §3.7) read as
 * /Bulk reads it, then its bulkId references run as bulk.c runs them.
 *
 * Invariants: a failure is invalidSyntax, invalidValue or payload-too-large
 * with a one-line message; a success holds at most maxOperations
 * operations, each either well-formed (a method, a path starting with "/",
 * a POST with a bulkId that names that very POST, data an object unless
 * DELETE) or carrying a syntax error; running them in order with a stack
 * for forward references (every third POST "fails") ends within 2n steps,
 * never stacks an operation twice, and every operation whose references
 * are READY resolves to a path and data without any "bulkId:" left. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scim/bulk.h"

static void run(h2o_mem_pool_t *pool, scim_bulk_req_t *b)
{
    size_t *stack = h2o_mem_alloc_pool(pool, sizeof(*stack) * (b->n + 1));
    size_t depth = 0, next = 0, steps = 0;
    for (;;) {
        if (++steps > 2 * b->n + 2)
            abort(); /* each operation is stacked once and finishes once */
        if (depth == 0) {
            while (next < b->n && b->ops[next].state != SCIM_BULK_PENDING)
                next++;
            if (next == b->n)
                return;
            b->ops[next].state = SCIM_BULK_STACKED;
            stack[depth++] = next;
        }
        size_t i = stack[depth - 1], target = b->n;
        scim_bulk_op_t *op = &b->ops[i];
        if (op->method == NULL) {
            op->state = SCIM_BULK_FAILED;
            depth--;
            continue;
        }
        gw_err_t err = {0};
        scim_bulk_refs_t rc = scim_bulk_refs(b, i, &target, &err);
        if (rc == SCIM_BULK_REFS_WAIT) {
            if (target >= b->n || b->ops[target].state != SCIM_BULK_PENDING ||
                strcmp(b->ops[target].method, "POST") != 0 || depth > b->n)
                abort();
            b->ops[target].state = SCIM_BULK_STACKED;
            stack[depth++] = target;
            continue;
        }
        if (rc == SCIM_BULK_REFS_FAILED) {
            if ((err.kind != GW_E_CONFLICT && err.kind != GW_E_SCIM_INVALID_VALUE) ||
                strchr(err.public, '\n') != NULL)
                abort();
            op->state = SCIM_BULK_FAILED;
            depth--;
            continue;
        }
        const char *path = scim_bulk_resolve_path(pool, b, op->path);
        size_t n;
        if (scim_bulk_path_ref(path, path, &n) != NULL)
            abort();
        scim_bulk_resolve_data(b, op->data);
        scim_bulk_op_t after = *op;
        after.path = path;
        if (scim_bulk_has_refs(&after))
            abort();
        bool post = strcmp(op->method, "POST") == 0;
        if (post && i % 3 == 2) {
            op->state = SCIM_BULK_FAILED;
        } else {
            op->state = SCIM_BULK_OK;
            if (post) {
                char *id = h2o_mem_alloc_pool(pool, 24);
                snprintf(id, 24, "id-%zu", i);
                op->id = id;
            }
        }
        depth--;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    gw_err_t err = {0};
    gw_json_limits_t lim = {
        .max_bytes = SCIM_BULK_MAX_PAYLOAD, .require_object = true, .unique_keys_ci = true};
    yajl_val body = gw_json_parse_pool(&pool, (const char *)data, size, &lim, &err);
    scim_bulk_req_t b;
    if (body != NULL) {
        if (scim_bulk_parse(&pool, body, &b, &err) != 0) {
            if ((err.kind != GW_E_SCIM_INVALID_SYNTAX && err.kind != GW_E_SCIM_INVALID_VALUE &&
                 err.kind != GW_E_PAYLOAD_TOO_LARGE) ||
                strchr(err.public, '\n') != NULL)
                abort();
        } else {
            if (b.n > SCIM_BULK_MAX_OPERATIONS)
                abort();
            for (size_t i = 0; i < b.n; i++) {
                const scim_bulk_op_t *op = &b.ops[i];
                if (op->method == NULL) {
                    if (op->bad_detail == NULL || op->bad_kind != GW_E_SCIM_INVALID_SYNTAX)
                        abort();
                    continue;
                }
                if (op->path == NULL || op->path[0] != '/')
                    abort();
                if (strcmp(op->method, "POST") == 0 &&
                    (op->bulk_id == NULL ||
                     scim_bulk_lookup(&b, op->bulk_id, strlen(op->bulk_id)) != (long)i))
                    abort();
                if (strcmp(op->method, "DELETE") != 0 && !YAJL_IS_OBJECT(op->data))
                    abort();
            }
            run(&pool, &b);
        }
    }
    h2o_mem_clear_pool(&pool);
    return 0;
}
