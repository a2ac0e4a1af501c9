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
  - an entry deleted before analytics read it: the figures are still right.

And the interfaces: every RPC's bad input (INVALID_ARGUMENT or NOT_FOUND
naming the field), the HTTP API (JSON equal to the RPC answers, 400/404/405),
WatchOverview's pace and its clean end on SIGTERM, exchange rates to the
cent.
"""
import collections
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
from analytics_world import A, P, Expect, World
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
    stub = suite.stub("analytics")
    aw.wait_consuming(stub)
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
    streams hold (each once: a duplicate would count twice, a loss less)."""
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
    exp = Expect(world)
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
    # The score is projects' own: FindOverlaps agrees.
    fo = world.ps.FindOverlaps(P.FindOverlapsRequest(project_id=a.project_id))
    assert [o.score for o in fo.overlaps if o.project_id == a.other_project_id] == [a.score]
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
