/* loadgen.c: a closed-loop gRPC load generator on gRPC core, for distinct
 * requests at rates the Python client cannot reach.
 *
 * h2load repeats one request body; grpcio spends about 200 microseconds of
 * client CPU per call. This tool sends prepared requests of any method to
 * any number of servers from one thread, keeping a fixed number of calls in
 * flight, and reports per label: calls, status codes, requests/s and the
 * latency percentiles seen by the client (start of the call to its status).
 *
 * The plan. A file made by bench/plan.py: groups of requests, each group
 * with a label ("GetProject"), a target name ("projects"), a method path
 * ("/compact.projects.v1.Projects/GetProject"), a weight and its request
 * bodies (packed protobuf). Two orders:
 *   --order mix       (default) each new call picks a group by weight (a
 *                     seeded generator, so runs repeat) and the group's next
 *                     body, cycling: a mixed workload, for --duration
 *                     seconds after --warmup seconds not recorded;
 *   --order sequence  every body of every group once, in file order, with
 *                     --in-flight calls at a time: loading data. --save FILE
 *                     keeps each reply (u32 index, u32 length, bytes, in the
 *                     order they arrive), e.g. for the ids of created things.
 * --count N stops after N calls in either order (sequence: cycling the file
 * if N is larger).
 *
 * Output: one JSON object on stdout (see lg_report); a summary on stderr.
 *
 * Usage:
 *   loadgen --target NAME=HOST:PORT [--target ...] --plan FILE
 *           [--in-flight 64] [--connections 4] [--order mix|sequence]
 *           [--duration 10] [--warmup 0] [--count N] [--seed 1]
 *           [--deadline-ms 30000] [--save FILE]
 *
 * Like bare_server.c, this is a tool beside the services, not one of them:
 * it may call grpc_* directly (docs/ARCHITECTURE.md keeps gRPC core inside
 * common/rpc for the services). One thread, one completion queue.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#define LG_MAX_TARGETS 8
#define LG_CODES 17

typedef struct lg_group {
    char *label, *target, *path;
    uint32_t weight;
    uint32_t n;         /* bodies */
    grpc_slice *bodies; /* n of them */
    uint32_t next;      /* the next body, mix order */
    int target_index;   /* into lg.targets */
    grpc_slice path_slice;
    /* results */
    uint32_t *lat_us;
    size_t nlat, caplat;
    uint64_t codes[LG_CODES];
    char first_error[256];
} lg_group;

typedef struct lg_target {
    char *name, *addr;
    grpc_channel **channels;
    uint32_t next_channel;
} lg_target;

typedef struct lg_call {
    lg_group *g;
    uint32_t index; /* the body's position in the plan (sequence order) */
    uint64_t start_ns;
    int recorded; /* started while recording */
    grpc_call *call;
    grpc_metadata_array initial_md, trailing_md;
    grpc_byte_buffer *send, *recv;
    grpc_status_code status;
    grpc_slice details;
} lg_call;

static struct lg {
    lg_target targets[LG_MAX_TARGETS];
    int ntargets;
    lg_group *groups;
    uint32_t ngroups;
    uint64_t total_weight;
    grpc_completion_queue *cq;
    /* options */
    const char *plan_path, *save_path;
    int in_flight, connections, sequence;
    double duration, warmup;
    uint64_t count;
    uint64_t seed;
    int deadline_ms;
    /* progress */
    uint64_t started, finished;
    uint32_t seq_group, seq_body; /* sequence order: the next body */
    uint64_t seq_index;
    uint64_t record_from_ns, stop_at_ns, recorded_ns;
    uint64_t rec_start_ns, rec_end_ns;
    FILE *save;
} lg;

static uint64_t lg_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lg_die(const char *what)
{
    fprintf(stderr, "loadgen: %s\n", what);
    exit(2);
}

static void *lg_alloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);

    if (p == NULL)
        lg_die("out of memory");
    return p;
}

/* ---- the plan ----------------------------------------------------------- */

static void lg_read(FILE *f, void *buf, size_t n)
{
    if (n && fread(buf, 1, n, f) != n)
        lg_die("the plan ends early");
}

