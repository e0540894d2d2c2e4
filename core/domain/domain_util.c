/* Shared helpers of the domain: the search key of names, the change records
 * and the events they emit (core/domain/domain_events.h), and the field tables of
 * the people resources (core/domain/domain_fields.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "domain.h"
#include "domain_events.h"
#include "http.h"
#include "log.h"
#include "phone.h"
#include "rtime.h"
#include "store.h"
#include "domain_fields.h"

/* --- domain_fold ---------------------------------------------------------- */

/* Code points folded to plain ASCII letters: Latin-1 and Latin Extended-A,
 * which cover French names and those of most families from Europe and the
 * Maghreb as they are typed in France. Sorted, non-overlapping. */
static const struct fold_range {
    unsigned lo, hi;
    const char *to;
} fold_map[] = {
    {0xC0, 0xC5, "a"}, {0xC6, 0xC6, "ae"}, {0xC7, 0xC7, "c"}, {0xC8, 0xCB, "e"},
    {0xCC, 0xCF, "i"}, {0xD0, 0xD0, "d"}, {0xD1, 0xD1, "n"}, {0xD2, 0xD6, "o"},
    {0xD8, 0xD8, "o"}, {0xD9, 0xDC, "u"}, {0xDD, 0xDD, "y"}, {0xDF, 0xDF, "ss"},
    {0xE0, 0xE5, "a"}, {0xE6, 0xE6, "ae"}, {0xE7, 0xE7, "c"}, {0xE8, 0xEB, "e"},
    {0xEC, 0xEF, "i"}, {0xF0, 0xF0, "d"}, {0xF1, 0xF1, "n"}, {0xF2, 0xF6, "o"},
    {0xF8, 0xF8, "o"}, {0xF9, 0xFC, "u"}, {0xFD, 0xFD, "y"}, {0xFF, 0xFF, "y"},
    {0x100, 0x105, "a"}, {0x106, 0x10D, "c"}, {0x10E, 0x111, "d"},
    {0x112, 0x11B, "e"}, {0x11C, 0x123, "g"}, {0x124, 0x127, "h"},
    {0x128, 0x131, "i"}, {0x132, 0x133, "ij"}, {0x134, 0x135, "j"},
    {0x136, 0x138, "k"}, {0x139, 0x142, "l"}, {0x143, 0x14B, "n"},
    {0x14C, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"},
    {0x15A, 0x161, "s"}, {0x162, 0x167, "t"}, {0x168, 0x173, "u"},
    {0x174, 0x175, "w"}, {0x176, 0x178, "y"}, {0x179, 0x17E, "z"},
    {0x17F, 0x17F, "s"}, {0x1E9E, 0x1E9E, "ss"},
};

static const char *fold_lookup(unsigned cp)
{
    size_t lo = 0, hi = sizeof fold_map / sizeof fold_map[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < fold_map[mid].lo)
            hi = mid;
        else if (cp > fold_map[mid].hi)
            lo = mid + 1;
        else
            return fold_map[mid].to;
    }
    return NULL;
}

/* Characters that separate words in a name: spaces of every width, hyphens
 * and dashes (Jean-Pierre), apostrophes (N'Diaye, d’Arc). */
static int fold_separator(unsigned cp)
{
    switch (cp) {
    case ' ': case '\t': case '\n': case '\r': case '\v': case '\f':
    case '-': case '\'':
    case 0xA0:                      /* no-break space */
    case 0x2009: case 0x202F:       /* thin and narrow no-break spaces */
    case 0x2010: case 0x2011: case 0x2013: case 0x2014:   /* hyphens, dashes */
    case 0x2018: case 0x2019: case 0x02BC:                /* apostrophes */
        return 1;
    default:
        return 0;
    }
}

/* Decodes one UTF-8 sequence at S; returns its length, or 0 when S does not
 * start a well-formed sequence (the byte is then copied as it is). */
static size_t utf8_decode(const unsigned char *s, unsigned *cp)
{
    size_t n, i;
    unsigned v;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        v = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        v = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        v = s[0] & 0x07;
    } else {
        return 0;
    }
    /* The NUL terminator is not a continuation byte, so this never reads
     * past the end of the string. */
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return n;
}

