/* main.c: compactctl's global flags, the services it knows, dispatch, usage.
 *
 * Adding a service: its row in the catalog (common/base/catalog.c; its name
 * picks the environment variable COMPACT_<NAME>_ADDR) and one command table
 * in cli_tables.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

static const cli_command *const cli_tables[] = {
    health_commands,
    entities_commands,
    groups_commands,
    groups_plan_commands,
    notices_commands,
    projects_commands,
    analytics_commands,
    seed_commands,
    token_commands,
    audit_commands,
    NULL,
};

/* Global flags: values above every command option's (those are < 256). */
enum { CLI_G_ADDR = 0x1000, CLI_G_JSON, CLI_G_TIMEOUT, CLI_G_TOKEN };

static const struct option cli_global_opts[] = {
    {"addr", required_argument, NULL, CLI_G_ADDR},
    {"json", no_argument, NULL, CLI_G_JSON},
    {"timeout-ms", required_argument, NULL, CLI_G_TIMEOUT},
    {"token", required_argument, NULL, CLI_G_TOKEN},
    {"help", no_argument, NULL, 'h'},
    {0},
};

static const char cli_global_help[] =
    "Global flags (before or after the command):\n"
    "  --addr HOST:PORT  the service's address; default per service from\n"
    "                    COMPACT_<SERVICE>_ADDR, e.g. COMPACT_MEMBERSHIP_ADDR,\n"
    "                    else 127.0.0.1:50051 for membership\n"
    "  --json            print JSON instead of tables and field lines\n"
    "  --timeout-ms N    deadline of each call in milliseconds (default 10000)\n"
    "  --token JWT       the bearer token sent with every call; default\n"
    "                    COMPACT_TOKEN (`compactctl token issue` makes one)\n"
    "TLS: COMPACT_TLS_CA (the CA servers' certificates chain to), with\n"
    "COMPACT_TLS_CERT and COMPACT_TLS_KEY (this client's certificate): mutual TLS.\n"
    "  --help, -h        help; `compactctl <command> --help` for one command\n"
    "Exit status: 0 success, 1 the call failed, 2 bad command line.\n";

/* ---- usage ------------------------------------------------------------- */

static void cli_print_overview(FILE *out)
{
    fprintf(out, "usage: compactctl [--addr HOST:PORT] [--json] [--timeout-ms N] [--token JWT] "
                 "<command> [flags] [args]\n\nCommands:\n");
    for (const cli_command *const *t = cli_tables; *t; t++) {
        for (const cli_command *c = *t; c->group; c++) {
            char name[64];
            snprintf(name, sizeof name, "%s%s%s", c->group, c->verb ? " " : "",
                     c->verb ? c->verb : "");
            fprintf(out, "  %-21s %s\n", name, c->summary);
        }
    }
    fprintf(out, "\n%s", cli_global_help);
}

static void cli_print_usage(const cli_command *c, FILE *out)
{
    fprintf(out,
            "usage: compactctl %s\n(global flags --addr, --json, --timeout-ms also "
            "apply; see compactctl --help)\n",
            c->usage);
}

static void cli_print_group(const char *group, FILE *out)
{
    for (const cli_command *const *t = cli_tables; *t; t++)
        for (const cli_command *c = *t; c->group; c++)
            if (strcmp(c->group, group) == 0)
                cli_print_usage(c, out);
}

