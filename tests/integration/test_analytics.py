"""compact-analytics through the real binaries: membership, workgroups and
projects write, their events go through a real Redis, and analytics' figures
are compared with what the test computed from its own writes
(analytics_world.Expect), never with analytics itself.

Exactly once, under failure:
  - Redis stopped and started again (without its data) in the middle of a
    burst of writes: the sources keep writing, analytics keeps answering and
    says the sources are unreachable; afterwards its figures equal the
    expectation and a Rebuild's, money summed exactly once;
  - analytics killed with SIGKILL mid-burst: it resumes from the stream
    position it stored with its figures; events_applied goes on from where
    it was and ends equal to the number of entries in the streams;
  - a fresh analytics over existing data bootstraps by rebuild;
  - an entry added to a stream twice changes nothing (a duplicate, counted);
  - an entry deleted before analytics read it: the figures are still right
    (Redis's max-deleted-entry-id also makes it rebuild; both run);
  - a sequence that skips, with no entry deleted: the aggregate is read
    again from its service (no rebuild).

And the interfaces: every RPC's bad input (INVALID_ARGUMENT or NOT_FOUND
naming the field), the HTTP API (JSON equal to the RPC answers, 400/404/405),
WatchOverview's pace and its clean end on SIGTERM, exchange rates to the
cent.
"""
import collections
import json
import os
import signal
import socket
import threading
import time

import grpc
import pytest
from google.protobuf import json_format

import analytics_world as aw
import harness
from analytics_world import A, P, World
from harness import code_of, poll

C = grpc.StatusCode
# Prometheus /metrics of every service: analytics' counters, and the
# sources' outbox gauges (every write published).
METRICS_PORTS = {name: harness.free_port() for name in aw.ALL}
METRICS_URL = "http://127.0.0.1:%d/metrics" % METRICS_PORTS["analytics"]
ENV = {name: {"COMPACT_METRICS_LISTEN": "127.0.0.1:%d" % port}
       for name, port in METRICS_PORTS.items()}

pytestmark = pytest.mark.suite(services=aw.ALL, env=ENV)


@pytest.fixture
def an(suite):
    """analytics' stub, once its first rebuild (a new store) is over: the
    writes of a test are then all events to it, each applied once, so that
    events_applied can be held to the number of stream entries. (A write
    that races that rebuild reaches the figures by the rebuild's List calls,
    and its creation event is then a duplicate.)"""
    stub = suite.stub("analytics")
    aw.wait_consuming(stub)
    poll(lambda: aw.metrics(METRICS_URL)["compact_analytics_rebuilds_total"] >= 1,
         what="analytics' first rebuild")
    return stub


@pytest.fixture
def world(suite):
    return World(suite)


def freshness_ok(f, applied=None):
    assert f.as_of.seconds > 0, f
    assert f.event_lag_ms >= 0, f
    assert f.events_applied > 0, f
    if applied is not None:
        assert f.events_applied == applied, (f, applied)


def all_events_applied(suite, world, an):
    """Polls until analytics has applied exactly as many events as the
    streams hold (each once: a duplicate would count twice, a loss less).
    Every write's event is in its stream first: a write's event is published
    after the call returns (after a flush of its own), so the streams can
    briefly hold one event less than the writes made, and analytics would
    have applied "all" of them too soon (seen under load: a WithdrawEntity
    just before)."""
    all_published()

    def done():
        n = world.events_written()
        return an.GetOverview(A.GetOverviewRequest()).freshness.events_applied == n
    poll(done, timeout=60 * harness.SLOW, what="every stream entry applied", interval=0.1)


def all_published():
    """Waits until every source's outbox is empty: each write's event is in
    Redis (after Redis came back, the relays publish what waited)."""
    for name in aw.STREAMS:
        url = "http://127.0.0.1:%d/metrics" % METRICS_PORTS[name]
        poll(lambda: aw.metrics(url)["compact_outbox_pending_events"] == 0,
             timeout=60 * harness.SLOW, what="the outbox of %s published" % name)


def all_read(suite):
    """Waits until analytics' group has been given every entry of the three
    streams and acknowledged them all (so they are applied and on disk)."""
    def done():
        for name in aw.STREAMS:
            key = "compact:events:" + name
            info = suite.redis("XINFO", "STREAM", key)
            last = dict(zip(info[::2], info[1::2]))[b"last-generated-id"]
            groups = [dict(zip(g[::2], g[1::2])) for g in suite.redis("XINFO", "GROUPS", key)]
            g = [g for g in groups if g[b"name"] == b"analytics"]
            g = [{k.decode(): v for k, v in x.items()} for x in g]
            seen[name] = (last, g)
            # (a group made at analytics' position may lie past a new stream's end)
            if not g or g[0]["pending"] != 0 or harness.stream_id(
                    g[0]["last-delivered-id"].decode()) < harness.stream_id(last.decode()):
                return False
        return True
    seen = {}
    try:
        poll(done, timeout=60 * harness.SLOW, what="analytics to read and acknowledge every entry")
    except AssertionError as e:
        raise AssertionError("%s: %r" % (e, seen)) from None


