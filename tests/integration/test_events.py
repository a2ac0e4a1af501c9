"""Domain events in the Redis stream "compact:events:membership", decoded with
the generated events_pb2: one entry per committed change, in commit order,
with per-aggregate sequences 1, 2, 3 and the entity after the change."""
import re

from google.protobuf import field_mask_pb2

import harness
from harness import M, create

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def update(stub, e, paths):
    return stub.UpdateEntity(M.UpdateEntityRequest(
        entity=e, update_mask=field_mask_pb2.FieldMask(paths=paths)))


def withdraw(stub, e):
    return stub.WithdrawEntity(M.WithdrawEntityRequest(id=e.id))


def stream_ids_increase(entries):
    """Redis assigns the ids: they strictly increase, entry after entry, and
    each entry names its event (the consumer's key against duplicates)."""
    ids = [harness.stream_id(eid) for eid, _ in entries]
    assert ids == sorted(set(ids)), ids
    event_ids = [f["event_id"].decode() for _, f in entries]
    assert event_ids == [harness.decode_event(f).event_id for _, f in entries]
    assert len(set(event_ids)) == len(event_ids)


def check_entry(eid, fields, want_state, seq, type_):
    ev = harness.decode_event(fields)
    assert fields["type"].decode() == ev.type == type_
    assert fields["aggregate_id"].decode() == ev.aggregate_id == want_state.id
    assert int(fields["aggregate_seq"]) == ev.aggregate_sequence == seq
    assert ev.service == "membership"
    assert ev.aggregate_type == "entity"
    assert HEX32.match(ev.event_id), ev.event_id
    assert ev.occur_time.ToNanoseconds() > 0
    assert ev.state_type == "compact.membership.v1.Entity"
    state = M.Entity()
    state.ParseFromString(ev.state)
    assert state == want_state
    return ev


def test_event_content(suite):
    stub = suite.stub("membership")
    states = [create(stub, "UNODC", name="UN Office on Drugs and Crime")]
    states.append(update(stub, M.Entity(id=states[0].id, name="UNODC"), ["name"]))
    states.append(update(stub, M.Entity(id=states[0].id, verified=True), ["verified"]))
    states.append(withdraw(stub, states[0]))
    types = ["entity.created", "entity.updated", "entity.updated", "entity.withdrawn"]

    entries = harness.wait_events(suite, 4)
    assert len(entries) == 4
    stream_ids_increase(entries)
    evs = [check_entry(eid, f, st, i + 1, t)
           for i, ((eid, f), st, t) in enumerate(zip(entries, states, types))]
    assert len({e.event_id for e in evs}) == 4
    times = [e.occur_time.ToNanoseconds() for e in evs]
    assert times == sorted(times)
    # The event of a change carries the time the change was made.
    assert evs[0].occur_time.ToNanoseconds() >= states[0].create_time.ToNanoseconds() - 10**9


def test_sequences_per_aggregate_interleaved(suite):
    stub = suite.stub("membership")
    a = create(stub, "UNDP")
    b = create(stub, "UNESCO")
    a2 = update(stub, M.Entity(id=a.id, name="UN Development Programme"), ["name"])
    b2 = update(stub, M.Entity(id=b.id, kind=M.ENTITY_KIND_OBSERVER), ["kind"])
    b3 = update(stub, M.Entity(id=b.id, source_note="assumed"), ["source_note"])
    a3 = withdraw(stub, a2)
    c = create(stub, "INTERPOL", kind=M.ENTITY_KIND_NON_UN_MEMBER)
    want = [(a, 1, "entity.created"), (b, 1, "entity.created"), (a2, 2, "entity.updated"),
            (b2, 2, "entity.updated"), (b3, 3, "entity.updated"), (a3, 3, "entity.withdrawn"),
            (c, 1, "entity.created")]
    entries = harness.wait_events(suite, len(want))
    assert len(entries) == len(want)
    stream_ids_increase(entries)
    for (eid, f), (st, seq, t) in zip(entries, want):
        check_entry(eid, f, st, seq, t)


def test_sequence_continues_after_restart(suite):
    stub = suite.stub("membership")
    a = create(stub, "UNICRI")
    a2 = update(stub, M.Entity(id=a.id, name="UN Interregional Crime Research Institute"),
                ["name"])
    harness.wait_events(suite, 2)
    suite.restart("membership")
    stub = suite.stub("membership")
    a3 = update(stub, M.Entity(id=a.id, verified=True), ["verified"])
    b = create(stub, "UNOCT")
    entries = harness.wait_events(suite, 4)
    # Nothing published twice after the restart.
    assert len(entries) == 4
    stream_ids_increase(entries)
    for (eid, f), (st, seq, t) in zip(entries, [(a, 1, "entity.created"),
                                                (a2, 2, "entity.updated"),
                                                (a3, 3, "entity.updated"),
                                                (b, 1, "entity.created")]):
        check_entry(eid, f, st, seq, t)


def test_many_changes_one_entry_each(suite):
    stub = suite.stub("membership")
    made = harness.create_many(stub, [harness.entity("E%03d" % i) for i in range(60)])
    for e in made[:20]:
        update(stub, M.Entity(id=e.id, verified=True), ["verified"])
    entries = harness.wait_events(suite, 80)
    assert len(entries) == 80
    stream_ids_increase(entries)
    per = {}
    for _, f in entries:
        ev = harness.decode_event(f)
        per.setdefault(ev.aggregate_id, []).append(ev.aggregate_sequence)
    assert set(per) == {e.id for e in made}
    for e in made:
        assert per[e.id] == ([1, 2] if e in made[:20] else [1])
