"""The Coordination Committee's service (proto/compact/committee/v1/committee.proto)
through the real binaries (committee and the three services it reaches) and a
real Redis, with grpcio.

What matters most here is that a decision's effects land in the owning
service exactly once: recorded with the decision's reference there, retried
after a crash between two effects without applying anything twice; that an
allocation never spends more than the year's envelope; and that the
composition on a date is derived from workgroups' leadership history."""
import json
import os
import signal

import grpc
import pytest
from google.protobuf import field_mask_pb2, json_format

import harness
from harness import M, poll

CM = harness.pb("compact/committee/v1/committee.proto")
W = harness.pb("compact/workgroups/v1/workgroups.proto")
P = harness.pb("compact/projects/v1/projects.proto")
C = grpc.StatusCode

SERVICES = ("membership", "workgroups", "projects", "committee")
pytestmark = pytest.mark.suite(services=SERVICES)

PENDING, APPLIED, FAILED = (CM.EFFECT_STATUS_PENDING, CM.EFFECT_STATUS_APPLIED,
                            CM.EFFECT_STATUS_FAILED)


# ---- helpers ------------------------------------------------------------------

def stubs(suite):
    return (suite.stub("membership"), suite.stub("workgroups", "compact.workgroups.v1.WorkingGroups"),
            suite.stub("projects"), suite.stub("committee"))


def entity(mb, acronym, kind=M.ENTITY_KIND_UN_ENTITY):
    return mb.CreateEntity(M.CreateEntityRequest(entity=M.Entity(
        acronym=acronym, name=acronym + " (test)", kind=kind, joined_on="2018-02-23"))).id


def group(wg, code, pillars=(2,)):
    return wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
        code=code, title="Group " + code, pillars=list(pillars)))).id


def meeting(cm, date="2019-04-16", status=CM.MEETING_STATUS_HELD, **kw):
    return cm.CreateMeeting(CM.CreateMeetingRequest(meeting=CM.Meeting(
        date=date, status=status, **kw)))


def decide(cm, meeting_id, type_, actions=(), title="A decision"):
    return cm.RecordDecision(CM.RecordDecisionRequest(decision=CM.Decision(
        meeting_id=meeting_id, type=type_, title=title, actions=list(actions))))


def settled(cm, decision_id, timeout=None):
    """The decision once no effect is PENDING."""
    def done():
        d = cm.GetDecision(CM.GetDecisionRequest(id=decision_id))
        return d if all(e.status != PENDING for e in d.effects) else None
    return poll(done, timeout=timeout, what="decision %s settled" % decision_id)


def tor(group_id, text):
    return CM.Action(approve_terms_of_reference=CM.ApproveTermsOfReference(
        working_group_id=group_id, text=text))


def admit(entity_id, role=CM.ADMISSION_ROLE_MEMBER):
    return CM.Action(admit_entity=CM.AdmitEntity(entity_id=entity_id, role=role))


def periods(mb, entity_id):
    e = mb.GetEntity(M.GetEntityRequest(id=entity_id))
    return [(p.role, p.from_date, p.to_date, p.decision_ref) for p in e.participation]


def versions(wg, group_id):
    return list(wg.ListTermsOfReference(W.ListTermsOfReferenceRequest(
        group_id=group_id, page_size=100)).terms_of_reference)


def project(ps, unoct, gid, iati="XM-TEST-CAT1"):
    return ps.CreateProject(P.CreateProjectRequest(project=P.Project(
        iati_identifier=iati, reporting_org_ref="XM-TEST", title="Catalytic test project",
        participants=[P.Participant(entity_id=unoct, role=P.ORGANISATION_ROLE_ACCOUNTABLE)],
        working_group_ids=[gid], recipient_countries=["KE"], pillars=[P.STRATEGY_PILLAR_II],
        start_date="2024-01-01", end_date="2025-12-31",
        status=P.ACTIVITY_STATUS_IMPLEMENTATION))).project


def usd(amount):
    return P.Money(currency="USD", amount_minor=amount)


# ---- decisions and their effects ------------------------------------------------