def created_once(an, world):
    """Each aggregate's creation counts once in the activity, whether its
    event was read or a rebuild found it."""
    act = aw.activity_counts(an.GetActivity(aw.A.GetActivityRequest()))
    total = collections.Counter()
    for kinds in act.values():
        total.update({k: v for k, v in kinds.items() if k.endswith(".created")})
    assert total == collections.Counter({"entity.created": len(world.entities),
                                         "workgroup.created": len(world.groups),
                                         "project.created": len(world.projects)}), act


# ---- the figures follow the writes ------------------------------------------------

def test_figures_follow_writes(suite, an, world):
    aw.build_basic(world)
    g_bmle, g_pcve = world.gid("BMLE"), world.gid("PCVE")
    filters = [{}, {"year": 2024}, {"year": 2023}, {"group": g_bmle}, {"group": g_pcve},
               {"pillar": 1}, {"pillar": 3}, {"year": 2024, "group": g_bmle, "pillar": 2}]
    aw.wait_figures(world, an, filters)
    all_events_applied(suite, world, an)
    n_events = world.events_written()

    # Spot checks of the expectation itself, by hand, so that a wrong
    # Expect cannot agree with a wrong analytics.
    o = an.GetOverview(A.GetOverviewRequest())
    assert (o.entities, o.members, o.observers, o.un_entities, o.non_un_entities) == \
        (5, 4, 1, 3, 2)
    assert o.working_groups == 2 and o.projects == 4
    assert [(c.key, c.count) for c in o.projects_by_status if c.count] == \
        [("1", 1), ("2", 2), ("3", 1)]
    usd = [s for s in o.money.by_currency if s.currency == "USD"][0]
    eur = [s for s in o.money.by_currency if s.currency == "EUR"][0]
    assert usd.committed_minor == 60000000 + 12345678 + 2000000 + 700000
    assert usd.catalytic_minor == 12345678 + 700000
    assert usd.spent_minor == 17500050 + 1999999
    assert usd.budget_minor == 150000000 + 2500000
    assert eur.committed_minor == 3333333 + 50000001 and eur.budget_minor == 80000000
    assert not o.money.usd_complete          # EUR has no rate yet
    assert o.money.usd.committed_minor == usd.committed_minor
    freshness_ok(o.freshness, n_events)
    assert o.freshness.sources_reachable

    # Every answer carries freshness.
    for name, rep in aw.ask_all(an).items():
        freshness_ok(rep.freshness, n_events)

    # Participation: cells and roles as written.
    part = an.GetParticipation(A.GetParticipationRequest())
    cells = {(c.entity_id, c.working_group_id, c.role) for c in part.cells}
    e = world.eid
    assert (e("UNOCT"), g_bmle, A.ROLE_CHAIR) in cells
    assert (e("INTERPOL"), g_bmle, A.ROLE_VICE_CHAIR) in cells
    assert (e("OSCE"), g_bmle, A.ROLE_OBSERVER) in cells
    assert (e("INTERPOL"), g_pcve, A.ROLE_MEMBER) in cells
    # Coverage: countries x pillar, the global project apart.
    cov = an.GetCoverage(A.GetCoverageRequest())
    assert {(c.country, c.pillar) for c in cov.cells} == {
        ("KE", 2), ("KE", 3), ("UG", 2), ("UG", 3), ("ML", 1), ("NE", 1)}
    assert {(c.country, c.pillar, c.projects) for c in getattr(cov, "global")} == {
        ("", 1, 1), ("", 4, 1)}
    # Monitoring: 1 on track, 2 off track, 1 without data.
    mon = an.GetMonitoring(A.GetMonitoringRequest())
    assert (mon.total.on_track, mon.total.off_track, mon.total.no_data) == (1, 2, 1)

    # Activity: every event of the streams, by month and type.
    act = an.GetActivity(A.GetActivityRequest())
    assert len(act.months) == 24
    assert aw.activity_counts(act) == {m: dict(c) for m, c in
                                       aw.activity_expected(suite).items()}
    assert len(an.GetActivity(A.GetActivityRequest(months=120)).months) == 120

    # Alerts: the two near-identical projects, named both ways.
    t1, t2 = world.projects["TRAVEL-1"], world.projects["TRAVEL-2"]

    def alert():
        for a in an.ListDuplicationAlerts(A.ListDuplicationAlertsRequest()).alerts:
            if {a.project_id, a.other_project_id} == {t1.id, t2.id}:
                return a
        return None
    a = poll(alert, what="an alert naming TRAVEL-1 and TRAVEL-2")
    assert a.likely_duplicate and 0.5 <= a.score <= 1, a
    assert {a.project_title, a.other_project_title} == {t1.title}
    assert a.reasons and a.found_time.seconds > 0
    # The score is projects' own, as of found_time: FindOverlaps agrees. Its
    # text part weighs words by how rare they are among all projects, so
    # projects created since (PCVE-YOUTH, GLOBAL-HR) move it in the eighth
    # decimal; analytics asks again only when one of the two changes what
    # is scored (docs/ARCHITECTURE.md, "Analytics").
    fo = world.ps.FindOverlaps(P.FindOverlapsRequest(project_id=a.project_id))
    now = [o.score for o in fo.overlaps if o.project_id == a.other_project_id]
    assert now == [pytest.approx(a.score, abs=1e-4)], (now, a.score)
    # A filter that keeps neither project leaves the alert out.
    none = an.ListDuplicationAlerts(A.ListDuplicationAlertsRequest(
        filter=A.Filter(working_group_id=g_pcve)))
    assert all({x.project_id, x.other_project_id} != {t1.id, t2.id} for x in none.alerts)


