"""The runtime every service shares, run against each of membership,
workgroups and projects (with the peers each one needs, kits.py): health
Check and Watch, reflection, SIGTERM with calls in flight (and with a
handler waiting on a peer that is stopped), the cap on calls, the cap on
message size, undecodable requests to every method, and Redis stopped or
hung. test_runtime.py and test_faults.py go deeper on membership alone."""
import random
import threading

import grpc
import pytest
from google.protobuf import descriptor_pool

import harness
import kits
from harness import code_of, outcome, poll, scaled

C = grpc.StatusCode
H = harness.health_pb2

EVERY = pytest.mark.parametrize("name", kits.SERVICES)
WITH_PEERS = pytest.mark.parametrize("name", [n for n in kits.SERVICES if kits.PEERS[n]])


def only(name, **env):
    """Environment for `name` alone (its peers keep the defaults)."""
    return {name: env}


def in_flight(suite, name):
    return suite.metrics(name)["compact_rpc_calls_in_flight"]


def wait_in_flight(suite, name, n):
    """Polls until `name` has exactly n calls in flight (streams count too):
    the calls started have reached their handlers, and the calls answered
    before have been freed (a call is counted until the server has seen its
    reply go out, which may be after the client has it)."""
    poll(lambda: in_flight(suite, name) == n, what="%d calls in flight in %s" % (n, name))


class Watcher:
    """Health Watch of `service` on a thread and a channel of its own."""

    def __init__(self, suite, name, service):
        self.ch = suite.new_channel(name)
        self.stub = suite.stub(name, harness.HEALTH, channel=self.ch)
        self.seen, self.error, self.ended = [], None, False
        self.service = service
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            for msg in self.stub.Watch(H.HealthCheckRequest(service=self.service),
                                       timeout=harness.STOP_TIMEOUT * 2):
                self.seen.append(msg.status)
            self.ended = True
        except grpc.RpcError as e:
            self.error = e

    def close(self):
        self.t.join(harness.STOP_TIMEOUT)
        self.ch.close()


def refuses_new_calls(suite, name):
    """A Health Check on a new connection is refused (UNAVAILABLE): the
    server is shutting down. Answered: not yet."""
    ch = suite.new_channel(name)
    try:
        code, _ = outcome(harness.Stub(ch, harness.HEALTH).Check, H.HealthCheckRequest())
    finally:
        ch.close()
    return code == C.UNAVAILABLE


def stop_and_check(suite, name):
    """SIGTERM was sent: the service must exit 0 with no sanitizer report."""
    assert suite.wait_exit(name) == 0
    suite.check_exit(name)


# ---- health ---------------------------------------------------------------------

@EVERY
def test_health_check(suite_factory, name):
    suite, kit = kits.start(suite_factory, name)
    for service in ("", kit.full, harness.HEALTH, harness.REFLECTION_V1):
        assert suite.health(name, service) == harness.SERVING, service
    others = [harness.full_name(n) for n in kits.SERVICES if n != name]
    for service in others + ["compact.nosuch.v1.Nothing"]:
        code, msg = code_of(suite.health, name, service)
        assert code == C.NOT_FOUND and service in msg, (service, msg)


@EVERY
def test_health_watch_until_shutdown(suite_factory, name):
    suite, kit = kits.start(suite_factory, name)
    w = Watcher(suite, name, kit.full)
    poll(lambda: w.seen, what="the first Watch message")
    assert w.seen == [harness.SERVING]
    unknown = suite.stub(name, harness.HEALTH).Watch(
        H.HealthCheckRequest(service="compact.nosuch.v1.Nothing"))
    assert next(unknown).status == H.HealthCheckResponse.SERVICE_UNKNOWN
    unknown.cancel()

    suite.signal(name)
    w.close()
    assert not w.t.is_alive(), "the Watch stream did not end at shutdown"
    # NOT_SERVING from the first moment of shutdown, then the stream ends
    # with OK: watchers never hold the shutdown up.
    assert w.seen == [harness.SERVING, harness.NOT_SERVING]
    assert w.error is None and w.ended
    stop_and_check(suite, name)


# ---- reflection -------------------------------------------------------------------

@EVERY
@pytest.mark.parametrize("version", [harness.REFLECTION_V1ALPHA, harness.REFLECTION_V1],
                         ids=["v1alpha", "v1"])
