/* plugins_crypto — relais.crypto (plugins/API.md): what gateway
 * signatures need (HMAC-SHA1 for Twilio, HMAC-SHA256, SHA-256, SHA-1 for
 * OVHcloud), Base64 and hex, a constant-time comparison and random bytes,
 * all from OpenSSL's libcrypto. Results are raw bytes unless the name says
 * otherwise.
 */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "plugins_internal.h"

#define MAX_RANDOM 4096

static int hmac_with(lua_State *L, const EVP_MD *md)
{
    size_t kn, dn;
    const char *k = luaL_checklstring(L, 1, &kn), *d = luaL_checklstring(L, 2, &dn);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (!HMAC(md, k, (int)kn, (const unsigned char *)d, dn, out, &len))
        return luaL_error(L, "HMAC failed");
    lua_pushlstring(L, (const char *)out, len);
    return 1;
}

static int l_hmac_sha1(lua_State *L)
{
    return hmac_with(L, EVP_sha1());
}

static int l_hmac_sha256(lua_State *L)
{
    return hmac_with(L, EVP_sha256());
}

static int digest_with(lua_State *L, const EVP_MD *md)
{
    size_t n;
    const char *d = luaL_checklstring(L, 1, &n);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (!EVP_Digest(d, n, out, &len, md, NULL))
        return luaL_error(L, "digest failed");
    lua_pushlstring(L, (const char *)out, len);
    return 1;
}

static int l_sha256(lua_State *L)
{
    return digest_with(L, EVP_sha256());
}

/* SHA-1 is broken for collisions, not for what gateways still sign with
 * it (OVHcloud's request signature): offered for those, not for new uses. */
static int l_sha1(lua_State *L)
{
    return digest_with(L, EVP_sha1());
}

static int l_base64(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char *out;
    int len;

    luaL_argcheck(L, n <= (size_t)INT32_MAX / 2, 1, "too long");
    out = lua_newuserdatauv(L, 4 * ((n + 2) / 3) + 1, 0);
    len = EVP_EncodeBlock(out, (const unsigned char *)s, (int)n);
    lua_pushlstring(L, (const char *)out, (size_t)len);
    return 1;
}

static int l_hex(lua_State *L)
{
    static const char digits[] = "0123456789abcdef";
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    struct sbuf b;

    sbuf_init(&b, L);
    for (size_t i = 0; i < n; i++) {
        char pair[2] = {digits[s[i] >> 4], digits[s[i] & 15]};
        sbuf_add(&b, pair, 2);
    }
    sbuf_finish(&b);
    return 1;
}

static int l_equal(lua_State *L)
{
    size_t an, bn;
    const char *a = luaL_checklstring(L, 1, &an), *b = luaL_checklstring(L, 2, &bn);

    lua_pushboolean(L, an == bn && CRYPTO_memcmp(a, b, an) == 0);
    return 1;
}

static int l_random(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    unsigned char *buf;

    luaL_argcheck(L, n >= 1 && n <= MAX_RANDOM, 1, "1 to 4096 bytes");
    buf = lua_newuserdatauv(L, (size_t)n, 0);
    if (RAND_bytes(buf, (int)n) != 1)
        return luaL_error(L, "relais.crypto.random: no randomness available");
    lua_pushlstring(L, (const char *)buf, (size_t)n);
    return 1;
}

void pcrypto_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"hmac_sha1", l_hmac_sha1}, {"hmac_sha256", l_hmac_sha256}, {"sha256", l_sha256},
        {"sha1", l_sha1},
        {"base64", l_base64}, {"hex", l_hex}, {"equal", l_equal}, {"random", l_random},
        {NULL, NULL},
    };

    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_setfield(L, -2, "crypto");
}
