/* plugins_gateway — composers and gateways (plugins/API.md, "Gateways").
 *
 * A channel ("sms", "email") is sent either by one plugin's channel
 * function (relais.channel: it writes and sends), or by two plugins: a
 * composer (relais.composer: plugins/sms, plugins/email) writes each
 * message, and the gateway (relais.gateway: plugins/sms-twilio, …) that the
 * channel's `provider` names sends it. The core lists no gateway:
 * `sms = {provider = "ovh"}` selects whichever plugin registered
 * ("sms", "ovh"), and when none of the plugins listed in `plugins` did,
 * the plugin "sms-ovh" is loaded for it (pgw_settle).
 *
 * Rules:
 * - What a gateway gets is made here: the notification's id, kind,
 *   recipient and idempotency key, plus the composer's parts checked
 *   against the channel's list (sms: text; email: subject, text, html, ics,
 *   ics_method, message_id, message), so that its shape is the contract's
 *   whatever the composer returns. SMS segments are counted here.
 * - The recipient is checked before any plugin runs (E.164 for SMS; one
 *   address without spaces or control characters for email): a bad one
 *   fails the notification at once, and no header can be forged with it.
 * - A gateway's reason never quotes the recipient: the address and any
 *   long run of digits in the `error` it returns are masked here, for every
 *   gateway, bundled or not.
 * - A composer's channel is handed to the outbox only once its gateway is
 *   there, so notifications wait (rather than fail) while it is missing;
 *   at start a missing gateway stops the server.
 * - The gateway is looked up when the composer has finished, never kept
 *   across a wait: a reload in between finds the new one, or none (retry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "app.h"
#include "config.h"
#include "gsm.h"
#include "log.h"
#include "outbox.h"

#define MAX_SMS_TEXT  1600             /* what gateways take (Twilio's limit) */
#define MAX_MAIL      (8u << 20)       /* a whole message, attachments included */
#define MAX_REASON    500              /* as plugins_api.c cuts a reason */
#define MIN_DIGITS    6                /* a run this long may be a phone number */

/* One part a composer may return for its channel. */
struct part {
    const char *name;
    int required;
    size_t max;
};

static const struct part sms_parts[] = {{"text", 1, MAX_SMS_TEXT}};
static const struct part email_parts[] = {
    {"subject", 1, 998},  {"text", 1, MAX_MAIL},     {"html", 0, MAX_MAIL},
    {"ics", 0, MAX_MAIL}, {"ics_method", 0, 7},      {"message_id", 1, 250},
    {"message", 1, MAX_MAIL},
};

/* The channel named S as a string that outlives every plugin, or NULL. */
static const char *channel_name(const char *s)
{
    if (s && strcmp(s, "sms") == 0)
        return "sms";
    if (s && strcmp(s, "email") == 0)
        return "email";
    return NULL;
}

static const char *check_channel(lua_State *L, int idx, const char *fn)
{
    const char *c = channel_name(luaL_checkstring(L, idx));

    if (!c)
        luaL_error(L, "%s: the channel is \"sms\" or \"email\"", fn);
    return c;
}

static const char *provider_of(const struct plugins *p, const char *channel)
{
    const struct config *cfg = p->app->cfg;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(strcmp(channel, "sms") == 0 ? cfg->sms
                                                      : cfg->email, "provider");

    return cJSON_IsString(v) ? v->valuestring : "console";
}

static struct pgateway *find_gateway(const struct plugins *p, const char *channel,
                                     const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        struct plugin *pl = p->list[i];

        for (size_t j = 0; !pl->dead && j < pl->ngateways; j++)
            if (strcmp(pl->gateways[j]->channel, channel) == 0 &&
                strcmp(pl->gateways[j]->name, name) == 0)
                return pl->gateways[j];
    }
    return NULL;
}

/* The gateway CHANNEL's provider names, when registered. */
static struct pgateway *selected(const struct plugins *p, const char *channel)
{
    return find_gateway(p, channel, provider_of(p, channel));
}

