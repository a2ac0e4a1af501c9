"""The issue's end-to-end scenario, driven over the wire by Python's grpcio
against the three real services (membership, workgroups, projects) and a real
Redis: entities join the Compact, a Working Group gets a chair, vice-chairs
and members, a joint project is registered with its partners, funding and an
indicator, progress is reported, and when a second entity drafts nearly the
same project the overlap is found before anybody duplicates the work."""
import grpc
import pytest

import harness
from harness import M

P = harness.pb("compact/projects/v1/projects.proto")
W = harness.pb("compact/workgroups/v1/workgroups.proto")

pytestmark = pytest.mark.suite(services=("membership", "workgroups", "projects"))


def test_scenario(suite):
    mb = suite.stub("membership")
    wg = suite.stub("workgroups", "compact.workgroups.v1.WorkingGroups")
    ps = suite.stub("projects")

    # 1. Entities join the Compact.
    ents = {}
    for acronym, kind in [("UNOCT", M.ENTITY_KIND_UN_ENTITY), ("CTED", M.ENTITY_KIND_UN_ENTITY),
                          ("INTERPOL", M.ENTITY_KIND_NON_UN_MEMBER),
                          ("WCO", M.ENTITY_KIND_NON_UN_MEMBER), ("ICAO", M.ENTITY_KIND_UN_ENTITY),
                          ("UNODC", M.ENTITY_KIND_UN_ENTITY), ("IOM", M.ENTITY_KIND_UN_ENTITY)]:
        ents[acronym] = harness.create(mb, acronym, kind=kind).id

    # 2. The Border management Working Group, its leaders and members.
    g = wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
        code="BMLE", title="Border management and law enforcement relating to "
        "counter-terrorism", pillars=[W.STRATEGY_PILLAR_II, W.STRATEGY_PILLAR_III])))
    g = wg.SetLeadership(W.SetLeadershipRequest(group_id=g.id, leadership=W.Leadership(
        chair_entity_id=ents["CTED"], vice_chair_entity_ids=[ents["INTERPOL"], ents["WCO"]])))
    for acronym in ("UNOCT", "ICAO", "UNODC"):
        g = wg.AddMember(W.AddMemberRequest(group_id=g.id, entity_id=ents[acronym],
                                            role=W.MEMBER_ROLE_MEMBER))
    assert g.leadership.chair_entity_id == ents["CTED"]
    assert {m.entity_id for m in g.members} == {ents["UNOCT"], ents["ICAO"], ents["UNODC"]}

    # 3. A joint project with partners, an outcome and its indicator.
    created = ps.CreateProject(P.CreateProjectRequest(project=P.Project(
        iati_identifier="XM-COMPACT-CTTP", reporting_org_ref="XM-COMPACT",
        title="UN Countering Terrorist Travel Programme",
        summary="Helps Member States detect terrorist travel with Advance Passenger "
                "Information and Passenger Name Record data, passenger information units "
                "and the goTravel software.",
        working_group_ids=[g.id],
        participants=[
            P.Participant(entity_id=ents["UNOCT"], role=P.ORGANISATION_ROLE_ACCOUNTABLE),
            P.Participant(entity_id=ents["ICAO"], role=P.ORGANISATION_ROLE_IMPLEMENTING),
            P.Participant(entity_id=ents["INTERPOL"], role=P.ORGANISATION_ROLE_IMPLEMENTING)],
        global_scope=True, pillars=[P.STRATEGY_PILLAR_II, P.STRATEGY_PILLAR_III],
        themes=["terrorist travel", "API/PNR"], start_date="2019-05-07",
        status=P.ACTIVITY_STATUS_IMPLEMENTATION,
        budget=P.Money(currency="USD", amount_minor=45_000_000_00),
        results=[P.Result(type=P.RESULT_TYPE_OUTCOME,
                          title="States use passenger data to detect terrorist travel",
                          indicators=[P.Indicator(
                              title="States with an operational passenger information unit",
                              measure=P.INDICATOR_MEASURE_UNIT,
                              baseline=P.Baseline(year=2019, value=0))])])))
    assert list(created.likely_duplicates) == []
    project = created.project
    indicator = project.results[0].indicators[0]
    assert indicator.state == P.INDICATOR_STATE_NO_DATA

    # 4. Funding: a pledge, a commitment, UNOCT's catalytic money, a disbursement.
    def record(type_, amount, **kw):
        return ps.RecordTransaction(P.RecordTransactionRequest(
            project_id=project.id, transaction=P.Transaction(
                type=type_, date=kw.pop("date", "2019-06-01"),
                value=P.Money(currency="USD", amount_minor=amount), **kw)))

    record(P.TRANSACTION_TYPE_INCOMING_PLEDGE, 20_000_000_00, provider_name="European Union")
    record(P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 15_000_000_00, provider_name="European Union")
    record(P.TRANSACTION_TYPE_INCOMING_COMMITMENT, 1_000_000_00, catalytic=True,
           provider_entity_id=ents["UNOCT"])
    funded = record(P.TRANSACTION_TYPE_DISBURSEMENT, 2_500_000_00, date="2020-01-15",
                    description="to ICAO for the passenger data component")
    [usd] = funded.totals
    assert (usd.currency, usd.pledged_minor, usd.committed_minor, usd.disbursed_minor,
            usd.catalytic_minor) == ("USD", 20_000_000_00, 16_000_000_00, 2_500_000_00,
                                     1_000_000_00)

    # 5. Progress on the indicator: 9 of 10 States is on track.
    reported = ps.ReportIndicatorValue(P.ReportIndicatorValueRequest(
        project_id=project.id, indicator_id=indicator.id, period_start="2022-01-01",
        period_end="2022-12-31", target=P.IndicatorValue(value=10),
        actual=P.IndicatorValue(value=9)))
    assert reported.results[0].indicators[0].state == P.INDICATOR_STATE_ON_TRACK
    assert ps.GetProject(P.GetProjectRequest(iati_identifier="XM-COMPACT-CTTP")) == reported

    # 6. Another entity drafts nearly the same work: the overlap is found first ...
    draft = P.Project(
        title="Countering terrorist travel: API and PNR systems for East African States",
        summary="Passenger Information Units and Advance Passenger Information and Passenger "
                "Name Record data to detect terrorist travel in East Africa.",
        working_group_ids=[g.id],
        participants=[P.Participant(entity_id=ents["IOM"], role=P.ORGANISATION_ROLE_ACCOUNTABLE),
                      P.Participant(entity_id=ents["ICAO"],
                                    role=P.ORGANISATION_ROLE_IMPLEMENTING)],
        recipient_countries=["KE", "UG", "TZ"], pillars=[P.STRATEGY_PILLAR_II],
        start_date="2024-01-01", end_date="2026-12-31")
    found = ps.FindOverlaps(P.FindOverlapsRequest(draft=draft))
    assert found.overlaps[0].project_id == project.id and found.overlaps[0].likely_duplicate
    factors = {r.factor for r in found.overlaps[0].reasons}
    assert {P.OVERLAP_FACTOR_TEXT, P.OVERLAP_FACTOR_WORKING_GROUP,
            P.OVERLAP_FACTOR_PARTNERS, P.OVERLAP_FACTOR_DATES} <= factors

    # ... and registering it anyway is allowed, with the warning.
    draft.iati_identifier, draft.reporting_org_ref = "XM-IOM-EA-API-PNR", "XM-IOM"
    draft.status = P.ACTIVITY_STATUS_PIPELINE
    second = ps.CreateProject(P.CreateProjectRequest(project=draft))
    assert [o.project_id for o in second.likely_duplicates] == [project.id]
    listed = ps.ListProjects(P.ListProjectsRequest(working_group_id=g.id)).projects
    assert [p.iati_identifier for p in listed] == ["XM-COMPACT-CTTP", "XM-IOM-EA-API-PNR"]

    # Every change reached the projects event stream, in order.
    entries = harness.wait_events(suite, 7, service="projects")
    types = [harness.decode_event(f).type for _, f in entries]
    assert types == ["project.created"] + ["project.transaction_recorded"] * 4 + [
        "project.indicator_reported", "project.created"]
