/* slots — bookable slots of a permanence: pure arithmetic on Unix seconds.
 *
 * Slots are laid end to end from the window's start; a remainder shorter
 * than a slot at the end is not bookable (walk-ins only). */
#include "domain.h"

#include <limits.h>

/* Slot length in seconds and window length, or -1 when the window or the
 * slot size cannot make sense (including sums that would overflow). */
static int window(int64_t start, int64_t end, int slot_minutes, int64_t *len, int64_t *span)
{
    if (slot_minutes <= 0 || end <= start)
        return -1;
    if (__builtin_sub_overflow(end, start, span))
        return -1;
    *len = (int64_t)slot_minutes * 60;
    return 0;
}

int slots_count(int64_t start, int64_t end, int slot_minutes)
{
    int64_t len, span, n;

    if (window(start, end, slot_minutes, &len, &span) != 0)
        return -1;
    n = span / len;
    return n > INT_MAX ? -1 : (int)n;
}

int slots_check(int64_t start, int64_t end, int slot_minutes, int64_t slot_start)
{
    int64_t len, span, off;

    if (window(start, end, slot_minutes, &len, &span) != 0)
        return -1;
    if (slot_start < start || slot_start >= end)
        return -1;
    off = slot_start - start; /* cannot overflow: start ≤ slot_start < end */
    if (off % len != 0)
        return -1;
    /* The whole slot must fit: off + len ≤ span, written to avoid overflow. */
    if (len > span - off)
        return -1;
    return 0;
}
