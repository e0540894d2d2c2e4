/* libcurl multi on libevent (see net.h). The shape follows curl's
 * hiperfifo example, with its known pitfalls avoided: the timer callback only
 * arms an event, handles are removed in the info_read loop and never inside a
 * libcurl callback, and results reach users from a zero-delay event. */
#include "net.h"
#include "log.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

struct sockinfo {
    struct net *n;
    curl_socket_t fd;
    struct event *ev;
    struct sockinfo *prev, *next;
};

struct net_job {
    struct net *n;
    CURL *easy;
    net_done_fn done;
    void *arg;
    struct curl_slist *headers;
    struct curl_slist *rcpt;
    char *message;          /* SMTP upload */
    size_t message_len, message_off;
    char *resp;
    size_t resp_len, resp_cap;
    int too_big;
    int in_multi;
    CURLcode code;
    long status;
    double seconds;
    struct event *done_ev;
    char errbuf[CURL_ERROR_SIZE];
    struct net_job *prev, *next;
};

struct net {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct net_job *jobs;
    struct sockinfo *socks;
    int active;
};

static void check_info(struct net *n);

static void job_unlink(struct net_job *j)
{
    struct net *n = j->n;

    if (j->prev)
        j->prev->next = j->next;
    else
        n->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
}

static void job_free(struct net_job *j)
{
    if (!j)
        return;
    if (j->in_multi) {
        curl_multi_remove_handle(j->n->multi, j->easy);
        j->in_multi = 0;
        j->n->active--;
    }
    if (j->easy)
        curl_easy_cleanup(j->easy);
    if (j->done_ev)
        event_free(j->done_ev);
    curl_slist_free_all(j->headers);
    curl_slist_free_all(j->rcpt);
    free(j->message);
    free(j->resp);
    free(j);
}

static void on_socket_event(evutil_socket_t fd, short kind, void *arg)
{
    struct net *n = arg;
    int action = 0, running = 0;

    if (kind & EV_READ)
        action |= CURL_CSELECT_IN;
    if (kind & EV_WRITE)
        action |= CURL_CSELECT_OUT;
    curl_multi_socket_action(n->multi, fd, action, &running);
    check_info(n);
}

static void on_timer(evutil_socket_t fd, short kind, void *arg)
{
    struct net *n = arg;
    int running = 0;

    (void)fd;
    (void)kind;
    curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_info(n);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms; calling libcurl from here recurses. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct net *n = userp;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(n->timer);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(n->timer, &tv) == 0 ? 0 : -1;
}

static void sock_free(struct net *n, struct sockinfo *si)
{
    if (si->prev)
        si->prev->next = si->next;
    else
        n->socks = si->next;
    if (si->next)
        si->next->prev = si->prev;
    if (si->ev)
        event_free(si->ev);
    free(si);
}

/* CURLMOPT_SOCKETFUNCTION: keeps one persistent event per socket. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct net *n = userp;
    struct sockinfo *si = socketp;
    short kind;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (si) {
            curl_multi_assign(n->multi, fd, NULL);
            sock_free(n, si);
        }
        return 0;
    }
    kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                   ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (!si) {
        si = calloc(1, sizeof *si);
        if (!si)
            return -1;
        si->n = n;
        si->next = n->socks;
        if (n->socks)
            n->socks->prev = si;
        n->socks = si;
        curl_multi_assign(n->multi, fd, si);
    }
    if (si->ev) {
        event_del(si->ev);
        event_free(si->ev);
    }
    si->fd = fd;
    si->ev = event_new(n->base, fd, kind, on_socket_event, n);
    if (!si->ev || event_add(si->ev, NULL) != 0)
        return -1;
    return 0;
}

static void on_done(evutil_socket_t fd, short kind, void *arg)
{
    struct net_job *j = arg;
    struct net_result res;

    (void)fd;
    (void)kind;
    memset(&res, 0, sizeof res);
    res.ok = j->code == CURLE_OK;
    res.status = j->status;
    res.body = j->resp ? j->resp : "";
    res.body_len = j->resp_len;
    res.seconds = j->seconds;
    res.timed_out = j->code == CURLE_OPERATION_TIMEDOUT;
    if (!res.ok)
        res.error = j->too_big ? "answer too large"
                    : j->errbuf[0] ? j->errbuf : curl_easy_strerror(j->code);
    job_unlink(j);
    j->done(&res, j->arg);
    job_free(j);
}

/* Drains finished transfers; a handle is removed here, never in a callback. */
static void check_info(struct net *n)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(n->multi, &left))) {
        struct net_job *j = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        if (!j)
            continue;
        j->code = msg->data.result;
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
        curl_easy_getinfo(j->easy, CURLINFO_TOTAL_TIME, &j->seconds);
        curl_multi_remove_handle(n->multi, j->easy);
        j->in_multi = 0;
        n->active--;
        event_active(j->done_ev, EV_TIMEOUT, 1);
    }
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct net_job *j = arg;
    size_t len = size * nmemb;

    if (j->resp_len + len > NET_MAX_BODY) {
        j->too_big = 1;
        return 0;
    }
    if (j->resp_len + len + 1 > j->resp_cap) {
        size_t cap = j->resp_cap ? j->resp_cap : 1024;
        char *p;

        while (cap < j->resp_len + len + 1)
            cap *= 2;
        p = realloc(j->resp, cap);
        if (!p)
            return 0;
        j->resp = p;
        j->resp_cap = cap;
    }
    memcpy(j->resp + j->resp_len, data, len);
    j->resp_len += len;
    j->resp[j->resp_len] = '\0';
    return len;
}

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
    struct net_job *j = arg;
    size_t room = size * nmemb, left = j->message_len - j->message_off;
    size_t n = left < room ? left : room;

    memcpy(buf, j->message + j->message_off, n);
    j->message_off += n;
    return n;
}