static struct pcomposer *composer_of(const struct plugins *p, const char *channel)
{
    for (size_t i = 0; i < p->n; i++) {
        struct plugin *pl = p->list[i];

        for (size_t j = 0; !pl->dead && j < pl->ncomposers; j++)
            if (strcmp(pl->composers[j]->channel, channel) == 0)
                return pl->composers[j];
    }
    return NULL;
}

int pgw_composed(struct plugins *p, const char *channel)
{
    return composer_of(p, channel) != NULL;
}

/* --- registering ---------------------------------------------------------------- */

/* An address a gateway declares it sends from: one line, one '@'. */
static int sender_ok(const char *s, size_t len)
{
    const char *at = strchr(s, '@');

    if (len < 3 || len > 254 || strlen(s) != len || !at || at == s || !at[1] ||
        strchr(at + 1, '@'))
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f || strchr("<>()[],;:\"\\", *s))
            return 0;
    return 1;
}

static int line_ok(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max || strlen(s) != len)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || *s == 0x7f)
            return 0;
    return 1;
}

/* relais.gateway(channel, name, send [, {from = "addr", name = "Name"}]) →
 * true when the channel's provider names this gateway. */
int pgw_l_gateway(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    const char *channel = check_channel(L, 1, "relais.gateway");
    const char *name = luaL_checkstring(L, 2), *from = NULL, *from_name = NULL;
    struct pgateway *g, *other, **grown;
    size_t len;
    int ref;

    luaL_checktype(L, 3, LUA_TFUNCTION);
    papi_loading(L, "relais.gateway");
    if (!config_plugin_name_ok(name))
        return luaL_error(L, "relais.gateway: a gateway name is a-z, 0-9, _ and -, starting "
                          "with a letter");
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        if (lua_getfield(L, 4, "from") != LUA_TNIL) {
            from = lua_tolstring(L, -1, &len);
            if (strcmp(channel, "email") != 0 || lua_type(L, -1) != LUA_TSTRING ||
                !sender_ok(from, len))
                return luaL_error(L, "relais.gateway: 'from' is an e-mail address (email "
                                  "gateways only)");
        }
        if (lua_getfield(L, 4, "name") != LUA_TNIL) {
            from_name = lua_tolstring(L, -1, &len);
            if (!from || lua_type(L, -1) != LUA_TSTRING || !line_ok(from_name, len, 200))
                return luaL_error(L, "relais.gateway: 'name' is a display name of one line, "
                                  "with 'from'");
        }
        /* Both strings stay anchored at slots 5 and 6 until copied. */
    }
    if ((other = find_gateway(pl->host, channel, name)) != NULL)
        return luaL_error(L, "relais.gateway: plugin %s already provides the %s gateway '%s'",
                          other->pl->name, channel, name);
    lua_pushvalue(L, 3);
    ref = luaL_ref(L, LUA_REGISTRYINDEX);
    g = calloc(1, sizeof *g);
    grown = g ? realloc(pl->gateways, (pl->ngateways + 1) * sizeof *grown) : NULL;
    if (grown)
        pl->gateways = grown;
    if (g) {
        g->name = strdup(name);
        g->from = from ? strdup(from) : NULL;
        g->from_name = from_name ? strdup(from_name) : NULL;
    }
    if (!g || !grown || !g->name || (from && !g->from) || (from_name && !g->from_name)) {
        if (g) {
            free(g->name);
            free(g->from);
            free(g->from_name);
        }
        free(g);
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return luaL_error(L, "relais.gateway: out of memory");
    }
    g->pl = pl;
    g->channel = channel;
    g->ref = ref;
    pl->gateways[pl->ngateways++] = g;
    lua_pushboolean(L, strcmp(provider_of(pl->host, channel), name) == 0);
    return 1;
}