# ---- exactly once, under failure ----------------------------------------------------

FILTERS = ({}, {"year": 2024}, {"pillar": 2})


def world_filters(world):
    return list(FILTERS) + [{"group": world.gid("BMLE")}]


def test_redis_restarted_mid_burst(suite, an, world):
    """Redis stopped (and started again empty: no persistence) while the
    sources write: they keep writing, analytics keeps answering and says its
    sources are unreachable, then catches up, exactly."""
    aw.build_basic(world)
    aw.wait_figures(world, an)
    burst = aw.Burst(world, ("TRAVEL-1", "TRAVEL-2", "PCVE-YOUTH")).start()
    burst.wait(30)
    suite.stop_redis()
    at_stop = burst.done
    burst.wait(at_stop + 40)            # writes go on without Redis
    # analytics answers from what it has, and says so
    poll(lambda: not an.GetOverview(A.GetOverviewRequest()).freshness.sources_reachable,
         timeout=10 * harness.SLOW, what="sources_reachable false with Redis down")
    for rep in aw.ask_all(an).values():
        assert not rep.freshness.sources_reachable
    burst.wait(burst.done + 20)
    suite.start_redis()
    burst.wait(burst.done + 40)
    n = burst.stop()
    assert n >= at_stop + 100
    poll(lambda: an.GetOverview(A.GetOverviewRequest()).freshness.sources_reachable,
         timeout=10 * harness.SLOW, what="sources_reachable true with Redis back")
    filters = world_filters(world)
    all_published()
    aw.wait_figures(world, an, filters)
    all_read(suite)
    created_once(an, world)
    # Money summed exactly once: the burst's own sums, by hand.
    committed = sum(t.amount for p in world.projects.values() for t in p.txs
                    if t.currency == "EUR" and t.stage == aw.COMMITTED)
    eur = [s for s in an.GetOverview(A.GetOverviewRequest()).money.by_currency
           if s.currency == "EUR"][0]
    assert eur.committed_minor == committed
    r = aw.rebuild_changes_nothing(an, filters)
    assert r.differences == 0, r
    assert (r.entities, r.working_groups, r.projects) == (len(world.entities), 3, 4)
    assert r.freshness.sources_reachable


@pytest.mark.suite(services=aw.ALL, env=ENV, faults={"analytics": "store.sync_delay_ms=50"})
def test_killed_mid_burst_resumes_exactly_once(suite, an, world):
    """SIGKILL while events stream in (a slow flush keeps batches between
    their commit and their XACK): the restarted analytics goes on from the
    position it stored with its figures, applying each entry once."""
    aw.build_basic(world)
    all_events_applied(suite, world, an)
    burst = aw.Burst(world, ("TRAVEL-1", "GLOBAL-HR", "PCVE-YOUTH")).start()
    burst.wait(40)
    poll(lambda: an.GetOverview(A.GetOverviewRequest()).freshness.events_applied >
         60, what="events of the burst applied")
    before = an.GetOverview(A.GetOverviewRequest()).freshness.events_applied
    rc = suite.kill("analytics")
    assert rc == -signal.SIGKILL, rc
    at_kill = burst.done
    burst.wait(at_kill + 40)            # writes go on while analytics is down
    suite.start("analytics")
    an = suite.stub("analytics")
    # It resumes: the count goes on from where it was, never back to 0.
    assert an.GetOverview(A.GetOverviewRequest()).freshness.events_applied >= before
    burst.wait(burst.done + 40)
    burst.stop()
    all_events_applied(suite, world, an)
    aw.wait_figures(world, an, world_filters(world))
    r = aw.rebuild_changes_nothing(an, world_filters(world))
    assert r.differences == 0, r
    # No event counted twice: as many applied as the streams hold.
    assert r.freshness.events_applied == world.events_written()
    m = aw.metrics(METRICS_URL)
    assert m["compact_analytics_events_applied_total"] == world.events_written()