def test_a_decision_approves_terms_of_reference_in_workgroups_pointing_back(suite):
    mb, wg, ps, cm = stubs(suite)
    g = group(wg, "BMLE")
    m = meeting(cm)
    d = decide(cm, m.id, CM.DECISION_TYPE_APPROVE_TERMS_OF_REFERENCE, [tor(g, "The terms, v1")])
    assert [e.status for e in d.effects] == [PENDING]
    assert d.decided_on == "2019-04-16"
    ref = d.id + "/effects/1"
    assert d.effects[0].decision_ref == ref and d.effects[0].service == "workgroups"
    d = settled(cm, d.id)
    assert d.effects[0].status == APPLIED, d.effects[0].last_error
    vs = versions(wg, g)
    assert [(v.text, v.approved_on, v.decision_ref) for v in vs] == [
        ("The terms, v1", "2019-04-16", ref)]
    assert d.effects[0].result_id == "%s/terms_of_reference/%d" % (g, vs[0].version)


def test_killed_between_two_effects_it_finishes_after_restart_applying_nothing_twice(suite):
    mb, wg, ps, cm = stubs(suite)
    g1, g2 = group(wg, "ONE"), group(wg, "TWO")
    m = meeting(cm)
    # The first effect is carried out, then the process dies before it
    # records the outcome: the worst moment for "exactly once".
    suite.restart("committee", faults="committee.crash_after_effect")
    cm = suite.stub("committee")
    d = decide(cm, m.id, CM.DECISION_TYPE_APPROVE_TERMS_OF_REFERENCE,
               [tor(g1, "Terms of ONE"), tor(g2, "Terms of TWO")])
    assert suite.expect_crash("committee") == -signal.SIGKILL
    assert [v.text for v in versions(wg, g1)] == ["Terms of ONE"]  # applied, not recorded
    suite.restart("committee", faults="")  # without the fault
    cm = suite.stub("committee")
    d = settled(cm, d.id)
    assert [e.status for e in d.effects] == [APPLIED, APPLIED], [e.last_error for e in d.effects]
    assert d.effects[0].attempts == 1  # the attempt that died recorded nothing
    # Each group got its version exactly once, pointing at its effect.
    for gid, text, n in ((g1, "Terms of ONE", 1), (g2, "Terms of TWO", 2)):
        vs = versions(wg, gid)
        assert [(v.text, v.decision_ref) for v in vs] == [(text, "%s/effects/%d" % (d.id, n))]


def test_an_effect_the_owner_refuses_fails_with_its_reason_and_can_be_retried(suite):
    mb, wg, ps, cm = stubs(suite)
    g = group(wg, "CLOSING")
    m = meeting(cm)
    close = CM.Action(close_working_group=CM.CloseWorkingGroup(working_group_id=g))
    d = settled(cm, decide(cm, m.id, CM.DECISION_TYPE_CLOSE_WORKING_GROUP, [close]).id)
    assert d.effects[0].status == APPLIED, d.effects[0].last_error
    assert wg.GetWorkingGroup(W.GetWorkingGroupRequest(id=g)).status == W.GROUP_STATUS_CLOSED
    # A work plan of items the group does not have: refused by workgroups.
    plan = CM.Action(approve_work_plan=CM.ApproveWorkPlan(
        working_group_id=group(wg, "PLANS"), period_start="2024-01-01", period_end="2026-12-31",
        item_ids=["wpi_aaaaaaaaaaaaaaaaaaaa"]))
    d = settled(cm, decide(cm, m.id, CM.DECISION_TYPE_APPROVE_WORK_PLAN, [plan]).id)
    assert d.effects[0].status == FAILED
    assert d.effects[0].last_error.startswith(("INVALID_ARGUMENT", "NOT_FOUND",
                                               "FAILED_PRECONDITION")), d.effects[0].last_error
    assert "wpi_aaaaaaaaaaaaaaaaaaaa" in d.effects[0].last_error
    r = cm.RetryDecision(CM.RetryDecisionRequest(id=d.id))
    assert r.effects[0].status == PENDING
    d = settled(cm, d.id)
    assert d.effects[0].status == FAILED and d.effects[0].attempts == 2
    with pytest.raises(grpc.RpcError) as e:
        cm.RetryDecision(CM.RetryDecisionRequest(id=settled(cm, decide(
            cm, m.id, CM.DECISION_TYPE_OTHER).id).id))
    assert e.value.code() == C.FAILED_PRECONDITION


