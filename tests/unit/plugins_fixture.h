/* What the plugin host tests share: the outbox fixture (store, event base,
 * config, outbox, people and a session), plus the app around them: a real
 * HTTP server on a free port, core/util/net.c, and a "gateway" evhttp server on
 * the same loop that plugins call. Fixture plugins live in
 * tests/unit/plugins/NAME/. Included by the test files only. */
#ifndef RELAIS_TESTS_PLUGINS_FIXTURE_H
#define RELAIS_TESTS_PLUGINS_FIXTURE_H

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "app.h"
#include "http.h"
#include "net.h"
#include "plugins.h"
#include "tokens.h"
#include "outbox_fixture.h"

#define MAX_HELD 8

struct pfx {
    struct fx *fx;
    struct app app;
    int port;                       /* the Relais server */
    struct evhttp *gw;
    int gw_port;
    int gw_hits;                    /* requests the gateway saw */
    int gw_status;                  /* what /send answers (201 by default) */
    char gw_path[128], gw_idem[128], gw_body[1024], gw_xtest[16];
    struct evhttp_request *held[MAX_HELD];   /* /slow requests, never answered */
    int nheld;
    char dir[PATH_MAX];             /* tests/unit/plugins */
};

struct resp {
    int done;
    long status;
    char body[4096];
};

/* --- the gateway --------------------------------------------------------------- */

static FX_UNUSED void gw_cb(struct evhttp_request *req, void *arg)
{
    struct pfx *t = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req), *out = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *path = evhttp_request_get_uri(req), *v;
    size_t n = evbuffer_get_length(in);

    assert_non_null(out);
    t->gw_hits++;
    snprintf(t->gw_path, sizeof t->gw_path, "%s", path);
    v = evhttp_find_header(h, "Idempotency-Key");
    snprintf(t->gw_idem, sizeof t->gw_idem, "%s", v ? v : "");
    v = evhttp_find_header(h, "X-Test");
    snprintf(t->gw_xtest, sizeof t->gw_xtest, "%s", v ? v : "");
    if (n >= sizeof t->gw_body)
        n = sizeof t->gw_body - 1;
    evbuffer_copyout(in, t->gw_body, n);
    t->gw_body[n] = '\0';
    if (strcmp(path, "/slow") == 0) {
        assert_true(t->nheld < MAX_HELD);
        t->held[t->nheld++] = req;
        evbuffer_free(out);
        return;
    }
    if (strcmp(path, "/send") == 0) {
        evbuffer_add_printf(out, "{\"id\":\"G%d\"}", t->gw_hits);
        evhttp_send_reply(req, t->gw_status, "X", out);
    } else {
        evbuffer_add_printf(out, "hello");
        evhttp_send_reply(req, 200, "OK", out);
    }
    evbuffer_free(out);
}

/* --- running the loop ------------------------------------------------------------ */

static FX_UNUSED void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(int *)arg = 1;
}

/* Turns the loop until *FLAG is set, at most MS milliseconds. */
static FX_UNUSED void pfx_run(struct pfx *t, const int *flag, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    int late = 0;
    struct event *ev = evtimer_new(t->fx->base, on_deadline, &late);

    assert_non_null(ev);
    assert_int_equal(evtimer_add(ev, &tv), 0);
    while (!*flag && !late)
        event_base_loop(t->fx->base, EVLOOP_ONCE);
    event_free(ev);
}

/* Turns the loop for MS milliseconds. */
static FX_UNUSED void pfx_spin(struct pfx *t, int ms)
{
    int never = 0;

    pfx_run(t, &never, ms);
}

static FX_UNUSED void resp_done(const struct net_result *res, void *arg)
{
    struct resp *r = arg;
    size_t n = res->body_len < sizeof r->body - 1 ? res->body_len : sizeof r->body - 1;

    r->status = res->ok ? res->status : -1;
    memcpy(r->body, res->body, n);
    r->body[n] = '\0';
    r->done = 1;
}

/* Starts METHOD PATH on the Relais server; R is filled when it answers. */
static FX_UNUSED void pfx_send(struct pfx *t, const char *method, const char *path,
                               const char *body, const char *ctype, const char *auth,
                               struct resp *r)
{
    char url[512], authz[160];
    struct net_header h[3];
    struct net_http rq = {0};
    size_t n = 0;

    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", t->port, path);
    h[n++] = (struct net_header){"X-Test", "yes"};
    if (ctype)
        h[n++] = (struct net_header){"Content-Type", ctype};
    if (auth) {
        snprintf(authz, sizeof authz, "Bearer %s", auth);
        h[n++] = (struct net_header){"Authorization", authz};
    }
    rq.method = method;
    rq.url = url;
    rq.headers = h;
    rq.nheaders = n;
    rq.body = body;
    rq.body_len = body ? strlen(body) : 0;
    rq.timeout_ms = 20000;
    assert_int_equal(net_http_start(t->app.net, &rq, resp_done, r, NULL), 0);
}