int cli_usage_error(cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    fputs("compactctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (ctx->cmd)
        cli_print_usage(ctx->cmd, stderr);
    return CLI_EXIT_USAGE;
}

/* ---- flags ------------------------------------------------------------- */

static int cli_merge_options(cli_ctx *ctx, const struct option *opts)
{
    if (ctx->merged_from == opts && opts)
        return 0;
    size_t n = 0;
    for (const struct option *o = cli_global_opts; o->name; o++)
        ctx->merged[n++] = *o;
    for (const struct option *o = opts; o && o->name; o++) {
        if (n + 1 >= CLI_MAX_OPTIONS)
            return -E2BIG;
        ctx->merged[n++] = *o;
    }
    memset(&ctx->merged[n], 0, sizeof ctx->merged[n]);
    ctx->merged_from = opts;
    return 0;
}

static int cli_parse_timeout(cli_ctx *ctx, const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || v > 3600 * 1000) {
        fprintf(stderr,
                "compactctl: --timeout-ms: expected milliseconds from 1 to "
                "3600000, got \"%s\"\n",
                s);
        return CLI_OPT_BAD;
    }
    ctx->timeout_ms = (int)v;
    return 0;
}

/* Applies a global flag; returns 0, or CLI_OPT_BAD. */
static int cli_apply_global(cli_ctx *ctx, int c, const char *value)
{
    switch (c) {
    case CLI_G_ADDR:
        ctx->addr = value;
        return 0;
    case CLI_G_JSON:
        ctx->json = 1;
        return 0;
    case CLI_G_TOKEN:
        ctx->token = value;
        return 0;
    default:
        return cli_parse_timeout(ctx, value);
    }
}

static int cli_report_bad_flag(int c, char **argv)
{
    const char *flag = argv[optind - 1];
    if (c == ':')
        fprintf(stderr, "compactctl: %s needs a value\n", flag);
    else if (optopt)
        fprintf(stderr, "compactctl: unknown flag -%c\n", optopt);
    else
        fprintf(stderr, "compactctl: unknown flag %s\n", flag);
    return CLI_OPT_BAD;
}

static int cli_getopt_with(cli_ctx *ctx, int argc, char **argv, const struct option *opts,
                           const char *optstring)
{
    if (cli_merge_options(ctx, opts) < 0) {
        fprintf(stderr, "compactctl: internal error: too many flags\n");
        return CLI_OPT_BAD;
    }
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, optstring, ctx->merged, NULL);
        if (c == 'h')
            return CLI_OPT_HELP;
        if (c == '?' || c == ':')
            return cli_report_bad_flag(c, argv);
        if (c < CLI_G_ADDR)
            return c;
        if (cli_apply_global(ctx, c, optarg) < 0)
            return CLI_OPT_BAD;
    }
}

int cli_getopt(cli_ctx *ctx, int argc, char **argv, const struct option *opts)
{
    return cli_getopt_with(ctx, argc, argv, opts, ":h");
}

int cli_parse_flags(cli_ctx *ctx, int argc, char **argv, const struct option *opts, cli_flag_fn fn,
                    void *draft)
{
    int c, rc;
    while ((c = cli_getopt(ctx, argc, argv, opts)) != -1) {
        rc = c < 0 ? -1 : fn(ctx, draft, c, optarg);
        if (rc == -1)
            return cli_getopt_stop(ctx, c);
        if (rc != 0)
            return rc;
    }
    return -1;
}

int cli_getopt_stop(cli_ctx *ctx, int c)
{
    if (c == CLI_OPT_HELP) {
        cli_print_usage(ctx->cmd, stdout);
        return CLI_EXIT_OK;
    }
    if (c != CLI_OPT_BAD)
        fprintf(stderr, "compactctl: internal error: unhandled flag %d\n", c);
    cli_print_usage(ctx->cmd, stderr);
    return CLI_EXIT_USAGE;
}

/* ---- services and calls ------------------------------------------------ */

const cli_service *cli_service_find(const char *name)
{
    for (const cli_service *s = catalog_services; s->name; s++)
        if (strcmp(s->name, name) == 0 || strcmp(s->api, name) == 0)
            return s;
    return NULL;
}

const char *cli_service_addr(cli_ctx *ctx, const cli_service *svc)
{
    if (ctx->addr)
        return ctx->addr;
    char var[64];
    size_t n = (size_t)snprintf(var, sizeof var, "COMPACT_%s_ADDR", svc->name);
    for (size_t i = 0; i < n && i < sizeof var; i++)
        var[i] = (char)toupper((unsigned char)var[i]);
    const char *env = getenv(var);
    if (env && *env)
        return env;
    char *addr = ctx->default_addr[svc - catalog_services];
    snprintf(addr, sizeof ctx->default_addr[0], "127.0.0.1:%d", svc->port);
    return addr;
}

