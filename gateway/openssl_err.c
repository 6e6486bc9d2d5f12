/* One way to turn an OpenSSL failure into a gw_err_t (crypto.h). */
#include <openssl/err.h>

#include "gateway/crypto.h"

int gw_openssl_fail(gw_err_t *err, const char *public_msg, const char *call)
{
    unsigned long e = ERR_get_error();
    int rc = GW_ERR(err, GW_E_INTERNAL, public_msg);
    gw_err_detail(err, "%s: %s", call, e ? ERR_reason_error_string(e) : "failed");
    ERR_clear_error();
    return rc;
}
