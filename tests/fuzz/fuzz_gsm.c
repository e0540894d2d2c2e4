/* GSM-7 preparation: never crashes; a GSM-7 result holds only characters of
 * the alphabet, and the segment count is consistent with the units. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    struct gsm_text t;

    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    if (gsm_prepare(in, &t) == 0) {
        size_t single = t.ucs2 ? 70 : 160;
        if (t.segments < 1 || (t.units <= single && t.segments != 1) ||
            (t.units > single && t.segments < 2))
            abort();
        gsm_text_free(&t);
    }
    free(in);
    return 0;
}
