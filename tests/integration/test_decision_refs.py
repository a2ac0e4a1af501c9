"""What the Coordination Committee's decisions reach in workgroups and projects,
through the real binaries (membership, workgroups, projects) and a real Redis.

A decision's effect ("dec_<id>/effects/<n>") is the owning service's
idempotency key, kept for good: unlike a request id (AIP-155, 24 hours), it is
checked against what the service has recorded. A retry long after the request
id window is simulated by sending no request_id at all:

- ApproveTermsOfReference, ApproveWorkPlan and RecordTransaction with a
  decision_ref already recorded return the group or project as it is: no new
  version, no new transaction, no event, the same etag; other content under
  the same decision_ref is ALREADY_EXISTS naming the field; a repeat is
  answered even after the group moved on or was closed;
- CreateWorkingGroup with an established_by already recorded returns the
  group made the first time, whatever the request says now;
- leadership history: every SetLeadership ends the current term on
  effective_on and opens the next; not before the current term began
  (FAILED_PRECONDITION), a malformed date INVALID_ARGUMENT naming
  effective_on; a database of before the history gets one term per group;
- catalytic money is UNOCT's: a catalytic transaction whose provider is not
  UNOCT is FAILED_PRECONDITION naming transaction.provider_entity_id and
  transaction.catalytic, and nothing is written.
"""
import datetime
import sqlite3
import os

import grpc
import pytest
from google.protobuf import field_mask_pb2

import harness
from harness import M, code_of

W = harness.pb("compact/workgroups/v1/workgroups.proto")
P = harness.pb("compact/projects/v1/projects.proto")
C = grpc.StatusCode

pytestmark = pytest.mark.suite(services=("membership", "workgroups", "projects"))

DEC = "dec_abcdefghijklmnopqrst/effects/%d"
DEC2 = "dec_234567abcdefghijklmn/effects/%d"


# ---- helpers ----------------------------------------------------------------

@pytest.fixture
def wg(suite):
    return suite.stub("workgroups")


@pytest.fixture
def ps(suite):
    return suite.stub("projects")


@pytest.fixture
def mb(suite):
    return suite.stub("membership")


@pytest.fixture
def ents(mb):
    names = ("UNOCT", "CTED", "UNODC", "INTERPOL", "WCO")
    made = harness.create_many(mb, [harness.entity(a) for a in names])
    return dict(zip(names, made))


def new_group(wg, code="BMLE", **kw):
    return wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
        code=code, title="Border management and law enforcement",
        pillars=[W.STRATEGY_PILLAR_II], **kw)))


def approve_tor(wg, gid, text, on, ref="", etag=""):
    return wg.ApproveTermsOfReference(W.ApproveTermsOfReferenceRequest(
        group_id=gid, terms_of_reference=W.TermsOfReference(text=text, approved_on=on,
                                                             decision_ref=ref),
        etag=etag))


def add_item(wg, gid, owner, title):
    return wg.AddWorkPlanItem(W.AddWorkPlanItemRequest(
        group_id=gid, item=W.WorkPlanItem(title=title, owner_entity_id=owner)))


def approve_plan(wg, gid, items, start="2024-01-01", end="2026-12-31", on="2024-01-24", ref="",
                 etag=""):
    return wg.ApproveWorkPlan(W.ApproveWorkPlanRequest(group_id=gid, plan=W.ApprovedWorkPlan(
        period_start=start, period_end=end, approved_on=on, item_ids=list(items),
        decision_ref=ref), etag=etag))


def lead(wg, gid, chair, vices, on="", etag=""):
    return wg.SetLeadership(W.SetLeadershipRequest(
        group_id=gid, leadership=W.Leadership(chair_entity_id=chair,
                                              vice_chair_entity_ids=list(vices)),
        effective_on=on, etag=etag))


def tor_versions(wg, gid):
    return list(wg.ListTermsOfReference(W.ListTermsOfReferenceRequest(group_id=gid)).
                terms_of_reference)


def event_types(suite, service):
    return [f["type"].decode() for _, f in suite.stream(service)]