/* Refuses header text that could smuggle another header. */
static int header_ok(const char *s)
{
    return s && !strpbrk(s, "\r\n");
}

static struct net_job *job_new(struct net *n, net_done_fn done, void *arg, long timeout_ms)
{
    struct net_job *j = calloc(1, sizeof *j);

    if (!j)
        return NULL;
    j->n = n;
    j->done = done;
    j->arg = arg;
    j->easy = curl_easy_init();
    j->done_ev = event_new(n->base, -1, 0, on_done, j);
    if (!j->easy || !j->done_ev)
        goto fail;
    if (curl_easy_setopt(j->easy, CURLOPT_PRIVATE, (char *)j) != CURLE_OK ||
        curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->errbuf) != CURLE_OK ||
        curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS,
                         timeout_ms < 5000 ? timeout_ms : 5000L) != CURLE_OK ||
        curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
        curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j) != CURLE_OK)
        goto fail;
    return j;
fail:
    job_free(j);
    return NULL;
}

static int job_start(struct net *n, struct net_job *j, struct net_job **out)
{
    if (curl_multi_add_handle(n->multi, j->easy) != CURLM_OK)
        return -1;
    j->in_multi = 1;
    n->active++;
    j->next = n->jobs;
    if (n->jobs)
        n->jobs->prev = j;
    n->jobs = j;
    if (out)
        *out = j;
    return 0;
}

int net_http_start(struct net *n, const struct net_http *rq, net_done_fn done,
                   void *arg, struct net_job **out)
{
    struct net_job *j = NULL;
    char line[1024];
    size_t i;
    CURL *e;

    if (!rq->url || !rq->method || !done)
        return -1;
    j = job_new(n, done, arg, rq->timeout_ms > 0 ? rq->timeout_ms : 10000L);
    if (!j)
        return -1;
    e = j->easy;
    for (i = 0; i < rq->nheaders; i++) {
        struct curl_slist *h;

        if (!header_ok(rq->headers[i].name) || !header_ok(rq->headers[i].value) ||
            snprintf(line, sizeof line, "%s: %s", rq->headers[i].name,
                     rq->headers[i].value) >= (int)sizeof line)
            goto fail;
        h = curl_slist_append(j->headers, line);
        if (!h)
            goto fail;
        j->headers = h;
    }
    /* No "Expect: 100-continue" round trip on larger bodies. */
    {
        struct curl_slist *h = curl_slist_append(j->headers, "Expect:");
        if (!h)
            goto fail;
        j->headers = h;
    }
    if (curl_easy_setopt(e, CURLOPT_URL, rq->url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers) != CURLE_OK)
        goto fail;
    if (rq->user && (curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK ||
                     curl_easy_setopt(e, CURLOPT_USERNAME, rq->user) != CURLE_OK ||
                     curl_easy_setopt(e, CURLOPT_PASSWORD,
                                      rq->password ? rq->password : "") != CURLE_OK))
        goto fail;
    if (rq->body) {
        if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, rq->body) != CURLE_OK)
            goto fail;
    }
    if (strcmp(rq->method, "HEAD") == 0) {
        if (curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != CURLE_OK)
            goto fail;
    } else if (!(strcmp(rq->method, "GET") == 0 && !rq->body) &&
               !(strcmp(rq->method, "POST") == 0 && rq->body)) {
        if (curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method) != CURLE_OK)
            goto fail;
    }
    if (job_start(n, j, out) != 0)
        goto fail;
    return 0;