/* The open client of `svc`, opening it on first use; NULL after printing why. */
static call_client *cli_client(cli_ctx *ctx, const cli_service *svc)
{
    size_t i = (size_t)(svc - catalog_services);
    if (ctx->clients[i])
        return ctx->clients[i];
    const char *addr = cli_service_addr(ctx, svc);
    const char *token = ctx->token ? ctx->token : getenv("COMPACT_TOKEN");
    const char *ca = getenv("COMPACT_TLS_CA");
    rpc_tls tls = {.cert_file = getenv("COMPACT_TLS_CERT"),
                   .key_file = getenv("COMPACT_TLS_KEY"),
                   .ca_file = ca};
    char *authorization = NULL;
    if (token && *token && asprintf(&authorization, "Bearer %s", token) < 0)
        return NULL;
    int rc = call_client_open(addr, ca && *ca ? &tls : NULL, authorization, &ctx->clients[i]);
    free(authorization);
    if (rc < 0) {
        fprintf(stderr, "compactctl: cannot open a client of %s at %s: %s\n", svc->name, addr,
                strerror(-rc));
        return NULL;
    }
    return ctx->clients[i];
}

int cli_report(cli_ctx *ctx, const char *svc_name, const call_result *res)
{
    const cli_service *svc = cli_service_find(svc_name);
    const char *addr = svc ? cli_service_addr(ctx, svc) : "?";
    const char *code = rpc_code_name(res->code);
    const char *sep = res->message[0] ? ": " : "";
    if (res->code == RPC_UNAVAILABLE)
        fprintf(stderr, "compactctl: %s: cannot reach %s at %s%s%s\n", code, svc_name, addr, sep,
                res->message);
    else if (res->code == RPC_DEADLINE_EXCEEDED)
        fprintf(stderr, "compactctl: %s: no answer from %s at %s within %d ms%s%s\n", code,
                svc_name, addr, ctx->timeout_ms, sep, res->message);
    else
        fprintf(stderr, "compactctl: %s%s%s\n", code, sep, res->message);
    return CLI_EXIT_FAIL;
}

int cli_call_quiet(cli_ctx *ctx, const char *svc_name, const ProtobufCServiceDescriptor *svc,
                   const char *method, const ProtobufCMessage *req, call_result *res)
{
    memset(res, 0, sizeof *res);
    const cli_service *s = cli_service_find(svc_name);
    call_client *c = s ? cli_client(ctx, s) : NULL;
    if (!c) {
        if (!s)
            fprintf(stderr, "compactctl: internal error: no service \"%s\"\n", svc_name);
        return CLI_EXIT_FAIL;
    }
    if (call_unary(c, svc, method, req, ctx->timeout_ms, res) < 0)
        return cli_report(ctx, svc_name, res);
    return 0;
}

int cli_call(cli_ctx *ctx, const char *svc_name, const ProtobufCServiceDescriptor *svc,
             const char *method, const ProtobufCMessage *req, call_result *res)
{
    int rc = cli_call_quiet(ctx, svc_name, svc, method, req, res);
    if (rc == 0 && res->code != RPC_OK)
        rc = cli_report(ctx, svc_name, res);
    if (rc != 0)
        call_result_clear(res);
    return rc;
}