def test_fresh_analytics_bootstraps_by_rebuild(suite, an, world):
    """An analytics with an empty store over data that already exists:
    everything shows, by a rebuild from the List calls."""
    aw.build_basic(world)
    all_events_applied(suite, world, an)
    suite.stop("analytics")
    data = suite.data_dir("analytics")
    for f in os.listdir(data):
        os.remove(os.path.join(data, f))
    suite.start("analytics")
    an = suite.stub("analytics")
    filters = world_filters(world)
    aw.wait_figures(world, an, filters)
    o = an.GetOverview(A.GetOverviewRequest())
    assert o.freshness.events_applied == 0 and not o.freshness.HasField("as_of"), o.freshness
    assert o.freshness.event_lag_ms == -1
    # The activity of what the rebuild found: one creation per aggregate.
    act = aw.activity_counts(an.GetActivity(A.GetActivityRequest()))
    assert sum((collections.Counter(v) for v in act.values()), collections.Counter()) == \
        collections.Counter(
        {"entity.created": 6, "workgroup.created": 3, "project.created": 4}), act
    # The alert of the two near-identical projects is found again.
    t1, t2 = world.projects["TRAVEL-1"].id, world.projects["TRAVEL-2"].id
    poll(lambda: any({a.project_id, a.other_project_id} == {t1, t2} for a in
                     an.ListDuplicationAlerts(A.ListDuplicationAlertsRequest()).alerts),
         timeout=20 * harness.SLOW, what="the alert after a bootstrap")
    # Events after the bootstrap apply as usual.
    world.record("GLOBAL-HR", P.TRANSACTION_TYPE_DISBURSEMENT, 4242, date="2023-01-02")
    aw.wait_figures(world, an, filters)
    poll(lambda: an.GetOverview(A.GetOverviewRequest()).freshness.events_applied == 1,
         what="one event applied after the bootstrap")


def stream_entry(suite, service, aggregate_id, seq):
    """(id, fields) of the entry of (aggregate, seq), once published."""
    def find():
        for eid, f in suite.stream(service):
            if f["aggregate_id"].decode() == aggregate_id and int(f["aggregate_seq"]) == seq:
                return eid, f
        return None
    return poll(find, what="the entry of %s #%d in %s" % (aggregate_id, seq, service))


def test_duplicate_entry_changes_nothing(suite, an, world):
    aw.build_basic(world)
    all_events_applied(suite, world, an)
    aw.wait_figures(world, an, world_filters(world))
    applied = world.events_written()
    dups = aw.metrics(METRICS_URL)["compact_analytics_duplicate_events_total"]
    t1 = world.projects["TRAVEL-1"]
    # An old state (the project as created, before its money) added again,
    # and the latest one too.
    for seq in (1, t1.seq):
        _eid, fields = stream_entry(suite, "projects", t1.id, seq)
        flat = [x for k, v in fields.items() for x in (k, v)]
        suite.redis("XADD", "compact:events:projects", "*", *flat)
    poll(lambda: aw.metrics(METRICS_URL)["compact_analytics_duplicate_events_total"] ==
         dups + 2, what="two duplicates counted")
    aw.wait_figures(world, an, world_filters(world), timeout=1)
    o = an.GetOverview(A.GetOverviewRequest())
    assert o.freshness.events_applied == applied, o.freshness


def test_deleted_entry_gap(suite, an, world):
    """An entry deleted before analytics read it: two writes to one project
    while analytics is stopped, the first one's entry XDEL'd. The
    aggregate's sequence skips (counted as a gap: the project is read again
    from projects) and Redis's max-deleted-entry-id now lies past analytics'
    position (entries lost: a rebuild). Either way the figures are right."""
    aw.build_basic(world)
    all_events_applied(suite, world, an)
    suite.stop("analytics")
    t1 = world.projects["TRAVEL-1"]
    world.record("TRAVEL-1", P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 111111, date="2024-09-01",
                 donor="name:Japan")
    world.record("TRAVEL-1", P.TRANSACTION_TYPE_EXPENDITURE, 2222, date="2024-10-01")
    first, _ = stream_entry(suite, "projects", t1.id, t1.seq - 1)
    stream_entry(suite, "projects", t1.id, t1.seq)
    assert suite.redis("XDEL", "compact:events:projects", first) == 1
    suite.start("analytics")
    an = suite.stub("analytics")
    aw.wait_figures(world, an, world_filters(world))
    m = aw.metrics(METRICS_URL)
    assert m["compact_analytics_sequence_gaps_total"] >= 1, m
    r = aw.rebuild_changes_nothing(an, world_filters(world))
    assert r.differences == 0, r


# ---- WatchOverview --------------------------------------------------------------------

class Watcher:
    """Reads a WatchOverview stream on a thread: (monotonic time, Overview)
    per message, and how the stream ended."""

    def __init__(self, an, req=None):
        self.call = an.WatchOverview(req or A.GetOverviewRequest(), timeout=600)
        self.got = []
        self.end = None          # grpc.StatusCode once ended
        self.cv = threading.Condition()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            for m in self.call:
                with self.cv:
                    self.got.append((time.monotonic(), m))
                    self.cv.notify_all()
            code = self.call.code()
        except grpc.RpcError as e:
            code = e.code()
        with self.cv:
            self.end = code
            self.cv.notify_all()

    def wait(self, pred, what, timeout=None):
        deadline = time.monotonic() + (timeout or 30 * harness.SLOW)
        with self.cv:
            while not pred():
                left = deadline - time.monotonic()
                assert left > 0, "timed out waiting for " + what
                self.cv.wait(left)


