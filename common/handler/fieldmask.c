/* fieldmask.c: update masks read against a table (see fieldmask.h). */
#include "fieldmask.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define UPDATABLE_TEXT_SIZE 512

int fieldmask_path_is(const char *path, const char *name)
{
    const char *p = path;

    if (strcmp(path, name) == 0)
        return 1;
    /* lowerCamelCase: "source_note" is "sourceNote" */
    for (const char *n = name; *n; n++, p++) {
        if (*n == '_' && n[1] >= 'a' && n[1] <= 'z') {
            n++;
            if (*p != *n - 'a' + 'A')
                return 0;
        } else if (*p != *n) {
            return 0;
        }
    }
    return *p == '\0';
}

unsigned fieldmask_all(const fieldmask_field *fields)
{
    unsigned all = 0;

    for (const fieldmask_field *f = fields; f->name; f++) {
        if (f->why == NULL)
            all |= f->bit;
    }
    return all;
}

/* "a, b, c": the updatable fields, for messages. */
static void updatable_text(const fieldmask_field *fields, char *buf, size_t size)
{
    size_t at = 0;

    buf[0] = '\0';
    for (const fieldmask_field *f = fields; f->name && at < size; f++) {
        if (f->bit && f->why == NULL)
            at += (size_t)snprintf(buf + at, size - at, "%s%s", at ? ", " : "", f->name);
    }
}

/* Fails the call: `path` (NULL: the mask is empty) and its problem. */
static int fail(rpc_call *call, const fieldmask_field *fields, const char *path,
                const char *problem)
{
    char updatable[UPDATABLE_TEXT_SIZE];

    updatable_text(fields, updatable, sizeof updatable);
    if (path == NULL)
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "update_mask: must name the fields to update (%s)", updatable);
    else
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "update_mask: \"%.100s\" %s (updatable: %s)",
                      path, problem, updatable);
    return -1;
}

/* The row for `path`, or NULL. */
static const fieldmask_field *find(const fieldmask_field *fields, const char *path)
{
    for (const fieldmask_field *f = fields; f->name; f++) {
        if (fieldmask_path_is(path, f->name))
            return f;
    }
    return NULL;
}

int fieldmask_parse(rpc_call *call, const Google__Protobuf__FieldMask *mask,
                    const fieldmask_field *fields, unsigned *bits)
{
    assert(fields != NULL && bits != NULL);
    *bits = 0;
    if (mask == NULL || mask->n_paths == 0)
        return fail(call, fields, NULL, NULL);
    for (size_t i = 0; i < mask->n_paths; i++) {
        const char *path = mask->paths[i];
        const fieldmask_field *f;

        if (strcmp(path, "*") == 0) {
            *bits |= fieldmask_all(fields);
            continue;
        }
        if ((f = find(fields, path)) == NULL)
            return fail(call, fields, path, "is an unknown field");
        if (f->why != NULL || f->bit == 0)
            return fail(call, fields, path, f->why ? f->why : "cannot be updated");
        *bits |= f->bit;
    }
    return 0;
}