def test_reflection(suite_factory, name, version):
    suite, kit = kits.start(suite_factory, name)
    ch = suite.channel(name)
    (listed,) = harness.reflect(ch, version, [{"list_services": ""}])
    names = {s.name for s in listed.list_services_response.service}
    assert names == {kit.full, harness.HEALTH, harness.REFLECTION_V1ALPHA,
                     harness.REFLECTION_V1, "compact.audit.v1.Audit"}, names

    # The file of the service's own API, then every file it imports, by
    # name: together they describe the service exactly as our protos do.
    (resp,) = harness.reflect(ch, version, [{"file_containing_symbol": kit.full}])
    files = harness.file_descriptors(resp)
    assert "compact/%s/v1/%s.proto" % (name, name) in files, sorted(files)
    pool, added = descriptor_pool.DescriptorPool(), set()

    def add(fname):
        if fname in added:
            return
        if fname not in files:
            (r,) = harness.reflect(ch, version, [{"file_by_filename": fname}])
            files.update(harness.file_descriptors(r))
        for dep in files[fname].dependency:
            add(dep)
        pool.Add(files[fname])
        added.add(fname)
    for fname in list(files):
        add(fname)
    got, want = pool.FindServiceByName(kit.full), harness.service_descriptor(kit.full)
    assert [(m.name, m.input_type.full_name, m.output_type.full_name) for m in got.methods] == \
        [(m.name, m.input_type.full_name, m.output_type.full_name) for m in want.methods]
    for m in want.methods:
        for t in (m.input_type, m.output_type):
            assert [f.name for f in pool.FindMessageTypeByName(t.full_name).fields] == \
                [f.name for f in t.fields], t.full_name

    (err,) = harness.reflect(ch, version, [{"file_containing_symbol": "compact.nosuch.v1.X"}])
    assert err.error_response.error_code == C.NOT_FOUND.value[0]


# ---- SIGTERM: drain ---------------------------------------------------------------

# Every Redis command of the service is held this long, so that a Get stays
# in flight; the delay bounds the window in which the test looks at the
# draining server, so it grows with the build's slowness.
DRAIN_DELAY_MS = 2000 * harness.SLOW


@EVERY
def test_sigterm_drains_calls_in_flight(suite_factory, name):
    suite, kit = kits.start(
        suite_factory, name, faults={name: "redis.delay_ms=%d" % DRAIN_DELAY_MS},
        metrics=(name,), env=only(name, COMPACT_GRACE_SECONDS="60",
                                  COMPACT_REDIS_TIMEOUT_MS=str(DRAIN_DELAY_MS * 5)))
    made = [kit.create("K%d" % i) for i in range(3)]
    w = Watcher(suite, name, kit.full)
    poll(lambda: w.seen, what="the first Watch message")
    wait_in_flight(suite, name, 1)          # the Watch
    futs = [getattr(kit.stub, kit.get_method).future(kit.get_request(a.id),
                                                      timeout=harness.STOP_TIMEOUT * 2)
            for a in made]
    wait_in_flight(suite, name, 4)
    suite.signal(name)
    # The Watch hears NOT_SERVING in the loop turn that starts the shutdown.
    w.close()
    assert w.seen == [harness.SERVING, harness.NOT_SERVING] and w.ended

    # From then on new calls are refused, while the three are still in
    # flight (the metrics endpoint stays up until the server is freed; the
    # ended Watch may not be freed yet).
    assert refuses_new_calls(suite, name)
    assert in_flight(suite, name) >= 3
    assert [f.result() for f in futs] == made
    stop_and_check(suite, name)
    oks = [l for l in suite.call_logs(name, kit.get_method) if l["code"] == "OK"]
    assert len(oks) == 3


@WITH_PEERS
def test_sigterm_while_a_peer_is_slow_answers_when_it_comes_back(suite_factory, name):
    """Membership stopped (SIGSTOP): a write waiting on it holds the drain;
    membership back within the grace period, the write completes, is
    answered OK and is there after a restart."""
    suite, kit = kits.start(suite_factory, name, metrics=(name,), env=only(
        name, COMPACT_GRACE_SECONDS="600", COMPACT_PEER_TIMEOUT_MS="300000"))
    a = kit.create("K1")
    kit.peer_write(a, 0).result()           # the connection to membership is open
    wait_in_flight(suite, name, 0)
    suite.pause("membership")
    fut = kit.peer_write(a, 1, timeout=harness.STOP_TIMEOUT * 2)
    wait_in_flight(suite, name, 1)
    suite.signal(name)
    poll(lambda: refuses_new_calls(suite, name), what="%s to refuse new calls" % name)
    assert not fut.done() and suite.proc(name).poll() is None
    suite.resume("membership")
    done = fut.result()
    stop_and_check(suite, name)
    suite.start(name)
    if name == "workgroups":
        assert done.members[-1].entity_id == kit.entities[1]
        assert kit.get(a.id) == done
    else:
        assert kit.get(done.project.id) == done.project


