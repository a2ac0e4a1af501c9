"""Real SQLite errors under every service, not fault switches: a full disk
(a 2 MiB tmpfs mounted on the data directory), a read-only database file
(chattr +i: root ignores permissions, not the immutable flag), a read-only
data directory (the tmpfs remounted read-only), and the database locked by
another process (BEGIN EXCLUSIVE from Python's sqlite3). A failed write
answers UNAVAILABLE and writes nothing, reads go on, and once the cause is
gone writes work again, with one event per change that was made. While a
write waits for a lock, the rest of the service goes on answering.

Then the projects service's commit and flush failures, through the fault
points store.commit and store.sync (common/base/fault.h), as
test_membership.py and test_durability.py do for membership."""
import contextlib
import errno
import os
import sqlite3
import subprocess

import grpc
import pytest

import harness
import kits
from harness import code_of, outcome, poll

C = grpc.StatusCode
EVERY = pytest.mark.parametrize("name", kits.SERVICES)


def sh(*argv):
    subprocess.run(list(argv), check=True, capture_output=True, text=True)


@contextlib.contextmanager
def tmpfs_data_dir(suite, name, size="2m"):
    """Runs `name` from here on on an empty tmpfs of `size` mounted on its
    data directory; at the end stops it and unmounts."""
    suite.stop(name)
    d = suite.data_dir(name)
    sh("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", d)
    try:
        suite.start(name)
        yield d
    finally:
        try:
            suite.stop(name)
        finally:
            if subprocess.run(["umount", d]).returncode != 0:
                subprocess.run(["umount", "-l", d])


def fill(directory):
    """Writes a file in `directory` until the file system is full."""
    with open(os.path.join(directory, "filler"), "wb", buffering=0) as f:
        for chunk in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e


def assert_events(suite, kit, want):
    """One more write, then the stream is exactly `want` (keys) plus its
    event: the relay publishes in commit order, so an event of a write
    that failed would come before it."""
    b = kit.create("ZZBARRIER")
    want = list(want) + [(b.id, 1)]
    evs = harness.wait_event_keys(suite, kit.name, [(b.id, 1)])
    assert [harness.event_key(e) for _, e in evs] == want
    return b


# ---- a full disk ---------------------------------------------------------------------

@EVERY
def test_full_disk(suite_factory, name):
    suite, kit = kits.start(suite_factory, name)
    with tmpfs_data_dir(suite, name) as d:
        made = [kit.create("K%d" % i) for i in range(3)]
        harness.wait_event_keys(suite, name, [(a.id, 1) for a in made])
        fill(d)
        # The WAL grows with each commit: a write or two may still fit in
        # its last page; soon one cannot.
        n = 0
        while True:
            code, rep = outcome(kit.create, "F%d" % n)
            if code != C.OK:
                break
            made.append(rep)
            n += 1
            assert n < 20, "writes keep succeeding on a full disk"
        assert code == C.UNAVAILABLE, (code, rep)
        assert "nothing was written" in rep and "No space left on device" in rep, rep
        code, rep = outcome(kit.change, made[0], 1)
        assert code == C.UNAVAILABLE and "nothing was written" in rep, (code, rep)
        # Reads go on from what is stored.
        assert [kit.get(a.id) for a in made] == made
        assert sorted(kit.list_ids()) == sorted(a.id for a in made)
        assert code_of(kit.lookup, "F%d" % n)[0] == C.NOT_FOUND

        os.remove(os.path.join(d, "filler"))
        c = kit.create("F%d" % n)
        a2 = kit.change(made[0], 1)
        assert kit.get(made[0].id) == a2
        assert_events(suite, kit, [(a.id, 1) for a in made] + [(c.id, 1), (a2.id, 2)])
        # The file as it is on disk holds exactly that.
        suite.restart(name)
        assert sorted(kit.list_ids()) == sorted([a.id for a in made] + [c.id] +
                                                [kit.lookup("ZZBARRIER").id])
        assert kit.get(made[0].id) == a2


# ---- read-only ---------------------------------------------------------------------------

