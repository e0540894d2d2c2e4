/* The client behind trusted proxies (proxy.h): whatever X-Forwarded-For a
 * client sends through a trusted proxy, proxy_client never crashes or
 * overruns (ASan watches), and answers either an address, or the peer as
 * it was when that is not one. The first byte picks the peer (trusted or not);
 * the rest is header values, one per line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

#define MAX_INPUT 4096
#define MAX_VALUES 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ranges[] = {"127.0.0.1/32", "10.0.0.0/8", "::1/128",
                                         "2001:db8::/32"};
    static const char *const peers[] = {"127.0.0.1", "10.1.2.3", "::1", "192.0.2.1",
                                        "::ffff:127.0.0.1", "", "not an address"};
    struct proxy_net nets[4];
    char buf[MAX_INPUT + 1], out[PROXY_ADDR_TEXT];
    const char *values[MAX_VALUES];
    struct proxy_addr a;
    size_t n = 0;
    const char *peer;

    if (size < 1 || size > MAX_INPUT)
        return 0;
    for (size_t i = 0; i < 4; i++)
        if (proxy_net_parse(ranges[i], &nets[i]) != 0)
            abort();
    peer = peers[data[0] % (sizeof peers / sizeof peers[0])];
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    for (char *line = buf, *next; line && n < MAX_VALUES; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        values[n++] = line;
    }
    proxy_client(nets, 4, peer, values, n, out, sizeof out);
    /* The answer is an address, or the peer that was not one. */
    if (proxy_addr_parse(out, strlen(out), 0, &a) != 0 && strcmp(out, peer) != 0)
        abort();
    return 0;
}