def barrier(suite, wg):
    """One more write, then the stream holds every event committed before it."""
    b = new_group(wg, "ZZBARRIER%d" % len(suite.stream("workgroups")))
    harness.wait_published(suite, b.id, service="workgroups")
    return event_types(suite, "workgroups")[:-1]


def terms(g):
    return [(t.leadership.chair_entity_id, list(t.leadership.vice_chair_entity_ids),
             t.from_date, t.to_date) for t in g.leadership_history]


# ---- terms of reference -----------------------------------------------------------

def test_terms_of_reference_by_decision_are_recorded_once(suite, wg):
    g = new_group(wg)
    v1 = approve_tor(wg, g.id, "Terms of 2019.", "2019-04-16", ref=DEC % 1)
    assert v1.terms_of_reference.decision_ref == DEC % 1
    assert v1.terms_of_reference.version == 1

    # The Committee's service retries, days later: no request id, same effect.
    again = approve_tor(wg, g.id, "Terms of 2019.", "2019-04-16", ref=DEC % 1)
    assert again == v1                                   # nothing changed, not even the etag
    assert [(t.version, t.decision_ref) for t in tor_versions(wg, g.id)] == [(1, DEC % 1)]

    # Other content under the same decision: a bug in the caller, refused.
    code, msg = code_of(approve_tor, wg, g.id, "Other terms.", "2019-04-16", ref=DEC % 1)
    assert code == C.ALREADY_EXISTS
    assert msg.startswith("terms_of_reference.decision_ref: " + DEC % 1), msg
    assert "version 1 of its terms of reference" in msg
    code, msg = code_of(approve_tor, wg, g.id, "Terms of 2019.", "2019-04-17", ref=DEC % 1)
    assert code == C.ALREADY_EXISTS

    # The group moves on (a new version, a new etag, closed): the old
    # decision is still answered with the group as it is now.
    v2 = approve_tor(wg, g.id, "Terms of 2024.", "2024-01-24", ref=DEC % 2)
    assert v2.terms_of_reference.version == 2
    assert approve_tor(wg, g.id, "Terms of 2019.", "2019-04-16", ref=DEC % 1,
                       etag=v1.etag) == v2               # stale etag: not looked at
    closed = wg.UpdateWorkingGroup(W.UpdateWorkingGroupRequest(
        group=W.WorkingGroup(id=g.id, status=W.GROUP_STATUS_CLOSED),
        update_mask=field_mask_pb2.FieldMask(paths=["status"])))
    assert approve_tor(wg, g.id, "Terms of 2024.", "2024-01-24", ref=DEC % 2) == closed
    code, _ = code_of(approve_tor, wg, g.id, "Terms of 2025.", "2025-01-01", ref=DEC % 3)
    assert code == C.FAILED_PRECONDITION                 # a new decision: the group is closed

    assert [(t.version, t.decision_ref) for t in tor_versions(wg, g.id)] == [
        (1, DEC % 1), (2, DEC % 2)]
    assert barrier(suite, wg) == ["workgroup.created", "workgroup.tor_approved",
                                  "workgroup.tor_approved", "workgroup.updated"]


def test_terms_of_reference_decision_ref_must_be_a_decision_effect(wg):
    g = new_group(wg)
    for bad in ("dec_abc/effects/1", "dec_abcdefghijklmnopqrst", "ent_abcdefghijklmnopqrst/effects/1",
                DEC % 0, "dec_abcdefghijklmnopqrst/effects/01"):
        code, msg = code_of(approve_tor, wg, g.id, "Terms.", "2019-04-16", ref=bad)
        assert code == C.INVALID_ARGUMENT, bad
        assert msg.startswith("terms_of_reference.decision_ref: not a decision effect"), msg
    assert tor_versions(wg, g.id) == []


def test_a_decision_is_one_effect_in_a_group(wg, ents):
    g = new_group(wg)
    it = add_item(wg, g.id, ents["UNODC"].id, "Workshop")
    approve_plan(wg, g.id, [it.id], ref=DEC % 1)
    code, msg = code_of(approve_tor, wg, g.id, "Terms.", "2024-01-24", ref=DEC % 1)
    assert code == C.ALREADY_EXISTS
    assert "version 1 of its approved work plan" in msg, msg


# ---- approved work plans ----------------------------------------------------------

