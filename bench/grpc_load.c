/* grpc_load.c: a closed-loop load generator for one unary gRPC method, on
 * gRPC core, with what h2load cannot do: mutual TLS (a client certificate)
 * and a bearer token in the metadata (bench/security.sh).
 *
 *   grpc_load --target HOST:PORT --method /pkg.Svc/Method --body FILE
 *             [--ca CA --cert CERT --key KEY] [--token TOKEN]
 *             [--conns 8] [--streams 16] [--seconds 10] [--warmup 3]
 *
 * FILE holds the request message (protobuf bytes, no gRPC framing). Each of
 * `conns` channels (its own connection) keeps `streams` calls in flight; a
 * call that ends restarts at once. One thread, one completion queue. With
 * TLS every channel shares one TLS session cache, so a reconnect resumes
 * its session. Prints one JSON line: calls, calls per second, p50 and p99
 * latency in microseconds, failures (any status but OK fails the run).
 */
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LAT (1 << 22)

typedef struct slot {
    grpc_channel *ch;
    grpc_call *call;
    grpc_metadata_array init_md, trail_md;
    grpc_byte_buffer *send, *recv; /* core may take the slices it sends: a copy per call */
    grpc_status_code status;
    grpc_slice details;
    double start;
} slot;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static const char *arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

static grpc_completion_queue *cq;
static grpc_slice method_slice;
static grpc_byte_buffer *body;
static grpc_metadata auth_md;
static int has_auth;

static void start(slot *s)
{
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    s->call = grpc_channel_create_call(s->ch, NULL, 0, cq, method_slice, NULL,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_metadata_array_init(&s->init_md);
    grpc_metadata_array_init(&s->trail_md);
    s->recv = NULL;
    s->details = grpc_empty_slice();
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (has_auth) {
        ops[0].data.send_initial_metadata.count = 1;
        ops[0].data.send_initial_metadata.metadata = &auth_md;
    }
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    s->send = grpc_byte_buffer_copy(body);
    ops[1].data.send_message.send_message = s->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &s->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &s->trail_md;
    ops[5].data.recv_status_on_client.status = &s->status;
    ops[5].data.recv_status_on_client.status_details = &s->details;
    s->start = now_s();
    if (grpc_call_start_batch(s->call, ops, 6, s, NULL) != GRPC_CALL_OK) {
        fprintf(stderr, "grpc_load: start_batch failed\n");
        exit(1);
    }
}

static void finish(slot *s)
{
    grpc_call_unref(s->call);
    grpc_metadata_array_destroy(&s->init_md);
    grpc_metadata_array_destroy(&s->trail_md);
    if (s->recv)
        grpc_byte_buffer_destroy(s->recv);
    grpc_byte_buffer_destroy(s->send);
    grpc_slice_unref(s->details);
}

static int cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *target = arg(argc, argv, "--target", NULL);
    const char *method = arg(argc, argv, "--method", NULL);
    const char *body_file = arg(argc, argv, "--body", NULL);
    const char *ca = arg(argc, argv, "--ca", NULL), *cert = arg(argc, argv, "--cert", NULL);
    const char *key = arg(argc, argv, "--key", NULL), *token = arg(argc, argv, "--token", NULL);
    int conns = atoi(arg(argc, argv, "--conns", "8"));
    int streams = atoi(arg(argc, argv, "--streams", "16"));
    double seconds = atof(arg(argc, argv, "--seconds", "10"));
    double warmup = atof(arg(argc, argv, "--warmup", "3"));
    size_t len;
    char bearer[8192];

    if (!target || !method || !body_file) {
        fprintf(stderr, "usage: grpc_load --target H:P --method /p.S/M --body FILE [...]\n");
        return 2;
    }
    grpc_init();
    cq = grpc_completion_queue_create_for_next(NULL);
    method_slice = grpc_slice_from_copied_string(method);
    char *raw = read_file(body_file, &len);
    grpc_slice bs = grpc_slice_from_copied_buffer(raw, len);
    body = grpc_raw_byte_buffer_create(&bs, 1);
    grpc_slice_unref(bs);
    if (token) {
        snprintf(bearer, sizeof bearer, "Bearer %s", token);
        auth_md.key = grpc_slice_from_static_string("authorization");
        auth_md.value = grpc_slice_from_copied_string(bearer);
        has_auth = 1;
    }
    grpc_channel_credentials *creds;
    grpc_ssl_session_cache *cache = NULL;
    if (ca) {
        size_t n;
        char *ca_pem = read_file(ca, &n), *cert_pem = read_file(cert, &n);
        char *key_pem = read_file(key, &n);
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key_pem, .cert_chain = cert_pem};
        creds = grpc_ssl_credentials_create(ca_pem, &pair, NULL, NULL);
        cache = grpc_ssl_session_cache_create_lru(64);
    } else {
        creds = grpc_insecure_credentials_create();
    }
    slot *slots = calloc((size_t)(conns * streams), sizeof *slots);
    for (int c = 0; c < conns; c++) {
        grpc_arg a[2] = {
            {.type = GRPC_ARG_INTEGER, .key = "grpc.bench_channel", .value.integer = c},
            {.type = GRPC_ARG_INTEGER,
             .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
             .value.integer = 1},
        };
        grpc_arg all[3] = {a[0], a[1]};
        grpc_channel_args args = {.num_args = 2, .args = all};
        if (cache) {
            all[2] = grpc_ssl_session_cache_create_channel_arg(cache);
            args.num_args = 3;
        }
        grpc_channel *ch = grpc_channel_create(target, creds, &args);
        for (int k = 0; k < streams; k++)
            slots[c * streams + k].ch = ch;
    }
    float *lat = malloc(sizeof(float) * MAX_LAT);
    size_t nlat = 0;
    long calls = 0, failures = 0;
    double t0 = now_s(), measure_from = t0 + warmup, end = measure_from + seconds;
    for (int i = 0; i < conns * streams; i++)
        start(&slots[i]);
    int in_flight = conns * streams;
    while (in_flight > 0) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        slot *s = ev.tag;
        double t = now_s();
        if (!ev.success || s->status != GRPC_STATUS_OK) {
            failures++;
            if (failures == 1) {
                char *d = grpc_slice_to_c_string(s->details);
                fprintf(stderr, "grpc_load: status %d: %s\n", (int)s->status, d);
                gpr_free(d);
            }
        }
        if (t >= measure_from && t < end) {
            calls++;
            if (nlat < MAX_LAT)
                lat[nlat++] = (float)((t - s->start) * 1e6);
        }
        finish(s);
        if (t < end && failures == 0)
            start(s);
        else
            in_flight--;
    }
    qsort(lat, nlat, sizeof *lat, cmp);
    printf("{\"calls\": %ld, \"calls_per_s\": %.0f, \"p50_us\": %.0f, \"p99_us\": %.0f, "
           "\"failures\": %ld}\n",
           calls, (double)calls / seconds, nlat ? lat[nlat / 2] : 0.0,
           nlat ? lat[(size_t)((double)nlat * 0.99)] : 0.0, failures);
    return failures ? 1 : 0;
}
