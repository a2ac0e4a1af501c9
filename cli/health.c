/* health.c: `compactctl health`, the grpc.health.v1 check that containers
 * and people run. The probe itself is common/health.h's health_probe().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "health.h"

static const struct option health_opts[] = {
    {0},
};

/* Prints the status; exit 0 only for SERVING. */
static int health_cmd_print(cli_ctx *ctx, const char *probed, int serving)
{
    const char *status = serving ? "SERVING" : "NOT_SERVING";
    if (ctx->json) {
        json_t *j = json_pack("{s:s, s:s}", "service", probed, "status", status);
        if (output_json(j) != 0)
            return CLI_EXIT_FAIL;
    } else {
        printf("%s\n", status);
    }
    return serving ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int health_cmd_unknown(cli_ctx *ctx, const char *name)
{
    fprintf(stderr, "compactctl: unknown service \"%s\"; known:", name);
    for (const cli_service *s = catalog_services; s->name; s++)
        fprintf(stderr, " %s", s->name);
    fputc('\n', stderr);
    return cli_getopt_stop(ctx, CLI_OPT_BAD);
}

static int health_cmd_check(cli_ctx *ctx, int argc, char **argv)
{
    int c;
    while ((c = cli_getopt(ctx, argc, argv, health_opts)) != -1)
        return cli_getopt_stop(ctx, c);
    if (argc - optind > 1)
        return cli_usage_error(ctx, "health takes at most one SERVICE");
    const char *name = optind < argc ? argv[optind] : NULL;
    const cli_service *svc = cli_service_find(name ? name : "membership");
    if (!svc)
        return health_cmd_unknown(ctx, name);
    /* No SERVICE: the server's overall status, named "" by the protocol. */
    const char *probed = name ? svc->api : "";
    const char *addr = cli_service_addr(ctx, svc);
    const char *ca = getenv("COMPACT_TLS_CA");
    rpc_tls tls = {.cert_file = getenv("COMPACT_TLS_CERT"),
                   .key_file = getenv("COMPACT_TLS_KEY"),
                   .ca_file = ca};
    int rc = health_probe_tls(addr, ca && *ca ? &tls : NULL, probed, ctx->timeout_ms);
    if (rc == -ETIMEDOUT) {
        fprintf(stderr, "compactctl: DEADLINE_EXCEEDED: %s at %s gave no answer within %d ms\n",
                svc->name, addr, ctx->timeout_ms);
        return CLI_EXIT_FAIL;
    }
    if (rc < 0) {
        fprintf(stderr, "compactctl: UNAVAILABLE: cannot reach %s at %s: %s\n", svc->name, addr,
                strerror(-rc));
        return CLI_EXIT_FAIL;
    }
    return health_cmd_print(ctx, probed, rc == 1);
}

const cli_command health_commands[] = {
    {.group = "health",
     .fn = health_cmd_check,
     .summary = "is a service serving? exit 0 only if SERVING",
     .usage = "health [SERVICE]\n\n"
              "Asks a service for its health (grpc.health.v1) and prints SERVING or\n"
              "NOT_SERVING; exits 0 only if SERVING, so containers can use it.\n"
              "SERVICE is a short or full name (membership,\n"
              "compact.membership.v1.Membership) and picks the address; without it\n"
              "the overall status of the membership server is asked.\n"},
    {0},
};