def test_approve_work_plan_records_versions_once(suite, wg, ents):
    g = new_group(wg)
    a = add_item(wg, g.id, ents["UNODC"].id, "Regional workshop")
    b = add_item(wg, g.id, ents["CTED"].id, "Technical guidelines")
    v1 = approve_plan(wg, g.id, [a.id, b.id], ref=DEC % 1)
    [p1] = v1.approved_work_plans
    assert (p1.version, p1.period_start, p1.period_end, p1.approved_on, list(p1.item_ids),
            p1.decision_ref) == (1, "2024-01-01", "2026-12-31", "2024-01-24", [a.id, b.id],
                                 DEC % 1)
    assert p1.record_time.seconds > 0

    assert approve_plan(wg, g.id, [a.id, b.id], ref=DEC % 1) == v1   # a retry
    code, msg = code_of(approve_plan, wg, g.id, [b.id, a.id], ref=DEC % 1)
    assert code == C.ALREADY_EXISTS                                    # other items
    assert msg.startswith("plan.decision_ref: " + DEC % 1), msg

    v2 = approve_plan(wg, g.id, [b.id], start="2027-01-01", end="2027-12-31", on="2026-12-01",
                      ref=DEC % 2)
    assert [(p.version, list(p.item_ids)) for p in v2.approved_work_plans] == [
        (1, [a.id, b.id]), (2, [b.id])]                                # oldest first
    v3 = approve_plan(wg, g.id, [a.id], start="2028-01-01", end="2028-12-31", on="2027-12-01")
    assert [p.version for p in v3.approved_work_plans] == [1, 2, 3]   # no decision: no key
    assert wg.GetWorkingGroup(W.GetWorkingGroupRequest(id=g.id)) == v3
    code, msg = code_of(approve_plan, wg, g.id, [a.id], on="2025-01-01")
    assert code == C.FAILED_PRECONDITION
    assert msg.startswith("plan.approved_on: 2025-01-01 is before 2027-12-01"), msg
    assert barrier(suite, wg)[-3:] == ["workgroup.work_plan_approved"] * 3


@pytest.mark.parametrize("kw,field", [
    ({"start": "2024-13-01"}, "plan.period_start"),
    ({"end": ""}, "plan.period_end"),
    ({"start": "2025-01-01", "end": "2025-01-01"}, "plan.period_end"),
    ({"start": "2025-01-02", "end": "2025-01-01"}, "plan.period_end"),
    ({"on": "24 January 2024"}, "plan.approved_on"),
    ({"ref": "dec_x/effects/1"}, "plan.decision_ref"),
    ({"items": []}, "plan.item_ids"),
    ({"items": ["wpi_nope"]}, "plan.item_ids[0]"),
    ({"items": "repeat"}, "plan.item_ids[1]"),
    ({"items": "unknown"}, "plan.item_ids[1]"),
    ({"items": "too-many"}, "plan.item_ids"),
], ids=["bad-start", "no-end", "end-is-start", "end-before-start", "bad-approved-on", "bad-ref",
        "no-items", "not-an-id", "repeated-item", "not-an-item-of-the-group", "too-many-items"])
def test_approve_work_plan_invalid(wg, ents, kw, field):
    g = new_group(wg)
    it = add_item(wg, g.id, ents["UNODC"].id, "Workshop")
    other = new_group(wg, "ETCIP")
    foreign = add_item(wg, other.id, ents["UNODC"].id, "Elsewhere")
    items = kw.pop("items", [it.id])
    items = {"repeat": [it.id, it.id], "unknown": [it.id, foreign.id],
             "too-many": [it.id] * 201}.get(items, items) if isinstance(items, str) else items
    code, msg = code_of(approve_plan, wg, g.id, items, **kw)
    assert code == C.INVALID_ARGUMENT
    assert msg.startswith(field + ":"), msg
    assert not wg.GetWorkingGroup(W.GetWorkingGroupRequest(id=g.id)).approved_work_plans


# ---- groups established by a decision ------------------------------------------------