def test_a_notice_moves_the_activity_alone(suite, an, world):
    """A notice is no figure of the model, but it is activity: the activity
    answer (cached per change) must not stay as it was."""
    unoct = world.entity("UNOCT").id
    world.entity("CTED")
    g = world.group("BMLE", "Border management", [aw.W.STRATEGY_PILLAR_II], chair="UNOCT",
                    vices=("CTED",))
    all_events_applied(suite, world, an)

    def notices(reply):
        return sum(c.get("notice.posted", 0)
                   for c in aw.activity_counts(reply).values())
    before = notices(an.GetActivity(aw.A.GetActivityRequest()))  # now cached
    overview = an.GetOverview(aw.A.GetOverviewRequest())
    world.wg.PostNotice(aw.W.PostNoticeRequest(notice=aw.W.Notice(
        working_group_id=g.id, kind=aw.W.NOTICE_KIND_REPORT, title="Meeting report",
        visibility=aw.W.VISIBILITY_PUBLIC, author_entity_id=unoct)))
    poll(lambda: notices(an.GetActivity(aw.A.GetActivityRequest())) == before + 1 or None,
         what="the notice in the activity")
    # ... and nothing else: the model's figures did not move.
    after = an.GetOverview(aw.A.GetOverviewRequest())
    assert (after.entities, after.working_groups, after.projects) == (
        overview.entities, overview.working_groups, overview.projects)


def test_watch_overview(suite, an, world):
    aw.build_basic(world)
    all_events_applied(suite, world, an)
    w = Watcher(an)
    w.wait(lambda: w.got, "the first message, at once", timeout=5 * harness.SLOW)
    first = w.got[0][1]
    assert first.projects == 4 and first.entities == 5
    world.entity("UNDP")
    w.wait(lambda: any(m.entities == 6 for _, m in w.got), "a message after a write")
    # A burst: at most one message a second (the window counted generously).
    burst = aw.Burst(world, ("TRAVEL-1", "GLOBAL-HR")).start()
    burst.wait(10)
    start, n0 = time.monotonic(), len(w.got)
    burst.wait(300)
    window = time.monotonic() - start
    burst.stop()
    during = len(w.got) - n0
    assert 1 <= during <= window + 2, (during, window)
    # The last message catches up with the last write.
    all_events_applied(suite, world, an)
    want = an.GetOverview(A.GetOverviewRequest())
    w.wait(lambda: aw.without_freshness(w.got[-1][1]) == aw.without_freshness(want),
           "a message with the figures after the burst")
    # A filtered watch hears its own figures.
    wf = Watcher(an, A.GetOverviewRequest(filter=A.Filter(working_group_id=world.gid("PCVE"))))
    wf.wait(lambda: wf.got, "the first filtered message")
    assert wf.got[0][1].projects == 2
    # SIGTERM: every stream ends cleanly (OK), and analytics exits 0.
    suite.signal("analytics", signal.SIGTERM)
    w.wait(lambda: w.end is not None, "the stream's end on SIGTERM")
    wf.wait(lambda: wf.end is not None, "the filtered stream's end on SIGTERM")
    assert (w.end, wf.end) == (C.OK, C.OK)
    assert suite.wait_exit("analytics") == 0
    suite.check_exit("analytics")


# ---- bad input ------------------------------------------------------------------------

