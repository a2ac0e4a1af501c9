/* identity.h: who is calling, as a verified token says.
 *
 * An identity is what the runtime knows of a caller once its bearer token
 * verified (jwt.h): the subject, one role, the entity it acts for and the
 * Working Groups it chairs. The roles are the Compact's:
 *
 *   secretariat   UNOCT staff: everything
 *   committee     the Coordination Committee: reads everything, records decisions
 *   wg-chair      a Working Group's chair: its own groups (leadership, members,
 *                 work plans, notices), named by the token's group_ids
 *   focal-point   an entity's focal point: its own entity (entity_id) and the
 *                 projects it takes part in
 *   viewer        reads what is not restricted
 *   service       another Compact service (peer checks, analytics' reads,
 *                 the committee's effects): minted by the services themselves
 *
 * Identities are reference counted (the verifier's cache holds one reference,
 * every call that uses it another) and live on the loop thread only.
 */
#ifndef COMPACT_AUTH_IDENTITY_H
#define COMPACT_AUTH_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

typedef enum auth_role {
    AUTH_ROLE_SECRETARIAT = 1u << 0,
    AUTH_ROLE_COMMITTEE = 1u << 1,
    AUTH_ROLE_WG_CHAIR = 1u << 2,
    AUTH_ROLE_FOCAL_POINT = 1u << 3,
    AUTH_ROLE_VIEWER = 1u << 4,
    AUTH_ROLE_SERVICE = 1u << 5,
} auth_role;

#define AUTH_ROLES_ALL 0x3fu
#define AUTH_SUBJECT_MAX 256 /* characters of `sub` */
#define AUTH_ID_MAX 64       /* characters of an entity or group id */
#define AUTH_GROUPS_MAX 32   /* group_ids of one token */

/* "secretariat", ...; "" for anything but a single known role bit. */
const char *auth_role_name(unsigned role);

/* The role named `name`, or 0 if there is none. */
unsigned auth_role_parse(const char *name);

typedef struct auth_identity {
    int refs;
    char *subject;    /* never empty */
    unsigned role;    /* one AUTH_ROLE_* bit */
    char *entity_id;  /* "" when the token names none */
    char **group_ids; /* ngroups strings */
    size_t ngroups;
    int64_t exp; /* seconds since the epoch */
} auth_identity;

/* A new identity (one reference) holding copies of the strings; NULL when
 * memory runs out. */
auth_identity *auth_identity_new(const char *subject, unsigned role, const char *entity_id,
                                 const char *const *group_ids, size_t ngroups, int64_t exp);

/* Adds a reference and returns `id` (NULL stays NULL). */
auth_identity *auth_identity_ref(auth_identity *id);

/* Drops a reference; the last one frees it. NULL is a no-op. */
void auth_identity_unref(auth_identity *id);

/* 1 if `group_id` is one of the identity's groups. */
int auth_identity_has_group(const auth_identity *id, const char *group_id);

#endif