def test_an_admission_changes_the_entitys_role_from_the_decisions_day_once(suite):
    mb, wg, ps, cm = stubs(suite)
    ipu = entity(mb, "IPU", kind=M.ENTITY_KIND_OBSERVER)
    m = meeting(cm, date="2020-06-30")
    d = settled(cm, decide(cm, m.id, CM.DECISION_TYPE_ADMIT_ENTITY, [admit(ipu)]).id)
    ref = d.id + "/effects/1"
    assert (d.effects[0].status, d.effects[0].service, d.effects[0].result_id) == (
        APPLIED, "membership", ipu), d.effects[0].last_error
    OBS, MEM = M.PARTICIPATION_ROLE_OBSERVER, M.PARTICIPATION_ROLE_MEMBER
    assert periods(mb, ipu) == [(OBS, "2018-02-23", "2020-06-30", ""),
                                (MEM, "2020-06-30", "", ref)]
    # The deprecated kind follows the latest role (affiliation not recorded).
    assert mb.GetEntity(M.GetEntityRequest(id=ipu)).kind == M.ENTITY_KIND_NON_UN_MEMBER

    # A retry of the same effect (a committee that lost membership's answer)
    # returns the entity as it is; the reference on another entity is refused.
    again = mb.AdmitEntity(M.AdmitEntityRequest(entity_id=ipu, role=MEM, from_date="2020-06-30",
                                                decision_ref=ref))
    assert [(p.role, p.decision_ref) for p in again.participation] == [(OBS, ""), (MEM, ref)]
    other = entity(mb, "WCO")
    with pytest.raises(grpc.RpcError) as e:
        mb.AdmitEntity(M.AdmitEntityRequest(entity_id=other, role=OBS, from_date="2020-06-30",
                                            decision_ref=ref))
    assert e.value.code() == C.ALREADY_EXISTS and e.value.details().startswith("decision_ref")

    # An update that keeps the period keeps its reference; one a client sends
    # is output only.
    upd = M.Entity(id=ipu, participation=[
        M.Participation(role=OBS, from_date="2018-02-23", to_date="2020-06-30",
                        decision_ref=d.id + "/effects/2"),
        M.Participation(role=MEM, from_date="2020-06-30")])
    mb.UpdateEntity(M.UpdateEntityRequest(
        entity=upd, update_mask=field_mask_pb2.FieldMask(paths=["participation"])))
    assert [p[3] for p in periods(mb, ipu)] == ["", ref]

    # Admitting it again in the role it has is the owner's refusal: FAILED.
    d2 = settled(cm, decide(cm, meeting(cm, date="2021-01-05").id,
                            CM.DECISION_TYPE_ADMIT_ENTITY, [admit(ipu)]).id)
    assert d2.effects[0].status == FAILED
    assert d2.effects[0].last_error.startswith("FAILED_PRECONDITION"), d2.effects[0].last_error
    assert len(periods(mb, ipu)) == 2


@pytest.mark.parametrize("change,field", [
    (dict(entity_id=""), "entity_id"),
    (dict(role=0), "role"),
    (dict(from_date="2020-13-01"), "from_date"),
    (dict(decision_ref=""), "decision_ref"),
    (dict(decision_ref="dec_x/effects/1"), "decision_ref"),
])
def test_bad_admissions_are_refused_naming_the_field(suite, change, field):
    mb = suite.stub("membership")
    fields = dict(entity_id=entity(mb, "UNODC"), role=M.PARTICIPATION_ROLE_MEMBER,
                  from_date="2020-06-30", decision_ref="dec_aaaaaaaaaaaaaaaaaaaa/effects/1")
    fields.update(change)
    with pytest.raises(grpc.RpcError) as e:
        mb.AdmitEntity(M.AdmitEntityRequest(**fields))
    assert e.value.code() == C.INVALID_ARGUMENT
    assert e.value.details().startswith(field + ":"), e.value.details()
    assert suite.health("membership") == harness.SERVING