@EVERY
def test_read_only_database_file(suite_factory, name):
    """The database file made immutable while the service is stopped: it
    starts, reads work, every write is refused with UNAVAILABLE and writes
    nothing; writable again (and restarted), writes work."""
    suite, kit = kits.start(suite_factory, name)
    a = kit.create("K1")
    harness.wait_event_keys(suite, name, [(a.id, 1)])
    suite.stop(name)
    db = os.path.join(suite.data_dir(name), name + ".db")
    if subprocess.run(["chattr", "+i", db]).returncode != 0:
        pytest.skip("the file system of %s has no immutable flag" % db)
    try:
        suite.start(name)
        assert kit.get(a.id) == a and kit.list_ids() == [a.id]
        for write in (lambda: kit.create("K2"), lambda: kit.change(a, 1)):
            code, details = code_of(write)
            assert code == C.UNAVAILABLE, (code, details)
            assert "nothing was written" in details and "Read-only file system" in details
        assert kit.get(a.id) == a and kit.list_ids() == [a.id]
        assert code_of(kit.lookup, "K2")[0] == C.NOT_FOUND
        suite.stop(name)
    finally:
        sh("chattr", "-i", db)
    suite.start(name)
    b = kit.create("K2")
    assert sorted(kit.list_ids()) == sorted([a.id, b.id])
    assert_events(suite, kit, [(a.id, 1), (b.id, 1)])


@EVERY
def test_read_only_data_directory(suite_factory, name):
    """The data directory on a file system mounted read-only: the service
    refuses to start, saying why, instead of serving a store it cannot
    write; mounted read-write again, it starts with its data."""
    suite, kit = kits.start(suite_factory, name)
    with tmpfs_data_dir(suite, name) as d:
        a = kit.create("K1")
        suite.stop(name)
        sh("mount", "-o", "remount,ro", d)
        try:
            suite.start(name, wait="exit")
            assert suite.expect_exit(name) == 1
            log = suite.raw_log(name)
            assert d in log and "Read-only file system" in log, log
        finally:
            sh("mount", "-o", "remount,rw", d)
        suite.start(name)
        assert kit.get(a.id) == a


# ---- a lock held by another process --------------------------------------------------------

@EVERY
def test_database_locked_by_another_process(suite_factory, name):
    """Another process holds the write lock (BEGIN EXCLUSIVE): a write waits
    for the busy timeout, then answers UNAVAILABLE and writes nothing, and
    reads still work (WAL: readers do not wait for a writer). Released, the
    same write succeeds."""
    suite, kit = kits.start(suite_factory, name, metrics=(name,))
    a = kit.create("K1")
    # The relay has marked the event sent: the service has no write of its
    # own to make while the lock is held.
    poll(lambda: suite.metrics(name)["compact_outbox_pending_events"] == 0,
         what="the outbox to be empty")
    db = sqlite3.connect(os.path.join(suite.data_dir(name), name + ".db"),
                         isolation_level=None, timeout=harness.CALL_TIMEOUT)
    try:
        db.execute("BEGIN EXCLUSIVE")
        code, details = code_of(kit.create, "K2")
        assert code == C.UNAVAILABLE, (code, details)
        assert "nothing was written" in details and "busy" in details, details
        assert kit.get(a.id) == a and kit.list_ids() == [a.id]
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
    b = kit.create("K2")
    assert kit.lookup("K2") == b
    assert_events(suite, kit, [(a.id, 1), (b.id, 1)])


def test_calls_answered_while_a_write_waits_for_the_lock(suite_factory):
    """While one write waits for the lock, the service's other calls (health,
    reads) are answered, each well within the 5 s busy timeout."""
    suite, kit = kits.start(suite_factory, "membership", metrics=True)
    a = kit.create("K1")
    poll(lambda: suite.metrics("membership")["compact_outbox_pending_events"] == 0,
         what="the outbox to be empty")
    db = sqlite3.connect(os.path.join(suite.data_dir("membership"), "membership.db"),
                         isolation_level=None, timeout=harness.CALL_TIMEOUT)
    try:
        db.execute("BEGIN EXCLUSIVE")
        # On the same connection after the write: its handler runs first.
        fut = kit.stub.CreateEntity.future(kit.create_request("K2"))
        bound = harness.scaled(1)
        for _ in range(3):
            assert suite.health("membership", timeout=bound) == harness.SERVING
            assert kit.get(a.id, timeout=bound) == a
        assert outcome(fut.result)[0] == C.UNAVAILABLE
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()


# ---- projects: a failed commit, a failed flush --------------------------------------------------

PROJECTS = ("membership", "workgroups", "projects")
P = kits.P


