"""`compactctl committee ...` against the real committee, membership,
workgroups and projects binaries and a real Redis.

Each command runs as an operator would run it (the real binary, its exit
status, stdout, stderr), with the suite's token in COMPACT_TOKEN or
--token; what it claims to have done is checked through the services'
own gRPC APIs: the composition derived from workgroups, a decision recorded
from flags and carried out in workgroups with its reference there, an
allocation from UNOCT's envelope, and the refusals (beyond the envelope,
without a token, with a role that may only read)."""
import json
import os
import re

import pytest

import harness
from harness import M

CM = harness.pb("compact/committee/v1/committee.proto")
W = harness.pb("compact/workgroups/v1/workgroups.proto")
P = harness.pb("compact/projects/v1/projects.proto")
CTL = os.path.join(harness.BUILD_DIR, "compactctl")

SERVICES = ("membership", "workgroups", "projects", "committee")


def ok(res):
    assert res.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        res.returncode, res.stdout, res.stderr)
    return res


def fails(res, code=1):
    assert res.returncode == code, "expected exit %d, got %d\nstdout:\n%s\nstderr:\n%s" % (
        code, res.returncode, res.stdout, res.stderr)
    return res


def ok_json(suite, *args, **kw):
    return json.loads(ok(suite.ctl("--json", *args, **kw)).stdout)


def entity(suite, acronym):
    return suite.stub("membership").CreateEntity(M.CreateEntityRequest(entity=M.Entity(
        acronym=acronym, name=acronym + " (test)", kind=M.ENTITY_KIND_UN_ENTITY,
        joined_on="2018-02-23"))).id


def group(suite, code):
    return suite.stub("workgroups", "compact.workgroups.v1.WorkingGroups").CreateWorkingGroup(
        W.CreateWorkingGroupRequest(group=W.WorkingGroup(
            code=code, title="Group " + code, pillars=[2]))).id


# ---- no server needed -----------------------------------------------------------

@pytest.mark.parametrize("args,usage_of", [
    (["committee", "composition", "--help"], "usage: compactctl committee composition"),
    (["committee", "decisions", "record", "--help"],
     "usage: compactctl committee decisions record"),
    (["committee", "envelope", "--help"], "usage: compactctl committee envelope set"),
])
def test_committee_help_goes_to_stdout_and_exits_0(args, usage_of):
    res = ok(harness.run([CTL] + args))
    assert usage_of in res.stdout and res.stderr == ""


def test_overall_help_lists_the_committee_commands():
    out = ok(harness.run([CTL, "--help"])).stdout
    for noun in ("composition", "representatives", "meetings", "decisions", "envelope",
                 "proposals"):
        assert "committee " + noun in out, noun


# ---- against the services -------------------------------------------------------

