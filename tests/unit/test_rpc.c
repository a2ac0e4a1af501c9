/* test_rpc.c: the gRPC runtime (rpc_runtime, rpc_server, rpc_client) over a
 * real loopback connection: dispatch, packing, refusals, deadlines and their
 * propagation, the cap on calls in flight, and graceful shutdown.
 *
 * The test service is grpc.health.v1.Health with handlers of our own; the
 * requested "service" string tells the handler what to do:
 *   "ok"        reply SERVING at once
 *   "bad"       fail with INVALID_ARGUMENT
 *   "slow:N"    reply SERVING after N ms
 *   "proxy"     call Check("slow:2000") on ourselves with this call as parent
 *               and reply with the child's status code as the reply status
 * Every test ends by shutting everything down and asserting that the loop
 * closes with no handle left (uv_loop_close() == 0). The last tests run the
 * same handler on local calls (rpc_call_new_local): no core, no loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grpc/health/v1/health.pb-c.h"
#include "compact/membership/v1/membership.pb-c.h"
#include "log.h"
#include "rpc.h"
#include "rpc_internal.h"

typedef Grpc__Health__V1__HealthCheckRequest check_request;
typedef Grpc__Health__V1__HealthCheckResponse check_response;

typedef struct fixture {
    uv_loop_t loop;
    rpc_runtime *rt;
    rpc_server *srv;
    rpc_channel *ch;
    rpc_channel *self; /* the proxy handler's channel */
    int port;
    int server_done;
    int handler_calls;
    int child_calls;
    rpc_code child_code; /* what the proxy's child call came back with */
} fixture;

typedef struct outcome {
    int calls;
    rpc_code code;
    char message[256];
    int status;
} outcome;

/* ---- the test service --------------------------------------------------- */

typedef struct slow_reply {
    uv_timer_t timer;
    rpc_call *call;
} slow_reply;

static void reply_serving(rpc_call *call)
{
    check_response resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    rpc_call_reply(call, &resp.base);
}

static void on_slow_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_slow_timer(uv_timer_t *t)
{
    slow_reply *s = t->data;
    reply_serving(s->call);
    uv_close((uv_handle_t *)&s->timer, on_slow_closed);
}

static fixture *the_fixture;

static void on_child_reply(void *arg, rpc_code code, const char *message,
                           const ProtobufCMessage *reply)
{
    rpc_call *parent = arg;
    the_fixture->child_calls++;
    the_fixture->child_code = code;
    if (code == RPC_OK)
        reply_serving(parent);
    else
        rpc_call_fail(parent, code, "child: %s", message);
}

static void handle_check(rpc_call *call, const ProtobufCMessage *request, void *data)
{
    fixture *f = data;
    const check_request *req = (const check_request *)request;
    f->handler_calls++;
    if (strcmp(req->service, "bad") == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "service: \"%s\" is bad", req->service);
    } else if (strncmp(req->service, "slow:", 5) == 0) {
        slow_reply *s = calloc(1, sizeof *s);
        s->call = call;
        s->timer.data = s;
        uv_timer_init(&f->loop, &s->timer);
        uv_timer_start(&s->timer, on_slow_timer, (uint64_t)atoi(req->service + 5), 0);
    } else if (strcmp(req->service, "proxy") == 0) {
        check_request child = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        child.service = "slow:2000";
        int rc = rpc_channel_call(f->self, &grpc__health__v1__health__descriptor, "Check",
                                  &child.base, 10000, call, on_child_reply, call);
        if (rc != 0)
            rpc_call_fail(call, RPC_INTERNAL, "child call not started");
    } else {
        reply_serving(call);
    }
}

static const rpc_method test_methods[] = {
    {.name = "Check", .handler = handle_check},
    {.name = NULL}, /* Watch has no row: UNIMPLEMENTED */
};

/* ---- fixture ------------------------------------------------------------ */

