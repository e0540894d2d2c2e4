/* proxy — who the client is when Relais runs behind a reverse proxy.
 *
 * Behind nginx or Caddy every connection comes from the proxy, and the
 * client's address is only in the X-Forwarded-For header the proxy adds.
 * That header is believed only when the connection comes from an address of
 * the configuration's trusted_proxies (CIDR ranges, IPv4 and IPv6); from
 * anyone else it is ignored, since any client can send one.
 *
 * Rules of the chain (each proxy appends the address it got the request
 * from, so the right-most entries are the ones our own proxies wrote):
 * starting from the peer, walk X-Forwarded-For from the right, skipping
 * trusted addresses; the first address that is not trusted is the client.
 * Entries further left were written by the client or by proxies we do not
 * know, and count for nothing. When every entry is trusted, the left-most
 * is the client. An entry that is not an address ("unknown", garbage) stops
 * the walk: the last trusted hop is then taken as the client, so a forged
 * chain can never choose the answer. Several X-Forwarded-For headers are one
 * list, in order. At most PROXY_MAX_HOPS entries are looked at.
 *
 * Addresses are compared as bytes: an IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1, as a dual-stack socket reports IPv4 peers) is the IPv4
 * address. Entries may carry a port ("192.0.2.1:5123", "[2001:db8::1]:443")
 * as some proxies write them. The answer is the canonical text of the
 * address (inet_ntop), so one client always has one rate-limit key.
 *
 * Pure functions over caller-owned memory: nothing is allocated. */
#ifndef RELAIS_PROXY_H
#define RELAIS_PROXY_H

#include <stddef.h>

#define PROXY_ADDR_TEXT 48     /* an IPv6 address as text, and its NUL */
#define PROXY_MAX_HOPS 32      /* X-Forwarded-For entries looked at, from the right */
#define PROXY_MAX_NETS 64      /* trusted_proxies entries */

/* An IPv4 (family 4, the first 4 bytes) or IPv6 (family 6) address. */
struct proxy_addr {
    int family;
    unsigned char b[16];
};

/* A CIDR range: the address and its prefix length in bits. */
struct proxy_net {
    struct proxy_addr addr;
    int bits;
};

/* Parses an address of LEN bytes (no NUL needed): "192.0.2.1", "2001:db8::1",
 * and, with PORTS set, "192.0.2.1:80" and "[2001:db8::1]:80" (a bracketed
 * IPv6 address without a port too). Spaces are not trimmed. 0, or -1 when
 * it is not an address. */
int proxy_addr_parse(const char *s, size_t len, int ports, struct proxy_addr *out);
/* The canonical text of A into OUT (at least PROXY_ADDR_TEXT bytes). */
void proxy_addr_text(const struct proxy_addr *a, char *out, size_t n);

/* Parses "10.0.0.0/8", "::1/128", or a bare address (the one host).
 * 0; -1 when it is not a range; -2 when bits are set past the prefix
 * ("10.0.0.1/8"), which is almost always a typo worth stopping for. */
int proxy_net_parse(const char *s, struct proxy_net *out);
/* 1 when A is inside NET, else 0. */
int proxy_net_contains(const struct proxy_net *net, const struct proxy_addr *a);
/* 1 when A is inside one of NETS[0..N). */
int proxy_trusted(const struct proxy_net *nets, size_t n, const struct proxy_addr *a);

/* The client of a request whose connection comes from PEER (text as the
 * socket reports it; "" when unknown) carrying the X-Forwarded-For header
 * values XFF[0..NXFF) in the order received, following the rules above.
 * Writes the address's text into OUT (at least PROXY_ADDR_TEXT bytes); a
 * PEER that is not an address is copied as it is (cut to fit). */
void proxy_client(const struct proxy_net *nets, size_t nnets, const char *peer,
                  const char *const *xff, size_t nxff, char *out, size_t n);

#endif