fail:
    job_free(j);
    return -1;
}

int net_smtp_start(struct net *n, const struct net_smtp *rq, net_done_fn done,
                   void *arg, struct net_job **out)
{
    struct net_job *j = NULL;
    char addr[512];
    size_t i;
    CURL *e;

    if (!rq->url || !rq->mail_from || !rq->message || rq->nrcpt == 0 || !done)
        return -1;
    j = job_new(n, done, arg, rq->timeout_ms > 0 ? rq->timeout_ms : 30000L);
    if (!j)
        return -1;
    e = j->easy;
    for (i = 0; i < rq->nrcpt; i++) {
        struct curl_slist *r;

        if (!header_ok(rq->rcpt[i]) ||
            snprintf(addr, sizeof addr, "<%s>", rq->rcpt[i]) >= (int)sizeof addr)
            goto fail;
        r = curl_slist_append(j->rcpt, addr);
        if (!r)
            goto fail;
        j->rcpt = r;
    }
    if (!header_ok(rq->mail_from) ||
        snprintf(addr, sizeof addr, "<%s>", rq->mail_from) >= (int)sizeof addr)
        goto fail;
    j->message = malloc(rq->message_len ? rq->message_len : 1);
    if (!j->message)
        goto fail;
    memcpy(j->message, rq->message, rq->message_len);
    j->message_len = rq->message_len;
    if (curl_easy_setopt(e, CURLOPT_URL, rq->url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, addr) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpt) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_READDATA, j) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->message_len) != CURLE_OK)
        goto fail;
    if (rq->require_tls &&
        curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) != CURLE_OK)
        goto fail;
    if (rq->user && (curl_easy_setopt(e, CURLOPT_USERNAME, rq->user) != CURLE_OK ||
                     curl_easy_setopt(e, CURLOPT_PASSWORD,
                                      rq->password ? rq->password : "") != CURLE_OK))
        goto fail;
    if (job_start(n, j, out) != 0)
        goto fail;
    return 0;
fail:
    job_free(j);
    return -1;
}

void net_cancel(struct net_job *j)
{
    if (!j)
        return;
    job_unlink(j);
    job_free(j);
}

int net_active(const struct net *n)
{
    return n->active;
}

int net_new(struct event_base *base, struct net **out)
{
    static int global_done;
    struct net *n;

    *out = NULL;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            log_error("net", "curl_global_init failed");
            return -1;
        }
        global_done = 1;
    }
    n = calloc(1, sizeof *n);
    if (!n)
        return -1;
    n->base = base;
    n->multi = curl_multi_init();
    n->timer = evtimer_new(base, on_timer, n);
    if (!n->multi || !n->timer)
        goto fail;
    if (curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) != CURLM_OK ||
        curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n) != CURLM_OK ||
        curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
        curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n) != CURLM_OK ||
        curl_multi_setopt(n->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)NET_MAX_PER_HOST) != CURLM_OK ||
        /* The pool's default size follows the transfers under way (4 per
         * transfer): between two bursts it shrinks and closes the
         * connections a gateway will want again. A fixed size keeps them. */
        curl_multi_setopt(n->multi, CURLMOPT_MAXCONNECTS, (long)NET_MAX_PER_HOST * 4) != CURLM_OK)
        goto fail;
    *out = n;
    return 0;
fail:
    log_error("net", "cannot set up libcurl multi");
    net_free(n);
    return -1;
}

void net_free(struct net *n)
{
    if (!n)
        return;
    while (n->jobs)
        net_cancel(n->jobs);
    /* The multi handle may still call socket_cb for pooled connections while
     * it closes them, so it goes before the events it refers to. */
    if (n->multi)
        curl_multi_cleanup(n->multi);
    while (n->socks)
        sock_free(n, n->socks);
    if (n->timer)
        event_free(n->timer);
    free(n);
}
