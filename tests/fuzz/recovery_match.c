/* Fuzz target: recovery matching (recovery/recovery.h) on verified claims,
 * which come from an identity-verification provider (network input), and the
 * recovery policy reader. The input is "verified\ndirectory" (a line break
 * splits it; the whole input is also read as a policy document).
 *
 * Besides "no crash", properties that must hold for every input:
 * normalisation gives valid UTF-8 without surrounding or repeated spaces and
 * is idempotent; exact matching is symmetric and implies relaxed matching; a
 * value matches itself exactly when its normal form has a word (a character
 * other than space and hyphen). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "recovery/recovery.h"

static void check_normal_form(const char *n)
{
    size_t len = strlen(n);
    if (len > 0 && (n[0] == ' ' || n[len - 1] == ' ' || strstr(n, "  ") != NULL))
        abort();
    utf8proc_ssize_t i = 0;
    while ((size_t)i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)n + i, (utf8proc_ssize_t)len - i, &c);
        if (k <= 0)
            abort();
        i += k;
    }
    char *again = rcv_normalize(n, len);
    if (again == NULL || strcmp(again, n) != 0)
        abort();
    free(again);
}

static void one(const char *s)
{
    char *n = rcv_normalize(s, strlen(s));
    if (n == NULL)
        return;
    check_normal_form(n);
    if (rcv_value_match(s, s, RCV_MODE_EXACT) != (n[strspn(n, " -")] != '\0'))
        abort();
    free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * RCV_VALUE_MAX + 1)
        return 0;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    if (memchr(data, '\0', size) == NULL) {
        rcv_policy_t p;
        char msg[200];
        (void)rcv_policy_parse(buf, size, &p, msg, sizeof(msg));
    }
    char *nl = strchr(buf, '\n');
    const char *verified = buf, *directory = buf;
    if (nl != NULL) {
        *nl = '\0';
        directory = nl + 1;
    }
    one(verified);
    one(directory);
    int exact = rcv_value_match(verified, directory, RCV_MODE_EXACT);
    if (exact != rcv_value_match(directory, verified, RCV_MODE_EXACT))
        abort();
    if (exact && !rcv_value_match(verified, directory, RCV_MODE_RELAXED))
        abort();
    free(buf);
    return 0;
}
