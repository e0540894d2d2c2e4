/* net — outgoing HTTP(S) and SMTP through libcurl's multi interface, driven
 * by the libevent loop (the hiperfifo pattern), so no transfer ever blocks
 * the server.
 *
 * Rules:
 * - One struct net per event_base. Every transfer is hardened: a total
 *   time-out, no signals, only http/https/smtp/smtps protocols (redirects:
 *   http/https only, at most 3), a cap on the answer's size.
 * - The completion callback is never called from inside libcurl: results are
 *   handed over from a zero-delay event, so a callback may start new
 *   transfers or free anything it likes.
 * - Connections are reused per host (libcurl's pool); at most
 *   NET_MAX_PER_HOST at once to one host.
 *
 * Known limit: libcurl (through 8.x) runs the SMTP "done" phase — waiting
 * for the server's answer to the end of the message — in a blocking poll
 * (curl issue #8555), bounded by the transfer's time-out. A server that
 * answers at once costs a round trip; the email plugin must therefore use a
 * local relay or keep timeout_ms short, or send from a worker (issue 3).
 *
 * Ownership: strings in a net_http/net_smtp request are copied; the result
 * passed to the callback (and its body) is valid only during the callback.
 */
#ifndef RELAIS_NET_H
#define RELAIS_NET_H

#include <stddef.h>

struct event_base;
struct net;
struct net_job;

#define NET_MAX_PER_HOST 16
#define NET_MAX_BODY (4u << 20)

struct net_header { const char *name, *value; };

struct net_http {
    const char *method;              /* "GET", "POST"… */
    const char *url;
    const struct net_header *headers; size_t nheaders;
    const char *body; size_t body_len;
    const char *user, *password;     /* HTTP Basic when user is set */
    long timeout_ms;                 /* 0: 10 s */
};

struct net_smtp {
    const char *url;                 /* smtp://host:port (STARTTLS when
                                        require_tls) or smtps:// */
    const char *user, *password;     /* AUTH when user is set */
    int require_tls;                 /* STARTTLS required */
    const char *mail_from;           /* envelope sender address */
    const char *const *rcpt; size_t nrcpt;
    const char *message; size_t message_len;  /* RFC 5322, CRLF lines */
    long timeout_ms;                 /* 0: 30 s */
};

struct net_result {
    int ok;                /* 1 when the transfer completed at the protocol
                              level (any HTTP status, SMTP 250) */
    long status;           /* HTTP status or last SMTP reply code */
    const char *body;      /* HTTP answer body (NUL-terminated), or "" */
    size_t body_len;
    const char *error;     /* libcurl's message when !ok */
    int timed_out;         /* 1 when !ok because of the time-out */
    double seconds;        /* total time */
};

typedef void (*net_done_fn)(const struct net_result *res, void *arg);

/* 0 or -1 (logged). */
int net_new(struct event_base *base, struct net **out);
/* Cancels every transfer (no callback is called) and frees. NULL is fine.
 * Call before event_base_free. */
void net_free(struct net *n);

/* Starts a transfer; DONE(ARG) is called exactly once, later, unless the job
 * is cancelled. *JOB (may be NULL) lets the caller cancel. 0 or -1. */
int net_http_start(struct net *n, const struct net_http *rq, net_done_fn done,
                   void *arg, struct net_job **job);
int net_smtp_start(struct net *n, const struct net_smtp *rq, net_done_fn done,
                   void *arg, struct net_job **job);
/* Stops a transfer still running; its callback will not be called. */
void net_cancel(struct net_job *job);
/* Transfers under way. */
int net_active(const struct net *n);

#endif