/* relais.composer(channel, compose). */
int pgw_l_composer(lua_State *L)
{
    struct plugin *pl = plugin_of(L);
    struct plugins *p = pl->host;
    const char *channel = check_channel(L, 1, "relais.composer");
    struct pcomposer *c, **grown, *other;
    int ref;

    luaL_checktype(L, 2, LUA_TFUNCTION);
    papi_loading(L, "relais.composer");
    if ((other = composer_of(p, channel)) != NULL)
        return luaL_error(L, "relais.composer: plugin %s already writes %s", other->pl->name,
                          channel);
    for (size_t i = 0; i < p->n; i++)
        for (size_t j = 0; !p->list[i]->dead && j < p->list[i]->nchannels; j++)
            if (strcmp(p->list[i]->channels[j]->name, channel) == 0)
                return luaL_error(L, "relais.composer: plugin %s already sends %s",
                                  p->list[i]->name, channel);
    lua_pushvalue(L, 2);
    ref = luaL_ref(L, LUA_REGISTRYINDEX);
    c = calloc(1, sizeof *c);
    grown = c ? realloc(pl->composers, (pl->ncomposers + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(c);
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return luaL_error(L, "relais.composer: out of memory");
    }
    pl->composers = grown;
    c->pl = pl;
    c->channel = channel;
    c->ref = ref;
    pl->composers[pl->ncomposers++] = c;
    return 0;
}

void pgw_unregister(struct plugin *pl)
{
    struct outbox *ob = pl->host->app->outbox;

    for (size_t i = 0; i < pl->ncomposers; i++) {
        if (pl->composers[i]->registered && ob)
            outbox_set_sender(ob, pl->composers[i]->channel, NULL, NULL);
        free(pl->composers[i]);
    }
    free(pl->composers);
    pl->composers = NULL;
    pl->ncomposers = 0;
    for (size_t i = 0; i < pl->ngateways; i++) {
        free(pl->gateways[i]->name);
        free(pl->gateways[i]->from);
        free(pl->gateways[i]->from_name);
        free(pl->gateways[i]);
    }
    free(pl->gateways);
    pl->gateways = NULL;
    pl->ngateways = 0;
}

/* --- sending: the composer, then the gateway -------------------------------------- */

static const char *text_of(const cJSON *obj, const char *key)
{
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* E.164: "+", then 7 to 15 digits, the first not 0. */
static int phone_ok(const char *s)
{
    size_t n;

    if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
        return 0;
    n = strspn(s + 1, "0123456789");
    return s[1 + n] == '\0' && n >= 7 && n <= 15;
}

static int recipient_ok(const char *channel, const char *to)
{
    if (strcmp(channel, "sms") == 0)
        return phone_ok(to);
    return to && sender_ok(to, strlen(to));
}

/* The notification's part of what the gateway gets; NULL without memory. */
static cJSON *gateway_base(const struct outbox_msg *m, const char *to)
{
    cJSON *g = cJSON_CreateObject();
    const char *kind = text_of(m->data, "kind"), *key = text_of(m->data, "idem_key");

    if (!g || !cJSON_AddNumberToObject(g, "id", (double)m->id) ||
        !cJSON_AddStringToObject(g, "kind", kind ? kind : "") ||
        !cJSON_AddStringToObject(g, "to", to) ||
        !cJSON_AddStringToObject(g, "idempotency_key", key ? key : "")) {
        cJSON_Delete(g);
        return NULL;
    }
    return g;
}

/* The outbox's sender of a composed channel. */
static int composer_send(void *arg, const struct outbox_msg *m, outbox_done_fn done,
                         void *token)
{
    struct pcomposer *c = arg;
    const struct pgateway *g = selected(c->pl->host, c->channel);
    const char *to = text_of(m->data, "to");
    struct task *t;
    cJSON *base;

    if (c->pl->dead || !c->pl->loaded || !g || g->pl->dead || !g->pl->loaded)
        return -1;
    if (!recipient_ok(c->channel, to)) {
        struct outbox_result r = {OUTBOX_FAILED, NULL, 0,
                                  strcmp(c->channel, "sms") == 0 ? "no valid phone number"
                                  : "no valid email address"};
        done(token, &r);
        return 0;
    }
    base = gateway_base(m, to);
    t = base ? task_new(c->pl, TASK_COMPOSE, c->ref) : NULL;
    if (!t) {
        cJSON_Delete(base);
        return -1;
    }
    t->msg = m;
    t->done = done;
    t->token = token;
    t->gmsg = base;
    t->channel = c->channel;
    return task_start(t) < 0 ? -1 : 0;
}

void pgw_push_compose_args(lua_State *L, struct task *t)
{
    const struct pgateway *g = selected(t->pl->host, t->channel);

    if (t->msg->data)
        pcodec_push_json(L, t->msg->data, 0);
    else
        lua_newtable(L);
    lua_pushinteger(L, t->msg->id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, t->channel);
    lua_setfield(L, -2, "channel");
    if (g && g->from) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, g->from);
        lua_setfield(L, -2, "address");
        if (g->from_name) {
            lua_pushstring(L, g->from_name);
            lua_setfield(L, -2, "name");
        }
        lua_setfield(L, -2, "from");
    }
}