def tracking_writes(kit, p):
    """One of each write of a project after its creation."""
    res = p.results[0]
    ind = res.indicators[0]
    s = kit.stub
    return {
        "CreateProject": lambda: kit.create("K2"),
        "UpdateProject": lambda: kit.change(p, 1),
        "RecordTransaction": lambda: s.RecordTransaction(P.RecordTransactionRequest(
            project_id=p.id, transaction=P.Transaction(
                type=P.TRANSACTION_TYPE_INCOMING_COMMITMENT, date="2024-02-01",
                value=P.Money(currency="USD", amount_minor=1000)))),
        "AddResult": lambda: s.AddResult(P.AddResultRequest(project_id=p.id, result=P.Result(
            type=P.RESULT_TYPE_OUTCOME, title="Borders are safer"))),
        "AddIndicator": lambda: s.AddIndicator(P.AddIndicatorRequest(
            project_id=p.id, result_id=res.id, indicator=P.Indicator(
                title="Incidents", measure=P.INDICATOR_MEASURE_UNIT))),
        "ReportIndicatorValue": lambda: s.ReportIndicatorValue(P.ReportIndicatorValueRequest(
            project_id=p.id, indicator_id=ind.id, period_start="2024-01-01",
            period_end="2024-12-31", actual=P.IndicatorValue(value=3))),
    }


def project_with_an_indicator(kit):
    req = kit.create_request("K1")
    req.project.results.add(type=P.RESULT_TYPE_OUTPUT, title="Training").indicators.add(
        title="Officers trained", measure=P.INDICATOR_MEASURE_UNIT)
    return kit.create_call(req)


def test_projects_failed_commit_writes_nothing(suite_factory):
    suite, kit = kits.start(suite_factory, "projects")
    p = project_with_an_indicator(kit)
    harness.wait_event_keys(suite, "projects", [(p.id, 1)])
    suite.restart("projects", faults="store.commit")
    for method, write in tracking_writes(kit, p).items():
        code, details = code_of(write)
        assert code == C.UNAVAILABLE, (method, code, details)
        assert "could not be committed; nothing was written" in details, (method, details)
    # Nothing of any of them, in the store, the overlap index or the stream.
    assert kit.get(p.id) == p and kit.list_ids() == [p.id]
    draft = kit.create_request("K2").project
    found = kit.stub.FindOverlaps(P.FindOverlapsRequest(draft=draft, min_score=0.01))
    assert [o.project_id for o in found.overlaps] == [p.id]
    suite.restart("projects", faults="")
    assert kit.get(p.id) == p and kit.list_ids() == [p.id]
    assert_events(suite, kit, [(p.id, 1)])


def test_projects_failed_flush_is_data_loss(suite_factory):
    suite, kit = kits.start(suite_factory, "projects")
    suite.restart("projects", faults="store.sync", wait="answer")
    code, details = code_of(kit.create, "K1")
    assert code == C.DATA_LOSS, (code, details)
    assert "could not be flushed to disk" in details and "may be lost" in details
    # The store can no longer promise durability: NOT_SERVING, writes
    # refused before anything is written, reads still answered.
    poll(lambda: suite.health("projects", kit.full) == harness.NOT_SERVING,
         what="NOT_SERVING after a failed flush")
    p = kit.lookup("K1")                            # committed, visible, not durable
    assert kit.list_ids() == [p.id]
    for method, write in tracking_writes(kit, project_with_an_indicator_or(kit, p)).items():
        code, details = code_of(write)
        assert code == C.UNAVAILABLE and "nothing was written" in details, (method, details)
    assert kit.get(p.id) == p
    assert suite.stream("projects") == []            # never published
    # A restart recovers from the file as it is, and writes work again.
    suite.restart("projects", faults="", wait="serving")
    assert kit.get(p.id) == p
    u = kit.change(p, 1)
    assert_events(suite, kit, [(p.id, 1), (u.id, 2)])


def project_with_an_indicator_or(kit, p):
    """p with a result and an indicator for tracking_writes() to name (ids
    that need not exist: the writes are refused before they are looked at)."""
    q = type(p)()
    q.CopyFrom(p)
    if not q.results:
        q.results.add(id="res_aaaaaaaaaaaaaaaaaaaa").indicators.add(id="ind_aaaaaaaaaaaaaaaaaaaa")
    return q
