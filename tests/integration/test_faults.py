"""Faults: Redis gone or hung, SIGTERM with calls in flight, garbage on the
wire, a store that fails its probe."""
import os
import socket
import threading

import grpc
import pytest
from google.protobuf import field_mask_pb2

import harness
from harness import ENTITY_KEY, M, code_of, create, poll

C = grpc.StatusCode
H = harness.health_pb2
SVC = "compact.membership.v1.Membership"


def update(stub, e, paths):
    return stub.UpdateEntity(M.UpdateEntityRequest(
        entity=e, update_mask=field_mask_pb2.FieldMask(paths=paths)))


def summary(suite):
    return [(f["type"].decode(), f["aggregate_id"].decode(), int(f["aggregate_seq"]))
            for _, f in suite.stream()]


def stream_ids(suite):
    return [harness.stream_id(eid) for eid, _ in suite.stream()]


def assert_serving(suite):
    assert suite.health("membership", "") == harness.SERVING
    assert suite.health("membership", SVC) == harness.SERVING


def cached(suite, stub, e):
    """Reads e (which fills the cache) until its key shows up in Redis.
    Called after an event showed up in the stream, it also makes sure the
    service has taken Redis's answer to that publish (replies come in order
    on its one connection), so that stopping Redis next cannot make it
    publish again."""
    def check():
        assert stub.GetEntity(M.GetEntityRequest(id=e.id)).id == e.id
        return suite.redis("EXISTS", ENTITY_KEY % e.id) == 1
    poll(check, what="the cache key of %s" % e.acronym, interval=0.2)


# ---- Redis gone ---------------------------------------------------------------------

def test_redis_stopped_then_back(suite):
    stub = suite.stub("membership")
    a = create(stub, "UNODC")
    harness.wait_events(suite, 1)
    cached(suite, stub, a)

    suite.stop_redis()
    assert_serving(suite)
    # Reads and writes go on without Redis.
    assert stub.GetEntity(M.GetEntityRequest(id=a.id)) == a
    b = create(stub, "UNDP")
    c = create(stub, "UNESCO")
    a2 = update(stub, M.Entity(id=a.id, name="Drugs and Crime"), ["name"])
    c2 = stub.WithdrawEntity(M.WithdrawEntityRequest(id=c.id))
    assert stub.GetEntity(M.GetEntityRequest(id=a.id)) == a2
    assert stub.GetEntity(M.GetEntityRequest(acronym="undp")) == b
    assert list(stub.ListEntities(M.ListEntitiesRequest()).entities) == [b, c2, a2]
    rep = stub.BatchGetEntities(M.BatchGetEntitiesRequest(ids=[c.id, a.id]))
    assert list(rep.entities) == [c2, a2]
    assert_serving(suite)

    # A fresh, empty Redis on the same port: every change made while it was
    # gone reaches the stream, in order, once.
    suite.start_redis()
    want = [("entity.created", b.id, 1), ("entity.created", c.id, 1),
            ("entity.updated", a.id, 2), ("entity.withdrawn", c.id, 2)]
    harness.wait_events(suite, len(want))
    assert summary(suite) == want
    d = create(stub, "UNICEF")
    want.append(("entity.created", d.id, 1))
    harness.wait_events(suite, len(want))
    assert summary(suite) == want
    ids = stream_ids(suite)
    assert ids == sorted(set(ids))

    # And the cache is used again.
    cached(suite, stub, b)
    assert stub.GetEntity(M.GetEntityRequest(id=a.id)) == a2


def test_starts_and_serves_with_redis_down(suite):
    suite.stop_redis()
    suite.restart("membership")
    stub = suite.stub("membership")
    assert_serving(suite)
    a = create(stub, "WCO", kind=M.ENTITY_KIND_NON_UN_MEMBER)
    assert stub.GetEntity(M.GetEntityRequest(acronym="wco")) == a
    suite.start_redis()
    harness.wait_events(suite, 1)
    assert summary(suite) == [("entity.created", a.id, 1)]
    cached(suite, stub, a)