def test_a_group_established_by_a_decision_is_made_once(suite, wg):
    g = new_group(wg, established_by=DEC % 1)
    assert g.established_by == DEC % 1
    again = new_group(wg, established_by=DEC % 1)                 # not ALREADY_EXISTS for the code
    assert again == g
    renamed = wg.UpdateWorkingGroup(W.UpdateWorkingGroupRequest(
        group=W.WorkingGroup(id=g.id, title="Border management"),
        update_mask=field_mask_pb2.FieldMask(paths=["title"])))
    # Whatever the request says now, the decision's group is the answer.
    assert new_group(wg, "OTHER", established_by=DEC % 1) == renamed
    assert [x.id for x in wg.ListWorkingGroups(W.ListWorkingGroupsRequest()).groups] == [g.id]

    # Another decision is another group; the code is still unique.
    code, _ = code_of(new_group, wg, "BMLE", established_by=DEC2 % 1)
    assert code == C.ALREADY_EXISTS
    other = new_group(wg, "ETCIP", established_by=DEC2 % 1)
    assert other.id != g.id

    code, msg = code_of(new_group, wg, "PCVE", established_by="decision 12")
    assert code == C.INVALID_ARGUMENT and msg.startswith("group.established_by:"), msg
    code, msg = code_of(wg.UpdateWorkingGroup, W.UpdateWorkingGroupRequest(
        group=W.WorkingGroup(id=g.id, established_by=DEC % 9),
        update_mask=field_mask_pb2.FieldMask(paths=["established_by"])))
    assert code == C.INVALID_ARGUMENT and "established_by" in msg, msg
    assert barrier(suite, wg) == ["workgroup.created", "workgroup.updated", "workgroup.created"]


# ---- leadership history ------------------------------------------------------------

def test_leadership_history_across_changes(suite, wg, ents):
    U, T, D, I, X = (ents[a].id for a in ("UNOCT", "CTED", "UNODC", "INTERPOL", "WCO"))
    g = new_group(wg)
    assert not g.leadership_history
    g1 = lead(wg, g.id, U, [T], on="2019-04-16")
    assert terms(g1) == [(U, [T], "2019-04-16", "")]
    g2 = lead(wg, g.id, D, [I, X], on="2021-06-01")
    assert terms(g2) == [(U, [T], "2019-04-16", "2021-06-01"), (D, [I, X], "2021-06-01", "")]
    assert g2.leadership.chair_entity_id == D
    g3 = lead(wg, g.id, T, [U], on="2024-01-24")
    assert terms(g3) == [(U, [T], "2019-04-16", "2021-06-01"), (D, [I, X], "2021-06-01", "2024-01-24"),
                         (T, [U], "2024-01-24", "")]

    # A correction the same day replaces the current term's leaders.
    g4 = lead(wg, g.id, T, [I], on="2024-01-24")
    assert terms(g4)[-1] == (T, [I], "2024-01-24", "") and len(g4.leadership_history) == 3
    # The leadership it has, named again, keeps its term.
    g5 = lead(wg, g.id, T, [I], on="2025-05-05")
    assert terms(g5) == terms(g4)

    code, msg = code_of(lead, wg, g.id, U, [T], on="2024-01-23")
    assert code == C.FAILED_PRECONDITION
    assert msg.startswith("effective_on: 2024-01-23 is before 2024-01-24"), msg
    for bad in ("2024-02-30", "24/01/2024", "2024-1-1"):
        code, msg = code_of(lead, wg, g.id, U, [T], on=bad)
        assert code == C.INVALID_ARGUMENT and msg.startswith("effective_on:"), (bad, msg)

    # Default: today (UTC).
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    g6 = lead(wg, g.id, U, [D])
    assert terms(g6)[-2][3] == today and terms(g6)[-1] == (U, [D], today, "")
    assert wg.GetWorkingGroup(W.GetWorkingGroupRequest(id=g.id)) == g6