def test_an_admission_before_the_latest_period_or_of_a_withdrawn_entity_is_refused(suite):
    mb = suite.stub("membership")
    ref = "dec_aaaaaaaaaaaaaaaaaaaa/effects/1"
    unodc = entity(mb, "UNODC")
    for from_date, field in (("2018-02-23", "from_date"), ("2017-01-01", "from_date")):
        with pytest.raises(grpc.RpcError) as e:
            mb.AdmitEntity(M.AdmitEntityRequest(entity_id=unodc, role=M.PARTICIPATION_ROLE_OBSERVER,
                                                from_date=from_date, decision_ref=ref))
        assert e.value.code() == C.FAILED_PRECONDITION
        assert e.value.details().startswith(field), e.value.details()
    mb.WithdrawEntity(M.WithdrawEntityRequest(id=unodc))
    with pytest.raises(grpc.RpcError) as e:
        mb.AdmitEntity(M.AdmitEntityRequest(entity_id=unodc, role=M.PARTICIPATION_ROLE_OBSERVER,
                                            from_date="2099-01-01", decision_ref=ref))
    assert e.value.code() == C.FAILED_PRECONDITION and "withdrawn" in e.value.details()


# ---- catalytic funding -------------------------------------------------------------

def catalytic_world(suite):
    mb, wg, ps, cm = stubs(suite)
    unoct = entity(mb, "UNOCT")
    g = group(wg, "BMLE")
    p = project(ps, unoct, g)
    env = cm.SetEnvelope(CM.SetEnvelopeRequest(envelope=CM.Envelope(year=2024, amount=usd(1000000))))
    assert (env.allocated.amount_minor, env.remaining.amount_minor) == (0, 1000000)
    return mb, wg, ps, cm, unoct, g, p


def propose(cm, g, p, amount, year=2024):
    return cm.ProposeCatalyticFunding(CM.ProposeCatalyticFundingRequest(proposal=CM.Proposal(
        working_group_id=g, project_id=p, year=year, amount=usd(amount),
        justification="Seed money for a joint project")))


def allocate(cm, meeting_id, *proposal_ids):
    return decide(cm, meeting_id, CM.DECISION_TYPE_ALLOCATE_CATALYTIC_FUNDING,
                  [CM.Action(allocate_catalytic_funding=CM.AllocateCatalyticFunding(proposal_id=i))
                   for i in proposal_ids], title="Catalytic allocation")


def test_an_allocation_becomes_uno_cts_catalytic_commitment_on_the_project(suite):
    mb, wg, ps, cm, unoct, g, p = catalytic_world(suite)
    m = meeting(cm, date="2024-03-05")
    prop = propose(cm, g, p.id, 600000)
    assert prop.status == CM.PROPOSAL_STATUS_PROPOSED
    d = settled(cm, allocate(cm, m.id, prop.id).id)
    assert d.effects[0].status == APPLIED, d.effects[0].last_error
    got = ps.GetProject(P.GetProjectRequest(id=p.id))
    tx = [t for t in got.transactions if t.decision_ref == d.id + "/effects/1"]
    assert len(tx) == 1 and d.effects[0].result_id == tx[0].id
    t = tx[0]
    assert (t.catalytic, t.provider_entity_id, t.type, t.date, t.value.amount_minor) == (
        True, unoct, P.TRANSACTION_TYPE_INCOMING_COMMITMENT, "2024-03-05", 600000)
    assert cm.GetProposal(CM.GetProposalRequest(id=prop.id)).status == CM.PROPOSAL_STATUS_APPROVED
    env = cm.GetEnvelope(CM.GetEnvelopeRequest(year=2024))
    assert (env.allocated.amount_minor, env.remaining.amount_minor) == (600000, 400000)


