/* project_read.c: a project's state read in two parts (see project_read.h). */
#include "project_read.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "pbwire.h"

#define TRANSACTIONS_FIELD 16 /* compact.projects.v1.Project.transactions */

/* A random start for this process's hashes, which it alone compares: a
 * collision across lengths cannot be made up in advance. */
static uint64_t hash_seed(void)
{
    static uint64_t seed;
    static int seeded;

    if (!seeded && getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        seed = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
    seeded = 1;
    return seed;
}

/* A 64-bit hash of `len` bytes: eight at a time, each mixed in by a xor, a
 * multiply by an odd number and a shift (a state's transactions are hashed
 * at every event: byte-at-a-time FNV would cost more than the rest of the
 * read). Every step is a bijection of the state for a given word, so two
 * different inputs of one length never share a hash (the first word they
 * differ in leaves them apart, and each later step keeps them so); inputs
 * of different lengths start from different states. */
static uint64_t bytes_hash(const uint8_t *p, size_t len)
{
    const uint64_t k = 0x9E3779B97F4A7C15ULL;
    uint64_t h = hash_seed() ^ k ^ (len * 0xC2B2AE3D27D4EB4FULL), w;

    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    w = 0;
    memcpy(&w, p, len);
    h = (h ^ w) * k;
    h ^= h >> 32; /* the last mix spreads every bit of the tail */
    h *= 0xFF51AFD7ED558CCDULL;
    return h ^ (h >> 33);
}

/* pbwire_split's `each`: counts the transactions, then (with room) keeps
 * them. */
typedef struct tx_list {
    project_read *r;
    size_t room;
} tx_list;

static int keep_tx(void *arg, const uint8_t *value, size_t len)
{
    tx_list *l = arg;
    project_read *r = l->r;

    if (r->n_tx < l->room) {
        r->tx[r->n_tx] = value;
        r->tx_len[r->n_tx] = len;
        r->hashes[r->n_tx] = bytes_hash(value, len);
    }
    r->n_tx++;
    return 0;
}

static int count_tx(void *arg, const uint8_t *value, size_t len)
{
    (void)value;
    (void)len;
    ((project_read *)arg)->n_tx++;
    return 0;
}

int project_read_of(const uint8_t *data, size_t len, ProtobufCAllocator *mem, project_read *out)
{
    uint8_t *rest = mem->alloc(mem->allocator_data, len ? len : 1);
    size_t rest_len, n;
    tx_list list = {out, 0};

    memset(out, 0, sizeof *out);
    out->data = data;
    out->len = len;
    if (rest == NULL)
        return -ENOMEM;
    if (!pbwire_split(data, len, TRANSACTIONS_FIELD, rest, &rest_len, count_tx, out))
        return -EINVAL;
    n = out->n_tx;
    out->tx = mem->alloc(mem->allocator_data, (n ? n : 1) * sizeof *out->tx);
    out->tx_len = mem->alloc(mem->allocator_data, (n ? n : 1) * sizeof *out->tx_len);
    out->hashes = mem->alloc(mem->allocator_data, (n ? n : 1) * sizeof *out->hashes);
    if (out->tx == NULL || out->tx_len == NULL || out->hashes == NULL)
        return -ENOMEM;
    out->n_tx = 0;
    list.room = n;
    if (!pbwire_split(data, len, TRANSACTIONS_FIELD, rest, &rest_len, keep_tx, &list) ||
        out->n_tx != n)
        return -EINVAL;
    out->shell = compact__projects__v1__project__unpack(mem, rest_len, rest);
    return out->shell ? 0 : -EINVAL;
}

int project_read_added(const project_read *r, const project_facts *held, size_t *added,
                       size_t *n_added)
{
    size_t k = 0;

    *n_added = 0;
    if (held == NULL || !held->hashes_known || held->n_tx_hashes > r->n_tx)
        return 0;
    for (size_t i = 0; i < r->n_tx; i++) {
        if (k < held->n_tx_hashes && r->hashes[i] == held->tx_hashes[k])
            k++;
        else
            added[(*n_added)++] = i;
    }
    return k == held->n_tx_hashes;
}

Compact__Projects__V1__Transaction *project_read_transaction(const project_read *r, size_t i)
{
    return compact__projects__v1__transaction__unpack(NULL, r->tx_len[i], r->tx[i]);
}

int project_read_transaction_ok(const project_read *r, size_t i)
{
    return pbwire_unpacks(&compact__projects__v1__transaction__descriptor, r->tx[i], r->tx_len[i],
                          NULL, NULL);
}