@pytest.mark.suite(services=SERVICES)
def test_composition_meeting_and_a_decision_carried_out_in_workgroups(suite):
    unoct, cted = entity(suite, "UNOCT"), entity(suite, "CTED")
    gid = group(suite, "GENDER")
    wg = suite.stub("workgroups", "compact.workgroups.v1.WorkingGroups")
    wg.SetLeadership(W.SetLeadershipRequest(group_id=gid, leadership=W.Leadership(
        chair_entity_id=cted, vice_chair_entity_ids=[unoct]), effective_on="2019-04-16"))

    seat = ok_json(suite, "committee", "representatives", "add", "--role", "chair",
                   "--entity", "UNOCT", "--from", "2018-02-23", "--person", "The chair",
                   "--title", "Under-Secretary-General for Counter-Terrorism")
    assert seat["entityId"] == unoct and seat["role"] == "SEAT_ROLE_CHAIR"
    fails(suite.ctl("committee", "representatives", "add", "--role", "chair", "--entity",
                    "UNOCT", "--from", "2018-02-23"))  # ALREADY_EXISTS

    # The composition on a date: the seat, and the group's chair from workgroups.
    comp = ok_json(suite, "committee", "composition", "--as-of", "2019-04-16")
    got = sorted((s["role"], s["entityId"], s.get("workingGroupId", "")) for s in comp["seats"])
    assert got == sorted([("SEAT_ROLE_CHAIR", unoct, ""),
                          ("SEAT_ROLE_WORKING_GROUP_CHAIR", cted, gid),
                          ("SEAT_ROLE_WORKING_GROUP_VICE_CHAIR", unoct, gid)])
    before = ok_json(suite, "committee", "composition", "--as-of", "2019-04-15")
    assert [s["role"] for s in before["seats"]] == ["SEAT_ROLE_CHAIR"]
    text = ok(suite.ctl("committee", "composition", "--as-of", "2019-04-16")).stdout
    assert "GENDER" in text and "CTED" in text and "The chair" in text

    m = ok_json(suite, "committee", "meetings", "create", "--date", "2019-04-16", "--status",
                "held", "--agenda", "Terms of reference", "--attendee", "UNOCT=The chair")
    assert m["status"] == "MEETING_STATUS_HELD"
    assert m["attendance"] == [{"entityId": unoct, "representative": "The chair"}]
    assert ok_json(suite, "committee", "meetings", "get", "2019-04-16")["id"] == m["id"]
    fails(suite.ctl("committee", "meetings", "create", "--date", "2019-04-16"))

    # A decision from flags, its text from standard input, carried out in
    # workgroups before --wait returns.
    d = ok_json(suite, "committee", "decisions", "record", "--meeting", "2019-04-16",
                "--type", "approve-terms-of-reference", "--title", "Terms approved",
                "--group", "GENDER", "--tor-file", "-", "--wait",
                input="The terms of reference of GENDER.")
    assert d["meetingId"] == m["id"] and d["decidedOn"] == "2019-04-16"
    assert [e["status"] for e in d["effects"]] == ["EFFECT_STATUS_APPLIED"]
    tor = wg.GetWorkingGroup(W.GetWorkingGroupRequest(id=gid)).terms_of_reference
    assert (tor.version, tor.approved_on, tor.text) == (
        1, "2019-04-16", "The terms of reference of GENDER.")
    assert tor.decision_ref == d["id"] + "/effects/1"
    shown = ok(suite.ctl("committee", "decisions", "get", d["id"])).stdout
    assert "applied" in shown and d["id"] + "/effects/1" in shown
    listed = ok_json(suite, "committee", "decisions", "list", "--meeting", "2019-04-16")
    assert [x["id"] for x in listed] == [d["id"]]
    fails(suite.ctl("committee", "decisions", "retry", d["id"]))  # none failed

    # A decision from a file, with its facts: each kept, printed as a fact
    # line; a fact that names no field of a decision is refused.
    facts = [{"field": "meeting_id", "status": "FACT_STATUS_ASSUMED",
              "note": "A test: that it was taken at this meeting is assumed."}]
    other = {"meetingId": "2019-04-16", "type": "DECISION_TYPE_OTHER",
             "title": "Something else", "provenance": facts}
    got = ok_json(suite, "committee", "decisions", "record", "--file", "-",
                  input=json.dumps(other))
    assert got["provenance"] == facts and not got.get("effects")
    shown = ok(suite.ctl("committee", "decisions", "get", got["id"])).stdout
    assert re.search(r"^fact: +meeting_id: assumed: A test: ", shown, re.M), shown
    other["provenance"] = [dict(facts[0], field="meeting")]
    res = fails(suite.ctl("committee", "decisions", "record", "--file", "-",
                          input=json.dumps(other)))
    assert res.stderr.startswith("compactctl: INVALID_ARGUMENT: decision.provenance[0].field"), \
        res.stderr


