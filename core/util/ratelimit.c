/* ratelimit — token buckets keyed by client address (see
 * core/util/ratelimit.h). */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAYS 8

/* Tokens are kept in thousandths so that refilling by elapsed milliseconds
 * stays in integers. */
struct slot {
    char key[RATELIMIT_KEY_MAX];
    int64_t milli_tokens;
    int64_t updated_ms;
    int used;
};

struct ratelimit {
    struct slot *slots;
    size_t nsets;
    int64_t per_minute, burst;
};

struct ratelimit *ratelimit_new(size_t max_keys, int per_minute, int burst)
{
    struct ratelimit *rl = NULL;

    if (max_keys < 1 || per_minute < 1 || burst < 1)
        return NULL;
    rl = calloc(1, sizeof *rl);
    if (!rl)
        goto fail;
    rl->nsets = (max_keys + WAYS - 1) / WAYS;
    rl->slots = calloc(rl->nsets * WAYS, sizeof *rl->slots);
    if (!rl->slots)
        goto fail;
    rl->per_minute = per_minute;
    rl->burst = burst;
    return rl;
fail:
    ratelimit_free(rl);
    return NULL;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    free(rl->slots);
    free(rl);
}

int64_t ratelimit_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a: the keys are addresses, not chosen to collide (and a collision
 * only shares a set of 8, never a bucket). */
static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* KEY's slot, refilled to NOW_MS; a new key takes the stalest one. */
static struct slot *find(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    char k[RATELIMIT_KEY_MAX];
    struct slot *set, *s = NULL;
    size_t n = strnlen(key, sizeof k - 1);

    memcpy(k, key, n);
    k[n] = '\0';
    set = rl->slots + (hash(k) % rl->nsets) * WAYS;
    for (int i = 0; i < WAYS && !s; i++)
        if (set[i].used && strcmp(set[i].key, k) == 0)
            s = &set[i];
    if (!s) {
        s = &set[0];
        for (int i = 1; i < WAYS && s->used; i++)
            if (!set[i].used || set[i].updated_ms < s->updated_ms)
                s = &set[i];
        memcpy(s->key, k, n + 1);
        s->used = 1;
        s->milli_tokens = rl->burst * 1000;
        s->updated_ms = now_ms;
    }
    if (now_ms > s->updated_ms) {
        /* per_minute tokens a minute = per_minute thousandths a 60 ms. */
        int64_t add = (now_ms - s->updated_ms) * rl->per_minute / 60;

        s->milli_tokens += add;
        if (s->milli_tokens > rl->burst * 1000)
            s->milli_tokens = rl->burst * 1000;
        s->updated_ms = now_ms;
    }
    return s;
}

static int wait_for(struct ratelimit *rl, const struct slot *s, int *retry_after)
{
    int64_t missing = 1000 - s->milli_tokens;
    int64_t ms = (missing * 60 + rl->per_minute - 1) / rl->per_minute;

    if (retry_after)
        *retry_after = (int)((ms + 999) / 1000 > 0 ? (ms + 999) / 1000 : 1);
    return 1;
}

int ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, int *retry_after)
{
    struct slot *s = find(rl, key, now_ms);

    if (s->milli_tokens < 1000)
        return wait_for(rl, s, retry_after);
    s->milli_tokens -= 1000;
    return 0;
}

int ratelimit_check(struct ratelimit *rl, const char *key, int64_t now_ms, int *retry_after)
{
    struct slot *s = find(rl, key, now_ms);

    return s->milli_tokens < 1000 ? wait_for(rl, s, retry_after) : 0;
}

int ratelimit_set_rates(struct ratelimit *rl, int per_minute, int burst)
{
    if (per_minute < 1 || burst < 1)
        return -1;
    rl->per_minute = per_minute;
    rl->burst = burst;
    for (size_t i = 0; i < rl->nsets * WAYS; i++)
        if (rl->slots[i].milli_tokens > rl->burst * 1000)
            rl->slots[i].milli_tokens = rl->burst * 1000;
    return 0;
}

size_t ratelimit_capacity(const struct ratelimit *rl)
{
    return rl->nsets * WAYS;
}