def test_bad_input(suite, an, world):
    aw.build_basic(world)
    all_events_applied(suite, world, an)
    unknown = harness.unknown_id(world.gid("BMLE"))
    F = A.Filter
    filtered = [
        ("GetOverview", lambda f: A.GetOverviewRequest(filter=f)),
        ("GetFundingBreakdown", lambda f: A.GetFundingBreakdownRequest(by=1, filter=f)),
        ("GetParticipation", lambda f: A.GetParticipationRequest(filter=f)),
        ("GetCoverage", lambda f: A.GetCoverageRequest(filter=f)),
        ("ListDuplicationAlerts", lambda f: A.ListDuplicationAlertsRequest(filter=f)),
        ("GetMonitoring", lambda f: A.GetMonitoringRequest(filter=f)),
        ("WatchOverview", lambda f: A.GetOverviewRequest(filter=f)),
    ]
    bad_filters = [
        (F(year=1800), C.INVALID_ARGUMENT, "filter.year"),
        (F(year=2201), C.INVALID_ARGUMENT, "filter.year"),
        (F(year=-1), C.INVALID_ARGUMENT, "filter.year"),
        (F(pillar=9), C.INVALID_ARGUMENT, "filter.pillar"),
        (F(pillar=-1), C.INVALID_ARGUMENT, "filter.pillar"),
        (F(working_group_id="nope"), C.INVALID_ARGUMENT, "filter.working_group_id"),
        (F(working_group_id=world.eid("UNOCT")), C.INVALID_ARGUMENT, "filter.working_group_id"),
        (F(working_group_id=unknown), C.NOT_FOUND, "filter.working_group_id"),
    ]
    cases = []
    for method, make in filtered:
        for f, code, field in bad_filters:
            cases.append((method, make(f), code, field))
    cases += [
        ("GetFundingBreakdown", A.GetFundingBreakdownRequest(by=0), C.INVALID_ARGUMENT, "by"),
        ("GetFundingBreakdown", A.GetFundingBreakdownRequest(by=9), C.INVALID_ARGUMENT, "by"),
        ("ListDuplicationAlerts", A.ListDuplicationAlertsRequest(limit=101), C.INVALID_ARGUMENT,
         "limit"),
        ("ListDuplicationAlerts", A.ListDuplicationAlertsRequest(limit=-1), C.INVALID_ARGUMENT,
         "limit"),
        ("GetActivity", A.GetActivityRequest(months=121), C.INVALID_ARGUMENT, "months"),
        ("GetActivity", A.GetActivityRequest(months=-1), C.INVALID_ARGUMENT, "months"),
    ]
    R = A.ExchangeRate
    for rate, field in [
            (None, "rate"),
            (R(currency="USD", valid_from="2024-01-01", usd_micros=1), "rate.currency"),
            (R(currency="XYZ", valid_from="2024-01-01", usd_micros=1), "rate.currency"),
            (R(currency="eur", valid_from="2024-01-01", usd_micros=1), "rate.currency"),
            (R(currency="", valid_from="2024-01-01", usd_micros=1), "rate.currency"),
            (R(currency="EUR", valid_from="2024-13-01", usd_micros=1), "rate.valid_from"),
            (R(currency="EUR", valid_from="01/02/2024", usd_micros=1), "rate.valid_from"),
            (R(currency="EUR", valid_from="", usd_micros=1), "rate.valid_from"),
            (R(currency="EUR", valid_from="2024-01-01", usd_micros=0), "rate.usd_micros"),
            (R(currency="EUR", valid_from="2024-01-01", usd_micros=-5), "rate.usd_micros"),
            (R(currency="EUR", valid_from="2024-01-01", usd_micros=10 ** 13),
             "rate.usd_micros")]:
        req = A.PutExchangeRateRequest(rate=rate) if rate else A.PutExchangeRateRequest()
        cases.append(("PutExchangeRate", req, C.INVALID_ARGUMENT, field))
    cases.append(("ListExchangeRates", A.ListExchangeRatesRequest(currency="EUROS"),
                  C.INVALID_ARGUMENT, "currency"))
    for method, req, code, field in cases:
        fn = getattr(an, method)
        if method == "WatchOverview":
            got, msg = code_of(lambda r: list(fn(r, timeout=10 * harness.SLOW)), req)
        else:
            got, msg = code_of(fn, req)
        assert got == code and msg.startswith(field + ":"), (method, req, got, msg)
    # Nothing was written, and the server goes on serving.
    assert not an.ListExchangeRates(A.ListExchangeRatesRequest()).rates
    aw.wait_figures(world, an, timeout=5 * harness.SLOW)
    assert suite.health("analytics") == harness.SERVING


def test_http_api_errors(suite, an, world):
    aw.build_basic(world)
    all_events_applied(suite, world, an)
    url = lambda path: suite.http_url("analytics", path)  # noqa: E731
    unknown = harness.unknown_id(world.gid("BMLE"))
    for path, status, field in [
            ("/api/overview?year=1800", 400, "year"),
            ("/api/overview?year=abc", 400, "year"),
            ("/api/coverage?pillar=9", 400, "pillar"),
            ("/api/monitoring?group=nope", 400, "group"),
            ("/api/participation?group=" + unknown, 404, "group"),
            ("/api/funding", 400, "by"),
            ("/api/funding?by=colour", 400, "by"),
            ("/api/alerts?limit=101", 400, "limit"),
            ("/api/activity?months=121", 400, "months"),
            ("/api/activity?months=x", 400, "months")]:
        got, ctype, body = aw.http_get(url(path))
        assert got == status, (path, got, body)
        assert ctype.startswith("application/json"), (path, ctype)
        err = json.loads(body)["error"]
        assert err["code"] == status and err["message"].startswith(field + ":"), (path, err)
        assert err["status"] == ("NOT_FOUND" if status == 404 else "INVALID_ARGUMENT")
    got, _, body = aw.http_get(url("/api/nothing-here"))
    assert got == 404 and json.loads(body)["error"]["status"] == "NOT_FOUND", body
    assert aw.http_get(url("/no-such-page"))[0] == 404
    for method in ("POST", "PUT", "DELETE"):
        assert aw.http_get(url("/api/overview"), method=method)[0] == 405, method
    got, ctype, body = aw.http_get(url("/healthz"))
    assert (got, body) == (200, b"ok\n"), (got, body)
    # The page and its assets are served.
    for path, kind in [("/", "text/html"), ("/assets/app.js", "javascript"),
                       ("/assets/app.css", "text/css"), ("/assets/chart.umd.js", "javascript")]:
        got, ctype, body = aw.http_get(url(path))
        assert got == 200 and kind in ctype and body, (path, got, ctype)
    assert aw.http_json(url("/api/overview"))["projects"] == "4"