static FX_UNUSED void pfx_fetch(struct pfx *t, const char *method, const char *path,
                                const char *body, const char *ctype, const char *auth,
                                struct resp *r)
{
    pfx_send(t, method, path, body, ctype, auth, r);
    pfx_run(t, &r->done, 20000);
    assert_true(r->done);
}

/* --- metrics ------------------------------------------------------------------------ */

static FX_UNUSED uint64_t plugin_errors(const char *plugin)
{
    struct evbuffer *b = evbuffer_new();
    char key[96], *text, *at;
    uint64_t n = 0;

    assert_non_null(b);
    metrics_render(b);
    evbuffer_add(b, "", 1);
    text = (char *)evbuffer_pullup(b, -1);
    snprintf(key, sizeof key, "relais_plugin_errors_total{plugin=\"%s\"} ", plugin);
    at = strstr(text, key);
    if (at)
        n = strtoull(at + strlen(key), NULL, 10);
    evbuffer_free(b);
    return n;
}

/* --- set-up ------------------------------------------------------------------------- */

static FX_UNUSED int pfx_teardown(void **state)
{
    struct pfx *t = *state;

    if (!t)
        return 0;
    plugins_free(t->app.plugins);
    http_server_free(t->app.http);
    for (int i = 0; i < t->nheld; i++)
        evhttp_send_reply(t->held[i], 503, "Late", NULL);
    if (t->gw)
        evhttp_free(t->gw);
    net_free(t->app.net);
    *state = t->fx;
    fx_teardown(state);
    free(t);
    return 0;
}

static FX_UNUSED int pfx_setup(void **state)
{
    struct pfx *t = calloc(1, sizeof *t);
    void *fxs = NULL;
    char *err = NULL, *slash;
    struct evhttp_bound_socket *sock;
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;

    if (!t || rt_set_timezone("Europe/Paris", &err) != 0 || fx_setup(&fxs, 0) != 0) {
        free(err);
        free(t);
        return -1;
    }
    t->fx = fxs;
    *state = t;
    t->gw_status = 201;
    /* __FILE__ is relative to the build directory, where tests run. */
    snprintf(t->dir, sizeof t->dir, "%s", __FILE__);
    slash = strrchr(t->dir, '/');
    snprintf(slash ? slash + 1 : t->dir, sizeof t->dir - (size_t)(slash ? slash + 1 - t->dir : 0),
             "plugins");
    t->app.cfg = t->fx->cfg;
    t->app.store = t->fx->st;
    t->app.base = t->fx->base;
    t->app.outbox = t->fx->ob;
    if (net_new(t->app.base, &t->app.net) != 0)
        goto fail;
    t->app.http = http_server_new(t->app.base, &t->app, 1 << 20);
    if (!t->app.http || tokens_guard(t->app.http) != 0
        || http_server_listen(t->app.http, "127.0.0.1", 0, &t->port) != 0)
        goto fail;
    t->gw = evhttp_new(t->app.base);
    if (!t->gw)
        goto fail;
    evhttp_set_gencb(t->gw, gw_cb, t);
    sock = evhttp_bind_socket_with_handle(t->gw, "127.0.0.1", 0);
    if (!sock || getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sin, &len))
        goto fail;
    t->gw_port = ntohs(sin.sin_port);
    return 0;
fail:
    pfx_teardown(state);
    return -1;
}

/* Loads the plugins NAMES (NULL-terminated) from tests/unit/plugins;
 * plugins_start must return WANT (-1: the start is refused). */
static FX_UNUSED void pfx_start_status(struct pfx *t, const char *const *names, int want)
{
    struct config *cfg = t->app.cfg;
    size_t n = 0;
    char url[64];

    for (size_t i = 0; i < cfg->n_plugins; i++)
        free(cfg->plugins[i]);
    free(cfg->plugins);
    while (names[n])
        n++;
    cfg->plugins = calloc(n + 1, sizeof *cfg->plugins);
    assert_non_null(cfg->plugins);
    for (cfg->n_plugins = 0; cfg->n_plugins < n; cfg->n_plugins++) {
        cfg->plugins[cfg->n_plugins] = strdup(names[cfg->n_plugins]);
        assert_non_null(cfg->plugins[cfg->n_plugins]);
    }
    free(cfg->plugins_dir);
    cfg->plugins_dir = strdup(t->dir);
    assert_non_null(cfg->plugins_dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", t->gw_port);
    cJSON_DeleteItemFromObject(cfg->sms, "url");
    assert_non_null(cJSON_AddStringToObject(cfg->sms, "url", url));
    assert_int_equal(plugins_start(&t->app, &t->app.plugins), want);
    if (want != 0)
        assert_null(t->app.plugins);
}

static FX_UNUSED void pfx_start(struct pfx *t, const char *const *names)
{
    pfx_start_status(t, names, 0);
}

/* An event for the hooks: a JSON object from TEXT. */
static FX_UNUSED void pfx_emit(struct pfx *t, const char *event, const char *json)
{
    cJSON *payload = json ? cJSON_Parse(json) : NULL;

    assert_true(!json || payload);
    plugins_emit(t->app.plugins, event, payload);
    cJSON_Delete(payload);
}

#endif
