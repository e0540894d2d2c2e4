/* The client behind trusted proxies: addresses and ranges as written in
 * the configuration and in X-Forwarded-For, and the walk of the chain
 * (proxy.h), forged chains included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxy.h"

static void text_of(const char *in, int ports, const char *want)
{
    struct proxy_addr a;
    char out[PROXY_ADDR_TEXT];

    if (!want) {
        if (proxy_addr_parse(in, strlen(in), ports, &a) == 0)
            fail_msg("'%s' parsed as an address", in);
        return;
    }
    if (proxy_addr_parse(in, strlen(in), ports, &a) != 0)
        fail_msg("'%s' did not parse", in);
    proxy_addr_text(&a, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_addresses(void **s)
{
    (void)s;
    text_of("192.0.2.1", 0, "192.0.2.1");
    text_of("2001:DB8:0:0::1", 0, "2001:db8::1");
    text_of("::1", 0, "::1");
    /* A dual-stack socket's IPv4 peer is the IPv4 address. */
    text_of("::ffff:127.0.0.1", 0, "127.0.0.1");
    /* Ports, as some proxies write them, only where allowed. */
    text_of("192.0.2.1:5123", 1, "192.0.2.1");
    text_of("[2001:db8::7]:443", 1, "2001:db8::7");
    text_of("[2001:db8::7]", 1, "2001:db8::7");
    text_of("192.0.2.1:5123", 0, NULL);
    text_of("[2001:db8::7]:443", 0, NULL);
    text_of("192.0.2.1:99999", 1, NULL);
    text_of("192.0.2.1:", 1, NULL);
    text_of("[2001:db8::7", 1, NULL);
    text_of("[2001:db8::7]x", 1, NULL);
    /* Not addresses: what a forged or a broken header holds. */
    text_of("unknown", 1, NULL);
    text_of("", 1, NULL);
    text_of("1.2.3", 1, NULL);
    text_of("1.2.3.4.5", 1, NULL);
    text_of("01.2.3.4x", 1, NULL);
    text_of("fe80::1%eth0", 1, NULL);
    text_of(" 192.0.2.1", 1, NULL);
    text_of("192.0.2.1 ", 1, NULL);
    {
        char big[200];
        memset(big, '1', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        text_of(big, 1, NULL);
    }
    /* A NUL inside the given length is not an address. */
    {
        struct proxy_addr a;
        assert_int_equal(proxy_addr_parse("1.2.3.4\0", 8, 1, &a), -1);
    }
}

static void net_is(const char *in, int rc, int family, int bits)
{
    struct proxy_net n;
    int got = proxy_net_parse(in, &n);

    if (got != rc)
        fail_msg("'%s': %d, not %d", in, got, rc);
    if (rc == 0) {
        assert_int_equal(n.addr.family, family);
        assert_int_equal(n.bits, bits);
    }
}

static void test_ranges(void **s)
{
    (void)s;
    net_is("10.0.0.0/8", 0, 4, 8);
    net_is("127.0.0.1/32", 0, 4, 32);
    net_is("0.0.0.0/0", 0, 4, 0);
    net_is("192.0.2.7", 0, 4, 32);
    net_is("::1/128", 0, 6, 128);
    net_is("::1", 0, 6, 128);
    net_is("2001:db8::/32", 0, 6, 32);
    net_is("fe80::/10", 0, 6, 10);
    net_is("::ffff:10.0.0.0/104", 0, 4, 8);
    /* Host bits past the prefix: a typo to report as such. */
    net_is("10.0.0.1/8", -2, 0, 0);
    net_is("2001:db8::1/32", -2, 0, 0);
    net_is("fec0::/9", -2, 0, 0);
    /* Not ranges. */
    net_is("10.0.0.0/33", -1, 0, 0);
    net_is("::/129", -1, 0, 0);
    net_is("10.0.0.0/", -1, 0, 0);
    net_is("10.0.0.0/8x", -1, 0, 0);
    net_is("10.0.0.0/-8", -1, 0, 0);
    net_is("10.0.0.0/0008", -1, 0, 0);
    net_is("/8", -1, 0, 0);
    net_is("", -1, 0, 0);
    net_is("10.0.0.0:80", -1, 0, 0);
    net_is("localhost", -1, 0, 0);
    net_is("::ffff:10.0.0.0/64", -1, 0, 0);
}

static int in(const char *net, const char *addr)
{
    struct proxy_net n;
    struct proxy_addr a;

    assert_int_equal(proxy_net_parse(net, &n), 0);
    assert_int_equal(proxy_addr_parse(addr, strlen(addr), 0, &a), 0);
    return proxy_net_contains(&n, &a);
}

static void test_contains(void **s)
{
    (void)s;
    assert_true(in("10.0.0.0/8", "10.255.1.2"));
    assert_false(in("10.0.0.0/8", "11.0.0.0"));
    assert_true(in("127.0.0.1", "127.0.0.1"));
    assert_false(in("127.0.0.1", "127.0.0.2"));
    assert_true(in("0.0.0.0/0", "203.0.113.9"));
    assert_false(in("0.0.0.0/0", "::1"));
    assert_false(in("::/0", "192.0.2.1"));
    assert_true(in("::/0", "2001:db8::1"));
    assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(in("2001:db8::/32", "2001:db9::1"));
    /* A prefix that ends inside a byte. */
    assert_true(in("fe80::/10", "fe80::1"));
    assert_true(in("fe80::/10", "febf::1"));
    assert_false(in("fe80::/10", "fec0::1"));
    assert_true(in("172.16.0.0/12", "172.31.255.255"));
    assert_false(in("172.16.0.0/12", "172.32.0.0"));
    /* The IPv4-mapped form of a peer is the IPv4 address. */
    assert_true(in("127.0.0.0/8", "::ffff:127.0.0.1"));
}

