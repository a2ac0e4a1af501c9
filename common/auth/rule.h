/* rule.h: who may call what, one declarative table per service.
 *
 * Every method of a service has exactly one rule, checked by the runtime
 * after the caller's token verified and the request decoded, before the
 * handler runs (common/service/service_auth.c). A rule names
 *
 *   roles    the roles allowed whatever the request asks;
 *   scoped   the roles allowed only for their own things, and how the
 *            request says whose things it asks about:
 *            - group:  a field path to Working Group ids, matched against
 *                      the token's group_ids (wg-chair);
 *            - entity: a field path to entity ids, matched against the
 *                      token's entity_id (the other scoped roles; a wg-chair
 *                      too when the rule has no group path);
 *            - check:  a function of the service's, for a scope only its data
 *                      knows (a project's participants), run synchronously
 *                      on the loop thread; it may read the service's store;
 *            the first that admits the caller decides; none: denied.
 *
 * A field path is field names joined by dots, "[]" after a repeated one:
 * "entity.id", "group_id", "project.participants[].entity_id". A repeated
 * path admits the caller when any of its values is the caller's. An empty
 * value admits nobody unless the rule says AUTH_RULE_EMPTY_OK.
 *
 * Verified flags are the secretariat's alone: unless a rule says
 * AUTH_RULE_READ, a request whose top-level message field carries
 * `verified = true`, which holds a compact.common.v1.Provenance saying a
 * fact is FACT_STATUS_CONFIRMED (anywhere, 8 messages deep), or whose
 * update_mask names "verified", "provenance" (a mask that may drop a
 * confirmation) or "*", is denied to every role but secretariat and service
 * (the services carry out the Committee's decisions, which the secretariat
 * verified). Facts stated as assumptions stay anyone's to write.
 *
 * A method without a rule is denied to everybody (auth_rules_check makes a
 * service refuse to start with one, and a unit test holds every service to
 * it). Denials name the rule that refused, never a secret.
 */
#ifndef COMPACT_AUTH_RULE_H
#define COMPACT_AUTH_RULE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "identity.h"

/* A service's own scope check: 1 admits the caller, 0 denies it (with the
 * reason in `why`, which names the field). `arg` is what the runtime was
 * given (the service). Runs on the loop thread, synchronously. */
typedef int (*auth_check_fn)(void *arg, const auth_identity *id, const ProtobufCMessage *request,
                             char *why, size_t whylen);

enum auth_rule_flags {
    AUTH_RULE_READ = 1u << 0,     /* changes nothing: verified flags are not looked at */
    AUTH_RULE_EMPTY_OK = 1u << 1, /* an empty scope value admits the scoped roles */
    AUTH_RULE_PUBLIC = 1u << 2,   /* no token needed (Health) */
};

typedef struct auth_rule {
    const char *method; /* "GetEntity"; NULL ends a table */
    unsigned roles;     /* AUTH_ROLE_* bits, allowed whatever the request */
    unsigned scoped;    /* AUTH_ROLE_* bits, allowed for their own things */
    const char *entity; /* field path of entity ids, or NULL */
    const char *group;  /* field path of Working Group ids, or NULL */
    auth_check_fn check;
    unsigned flags;
} auth_rule;

/* Every role: what a read that nothing restricts admits. */
#define AUTH_ANYONE AUTH_ROLES_ALL

/* The rule of `method` ("GetEntity") in `rules` (ended by method NULL), or
 * NULL. */
const auth_rule *auth_rules_find(const auth_rule *rules, const char *method);

/* 0 when `rules` fits `svc`: one rule for each method, none for a method it
 * does not have, each field path naming string fields of the method's
 * request, a scoped role with some scope. Else -EINVAL, and `err` names
 * the first problem ("UpdateEntity: no rule"). */
int auth_rules_check(const auth_rule *rules, const ProtobufCServiceDescriptor *svc, char *err,
                     size_t errlen);

/* Decides whether `id` may make `request` under `rule` (NULL: no rule,
 * denied). Returns 0 when allowed, or -EACCES with the reason in `why`
 * ("role viewer may not call UpdateEntity"). `check_arg` goes to
 * rule->check. */
int auth_rule_allows(const auth_rule *rule, const auth_identity *id,
                     const ProtobufCMessage *request, void *check_arg, char *why, size_t whylen);

/* 1 if `request` sets or masks a verified flag or confirms a fact (see the
 * top), with the field in `field` ("entity.verified", "update_mask",
 * "entity.provenance[0] (a CONFIRMED fact)"). */
int auth_request_sets_verified(const ProtobufCMessage *request, char *field, size_t size);

/* Calls `fn` with each string value at `path` in `msg` (see the top) until
 * it returns non-zero, which is returned; 0 after the last value. -EINVAL
 * when the path names no string field. */
int auth_field_values(const ProtobufCMessage *msg, const char *path,
                      int (*fn)(void *arg, const char *value), void *arg);

/* As auth_field_values, checking a path against a message type only. */
int auth_field_path_ok(const ProtobufCMessageDescriptor *desc, const char *path);

#endif
