/* cli.h: the inside of compactctl, the command-line client of the suite.
 *
 * compactctl [global flags] <group> [<verb>] [flags] [arguments]
 *
 * Design
 * ------
 * Each resource group lives in its own file (entities.c, health.c, seed.c)
 * and exports a table of cli_command rows: group, verb, handler, usage. main.c
 * knows only the list of tables, so a new service (workgroups, projects,
 * analytics) is one new file, one row in the service table of main.c and one
 * line in its list of command tables.
 *
 * A handler receives argv starting at its verb (or at the group for a row
 * without verb), reads its flags with cli_getopt() (which also takes the
 * global flags anywhere on the line), calls services through cli_call(), and
 * returns the process exit status: CLI_EXIT_OK, CLI_EXIT_FAIL (the call
 * failed, the message is already on stderr) or CLI_EXIT_USAGE.
 *
 * Calls are blocking: cli_call() runs a private libuv loop until the reply
 * arrives. One connection per service is opened on first use and closed by
 * cli_ctx_close() at exit. Nothing here calls gRPC directly: common/rpc.h is
 * the only door to it.
 */
#ifndef COMPACT_CLI_H
#define COMPACT_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "catalog.h"
#include "rpc.h"

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,  /* the server refused or could not be reached */
    CLI_EXIT_USAGE = 2, /* bad command line; the usage was printed */
};

#define CLI_DEFAULT_TIMEOUT_MS 10000
#define CLI_MAX_OPTIONS 40 /* global plus one command's long options */
#define CLI_MAX_SERVICES 8

/* ---- calls (call.c) ------------------------------------------------------ */

/* A blocking client of one service: its own loop, runtime and channel. */
typedef struct call_client call_client;

/* The outcome of one call. `reply` is an unpacked copy owned by the result
 * (NULL unless code is RPC_OK); call_result_clear() frees it. */
typedef struct call_result {
    rpc_code code;
    char message[512];
    ProtobufCMessage *reply;
} call_result;

/* Opens a client of `target` ("host:port"), over TLS when `tls` is not
 * NULL, sending `authorization` ("Bearer <token>", may be NULL) with every
 * call. Returns 0 and sets *out, or a negative errno (nothing is left open
 * then; -EINVAL when a TLS file cannot be read). Connecting is lazy. */
int call_client_open(const char *target, const rpc_tls *tls, const char *authorization,
                     call_client **out);

/* Closes the channel, frees the runtime and closes the loop. NULL ok. */
void call_client_close(call_client *c);

/* Calls `method` of `svc` with `req` and waits for the answer, at most
 * `timeout_ms` (<= 0: no deadline). Always fills *res; returns 0, or a
 * negative errno if the call could not even start (res->code is then
 * RPC_INTERNAL with the reason in res->message). */
int call_unary(call_client *c, const ProtobufCServiceDescriptor *svc, const char *method,
               const ProtobufCMessage *req, int timeout_ms, call_result *res);

/* Calls server-streaming `method` with `req` and waits for its end:
 * `on_message` runs with each message (valid only during the callback), then
 * *res gets the final status (its reply stays NULL). `timeout_ms` <= 0: no
 * deadline. Returns as call_unary. */
int call_watch(call_client *c, const ProtobufCServiceDescriptor *svc, const char *method,
               const ProtobufCMessage *req, int timeout_ms, rpc_message_cb on_message, void *arg,
               call_result *res);

/* Frees res->reply and sets it to NULL. */
void call_result_clear(call_result *res);

/* ---- the command line (main.c) ------------------------------------------- */

/* A service compactctl talks to: a row of the catalog (catalog.h), whose
 * name also picks COMPACT_<NAME>_ADDR. */
typedef catalog_service cli_service;

typedef struct cli_ctx cli_ctx;

/* Runs one command. argv[0] is the verb (or the group for a row without
 * verb). Returns the process exit status. */
typedef int (*cli_fn)(cli_ctx *ctx, int argc, char **argv);

