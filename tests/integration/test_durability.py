"""Group commit (common/store_sync.c) through the real membership binary: a
write is answered only after the flush of the WAL that follows its commit,
one flush answers many writes, the outbox publishes only flushed events, and
a failed flush answers DATA_LOSS and stops writes while reads go on.

The fault point store.sync_delay_ms makes every flush that much slower, and
the flush counter of /metrics (compact_store_flushes_total) is the clock:
what a test asserts is the order of things (a reply after a flush finished,
its event after that flush and no other, a read answered while no flush
had finished),
never how long something took. The delays only keep the windows in which
the order is observed open, longer on the slower sanitizer build."""
import grpc
from google.protobuf import field_mask_pb2
import pytest

import harness
from harness import M, code_of, create, poll

C = grpc.StatusCode
SVC = "compact.membership.v1.Membership"


def slow_flush(delay_ms):
    """Suite settings: every flush `delay_ms` longer, and /metrics."""
    return {"faults": "store.sync_delay_ms=%d" % delay_ms, "metrics": True}


def metric(suite, name):
    got = suite.metrics("membership")
    assert name in got, "no %s in /metrics" % name
    return int(got[name])


def flushes(suite):
    return metric(suite, "compact_store_flushes_total")


def in_flight(suite):
    return metric(suite, "compact_rpc_calls_in_flight")


@pytest.mark.suite(**slow_flush(700 * harness.SLOW))
def test_reply_and_event_wait_for_the_same_flush(suite):
    stub = suite.stub("membership")
    before = flushes(suite)
    fut = stub.CreateEntity.future(M.CreateEntityRequest(entity=harness.entity("UNODC")))

    def committed_not_flushed():
        listed = stub.ListEntities(M.ListEntitiesRequest()).entities
        return listed if listed and flushes(suite) == before else None
    poll(committed_not_flushed, what="the committed entity before any flush")
    # Committed, not yet on disk: not published either. (The stream is read
    # before the counter, which only grows.)
    entries = suite.stream("membership")
    if flushes(suite) == before:
        assert entries == [], "an event published before its flush"
    e = fut.result()
    # Answered once the flush that began after its commit had finished.
    assert flushes(suite) > before
    # Published with that same flush, not after one of the relay's own (which
    # would take another 700 ms): nothing else writes, so one flush in all.
    events = harness.wait_events(suite, 1)
    assert flushes(suite) == before + 1
    assert events[0][1]["aggregate_id"].decode() == e.id


@pytest.mark.suite(**slow_flush(3000 * harness.SLOW))
def test_reads_go_on_while_a_write_waits_for_its_flush(suite):
    stub = suite.stub("membership")
    before = flushes(suite)
    fut = stub.CreateEntity.future(M.CreateEntityRequest(entity=harness.entity("WCO")))

    def committed_not_flushed():
        listed = stub.ListEntities(M.ListEntitiesRequest()).entities
        # Read after the List: no flush had finished when it was answered,
        # so neither had the write's, which its reply waits for.
        return listed if listed and flushes(suite) == before else None
    # Committed, so visible to reads at once, before the write is answered.
    listed = poll(committed_not_flushed, what="the committed entity before any flush")
    assert [e.acronym for e in listed] == ["WCO"]
    assert fut.result().id == listed[0].id
    assert flushes(suite) > before


@pytest.mark.suite(**slow_flush(1500 * harness.SLOW))
def test_one_flush_answers_many_writes(suite):
    stub = suite.stub("membership")
    n = 24
    before = flushes(suite)
    # The first write starts a flush; the others are all committed while it
    # runs (their handlers commit as they arrive), so one more flush answers
    # them all.
    futs = [stub.CreateEntity.future(M.CreateEntityRequest(entity=harness.entity("GRP00")))]
    poll(lambda: in_flight(suite) == 1 and flushes(suite) == before, what="the first write's flush")
    futs += [stub.CreateEntity.future(M.CreateEntityRequest(
        entity=harness.entity("GRP%02d" % i))) for i in range(1, n)]
    poll(lambda: in_flight(suite) == n and flushes(suite) == before,
         what="all the writes in flight during the first flush")
    made = [f.result() for f in futs]
    assert len({e.id for e in made}) == n
    used = flushes(suite) - before
    # The first write's flush, the one all the others shared (which the
    # relay's first batch shares too), and perhaps the relay's next batch:
    # one flush per write would be 24.
    assert 2 <= used <= 3, used
    got = stub.ListEntities(M.ListEntitiesRequest(page_size=100)).entities
    assert {e.id for e in got} == {e.id for e in made}
    assert len(harness.wait_events(suite, n)) == n


