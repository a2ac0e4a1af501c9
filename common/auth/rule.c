/* rule.c: a service's rule table, checked and evaluated (see rule.h). */
#include "rule.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AUTH_PATH_MAX 200

static void auth_rule_say(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void auth_rule_say(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    if (buf == NULL || size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

const auth_rule *auth_rules_find(const auth_rule *rules, const char *method)
{
    for (; rules && rules->method; rules++)
        if (strcmp(rules->method, method) == 0)
            return rules;
    return NULL;
}

/* ---- field paths ---------------------------------------------------------- */

/* One segment of `path` from *pos: its name into `name`, whether it ends in
 * "[]"; *pos moves past the dot. 0, or -EINVAL when malformed. */
static int auth_segment(const char **pos, char *name, size_t size, int *repeated)
{
    const char *s = *pos, *dot = strchr(s, '.');
    size_t len = dot ? (size_t)(dot - s) : strlen(s);

    *repeated = len >= 2 && s[len - 2] == '[' && s[len - 1] == ']';
    if (*repeated)
        len -= 2;
    if (len == 0 || len >= size)
        return -EINVAL;
    memcpy(name, s, len);
    name[len] = '\0';
    *pos = dot ? dot + 1 : s + strlen(s);
    return 0;
}

/* 1 if the field of `m` is set at all (a oneof member is set only when it
 * is the oneof's case). */
static int auth_oneof_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return 1;
    return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
}

static int auth_walk(const ProtobufCMessage *m, const char *path,
                     int (*fn)(void *arg, const char *value), void *arg)
{
    char name[AUTH_PATH_MAX];
    int repeated, rc;
    const char *rest = path;

    if (auth_segment(&rest, name, sizeof name, &repeated) != 0)
        return -EINVAL;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (f == NULL || (f->label == PROTOBUF_C_LABEL_REPEATED) != repeated)
        return -EINVAL;
    int last = *rest == '\0';
    if ((last && f->type != PROTOBUF_C_TYPE_STRING) ||
        (!last && f->type != PROTOBUF_C_TYPE_MESSAGE))
        return -EINVAL;
    if (!auth_oneof_set(m, f))
        return 0;
    const char *field = (const char *)m + f->offset;
    size_t n = repeated ? *(const size_t *)((const char *)m + f->quantifier_offset) : 1;
    for (size_t i = 0; i < n; i++) {
        const void *item =
            repeated ? (*(void *const *)field == NULL ? NULL
                                                      : ((void *const *)(*(void *const *)field))[i])
                     : *(void *const *)field;
        if (item == NULL)
            continue;
        rc = last ? fn(arg, (const char *)item) : auth_walk(item, rest, fn, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int auth_field_values(const ProtobufCMessage *msg, const char *path,
                      int (*fn)(void *arg, const char *value), void *arg)
{
    if (msg == NULL || path == NULL || !auth_field_path_ok(msg->descriptor, path))
        return -EINVAL;
    return auth_walk(msg, path, fn, arg);
}

int auth_field_path_ok(const ProtobufCMessageDescriptor *desc, const char *path)
{
    char name[AUTH_PATH_MAX];
    int repeated;
    const char *rest = path;

    while (desc != NULL && *rest) {
        if (auth_segment(&rest, name, sizeof name, &repeated) != 0)
            return 0;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(desc, name);
        if (f == NULL || (f->label == PROTOBUF_C_LABEL_REPEATED) != repeated)
            return 0;
        if (*rest == '\0')
            return f->type == PROTOBUF_C_TYPE_STRING;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            return 0;
        desc = f->descriptor;
    }
    return 0;
}

/* ---- the table ------------------------------------------------------------ */

int auth_rules_check(const auth_rule *rules, const ProtobufCServiceDescriptor *svc, char *err,
                     size_t errlen)
{
    for (unsigned i = 0; i < svc->n_methods; i++) {
        const ProtobufCMethodDescriptor *md = &svc->methods[i];
        const auth_rule *r = auth_rules_find(rules, md->name);
        if (r == NULL) {
            auth_rule_say(err, errlen, "%s.%s: no rule", svc->name, md->name);
            return -EINVAL;
        }
        if ((r->entity && !auth_field_path_ok(md->input, r->entity)) ||
            (r->group && !auth_field_path_ok(md->input, r->group))) {
            auth_rule_say(err, errlen, "%s.%s: a scope path names no string field of %s", svc->name,
                          md->name, md->input->name);
            return -EINVAL;
        }
        if (r->scoped && !r->entity && !r->group && !r->check) {
            auth_rule_say(err, errlen, "%s.%s: scoped roles without a scope", svc->name, md->name);
            return -EINVAL;
        }
    }
    for (; rules && rules->method; rules++)
        if (protobuf_c_service_descriptor_get_method_by_name(svc, rules->method) == NULL) {
            auth_rule_say(err, errlen, "%s has no method %s", svc->name, rules->method);
            return -EINVAL;
        }
    return 0;
}

/* ---- verified flags ------------------------------------------------------- */

/* 1 if a compact.common.v1.Provenance somewhere in `m` (at most `depth`
 * messages down) says a fact is CONFIRMED, naming its path in `field`:
 * confirming a fact is verifying it. By name, so that the auth layer needs
 * none of the services' generated code. */
static int auth_confirms_a_fact(const ProtobufCMessage *m, int depth, char *field, size_t size)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    if (strcmp(d->name, "compact.common.v1.Provenance") == 0) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(d, "status");
        const ProtobufCEnumValue *v =
            f && f->type == PROTOBUF_C_TYPE_ENUM
                ? protobuf_c_enum_descriptor_get_value(f->descriptor,
                                                       *(const int *)((const char *)m + f->offset))
                : NULL;
        return v != NULL && strcmp(v->name, "FACT_STATUS_CONFIRMED") == 0;
    }
    if (depth <= 0)
        return 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || !auth_oneof_set(m, f))
            continue;
        const char *at = (const char *)m + f->offset;
        size_t n = f->label == PROTOBUF_C_LABEL_REPEATED
                       ? *(const size_t *)((const char *)m + f->quantifier_offset)
                       : 1;
        for (size_t k = 0; k < n; k++) {
            const ProtobufCMessage *sub =
                f->label == PROTOBUF_C_LABEL_REPEATED
                    ? (*(ProtobufCMessage *const *)at ? (*(ProtobufCMessage *const *const *)at)[k]
                                                      : NULL)
                    : *(const ProtobufCMessage *const *)at;
            if (sub != NULL && auth_confirms_a_fact(sub, depth - 1, field, size)) {
                char inner[AUTH_PATH_MAX];
                snprintf(inner, sizeof inner, "%s", field);
                if (f->label == PROTOBUF_C_LABEL_REPEATED)
                    snprintf(field, size, "%s[%zu]%s%s", f->name, k, inner[0] ? "." : "", inner);
                else
                    snprintf(field, size, "%s%s%s", f->name, inner[0] ? "." : "", inner);
                return 1;
            }
        }
    }
    return 0;
}

static int auth_mask_names_verified(const ProtobufCMessage *mask)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(mask->descriptor, "paths");
    if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label != PROTOBUF_C_LABEL_REPEATED)
        return 0;
    size_t n = *(const size_t *)((const char *)mask + f->quantifier_offset);
    char *const *paths = *(char *const *const *)((const char *)mask + f->offset);
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i], *dot = strrchr(p, '.');
        const char *last = dot ? dot + 1 : p;
        /* Verification is the flag, or the facts' provenance (a mask naming
         * it may drop a confirmation), or everything. */
        if (strcmp(p, "*") == 0 || strcmp(last, "verified") == 0 || strcmp(last, "provenance") == 0)
            return 1;
    }
    return 0;
}