typedef struct cli_command {
    const char *group; /* "entities" */
    const char *verb;  /* "list"; NULL: the group is the command ("health") */
    cli_fn fn;
    const char *summary; /* one line for the overall usage */
    const char *usage;   /* the synopsis and flags, printed by --help */
} cli_command;

struct cli_ctx {
    const char *addr;  /* --addr, or NULL: each service's default */
    const char *token; /* --token, or NULL: COMPACT_TOKEN (never printed) */
    int json;          /* --json */
    int timeout_ms;    /* --timeout-ms */
    const cli_command *cmd;
    /* private: the merged option table of cli_getopt and open clients */
    struct option merged[CLI_MAX_OPTIONS];
    const struct option *merged_from;
    call_client *clients[CLI_MAX_SERVICES]; /* by index in catalog_services */
    char default_addr[CLI_MAX_SERVICES][32];
};

/* Values cli_getopt() returns besides a command's own option values. */
enum {
    CLI_OPT_HELP = -2, /* --help or -h: the command prints its usage, exits 0 */
    CLI_OPT_BAD = -3,  /* unknown flag or missing value; already reported */
};

/* getopt_long() over the command's `opts` (terminated by a zero row; their
 * `val`s below 256, flag NULL) plus the global flags, which it applies to ctx itself. Returns the `val` of the next
 * command option (its value in optarg), -1 after the last flag (optind then
 * indexes the first positional argument; flags and arguments may mix), or
 * CLI_OPT_HELP / CLI_OPT_BAD. The dispatcher resets getopt before each
 * command. */
int cli_getopt(cli_ctx *ctx, int argc, char **argv, const struct option *opts);

/* Ends a command on CLI_OPT_HELP (usage to stdout, returns 0) or anything
 * else (usage to stderr, returns CLI_EXIT_USAGE). */
int cli_getopt_stop(cli_ctx *ctx, int c);

/* Applies one command flag `c` with value `v` (NULL for a flag without one)
 * to `draft`: 0 taken, -1 not one of its flags, else an exit status (the
 * message is already printed). */
typedef int (*cli_flag_fn)(cli_ctx *ctx, void *draft, int c, char *v);

/* The flag loop of a command: every flag of `opts` goes through `fn`.
 * Returns -1 when all were taken (optind then indexes the first argument),
 * else the exit status to end the command with (usage already printed for
 * --help or a bad flag). */
int cli_parse_flags(cli_ctx *ctx, int argc, char **argv, const struct option *opts, cli_flag_fn fn,
                    void *draft);

/* Prints "compactctl: <printf message>" and the command's usage to stderr;
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The row of service `name` ("membership" or its API's full name), or NULL. */
const cli_service *cli_service_find(const char *name);

/* The address to reach `svc`: --addr, else $COMPACT_<NAME>_ADDR, else
 * 127.0.0.1 and the catalog's port. The string lives as long as `ctx`. */
const char *cli_service_addr(cli_ctx *ctx, const cli_service *svc);

/* Calls `method` of service `svc_name` and waits (see call_unary). On
 * failure prints "compactctl: <CODE>: <message>" to stderr (naming the
 * address when the server cannot be reached) and returns CLI_EXIT_FAIL with
 * *res cleared; on success returns 0 and the caller clears *res. */
int cli_call(cli_ctx *ctx, const char *svc_name, const ProtobufCServiceDescriptor *svc,
             const char *method, const ProtobufCMessage *req, call_result *res);

/* Like cli_call(), but prints nothing: for callers that judge the code
 * themselves (seed counts ALREADY_EXISTS as success). Returns 0 if the call
 * started (any code), else CLI_EXIT_FAIL after printing why. */
int cli_call_quiet(cli_ctx *ctx, const char *svc_name, const ProtobufCServiceDescriptor *svc,
                   const char *method, const ProtobufCMessage *req, call_result *res);

