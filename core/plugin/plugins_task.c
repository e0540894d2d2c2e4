/* plugins_task — entries into a plugin (see plugins_internal.h).
 *
 * Every entry is a task: a coroutine of the plugin's state, pinned in the
 * registry, whose body (task_body, C) pushes the arguments and calls the
 * plugin's function with a continuation, so that the function may yield in
 * relais.http.request and be resumed from net's completion event. The
 * coroutine's extra space points back at its task; the meter its plugin's
 * sandbox charges (sandbox_enter) is the innermost task's, which the count
 * hook charges and the allocator dooms when memory runs out. A task ends once: its outcome is
 * delivered (reply, channel result) exactly once, by task_run when it ends
 * or by task_drop when it is abandoned, never both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "plugins_internal.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "reader.h"

#if LUA_VERSION_RELEASE_NUM >= 50406
#define close_thread(co) lua_closethread(co, NULL)
#else
#define close_thread(co) lua_resetthread(co)
#endif

#define MAX_NAME 48

static int task_body_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    return papi_collect(L, *(struct task **)lua_getextraspace(L));
}

/* The body of every task's coroutine. */
static int task_body(lua_State *L)
{
    struct task *t = *(struct task **)lua_getextraspace(L);
    struct plugin *pl = t->pl;
    int nargs = 0;

    if (t->kind == TASK_LOAD) {
        char *path = NULL, *buf = NULL, chunk[MAX_NAME + 16];
        const char *why = NULL;
        size_t len = 0;
        int rc, st;

        if (asprintf(&path, "%s/plugin.lua", pl->dir) < 0)
            return luaL_error(L, "out of memory");
        rc = plugin_read_file(path, &buf, &len, &why);
        free(path);
        if (rc != 0)
            return luaL_error(L, "cannot read plugin.lua: %s", why);
        snprintf(chunk, sizeof chunk, "@%s/plugin.lua", pl->name);
        st = sandbox_load(L, buf, len, chunk);
        free(buf);
        if (st != LUA_OK)
            return lua_error(L);
    } else {
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->fn_ref);
        nargs = papi_push_args(L, t);
    }
    /* The inputs were valid during this first slice only. */
    t->payload = NULL;
    t->msg = NULL;
    lua_callk(L, nargs, 1, 0, task_body_k);
    return task_body_k(L, LUA_OK, 0);
}

static int make_thread(lua_State *L)
{
    struct task *t = lua_touserdata(L, 1);
    lua_State *co = lua_newthread(L);

    sandbox_mark_thread(co, t);
    t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    t->co = co;
    return 0;
}

struct task *task_new(struct plugin *pl, enum task_kind kind, int fn_ref)
{
    struct task *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->pl = pl;
    t->kind = kind;
    t->fn_ref = fn_ref;
    t->ref = LUA_NOREF;
    return t;
}