def test_an_existing_database_gets_its_leadership_as_one_term(suite, wg, ents):
    """A database from before the history: migration 2 gives each group with
    a leadership one term, from its first terms of reference's approval, or
    from the day it was created when it has none."""
    U, T = ents["UNOCT"].id, ents["CTED"].id
    with_tor = new_group(wg, "BMLE")
    lead(wg, with_tor.id, U, [T], on="2020-02-02")
    approve_tor(wg, with_tor.id, "Terms.", "2019-04-16")
    approve_tor(wg, with_tor.id, "Terms, revised.", "2022-02-02")
    without = new_group(wg, "ETCIP")
    lead(wg, without.id, T, [U])
    bare = new_group(wg, "PCVE")
    created = datetime.datetime.fromtimestamp(without.create_time.seconds,
                                              datetime.timezone.utc).date().isoformat()
    suite.stop("workgroups")
    # Back to the schema of version 1, as an older build left it.
    db = sqlite3.connect(os.path.join(suite.data_dir("workgroups"), "workgroups.db"))
    db.executescript(harness.WORKGROUPS_DOWN_TO_V1)
    db.close()
    suite.start("workgroups")
    wg = suite.stub("workgroups")
    get = lambda g: wg.GetWorkingGroup(W.GetWorkingGroupRequest(id=g.id))
    assert terms(get(with_tor)) == [(U, [T], "2019-04-16", "")]
    assert terms(get(without)) == [(T, [U], created, "")]
    assert terms(get(bare)) == []
    g = lead(wg, with_tor.id, T, [U], on="2023-03-03")
    assert terms(g) == [(U, [T], "2019-04-16", "2023-03-03"), (T, [U], "2023-03-03", "")]


# ---- projects: transactions by decision, catalytic money ---------------------------

def project(ps, wg, ents):
    g = new_group(wg, "BMLE")
    return ps.CreateProject(P.CreateProjectRequest(project=P.Project(
        working_group_ids=[g.id],
        title="Countering terrorist travel", summary="Passenger data.",
        iati_identifier="XM-COMPACT-CT-TRAVEL", reporting_org_ref="XM-COMPACT",
        participants=[P.Participant(entity_id=ents["UNOCT"].id,
                                    role=P.ORGANISATION_ROLE_ACCOUNTABLE)],
        global_scope=True, pillars=[P.STRATEGY_PILLAR_II], start_date="2019-05-07",
        end_date="2026-12-31",
        status=P.ACTIVITY_STATUS_IMPLEMENTATION))).project


def record(ps, pid, amount=100000, etag="", **kw):
    kw.setdefault("type", P.TRANSACTION_TYPE_INCOMING_COMMITMENT)
    kw.setdefault("date", "2024-02-01")
    return ps.RecordTransaction(P.RecordTransactionRequest(project_id=pid, etag=etag,
        transaction=P.Transaction(value=P.Money(currency="USD", amount_minor=amount), **kw)))


def test_a_transaction_by_decision_is_recorded_once(suite, ps, wg, ents):
    p = project(ps, wg, ents)
    unoct = ents["UNOCT"].id
    first = record(ps, p.id, catalytic=True, provider_entity_id=unoct, decision_ref=DEC % 1)
    [t] = first.transactions
    assert t.decision_ref == DEC % 1 and t.catalytic
    assert [x.catalytic_minor for x in first.totals] == [100000]

    # A retry after the request id window: nothing more, the same project.
    assert record(ps, p.id, catalytic=True, provider_entity_id=unoct,
                  decision_ref=DEC % 1) == first
    assert record(ps, p.id, catalytic=True, provider_entity_id=unoct, decision_ref=DEC % 1,
                  etag='"stale"') == first
    code, msg = code_of(record, ps, p.id, 200000, catalytic=True, provider_entity_id=unoct,
                        decision_ref=DEC % 1)
    assert code == C.ALREADY_EXISTS
    assert msg.startswith("transaction.decision_ref: " + DEC % 1), msg

    second = record(ps, p.id, 50000, catalytic=True, provider_entity_id=unoct,
                    decision_ref=DEC % 2)
    assert len(second.transactions) == 2
    assert [x.catalytic_minor for x in second.totals] == [150000]
    code, msg = code_of(record, ps, p.id, catalytic=True, provider_entity_id=unoct,
                        decision_ref="dec_abc")
    assert code == C.INVALID_ARGUMENT and msg.startswith("transaction.decision_ref:"), msg
    assert ps.GetProject(P.GetProjectRequest(id=p.id)) == second
    harness.wait_events(suite, 3, service="projects")
    assert event_types(suite, "projects") == ["project.created"] + [
        "project.transaction_recorded"] * 2


