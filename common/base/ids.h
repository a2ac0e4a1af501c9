/* ids.h: server-assigned ids.
 *
 * An id is a short type prefix ("ent_", "wg_", "prj_") followed by
 * IDS_RANDOM_CHARS characters of the lowercase RFC 4648 base32 alphabet
 * (a-z, 2-7): 100 random bits from getrandom(2), enough that two ids never
 * meet, and an id reads well in a URL, a log line or a shell. The shape is
 * the one validate_id() accepts.
 */
#ifndef COMPACT_IDS_H
#define COMPACT_IDS_H

#include <stddef.h>

#define IDS_RANDOM_CHARS 20

/* The prefix of every kind of id, in one place: the service that assigns
 * one and every service that refers to one read them from here. */
#define IDS_ENTITY "ent_"         /* membership: an entity */
#define IDS_GROUP "wg_"           /* workgroups: a working group */
#define IDS_PLAN_ITEM "wpi_"      /* workgroups: a work plan item */
#define IDS_PROJECT "prj_"        /* projects: a project */
#define IDS_RESULT "res_"         /* projects: a result */
#define IDS_INDICATOR "ind_"      /* projects: an indicator */
#define IDS_TRANSACTION "trn_"    /* projects: a transaction */
#define IDS_REPRESENTATIVE "rep_" /* committee: a standing seat */
#define IDS_MEETING "mtg_"        /* committee: a meeting */
#define IDS_ACTION_POINT "act_"   /* committee: an action point of a meeting */
#define IDS_DECISION "dec_"       /* committee: a decision */
#define IDS_PROPOSAL "cfp_"       /* committee: a catalytic funding proposal */

/* Information-sharing, and the Coordination Committee's decisions, whose
 * effects other services record ("dec_<id>/effects/<n>", validate.h). */
#define IDS_NOTICE "ntc_"       /* workgroups: a notice */
#define IDS_SUBSCRIPTION "sub_" /* workgroups: a subscription to notices */

/* Room for any id of ours and its NUL. */
#define IDS_SIZE 32

/* Writes `prefix` and IDS_RANDOM_CHARS random characters and a NUL into
 * `buf`. Returns 0, -ENAMETOOLONG if `size` is less than
 * strlen(prefix) + IDS_RANDOM_CHARS + 1 (buf untouched), or -EIO if the
 * kernel gave no randomness (buf untouched). */
int ids_new(const char *prefix, char *buf, size_t size);

#endif
