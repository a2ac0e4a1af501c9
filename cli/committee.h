/* committee.h: what committee.c shares with committee_decisions.c, the two
 * halves of `compactctl committee ...`, the client of
 * compact.committee.v1.Committee.
 *
 *   committee.c            composition, representatives; the helpers below
 *   committee_meetings.c   meetings and their action points
 *   committee_decisions.c  decisions and their effects
 *   committee_funding.c    catalytic envelopes and proposals
 *
 * The commands are nouns with verbs: `committee meetings get 2019-04-16`.
 * Each noun is one row of committee_commands (cli.h) whose handler picks the
 * verb from a table of its own (committee_dispatch): every verb has its own
 * usage, printed on --help and with every usage error.
 *
 * Entities are typed by acronym or id, Working Groups by code or id,
 * meetings by date or id, projects by IATI identifier or id; tables print
 * acronyms and codes. Money is typed in major units ("1250000.50") and
 * turned into integer minor units by digits, and printed from minor units
 * (output_money): never a floating point number.
 *
 * Conventions are those of cli.h and groups.h: functions that can fail
 * return 0 or a process exit status (CLI_EXIT_FAIL after printing the
 * server's error, CLI_EXIT_USAGE after printing the usage).
 */
#ifndef COMPACT_CLI_COMMITTEE_H
#define COMPACT_CLI_COMMITTEE_H

#include "cli.h"
#include "compact/committee/v1/committee.pb-c.h"
#include "compact/membership/v1/membership.pb-c.h"
#include "compact/projects/v1/projects.pb-c.h"
#include "groups.h"

typedef Compact__Committee__V1__Meeting cm_meeting;
typedef Compact__Committee__V1__Decision cm_decision;
typedef Compact__Committee__V1__Envelope cm_envelope;
typedef Compact__Committee__V1__Proposal cm_proposal;

/* The service's name in the catalog and its descriptor. */
extern const char committee_service[];
extern const ProtobufCServiceDescriptor *const committee_svc;

/* ---- verbs --------------------------------------------------------------- */

/* Runs the verb argv[1] of noun argv[0] from `verbs` (rows with group
 * "committee <noun>", ended by a zero row): ctx->cmd becomes that row, so
 * that its usage is the one printed. --help lists every verb's usage. */
int committee_dispatch(cli_ctx *ctx, const cli_command *verbs, int argc, char **argv);

/* The nouns of committee_meetings.c, committee_decisions.c and
 * committee_funding.c, for committee_commands. */
int committee_cmd_meetings(cli_ctx *ctx, int argc, char **argv);
int committee_cmd_decisions(cli_ctx *ctx, int argc, char **argv);
int committee_cmd_envelope(cli_ctx *ctx, int argc, char **argv);
int committee_cmd_proposals(cli_ctx *ctx, int argc, char **argv);

/* ---- flags ---------------------------------------------------------------- */

/* --page-size ('p'), --page-token ('t'), --all ('a'), for an option table. */
#define COMMITTEE_PAGE_OPTS                                                                        \
    {"page-size", required_argument, NULL, 'p'}, {"page-token", required_argument, NULL, 't'},     \
    {                                                                                              \
        "all", no_argument, NULL, 'a'                                                              \
    }

/* Applies one of the paging flags: 0 taken, -1 not one of them, else an
 * exit status. */
int committee_page_flag(cli_ctx *ctx, int c, const char *v, int32_t *page_size, const char **token,
                        int *all);

/* A day, YYYY-MM-DD (a real date), for flag `flag`; else a usage error
 * naming the flag. 0 or CLI_EXIT_USAGE. */
int committee_check_date(cli_ctx *ctx, const char *flag, const char *v);

/* A whole number from lo to hi for flag `flag` into *out; else a usage
 * error. 0 or CLI_EXIT_USAGE. */
int committee_parse_int(cli_ctx *ctx, const char *flag, const char *v, long lo, long hi,
                        int32_t *out);

/* "1250000.50" in `currency` -> minor units (the currency's ISO 4217
 * decimals, at most that many typed; "," between thousands allowed), above
 * zero. 0 or -EINVAL. */
int committee_parse_amount(const char *s, const char *currency, int64_t *out);

/* The whole of `path` ("-": standard input), at most 4 MiB, as a string;
 * NULL after saying why. Caller frees. */
char *committee_read_text(const char *path);

/* Reads `path` ("-": standard input) as a `wrapper` request in proto3 JSON,
 * or as its message field `field` alone ({"date": ...} for a
 * CreateMeetingRequest's "meeting"). A new request, caller frees with
 * protobuf_c_message_free_unpacked(); NULL after saying why. */
ProtobufCMessage *committee_request_from_json(const char *path,
                                              const ProtobufCMessageDescriptor *wrapper,
                                              const char *field);

/* ---- names to ids ------------------------------------------------------------ */

