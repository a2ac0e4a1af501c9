/* peers.h: the kinds of aggregate one Compact service may refer to in
 * another (peer_check.h), each described once: whom to ask, how, and what
 * may not be referred to.
 */
#ifndef COMPACT_PEERS_H
#define COMPACT_PEERS_H

#include "peer_check.h"

/* Entities of membership; a withdrawn one may not be referred to. */
extern const peer_kind peer_entities;

/* Working groups of workgroups; a closed one may not be referred to. */
extern const peer_kind peer_groups;

#endif