/* proxy_client with TRUSTED (a list of ranges, NULL-ended) and headers. */
static void client_is(const char *const *trusted, const char *peer, const char *const *xff,
                      const char *want)
{
    struct proxy_net nets[8];
    size_t nn = 0, nx = 0;
    char out[PROXY_ADDR_TEXT];

    for (; trusted && trusted[nn]; nn++)
        assert_int_equal(proxy_net_parse(trusted[nn], &nets[nn]), 0);
    while (xff && xff[nx])
        nx++;
    proxy_client(nets, nn, peer, xff, nx, out, sizeof out);
    if (strcmp(out, want) != 0)
        fail_msg("peer %s: got '%s', want '%s'", peer, out, want);
}

static void test_untrusted_peer_ignores_the_header(void **s)
{
    static const char *const none[] = {NULL};
    static const char *const other[] = {"10.0.0.0/8", NULL};
    static const char *const spoof[] = {"203.0.113.5", NULL};

    (void)s;
    client_is(none, "127.0.0.1", spoof, "127.0.0.1");
    client_is(other, "127.0.0.1", spoof, "127.0.0.1");
    client_is(NULL, "::ffff:192.0.2.9", spoof, "192.0.2.9");
    client_is(NULL, "", spoof, "");
}

static void test_trusted_peer_rightmost_untrusted(void **s)
{
    static const char *const local[] = {"127.0.0.1/32", "::1/128", NULL};
    static const char *const two_tiers[] = {"127.0.0.1/32", "10.0.0.0/8", NULL};

    (void)s;
    /* One proxy: its entry is the client. */
    client_is(local, "127.0.0.1", (const char *const[]){"203.0.113.5", NULL}, "203.0.113.5");
    client_is(local, "::1", (const char *const[]){"2001:db8::5", NULL}, "2001:db8::5");
    client_is(local, "::ffff:127.0.0.1", (const char *const[]){"203.0.113.5", NULL},
              "203.0.113.5");
    /* A client that sends its own header cannot choose: the proxy appends
     * the real address, and that is the right-most untrusted one. */
    client_is(local, "127.0.0.1", (const char *const[]){"198.51.100.1, 203.0.113.5", NULL},
              "203.0.113.5");
    client_is(local, "127.0.0.1",
              (const char *const[]){"127.0.0.1, 10.9.9.9,203.0.113.5", NULL}, "203.0.113.5");
    /* Two proxies in a row (a load balancer, then nginx on the host). */
    client_is(two_tiers, "127.0.0.1",
              (const char *const[]){"198.51.100.1, 203.0.113.5, 10.0.0.2", NULL},
              "203.0.113.5");
    /* Several headers are one list, in order. */
    client_is(two_tiers, "127.0.0.1",
              (const char *const[]){"198.51.100.1", "203.0.113.5", "10.0.0.2", NULL},
              "203.0.113.5");
    /* Every hop trusted: the left-most one sent it. */
    client_is(two_tiers, "127.0.0.1", (const char *const[]){"10.0.0.3, 10.0.0.2", NULL},
              "10.0.0.3");
    /* No header from a trusted peer: the peer itself. */
    client_is(local, "127.0.0.1", NULL, "127.0.0.1");
    /* Ports and brackets, as some proxies write them. */
    client_is(local, "127.0.0.1", (const char *const[]){"203.0.113.5:61000", NULL},
              "203.0.113.5");
    client_is(local, "127.0.0.1", (const char *const[]){"[2001:DB8::5]:443", NULL},
              "2001:db8::5");
}

static void test_malformed_chain_stops_at_last_trusted(void **s)
{
    static const char *const two_tiers[] = {"127.0.0.1/32", "10.0.0.0/8", NULL};
    char many[32 * 16 + 64] = "";

    (void)s;
    client_is(two_tiers, "127.0.0.1", (const char *const[]){"unknown", NULL}, "127.0.0.1");
    client_is(two_tiers, "127.0.0.1", (const char *const[]){"203.0.113.5, garbage, 10.0.0.2",
                                                          NULL}, "10.0.0.2");
    client_is(two_tiers, "127.0.0.1", (const char *const[]){"", NULL}, "127.0.0.1");
    client_is(two_tiers, "127.0.0.1", (const char *const[]){"203.0.113.5,", NULL},
              "127.0.0.1");
    client_is(two_tiers, "127.0.0.1", (const char *const[]){",203.0.113.5", NULL},
              "203.0.113.5");
    client_is(two_tiers, "127.0.0.1", (const char *const[]){",10.0.0.4", NULL}, "10.0.0.4");
    /* Past PROXY_MAX_HOPS trusted entries, the walk stops where it is. */
    strcat(many, "203.0.113.5");
    for (int i = 0; i < PROXY_MAX_HOPS; i++) {
        char hop[24];
        snprintf(hop, sizeof hop, ", 10.0.0.%d", i + 1);
        strcat(many, hop);
    }
    client_is(two_tiers, "127.0.0.1", (const char *const[]){many, NULL}, "10.0.0.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_untrusted_peer_ignores_the_header),
        cmocka_unit_test(test_trusted_peer_rightmost_untrusted),
        cmocka_unit_test(test_malformed_chain_stops_at_last_trusted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
