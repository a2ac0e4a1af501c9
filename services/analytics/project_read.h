/* project_read.h: a project's state read in two parts, so that a change
 * costs what it changed.
 *
 * Design
 * ------
 * Events carry the whole project after each change, and a project of a few
 * hundred transactions is mostly its transactions, while the most common
 * change, a recorded transaction, adds one. Unpacking every state whole and
 * making its facts again from every transaction was half of what applying
 * an event cost (bench/RESULTS.md, "Analytics: a change costs what it
 * changed"). So a state is read in two parts (pbwire_split):
 *
 *   - the project without its transactions, unpacked: small;
 *   - its transactions, left packed, each with a 64-bit hash of its bytes.
 *
 * The facts of a project keep the hashes of the transactions they were made
 * from (project_facts.tx_hashes). When the new state's transactions are
 * those held with some added (the hashes held appear in the new list, in
 * order) and nothing else of the project changed (project_facts_fit), only
 * the added ones are unpacked, and added to the facts held in place, the
 * figures moved by what they brought (project_facts_add, figures_add_delta);
 * otherwise the state is unpacked whole. A
 * transaction is never changed in place by projects; one that were would
 * hash differently and take the whole path. Two different transactions of
 * one project sharing a hash is the only way to go wrong: of one length
 * they cannot (the hash is a bijection word by word, project_read.c); of
 * different lengths the odds are 2^-64 a pair, and the hash starts from a
 * random seed per process, so a pair cannot be made up to share one. The
 * hashes are never stored.
 *
 * Pure functions on memory; loop thread only.
 */
#ifndef COMPACT_ANALYTICS_PROJECT_READ_H
#define COMPACT_ANALYTICS_PROJECT_READ_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "compact/projects/v1/projects.pb-c.h"
#include "facts.h"

typedef struct project_read {
    const uint8_t *data; /* the whole state, as packed */
    size_t len;
    Compact__Projects__V1__Project *shell; /* the project without its transactions */
    Compact__Projects__V1__Project *whole; /* unpacked whole, or NULL until needed */
    const uint8_t **tx;                    /* each transaction's bytes, in order */
    size_t *tx_len;
    uint64_t *hashes;
    size_t n_tx;
} project_read;

/* Reads the `len` bytes at `data` (which must outlive *out) into *out, every
 * piece allocated from `mem` (an arena's: nothing is freed piece by piece).
 * Returns 0; -EINVAL when they are not a project (the framing of the
 * transactions, or the rest does not unpack); -ENOMEM. */
int project_read_of(const uint8_t *data, size_t len, ProtobufCAllocator *mem, project_read *out);

/* The transactions `r` adds to those `held` was made from: 1 when r's
 * transactions are held's (by their hashes, in order) with others among
 * them, their positions in r then in added[] (room for r->n_tx), their
 * number in *n_added (0: the same transactions). 0 when they are not (held
 * has no hashes, or lost or changed a transaction). */
int project_read_added(const project_read *r, const project_facts *held, size_t *added,
                       size_t *n_added);

/* Transaction `i` of `r` unpacked with the default allocator (free it with
 * compact__projects__v1__transaction__free_unpacked), or NULL when its
 * bytes do not unpack (or ENOMEM). */
Compact__Projects__V1__Transaction *project_read_transaction(const project_read *r, size_t i);

/* 1 if transaction `i` of `r` certainly unpacks (a walk, allocating
 * nothing: pbwire_unpacks); 0 means "unpack to know". */
int project_read_transaction_ok(const project_read *r, size_t i);

#endif