# ---- exchange rates -------------------------------------------------------------------

def test_exchange_rates_convert_to_the_cent(suite, an, world):
    w = world
    w.entity("UNOCT")
    w.group("BMLE", "Border management", (2,))
    w.project("EURO", "Money in euros and pounds", ("BMLE",), (2,), (("UNOCT", aw.ACCOUNTABLE),),
              countries=("FR",), start="2023-01-01", budget=("EUR", 10000000))
    R = w.record
    R("EURO", P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 50000001, currency="EUR",
      date="2023-06-01", donor="name:European Union")     # before every rate: the earliest
    R("EURO", P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 3333333, currency="EUR",
      date="2024-05-20", donor="name:European Union")
    R("EURO", P.TRANSACTION_TYPE_EXPENDITURE, 3, currency="EUR", date="2025-02-01")
    R("EURO", P.TRANSACTION_TYPE_EXPENDITURE, -1, currency="EUR", date="2025-02-02")
    R("EURO", P.TRANSACTION_TYPE_INCOMING_FUNDS, 777, currency="GBP", date="2024-01-01")
    R("EURO", P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 100, currency="USD", date="2024-01-01")
    aw.wait_figures(w, an)
    assert not an.GetOverview(A.GetOverviewRequest()).money.usd_complete

    rep = w.put_rate(an, "EUR", "2024-01-01", 1085000, note="UN operational rate, illustrative")
    assert (rep.currency, rep.valid_from, rep.usd_micros) == ("EUR", "2024-01-01", 1085000)
    w.put_rate(an, "EUR", "2025-01-01", 1500000)
    o = an.GetOverview(A.GetOverviewRequest())
    # By hand: 500000.01 EUR and 33333.33 EUR at 1.085 (the first before every
    # rate takes the earliest), 100 USD cents as they are:
    # 54250001.085 + 3616666.305 -> 54250001 + 3616666, + 100.
    assert o.money.usd.committed_minor == 54250001 + 3616666 + 100
    # 3 and -1 cents' worth at 1.5: 4.5 -> 5 and -1.5 -> -2 (half away from zero)
    assert o.money.usd.spent_minor == 5 - 2
    assert o.money.usd.budget_minor == 10850000            # 100000.00 EUR on 2023-01-01
    assert not o.money.usd_complete                        # GBP has no rate yet
    aw.wait_figures(w, an, timeout=1)
    w.put_rate(an, "GBP", "2020-01-01", 1271234)
    o = an.GetOverview(A.GetOverviewRequest())
    assert o.money.usd_complete
    assert o.money.usd.received_minor == 988       # 777 * 1.271234 = 987.748818
    aw.wait_figures(w, an, [{}, {"year": 2024}, {"year": 2025}], timeout=1)
    # ListExchangeRates, by currency and date; one currency.
    want = [("EUR", "2024-01-01", 1085000), ("EUR", "2025-01-01", 1500000),
            ("GBP", "2020-01-01", 1271234)]
    got = an.ListExchangeRates(A.ListExchangeRatesRequest()).rates
    assert [(r.currency, r.valid_from, r.usd_micros) for r in got] == want
    assert got[0].source_note == "UN operational rate, illustrative"
    assert [r.currency for r in an.ListExchangeRates(
        A.ListExchangeRatesRequest(currency="GBP")).rates] == ["GBP"]
    # A rate replaced for the same day.
    w.put_rate(an, "EUR", "2025-01-01", 1100000)
    aw.wait_figures(w, an, timeout=1)
    # They survive a restart, and so do the figures.
    before = aw.answers_for_rebuild(an, [{}])
    suite.restart("analytics")
    an = suite.stub("analytics")
    assert [(r.currency, r.valid_from, r.usd_micros) for r in an.ListExchangeRates(
        A.ListExchangeRatesRequest()).rates] == [want[0], ("EUR", "2025-01-01", 1100000),
                                                  want[2]]
    assert aw.answers_for_rebuild(an, [{}]) == before
    aw.wait_figures(w, an, timeout=5 * harness.SLOW)


# ---- the JSON API is the RPCs' answers ------------------------------------------------