@pytest.mark.suite(faults="store.sync", wait="answer")
def test_failed_flush_is_data_loss_and_stops_writes(suite):
    stub = suite.stub("membership")
    code, details = code_of(stub.CreateEntity, M.CreateEntityRequest(entity=harness.entity("UNODC")))
    assert code == C.DATA_LOSS, code
    assert "could not be flushed to disk" in details and "may be lost" in details
    # The store can no longer promise durability: NOT_SERVING, writes refused
    # before anything is written, reads still answered.
    poll(lambda: suite.health("membership", SVC) == harness.NOT_SERVING,
         what="NOT_SERVING after a failed flush")
    code, details = code_of(stub.CreateEntity, M.CreateEntityRequest(entity=harness.entity("WCO")))
    assert code == C.UNAVAILABLE, code
    assert "nothing was written" in details
    listed = stub.ListEntities(M.ListEntitiesRequest()).entities
    assert [e.acronym for e in listed] == ["UNODC"]     # committed, visible, not durable
    assert suite.stream("membership") == []             # and never published
    # A restart recovers from the file as it is.
    # A restart recovers from the file as it is (no power was cut, so the
    # unflushed write is still there), and writes work again.
    suite.restart("membership", faults="", wait="serving")
    stub = suite.stub("membership")
    assert create(stub, "WCO").acronym == "WCO"
    listed = stub.ListEntities(M.ListEntitiesRequest()).entities
    assert sorted(e.acronym for e in listed) == ["UNODC", "WCO"]


# ---- a failed COMMIT of a turn's writes ------------------------------------------

BATCH_FAILED = "the writes of a loop turn were not committed; none is kept"


def failed_batches(suite):
    """The waiters of each refused batch COMMIT, from the service's log."""
    return [int(l["waiters"]) for l in suite.logs("membership") if l.get("msg") == BATCH_FAILED]


def test_a_failed_batch_commit_fails_every_write_of_its_turn_and_keeps_none(suite):
    """The writes of one loop turn share one COMMIT (common/store/store.c,
    "Batched commits"); the fault point store.batch_commit refuses it. Each
    caller of that turn hears UNAVAILABLE, none DATA_LOSS or OK; nothing of
    any of them is in the store, the stream or the cache, during the run
    and after a restart. Reads of the updated entity go on meanwhile: one
    that lands in a turn with writes pending may see them, and must not
    fill the cache with them (that timing is not forced here; test_cache
    asserts the held fill itself)."""
    stub = suite.stub("membership")
    kept = create(stub, "UNICEF")
    harness.wait_events(suite, 1)
    suite.restart("membership", faults="store.batch_commit")
    stub = suite.stub("membership")

    n, rounds, seen = 24, 0, []
    # Concurrent calls land in a few loop turns; go on until one refused
    # COMMIT is known to have carried several writes (its waiters).
    while rounds < 6 and max(seen, default=0) < 2:
        rounds += 1
        creates = [stub.CreateEntity.future(M.CreateEntityRequest(
            entity=harness.entity("LOST%d%02d" % (rounds, i)))) for i in range(n)]
        updates = [stub.UpdateEntity.future(M.UpdateEntityRequest(
            entity=M.Entity(id=kept.id, name="never kept %d" % i),
            update_mask=field_mask_pb2.FieldMask(paths=["name"]))) for i in range(n // 2)]
        reads = [stub.GetEntity.future(M.GetEntityRequest(id=kept.id)) for _ in range(n)]
        for f in creates + updates:
            assert f.exception() is not None, "a write was acknowledged: %r" % (f.result(),)
            assert f.code() == C.UNAVAILABLE, (f.code(), f.details())
            assert "nothing was written" in f.details(), f.details()
        for f in reads:
            assert f.result().id == kept.id
        seen = poll(lambda: failed_batches(suite) or None, what="a refused batch in the log")
    assert max(seen) >= 2, seen
    # Every write waited on a refused COMMIT (the relay may have waited too).
    assert sum(seen) >= rounds * (n + n // 2), seen

    assert [e.id for e in stub.ListEntities(M.ListEntitiesRequest(page_size=500)).entities] \
        == [kept.id]
    assert stub.GetEntity(M.GetEntityRequest(id=kept.id)).name == kept.name
    cached = suite.redis("GET", harness.ENTITY_KEY % kept.id)
    assert cached is None or b"never kept" not in cached, cached
    assert len(suite.stream()) == 1

    suite.restart("membership", faults="")
    stub = suite.stub("membership")
    assert [e.id for e in stub.ListEntities(M.ListEntitiesRequest(page_size=500)).entities] \
        == [kept.id]
    assert stub.GetEntity(M.GetEntityRequest(id=kept.id)).name == kept.name
    later = create(stub, "UNHCR")
    # The relay publishes in outbox order: the next event after the first
    # is this one, so no event of a refused write is waiting before it.
    events = harness.wait_events(suite, 2)
    assert [f["aggregate_id"].decode() for _, f in events] == [kept.id, later.id]