static int bad_part(lua_State *L, struct task *t, const char *fmt, const char *name)
{
    static char why[128];   /* one task's reason at a time: delivered before the next */

    snprintf(why, sizeof why, fmt, name);
    return papi_bad_result(L, t, why);
}

/* S is acceptable as the part P of T's channel. */
static int part_ok(const struct part *p, const char *s, size_t len)
{
    if (len > p->max || strlen(s) != len || (p->required && len == 0))
        return 0;
    if (strcmp(p->name, "ics_method") == 0)
        return strcmp(s, "REQUEST") == 0 || strcmp(s, "CANCEL") == 0;
    if (strcmp(p->name, "subject") == 0 || strcmp(p->name, "message_id") == 0)
        return line_ok(s, len, p->max) && (p->name[0] == 's' || !strchr(s, ' '));
    return 1;
}

int pgw_collect_compose(lua_State *L, struct task *t)
{
    int res = lua_gettop(L), sms = strcmp(t->channel, "sms") == 0;
    const struct part *parts = sms ? sms_parts : email_parts;
    size_t nparts = sms ? sizeof sms_parts / sizeof *parts : sizeof email_parts / sizeof *parts;
    const char *text = NULL;

    if (!lua_istable(L, res))
        return papi_bad_result(L, t, "the composer returned no table");
    lua_pushliteral(L, "status");
    if (lua_rawget(L, res) != LUA_TNIL) {
        /* Nothing for the gateway: the composer's own result, which cannot
         * say that a message it never handed over was sent. */
        lua_settop(L, res);
        papi_collect_result(L, t);
        if (t->c_res.status == OUTBOX_SENT)
            return papi_bad_result(L, t, "a composer returns its parts, or a result that "
                                   "is retry or failed");
        return 1;
    }
    lua_settop(L, res);
    lua_pushnil(L);
    while (lua_next(L, res)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        size_t i = 0;

        while (k && i < nparts && strcmp(parts[i].name, k) != 0)
            i++;
        if (!k || i == nparts)
            return bad_part(L, t, "the composer's result has a field that is not a part of "
                            "the %s gateway's message", t->channel);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < nparts; i++) {
        const char *s;
        size_t len;

        lua_pushstring(L, parts[i].name);
        if (lua_rawget(L, res) == LUA_TNIL) {
            if (parts[i].required)
                return bad_part(L, t, "the composer's result has no '%s'", parts[i].name);
            lua_pop(L, 1);
            continue;
        }
        if (lua_type(L, -1) != LUA_TSTRING)
            return bad_part(L, t, "the composer's '%s' is not text", parts[i].name);
        s = lua_tolstring(L, -1, &len);
        if (!part_ok(&parts[i], s, len))
            return bad_part(L, t, "the composer's '%s' is empty, too long or malformed",
                            parts[i].name);
        if (!cJSON_AddStringToObject(t->gmsg, parts[i].name, s))
            return papi_bad_result(L, t, "out of memory");
        if (sms)
            text = text_of(t->gmsg, "text");
        lua_pop(L, 1);
    }
    if (sms) {
        struct gsm_text g = {0};
        int ok = gsm_prepare(text, &g) == 0 &&
                 cJSON_AddNumberToObject(t->gmsg, "segments", g.segments) != NULL;

        gsm_text_free(&g);
        if (!ok)
            return papi_bad_result(L, t, "out of memory");
    }
    t->composed = 1;
    lua_settop(L, res - 1);
    return 0;
}