def test_an_allocation_beyond_the_envelope_is_refused_and_nothing_is_recorded(suite):
    mb, wg, ps, cm, unoct, g, p = catalytic_world(suite)
    m = meeting(cm, date="2024-03-05")
    first, second = propose(cm, g, p.id, 700000), propose(cm, g, p.id, 400000)
    settled(cm, allocate(cm, m.id, first.id).id)
    before = list(cm.ListDecisions(CM.ListDecisionsRequest()).decisions)
    with pytest.raises(grpc.RpcError) as e:
        allocate(cm, m.id, second.id)
    assert e.value.code() == C.FAILED_PRECONDITION
    assert "300000" in e.value.details()  # what the envelope has left
    assert list(cm.ListDecisions(CM.ListDecisionsRequest()).decisions) == before
    assert cm.GetProposal(CM.GetProposalRequest(id=second.id)).status == \
        CM.PROPOSAL_STATUS_PROPOSED
    # Two proposals that fit alone but not together: refused as one.
    third = propose(cm, g, p.id, 200000)
    fourth = propose(cm, g, p.id, 200000)
    with pytest.raises(grpc.RpcError) as e:
        allocate(cm, m.id, third.id, fourth.id)
    assert e.value.code() == C.FAILED_PRECONDITION
    assert cm.GetEnvelope(CM.GetEnvelopeRequest(year=2024)).remaining.amount_minor == 300000
    # The envelope cannot shrink below what is allocated.
    with pytest.raises(grpc.RpcError) as e:
        cm.SetEnvelope(CM.SetEnvelopeRequest(envelope=CM.Envelope(year=2024, amount=usd(500000))))
    assert e.value.code() == C.FAILED_PRECONDITION


def test_a_proposal_must_be_for_a_project_of_its_group(suite):
    mb, wg, ps, cm, unoct, g, p = catalytic_world(suite)
    other = group(wg, "OTHER")
    with pytest.raises(grpc.RpcError) as e:
        propose(cm, other, p.id, 1000)
    assert e.value.code() == C.FAILED_PRECONDITION
    assert "proposal.project_id" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        cm.ProposeCatalyticFunding(CM.ProposeCatalyticFundingRequest(proposal=CM.Proposal(
            working_group_id=g, project_id=p.id, year=2024, amount=P.Money(currency="EUR",
                                                                           amount_minor=5),
            justification="x")))
    assert e.value.code() == C.FAILED_PRECONDITION  # the envelope is in USD


# ---- meetings, action points, composition -----------------------------------------------

def test_meetings_and_overdue_action_points(suite):
    mb, wg, ps, cm = stubs(suite)
    unoct, cted = entity(mb, "UNOCT"), entity(mb, "CTED")
    m = meeting(cm, number=6, format=CM.MEETING_FORMAT_VIRTUAL,
                agenda=[CM.AgendaItem(title="Joint programme of work")],
                attendance=[CM.Attendee(entity_id=unoct, representative="The chair"),
                            CM.Attendee(entity_id=cted)])
    assert (m.number, m.status, len(m.attendance)) == (6, CM.MEETING_STATUS_HELD, 2)
    # By its date too (read from the store: a date has no cache key).
    assert cm.GetMeeting(CM.GetMeetingRequest(date="2019-04-16")) == m
    with pytest.raises(grpc.RpcError) as e:
        cm.GetMeeting(CM.GetMeetingRequest(date="2019-04-17"))
    assert e.value.code() == C.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        meeting(cm, date="2019-04-16")  # once a day at most
    assert e.value.code() == C.ALREADY_EXISTS
    planned = meeting(cm, date="2099-01-01", status=CM.MEETING_STATUS_UNSPECIFIED)
    assert planned.status == CM.MEETING_STATUS_PLANNED
    for due, owner in (("2020-01-01", unoct), ("2098-01-01", cted)):
        m = cm.AddActionPoint(CM.AddActionPointRequest(meeting_id=m.id, action_point=CM.ActionPoint(
            description="Report back", owner_entity_id=owner, due_on=due)))
    overdue = cm.ListActionPoints(CM.ListActionPointsRequest(overdue_on="2026-01-01")).action_points
    assert [(a.owner_entity_id, a.due_on) for a in overdue] == [(unoct, "2020-01-01")]
    done = m.action_points[0]
    cm.UpdateActionPoint(CM.UpdateActionPointRequest(
        meeting_id=m.id, action_point=CM.ActionPoint(id=done.id, status=CM.ACTION_STATUS_DONE),
        update_mask=field_mask_pb2.FieldMask(paths=["status"])))
    assert list(cm.ListActionPoints(CM.ListActionPointsRequest(
        overdue_on="2026-01-01")).action_points) == []
    listed = cm.ListMeetings(CM.ListMeetingsRequest(page_size=1))
    assert len(listed.meetings) == 1 and listed.next_page_token
    rest = cm.ListMeetings(CM.ListMeetingsRequest(page_size=1, page_token=listed.next_page_token))
    assert [x.date for x in list(listed.meetings) + list(rest.meetings)] == ["2019-04-16",
                                                                               "2099-01-01"]


