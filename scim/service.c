/* Placeholder until this part lands (issue 4). */
#include "scim/internal.h"

void scim_service_register(void) {}