@pytest.mark.parametrize("provider,field", [
    ({"provider_entity_id": "UNODC"}, "transaction.provider_entity_id"),
    ({"provider_name": "UNOCT"}, "transaction.catalytic"),
    ({}, "transaction.catalytic"),
], ids=["another-entity", "a-named-provider", "no-provider"])
def test_catalytic_money_is_unoct_s(suite, ps, wg, ents, provider, field):
    p = project(ps, wg, ents)
    provider = {k: ents[v].id if k == "provider_entity_id" else v for k, v in provider.items()}
    code, msg = code_of(record, ps, p.id, catalytic=True, decision_ref=DEC % 1, **provider)
    assert code == C.FAILED_PRECONDITION
    assert msg.startswith(field + ":"), msg
    assert "transaction.catalytic" in msg and "UNOCT" in msg, msg
    after = ps.GetProject(P.GetProjectRequest(id=p.id))
    assert after.etag == p.etag and not after.transactions           # nothing written
    # The same money not catalytic is fine from anyone.
    assert len(record(ps, p.id, **provider).transactions) == 1
    harness.wait_events(suite, 2, service="projects")
    assert event_types(suite, "projects") == ["project.created", "project.transaction_recorded"]


def test_catalytic_money_from_a_withdrawn_unoct_is_refused(ps, wg, mb, ents):
    p = project(ps, wg, ents)
    mb.WithdrawEntity(M.WithdrawEntityRequest(id=ents["UNOCT"].id))
    code, msg = code_of(record, ps, p.id, catalytic=True, provider_entity_id=ents["UNOCT"].id)
    assert code == C.FAILED_PRECONDITION and "withdrawn" in msg, msg


# ---- compactctl -------------------------------------------------------------------

def test_compactctl_approve_plan_and_leadership(suite, wg, ents):
    g = new_group(wg)
    it = add_item(wg, g.id, ents["UNODC"].id, "Workshop")
    out = suite.ctl("groups", "approve-plan", "BMLE", "--period-start", "2024-01-01",
                    "--period-end", "2026-12-31", "--approved-on", "2024-01-24",
                    "--item", it.id, "--decision-ref", DEC % 1)
    assert out.returncode == 0, out.stderr
    assert "approved_work_plan:" in out.stdout and DEC % 1 in out.stdout
    again = suite.ctl("groups", "approve-plan", "BMLE", "--period-start", "2024-01-01",
                      "--period-end", "2026-12-31", "--approved-on", "2024-01-24",
                      "--item", it.id, "--decision-ref", DEC % 1)
    assert again.returncode == 0 and again.stdout == out.stdout
    bad = suite.ctl("groups", "approve-plan", "BMLE", "--period-start", "2024-01-01",
                    "--period-end", "2023-12-31", "--approved-on", "2024-01-24", "--item", it.id)
    assert bad.returncode == 1 and "INVALID_ARGUMENT" in bad.stderr and "plan.period_end" in bad.stderr

    out = suite.ctl("groups", "leadership", "BMLE", "--chair", "UNOCT", "--vice", "CTED",
                    "--effective-on", "2019-04-16")
    assert out.returncode == 0, out.stderr
    out = suite.ctl("groups", "leadership", "BMLE", "--chair", "UNODC", "--vice", "CTED",
                    "--effective-on", "2021-06-01")
    assert out.returncode == 0, out.stderr
    lines = [l for l in out.stdout.splitlines() if l.startswith("leadership_term:")]
    assert len(lines) == 2, out.stdout
    assert "2019-04-16 to 2021-06-01: chair UNOCT" in lines[0]
    assert "2021-06-01 to now: chair UNODC" in lines[1]
    early = suite.ctl("groups", "leadership", "BMLE", "--chair", "UNOCT", "--vice", "CTED",
                      "--effective-on", "2020-01-01")
    assert early.returncode == 1 and "FAILED_PRECONDITION" in early.stderr
    assert "effective_on" in early.stderr
    help_ = suite.ctl("groups", "approve-plan", "--help")
    assert help_.returncode == 0 and "--decision-ref" in help_.stdout
