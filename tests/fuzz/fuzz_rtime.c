/* Time parsing: RFC 3339, local dates, durations, HH:MM; whatever parses
 * formats back to a well-formed string. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int zone;
    char in[128], out[64];
    int64_t t;
    int m;

    if (!zone) {
        char *err = NULL;
        if (rt_set_timezone("Europe/Paris", &err) != 0)
            abort();
        zone = 1;
    }
    if (size >= sizeof in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    if (rt_parse_rfc3339(in, &t) == 0) {
        int64_t back;
        rt_format_utc(t, out, sizeof out);
        if (rt_parse_rfc3339(out, &back) != 0 || back != t)
            abort();
        rt_format_fr(t, out, sizeof out);
    }
    (void)rt_parse_local_date(in, &t);
    (void)rt_parse_duration(in, &t);
    (void)rt_parse_hhmm(in, &m);
    return 0;
}
