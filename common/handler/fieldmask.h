/* fieldmask.h: an Update request's update_mask, read against a table.
 *
 * AIP-134: an update names the fields it changes; "*" means every updatable
 * field. A message's fields are described once, in a table, and the mask is
 * read against it: a path is a field's name as in the .proto (snake_case) or
 * its JSON name (lowerCamelCase). Fields that exist but may not be updated
 * here carry the reason, so the client learns what to do instead:
 *
 *     static const fieldmask_field group_fields[] = {
 *         {"code", GF_CODE, NULL},
 *         {"members", 0, "cannot be updated here; use AddMember and RemoveMember"},
 *         {"etag", 0, "is output only"},
 *         {NULL, 0, NULL},
 *     };
 *
 * Failures end the call with INVALID_ARGUMENT naming "update_mask" and list
 * the updatable fields.
 */
#ifndef COMPACT_FIELDMASK_H
#define COMPACT_FIELDMASK_H

#include "google/protobuf/field_mask.pb-c.h"
#include "rpc.h"

typedef struct fieldmask_field {
    const char *name; /* snake_case, as in the .proto */
    unsigned bit;     /* the caller's bit for the field (0: none) */
    /* Why an update may not name it ("is output only", "is set on create
     * only", "cannot be updated here; use X"), or NULL: it may. A field with
     * a bit and a reason is an input of creates only. */
    const char *why;
} fieldmask_field;

/* The bits the paths of `mask` name in `fields` (ended by a row whose name
 * is NULL). Returns 0 and sets *bits, or -1 after failing the call: an empty
 * mask, an unknown path, or a field that cannot be updated. */
int fieldmask_parse(rpc_call *call, const Google__Protobuf__FieldMask *mask,
                    const fieldmask_field *fields, unsigned *bits);

/* The bits of every field an update may name: what "*" means. */
unsigned fieldmask_all(const fieldmask_field *fields);

/* 1 if `path` names field `name` (snake_case) in either spelling. */
int fieldmask_path_is(const char *path, const char *name);

#endif
