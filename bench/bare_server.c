/* bare_server.c: the ceiling of the benchmark.
 *
 * grpc.health.v1.Health/Check served straight on gRPC core, with no
 * framework: no libuv, no second thread, no logging, no dispatch table. One
 * thread blocks in grpc_completion_queue_next() on one completion queue and
 * does everything itself:
 *
 *   - it keeps `slots` requests for the registered method posted
 *     (grpc_server_request_registered_call, payload read by core), so that
 *     every stream the clients open finds a call waiting for it;
 *   - when a call arrives it decodes the HealthCheckRequest with protoc-c,
 *     packs a HealthCheckResponse and answers in one batch: send initial
 *     metadata, send message, send status, receive close;
 *   - when that batch completes it frees the call and posts the slot again.
 *
 * It does the same useful work per call as our runtime's Health/Check
 * (decode, look the name up, pack, one batch) and nothing else, with gRPC's
 * default channel arguments plus the runtime's 4 MiB message limit, so that
 * the ratio of the two measures the cost of the framework. `--minimal-stack`
 * turns on GRPC_ARG_MINIMAL_STACK (no deadline checks, no compression
 * filters) for a look at what the default filter stack itself costs; it is
 * not the reference figure, because the runtime must honour deadlines.
 *
 * Usage: bare_server [--listen host:port] [--slots N] [--minimal-stack]
 * Prints "port N" on stdout once serving. SIGINT/SIGTERM: shutdown in the
 * order gRPC core asks for (shutdown_and_notify, cancel, drain, destroy),
 * exit code 0.
 *
 * This file is the one place outside common/ that may call grpc_* directly:
 * it is the reference the runtime is measured against.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "grpc/health/v1/health.pb-c.h"

#define BARE_DEFAULT_LISTEN "127.0.0.1:50090"
#define BARE_DEFAULT_SLOTS 512
#define BARE_MAX_MESSAGE_BYTES (4 * 1024 * 1024)
#define BARE_REPLY_MAX 16 /* a HealthCheckResponse packs to 2 bytes */

/* A slot is one posted request, then the call it received, then the reply
 * batch of that call; its address is the completion-queue tag for both. */
typedef enum bare_slot_state { BARE_SLOT_WAITING, BARE_SLOT_REPLYING } bare_slot_state;

typedef struct bare_slot {
    bare_slot_state state;
    grpc_call *call; /* owned from arrival until the batch completed */
    gpr_timespec deadline;
    grpc_metadata_array metadata;
    grpc_byte_buffer *request; /* owned: destroyed when the call arrives */
    grpc_byte_buffer *reply;   /* owned: destroyed when the batch completed */
    int cancelled;
} bare_slot;

typedef struct bare_server {
    grpc_server *server;
    grpc_completion_queue *cq;
    void *check_method; /* handle from grpc_server_register_method */
    bare_slot *slots;
    int slots_count;
    int shutting_down;
} bare_server;

static volatile sig_atomic_t bare_stop_requested;
static int bare_shutdown_tag; /* its address tags shutdown_and_notify */

static void bare_on_signal(int sig)
{
    (void)sig;
    bare_stop_requested = 1;
}

/* Posts `slot` for the next Check call. Returns 0, or -1 if core refused. */
static int bare_slot_post(bare_server *bs, bare_slot *slot)
{
    slot->state = BARE_SLOT_WAITING;
    slot->call = NULL;
    slot->request = NULL;
    slot->reply = NULL;
    slot->cancelled = 0;
    grpc_call_error err = grpc_server_request_registered_call(
        bs->server, bs->check_method, &slot->call, &slot->deadline, &slot->metadata, &slot->request,
        bs->cq, bs->cq, slot);
    return err == GRPC_CALL_OK ? 0 : -1;
}

/* Decodes the request of `slot` and decides the status and, when OK, the
 * reply message. The name "" and the Health service's own name are known. */