static int setup_with(void **state, int max_calls)
{
    fixture *f = calloc(1, sizeof *f);
    the_fixture = f;
    uv_loop_init(&f->loop);
    assert_int_equal(rpc_runtime_new(&f->loop, &f->rt), 0);
    rpc_server_options opts = {
        .listen = "127.0.0.1:0", .max_calls = max_calls, .service_name = "test"};
    assert_int_equal(rpc_server_new(f->rt, &opts, &f->srv), 0);
    assert_int_equal(
        rpc_server_add_service(f->srv, &grpc__health__v1__health__descriptor, test_methods, f), 0);
    f->port = rpc_server_start(f->srv);
    assert_true(f->port > 0);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", f->port);
    assert_int_equal(rpc_channel_new(f->rt, target, &f->ch), 0);
    assert_int_equal(rpc_channel_new(f->rt, target, &f->self), 0);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 100);
}

/* Room for every call of test_many_calls_at_once: the cap has its own test. */
static int setup_roomy(void **state)
{
    return setup_with(state, 1000);
}

static int setup_one_call(void **state)
{
    return setup_with(state, 1);
}

static void on_server_done(void *arg)
{
    ((fixture *)arg)->server_done++;
}

static void on_server_done_count(void *arg)
{
    (*(int *)arg)++;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rpc_channel_close(f->ch);
    rpc_channel_close(f->self);
    if (!f->server_done) {
        rpc_server_shutdown(f->srv, 1000, on_server_done, f);
        while (!f->server_done)
            uv_run(&f->loop, UV_RUN_ONCE);
    }
    assert_int_equal(f->server_done, 1);
    rpc_server_free(f->srv);
    rpc_runtime_free(f->rt);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

/* Every reply on_reply took, and how long it keeps the loop busy, for the
 * tests of the loop's turns. */
static int replies_seen;
static uint64_t reply_busy_ns;

static void on_reply(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    outcome *o = arg;
    replies_seen++;
    for (uint64_t until = uv_hrtime() + reply_busy_ns; uv_hrtime() < until;)
        ;
    o->calls++;
    o->code = code;
    snprintf(o->message, sizeof o->message, "%s", message);
    if (reply)
        o->status = ((const check_response *)reply)->status;
}

static void start_check(fixture *f, const ProtobufCServiceDescriptor *svc, const char *method,
                        const char *service, int timeout_ms, outcome *o)
{
    check_request req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    assert_int_equal(rpc_channel_call(f->ch, svc, method, &req.base, timeout_ms, NULL, on_reply, o),
                     0);
}

static void run_until(fixture *f, const int *counter, int target)
{
    while (*counter < target)
        uv_run(&f->loop, UV_RUN_ONCE);
}

/* ---- tests -------------------------------------------------------------- */

static void test_packing_round_trip(void **state)
{
    (void)state;
    Compact__Membership__V1__Entity e = COMPACT__MEMBERSHIP__V1__ENTITY__INIT;
    e.acronym = "UNOCT";
    e.name = "United Nations Office of Counter-Terrorism";
    e.kind = COMPACT__MEMBERSHIP__V1__ENTITY_KIND__ENTITY_KIND_UN_ENTITY;
    grpc_init();
    grpc_byte_buffer *buf = rpc__pack(&e.base);
    int too_many = -1;
    ProtobufCMessage *back =
        rpc__unpack(&compact__membership__v1__entity__descriptor, buf, &too_many);
    assert_non_null(back);
    assert_int_equal(too_many, 0);
    Compact__Membership__V1__Entity *b = (Compact__Membership__V1__Entity *)back;
    assert_string_equal(b->acronym, "UNOCT");
    assert_string_equal(b->name, e.name);
    assert_int_equal(b->kind, e.kind);
    protobuf_c_message_free_unpacked(back, NULL);
    grpc_byte_buffer_destroy(buf);

    /* Bytes that are not a message do not decode. */
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)junk, sizeof junk);
    buf = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    assert_null(rpc__unpack(&compact__membership__v1__entity__descriptor, buf, &too_many));
    assert_int_equal(too_many, 0);
    grpc_byte_buffer_destroy(buf);
    grpc_shutdown_blocking();
}

/* A small message of many empty repeated sub-messages (field 7 of Entity,
 * focal_points: two bytes each) stops decoding at RPC_UNPACK_ALLOCS_MAX
 * allocations instead of making one per value, and says so. */
