/* etag.c: entity tags derived from a row's version (see etag.h). */
#include "etag.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pbstr.h"

void etag_of(const char *id, int64_t version, char *buf, size_t size)
{
    uint64_t h = 14695981039346656037ULL;
    char v[24];

    snprintf(v, sizeof v, ":%" PRId64, version);
    for (const char *s = id; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    for (const char *s = v; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    /* A final mix (splitmix64's) so that consecutive versions look unrelated. */
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    snprintf(buf, size, "\"%016" PRIx64 "\"", h);
}

int etag_matches(const char *given, const char *current)
{
    size_t n = strlen(given), cur;

    if (n == 0)
        return 1;
    if (current == NULL) /* a message without an etag: no etag given matches it */
        return 0;
    cur = strlen(current);
    return strcmp(given, current) == 0 || (cur == n + 2 && strncmp(current + 1, given, n) == 0);
}

int etag_set(char **field, const char *id, int64_t version)
{
    char etag[ETAG_SIZE];

    etag_of(id, version, etag, sizeof etag);
    return pbstr_set(field, etag);
}