int auth_request_sets_verified(const ProtobufCMessage *request, char *field, size_t size)
{
    const ProtobufCMessageDescriptor *d = request->descriptor;

    if (field && size)
        field[0] = '\0';
    if (auth_confirms_a_fact(request, 8, field, size)) {
        size_t n = strlen(field);
        snprintf(field + n, size - n, " (a CONFIRMED fact)");
        return 1;
    }

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED ||
            !auth_oneof_set(request, f))
            continue;
        const ProtobufCMessage *sub =
            *(const ProtobufCMessage *const *)((const char *)request + f->offset);
        if (sub == NULL)
            continue;
        if (strcmp(((const ProtobufCMessageDescriptor *)f->descriptor)->name,
                   "google.protobuf.FieldMask") == 0) {
            if (auth_mask_names_verified(sub)) {
                auth_rule_say(field, size, "%s", f->name);
                return 1;
            }
            continue;
        }
        const ProtobufCFieldDescriptor *v =
            protobuf_c_message_descriptor_get_field_by_name(sub->descriptor, "verified");
        if (v != NULL && v->type == PROTOBUF_C_TYPE_BOOL && v->label != PROTOBUF_C_LABEL_REPEATED &&
            *(const protobuf_c_boolean *)((const char *)sub + v->offset)) {
            auth_rule_say(field, size, "%s.verified", f->name);
            return 1;
        }
    }
    return 0;
}