static grpc_status_code bare_check(bare_slot *slot, Grpc__Health__V1__HealthCheckResponse *out)
{
    if (slot->request == NULL)
        return GRPC_STATUS_INVALID_ARGUMENT;
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, slot->request))
        return GRPC_STATUS_INTERNAL;
    grpc_slice bytes = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    Grpc__Health__V1__HealthCheckRequest *req = grpc__health__v1__health_check_request__unpack(
        NULL, GRPC_SLICE_LENGTH(bytes), GRPC_SLICE_START_PTR(bytes));
    grpc_slice_unref(bytes);
    if (req == NULL)
        return GRPC_STATUS_INVALID_ARGUMENT;
    int known = req->service[0] == '\0' || strcmp(req->service, "grpc.health.v1.Health") == 0;
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
    if (!known)
        return GRPC_STATUS_NOT_FOUND;
    out->status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    return GRPC_STATUS_OK;
}

/* A call arrived in `slot`: answer it in one batch. */
static void bare_slot_answer(bare_slot *slot)
{
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    grpc_status_code code = bare_check(slot, &resp);
    grpc_byte_buffer_destroy(slot->request);
    slot->request = NULL;

    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (code == GRPC_STATUS_OK) {
        uint8_t buf[BARE_REPLY_MAX];
        size_t len = grpc__health__v1__health_check_response__pack(&resp, buf);
        grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, len);
        slot->reply = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = slot->reply;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n++].data.send_status_from_server.status = code;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &slot->cancelled;

    slot->state = BARE_SLOT_REPLYING;
    if (grpc_call_start_batch(slot->call, ops, n, slot, NULL) != GRPC_CALL_OK) {
        fprintf(stderr, "bare_server: grpc_call_start_batch refused a reply\n");
        abort(); /* a bug in this file, not a condition to survive */
    }
}

/* The reply batch of `slot` completed (or failed): free the call. */
static void bare_slot_release(bare_slot *slot)
{
    grpc_byte_buffer_destroy(slot->reply);
    slot->reply = NULL;
    grpc_call_unref(slot->call);
    slot->call = NULL;
    grpc_metadata_array_destroy(&slot->metadata);
    grpc_metadata_array_init(&slot->metadata);
}

static void bare_on_event(bare_server *bs, bare_slot *slot, int ok)
{
    if (slot->state == BARE_SLOT_WAITING) {
        if (!ok) { /* only during shutdown: the request is void */
            grpc_byte_buffer_destroy(slot->request);
            slot->request = NULL;
            return;
        }
        bare_slot_answer(slot);
        return;
    }
    bare_slot_release(slot);
    if (!bs->shutting_down && bare_slot_post(bs, slot) != 0) {
        fprintf(stderr, "bare_server: could not post a request again\n");
        abort();
    }
}

static void bare_begin_shutdown(bare_server *bs)
{
    bs->shutting_down = 1;
    grpc_server_shutdown_and_notify(bs->server, bs->cq, &bare_shutdown_tag);
    grpc_server_cancel_all_calls(bs->server);
}