static void test_unpack_bounds_values(void **state)
{
    (void)state;
    size_t n = RPC_UNPACK_ALLOCS_MAX + 10, len = 2 * n;
    uint8_t *bytes = malloc(len);
    int too_many = 0;

    assert_non_null(bytes);
    for (size_t i = 0; i < n; i++) {
        bytes[2 * i] = (7 << 3) | 2; /* field 7, length-delimited */
        bytes[2 * i + 1] = 0;        /* an empty FocalPoint */
    }
    grpc_init();
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)bytes, len);
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    assert_null(rpc__unpack(&compact__membership__v1__entity__descriptor, buf, &too_many));
    assert_int_equal(too_many, 1);
    grpc_byte_buffer_destroy(buf);
    /* Fewer values than the bound decode. */
    s = grpc_slice_from_copied_buffer((const char *)bytes, 2000);
    buf = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    ProtobufCMessage *m = rpc__unpack(&compact__membership__v1__entity__descriptor, buf, &too_many);
    assert_non_null(m);
    assert_int_equal(too_many, 0);
    assert_int_equal(((Compact__Membership__V1__Entity *)m)->n_focal_points, 1000);
    protobuf_c_message_free_unpacked(m, NULL);
    grpc_byte_buffer_destroy(buf);
    grpc_shutdown_blocking();
    free(bytes);
}

static void test_code_names(void **state)
{
    (void)state;
    assert_string_equal(rpc_code_name(RPC_OK), "OK");
    assert_string_equal(rpc_code_name(RPC_INVALID_ARGUMENT), "INVALID_ARGUMENT");
    assert_string_equal(rpc_code_name(RPC_UNAUTHENTICATED), "UNAUTHENTICATED");
    assert_string_equal(rpc_code_name((rpc_code)99), "UNKNOWN");
}

static void test_unary_reply(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "ok", 5000, &o);
    run_until(f, &o.calls, 1);
    assert_int_equal(o.code, RPC_OK);
    assert_int_equal(o.status, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    assert_int_equal(f->handler_calls, 1);
}

static void test_many_calls_at_once(void **state)
{
    fixture *f = *state;
    enum { N = 200 };
    outcome *o = calloc(N, sizeof *o);
    int done = 0;
    for (int i = 0; i < N; i++)
        start_check(f, &grpc__health__v1__health__descriptor, "Check", "ok", 10000, &o[i]);
    while (done < N) {
        uv_run(&f->loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < N; i++)
            done += o[i].calls;
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(o[i].calls, 1);
        assert_int_equal(o[i].code, RPC_OK);
    }
    assert_int_equal(f->handler_calls, N);
    free(o);
}

/* Replies that reached the client, and the most of them in one loop turn
 * (counted at each turn's end by a check handle). */
typedef struct turn_count {
    uv_check_t check;
    fixture *f;
    int at_last_end; /* replies_seen when the last turn ended */
    int most;
} turn_count;

static void on_turn_end(uv_check_t *h)
{
    turn_count *t = h->data;
    if (replies_seen - t->at_last_end > t->most)
        t->most = replies_seen - t->at_last_end;
    t->at_last_end = replies_seen;
}

static void on_turn_count_closed(uv_handle_t *h)
{
    ((turn_count *)h->data)->f = NULL;
}

/* The most replies taken in one loop turn when `n` replies all arrive
 * while the loop is busy, each keeping the loop `busy_ns` in its callback.
 * The loop is kept busy by sleeping on it: the slow replies fall due
 * meanwhile, and then their completions pile up. */
static int most_replies_in_a_turn(fixture *f, int n, uint64_t busy_ns)
{
    outcome *o = calloc((size_t)n, sizeof *o);
    turn_count t = {.f = f};
    int done = 0;

    for (int i = 0; i < n; i++)
        start_check(f, &grpc__health__v1__health__descriptor, "Check", "slow:100", 10000, &o[i]);
    run_until(f, &f->handler_calls, n);
    uv_sleep(300);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the timers: every reply is sent */
    uv_sleep(300);
    uv_check_init(&f->loop, &t.check);
    t.check.data = &t;
    t.at_last_end = replies_seen;
    uv_check_start(&t.check, on_turn_end);
    reply_busy_ns = busy_ns;
    while (done < n) {
        uv_run(&f->loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < n; i++)
            done += o[i].calls == 1 && o[i].code == RPC_OK;
    }
    reply_busy_ns = 0;
    uv_close((uv_handle_t *)&t.check, on_turn_count_closed);
    while (t.f != NULL)
        uv_run(&f->loop, UV_RUN_ONCE);
    free(o);
    return t.most;
}