@WITH_PEERS
def test_sigterm_while_a_peer_is_hung_cancels_at_the_grace_period(suite_factory, name):
    """Membership stopped for good: the write waiting on it is cancelled
    when the grace period ends (long before its peer deadline or ours), the
    service exits 0, and nothing was written."""
    suite, kit = kits.start(suite_factory, name, metrics=(name,), env=only(
        name, COMPACT_GRACE_SECONDS="2", COMPACT_PEER_TIMEOUT_MS="300000"))
    a = kit.create("K1")
    kit.peer_write(a, 0).result()
    before = kit.get(a.id)
    wait_in_flight(suite, name, 0)
    suite.pause("membership")
    fut = kit.peer_write(a, 1, timeout=harness.STOP_TIMEOUT * 2)
    wait_in_flight(suite, name, 1)
    suite.signal(name)
    # gRPC core's answer to the calls it cancels when the grace period ends.
    code, details = code_of(fut.result)
    assert code == C.UNAVAILABLE, (code, details)
    stop_and_check(suite, name)
    suite.start(name)
    assert kit.get(a.id) == before
    if name == "projects":
        assert code_of(kit.lookup, "PEER1")[0] == C.NOT_FOUND
    suite.resume("membership")


# ---- caps -------------------------------------------------------------------------

@EVERY
def test_call_cap(suite_factory, name):
    suite, kit = kits.start(suite_factory, name, faults={name: "redis.delay_ms=1000"},
                            env=only(name, COMPACT_MAX_CALLS="2",
                                     COMPACT_REDIS_TIMEOUT_MS="10000"))
    a = kit.create("K1")
    futs = [getattr(kit.stub, kit.get_method).future(kit.get_request(a.id)) for _ in range(8)]
    results = [outcome(f.result) for f in futs]
    codes = [c for c, _ in results]
    assert set(codes) == {C.OK, C.RESOURCE_EXHAUSTED}, codes
    assert codes.count(C.OK) == 2, codes
    assert all(r == a for c, r in results if c == C.OK)
    # The cap counts calls in flight only: once they are over, calls go
    # through again, reads and writes.
    assert kit.get(a.id) == a
    b = kit.create("K2")
    assert kit.get(b.id) == b
    refused = [l for l in suite.call_logs(name, kit.get_method) if l["code"] == "RESOURCE_EXHAUSTED"]
    assert len(refused) == codes.count(C.RESOURCE_EXHAUSTED)


@EVERY
def test_message_over_the_limit(suite_factory, name):
    suite, kit = kits.start(suite_factory, name,
                            env=only(name, COMPACT_MAX_MESSAGE_BYTES="16384"))
    big = kit.create_request("BIG", big=20000)
    assert big.ByteSize() > 16384
    code, _ = code_of(kit.create_call, big)
    assert code == C.RESOURCE_EXHAUSTED
    assert code_of(kit.lookup, "BIG")[0] == C.NOT_FOUND
    a = kit.create("K1")
    assert kit.list_ids() == [a.id]
    assert suite.health(name) == harness.SERVING


# ---- requests that do not decode --------------------------------------------------

def undecodable(data):
    """True if `data` cannot be a protobuf message of any type: a tag or a
    length runs past the end, a field number is 0, or a wire type is a
    group's or does not exist (protobuf-c refuses groups)."""
    i, n = 0, len(data)

    def varint():
        nonlocal i
        shift = 0
        value = 0
        while i < n:
            b = data[i]
            i += 1
            value |= (b & 0x7f) << shift
            if not b & 0x80:
                return value if shift < 64 else None
            shift += 7
        return None
    while i < n:
        tag = varint()
        if tag is None or tag >> 3 == 0:
            return True
        wt = tag & 7
        if wt == 0:
            if varint() is None:
                return True
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            length = varint()
            if length is None:
                return True
            i += length
        else:
            return True
        if i > n:
            return True
    return False