/* Appends N bytes of S to the growing string *OUT (length *LEN, room
 * *CAP). -1 without memory. */
static int put(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*cap - *len <= n) {
        size_t c = *cap ? *cap : 64;
        char *p;

        while (c - *len <= n)
            c *= 2;
        if (!(p = realloc(*out, c)))
            return -1;
        *out = p;
        *cap = c;
    }
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
    return 0;
}

char *pgw_mask(const char *s, const char *to, int sms)
{
    const char *label = sms ? "[number]" : "[address]";
    size_t tlen = to ? strlen(to) : 0, len = 0, cap = 0;
    char *out = NULL;
    int rc = put(&out, &len, &cap, "", 0);

    while (rc == 0 && *s) {
        const char *run = *s == '+' ? s + 1 : s;

        if (tlen && strncasecmp(s, to, tlen) == 0) {
            rc = put(&out, &len, &cap, label, strlen(label));
            s += tlen;
        } else if (sms && tlen > 1 && strncmp(s, to + 1, tlen - 1) == 0) {
            rc = put(&out, &len, &cap, label, strlen(label));
            s += tlen - 1;
        } else if (*run >= '0' && *run <= '9') {
            const char *end = run, *last = run;
            size_t digits = 0;

            for (; (*end >= '0' && *end <= '9') || (*end && strchr(" .-", *end)); end++)
                if (*end >= '0' && *end <= '9') {
                    digits++;
                    last = end;
                }
            if (digits >= MIN_DIGITS)
                rc = put(&out, &len, &cap, "[number]", 8);
            else
                rc = put(&out, &len, &cap, s, (size_t)(last + 1 - s));
            s = last + 1;
        } else {
            char c = (unsigned char)*s < ' ' || *s == 0x7f ? ' ' : *s;

            rc = put(&out, &len, &cap, &c, 1);
            s++;
        }
    }
    if (rc != 0) {
        free(out);
        return NULL;
    }
    return out;
}

static void free_text(void *p)
{
    free(p);
}

int pgw_collect_gateway(lua_State *L, struct task *t)
{
    struct outbox_result *r = &t->c_res;
    int sms = strcmp(t->channel, "sms") == 0, anchor;
    const cJSON *seg;

    papi_collect_result(L, t);
    anchor = lua_gettop(L);
    if (r->error) {
        void **box = pcodec_box(L, free_text);
        char *masked = pgw_mask(r->error, text_of(t->gmsg, "to"), sms);
        size_t len;

        if (!masked)
            return papi_bad_result(L, t, "out of memory");
        *box = masked;
        len = strlen(masked) > MAX_REASON ? MAX_REASON : strlen(masked);
        while (len > 0 && len < strlen(masked) && ((unsigned char)masked[len] & 0xC0) == 0x80)
            len--;
        lua_pushlstring(L, masked, len);
        pcodec_unbox(box);
        lua_rawseti(L, anchor, 4);
        lua_rawgeti(L, anchor, 4);
        r->error = lua_tostring(L, -1);
    }
    seg = cJSON_GetObjectItemCaseSensitive(t->gmsg, "segments");
    if (sms && r->status == OUTBOX_SENT && r->segments == 0 && cJSON_IsNumber(seg))
        r->segments = seg->valueint;
    lua_settop(L, anchor);
    return 1;
}

const char *pgw_recipient(const struct task *t)
{
    if (t->kind != TASK_COMPOSE && t->kind != TASK_GATEWAY)
        return NULL;
    return text_of(t->gmsg, "to");
}

