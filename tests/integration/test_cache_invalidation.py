"""Each write invalidates the cached aggregate: read warm (a Get that fills
the cache, then one that the cache answers, as the hit counter of /metrics
shows) before the write and after it, by every cached key, and the reads
after the write show the change. For the writes whose invalidation the API
tests only read with a cold cache: RecordTransaction, AddResult,
AddIndicator and ReportIndicatorValue (projects), RemoveMember
(workgroups)."""
import pytest

import harness
from harness import poll

P = harness.pb("compact/projects/v1/projects.proto")
W = harness.pb("compact/workgroups/v1/workgroups.proto")
pytestmark = pytest.mark.suite(services=("membership", "workgroups", "projects"),
                               metrics=("workgroups", "projects"))


def hits(suite, name):
    return suite.metrics(name)["compact_cache_hits_total"]


def published(suite, name, aggregate_id, seq):
    """The event of version `seq` is in the stream: the relay has made its
    own invalidation, which could otherwise drop the key between two reads."""
    harness.wait_event_keys(suite, name, [(aggregate_id, seq)])


def warm_reads(suite, name, reads):
    """reads: {cache key: a Get}. Each Get twice: the first may fill the
    key, the second must be a hit; both answers equal. Returns the answers."""
    out = []
    for key, get in reads.items():
        first = get()
        poll(lambda: suite.redis("EXISTS", key) == 1, what="the cache key " + key)
        before = hits(suite, name)
        second = get()
        assert hits(suite, name) == before + 1, "the second read of %s was no hit" % key
        assert second == first
        out.append(second)
    return out


# ---- projects -------------------------------------------------------------------------

@pytest.fixture
def project(suite):
    mb, wg, ps = suite.stub("membership"), suite.stub("workgroups"), suite.stub("projects")
    ents = harness.create_many(mb, [harness.entity(a) for a in ("UNOCT", "INTERPOL")])
    group = wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
        code="BMLE", title="Border management", pillars=[W.STRATEGY_PILLAR_II])))
    p = ps.CreateProject(P.CreateProjectRequest(project=P.Project(
        iati_identifier="XM-TEST-P1", reporting_org_ref="XM-TEST", title="Border security",
        participants=[P.Participant(entity_id=ents[0].id, role=P.ORGANISATION_ROLE_ACCOUNTABLE),
                      P.Participant(entity_id=ents[1].id, role=P.ORGANISATION_ROLE_IMPLEMENTING)],
        working_group_ids=[group.id], recipient_countries=["KE"], pillars=[P.STRATEGY_PILLAR_II],
        start_date="2024-01-01", end_date="2025-12-31",
        status=P.ACTIVITY_STATUS_IMPLEMENTATION))).project
    published(suite, "projects", p.id, 1)
    return p


def project_reads(suite, p):
    ps = suite.stub("projects")
    return {"compact:projects:project:%s" % p.id:
            lambda: ps.GetProject(P.GetProjectRequest(id=p.id)),
            "compact:projects:iati:%s" % p.iati_identifier.lower():
            lambda: ps.GetProject(P.GetProjectRequest(iati_identifier=p.iati_identifier))}


def test_project_writes_invalidate_warm_reads(suite, project):
    ps = suite.stub("projects")
    p = project
    reads = project_reads(suite, p)
    assert warm_reads(suite, "projects", reads) == [p, p]

    def step(seq, write, changed):
        """The write, then reads: at once (the cache forgot the old state
        before the reply), and warm again once its event is out."""
        new = write()
        assert changed(new), new
        for get in reads.values():
            assert get() == new
        published(suite, "projects", p.id, seq)
        assert warm_reads(suite, "projects", reads) == [new, new]
        return new

    p2 = step(2, lambda: ps.RecordTransaction(P.RecordTransactionRequest(
        project_id=p.id, transaction=P.Transaction(
            type=P.TRANSACTION_TYPE_INCOMING_COMMITMENT, date="2024-02-01",
            value=P.Money(currency="USD", amount_minor=250000)))),
        lambda q: len(q.transactions) == 1 and q.totals[0].committed_minor == 250000)
    p3 = step(3, lambda: ps.AddResult(P.AddResultRequest(project_id=p.id, result=P.Result(
        type=P.RESULT_TYPE_OUTCOME, title="Borders are safer", indicators=[P.Indicator(
            title="Passenger information units", measure=P.INDICATOR_MEASURE_UNIT)]))),
        lambda q: [r.title for r in q.results] == ["Borders are safer"])
    res = p3.results[0]
    p4 = step(4, lambda: ps.AddIndicator(P.AddIndicatorRequest(
        project_id=p.id, result_id=res.id, indicator=P.Indicator(
            title="Incidents at border posts", measure=P.INDICATOR_MEASURE_UNIT,
            descending=True))),
        lambda q: [i.title for i in q.results[0].indicators] == [
            "Passenger information units", "Incidents at border posts"])
    ind = p4.results[0].indicators[0]
    step(5, lambda: ps.ReportIndicatorValue(P.ReportIndicatorValueRequest(
        project_id=p.id, indicator_id=ind.id, period_start="2024-01-01",
        period_end="2024-12-31", target=P.IndicatorValue(value=10),
        actual=P.IndicatorValue(value=9))),
        lambda q: [(x.period_start, x.actual.value) for x in q.results[0].indicators[0].periods]
        == [("2024-01-01", 9)] and q.results[0].indicators[0].state ==
        P.INDICATOR_STATE_ON_TRACK)
    assert p2.etag != p.etag


# ---- workgroups ---------------------------------------------------------------------------

def test_remove_member_invalidates_warm_reads(suite):
    mb, wg = suite.stub("membership"), suite.stub("workgroups")
    a, b = harness.create_many(mb, [harness.entity("UNODC"), harness.entity("CTED")])
    g = wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
        code="CJLR", title="Criminal justice", pillars=[W.STRATEGY_PILLAR_II])))
    wg.AddMember(W.AddMemberRequest(group_id=g.id, entity_id=a.id, role=W.MEMBER_ROLE_MEMBER))
    g = wg.AddMember(W.AddMemberRequest(group_id=g.id, entity_id=b.id,
                                        role=W.MEMBER_ROLE_OBSERVER))
    published(suite, "workgroups", g.id, 3)
    reads = {"compact:workgroups:group:%s" % g.id:
             lambda: wg.GetWorkingGroup(W.GetWorkingGroupRequest(id=g.id)),
             "compact:workgroups:code:cjlr":
             lambda: wg.GetWorkingGroup(W.GetWorkingGroupRequest(code="CJLR"))}
    assert warm_reads(suite, "workgroups", reads) == [g, g]
    assert [m.entity_id for m in g.members] == [a.id, b.id]

    r = wg.RemoveMember(W.RemoveMemberRequest(group_id=g.id, entity_id=a.id))
    assert [m.entity_id for m in r.members] == [b.id]
    for get in reads.values():
        assert get() == r
    published(suite, "workgroups", g.id, 4)
    assert warm_reads(suite, "workgroups", reads) == [r, r]