@pytest.mark.suite(services=SERVICES)
def test_envelope_proposal_allocation_and_beyond_the_envelope(suite):
    unoct = entity(suite, "UNOCT")
    gid = group(suite, "RMME")
    prj = suite.stub("projects").CreateProject(P.CreateProjectRequest(project=P.Project(
        iati_identifier="XM-TEST-CLI1", reporting_org_ref="XM-TEST",
        title="Catalytic test project",
        participants=[P.Participant(entity_id=unoct, role=P.ORGANISATION_ROLE_ACCOUNTABLE)],
        working_group_ids=[gid], recipient_countries=["KE"], pillars=[P.STRATEGY_PILLAR_II],
        start_date="2024-01-01", end_date="2025-12-31",
        status=P.ACTIVITY_STATUS_IMPLEMENTATION))).project
    ok(suite.ctl("committee", "meetings", "create", "--date", "2024-01-24", "--status", "held"))
    env = ok_json(suite, "committee", "envelope", "set", "2024", "--amount", "1000000",
                  "--currency", "USD")
    assert env["year"] == 2024

    def propose(amount):
        return ok_json(suite, "committee", "proposals", "propose", "--group", "RMME",
                       "--project", "XM-TEST-CLI1", "--year", "2024", "--amount", amount,
                       "--currency", "USD", "--justification", "Seed money")

    first, second = propose("600000"), propose("500000")
    assert first["status"] == "PROPOSAL_STATUS_PROPOSED" and first["projectId"] == prj.id
    d = ok_json(suite, "committee", "decisions", "record", "--meeting", "2024-01-24",
                "--type", "allocate-catalytic-funding", "--title", "First allocation",
                "--proposal", first["id"], "--wait")
    assert [e["status"] for e in d["effects"]] == ["EFFECT_STATUS_APPLIED"]
    txs = suite.stub("projects").GetProject(P.GetProjectRequest(id=prj.id)).transactions
    assert [(t.provider_entity_id, t.decision_ref) for t in txs] == [
        (unoct, d["id"] + "/effects/1")]
    left = ok_json(suite, "committee", "envelope", "get", "2024")
    assert (left["allocated"]["currency"], int(left["allocated"]["amountMinor"]),
            int(left["remaining"]["amountMinor"])) == ("USD", 60000000, 40000000)

    # 600,000 allocated of 1,000,000: another 500,000 is beyond the envelope.
    res = fails(suite.ctl("committee", "decisions", "record", "--meeting", "2024-01-24",
                          "--type", "allocate-catalytic-funding", "--title", "Too much",
                          "--proposal", second["id"], "--wait"))
    assert "FAILED_PRECONDITION" in res.stderr, res.stderr
    assert len(suite.stub("projects").GetProject(P.GetProjectRequest(id=prj.id))
               .transactions) == 1
    rows = ok(suite.ctl("committee", "envelope", "list")).stdout
    assert "2024" in rows and "400000" in rows.replace(",", ""), rows
    ok(suite.ctl("committee", "proposals", "withdraw", second["id"]))
    assert ok_json(suite, "committee", "proposals", "get", second["id"])["status"] == \
        "PROPOSAL_STATUS_WITHDRAWN"
    # Listed one page at a time (--page-size 1 --all): both, in every status.
    listed = ok_json(suite, "committee", "proposals", "list", "--page-size", "1", "--all")
    assert sorted((p["id"], p["status"]) for p in listed) == sorted([
        (first["id"], "PROPOSAL_STATUS_APPROVED"), (second["id"], "PROPOSAL_STATUS_WITHDRAWN")])


@pytest.mark.suite(services=SERVICES)
def test_committee_commands_carry_the_token_and_the_rules_apply(suite):
    entity(suite, "UNOCT")
    # No token at all: the gate refuses before any rule.
    res = fails(suite.ctl("committee", "meetings", "list", env={"COMPACT_TOKEN": ""}))
    assert res.stderr.startswith("compactctl: UNAUTHENTICATED"), res.stderr
    # A viewer reads (--token over COMPACT_TOKEN) but records nothing.
    viewer = suite.token("viewer")
    ok(suite.ctl("--token", viewer, "committee", "meetings", "list",
                 env={"COMPACT_TOKEN": ""}))
    res = fails(suite.ctl("--token", viewer, "committee", "meetings", "create", "--date",
                          "2019-04-16"))
    assert res.stderr.startswith("compactctl: PERMISSION_DENIED"), res.stderr
    # The Committee records meetings, but the standing seats are the
    # secretariat's, and confirming a fact is the secretariat's alone.
    committee = suite.token("committee")
    ok(suite.ctl("--token", committee, "committee", "meetings", "create", "--date",
                 "2019-04-16"))
    res = fails(suite.ctl("--token", committee, "committee", "representatives", "add",
                          "--role", "secretariat", "--entity", "UNOCT", "--from", "2018-02-23"))
    assert res.stderr.startswith("compactctl: PERMISSION_DENIED"), res.stderr
    confirmed = {"date": "2021-12-14", "provenance": [{
        "field": "date", "status": "FACT_STATUS_CONFIRMED",
        "source": {"publisher": "UNOCT", "title": "The 7th Meeting", "date": "2021-12-14",
                   "url": "https://www.un.org/counterterrorism/node/19080"}}]}
    res = fails(suite.ctl("--token", committee, "committee", "meetings", "create",
                          "--from-json", "-", input=json.dumps(confirmed)))
    assert res.stderr.startswith("compactctl: PERMISSION_DENIED"), res.stderr
    got = ok_json(suite, "committee", "meetings", "create", "--from-json", "-",
                  input=json.dumps(confirmed))
    assert got["provenance"][0]["status"] == "FACT_STATUS_CONFIRMED"
    assert [m["date"] for m in ok_json(suite, "committee", "meetings", "list")] == [
        "2019-04-16", "2021-12-14"]
