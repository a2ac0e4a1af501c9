/* pbstr.c: string fields of protobuf-c messages (see pbstr.h). */
#include "pbstr.h"

#include <errno.h>
#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>
#include <string.h>

int pbstr_set(char **field, const char *value)
{
    char *copy = strdup(value ? value : "");

    if (copy == NULL)
        return -ENOMEM;
    if (*field != NULL && *field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return 0;
}

void pbstr_lower_ascii(const char *s, char *buf, size_t size)
{
    size_t i = 0;

    if (size == 0)
        return;
    for (; s[i] && i + 1 < size; i++) {
        char c = s[i];
        buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    buf[i] = '\0';
}