/* 200 replies that all arrive at once are taken a few per turn, so that
 * what ends a turn (the store's COMMIT, finished flushes, Redis replies)
 * waits for RPC_COMPLETIONS_PER_TURN callbacks at most, not for all. */
static void test_a_turn_runs_a_bounded_number_of_completions(void **state)
{
    fixture *f = *state;
    int most = most_replies_in_a_turn(f, 200, 0);
    assert_true(most >= 1);
    assert_true(most <= RPC_COMPLETIONS_PER_TURN);
}

/* Callbacks that each take longer than the turn's budget run one a turn:
 * a few slow calls (a page of projects) do not hold up the turn's end. */
static void test_a_turn_ends_once_its_time_is_spent(void **state)
{
    fixture *f = *state;
    assert_int_equal(most_replies_in_a_turn(f, 40, RPC_TURN_BUDGET_NS + 1000000), 1);
}

static void test_failure_carries_code_and_message(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "bad", 5000, &o);
    run_until(f, &o.calls, 1);
    assert_int_equal(o.code, RPC_INVALID_ARGUMENT);
    assert_string_equal(o.message, "service: \"bad\" is bad");
}

static void test_method_without_handler_is_unimplemented(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    start_check(f, &grpc__health__v1__health__descriptor, "Watch", "ok", 5000, &o);
    run_until(f, &o.calls, 1);
    assert_int_equal(o.code, RPC_UNIMPLEMENTED);
    assert_int_equal(f->handler_calls, 0);
}

static void test_unknown_method_is_unimplemented(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    Compact__Membership__V1__GetEntityRequest req =
        COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__INIT;
    assert_int_equal(rpc_channel_call(f->ch, &compact__membership__v1__membership__descriptor,
                                      "GetEntity", &req.base, 5000, NULL, on_reply, &o),
                     0);
    run_until(f, &o.calls, 1);
    assert_int_equal(o.code, RPC_UNIMPLEMENTED);
    /* ... and the server keeps serving. */
    outcome ok = {0};
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "ok", 5000, &ok);
    run_until(f, &ok.calls, 1);
    assert_int_equal(ok.code, RPC_OK);
}

static void test_bad_client_arguments(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    check_request req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    assert_int_equal(rpc_channel_call(f->ch, &grpc__health__v1__health__descriptor, "Nope",
                                      &req.base, 100, NULL, on_reply, &o),
                     -EINVAL);
    Compact__Membership__V1__GetEntityRequest wrong =
        COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__INIT;
    assert_int_equal(rpc_channel_call(f->ch, &grpc__health__v1__health__descriptor, "Check",
                                      &wrong.base, 100, NULL, on_reply, &o),
                     -EINVAL);
    assert_int_equal(o.calls, 0);
}

static void test_deadline_exceeded(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "slow:300", 50, &o);
    run_until(f, &o.calls, 1);
    assert_int_equal(o.code, RPC_DEADLINE_EXCEEDED);
}

static void test_deadline_propagates_to_child_calls(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    /* The proxy's own call to us allows 10 s, the parent only 100 ms: the
     * child must be cut short by the parent's deadline. */
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "proxy", 100, &o);
    run_until(f, &o.calls, 1);
    assert_int_equal(o.code, RPC_DEADLINE_EXCEEDED);
    /* The child comes back at the parent's deadline while its own handler
     * ("slow:2000") still runs: cut short, not answered late. The parent's
     * deadline reaches it twice at the same instant, as its own (propagated)
     * deadline and as the parent's cancellation when that deadline passes;
     * whichever of core's timers runs first gives the code. */
    run_until(f, &f->child_calls, 1);
    assert_int_equal(f->child_calls, 1);
    assert_true(f->child_code == RPC_DEADLINE_EXCEEDED || f->child_code == RPC_CANCELLED);
    assert_true(rpc_server_calls_in_flight(f->srv) > 0);
    /* Wait for the slow child's handler to finish so teardown sees no call. */
    while (rpc_server_calls_in_flight(f->srv) > 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(f->handler_calls, 2);
}

/* A second server on a port in use must fail to start, not share the port's
 * connections with the first (gRPC core would allow SO_REUSEPORT). */