/* Watches server-streaming `method` of service `svc_name` (see call_watch)
 * for at most `timeout_ms` (<= 0: until the server ends it). Returns 0 when
 * the stream ended with OK, or with DEADLINE_EXCEEDED when `timeout_ms` was
 * given (the watch ran its time); else prints as cli_call and returns
 * CLI_EXIT_FAIL. */
int cli_watch(cli_ctx *ctx, const char *svc_name, const ProtobufCServiceDescriptor *svc,
              const char *method, const ProtobufCMessage *req, int timeout_ms,
              rpc_message_cb on_message, void *arg);

/* Prints "compactctl: <CODE>: <message>" for a failed result. Returns
 * CLI_EXIT_FAIL. */
int cli_report(cli_ctx *ctx, const char *svc_name, const call_result *res);

/* Reads JSON from the file `path` ("-": standard input). Returns a new
 * reference, or NULL after printing "compactctl: <path>:<line>: <problem>". */
json_t *cli_read_json(const char *path);

/* ---- printing (output.c) ------------------------------------------------- */

/* A text table: columns sized to the widest cell (in characters), two
 * spaces apart, the last column left ragged. Also serves for one record as
 * aligned "name:  value" lines (a two-column table without header). Cells
 * are copied. A row that could not be stored (ENOMEM) makes printing fail. */
typedef struct output_table output_table;

/* A table with `ncols` columns titled `headers` (NULL: no header row). NULL
 * on ENOMEM. */
output_table *output_table_new(const char *const *headers, size_t ncols);

/* Appends a row of ncols cells (NULL prints as empty). 0 or -ENOMEM. */
int output_table_add(output_table *t, const char *const *cells);

/* Appends the row { "name:", value } to a two-column table; a NULL value
 * adds nothing. 0 or -ENOMEM. */
int output_table_field(output_table *t, const char *name, const char *value);

/* Prints the table; 0, or -ENOMEM (after saying so on stderr) if a row was
 * lost, in which case nothing is printed to `out`. */
int output_table_print(const output_table *t, FILE *out);

void output_table_free(output_table *t); /* NULL ok */

/* Says "compactctl: out of memory" on stderr; returns CLI_EXIT_FAIL. */
int output_oom(void);

/* Prints `json` indented, with a final newline, to stdout. Steals the
 * reference (NULL, from a failed allocation, is output_oom()). Returns 0. */
int output_json(json_t *json);

/* "2026-11-30T03:19:51Z" from a google.protobuf.Timestamp message (NULL or
 * unset: ""), into buf. Returns buf. */
const char *output_time(const Google__Protobuf__Timestamp *ts, char *buf, size_t len);

/* "1,250,000.50" (with_currency 0) or "USD 1,250,000.50" (1) from `minor`
 * units of `currency`, by integer arithmetic with the currency's ISO 4217
 * decimals ("USD*", the US dollar equivalent, has the dollar's two; a code
 * the list does not know, two). Never a floating point number. Returns buf
 * (truncated to len). */
const char *output_money(const char *currency, int64_t minor, int with_currency, char *buf,
                         size_t len);

/* ---- command tables of the resource groups -------------------------------- */

extern const cli_command health_commands[];      /* health.c */
extern const cli_command entities_commands[];    /* entities.c */
extern const cli_command groups_commands[];      /* groups.c */
extern const cli_command groups_plan_commands[]; /* groups_plan.c */
extern const cli_command projects_commands[];    /* projects.c */
extern const cli_command notices_commands[];     /* notices.c */
extern const cli_command analytics_commands[];   /* analytics.c */
extern const cli_command seed_commands[];        /* seed.c */
extern const cli_command token_commands[];       /* token.c */
extern const cli_command audit_commands[];       /* audit.c */

/* A new CreateEntityRequest from proto3 JSON holding either a
 * CreateEntityRequest ({"entity": {...}}) or an Entity. Caller frees with
 * protobuf_c_message_free_unpacked(); NULL with the reason in err. Shared by
 * `entities create --from-json` and `seed`. */
ProtobufCMessage *entities_create_request_from_json(const json_t *json, char *err, size_t errlen);

#endif