static void task_unlink(struct task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        t->pl->tasks = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

/* Releases T's coroutine and T. CLOSE runs the coroutine's pending
 * to-be-closed variables (not when the whole state is about to close). */
static void task_free(struct task *t, int close)
{
    struct plugin *pl = t->pl;

    if (t->rjob) {
        reader_cancel(t->rjob);
        t->rjob = NULL;
    }
    pread_end(t);
    task_unlink(t);
    if (pl->L && t->co) {
        if (close)
            close_thread(t->co);
        sandbox_unmark_thread(t->co);
        luaL_unref(pl->L, LUA_REGISTRYINDEX, t->ref);
    }
    cJSON_Delete(t->gmsg);
    free(t);
}

/* Where in the plugin's code CO stopped: "sms/plugin.lua:42", or "". */
static void error_location(lua_State *co, char *buf, size_t n)
{
    lua_Debug ar;

    buf[0] = '\0';
    for (int level = 0; lua_getstack(co, level, &ar); level++) {
        if (lua_getinfo(co, "Sl", &ar) && ar.currentline > 0) {
            snprintf(buf, n, "%s:%d", ar.short_src, ar.currentline);
            return;
        }
    }
}

struct traceback {
    lua_State *co;
    const char *msg;
    char *out;
};

static int build_traceback(lua_State *L)
{
    struct traceback *tb = lua_touserdata(L, 1);
    const char *s;
    char *o;

    luaL_traceback(L, tb->co, tb->msg, 0);
    s = lua_tostring(L, -1);
    tb->out = o = malloc(strlen(s) * 2 + 1);
    if (!o)
        return 0;
    /* One log line: the frames follow each other after " | ". */
    for (; *s; s++) {
        if (*s == '\n') {
            memcpy(o, " | ", 3);
            o += 3;
        } else if (*s != '\t') {
            *o++ = *s;
        }
    }
    *o = '\0';
    return 0;
}

/* Logs and counts T's failure (status ST of lua_resume) and writes into ERR
 * the reason a caller may store: fixed words and the place in the code,
 * never the error message, which may quote personal data. */
static void report_failure(struct task *t, int st, char *err, size_t n)
{
    static const char *const kinds[] = {"loading", "hook", "route", "channel", "composer",
                                        "gateway"};
    struct plugin *pl = t->pl;
    struct traceback tb = {t->co, NULL, NULL};
    char where[160], line[256], *masked = NULL;
    const char *what, *text;

    error_location(t->co, where, sizeof where);
    if (st == LUA_YIELD)
        tb.msg = "coroutine.yield outside a coroutine";
    else if (lua_type(t->co, -1) == LUA_TSTRING)
        tb.msg = lua_tostring(t->co, -1);
    else
        tb.msg = st == LUA_ERRMEM ? "not enough memory" : "error object is not a string";
    if (plugin_main_call(pl, build_traceback, &tb, NULL, 0) != 0)
        tb.out = NULL;
    text = tb.out ? tb.out : tb.msg;
    if (pgw_recipient(t)) {
        /* A gateway's error may quote the number or address it was given
         * (plugins are told not to; a third party's may). */
        masked = pgw_mask(text, pgw_recipient(t), t->channel && strcmp(t->channel, "sms") == 0);
        text = masked ? masked : "(message withheld: not enough memory to mask it)";
    }
    snprintf(line, sizeof line, "%s failed: ", kinds[t->kind]);
    log_error(pl->module, "%s%s", line, text);
    metrics_count("plugin_errors_total", "plugin", pl->name, 1);
    free(masked);
    free(tb.out);
    if (t->bad) {
        snprintf(err, n, "plugin error: %s", t->bad);
        return;
    }
    what = t->meter.tripped == SANDBOX_BUDGET ? ": instruction budget exceeded"
         : t->meter.tripped == SANDBOX_TIME ? ": CPU time budget exceeded"
         : (t->meter.tripped == SANDBOX_MEMORY || st == LUA_ERRMEM) ? ": out of memory" : "";
    snprintf(err, n, "plugin error%s%s%s", what, where[0] ? " at " : "", where);
}

/* Runs one slice of T: 1 when it waits again, 0 when it ended (T freed). */
static int task_run(struct task *t)
{
    struct plugin *pl = t->pl;
    struct task *outer_task = task_running(pl->L);
    struct sandbox_meter *outer;
    enum task_kind kind = t->kind;
    char err[256];
    int nres = 0, st, oom;

    /* A call resumed after a read on a reader goes on counting (the
     * operations of the read are charged to it); after a network wait it
     * starts a new count. */
    outer = t->rres ? sandbox_resume(&pl->sb, &t->meter, t->co)
                    : sandbox_enter(&pl->sb, &t->meter, t->co);
    st = lua_resume(t->co, outer_task ? outer_task->co : NULL, 0, &nres);
    if (st == LUA_YIELD && t->waiting) {
        lua_pop(t->co, nres);
        sandbox_leave(&pl->sb, outer);
        return 1;
    }
    if (st == LUA_OK) {
        papi_deliver(t, NULL);
    } else {
        report_failure(t, st, err, sizeof err);
        papi_deliver(t, err);
    }
    /* Some allocations (luaL_Buffer's) never trigger Lua's emergency
     * collection: free the garbage of an entry stopped by a limit (a
     * memory bomb, or an allocating loop stopped by its budget) now, not
     * at the next cycle. */
    oom = t->meter.tripped != SANDBOX_OK || st == LUA_ERRMEM;
    task_free(t, 1);
    sandbox_leave(&pl->sb, outer);
    if (oom)
        lua_gc(pl->L, LUA_GCCOLLECT);
    if (kind == TASK_LOAD)
        plugin_load_finished(pl, st == LUA_OK);
    return 0;
}

int task_start(struct task *t)
{
    struct plugin *pl = t->pl;
    char err[128];

    if (pl->dead || !pl->L || plugin_main_call(pl, make_thread, t, err, sizeof err) != 0) {
        if (pl->L && !pl->dead)
            plugin_error(pl, "cannot start a call: not enough memory");
        cJSON_Delete(t->gmsg);
        free(t);
        return -1;
    }
    t->next = pl->tasks;
    if (pl->tasks)
        pl->tasks->prev = t;
    pl->tasks = t;
    lua_pushcfunction(t->co, task_body);
    return task_run(t);
}

void task_net_done(const struct net_result *res, void *arg)
{
    struct task *t = arg;

    t->job = NULL;
    t->res = res;
    task_run(t);
}

void task_read_done(const struct reader_result *res, void *arg)
{
    struct task *t = arg;

    t->rjob = NULL;
    t->rres = res;
    task_run(t);
}

void task_drop(struct task *t, const char *why, int close)
{
    if (t->job) {
        net_cancel(t->job);
        t->job = NULL;
    }
    if (t->rjob) {
        reader_cancel(t->rjob);
        t->rjob = NULL;
    }
    t->waiting = 0;
    papi_deliver(t, why);
    task_free(t, close);
}

void task_abandon(struct task *t, const char *why)
{
    task_drop(t, why, 1);
}