static void test_port_in_use_is_refused(void **state)
{
    fixture *f = *state;
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", f->port);
    rpc_server_options opts = {.listen = listen, .max_calls = 10, .service_name = "second"};
    rpc_server *second = NULL;
    int done = 0;
    assert_int_equal(rpc_server_new(f->rt, &opts, &second), 0);
    assert_int_equal(
        rpc_server_add_service(second, &grpc__health__v1__health__descriptor, test_methods, f), 0);
    assert_int_equal(rpc_server_start(second), -EADDRINUSE);
    rpc_server_shutdown(second, 0, on_server_done_count, &done);
    assert_int_equal(done, 1);
    rpc_server_free(second);
}

static void test_cancellation_propagates_to_child_calls(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    /* The client gives up on "proxy" while its child call ("slow:2000") is
     * still running: core must cancel the child, which would otherwise
     * come back OK after two seconds. */
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "proxy", 10000, &o);
    while (f->handler_calls < 2) /* the proxy and its child are both running */
        uv_run(&f->loop, UV_RUN_ONCE);
    rpc_channel_close(f->ch);
    f->ch = NULL;
    run_until(f, &o.calls, 1);
    assert_int_equal(o.code, RPC_CANCELLED);
    run_until(f, &f->child_calls, 1);
    assert_int_equal(f->child_code, RPC_CANCELLED);
    while (rpc_server_calls_in_flight(f->srv) > 0)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static void test_cap_on_calls_in_flight(void **state)
{
    fixture *f = *state;
    outcome slow = {0}, refused = {0};
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "slow:300", 5000, &slow);
    while (f->handler_calls < 1)
        uv_run(&f->loop, UV_RUN_ONCE);
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "ok", 5000, &refused);
    run_until(f, &refused.calls, 1);
    assert_int_equal(refused.code, RPC_RESOURCE_EXHAUSTED);
    run_until(f, &slow.calls, 1);
    assert_int_equal(slow.code, RPC_OK);
}

static void test_shutdown_lets_calls_in_flight_finish(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "slow:200", 5000, &o);
    while (f->handler_calls < 1)
        uv_run(&f->loop, UV_RUN_ONCE);
    rpc_server_shutdown(f->srv, 5000, on_server_done, f);
    run_until(f, &o.calls, 1);
    assert_int_equal(o.code, RPC_OK);
    run_until(f, &f->server_done, 1);
    assert_int_equal(rpc_server_calls_in_flight(f->srv), 0);
}

static void test_shutdown_cancels_after_grace(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "slow:1500", 10000, &o);
    while (f->handler_calls < 1)
        uv_run(&f->loop, UV_RUN_ONCE);
    rpc_server_shutdown(f->srv, 50, on_server_done, f);
    run_until(f, &o.calls, 1);
    assert_true(o.code == RPC_CANCELLED || o.code == RPC_UNAVAILABLE);
    /* The server is done only once the handler has replied, into the void. */
    run_until(f, &f->server_done, 1);
}

static void test_closing_a_channel_cancels_its_calls(void **state)
{
    fixture *f = *state;
    outcome o = {0};
    start_check(f, &grpc__health__v1__health__descriptor, "Check", "slow:300", 10000, &o);
    rpc_channel_close(f->ch);
    f->ch = NULL;
    run_until(f, &o.calls, 1);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.code, RPC_CANCELLED);
    while (rpc_server_calls_in_flight(f->srv) > 0)
        uv_run(&f->loop, UV_RUN_ONCE);
}

/* ---- local calls (rpc_call_new_local) ----------------------------------- */

typedef struct local_answer {
    int calls;
    int on_done_calls; /* rpc_call_on_done's callback, counted when `done` ran */
    rpc_code code;
    char message[256];
    int serving; /* the reply unpacked and said SERVING */
    int reply_was_null;
} local_answer;

static void on_local_done(void *arg, rpc_code code, const char *message, const void *reply,
                          size_t len)
{
    local_answer *a = arg;
    a->calls++;
    a->code = code;
    snprintf(a->message, sizeof a->message, "%s", message);
    a->reply_was_null = reply == NULL;
    if (reply) {
        check_response *r = grpc__health__v1__health_check_response__unpack(NULL, len, reply);
        assert_non_null(r);
        a->serving = r->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        grpc__health__v1__health_check_response__free_unpacked(r, NULL);
    }
}