void pgw_deliver_compose(struct task *t, const char *err)
{
    outbox_done_fn done = t->done;
    struct outbox_result r = {OUTBOX_RETRY, NULL, 0, err};
    const struct pgateway *g;
    struct task *gt;

    if (!done)
        return;
    t->done = NULL;
    if (err || !t->composed) {
        done(t->token, err ? &r : &t->c_res);
        return;
    }
    g = selected(t->pl->host, t->channel);
    if (!g || g->pl->dead || !g->pl->loaded) {
        r.error = "the channel's gateway is not loaded";
        done(t->token, &r);
        return;
    }
    gt = task_new(g->pl, TASK_GATEWAY, g->ref);
    if (!gt) {
        r.error = "out of memory";
        done(t->token, &r);
        return;
    }
    gt->gmsg = t->gmsg;
    t->gmsg = NULL;
    gt->channel = t->channel;
    gt->done = done;
    gt->token = t->token;
    /* It answers through DONE, now or later; or could not start at all. */
    if (task_start(gt) < 0) {
        r.error = "the gateway could not start";
        done(t->token, &r);
    }
}

/* --- after loading ------------------------------------------------------------------ */

/* 1 when CHANNEL's table holds settings beside `provider` that went to
 * another plugin than G's (G provides the gateway under another name than
 * its plugin's): said in MSG, rather than leave them silently unused. */
static int settings_elsewhere(const struct plugins *p, const char *channel,
                              const struct pgateway *g, char *msg, size_t n)
{
    const struct config *cfg = p->app->cfg;
    const cJSON *it, *tbl = strcmp(channel, "sms") == 0 ? cfg->sms : cfg->email;
    char target[2 * CONFIG_PLUGIN_NAME_MAX + 2], key[CONFIG_PLUGIN_NAME_MAX + 1];

    config_gateway_plugin(cfg, channel, target, sizeof target);
    if (strcmp(target, g->pl->name) == 0)
        return 0;
    cJSON_ArrayForEach(it, tbl)
        if (it->string && strcmp(it->string, "provider") != 0) {
            config_plugin_key(g->pl->name, key, sizeof key);
            snprintf(msg, n, "%s.%s: the gateway '%s' is plugin %s's, which takes its settings "
                     "from its own table '%s'", channel, it->string, g->name, g->pl->name, key);
            return 1;
        }
    return 0;
}

int pgw_settle(struct plugins *p)
{
    static const char *const channels[] = {"sms", "email"};
    struct outbox *ob = p->app->outbox;
    int rc = 0;

    for (size_t i = 0; i < 2; i++) {
        const char *c = channels[i], *provider = provider_of(p, c);
        struct pcomposer *comp;
        char name[2 * CONFIG_PLUGIN_NAME_MAX + 2], msg[256];

        if (!composer_of(p, c))
            continue;
        snprintf(name, sizeof name, "%s-%s", c, provider);
        if (!find_gateway(p, c, provider) && !plugin_find(p, name) && !plugin_add(p, name))
            return -1;
        /* Loading may have failed the composer's plugin? No: it only adds. */
        comp = composer_of(p, c);
        if (!comp)
            continue;
        if (!find_gateway(p, c, provider)) {
            snprintf(msg, sizeof msg, "%s.provider: no gateway named '%s'", c, provider);
            log_error("plugins", "%s (no plugin registered it with relais.gateway, and plugin "
                      "%s is missing or did not load); %s notifications wait", msg, name, c);
            plugins_fatal(p, msg);
            rc = -1;
            continue;
        }
        if (settings_elsewhere(p, c, find_gateway(p, c, provider), msg, sizeof msg)) {
            log_error("plugins", "%s", msg);
            plugins_fatal(p, msg);
            rc = -1;
            continue;
        }
        if (!ob)
            continue;
        if (outbox_set_sender(ob, c, composer_send, comp) != 0) {
            log_error("plugins", "%s: cannot hand the channel to the outbox", c);
            rc = -1;
            continue;
        }
        comp->registered = 1;
    }
    return rc;
}