/* Serves until a signal, then drains the queue to its end. */
static void bare_run(bare_server *bs)
{
    for (;;) {
        gpr_timespec wait = bs->shutting_down
                                ? gpr_inf_future(GPR_CLOCK_MONOTONIC)
                                : gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                               gpr_time_from_millis(200, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(bs->cq, wait, NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return;
        if (ev.type == GRPC_QUEUE_TIMEOUT) {
            if (bare_stop_requested && !bs->shutting_down)
                bare_begin_shutdown(bs);
            continue;
        }
        if (ev.tag == &bare_shutdown_tag) {
            grpc_completion_queue_shutdown(bs->cq);
            continue;
        }
        bare_on_event(bs, ev.tag, ev.success);
        if (bare_stop_requested && !bs->shutting_down)
            bare_begin_shutdown(bs);
    }
}

static int bare_start(bare_server *bs, const char *listen, int minimal_stack)
{
    grpc_arg args[3];
    size_t nargs = 0;
    args[nargs].type = GRPC_ARG_INTEGER;
    args[nargs].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[nargs++].value.integer = BARE_MAX_MESSAGE_BYTES;
    args[nargs].type = GRPC_ARG_INTEGER;
    args[nargs].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[nargs++].value.integer = BARE_MAX_MESSAGE_BYTES;
    if (minimal_stack) {
        args[nargs].type = GRPC_ARG_INTEGER;
        args[nargs].key = GRPC_ARG_MINIMAL_STACK;
        args[nargs++].value.integer = 1;
    }
    grpc_channel_args chargs = {.num_args = nargs, .args = args};

    bs->cq = grpc_completion_queue_create_for_next(NULL);
    bs->server = grpc_server_create(&chargs, NULL);
    grpc_server_register_completion_queue(bs->server, bs->cq, NULL);
    bs->check_method = grpc_server_register_method(bs->server, "/grpc.health.v1.Health/Check", NULL,
                                                   GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    if (bs->check_method == NULL) {
        fprintf(stderr, "bare_server: cannot register the Check method\n");
        return -1;
    }
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int port = grpc_server_add_http2_port(bs->server, listen, creds);
    grpc_server_credentials_release(creds);
    if (port == 0) {
        fprintf(stderr, "bare_server: cannot listen on %s\n", listen);
        return -1;
    }
    grpc_server_start(bs->server);
    for (int i = 0; i < bs->slots_count; i++) {
        grpc_metadata_array_init(&bs->slots[i].metadata);
        if (bare_slot_post(bs, &bs->slots[i]) != 0) {
            fprintf(stderr, "bare_server: cannot post request %d\n", i);
            return -1;
        }
    }
    printf("port %d\n", port);
    fflush(stdout);
    return 0;
}

static void bare_destroy(bare_server *bs)
{
    if (bs->server != NULL)
        grpc_server_destroy(bs->server);
    if (bs->cq != NULL)
        grpc_completion_queue_destroy(bs->cq);
    for (int i = 0; i < bs->slots_count; i++)
        grpc_metadata_array_destroy(&bs->slots[i].metadata);
    free(bs->slots);
}

static void bare_usage(FILE *to)
{
    fprintf(to,
            "usage: bare_server [--listen host:port] [--slots N] [--minimal-stack]\n"
            "  --listen         address to serve on (default " BARE_DEFAULT_LISTEN ")\n"
            "  --slots          Check requests kept posted (default %d)\n"
            "  --minimal-stack  GRPC_ARG_MINIMAL_STACK=1 (not the reference figure)\n",
            BARE_DEFAULT_SLOTS);
}

int main(int argc, char **argv)
{
    const char *listen = BARE_DEFAULT_LISTEN;
    int slots = BARE_DEFAULT_SLOTS;
    int minimal_stack = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen = argv[++i];
        } else if (strcmp(argv[i], "--slots") == 0 && i + 1 < argc) {
            slots = atoi(argv[++i]);
            if (slots < 1 || slots > 65536) {
                fprintf(stderr, "bare_server: --slots must be 1..65536\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--minimal-stack") == 0) {
            minimal_stack = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            bare_usage(stdout);
            return 0;
        } else {
            bare_usage(stderr);
            return 2;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = bare_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    grpc_init();
    bare_server bs = {.slots_count = slots};
    bs.slots = calloc((size_t)slots, sizeof *bs.slots);
    int rc = 1;
    if (bs.slots != NULL && bare_start(&bs, listen, minimal_stack) == 0) {
        bare_run(&bs);
        rc = 0;
    } else if (bs.server != NULL) {
        bare_begin_shutdown(&bs);
        bare_run(&bs);
    }
    bare_destroy(&bs);
    grpc_shutdown();
    return rc;
}