static void on_local_call_over(rpc_call *call, void *arg)
{
    local_answer *a = arg;
    assert_int_equal(a->calls, 1); /* after `done` */
    assert_true(rpc_call_ended(call));
    a->on_done_calls++;
}

static rpc_call *local_call(local_answer *a)
{
    rpc_call *call = NULL;
    assert_int_equal(rpc_call_new_local("/grpc.health.v1.Health/Check", on_local_done, a, &call),
                     0);
    assert_string_equal(rpc_call_method(call), "/grpc.health.v1.Health/Check");
    assert_true(rpc_call_remaining_ms(call) == INT64_MAX);
    assert_int_equal(rpc_call_abandoned(call), RPC_OK);
    assert_false(rpc_call_is_cancelled(call));
    return call;
}

static void test_local_call_runs_a_handler(void **state)
{
    fixture f = {0};
    check_request req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    local_answer ok = {0}, bad = {0};

    req.service = "ok";
    handle_check(local_call(&ok), &req.base, &f);
    assert_int_equal(ok.calls, 1);
    assert_int_equal(ok.code, RPC_OK);
    assert_true(ok.serving);
    req.service = "bad";
    handle_check(local_call(&bad), &req.base, &f);
    assert_int_equal(bad.calls, 1);
    assert_int_equal(bad.code, RPC_INVALID_ARGUMENT);
    assert_string_equal(bad.message, "service: \"bad\" is bad");
    assert_true(bad.reply_was_null);
    assert_int_equal(f.handler_calls, 2);
}

static void test_local_call_held_reply_and_on_done(void **state)
{
    check_response resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    local_answer a = {0};
    rpc_call *call = local_call(&a);

    resp.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    rpc_call_on_done(call, on_local_call_over, &a);
    rpc_call_hold_reply(call, &resp.base);
    assert_int_equal(a.calls, 0);
    rpc_call_release_reply(call);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.code, RPC_OK);
    assert_true(a.serving);
    assert_int_equal(a.on_done_calls, 1);
}

static void on_local_write(rpc_call *call, int ok, void *arg)
{
    *(int *)arg = ok ? 1 : -1;
}

static void test_local_call_streams_nothing(void **state)
{
    check_response resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    local_answer a = {0};
    rpc_call *call = local_call(&a);
    int written = 0;

    rpc_call_write(call, &resp.base, on_local_write, &written);
    assert_int_equal(written, -1); /* failed, as on a broken call */
    assert_int_equal(a.calls, 0);
    rpc_call_finish(call, RPC_OK, NULL);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.code, RPC_OK);
    assert_string_equal(a.message, "");
    assert_true(a.reply_was_null);
}

static void test_local_call_reply_bytes(void **state)
{
    check_response resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    uint8_t buf[16];
    local_answer a = {0};

    resp.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    size_t len = grpc__health__v1__health_check_response__pack(&resp, buf);
    rpc_call_reply_bytes(local_call(&a), buf, len);
    assert_int_equal(a.calls, 1);
    assert_true(a.serving);
}

int main(void)
{
    log_init("test", LOG_LEVEL_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packing_round_trip),
        cmocka_unit_test(test_unpack_bounds_values),
        cmocka_unit_test(test_code_names),
        cmocka_unit_test_setup_teardown(test_unary_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_calls_at_once, setup_roomy, teardown),
        cmocka_unit_test_setup_teardown(test_a_turn_runs_a_bounded_number_of_completions,
                                        setup_roomy, teardown),
        cmocka_unit_test_setup_teardown(test_a_turn_ends_once_its_time_is_spent, setup_roomy,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failure_carries_code_and_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_method_without_handler_is_unimplemented, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_method_is_unimplemented, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_client_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_exceeded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_propagates_to_child_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_in_use_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancellation_propagates_to_child_calls, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cap_on_calls_in_flight, setup_one_call, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_lets_calls_in_flight_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_cancels_after_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closing_a_channel_cancels_its_calls, setup, teardown),
        cmocka_unit_test(test_local_call_runs_a_handler),
        cmocka_unit_test(test_local_call_held_reply_and_on_done),
        cmocka_unit_test(test_local_call_streams_nothing),
        cmocka_unit_test(test_local_call_reply_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
