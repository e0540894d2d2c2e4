/* Phone normalisation: never crashes, and what it accepts is E.164 and a
 * fixed point (normalising the output again gives the same number). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[256], out[PHONE_MAX], again[PHONE_MAX];
    const char *why = NULL;
    size_t i;

    if (size >= sizeof in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    if (phone_normalize(in, out, &why) != 0) {
        if (!why)
            abort();
        return 0;
    }
    if (out[0] != '+' || strlen(out) < 9 || strlen(out) > 16)
        abort();
    for (i = 1; out[i]; i++)
        if (out[i] < '0' || out[i] > '9')
            abort();
    if (phone_normalize(out, again, &why) != 0 || strcmp(out, again) != 0)
        abort();
    (void)phone_is_mobile(out);
    return 0;
}