/* ---- deciding ------------------------------------------------------------- */

typedef struct auth_match {
    const auth_identity *id;
    int group; /* match group ids, else the entity */
    int seen;  /* a value was not empty */
} auth_match;

static int auth_match_value(void *arg, const char *value)
{
    auth_match *m = arg;
    if (value[0] == '\0')
        return 0;
    m->seen = 1;
    if (m->group)
        return auth_identity_has_group(m->id, value);
    return m->id->entity_id[0] != '\0' && strcmp(m->id->entity_id, value) == 0;
}

/* 1 if the values at `path` admit `id`; `why` says why not. */
static int auth_scope_admits(const auth_rule *r, const auth_identity *id,
                             const ProtobufCMessage *req, const char *path, int group, char *why,
                             size_t whylen)
{
    auth_match m = {.id = id, .group = group};
    int rc = auth_field_values(req, path, auth_match_value, &m);
    if (rc == 1)
        return 1;
    if (rc == 0 && !m.seen && (r->flags & AUTH_RULE_EMPTY_OK))
        return 1;
    auth_rule_say(why, whylen, "%s: role %s may call %s only for %s", path,
                  auth_role_name(id->role), r->method,
                  group ? "the Working Groups it chairs (the token's group_ids)"
                        : "its own entity (the token's entity_id)");
    return 0;
}

int auth_rule_allows(const auth_rule *rule, const auth_identity *id,
                     const ProtobufCMessage *request, void *check_arg, char *why, size_t whylen)
{
    char field[AUTH_PATH_MAX];

    if (rule == NULL || id == NULL) {
        auth_rule_say(why, whylen, "no rule admits this method");
        return -EACCES;
    }
    if (!(rule->roles & id->role) && !(rule->scoped & id->role)) {
        auth_rule_say(why, whylen, "role %s may not call %s", auth_role_name(id->role),
                      rule->method);
        return -EACCES;
    }
    if (!(rule->flags & AUTH_RULE_READ) &&
        !(id->role & (AUTH_ROLE_SECRETARIAT | AUTH_ROLE_SERVICE)) && request != NULL &&
        auth_request_sets_verified(request, field, sizeof field)) {
        auth_rule_say(why, whylen, "%s: only the secretariat changes verified flags", field);
        return -EACCES;
    }
    if (rule->roles & id->role)
        return 0;
    /* A scoped role: its own things only. */
    if (request == NULL) {
        auth_rule_say(why, whylen, "role %s may call %s only with a request to look at",
                      auth_role_name(id->role), rule->method);
        return -EACCES;
    }
    if (id->role == AUTH_ROLE_WG_CHAIR && rule->group)
        return auth_scope_admits(rule, id, request, rule->group, 1, why, whylen) ? 0 : -EACCES;
    if (rule->entity)
        return auth_scope_admits(rule, id, request, rule->entity, 0, why, whylen) ? 0 : -EACCES;
    if (rule->check) {
        auth_rule_say(why, whylen, "role %s may not call %s for this", auth_role_name(id->role),
                      rule->method);
        return rule->check(check_arg, id, request, why, whylen) == 1 ? 0 : -EACCES;
    }
    auth_rule_say(why, whylen, "role %s may not call %s", auth_role_name(id->role), rule->method);
    return -EACCES;
}