def garbage(seed, count=4):
    """`count` random byte strings that cannot decode, from a fixed seed."""
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        if undecodable(data):
            out.append(data)
    return out


@EVERY
def test_undecodable_request_to_every_method(suite_factory, name):
    suite, kit = kits.start(suite_factory, name)
    a = kit.create("K1")
    ch = suite.channel(name)
    methods = ["/%s/%s" % (kit.full, m.name)
               for m in harness.service_descriptor(kit.full).methods]
    assert len(methods) >= 6
    for path in methods + ["/grpc.health.v1.Health/Check"]:
        seed = "%s %s" % (name, path)
        for body in garbage(seed) + [b"\x0a\x10abc", b"\xff" * 11, b"\x0f"]:
            code, _ = code_of(harness.raw_method(ch, path), body, timeout=harness.CALL_TIMEOUT)
            assert code == C.INVALID_ARGUMENT, (path, seed, body)
    # Nothing was written, and the server goes on serving.
    assert kit.list_ids() == [a.id]
    assert suite.health(name, kit.full) == harness.SERVING
    b = kit.create("K2")
    assert kit.get(b.id) == b and kit.get(a.id) == a


# ---- Redis stopped, Redis hung ------------------------------------------------------

def warm(suite, kit, a):
    """Reads `a` until its cache key is in Redis (its event published first,
    see harness.wait_published)."""
    harness.wait_published(suite, a.id, kit.name)
    assert kit.get(a.id) == a
    poll(lambda: suite.redis("EXISTS", kit.cache_key(a.id)) == 1,
         what="the cache key of " + a.id)


def exactly_once(suite, name, keys):
    """Every (aggregate id, sequence) of `keys` is in the stream once, and
    no change is in it twice."""
    evs = harness.wait_event_keys(suite, name, keys)
    counts = {}
    for _, ev in evs:
        counts[harness.event_key(ev)] = counts.get(harness.event_key(ev), 0) + 1
    assert all(c == 1 for c in counts.values()), counts
    return evs


@EVERY
def test_redis_stopped(suite_factory, name):
    suite, kit = kits.start(suite_factory, name)
    a = kit.create("K1")
    warm(suite, kit, a)

    suite.stop_redis()
    assert suite.health(name, kit.full) == harness.SERVING
    assert kit.get(a.id) == a
    a2 = kit.change(a, 1)
    b = kit.create("K2")
    assert kit.get(a.id) == a2 and kit.lookup("K2") == b
    assert sorted(kit.list_ids()) == sorted([a.id, b.id])
    assert suite.health(name, kit.full) == harness.SERVING

    # An empty Redis comes back: the changes made without it reach the
    # stream once each, and the cache is used again.
    suite.start_redis()
    evs = exactly_once(suite, name, [(a.id, 2), (b.id, 1)])
    assert [harness.event_key(e) for _, e in evs] == [(a.id, 2), (b.id, 1)]
    warm(suite, kit, b)
    assert kit.get(b.id) == b and kit.get(a.id) == a2


REDIS_TIMEOUT_MS = 300


@EVERY
def test_redis_hung(suite_factory, name):
    """Redis stopped with SIGSTOP: connections stay open, nothing answers.
    Every call still answers within the Redis timeout (for each Redis round
    trip of the call and of the peer calls it makes) plus a margin; with
    Redis back, everything works and each change is in the stream once."""
    suite, kit = kits.start(suite_factory, name,
                            env={"COMPACT_REDIS_TIMEOUT_MS": str(REDIS_TIMEOUT_MS)})
    a = kit.create("K1")
    warm(suite, kit, a)
    bound = scaled(4 * REDIS_TIMEOUT_MS / 1000 + 2)

    suite.pause_redis()
    assert kit.get(a.id, timeout=bound) == a
    a2 = kit.change(a, 1, timeout=bound)
    assert kit.get(a.id, timeout=bound) == a2
    b = kit.create_call(kit.create_request("K2"), timeout=bound)
    assert kit.lookup("K2", timeout=bound) == b
    assert suite.health(name, kit.full, timeout=bound) == harness.SERVING
    suite.resume_redis()

    poll(lambda: kit.get(a.id) == a2, what="the read of the change once Redis is back")
    c = kit.create("K3")
    assert kit.get(c.id) == c
    exactly_once(suite, name, [(a.id, 1), (a.id, 2), (b.id, 1), (c.id, 1)])