char *domain_fold(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out;
    size_t o = 0;
    int pending_space = 0;

    if (!s)
        return NULL;
    /* Every fold is at most as long as what it replaces (ß → ss, œ → oe),
     * and a separator emits at most one space for at least one byte. */
    out = malloc(strlen(s) + 1);
    if (!out)
        return NULL;
    while (*p) {
        unsigned cp;
        const char *rep = NULL;
        char one[2] = {0, 0};
        size_t n = utf8_decode(p, &cp);

        if (n == 0) {           /* not UTF-8: keep the byte, it still matches itself */
            one[0] = (char)*p;
            rep = one;
            n = 1;
        } else if (fold_separator(cp)) {
            pending_space = 1;
            p += n;
            continue;
        } else if (cp >= 0x300 && cp <= 0x36F) {
            p += n;             /* combining accents of decomposed (NFD) text */
            continue;
        } else if (cp < 0x80) {
            one[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
            rep = one;
        } else {
            rep = fold_lookup(cp);
        }
        if (pending_space && o > 0)
            out[o++] = ' ';
        pending_space = 0;
        if (rep) {
            size_t len = strlen(rep);
            memcpy(out + o, rep, len);
            o += len;
        } else {
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o] = '\0';
    return out;
}

/* --- change records ------------------------------------------------------- */

/* 0 means "not relevant" in the domain_record_* arguments: stored as NULL. */
static int bind_opt(sqlite3_stmt *s, int i, int64_t v)
{
    return v ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

/* Emits the event of KIND about ID in ST's transaction: 0, or -1 when an
 * observer vetoed it (logged by the registry). */
static int emit(struct store *st, enum domain_event_kind kind, int64_t id, int64_t change_id,
                int64_t token_id)
{
    struct domain_event ev = {kind, st, id, change_id, NULL, token_id};

    return domain_events_emit(store_events(st), &ev, NULL, 0);
}

int domain_record_session_change(struct store *st, int64_t session_id, const char *kind,
                                 int64_t old_start, int64_t old_end, int64_t old_venue,
                                 int64_t new_start, int64_t new_end, int64_t new_venue,
                                 int64_t token_id)
{
    int ret = -1, ev = domain_event_kind_of(DOMAIN_SESSION_CREATED, kind);
    sqlite3_stmt *s = store_stmt(st,
        "INSERT INTO session_changes (session_id, at, kind, old_starts_at, old_ends_at,"
        " old_venue_id, new_starts_at, new_ends_at, new_venue_id, token_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (!s)
        goto out;
    if (sqlite3_bind_int64(s, 1, session_id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, rt_now()) != SQLITE_OK ||
        store_bind_text(s, 3, kind) != SQLITE_OK ||
        bind_opt(s, 4, old_start) != SQLITE_OK || bind_opt(s, 5, old_end) != SQLITE_OK ||
        bind_opt(s, 6, old_venue) != SQLITE_OK || bind_opt(s, 7, new_start) != SQLITE_OK ||
        bind_opt(s, 8, new_end) != SQLITE_OK || bind_opt(s, 9, new_venue) != SQLITE_OK ||
        bind_opt(s, 10, token_id) != SQLITE_OK)
        goto out;
    /* The table's CHECK refuses a kind that is no event. */
    if (sqlite3_step(s) != SQLITE_DONE || ev < 0) {
        log_error("domain", "recording change of session %lld: %s",
                  (long long)session_id, sqlite3_errmsg(store_db(st)));
        goto out;
    }
    store_done(s);
    s = NULL;
    /* What its observers write (notifications) commits or vanishes with it. */
    if (emit(st, (enum domain_event_kind)ev, session_id,
             sqlite3_last_insert_rowid(store_db(st)), token_id) != 0)
        goto out;
    ret = 0;
out:
    store_done(s);
    return ret;
}

int domain_record_enrollment_event(struct store *st, int64_t enrollment_id,
                                   const char *kind, int64_t token_id)
{
    int ret = -1, ev = domain_event_kind_of(DOMAIN_ENROLLMENT_BOOKED, kind);
    sqlite3_stmt *s = store_stmt(st,
        "INSERT INTO enrollment_events (enrollment_id, at, kind, token_id)"
        " VALUES (?1, ?2, ?3, ?4)");
    if (!s)
        goto out;
    if (sqlite3_bind_int64(s, 1, enrollment_id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, rt_now()) != SQLITE_OK ||
        store_bind_text(s, 3, kind) != SQLITE_OK ||
        bind_opt(s, 4, token_id) != SQLITE_OK)
        goto out;
    if (sqlite3_step(s) != SQLITE_DONE || ev < 0) {
        log_error("domain", "recording event of enrollment %lld: %s",
                  (long long)enrollment_id, sqlite3_errmsg(store_db(st)));
        goto out;
    }
    store_done(s);
    s = NULL;
    if (emit(st, (enum domain_event_kind)ev, enrollment_id, 0, token_id) != 0)
        goto out;
    ret = 0;
out:
    store_done(s);
    return ret;
}

/* --- field tables (core/domain/domain_fields.h) --------------------------------- */

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* "looks like an address": one '@' with something on both sides, no spaces
 * or control characters. Deliverability is the gateway's business. */
static int email_ok(const char *s, size_t len)
{
    size_t i, at = len, n_at = 0;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch == 0x7F)
            return 0;
        if (ch == '@') {
            n_at++;
            at = i;
        }
    }
    return n_at == 1 && at > 0 && at + 1 < len;
}

static int current_year(void)
{
    struct tm tm;
    rt_local(rt_now(), &tm);
    return tm.tm_year + 1900;
}

/* Text fields: trims, refuses blank required ones, checks emails. */
static void read_text(struct json_check *c, const struct domain_field *f,
                      struct domain_value *v)
{
    const char *s = v->s;
    size_t len = strlen(s);
    while (len > 0 && is_space(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_space(s[len - 1]))
        len--;
    v->s = s;
    v->len = len;
    if (len == 0) {
        if (f->required) {
            json_check_add(c, f->name, "required");
            v->state = JSON_BAD;
        } else {
            v->state = JSON_NULL;   /* an emptied optional field is cleared */
        }
        return;
    }
    if (f->kind == DF_EMAIL && !email_ok(s, len)) {
        json_check_add(c, f->name, "not an email address");
        v->state = JSON_BAD;
    }
}

void domain_fields_read(struct json_check *c, const cJSON *body,
                        const struct domain_field *f, size_t n, int patch,
                        struct domain_value *v)
{
    const char *allowed[DOMAIN_FIELDS_MAX + 1];
    size_t k;

    for (k = 0; k < n && k < DOMAIN_FIELDS_MAX; k++)
        allowed[k] = f[k].name;
    allowed[k] = NULL;
    json_check_known(c, body, allowed);

    for (k = 0; k < n && k < DOMAIN_FIELDS_MAX; k++) {
        struct domain_value *x = &v[k];
        int req = f[k].required && !patch;
        int idx = 0;
        const char *why = NULL;

        memset(x, 0, sizeof *x);
        switch (f[k].kind) {
        case DF_TEXT:
        case DF_EMAIL:
            x->state = json_get_str(c, body, f[k].name, req, f[k].maxlen, &x->s);
            if (x->state == JSON_OK)
                read_text(c, &f[k], x);
            break;
        case DF_PHONE:
            x->state = json_get_str(c, body, f[k].name, req, 64, &x->s);
            if (x->state != JSON_OK)
                break;
            if (strspn(x->s, " \t\r\n") == strlen(x->s)) {
                x->state = JSON_NULL;       /* blank clears, like text */
                break;
            }
            if (phone_normalize(x->s, x->phone, &why) != 0) {
                json_check_add(c, f[k].name, "%s", why ? why : "invalid phone number");
                x->state = JSON_BAD;
                break;
            }
            x->s = x->phone;
            x->len = strlen(x->phone);
            break;
        case DF_BOOL: {
            int b = 0;
            x->state = json_get_bool(c, body, f[k].name, req, &b);
            x->i = x->state == JSON_OK ? b : 0;
            break;
        }
        case DF_INT:
            x->state = json_get_int(c, body, f[k].name, req, f[k].min, f[k].max, &x->i);
            break;
        case DF_YEAR:
            x->state = json_get_int(c, body, f[k].name, req, f[k].min, current_year(),
                                    &x->i);
            break;
        case DF_ENUM:
            x->state = json_get_enum(c, body, f[k].name, req, f[k].values, &idx);
            if (x->state == JSON_OK) {
                x->s = f[k].values[idx];
                x->len = strlen(x->s);
            }
            break;
        }
        /* In a PATCH a required field may be left out but never cleared. */
        if (patch && f[k].required && x->state == JSON_NULL) {
            json_check_add(c, f[k].name, "required");
            x->state = JSON_BAD;
        }
    }
}

int domain_fields_bind(sqlite3_stmt *s, const struct domain_field *f, size_t n,
                       const struct domain_value *v, int flags)
{
    size_t k;
    for (k = 0; k < n; k++) {
        int i = (int)k + 1, rc;
        int set = v[k].state == JSON_OK;
        switch (f[k].kind) {
        case DF_BOOL:
            rc = sqlite3_bind_int(s, i, set ? (int)v[k].i : 0);
            break;
        case DF_INT:
        case DF_YEAR:
            rc = set ? sqlite3_bind_int64(s, i, v[k].i) : sqlite3_bind_null(s, i);
            break;
        default:
            rc = set ? sqlite3_bind_text(s, i, v[k].s, (int)v[k].len, SQLITE_TRANSIENT)
                     : sqlite3_bind_null(s, i);
            break;
        }
        if (rc != SQLITE_OK)
            return -1;
        if (flags) {
            int given = v[k].state == JSON_OK || v[k].state == JSON_NULL;
            if (sqlite3_bind_int(s, (int)(n + k) + 1, given) != SQLITE_OK)
                return -1;
        }
    }
    return 0;
}

int domain_fields_render(cJSON *obj, sqlite3_stmt *s, int col,
                         const struct domain_field *f, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++, col++) {
        cJSON *item;
        int null = sqlite3_column_type(s, col) == SQLITE_NULL;
        if (f[k].kind == DF_BOOL)
            item = cJSON_CreateBool(sqlite3_column_int(s, col) != 0);
        else if (null)
            item = cJSON_CreateNull();
        else if (f[k].kind == DF_INT || f[k].kind == DF_YEAR)
            item = cJSON_CreateNumber((double)sqlite3_column_int64(s, col));
        else
            item = cJSON_CreateString((const char *)sqlite3_column_text(s, col));
        if (!item)
            return -1;
        if (!cJSON_AddItemToObject(obj, f[k].name, item)) {
            cJSON_Delete(item);
            return -1;
        }
    }
    return 0;
}

int domain_is_conflict(sqlite3 *db)
{
    int ext = sqlite3_extended_errcode(db);
    return ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_FOREIGNKEY ||
           ext == SQLITE_CONSTRAINT_PRIMARYKEY;
}

int domain_collect_ids(sqlite3_stmt *s, int64_t **out)
{
    int64_t *ids = NULL;
    int n = 0, cap = 0, step;

    *out = NULL;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            int64_t *more = realloc(ids, (size_t)(cap ? cap * 2 : 16) * sizeof *ids);
            if (!more)
                goto fail;
            ids = more;
            cap = cap ? cap * 2 : 16;
        }
        ids[n++] = sqlite3_column_int64(s, 0);
    }
    if (step != SQLITE_DONE)
        goto fail;
    *out = ids;
    return n;
fail:
    free(ids);
    return -1;
}

