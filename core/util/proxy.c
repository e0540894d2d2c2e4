/* proxy — the client's address behind trusted reverse proxies (see
 * core/util/proxy.h). */
#include "proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define MAX_ADDR_INPUT 64   /* "[" IPv6 "]:" port, with room to spare */

/* ::ffff:a.b.c.d is a.b.c.d: dual-stack sockets report IPv4 peers so. */
static void unmap(struct proxy_addr *a)
{
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (a->family == 6 && memcmp(a->b, prefix, sizeof prefix) == 0) {
        memmove(a->b, a->b + 12, 4);
        memset(a->b + 4, 0, 12);
        a->family = 4;
    }
}

/* ":80": a colon and 1 to 5 digits, up to 65535. */
static int is_port(const char *s)
{
    long v = 0;
    size_t n = 0;

    if (*s++ != ':')
        return 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 5)
            return 0;
        v = v * 10 + (s[n] - '0');
    }
    return n > 0 && v <= 65535;
}

int proxy_addr_parse(const char *s, size_t len, int ports, struct proxy_addr *out)
{
    char buf[MAX_ADDR_INPUT + 1];
    char *host = buf, *end;
    size_t colons = 0;

    if (len == 0 || len > MAX_ADDR_INPUT || memchr(s, '\0', len))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(out, 0, sizeof *out);
    if (ports && buf[0] == '[') {
        end = strchr(buf, ']');
        if (!end || (end[1] && !is_port(end + 1)))
            return -1;
        *end = '\0';
        host = buf + 1;
        if (inet_pton(AF_INET6, host, out->b) != 1)
            return -1;
        out->family = 6;
        unmap(out);
        return 0;
    }
    for (const char *c = buf; *c; c++)
        colons += *c == ':';
    if (colons == 1 && ports) {         /* "192.0.2.1:80" */
        end = strchr(buf, ':');
        if (!is_port(end))
            return -1;
        *end = '\0';
    }
    if (colons <= 1) {
        if (inet_pton(AF_INET, host, out->b) != 1)
            return -1;
        out->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, out->b) != 1)
        return -1;
    out->family = 6;
    unmap(out);
    return 0;
}

void proxy_addr_text(const struct proxy_addr *a, char *out, size_t n)
{
    char buf[INET6_ADDRSTRLEN];

    if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, buf, sizeof buf))
        buf[0] = '\0';
    snprintf(out, n, "%s", buf);
}

int proxy_net_parse(const char *s, struct proxy_net *out)
{
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    int bits = 0, max, mapped;

    memset(out, 0, sizeof *out);
    if (proxy_addr_parse(s, alen, 0, &out->addr) != 0)
        return -1;
    /* "::ffff:10.0.0.0/104" names IPv4 addresses: count its bits so. */
    mapped = out->addr.family == 4 && memchr(s, ':', alen) != NULL;
    max = out->addr.family == 4 && !mapped ? 32 : 128;
    if (slash) {
        const char *d = slash + 1;
        if (!*d || strlen(d) > 3)
            return -1;
        for (; *d; d++) {
            if (*d < '0' || *d > '9')
                return -1;
            bits = bits * 10 + (*d - '0');
        }
        if (bits > max)
            return -1;
    } else {
        bits = max;
    }
    if (mapped) {
        if (bits < 96)
            return -1;
        bits -= 96;
    }
    out->bits = bits;
    /* Host bits set past the prefix: "10.0.0.1/8" is a typo of something. */
    for (int i = bits; i < (out->addr.family == 4 ? 32 : 128); i++)
        if (out->addr.b[i / 8] & (0x80 >> (i % 8)))
            return -2;
    return 0;
}

int proxy_net_contains(const struct proxy_net *net, const struct proxy_addr *a)
{
    int whole = net->bits / 8, rest = net->bits % 8;

    if (net->addr.family != a->family)
        return 0;
    if (memcmp(net->addr.b, a->b, (size_t)whole) != 0)
        return 0;
    if (rest) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        if ((net->addr.b[whole] & mask) != (a->b[whole] & mask))
            return 0;
    }
    return 1;
}

int proxy_trusted(const struct proxy_net *nets, size_t n, const struct proxy_addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (proxy_net_contains(&nets[i], a))
            return 1;
    return 0;
}

void proxy_client(const struct proxy_net *nets, size_t nnets, const char *peer,
                  const char *const *xff, size_t nxff, char *out, size_t n)
{
    struct proxy_addr cur, e;
    int hops = 0;

    if (proxy_addr_parse(peer, strlen(peer), 0, &cur) != 0) {
        snprintf(out, n, "%s", peer);
        return;
    }
    if (!proxy_trusted(nets, nnets, &cur))
        goto done;
    /* Right to left: the last header first, and each one's last entry. */
    for (size_t h = nxff; h-- > 0;) {
        const char *v = xff[h], *stop = v + strlen(v);

        /* Every entry between commas, empty ones included (malformed). */
        for (;;) {
            const char *start = stop, *a, *b;

            while (start > v && start[-1] != ',')
                start--;
            a = start;
            b = stop;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (++hops > PROXY_MAX_HOPS || proxy_addr_parse(a, (size_t)(b - a), 1, &e) != 0)
                goto done;
            if (!proxy_trusted(nets, nnets, &e)) {
                cur = e;
                goto done;
            }
            cur = e;
            if (start == v)
                break;
            stop = start - 1;     /* before the comma */
        }
    }
done:
    proxy_addr_text(&cur, out, n);
}