static uint32_t lg_u32(FILE *f)
{
    unsigned char b[4];

    lg_read(f, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static char *lg_str(FILE *f)
{
    unsigned char b[2];
    lg_read(f, b, 2);
    size_t n = (size_t)b[0] | (size_t)b[1] << 8;
    char *s = lg_alloc(n + 1);
    lg_read(f, s, n);
    return s;
}

/* Format (little-endian): "CPLAN1\n", u32 groups; per group: str label,
 * str target, str path, u32 weight, u32 bodies, then per body u32 length
 * and the bytes; a str is u16 length and the bytes. */
static void lg_load_plan(void)
{
    FILE *f = fopen(lg.plan_path, "rb");
    char magic[7];

    if (f == NULL)
        lg_die("cannot open the plan");
    lg_read(f, magic, 7);
    if (memcmp(magic, "CPLAN1\n", 7) != 0)
        lg_die("not a plan (bench/plan.py writes them)");
    lg.ngroups = lg_u32(f);
    lg.groups = lg_alloc(lg.ngroups * sizeof *lg.groups);
    for (uint32_t i = 0; i < lg.ngroups; i++) {
        lg_group *g = &lg.groups[i];
        g->label = lg_str(f);
        g->target = lg_str(f);
        g->path = lg_str(f);
        g->weight = lg_u32(f);
        g->n = lg_u32(f);
        g->bodies = lg_alloc(g->n * sizeof *g->bodies);
        for (uint32_t k = 0; k < g->n; k++) {
            uint32_t len = lg_u32(f);
            g->bodies[k] = grpc_slice_malloc(len);
            lg_read(f, GRPC_SLICE_START_PTR(g->bodies[k]), len);
        }
        g->target_index = -1;
        for (int t = 0; t < lg.ntargets; t++)
            if (strcmp(lg.targets[t].name, g->target) == 0)
                g->target_index = t;
        if (g->target_index < 0) {
            fprintf(stderr, "loadgen: group %s names target %s: give --target %s=HOST:PORT\n",
                    g->label, g->target, g->target);
            exit(2);
        }
        g->path_slice = grpc_slice_from_static_string(g->path);
        lg.total_weight += g->weight;
    }
    fclose(f);
}

/* ---- calls -------------------------------------------------------------- */

static uint64_t lg_random(void)
{
    /* xorshift64*: deterministic for a seed. */
    lg.seed ^= lg.seed >> 12;
    lg.seed ^= lg.seed << 25;
    lg.seed ^= lg.seed >> 27;
    return lg.seed * 2685821657736338717ULL;
}

/* The next (group, body) to send, or 0 when there is none. */
static int lg_next(lg_group **g, uint32_t *body, uint32_t *index)
{
    if (lg.count && lg.started >= lg.count)
        return 0;
    if (lg.sequence) {
        while (lg.seq_group < lg.ngroups && lg.seq_body >= lg.groups[lg.seq_group].n) {
            lg.seq_group++;
            lg.seq_body = 0;
        }
        if (lg.seq_group >= lg.ngroups) {
            if (!lg.count)
                return 0;
            lg.seq_group = 0; /* --count beyond the plan: cycle */
            lg.seq_body = 0;
            return lg_next(g, body, index);
        }
        *g = &lg.groups[lg.seq_group];
        *body = lg.seq_body++;
        *index = (uint32_t)lg.seq_index++;
        return 1;
    }
    if (lg_now_ns() >= lg.stop_at_ns)
        return 0;
    uint64_t pick = lg_random() % lg.total_weight;
    *g = &lg.groups[lg.ngroups - 1];
    for (uint32_t i = 0; i < lg.ngroups; i++) {
        if (pick < lg.groups[i].weight) {
            *g = &lg.groups[i];
            break;
        }
        pick -= lg.groups[i].weight;
    }
    *body = (*g)->next++ % (*g)->n;
    *index = *body;
    return 1;
}

static void lg_start_call(lg_call *c)
{
    lg_group *g = NULL;
    uint32_t body, index;
    grpc_op ops[6];

    if (!lg_next(&g, &body, &index)) {
        free(c);
        return;
    }
    lg_target *t = &lg.targets[g->target_index];
    grpc_channel *ch = t->channels[t->next_channel++ % (uint32_t)lg.connections];
    memset(c, 0, sizeof *c);
    c->g = g;
    c->index = index;
    c->start_ns = lg_now_ns();
    c->recorded = c->start_ns >= lg.record_from_ns;
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(lg.deadline_ms, GPR_TIMESPAN));
    c->call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, lg.cq, g->path_slice,
                                       NULL, deadline, NULL);
    grpc_slice s = grpc_slice_ref(g->bodies[body]);
    c->send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    grpc_metadata_array_init(&c->initial_md);
    grpc_metadata_array_init(&c->trailing_md);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &c->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &c->trailing_md;
    ops[5].data.recv_status_on_client.status = &c->status;
    ops[5].data.recv_status_on_client.status_details = &c->details;
    if (grpc_call_start_batch(c->call, ops, 6, c, NULL) != GRPC_CALL_OK)
        lg_die("grpc_call_start_batch failed");
    lg.started++;
}