def test_json_api_equals_rpc(suite, an, world):
    aw.build_basic(world)
    world.put_rate(an, "EUR", "2024-01-01", 1085000)
    all_events_applied(suite, world, an)
    aw.wait_figures(world, an)
    g = world.gid("BMLE")
    checks = []
    for q, f in [("", A.Filter()), ("?year=2024", A.Filter(year=2024)),
                 ("?group=" + g, A.Filter(working_group_id=g)),
                 ("?pillar=2&year=2025", A.Filter(pillar=2, year=2025))]:
        amp = "&" if q else "?"
        checks += [
            ("/api/overview" + q, an.GetOverview(A.GetOverviewRequest(filter=f))),
            ("/api/participation" + q, an.GetParticipation(A.GetParticipationRequest(filter=f))),
            ("/api/coverage" + q, an.GetCoverage(A.GetCoverageRequest(filter=f))),
            ("/api/monitoring" + q, an.GetMonitoring(A.GetMonitoringRequest(filter=f))),
            ("/api/alerts" + q + amp + "limit=5", an.ListDuplicationAlerts(
                A.ListDuplicationAlertsRequest(filter=f, limit=5))),
        ]
        for by, name in aw.BY_NAMES.items():
            checks.append(("/api/funding" + q + amp + "by=" + name, an.GetFundingBreakdown(
                A.GetFundingBreakdownRequest(by=by, filter=f))))
    checks.append(("/api/activity?months=7", an.GetActivity(A.GetActivityRequest(months=7))))
    checks.append(("/api/alerts", an.ListDuplicationAlerts(A.ListDuplicationAlertsRequest())))
    for path, rpc in checks:
        body = aw.http_get(suite.http_url("analytics", path))[2]
        msg = json_format.Parse(body, type(rpc)())
        assert aw.without_freshness(msg) == aw.without_freshness(rpc), path
        assert msg.freshness.events_applied == rpc.freshness.events_applied, path
    # proto3 JSON: int64 as strings, zero values left out.
    o = json.loads(aw.http_get(suite.http_url("analytics", "/api/overview"))[2])
    assert o["projects"] == "4" and o["freshness"]["eventsApplied"] == str(
        world.events_written())
    assert all("count" not in c for c in o["projectsByStatus"] if c["key"] in ("4", "5", "6"))


# ---- SIGTERM with watchers ------------------------------------------------------------

@pytest.mark.suite(services=aw.ALL, env={"analytics": dict(ENV["analytics"],
                                                         COMPACT_GRACE_SECONDS="30")})
def test_sigterm_with_watchers_exits_promptly(suite, an, world):
    world.entity("UNOCT")
    w = Watcher(an)
    w.wait(lambda: w.got, "the first message")
    port = int(suite.http_url("analytics").rsplit(":", 1)[1])
    sse = socket.create_connection(("127.0.0.1", port), timeout=10 * harness.SLOW)
    sse.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Accept: text/event-stream\r\n\r\n")
    head = b""
    while b"event: overview" not in head:
        chunk = sse.recv(65536)
        assert chunk, "the event stream closed early: %r" % head
        head += chunk
    assert b" 200 " in head.split(b"\r\n", 1)[0] and b"text/event-stream" in head, head
    t0 = time.monotonic()
    suite.signal("analytics", signal.SIGTERM)
    rest = b""
    while True:          # the event stream ends (the server closes it)
        chunk = sse.recv(65536)
        if not chunk:
            break
        rest += chunk
    sse.close()
    w.wait(lambda: w.end is not None, "the watch's end")
    assert w.end == C.OK
    assert suite.wait_exit("analytics", timeout=30) == 0
    took = time.monotonic() - t0
    suite.check_exit("analytics")       # exit 0, no sanitizer report
    assert took < 5 * harness.SLOW, "%.1f s after SIGTERM, with a 30 s grace period" % took


def test_sequence_gap_reads_the_aggregate_again(suite, an, world):
    """An entry whose aggregate sequence skips one (the event before it
    lost), carrying a stale state: analytics applies it, counts a gap and
    reads the project again from projects, which brings the figures back to
    the truth. No entry is deleted, so no rebuild runs: the re-read alone
    must do it."""
    aw.build_basic(world)
    all_events_applied(suite, world, an)
    aw.wait_figures(world, an)
    before = aw.metrics(METRICS_URL)
    t1 = world.projects["TRAVEL-1"]
    _eid, latest = stream_entry(suite, "projects", t1.id, t1.seq)
    _eid, created = stream_entry(suite, "projects", t1.id, 1)
    ev = harness.decode_event(latest)
    ev.aggregate_sequence = t1.seq + 2
    ev.event_id = "f" * 32
    ev.state = harness.decode_event(created).state     # the project before its money
    fields = dict(latest, event=ev.SerializeToString(), event_id=ev.event_id,
                  aggregate_seq=str(ev.aggregate_sequence))
    suite.redis("XADD", "compact:events:projects", "*",
                *[x for k, v in fields.items() for x in (k, v)])
    poll(lambda: aw.metrics(METRICS_URL)["compact_analytics_sequence_gaps_total"] ==
         before["compact_analytics_sequence_gaps_total"] + 1, what="the gap counted")
    aw.wait_figures(world, an, world_filters(world))
    after = aw.metrics(METRICS_URL)
    assert after["compact_analytics_rebuilds_total"] == before["compact_analytics_rebuilds_total"]