@pytest.mark.parametrize("change,field,code", [
    (dict(date="2019-02-30"), "meeting.date", C.INVALID_ARGUMENT),
    (dict(date="2999-01-01", status=CM.MEETING_STATUS_HELD), "meeting.status", C.INVALID_ARGUMENT),
    (dict(number=-1), "meeting.number", C.INVALID_ARGUMENT),
    (dict(agenda=[CM.AgendaItem(title="")]), "meeting.agenda[0].title", C.INVALID_ARGUMENT),
    (dict(attendance=[CM.Attendee(entity_id="ent_aaaaaaaaaaaaaaaaaaaa")]),
     "meeting.attendance[0].entity_id", C.INVALID_ARGUMENT),
    (dict(attendance=[CM.Attendee(entity_id="nope")]), "meeting.attendance[0].entity_id",
     C.INVALID_ARGUMENT),
])
def test_bad_meetings_are_refused_naming_the_field(suite, change, field, code):
    cm = suite.stub("committee")
    fields = dict(date="2019-04-16")
    fields.update(change)
    with pytest.raises(grpc.RpcError) as e:
        cm.CreateMeeting(CM.CreateMeetingRequest(meeting=CM.Meeting(**fields)))
    assert e.value.code() == code and e.value.details().startswith(field), e.value.details()
    assert list(cm.ListMeetings(CM.ListMeetingsRequest()).meetings) == []


def test_bad_decisions_are_refused_naming_the_field(suite):
    mb, wg, ps, cm = stubs(suite)
    g = group(wg, "BMLE")
    m = meeting(cm)
    cancelled = meeting(cm, date="2019-05-01", status=CM.MEETING_STATUS_CANCELLED)
    cases = [
        (dict(meeting_id=m.id, type=CM.DECISION_TYPE_OTHER, title="x", actions=[tor(g, "t")]),
         C.INVALID_ARGUMENT, "decision.actions"),
        (dict(meeting_id=m.id, type=CM.DECISION_TYPE_APPROVE_TERMS_OF_REFERENCE, title="x"),
         C.INVALID_ARGUMENT, "decision.actions"),
        (dict(meeting_id=m.id, type=CM.DECISION_TYPE_APPROVE_WORK_PLAN, title="x",
              actions=[tor(g, "t")]), C.INVALID_ARGUMENT, "decision.actions[0]"),
        (dict(meeting_id=m.id, type=CM.DECISION_TYPE_APPROVE_TERMS_OF_REFERENCE, title="x",
              actions=[tor("wg_aaaaaaaaaaaaaaaaaaaa", "t")]), C.INVALID_ARGUMENT,
         "decision.actions[0]"),
        (dict(meeting_id="mtg_aaaaaaaaaaaaaaaaaaaa", type=CM.DECISION_TYPE_OTHER, title="x"),
         C.INVALID_ARGUMENT, "decision.meeting_id"),
        (dict(meeting_id=cancelled.id, type=CM.DECISION_TYPE_OTHER, title="x"),
         C.FAILED_PRECONDITION, "decision.meeting_id"),
        (dict(meeting_id=m.id, type=CM.DECISION_TYPE_OTHER, title=""), C.INVALID_ARGUMENT,
         "decision.title"),
        (dict(meeting_id=m.id, type=CM.DECISION_TYPE_ADMIT_ENTITY, title="x"),
         C.INVALID_ARGUMENT, "decision.actions"),
        (dict(meeting_id=m.id, type=CM.DECISION_TYPE_ADMIT_ENTITY, title="x",
              actions=[admit("ent_aaaaaaaaaaaaaaaaaaaa", 0)]), C.INVALID_ARGUMENT,
         "decision.actions[0].admit_entity.role"),
        (dict(meeting_id=m.id, type=CM.DECISION_TYPE_ADMIT_ENTITY, title="x",
              actions=[admit("ent_aaaaaaaaaaaaaaaaaaaa")]), C.INVALID_ARGUMENT,
         "decision.actions[0]"),
    ]
    for fields, code, field in cases:
        with pytest.raises(grpc.RpcError) as e:
            cm.RecordDecision(CM.RecordDecisionRequest(decision=CM.Decision(**fields)))
        assert e.value.code() == code, (fields, e.value.details())
        assert e.value.details().startswith(field), e.value.details()
    assert list(cm.ListDecisions(CM.ListDecisionsRequest()).decisions) == []
    assert versions(wg, g) == []