/* --- DELETE of a row sessions refer to -------------------------------------- */

void domain_delete_unreferenced(struct http_req *req, const struct domain_delete *d)
{
    struct store *st = req->app->store;
    sqlite3_stmt *s = NULL;
    int64_t id, one;
    int found, used;

    if (http_param_id(req, "id", &id) != 0)
        return;
    found = store_int_query(st, d->exists_sql, id, &one);
    if (found < 0)
        goto fail;
    if (found == 0) {
        http_problem(req, 404, d->not_found, (long long)id);
        return;
    }
    used = store_int_query(st, d->used_sql, id, &one);
    if (used < 0)
        goto fail;
    if (used)
        goto conflict;
    s = store_stmt(st, d->delete_sql);
    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(s) != SQLITE_DONE) {
        /* A session added by another path between the check and here. */
        if (domain_is_conflict(store_db(st)))
            goto conflict;
        goto fail;
    }
    store_done(s);
    http_reply_empty(req, 204);
    return;
conflict:
    store_done(s);
    http_problem(req, 409, d->conflict, (long long)id);
    return;
fail:
    log_error(d->module, "deleting %s %lld: %s", d->noun, (long long)id,
              sqlite3_errmsg(store_db(st)));
    store_done(s);
    http_problem(req, 500, "could not delete the %s", d->noun);
}

void domain_reply_row(struct http_req *req, int status, int64_t id, const char *sql,
                      cJSON *(*render)(sqlite3_stmt *s), const char *module,
                      const char *noun, const char *not_found)
{
    struct store *st = req->app->store;
    sqlite3_stmt *s = store_stmt(st, sql);
    cJSON *o = NULL;
    int rc;

    if (!s || sqlite3_bind_int64(s, 1, id) != SQLITE_OK)
        goto fail;
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        store_done(s);
        http_problem(req, 404, not_found, (long long)id);
        return;
    }
    if (rc != SQLITE_ROW || !(o = render(s)))
        goto fail;
    store_done(s);
    http_reply_json(req, status, o);
    return;
fail:
    log_error(module, "reading %s %lld: %s", noun, (long long)id, sqlite3_errmsg(store_db(st)));
    store_done(s);
    http_problem(req, 500, "could not read the %s", noun);
}
