/* log — one line per event on stderr.
 *
 * Rules: never pass personal data (names, phone numbers, emails, tokens) to
 * these functions; log ids instead. Lines look like
 *   2026-11-28T09:30:00Z info http: GET /api/v1/venues 200 1.2ms
 * so that journald, grep and humans all read them. Not thread-safe: Relais
 * runs one event loop on one thread. */
#ifndef RELAIS_LOG_H
#define RELAIS_LOG_H

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

/* Sets the minimum level printed (default info). */
void log_set_level(enum log_level lvl);
/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_parse_level(const char *s, enum log_level *out);
void log_msg(enum log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The text of an error for a caller's `char **err` out-param, as printf
 * formats it; NULL when out of memory (callers then say something generic).
 * The caller frees it. Not logged: the caller decides. */
char *log_errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_debug(mod, ...) log_msg(LOG_LVL_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LOG_LVL_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_LVL_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_msg(LOG_LVL_ERROR, mod, __VA_ARGS__)

#endif
