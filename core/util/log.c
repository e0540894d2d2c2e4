/* log — one line per event on stderr (see core/util/log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level min_level = LOG_LVL_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
    if (lvl >= LOG_LVL_DEBUG && lvl <= LOG_LVL_ERROR)
        min_level = lvl;
}

int log_parse_level(const char *s, enum log_level *out)
{
    if (!s)
        return -1;
    for (int i = LOG_LVL_DEBUG; i <= LOG_LVL_ERROR; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Control characters would split one event over several lines (or forge a
 * line of their own), so every one but the tab becomes a space. */
static void flatten(char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            *s = ' ';
    }
}

void log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
{
    static _Thread_local char stamp[32];
    static _Thread_local time_t stamp_time = (time_t)-1;
    char small[1024];
    char *msg = small, *big = NULL;
    struct tm tm;
    time_t now;
    va_list ap;
    int len;

    if (lvl < min_level || lvl > LOG_LVL_ERROR)
        return;

    va_start(ap, fmt);
    len = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (len < 0) {
        snprintf(small, sizeof small, "(unformattable message)");
    } else if ((size_t)len >= sizeof small) {
        /* Rare long lines get a buffer of their own; without memory the
         * truncated text in SMALL is still worth printing. */
        big = malloc((size_t)len + 1);
        if (big) {
            va_start(ap, fmt);
            vsnprintf(big, (size_t)len + 1, fmt, ap);
            va_end(ap);
            msg = big;
        }
    }
    flatten(msg);

    /* Busy servers log many lines a second (one per request): the stamp is
     * formatted once per second, not once per line. */
    now = time(NULL);
    if (now != stamp_time) {
        if (gmtime_r(&now, &tm) == NULL ||
            strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
            snprintf(stamp, sizeof stamp, "%lld", (long long)now);
        stamp_time = now;
    }

    /* One fprintf per line: stderr is unbuffered and glibc formats the whole
     * call before writing, so lines of concurrent writers do not interleave. */
    fprintf(stderr, "%s %s %s: %s\n", stamp, level_names[lvl],
            module ? module : "-", msg);
    free(big);
}

char *log_errf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}