int cli_watch(cli_ctx *ctx, const char *svc_name, const ProtobufCServiceDescriptor *svc,
              const char *method, const ProtobufCMessage *req, int timeout_ms,
              rpc_message_cb on_message, void *arg)
{
    const cli_service *s = cli_service_find(svc_name);
    call_client *c = s ? cli_client(ctx, s) : NULL;
    call_result res;
    if (!c) {
        if (!s)
            fprintf(stderr, "compactctl: internal error: no service \"%s\"\n", svc_name);
        return CLI_EXIT_FAIL;
    }
    call_watch(c, svc, method, req, timeout_ms, on_message, arg, &res);
    if (res.code == RPC_OK || (res.code == RPC_DEADLINE_EXCEEDED && timeout_ms > 0))
        return 0;
    return cli_report(ctx, svc_name, &res);
}

json_t *cli_read_json(const char *path)
{
    json_error_t err;
    int from_stdin = strcmp(path, "-") == 0;
    json_t *j = from_stdin ? json_loadf(stdin, 0, &err) : json_load_file(path, 0, &err);
    if (!j && err.line > 0)
        fprintf(stderr, "compactctl: %s:%d: %s\n", from_stdin ? "<stdin>" : path, err.line,
                err.text);
    else if (!j)
        fprintf(stderr, "compactctl: %s\n", err.text);
    return j;
}

static void cli_ctx_close(cli_ctx *ctx)
{
    for (size_t i = 0; i < CLI_MAX_SERVICES; i++) {
        call_client_close(ctx->clients[i]);
        ctx->clients[i] = NULL;
    }
}

/* ---- dispatch ---------------------------------------------------------- */

/* The row of `group` and `verb`; with verb NULL, the group's first row. */
static const cli_command *cli_find(const char *group, const char *verb)
{
    for (const cli_command *const *t = cli_tables; *t; t++)
        for (const cli_command *c = *t; c->group; c++)
            if (strcmp(c->group, group) == 0 && (!verb || !c->verb || strcmp(c->verb, verb) == 0))
                return c;
    return NULL;
}

static int cli_is_help(const char *arg)
{
    return arg && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0);
}

static int cli_run(cli_ctx *ctx, const cli_command *c, int argc, char **argv)
{
    ctx->cmd = c;
    optind = 0; /* GNU getopt: start over with the command's argv */
    return c->fn(ctx, argc, argv);
}

/* argv[0] is the group. */
static int cli_dispatch(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 1) {
        cli_print_overview(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *group = argv[0], *verb = argc > 1 ? argv[1] : NULL;
    const cli_command *c = cli_find(group, NULL);
    if (!c) {
        fprintf(stderr, "compactctl: unknown command \"%s\"\n", group);
        cli_print_overview(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!c->verb)
        return cli_run(ctx, c, argc, argv);
    if (cli_is_help(verb)) {
        cli_print_group(group, stdout);
        return CLI_EXIT_OK;
    }
    c = verb ? cli_find(group, verb) : NULL;
    if (!c) {
        if (verb)
            fprintf(stderr, "compactctl: %s: unknown verb \"%s\"\n", group, verb);
        else
            fprintf(stderr, "compactctl: %s: which verb?\n", group);
        cli_print_group(group, stderr);
        return CLI_EXIT_USAGE;
    }
    return cli_run(ctx, c, argc - 1, argv + 1);
}

/* Reads the flags before the command; -1 to go on, else the exit status. */
static int cli_parse_global(cli_ctx *ctx, int argc, char **argv)
{
    int c = cli_getopt_with(ctx, argc, argv, NULL, "+:h");
    if (c == CLI_OPT_HELP) {
        cli_print_overview(stdout);
        return CLI_EXIT_OK;
    }
    if (c != -1) {
        cli_print_overview(stderr);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

int main(int argc, char **argv)
{
    cli_ctx ctx = {.timeout_ms = CLI_DEFAULT_TIMEOUT_MS};
    /* The runtime's logs are for servers; a person wants only our messages. */
    log_init("compactctl", LOG_LEVEL_ERROR);
    int rc = cli_parse_global(&ctx, argc, argv);
    if (rc >= 0)
        return rc;
    rc = cli_dispatch(&ctx, argc - optind, argv + optind);
    cli_ctx_close(&ctx);
    return rc;
}
