/* seed.c: `compactctl seed`, loads the Compact's entities into membership.
 *
 * The seed file is a JSON array of CreateEntityRequest in proto3 JSON. Seeding
 * is idempotent: an entity the server already has (ALREADY_EXISTS) counts as
 * present, not as a failure, so the command can run at every deployment.
 */
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compact/membership/v1/membership.pb-c.h"

#define SEED_FILE "membership/entities.json"

typedef struct seed_counts {
    size_t created, present, failed;
} seed_counts;

static const struct option seed_opts[] = {
    { "file", required_argument, NULL, 'f' },
    { 0 },
};

static int seed_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* The default seed file: $COMPACT_SEED_DIR (only it, when set), else
 * <binary>/../share/compact/seed, else ./seed. 0 and buf, or -1 after
 * printing where it looked. */
static int seed_default_path(char *buf, size_t len)
{
    const char *env = getenv("COMPACT_SEED_DIR");
    if (env && *env) {
        snprintf(buf, len, "%s/%s", env, SEED_FILE);
        if (seed_exists(buf))
            return 0;
        fprintf(stderr, "compactctl: no seed file %s (from COMPACT_SEED_DIR)\n", buf);
        return -1;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(buf, len, "%s/../share/compact/seed/%s", dirname(exe), SEED_FILE);
        if (seed_exists(buf))
            return 0;
    }
    snprintf(buf, len, "seed/%s", SEED_FILE);
    if (seed_exists(buf))
        return 0;
    fprintf(stderr, "compactctl: no seed file: set COMPACT_SEED_DIR, install "
                    "share/compact/seed beside bin/, run from the source tree, or give "
                    "--file\n");
    return -1;
}

/* The acronym of a seed item, for messages. */
static const char *seed_label(const json_t *item)
{
    const json_t *entity = json_object_get(item, "entity");
    const char *acronym = json_string_value(json_object_get(entity ? entity : item, "acronym"));
    return acronym ? acronym : "?";
}

/* Creates one item and counts the outcome. Returns 0, or -1 when the server
 * cannot be reached and seeding should stop. */
static int seed_one(cli_ctx *ctx, const json_t *item, size_t index, seed_counts *n)
{
    char err[256];
    ProtobufCMessage *req = entities_create_request_from_json(item, err, sizeof err);
    if (!req) {
        fprintf(stderr, "compactctl: seed item %zu (%s): %s\n", index, seed_label(item), err);
        n->failed++;
        return 0;
    }
    call_result res;
    int rc = cli_call_quiet(ctx, "membership", &compact__membership__v1__membership__descriptor,
                            "CreateEntity", req, &res);
    protobuf_c_message_free_unpacked(req, NULL);
    if (rc == 0 && res.code == RPC_OK)
        n->created++;
    else if (rc == 0 && res.code == RPC_ALREADY_EXISTS)
        n->present++;
    else
        n->failed++;
    int unreachable = rc != 0 || res.code == RPC_UNAVAILABLE;
    if (rc == 0 && res.code == RPC_UNAVAILABLE)
        cli_report(ctx, "membership", &res);
    else if (rc == 0 && res.code != RPC_OK && res.code != RPC_ALREADY_EXISTS)
        fprintf(stderr, "compactctl: seed %s: %s: %s\n", seed_label(item),
                rpc_code_name(res.code), res.message);
    call_result_clear(&res);
    return unreachable ? -1 : 0;
}

static int seed_print(cli_ctx *ctx, const seed_counts *n)
{
    if (ctx->json) {
        json_t *j = json_pack("{s:I, s:I, s:I}", "created", (json_int_t)n->created,
                              "alreadyPresent", (json_int_t)n->present, "failed",
                              (json_int_t)n->failed);
        if (output_json(j) != 0)
            return CLI_EXIT_FAIL;
    } else {
        printf("created %zu, already present %zu, failed %zu\n", n->created, n->present,
               n->failed);
    }
    return n->failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int seed_load(cli_ctx *ctx, const char *path)
{
    json_t *items = cli_read_json(path);
    if (!items)
        return CLI_EXIT_FAIL;
    if (!json_is_array(items)) {
        fprintf(stderr, "compactctl: %s: expected a JSON array of CreateEntityRequest\n", path);
        json_decref(items);
        return CLI_EXIT_FAIL;
    }
    seed_counts n = { 0 };
    size_t count = json_array_size(items);
    for (size_t i = 0; i < count; i++) {
        if (seed_one(ctx, json_array_get(items, i), i, &n) < 0) {
            n.failed += count - i - 1; /* the server is gone: the rest fail too */
            break;
        }
    }
    json_decref(items);
    return seed_print(ctx, &n);
}

static int seed_cmd(cli_ctx *ctx, int argc, char **argv)
{
    const char *file = NULL;
    char path[PATH_MAX + 64];
    int c;
    while ((c = cli_getopt(ctx, argc, argv, seed_opts)) != -1) {
        if (c != 'f')
            return cli_getopt_stop(ctx, c);
        file = optarg;
    }
    if (optind < argc)
        return cli_usage_error(ctx, "unexpected argument \"%s\"", argv[optind]);
    if (!file && seed_default_path(path, sizeof path) < 0)
        return CLI_EXIT_FAIL;
    return seed_load(ctx, file ? file : path);
}

const cli_command seed_commands[] = {
    { .group = "seed",
      .fn = seed_cmd,
      .summary = "load the Compact's entities (idempotent)",
      .usage = "seed [--file PATH]\n\n"
               "Creates every entity of the seed file (a JSON array of\n"
               "CreateEntityRequest in proto3 JSON; \"-\" reads standard input). Entities\n"
               "already there count as present. Prints \"created N, already present M,\n"
               "failed K\" and exits 1 if any failed. The default file is\n"
               "membership/entities.json in $COMPACT_SEED_DIR, else in\n"
               "<binary>/../share/compact/seed, else in ./seed.\n" },
    { 0 },
};
