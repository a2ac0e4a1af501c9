/* msgcache.c: packed messages kept in memory by id and version (see
 * msgcache.h). */
#include "msgcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One kept message: the id, then the bytes, in the same allocation. */
typedef struct msgcache_entry {
    int64_t version;
    size_t len;
    size_t size;   /* the allocation, counted against the bound */
    char *id;      /* points into `mem`, after the bytes */
    uint8_t mem[]; /* len bytes of the message, then the id and its NUL */
} msgcache_entry;

struct msgcache {
    msgcache_entry **slots;
    size_t mask; /* slots - 1 */
    size_t hand; /* the next slot the clock empties */
    size_t max_bytes, bytes, entries;
    uint64_t hits, misses;
};

/* FNV-1a: ids are short, and a slot's choice needs only to spread them. */
static size_t slot_of(const msgcache *c, const char *id)
{
    uint64_t h = 14695981039346656037ull;

    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return (size_t)h & c->mask;
}

static void empty_slot(msgcache *c, size_t i)
{
    msgcache_entry *e = c->slots[i];

    if (e == NULL)
        return;
    c->bytes -= e->size;
    c->entries--;
    free(e);
    c->slots[i] = NULL;
}

int msgcache_new(size_t slots, size_t max_bytes, msgcache **out)
{
    msgcache *c = calloc(1, sizeof *c);
    size_t n = 1;

    while (n < slots)
        n <<= 1;
    if (c == NULL || (c->slots = calloc(n, sizeof *c->slots)) == NULL) {
        free(c);
        return -ENOMEM;
    }
    c->mask = n - 1;
    c->max_bytes = max_bytes;
    *out = c;
    return 0;
}

void msgcache_free(msgcache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i <= c->mask; i++)
        free(c->slots[i]);
    free(c->slots);
    free(c);
}

const uint8_t *msgcache_get(msgcache *c, const char *id, int64_t version, size_t *len)
{
    const msgcache_entry *e = c ? c->slots[slot_of(c, id)] : NULL;

    *len = 0;
    if (e == NULL || e->version != version || strcmp(e->id, id) != 0) {
        if (c)
            c->misses++;
        return NULL;
    }
    c->hits++;
    *len = e->len;
    return e->mem;
}

int msgcache_put(msgcache *c, const char *id, int64_t version, const void *data, size_t len)
{
    size_t at, id_len, size;
    msgcache_entry *e;

    if (c == NULL)
        return 0;
    at = slot_of(c, id);
    empty_slot(c, at);
    id_len = strlen(id);
    size = sizeof *e + len + id_len + 1;
    if (size > c->max_bytes / 4)
        return 0;
    /* The clock: a full sweep empties every slot, so this ends. */
    while (c->bytes + size > c->max_bytes) {
        empty_slot(c, c->hand);
        c->hand = (c->hand + 1) & c->mask;
    }
    if ((e = malloc(size)) == NULL)
        return -ENOMEM;
    e->version = version;
    e->len = len;
    e->size = size;
    memcpy(e->mem, data, len);
    e->id = (char *)e->mem + len;
    memcpy(e->id, id, id_len + 1);
    c->slots[at] = e;
    c->bytes += size;
    c->entries++;
    return 0;
}

msgcache_stats msgcache_get_stats(const msgcache *c)
{
    if (c == NULL)
        return (msgcache_stats){0};
    return (msgcache_stats){
        .entries = c->entries, .bytes = c->bytes, .hits = c->hits, .misses = c->misses};
}
