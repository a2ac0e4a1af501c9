/* str.c: bounded copies of C strings (see str.h). */
#include "str.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

int str_join(char *dst, size_t size, const char *const *parts, size_t n)
{
    size_t at = 0;

    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        if (len >= size - at || at + len > INT_MAX) {
            if (size > 0)
                dst[0] = '\0';
            return -ENAMETOOLONG;
        }
        memcpy(dst + at, parts[i], len);
        at += len;
    }
    if (at >= size) { /* only when size == 0: each part left room for the NUL */
        return -ENAMETOOLONG;
    }
    dst[at] = '\0';
    return (int)at;
}

int str_copy(char *dst, size_t size, const char *src)
{
    return str_join(dst, size, &src, 1);
}