static void lg_record(lg_call *c, uint64_t end_ns)
{
    lg_group *g = c->g;
    int code = (int)c->status;

    if (code < 0 || code >= LG_CODES)
        code = GRPC_STATUS_UNKNOWN;
    g->codes[code]++;
    if (code != GRPC_STATUS_OK && g->first_error[0] == '\0') {
        char *msg = grpc_slice_to_c_string(c->details);
        snprintf(g->first_error, sizeof g->first_error, "code %d: %s", code, msg);
        gpr_free(msg);
    }
    if (code != GRPC_STATUS_OK)
        return;
    if (g->nlat == g->caplat) {
        g->caplat = g->caplat ? g->caplat * 2 : 4096;
        g->lat_us = realloc(g->lat_us, g->caplat * sizeof *g->lat_us);
        if (g->lat_us == NULL)
            lg_die("out of memory");
    }
    uint64_t us = (end_ns - c->start_ns) / 1000;
    g->lat_us[g->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Writes the reply of a finished call to --save: u32 index, u32 length, bytes. */
static void lg_save_reply(const lg_call *c)
{
    grpc_byte_buffer_reader reader;
    unsigned char head[8];

    if (lg.save == NULL || c->recv == NULL || c->status != GRPC_STATUS_OK)
        return;
    grpc_byte_buffer_reader_init(&reader, c->recv);
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    uint32_t len = (uint32_t)GRPC_SLICE_LENGTH(all);
    for (int i = 0; i < 4; i++) {
        head[i] = (unsigned char)(c->index >> (8 * i));
        head[4 + i] = (unsigned char)(len >> (8 * i));
    }
    fwrite(head, 1, 8, lg.save);
    fwrite(GRPC_SLICE_START_PTR(all), 1, len, lg.save);
    grpc_slice_unref(all);
}

static void lg_finish_call(lg_call *c)
{
    uint64_t end = lg_now_ns();

    if (c->recorded && end <= lg.stop_at_ns) {
        lg_record(c, end);
        if (lg.rec_start_ns == 0 || c->start_ns < lg.rec_start_ns)
            lg.rec_start_ns = c->start_ns;
        if (end > lg.rec_end_ns)
            lg.rec_end_ns = end;
    }
    lg_save_reply(c);
    grpc_metadata_array_destroy(&c->initial_md);
    grpc_metadata_array_destroy(&c->trailing_md);
    grpc_byte_buffer_destroy(c->send);
    if (c->recv)
        grpc_byte_buffer_destroy(c->recv);
    grpc_slice_unref(c->details);
    grpc_call_unref(c->call);
    lg.finished++;
}

/* ---- the report --------------------------------------------------------- */

static int lg_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

static double lg_pct_ms(const lg_group *g, double q)
{
    if (g->nlat == 0)
        return 0;
    size_t i = (size_t)(q / 100.0 * (double)g->nlat + 0.5);
    if (i > 0)
        i--;
    if (i >= g->nlat)
        i = g->nlat - 1;
    return g->lat_us[i] / 1000.0;
}

static void lg_report(void)
{
    static const char *const names[LG_CODES] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
    /* A mix is measured over its window; a sequence from its first call to
     * its last answer. */
    double secs = !lg.sequence                      ? lg.duration
                  : lg.rec_end_ns > lg.rec_start_ns ? (lg.rec_end_ns - lg.rec_start_ns) / 1e9
                                                    : 0;
    uint64_t ok = 0, errors = 0;

    printf("{\"seconds\":%.3f,\"in_flight\":%d,\"connections\":%d,\"groups\":[", secs, lg.in_flight,
           lg.connections);
    for (uint32_t i = 0; i < lg.ngroups; i++) {
        lg_group *g = &lg.groups[i];
        qsort(g->lat_us, g->nlat, sizeof *g->lat_us, lg_cmp_u32);
        ok += g->nlat;
        printf("%s{\"label\":\"%s\",\"ok\":%zu,\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
               "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":{",
               i ? "," : "", g->label, g->nlat, secs > 0 ? g->nlat / secs : 0, lg_pct_ms(g, 50),
               lg_pct_ms(g, 90), lg_pct_ms(g, 99), lg_pct_ms(g, 100));
        int first = 1;
        for (int k = 1; k < LG_CODES; k++) {
            if (g->codes[k] == 0)
                continue;
            printf("%s\"%s\":%" PRIu64, first ? "" : ",", names[k], g->codes[k]);
            errors += g->codes[k];
            first = 0;
        }
        printf("}}");
        fprintf(stderr, "  %-32s ok %8zu  %9.1f/s  p50 %7.2f  p99 %7.2f  max %8.2f ms%s%s\n",
                g->label, g->nlat, secs > 0 ? g->nlat / secs : 0, lg_pct_ms(g, 50),
                lg_pct_ms(g, 99), lg_pct_ms(g, 100), g->first_error[0] ? "  first error: " : "",
                g->first_error);
    }
    printf("],\"ok\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"rps\":%.1f}\n", ok, errors,
           secs > 0 ? ok / secs : 0);
    fprintf(stderr, "loadgen: %" PRIu64 " ok, %" PRIu64 " errors in %.2f s: %.1f/s\n", ok, errors,
            secs, secs > 0 ? ok / secs : 0);
}

/* ---- main --------------------------------------------------------------- */

static void lg_usage(void)
{
    fprintf(stderr, "usage: loadgen --target NAME=HOST:PORT ... --plan FILE [--in-flight N]\n"
                    "       [--connections N] [--order mix|sequence] [--duration S] [--warmup S]\n"
                    "       [--count N] [--seed N] [--deadline-ms N] [--save FILE]\n");
    exit(2);
}

static void lg_parse(int argc, char **argv)
{
    lg.in_flight = 64;
    lg.connections = 4;
    lg.duration = 10;
    lg.seed = 1;
    lg.deadline_ms = 30000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            lg_usage();
        i++;
        if (strcmp(a, "--target") == 0) {
            const char *eq = strchr(v, '=');
            if (eq == NULL || lg.ntargets == LG_MAX_TARGETS)
                lg_usage();
            lg.targets[lg.ntargets].name = strndup(v, (size_t)(eq - v));
            lg.targets[lg.ntargets++].addr = strdup(eq + 1);
        } else if (strcmp(a, "--plan") == 0) {
            lg.plan_path = v;
        } else if (strcmp(a, "--save") == 0) {
            lg.save_path = v;
        } else if (strcmp(a, "--in-flight") == 0) {
            lg.in_flight = atoi(v);
        } else if (strcmp(a, "--connections") == 0) {
            lg.connections = atoi(v);
        } else if (strcmp(a, "--order") == 0) {
            lg.sequence = strcmp(v, "sequence") == 0;
        } else if (strcmp(a, "--duration") == 0) {
            lg.duration = atof(v);
        } else if (strcmp(a, "--warmup") == 0) {
            lg.warmup = atof(v);
        } else if (strcmp(a, "--count") == 0) {
            lg.count = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--seed") == 0) {
            lg.seed = strtoull(v, NULL, 10) | 1;
        } else if (strcmp(a, "--deadline-ms") == 0) {
            lg.deadline_ms = atoi(v);
        } else {
            lg_usage();
        }
    }
    if (lg.plan_path == NULL || lg.ntargets == 0 || lg.in_flight < 1 || lg.connections < 1)
        lg_usage();
}

static void lg_connect(void)
{
    for (int t = 0; t < lg.ntargets; t++) {
        lg.targets[t].channels = lg_alloc((size_t)lg.connections * sizeof(grpc_channel *));
        for (int k = 0; k < lg.connections; k++) {
            /* A channel of its own subchannel pool: one connection each. */
            grpc_arg args[2] = {
                {.type = GRPC_ARG_INTEGER,
                 .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
                 .value.integer = 1},
                {.type = GRPC_ARG_INTEGER,
                 .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                 .value.integer = 64 << 20},
            };
            grpc_channel_args ca = {.num_args = 2, .args = args};
            grpc_channel_credentials *creds = grpc_insecure_credentials_create();
            lg.targets[t].channels[k] = grpc_channel_create(lg.targets[t].addr, creds, &ca);
            grpc_channel_credentials_release(creds);
        }
    }
}

int main(int argc, char **argv)
{
    lg_parse(argc, argv);
    grpc_init();
    lg_load_plan();
    if (lg.total_weight == 0 && !lg.sequence)
        lg_die("every group has weight 0");
    if (lg.save_path && (lg.save = fopen(lg.save_path, "wb")) == NULL)
        lg_die("cannot open --save");
    lg.cq = grpc_completion_queue_create_for_next(NULL);
    lg_connect();
    uint64_t t0 = lg_now_ns();
    lg.record_from_ns = t0 + (uint64_t)(lg.warmup * 1e9);
    lg.stop_at_ns = lg.sequence ? UINT64_MAX : lg.record_from_ns + (uint64_t)(lg.duration * 1e9);
    for (int i = 0; i < lg.in_flight; i++)
        lg_start_call(lg_alloc(sizeof(lg_call)));
    while (lg.finished < lg.started) {
        grpc_event ev =
            grpc_completion_queue_next(lg.cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        lg_call *c = ev.tag;
        lg_finish_call(c);
        lg_start_call(c); /* reuses c, or frees it when the run is over */
    }
    if (lg.save)
        fclose(lg.save);
    lg_report();
    for (int t = 0; t < lg.ntargets; t++)
        for (int k = 0; k < lg.connections; k++)
            grpc_channel_destroy(lg.targets[t].channels[k]);
    grpc_completion_queue_shutdown(lg.cq);
    while (grpc_completion_queue_next(lg.cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(lg.cq);
    grpc_shutdown();
    return 0;
}
