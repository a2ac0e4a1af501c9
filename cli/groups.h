/* groups.h: what groups.c shares with groups_plan.c, the two halves of
 * `compactctl groups ...` (one file would be too long to read at once).
 *
 * Everything here follows cli.h's conventions: functions that can fail
 * return 0 or a process exit status (CLI_EXIT_FAIL after printing the
 * server's error, CLI_EXIT_USAGE after printing the usage), never both a
 * result and a message.
 */
#ifndef COMPACT_CLI_GROUPS_H
#define COMPACT_CLI_GROUPS_H

#include "cli.h"
#include "compact/workgroups/v1/workgroups.pb-c.h"

#define GROUPS_MAX_PATHS 8 /* update_mask paths built from flags */

/* The service's name in the catalog and its descriptor. */
extern const char groups_service[];
extern const ProtobufCServiceDescriptor *const groups_svc;

/* ---- enums as people type them ----------------------------------------- */

typedef struct groups_name {
    const char *name; /* "in-progress" */
    int value;
} groups_name;

/* not-started, in-progress, done, blocked; ended by a NULL name. */
extern const groups_name groups_item_statuses[];

/* Parses `s` as a short name of `names` or an enum name of `desc`; a usage
 * error "<flag>: expected <choices>, got ..." otherwise. */
int groups_parse_enum(cli_ctx *ctx, const char *flag, const groups_name *names,
                      const ProtobufCEnumDescriptor *desc, const char *choices, const char *s,
                      int *out);

/* ---- names to ids --------------------------------------------------------- */

/* The id of group `key`: itself if it starts with "wg_", else looked up as
 * a code. 0 and *id (caller frees), or an exit status. */
int groups_resolve_group(cli_ctx *ctx, const char *key, char **id);

/* The id of entity `key`: itself if it starts with "ent_", else looked up
 * in membership as an acronym. 0 and *id (caller frees), or an exit status. */
int groups_resolve_entity(cli_ctx *ctx, const char *key, char **id);

/* ---- calls, flags, pages ---------------------------------------------------- */

/* Calls `method` of workgroups, whose reply is a WorkingGroup (item 0) or a
 * WorkPlanItem (item 1), and prints it (field lines or --json). */
int groups_call_print(cli_ctx *ctx, const char *method, const ProtobufCMessage *req, int item);

/* Exactly `n` positional arguments from optind (`what` names them for the
 * usage error). */
int groups_args(cli_ctx *ctx, int argc, char **argv, int n, const char *what);

/* Adds `path` to paths[0..*n) once (at most GROUPS_MAX_PATHS). */
void groups_mark(char **paths, size_t *n, const char *path);

/* --page-size N (1 to 1000) into *out. */
int groups_page_size(cli_ctx *ctx, const char *v, int32_t *out);

/* --page-size ('p'), --page-token ('t'), --all ('a'). */
extern const struct option groups_page_opts[];

/* Fetches the page at `token` into `sink`; sets *next to the next page's
 * token (caller frees; NULL on the last page). 0 or an exit status. */
typedef int (*groups_page_fn)(cli_ctx *ctx, void *req, const char *token, void *sink, char **next);

/* Fetches the page at `first` (NULL: the first page) and, with `all`, the
 * pages after it; without, tells on stderr how to get the next `what`. */
int groups_pages(cli_ctx *ctx, groups_page_fn page, void *req, const char *first, void *sink,
                 int all, const char *what);

#endif