def test_redis_hung(suite):
    """Redis stops answering (SIGSTOP) with the connection still open: calls
    still work; once it answers again the stale cached copy goes away and
    each change is in the stream exactly once, even if a publish was
    received by Redis but never acknowledged."""
    stub = suite.stub("membership")
    a = create(stub, "UNOCT")
    harness.wait_events(suite, 1)
    cached(suite, stub, a)

    suite.pause_redis()
    a2 = update(stub, M.Entity(id=a.id, name="Office of Counter-Terrorism"), ["name"])
    assert stub.GetEntity(M.GetEntityRequest(id=a.id)) == a2
    b = create(stub, "CTED")
    assert stub.GetEntity(M.GetEntityRequest(acronym="cted")) == b
    assert_serving(suite)
    suite.resume_redis()

    poll(lambda: stub.GetEntity(M.GetEntityRequest(id=a.id)) == a2,
         what="the stale cached copy to go", interval=0.2)
    want = [("entity.created", a.id, 1), ("entity.updated", a.id, 2),
            ("entity.created", b.id, 1)]
    harness.wait_events(suite, len(want))
    assert summary(suite) == want
    c = create(stub, "UNDP")
    want.append(("entity.created", c.id, 1))
    harness.wait_events(suite, len(want))
    assert summary(suite) == want


# ---- shutdown -----------------------------------------------------------------------

# Every Redis command is held this long, so that reads stay in flight while
# the test looks at the draining server: longer on the slower sanitizer build.
DRAIN_DELAY_MS = 2000 * harness.SLOW
SLOW = {"faults": "redis.delay_ms=%d" % DRAIN_DELAY_MS, "metrics": True,
        "env": {"COMPACT_GRACE_SECONDS": "30", "COMPACT_REDIS_TIMEOUT_MS": str(DRAIN_DELAY_MS * 5)}}


def in_flight(suite):
    return suite.metrics("membership")["compact_rpc_calls_in_flight"]


class Watcher:
    """Health Watch on a thread of its own, on a channel of its own."""

    def __init__(self, suite):
        self.ch = suite.new_channel("membership")
        self.stub = suite.stub("membership", harness.HEALTH, channel=self.ch)
        self.seen = []
        self.error = None
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            for msg in self.stub.Watch(H.HealthCheckRequest(service=SVC),
                                       timeout=harness.STOP_TIMEOUT * 2):
                self.seen.append(msg.status)
        except grpc.RpcError as e:
            self.error = e

    def close(self):
        self.t.join(harness.STOP_TIMEOUT)
        self.ch.close()


@pytest.mark.suite(**SLOW)
def test_sigterm_with_calls_in_flight(suite):
    stub = suite.stub("membership")
    made = harness.create_many(stub, [harness.entity(x) for x in ("UNDP", "UNEP", "UNHCR")])
    w = Watcher(suite)
    poll(lambda: w.seen, what="the first Watch message")
    assert w.seen == [harness.SERVING]

    # Only the Watch is in flight (streams count; a call answered is counted
    # until the server has seen its reply go out).
    poll(lambda: in_flight(suite) == 1, what="only the Watch in flight")
    futs = [stub.GetEntity.future(M.GetEntityRequest(id=e.id),
                                  timeout=harness.STOP_TIMEOUT * 2) for e in made]
    # The server has taken the three slow calls.
    poll(lambda: in_flight(suite) == 4, what="the three calls in flight")
    suite.signal("membership")

    poll(lambda: harness.NOT_SERVING in w.seen, timeout=harness.STOP_TIMEOUT,
         what="Watch to report NOT_SERVING")
    w.close()
    assert not w.t.is_alive(), "the Watch stream did not end at shutdown"
    assert w.seen == [harness.SERVING, harness.NOT_SERVING]
    assert w.error is None, w.error     # the stream ended with OK

    # New calls are refused while the old ones are still in flight (the
    # ended Watch may not be freed yet, hence at least three).
    ch = suite.new_channel("membership")
    code, _ = code_of(suite.stub("membership", channel=ch).GetEntity,
                      M.GetEntityRequest(id=made[0].id))
    ch.close()
    assert code == C.UNAVAILABLE
    assert in_flight(suite) >= 3
    assert [f.result() for f in futs] == made

    assert suite.wait_exit("membership") == 0
    suite.check_exit("membership")
    oks = [l for l in suite.call_logs("membership", "GetEntity") if l["code"] == "OK"]
    assert len(oks) == 3