def test_composition_on_a_date_follows_the_groups_leadership(suite):
    mb, wg, ps, cm = stubs(suite)
    unoct, cted, unodc = entity(mb, "UNOCT"), entity(mb, "CTED"), entity(mb, "UNODC")
    cm.AddRepresentative(CM.AddRepresentativeRequest(representative=CM.Representative(
        role=CM.SEAT_ROLE_CHAIR, entity_id=unoct, person="Vladimir Voronkov",
        from_date="2018-02-23", to_date="2025-01-01")))
    cm.AddRepresentative(CM.AddRepresentativeRequest(representative=CM.Representative(
        role=CM.SEAT_ROLE_SECRETARIAT, entity_id=unoct, from_date="2018-02-23")))
    g = group(wg, "BMLE")
    wg.SetLeadership(W.SetLeadershipRequest(group_id=g, effective_on="2019-04-16",
                                            leadership=W.Leadership(chair_entity_id=cted,
                                                                    vice_chair_entity_ids=[unoct])))
    wg.SetLeadership(W.SetLeadershipRequest(group_id=g, effective_on="2023-01-01",
                                            leadership=W.Leadership(chair_entity_id=unodc,
                                                                    vice_chair_entity_ids=[cted])))

    def seats(day):
        comp = cm.GetComposition(CM.GetCompositionRequest(as_of=day))
        assert comp.complete and comp.as_of == day
        return sorted((s.role, s.entity_id, s.working_group_id) for s in comp.seats)

    assert seats("2020-06-01") == sorted([
        (CM.SEAT_ROLE_CHAIR, unoct, ""), (CM.SEAT_ROLE_SECRETARIAT, unoct, ""),
        (CM.SEAT_ROLE_WORKING_GROUP_CHAIR, cted, g),
        (CM.SEAT_ROLE_WORKING_GROUP_VICE_CHAIR, unoct, g)])
    assert seats("2025-06-01") == sorted([
        (CM.SEAT_ROLE_SECRETARIAT, unoct, ""),
        (CM.SEAT_ROLE_WORKING_GROUP_CHAIR, unodc, g),
        (CM.SEAT_ROLE_WORKING_GROUP_VICE_CHAIR, cted, g)])
    assert seats("2018-01-01") == []
    # Without workgroups there is no composition, not half of one.
    suite.stop("workgroups")
    with pytest.raises(grpc.RpcError) as e:
        cm.GetComposition(CM.GetCompositionRequest(as_of="2020-06-01"))
    assert e.value.code() == C.UNAVAILABLE
    suite.start("workgroups")
