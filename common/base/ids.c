/* ids.c: server-assigned ids (see ids.h). */
#include "ids.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

int ids_new(const char *prefix, char *buf, size_t size)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned char rnd[13]; /* 104 bits; 100 are used */
    size_t plen = strlen(prefix);

    if (size < plen + IDS_RANDOM_CHARS + 1)
        return -ENAMETOOLONG;
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -EIO;
    memcpy(buf, prefix, plen);
    for (size_t i = 0; i < IDS_RANDOM_CHARS; i++) {
        size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned v = ((unsigned)rnd[byte] << 8 | rnd[byte + 1]) >> (11 - shift);
        buf[plen + i] = alphabet[v & 31];
    }
    buf[plen + IDS_RANDOM_CHARS] = '\0';
    return 0;
}