/* The id of the meeting `key`: itself if it starts with "mtg_", else the
 * meeting on that date (GetMeeting). 0 and *id (caller frees), or an exit
 * status. */
int committee_resolve_meeting(cli_ctx *ctx, const char *key, char **id);

/* ---- ids to names, for tables ------------------------------------------------- */

/* Entity and group ids seen in what is printed, and their acronyms and
 * codes once fetched (one BatchGetEntities, one BatchGetWorkingGroups,
 * quietly: an id nobody answers for is printed as it is). */
typedef struct committee_names {
    char **entities, **groups; /* borrowed strings */
    size_t n_entities, n_groups, cap_entities, cap_groups;
    call_result entities_res, groups_res;
} committee_names;

void committee_names_entity(committee_names *nm, const char *id);
void committee_names_group(committee_names *nm, const char *id);
void committee_names_fetch(cli_ctx *ctx, committee_names *nm);
/* The acronym of entity `id` (the code of group `id`), or `id` itself. */
const char *committee_acronym(const committee_names *nm, const char *id);
const char *committee_code(const committee_names *nm, const char *id);
void committee_names_free(committee_names *nm);

/* ---- printing ------------------------------------------------------------------- */

/* A List command's output while its pages arrive: a JSON array (--json),
 * or a table and the pages' replies, kept until the table is filled (it
 * needs names, fetched once for every page). */
typedef struct committee_sink {
    json_t *array;
    output_table *table;
    call_result *pages;
    size_t n_pages;
} committee_sink;

/* 0, or an exit status (out of memory). */
int committee_sink_init(cli_ctx *ctx, committee_sink *sink, const char *const *headers,
                        size_t ncols);
/* Takes the page `res` (cleared): its `n` items go to the JSON array at
 * once, or the reply is kept for the table. 0 or an exit status. */
int committee_sink_keep(committee_sink *sink, call_result *res, ProtobufCMessage **items, size_t n);
/* One page of the committee's List `method`: `request` (a List request,
 * with a page_token field) sent with `token`, the items of the reply's
 * repeated message field `items` into the sink, the next page's token into
 * *next (malloc'd; NULL at the end). 0 or an exit status. */
int committee_list_page(cli_ctx *ctx, const char *method, ProtobufCMessage *request,
                        const char *token, const char *items, committee_sink *sink, char **next);
/* Frees the kept pages (committee_emit frees the array and the table). */
void committee_sink_free(committee_sink *sink);

#define COMMITTEE_ENUM_NAME 64 /* a buffer for committee_enum_name() */
#define COMMITTEE_ENUM(desc, value, buf)                                                           \
    committee_enum_name((desc), (int)(value), (buf), sizeof(buf))

/* Adds the field `name` with a printf-formatted value to a field table. */
void committee_field(output_table *t, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints and frees a table (NULL: out of memory); an exit status. */
int committee_print(output_table *t);

/* Prints a JSON array of `items` (--json) or the table; frees both. `rc`
 * is the status of what filled them: on a failure nothing is printed. */
int committee_emit(json_t *array, output_table *t, int rc);

/* The name of `value` in `desc` without the enum's prefix, lower case and
 * with dashes: DECISION_TYPE_APPROVE_WORK_PLAN -> "approve-work-plan". */
const char *committee_enum_name(const ProtobufCEnumDescriptor *desc, int value, char *buf,
                                size_t len);

/* Parses a value typed as committee_enum_name() prints it, or as the
 * enum's own name, for flag `flag` (0, UNSPECIFIED, refused); else a usage
 * error listing `choices`. 0 or CLI_EXIT_USAGE. */
int committee_parse_enum(cli_ctx *ctx, const char *flag, const ProtobufCEnumDescriptor *desc,
                         const char *choices, const char *v, int *out);

/* Calls `method` of the committee and prints its reply (field lines, or
 * --json the message): a Representative, Meeting, Decision, Envelope or
 * Proposal. */
int committee_call_print(cli_ctx *ctx, const char *method, const ProtobufCMessage *req);

/* create_time and update_time field lines. */
void committee_times(output_table *t, const Google__Protobuf__Timestamp *created,
                     const Google__Protobuf__Timestamp *updated);

/* Field lines of one record of the committee, resolving names first. */
int committee_print_meeting(cli_ctx *ctx, const cm_meeting *m);
int committee_print_decision(cli_ctx *ctx, const cm_decision *d);
int committee_print_envelope(const cm_envelope *e);
int committee_print_proposal(cli_ctx *ctx, const cm_proposal *p);

/* One "fact" line per entry of a record's provenance: "<field>: confirmed
 * (<publisher>, <title>, <date>, <url>)" or "<field>: assumed: <note>". */
void committee_print_facts(output_table *t, Compact__Common__V1__Provenance *const *v, size_t n);

#endif
