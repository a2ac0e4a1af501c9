"""kill -9 under write load, for every service: several threads write (new
aggregates, updates of one aggregate each, duplicates that must be refused)
until the service is killed with SIGKILL; it is started again on the same
data directory (Redis kept running), and then:

- every write that was acknowledged (OK) is there, as acknowledged;
- no write that was refused is there, and nothing is there that was not
  written: every aggregate is one the load created;
- a write cut by the kill (its outcome unknown to the client) is either
  wholly there, with its event, or not at all;
- every change there is in the stream compact:events:<service> exactly once
  (the outbox publishes again what lies past its mark of what was
  published; Redis refuses the entries it already has), in
  aggregate-sequence order, with the state the store holds.

Events are read from the "event" field alone, decoded with events_pb2, and
counted by (aggregate id, aggregate sequence)."""
import threading

import grpc
import pytest

import harness
import kits
from harness import outcome, poll

C = grpc.StatusCode
CREATORS = 3
UPDATERS = 2
ACKED_BEFORE_KILL = 40


class Load:
    """The writers. Creators make aggregates C<t>-<n> and, every fifth
    one, send it again (refused: ALREADY_EXISTS); updaters change one
    aggregate each, one version after another. A writer stops at its first
    failure that is not a refusal: after the kill, every call fails."""

    def __init__(self, suite, kit, targets):
        self.suite, self.kit = suite, kit
        self.lock = threading.Lock()
        self.acked = {}           # tag -> state, creates answered OK
        self.refused = []         # tags of duplicates answered ALREADY_EXISTS
        self.unknown = {}         # tag -> (code, details): creates cut short
        self.ends = []            # how each writer ended: (what, code, details)
        self.updates = {t.id: [] for t in targets}   # id -> states answered OK
        self.cut = {}             # id -> number of the update cut short
        self.wrong = []           # anything a correct service never answers
        self.channels = []
        self.threads = [threading.Thread(target=self.creator, args=(i,), daemon=True)
                        for i in range(CREATORS)]
        self.threads += [threading.Thread(target=self.updater, args=(t,), daemon=True)
                         for t in targets]

    def kit_of_own(self):
        ch = self.suite.new_channel(self.kit.name)
        with self.lock:
            self.channels.append(ch)
        return self.kit.with_channel(ch)

    def acked_count(self):
        with self.lock:
            return len(self.acked) + sum(len(v) for v in self.updates.values())

    def creator(self, i):
        k = self.kit_of_own()
        n = 0
        while True:
            tag = "C%d-%d" % (i, n)
            n += 1
            code, rep = outcome(k.create, tag)
            with self.lock:
                if code != C.OK:
                    self.unknown[tag] = (code, rep)
                    self.ends.append(("create " + tag, code, rep))
                    return
                self.acked[tag] = rep
            if n % 5:
                continue
            code, rep = outcome(k.create, tag)
            with self.lock:
                if code == C.ALREADY_EXISTS:
                    self.refused.append(tag)
                elif code == C.OK:
                    self.wrong.append(("duplicate accepted", tag, rep))
                else:
                    self.ends.append(("duplicate " + tag, code, rep))
                    return

    def updater(self, target):
        k = self.kit_of_own()
        n = 0
        while True:
            n += 1
            code, rep = outcome(k.change, target, n)
            with self.lock:
                if code != C.OK:
                    self.cut[target.id] = n
                    self.ends.append(("update %s #%d" % (target.id, n), code, rep))
                    return
                self.updates[target.id].append(rep)

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(harness.STOP_TIMEOUT)
            assert not t.is_alive(), "a writer still runs after the kill"
        for ch in self.channels:
            ch.close()


def state_of(ev):
    return harness.message_class(ev.state_type).FromString(ev.state)


@pytest.mark.parametrize("name", kits.SERVICES)
def test_kill9_under_write_load(suite_factory, name):
    suite, kit = kits.start(suite_factory, name, metrics=(name,))
    targets = [kit.create("U%d" % i) for i in range(UPDATERS)]
    load = Load(suite, kit, targets)
    load.start()
    try:
        poll(lambda: load.acked_count() >= ACKED_BEFORE_KILL and load.refused,
             what="%d acknowledged writes and a refused one" % ACKED_BEFORE_KILL)
        poll(lambda: suite.metrics(name)["compact_rpc_calls_in_flight"] >= 1,
             what="writes in flight")
        assert suite.kill(name) == -9
    finally:
        load.join()
    assert load.wrong == []
    # Every writer wrote until the kill cut it short.
    assert len(load.ends) == CREATORS + UPDATERS
    assert {code for _, code, _ in load.ends} == {C.UNAVAILABLE}, load.ends

    suite.start(name)
    # A write after the restart; once its event is in the stream, so is
    # every event before it (the relay publishes in commit order).
    after = kit.create("AFTER")
    evs = harness.wait_event_keys(suite, name, [(after.id, 1)])

    # Each change once, each aggregate's changes 1, 2, 3 ... in order.
    keys = [harness.event_key(e) for _, e in evs]
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]
    by_id = {}
    for _, ev in evs:
        by_id.setdefault(ev.aggregate_id, []).append(ev)
    for aid, mine in by_id.items():
        assert [e.aggregate_sequence for e in mine] == list(range(1, len(mine) + 1)), aid

    # What the store holds is what was written, and its events say so.
    stored = {}
    for aid in kit.list_ids():
        stored[aid] = kit.get(aid)
        assert aid in by_id, "%s is stored but has no event" % aid
        assert state_of(by_id[aid][-1]) == stored[aid], aid
    assert set(by_id) == set(stored), "events of aggregates that are not stored"

    tags = {kit.tag_of(s): aid for aid, s in stored.items()}
    for tag, state in load.acked.items():
        assert stored.get(state.id) == state, "acknowledged create %s lost or changed" % tag
    for tag in load.refused:
        assert tags[tag] == load.acked[tag].id
    expected = set(load.acked) | set(load.unknown) | {kit.tag_of(t) for t in targets} | {"AFTER"}
    assert set(tags) <= expected, set(tags) - expected

    for t in targets:
        acked = load.updates[t.id]
        events = by_id[t.id]
        # Version 1 is the create, version n + 1 the n-th update; every
        # acknowledged one is there with its own state, and at most the
        # update cut by the kill follows.
        assert [state_of(e) for e in events[1:len(acked) + 1]] == acked, t.id
        assert len(events) in (len(acked) + 1, len(acked) + 2), (t.id, len(acked), len(events))
        if len(events) == len(acked) + 2:
            assert kit.changed(stored[t.id], load.cut[t.id])
        else:
            assert stored[t.id] == (acked[-1] if acked else t)
