/* b64url.c: base64url without padding, strict (see auth_internal.h). */
#include "auth_internal.h"

static const char auth_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int auth_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long auth__b64url_decode(const char *in, size_t len, unsigned char *out)
{
    unsigned long acc = 0;
    int bits = 0;
    long n = 0;

    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = auth_b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    /* The unused low bits of the last character must be zero: one text per
     * value, so a token cannot be changed without changing its bytes. */
    if (bits > 0 && (acc & ((1ul << bits) - 1)) != 0)
        return -1;
    return n;
}

size_t auth__b64url_encode(const unsigned char *in, size_t len, char *out)
{
    size_t n = 0, i = 0;

    for (; i + 2 < len; i += 3) {
        unsigned long v =
            ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
        out[n++] = auth_b64url_alphabet[(v >> 18) & 63];
        out[n++] = auth_b64url_alphabet[(v >> 12) & 63];
        out[n++] = auth_b64url_alphabet[(v >> 6) & 63];
        out[n++] = auth_b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        unsigned long v = (unsigned long)in[i] << 16;
        out[n++] = auth_b64url_alphabet[(v >> 18) & 63];
        out[n++] = auth_b64url_alphabet[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8);
        out[n++] = auth_b64url_alphabet[(v >> 18) & 63];
        out[n++] = auth_b64url_alphabet[(v >> 12) & 63];
        out[n++] = auth_b64url_alphabet[(v >> 6) & 63];
    }
    out[n] = '\0';
    return n;
}
