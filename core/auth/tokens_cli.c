/* tokens_cli — what `relais token list` prints (see core/auth/tokens.h):
 * one line per token, aligned, never its secret. */
#include "tokens.h"

#include <stdio.h>
#include <time.h>

#include "http.h"
#include "rtime.h"
#include "store.h"

struct printing {
    FILE *out;
    int64_t now;
    int failed;
};

static void stamp(char *buf, size_t n, int64_t t)
{
    if (t > 0)
        rt_format_utc(t, buf, n);
    else
        snprintf(buf, n, "-");
}

static void print_row(const struct token_row *row, void *arg)
{
    struct printing *p = arg;
    char created[32], used[32], expires[32], revoked[32], staff[24] = "-";
    const char *role = http_role_name(row->role), *state;

    stamp(created, sizeof created, row->created_at);
    stamp(used, sizeof used, row->last_used_at);
    stamp(expires, sizeof expires, row->expires_at);
    stamp(revoked, sizeof revoked, row->revoked_at);
    if (row->staff_id > 0)
        snprintf(staff, sizeof staff, "%lld", (long long)row->staff_id);
    state = row->revoked_at ? "revoked"
          : row->expires_at && row->expires_at <= p->now ? "expired" : "active";
    if (fprintf(p->out, "%-5lld %-11s %-6s %-8s %-20s %-20s %-20s %-20s ", (long long)row->id,
                role ? role : "?", staff, state, created, used, expires, revoked) < 0)
        p->failed = 1;
    /* The name as typed, its control bytes shown as '?': one line each. */
    for (const char *c = row->name ? row->name : ""; *c; c++)
        if (fputc((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c, p->out) == EOF)
            p->failed = 1;
    if (fputc('\n', p->out) == EOF)
        p->failed = 1;
}

int tokens_print_list(struct store *st, FILE *out)
{
    struct printing p = {out, (int64_t)time(NULL), 0};

    if (fprintf(out, "%-5s %-11s %-6s %-8s %-20s %-20s %-20s %-20s %s\n", "ID", "ROLE", "STAFF",
                "STATE", "CREATED", "LAST USED", "EXPIRES", "REVOKED", "NAME") < 0)
        return -1;
    if (tokens_list(st, print_row, &p) != 0)
        return -1;
    return p.failed || fflush(out) != 0 ? -1 : 0;
}