@pytest.mark.suite(faults="redis.delay_ms=8000",
                   env={"COMPACT_GRACE_SECONDS": "1", "COMPACT_REDIS_TIMEOUT_MS": "20000"})
def test_grace_period_ends_slow_calls(suite):
    stub = suite.stub("membership")
    e = create(stub, "UNITAR")
    fut = stub.GetEntity.future(M.GetEntityRequest(id=e.id), timeout=harness.STOP_TIMEOUT * 2)
    assert suite.health("membership") == harness.SERVING
    suite.signal("membership")
    # Left to itself the call would succeed after 8 s; the 1 s grace ends it.
    code, _ = code_of(fut.result)
    assert code in (C.CANCELLED, C.UNAVAILABLE), code
    assert suite.wait_exit("membership") == 0
    suite.check_exit("membership")


# ---- garbage on the wire --------------------------------------------------------------

def raw_send(addr, data, read=False):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=harness.CALL_TIMEOUT) as s:
        s.sendall(data)
        if read:
            s.shutdown(socket.SHUT_WR)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def test_garbage_on_the_wire(suite):
    stub = suite.stub("membership")
    addr = suite.addr("membership")
    e = create(stub, "UNODC")
    idle = socket.create_connection(("127.0.0.1", int(addr.rsplit(":", 1)[1])))
    try:
        for data, read in [
            (os.urandom(64 * 1024), False),                            # not HTTP/2
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),             # HTTP/1
            (PREFACE + os.urandom(4096), True),                        # preface, then junk
            (PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"         # SETTINGS, then a
             + b"\x00\x40\x00\x01\x05\x00\x00\x00\x01" + b"\xff" * 64, True),  # bad HEADERS
            (PREFACE[:10], False),                                     # half a preface
        ]:
            raw_send(addr, data, read)
            assert stub.GetEntity(M.GetEntityRequest(id=e.id)) == e
        # Garbage as a request body: INVALID_ARGUMENT, and serving goes on.
        ch = suite.channel("membership")
        for body in (os.urandom(256), b"\x0a\xff\xff\xff\xff\x0f"):
            code, _ = code_of(harness.raw_method(ch, "/%s/CreateEntity" % SVC), body,
                              timeout=harness.CALL_TIMEOUT)
            assert code == C.INVALID_ARGUMENT
        assert stub.GetEntity(M.GetEntityRequest(acronym="unodc")) == e
        assert len(stub.ListEntities(M.ListEntitiesRequest()).entities) == 1
        assert_serving(suite)
    finally:
        idle.close()


# ---- the store ----------------------------------------------------------------------

@pytest.mark.suite(faults="store.probe", wait="answer")
def test_store_probe_fault_not_serving(suite):
    for name in ("", SVC):
        poll(lambda: suite.health("membership", name) == harness.NOT_SERVING,
             what="NOT_SERVING for %r" % name)
    it = suite.stub("membership", harness.HEALTH).Watch(H.HealthCheckRequest(service=SVC))
    assert next(it).status == harness.NOT_SERVING
    it.cancel()
    res = harness.run([suite.bin("membership"), "--health-probe"],
                      env={"COMPACT_LISTEN": suite.addr("membership")})
    assert res.returncode == 1
    # Without the fault the same store is fine.
    suite.restart("membership", faults="", wait="serving")
    assert_serving(suite)
