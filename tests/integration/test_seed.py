"""`compactctl seed` across services: membership, then workgroups, then
projects, then analytics' exchange rates, with "@entity:", "@group:" and
"@project:" references resolved to the ids the services assigned.

The seed's facts (issue 12): every fact marked confirmed or assumed on its
own, every confirmed one citing a public source (publisher, title, date,
address), nothing pointing at material outside the project, and the
membership's history giving, on each day the Compact published its size, the
counts the seed states (and never more than was published).

The real seed files (seed/*/...) are loaded into the real binaries, as
scripts/run.sh does it (COMPACT_SEED_DIR and COMPACT_<SERVICE>_ADDR, no
--addr), and what the CLI claims is checked through each service's own gRPC
API: every group's leaders and members are the entities the seed names,
every project's partners, groups and funding totals are those of its seed
entries. A second run must send no write: the event streams, the etags and
the funding totals stay as they were. Small seed directories written by the
tests cover unresolvable references, a failed Create*, the skip rule of an
existing aggregate, an unreachable service and the flags.
"""
import json
import os
import re

import pytest
from google.protobuf import json_format

import harness
from harness import M, poll

P = harness.pb("compact/projects/v1/projects.proto")
W = harness.pb("compact/workgroups/v1/workgroups.proto")
A = harness.pb("compact/analytics/v1/analytics.proto")
SERVICES = ("membership", "workgroups", "projects", "analytics")
# analytics' dashboard off: parallel runs never meet on its port 8054.
NO_HTTP = {"analytics": {"COMPACT_HTTP_LISTEN": ""}}
SEED_DIR = os.path.join(harness.SOURCE_DIR, "seed")
FILES = {"membership": "membership/entities.json",
         "workgroups": "workgroups/groups.json",
         "projects": "projects/projects.json",
         "analytics": "analytics/rates.json"}
SEED_TIMEOUT = 120 * harness.SLOW   # bound against a hang; 80-odd calls


# ---- helpers ------------------------------------------------------------------

def ok(res):
    assert res.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        res.returncode, res.stdout, res.stderr)
    return res


def fails(res, code=1):
    assert res.returncode == code, "expected exit %d, got %d\nstdout:\n%s\nstderr:\n%s" % (
        code, res.returncode, res.stdout, res.stderr)
    return res


def seed(suite, *args, seed_dir=SEED_DIR, env=None):
    e = {"COMPACT_SEED_DIR": seed_dir}
    e.update(env or {})
    return suite.ctl("seed", *args, env=e, timeout=SEED_TIMEOUT)


def summary(**counts):
    """The expected stdout: one line per service, in seeding order."""
    return "".join("%s: created %d, already present %d, failed %d\n" % ((s,) + counts[s])
                   for s in SERVICES if s in counts)


def load(service, seed_dir=SEED_DIR):
    with open(os.path.join(seed_dir, FILES[service])) as f:
        return json.load(f)


def write_seed(root, **files):
    """A seed directory with the given files (service name -> entries)."""
    for service, entries in files.items():
        path = os.path.join(str(root), FILES[service])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(entries, f)
    return str(root)


def ref(s, kind):
    m = re.match(r"^@%s:(.+)$" % kind, s)
    assert m, "%r is not an @%s: reference" % (s, kind)
    return m.group(1)


def entity_item(acronym):
    return {"entity": {"acronym": acronym, "name": "Office of " + acronym,
                       "kind": "ENTITY_KIND_UN_ENTITY", "joinedOn": "2018-02-23"}}


def group_entry(code, pillars=("STRATEGY_PILLAR_II",)):
    return {"method": "CreateWorkingGroup",
            "request": {"group": {"code": code, "title": "Group " + code,
                                  "pillars": list(pillars)}}}


def entry(method, **request):
    return {"method": method, "request": request}


def list_all(method, request, field):
    out, token = [], ""
    while True:
        request.page_token = token
        rep = method(request)
        out.extend(getattr(rep, field))
        token = rep.next_page_token
        if not token:
            return out


def groups_by_code(suite):
    ws = suite.stub("workgroups")
    return {g.code: g for g in list_all(ws.ListWorkingGroups,
                                        W.ListWorkingGroupsRequest(page_size=50), "groups")}


def projects_by_iati(suite):
    ps = suite.stub("projects")
    return {p.iati_identifier: p for p in list_all(ps.ListProjects,
                                                   P.ListProjectsRequest(page_size=50),
                                                   "projects")}


class Acronyms:
    """entity id -> acronym through GetEntity, cached."""

    def __init__(self, suite):
        self.stub = suite.stub("membership")
        self.cache = {}

    def __call__(self, eid):
        if eid not in self.cache:
            self.cache[eid] = self.stub.GetEntity(M.GetEntityRequest(id=eid)).acronym
        return self.cache[eid]


# ---- what the real seed files say ------------------------------------------------

def expected_groups():
    """code -> {"chair", "vice", "members": {acronym: role}, "approved_on"}."""
    out, code = {}, None
    for e in load("workgroups"):
        r = e["request"]
        if e["method"] == "CreateWorkingGroup":
            code = r["group"]["code"]
            out[code] = {"chair": None, "vice": [], "members": {}, "approved_on": None}
            continue
        g = out[ref(r["groupId"], "group")]
        if e["method"] == "SetLeadership":
            g["chair"] = ref(r["leadership"]["chairEntityId"], "entity")
            g["vice"] = [ref(v, "entity") for v in r["leadership"].get("viceChairEntityIds", [])]
        elif e["method"] == "AddMember":
            g["members"][ref(r["entityId"], "entity")] = W.MemberRole.Value(r["role"])
        elif e["method"] == "ApproveTermsOfReference":
            g["approved_on"] = r["termsOfReference"]["approvedOn"]
    return out


TOTAL_OF_TYPE = {"TRANSACTION_TYPE_INCOMING_PLEDGE": "pledged_minor",
                 "TRANSACTION_TYPE_INCOMING_COMMITMENT": "committed_minor",
                 "TRANSACTION_TYPE_INCOMING_FUNDS": "received_minor",
                 "TRANSACTION_TYPE_DISBURSEMENT": "disbursed_minor",
                 "TRANSACTION_TYPE_EXPENDITURE": "spent_minor"}


def expected_projects():
    """iati -> {"groups", "participants": {(acronym, role)}, "transactions": n,
    "totals": {currency: {field: minor}}}, computed from the seed entries
    with the rules of FundingTotals in projects.proto."""
    out = {}
    for e in load("projects"):
        r = e["request"]
        if e["method"] == "CreateProject":
            p = r["project"]
            out[p["iatiIdentifier"]] = {
                "groups": sorted(ref(g, "group") for g in p["workingGroupIds"]),
                "participants": {(ref(x["entityId"], "entity"),
                                  P.OrganisationRole.Value(x["role"]))
                                 for x in p["participants"]},
                "transactions": 0, "totals": {}}
            continue
        assert e["method"] == "RecordTransaction", e["method"]
        p = out[ref(r["projectId"], "project")]
        t = r["transaction"]
        p["transactions"] += 1
        cur = p["totals"].setdefault(t["value"]["currency"], {})
        amount = int(t["value"]["amountMinor"])
        field = TOTAL_OF_TYPE.get(t["type"])
        if field:
            cur[field] = cur.get(field, 0) + amount
        if t["type"] == "TRANSACTION_TYPE_INCOMING_COMMITMENT" and t.get("catalytic"):
            cur["catalytic_minor"] = cur.get("catalytic_minor", 0) + amount
    return out


def totals_of(project):
    out = {}
    for t in project.totals:
        out[t.currency] = {f: getattr(t, f) for f in (
            "pledged_minor", "committed_minor", "received_minor", "disbursed_minor",
            "spent_minor", "catalytic_minor") if getattr(t, f)}
    return out


# ---- the real seed ------------------------------------------------------------------

@pytest.mark.suite(services=SERVICES, env=NO_HTTP)
def test_seed_loads_every_service_with_references_resolved(suite):
    counts = {s: (len(load(s)), 0, 0) for s in SERVICES}
    res = ok(seed(suite))
    assert res.stdout == summary(**counts)
    acronym = Acronyms(suite)

    entities = list_all(suite.stub("membership").ListEntities,
                        M.ListEntitiesRequest(page_size=100), "entities")
    assert sorted(e.acronym for e in entities) == sorted(
        i["entity"]["acronym"] for i in load("membership"))

    want = expected_groups()
    groups = groups_by_code(suite)
    assert len(groups) == 8 and sorted(groups) == sorted(want)
    for code, g in groups.items():
        w = want[code]
        assert g.leadership.chair_entity_id.startswith("ent_"), code
        assert acronym(g.leadership.chair_entity_id) == w["chair"], code
        assert [acronym(v) for v in g.leadership.vice_chair_entity_ids] == w["vice"], code
        assert {acronym(m.entity_id): m.role for m in g.members} == w["members"], code
        assert g.terms_of_reference.version == 1, code
        assert g.terms_of_reference.approved_on == w["approved_on"], code

    want = expected_projects()
    projects = projects_by_iati(suite)
    assert sorted(projects) == sorted(want)
    code_of = {g.id: code for code, g in groups.items()}
    for iati, p in projects.items():
        w = want[iati]
        assert sorted(code_of[g] for g in p.working_group_ids) == w["groups"], iati
        assert {(acronym(x.entity_id), x.role) for x in p.participants} == w["participants"]
        assert len(p.transactions) == w["transactions"], iati
        assert totals_of(p) == w["totals"], iati
    # The catalytic commitment names its provider by reference too.
    provided = [t for p in projects.values() for t in p.transactions if t.provider_entity_id]
    assert provided and all(acronym(t.provider_entity_id) for t in provided)


def snapshot(suite):
    ms = suite.stub("membership")
    return {
        "entities": sorted((e.id, e.etag) for e in list_all(
            ms.ListEntities, M.ListEntitiesRequest(page_size=100), "entities")),
        "groups": {c: (g.id, g.etag) for c, g in groups_by_code(suite).items()},
        "projects": {i: (p.id, p.etag, len(p.transactions), totals_of(p))
                     for i, p in projects_by_iati(suite).items()},
    }


def sentinel_writes(suite, groups, projects):
    """One write per service, after which every event of earlier writes is
    in its stream (the outbox relays in order). Returns {service: id}."""
    ent = suite.stub("membership").CreateEntity(
        M.CreateEntityRequest(entity=harness.entity("SENTINEL")))
    grp = suite.stub("workgroups").CreateWorkingGroup(W.CreateWorkingGroupRequest(
        group=W.WorkingGroup(code="SENTINEL", title="Sentinel",
                             pillars=[W.STRATEGY_PILLAR_I])))
    any_group = next(iter(groups.values()))[0]
    prj = suite.stub("projects").CreateProject(P.CreateProjectRequest(project=P.Project(
        iati_identifier="XM-COMPACT-SENTINEL", reporting_org_ref="XM-COMPACT",
        title="Sentinel", working_group_ids=[any_group],
        participants=[P.Participant(entity_id=ent.id, role=P.ORGANISATION_ROLE_IMPLEMENTING)],
        global_scope=True, pillars=[P.STRATEGY_PILLAR_I], start_date="2026-01-01",
        status=P.ACTIVITY_STATUS_PIPELINE))).project
    suite.stub("analytics").PutExchangeRate(A.PutExchangeRateRequest(rate=A.ExchangeRate(
        currency="NZD", valid_from="2026-01-01", usd_micros=600000)))
    return {"membership": ent.id, "workgroups": grp.id, "projects": prj.id,
            "analytics": "NZD:2026-01-01"}


@pytest.mark.suite(services=SERVICES, env=NO_HTTP)
def test_second_run_creates_nothing_and_changes_nothing(suite):
    ok(seed(suite))
    first = {s: len(load(s)) for s in SERVICES}
    # One event per write: every entry of the first run wrote once.
    streams = {s: len(harness.wait_events(suite, first[s], s)) for s in SERVICES}
    assert streams == first
    before = snapshot(suite)

    res = ok(seed(suite))
    assert res.stdout == summary(**{s: (0, first[s], 0) for s in SERVICES})
    assert res.stderr == ""
    assert snapshot(suite) == before

    ids = sentinel_writes(suite, before["groups"], before["projects"])
    for s in SERVICES:
        entries = harness.wait_events(suite, streams[s] + 1, s)
        assert len(entries) == streams[s] + 1, s
        assert harness.decode_event(entries[-1][1]).aggregate_id == ids[s], s


# ---- small seed directories -------------------------------------------------------------

TWO = ("membership", "workgroups")


@pytest.mark.suite(services=TWO)
def test_unresolvable_references_and_failed_creates(suite, tmp_path):
    entities = [entity_item("SEEDA"), entity_item("SEEDB"),
                entry("CreateEntity", entity=entity_item("SEEDC")["entity"])]
    groups = [
        group_entry("GONE"),
        entry("SetLeadership", groupId="@group:GONE",
              leadership={"chairEntityId": "@entity:SEEDA",
                          "viceChairEntityIds": ["@entity:NOSUCH"]}),
        entry("AddMember", groupId="@group:GONE", entityId="@entity:SEEDB",
              role="MEMBER_ROLE_MEMBER"),
        entry("AddMember", groupId="@group:NOGROUP", entityId="@entity:SEEDA",
              role="MEMBER_ROLE_MEMBER"),
        group_entry("GTWO", pillars=["STRATEGY_PILLAR_IX"]),
        entry("AddMember", groupId="@group:GTWO", entityId="@entity:SEEDA",
              role="MEMBER_ROLE_MEMBER"),
        group_entry("GTHREE"),
        entry("SetLeadership", groupId="@group:GTHREE",
              leadership={"chairEntityId": "@entity:SEEDA",
                          "viceChairEntityIds": ["@entity:SEEDB"]}),
        entry("RenameEverything", groupId="@group:GTHREE"),
    ]
    d = write_seed(tmp_path, membership=entities, workgroups=groups)
    res = fails(seed(suite, seed_dir=d))
    assert res.stdout == summary(membership=(3, 0, 0), workgroups=(4, 0, 5))
    err = res.stderr
    assert ('groups.json[1] SetLeadership GONE: unresolvable reference "@entity:NOSUCH": '
            'no entity with acronym "NOSUCH" in membership') in err, err
    assert ('groups.json[3] AddMember GONE: unresolvable reference "@group:NOGROUP": '
            'no working group with code "NOGROUP" in workgroups') in err, err
    assert "groups.json[4] CreateWorkingGroup GTWO: " in err and "STRATEGY_PILLAR_IX" in err
    assert "groups.json[5] AddMember GTWO: not sent: its CreateWorkingGroup failed" in err
    assert "groups.json[8] RenameEverything GTHREE: " in err and "no method" in err
    assert "projects/projects.json" in err and "projects skipped" in err

    acronym = Acronyms(suite)
    got = groups_by_code(suite)
    assert sorted(got) == ["GONE", "GTHREE"]
    assert got["GONE"].leadership.chair_entity_id == ""     # nothing half-applied
    assert [acronym(m.entity_id) for m in got["GONE"].members] == ["SEEDB"]
    assert acronym(got["GTHREE"].leadership.chair_entity_id) == "SEEDA"
    assert [acronym(v) for v in got["GTHREE"].leadership.vice_chair_entity_ids] == ["SEEDB"]

    # Again, with one more entry in GONE's aggregate: GONE exists, so the
    # entries after its Create* are already present and are not sent, the new
    # one included; GTWO still fails.
    groups.insert(3, entry("AddMember", groupId="@group:GONE", entityId="@entity:SEEDC",
                           role="MEMBER_ROLE_OBSERVER"))
    d = write_seed(tmp_path, membership=entities, workgroups=groups)
    res = fails(seed(suite, seed_dir=d))
    assert res.stdout == summary(membership=(0, 3, 0), workgroups=(0, 8, 2))
    assert "NOSUCH" not in res.stderr and "NOGROUP" not in res.stderr
    after = groups_by_code(suite)
    assert [acronym(m.entity_id) for m in after["GONE"].members] == ["SEEDB"]
    assert {c: g.etag for c, g in after.items()} == {c: g.etag for c, g in got.items()}


@pytest.mark.suite(services=("membership",))
def test_unreachable_service_reported_once_and_json(suite, tmp_path):
    groups = [group_entry("GONE"),
              entry("SetLeadership", groupId="@group:GONE",
                    leadership={"chairEntityId": "@entity:SEEDA"}),
              group_entry("GTWO")]
    d = write_seed(tmp_path, membership=[entity_item("SEEDA")], workgroups=groups)
    closed = "127.0.0.1:%d" % harness.free_port()
    res = fails(seed(suite, "--json", seed_dir=d, env={"COMPACT_WORKGROUPS_ADDR": closed}))
    assert json.loads(res.stdout) == {
        "membership": {"created": 1, "alreadyPresent": 0, "failed": 0},
        "workgroups": {"created": 0, "alreadyPresent": 0, "failed": 3}}
    lines = [l for l in res.stderr.splitlines()
             if not l.endswith(("projects skipped", "analytics skipped"))]
    assert len(lines) == 1 and lines[0].startswith(
        "compactctl: UNAVAILABLE: cannot reach workgroups at " + closed), res.stderr
    assert [e.acronym for e in suite.stub("membership").ListEntities(
        M.ListEntitiesRequest()).entities] == ["SEEDA"]


@pytest.mark.suite(services=TWO)
def test_service_flag_and_seed_dir_rules(suite, tmp_path):
    d = write_seed(tmp_path / "a", membership=[entity_item("SEEDA")],
                   workgroups=[group_entry("GONE"),
                               entry("SetLeadership", groupId="@group:GONE",
                                     leadership={"chairEntityId": "@entity:SEEDA"})])
    # Only workgroups: the reference to an entity not loaded yet fails.
    res = fails(seed(suite, "--service", "workgroups", seed_dir=d))
    assert res.stdout == summary(workgroups=(1, 0, 1))
    assert 'unresolvable reference "@entity:SEEDA"' in res.stderr
    res = ok(seed(suite, "--service", "membership", seed_dir=d))
    assert res.stdout == summary(membership=(1, 0, 0))

    # --file names one file of --service; its references resolve as usual,
    # but GONE exists now, so its leadership is not sent again.
    res = ok(suite.ctl("seed", "--service", "workgroups", "--file",
                       os.path.join(d, FILES["workgroups"])))
    assert res.stdout == summary(workgroups=(0, 2, 0))
    assert groups_by_code(suite)["GONE"].leadership.chair_entity_id == ""

    # A broken file stops the run before any call.
    e = write_seed(tmp_path / "b", membership=[entity_item("SEEDB")])
    os.makedirs(os.path.join(e, "workgroups"))
    with open(os.path.join(e, FILES["workgroups"]), "w") as f:
        f.write('{"method": "CreateWorkingGroup"}')
    res = fails(seed(suite, seed_dir=e))
    assert res.stdout == ""
    assert "groups.json: expected a JSON array" in res.stderr
    assert [x.acronym for x in suite.stub("membership").ListEntities(
        M.ListEntitiesRequest()).entities] == ["SEEDA"]

    # COMPACT_SEED_DIR without any seed file is an error, not a fallback.
    res = fails(seed(suite, seed_dir=str(tmp_path / "empty")))
    assert "COMPACT_SEED_DIR" in res.stderr and res.stdout == ""
    res = fails(seed(suite, "--service", "nowhere"), 2)
    assert "--service" in res.stderr and "usage: compactctl seed" in res.stderr


# ---- facts, sources and the history of membership (issue 12) ----------------------------------

PV = harness.pb("compact/common/v1/provenance.proto")
# The Compact's published size on a day, and its UN entities where the source
# splits them: 38 signatories (36 UN) in February 2018, 43 (40 UN) in October
# 2021, 45 (41 UN) in April 2022, 46 in March 2024. The register holds fewer:
# it names only the entities a source (or a stated assumption) gives it.
PUBLISHED = {"2018-02-23": (38, 36), "2021-10-31": (43, 40), "2022-04-30": (45, 41),
             "2024-03-31": (46, None)}
DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def provenance_lists(node, where=""):
    """(where, provenance list) for every "provenance" array in a seed tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "provenance":
                yield where, v
            else:
                yield from provenance_lists(v, where + "." + k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from provenance_lists(v, "%s[%d]" % (where, i))


def status_of(facts, field):
    return next((f["status"] for f in facts if f["field"] == field), None)


def seed_entities():
    return [i["entity"] for i in load("membership")]


def seed_counts(day):
    """What the membership seed states for CountEntities on `day`."""
    out = {"total": 0, "members": 0, "observers": 0, "unSystem": 0, "nonUn": 0,
           "confirmed": 0}
    for e in seed_entities():
        for p in e.get("participation", []):
            if p["fromDate"] <= day and (not p.get("toDate") or day < p["toDate"]):
                out["total"] += 1
                out["members" if p["role"] == "PARTICIPATION_ROLE_MEMBER" else "observers"] += 1
                if e["affiliation"] == "AFFILIATION_UN_SYSTEM":
                    out["unSystem"] += 1
                elif e["affiliation"] == "AFFILIATION_NON_UN":
                    out["nonUn"] += 1
                facts = p.get("provenance", [])
                out["confirmed"] += all(
                    status_of(facts, f) == "FACT_STATUS_CONFIRMED"
                    for f in ("role", "from_date") + (("to_date",) if p.get("toDate") else ()))
    return out


def test_every_seed_fact_is_marked_and_confirmed_ones_cite_a_public_source():
    n = 0
    for service in SERVICES:
        tree = load(service)
        for where, facts in provenance_lists(tree):
            fields = [f["field"] for f in facts]
            assert len(fields) == len(set(fields)), (service, where, fields)
            for f in facts:
                n += 1
                what = "%s%s %s" % (service, where, f["field"])
                assert f["status"] in ("FACT_STATUS_CONFIRMED", "FACT_STATUS_ASSUMED"), what
                src = f.get("source")
                if f["status"] == "FACT_STATUS_CONFIRMED":
                    assert src and src["publisher"] and src["title"], what
                    assert DATE_RE.match(src["date"]), what
                    assert re.match(r"^https?://[^/\s]+", src["url"]), what
                else:
                    assert f["note"].strip(), what
        # Nothing points at material outside the project, nor keeps the old
        # V/U markers of a notes file, nor claims a whole record verified.
        # (An exchange rate is one fact, its figure: its own verified flag
        # and source note are that fact's marks; they are checked below.)
        text = json.dumps(tree)
        whole_record = ("sourceNote", "\"verified\"") if service != "analytics" else ()
        for needle in ("facts sheet", "facts file", "(V)", "(U)", "(V,") + whole_record:
            assert needle not in text, (service, needle)
        for item in tree if service == "analytics" else ():
            rate = item["request"]["rate"]
            assert "verified" in rate and rate["sourceNote"].strip(), rate
            if not rate["verified"]:
                assert rate["sourceNote"].startswith("illustrative"), rate
        # No pointer at a file a user cannot open (notes kept beside the project).
        assert not re.search(r"[\w/.-]+\.md\b", text), service
    assert n > 300

    for e in seed_entities():
        assert status_of(e["provenance"], "participation"), e["acronym"]
        assert status_of(e["provenance"], "affiliation"), e["acronym"]
        assert e["participation"], e["acronym"]
        for p in e["participation"]:
            assert status_of(p["provenance"], "role") and status_of(p["provenance"], "from_date")
    for entry in load("workgroups"):
        if entry["method"] != "CreateWorkingGroup":
            continue
        g = entry["request"]["group"]
        facts = g["provenance"]
        # Name and terms-of-reference date confirmed; codes, leadership and
        # pillars are not (the April 2019 announcement has no codes).
        assert status_of(facts, "title") == "FACT_STATUS_CONFIRMED", g["code"]
        assert status_of(facts, "terms_of_reference.approved_on") == "FACT_STATUS_CONFIRMED"
        for field in ("code", "leadership", "pillars"):
            assert status_of(facts, field) == "FACT_STATUS_ASSUMED", (g["code"], field)
    for entry in load("projects"):
        r = entry["request"]
        if entry["method"] == "CreateProject":
            p = r["project"]
            for field in ("title", "participants", "working_group_ids", "start_date", "status"):
                assert status_of(p["provenance"], field), (p["iatiIdentifier"], field)
            if "budget" in p:
                assert status_of(p["provenance"], "budget") == "FACT_STATUS_ASSUMED"
            # Never date a Working Group's project before the groups existed.
            assert p["startDate"] >= "2019-04-16", p["iatiIdentifier"]
        else:
            t = r["transaction"]
            # The figures are illustrative: no amount or date is claimed.
            assert status_of(t["provenance"], "value") == "FACT_STATUS_ASSUMED"
            assert status_of(t["provenance"], "date") == "FACT_STATUS_ASSUMED"
            assert "providerName" not in t    # donors are organisations or entities
            if "providerOrg" in t:
                assert t["providerOrg"]["name"]
                assert re.match(r"^[A-Z]{2}-[A-Za-z0-9_.:-]+$", t["providerOrg"].get("ref", "XX-1"))
    by_iati = {e["request"]["project"]["iatiIdentifier"]: e["request"]["project"]
               for e in load("projects") if e["method"] == "CreateProject"}
    victims = by_iati["XM-COMPACT-VICTIMS-MODEL-PROVISIONS"]
    assert (victims["startDate"][:7], victims["endDate"]) == ("2020-07", "2022-02-04")
    cip = by_iati["XM-COMPACT-CIP-COMPENDIUM"]
    assert cip["startDate"][:4] == "2022" and "2018" in cip["summary"]


def test_seed_counts_stay_within_the_published_totals():
    for day, (total, un) in PUBLISHED.items():
        c = seed_counts(day)
        assert 0 < c["total"] <= total, (day, c)
        assert un is None or c["unSystem"] <= un, (day, c)
    # The four signatories the sources name, members from the signature.
    assert seed_counts("2018-02-23")["confirmed"] == 4
    assert seed_counts("2018-02-22")["total"] == 0
    # The IPU joins in 2021, the FATF (an observer) in 2022.
    assert seed_counts("2021-10-31")["nonUn"] == seed_counts("2018-02-23")["nonUn"] + 1
    assert seed_counts("2022-04-30")["observers"] == 1


@pytest.mark.suite(services=SERVICES, env=NO_HTTP)
def test_seed_states_its_facts_and_member_counts_through_the_services(suite):
    ok(seed(suite))
    ms = suite.stub("membership")
    for item in seed_entities():
        want = json_format.ParseDict(item, M.Entity())
        got = ms.GetEntity(M.GetEntityRequest(acronym=want.acronym))
        assert list(got.provenance) == list(want.provenance), want.acronym
        assert list(got.participation) == list(want.participation), want.acronym
        assert got.affiliation == want.affiliation, want.acronym
    for day in list(PUBLISHED) + ["2018-02-22", "2020-01-01"]:
        r = ms.CountEntities(M.CountEntitiesRequest(as_of_date=day))
        assert json_format.MessageToDict(r, including_default_value_fields=True) == dict(
            seed_counts(day), asOfDate=day), day
    res = ok(suite.ctl("--json", "entities", "count", "--as-of", "2018-02-23"))
    assert json.loads(res.stdout)["confirmed"] == 4

    groups = groups_by_code(suite)
    for entry in load("workgroups"):
        if entry["method"] == "CreateWorkingGroup":
            want = json_format.ParseDict(entry["request"]["group"], W.WorkingGroup())
            assert list(groups[want.code].provenance) == list(want.provenance), want.code
    projects = projects_by_iati(suite)
    tx_facts = {}
    for entry in load("projects"):
        r = entry["request"]
        if entry["method"] == "CreateProject":
            want = json_format.ParseDict(r["project"], P.Project())
            assert list(projects[want.iati_identifier].provenance) == list(want.provenance)
        else:
            t = json_format.ParseDict(r["transaction"], P.Transaction())
            tx_facts.setdefault(ref(r["projectId"], "project"), []).append(
                (t.date, t.value.amount_minor, t.provider_org.SerializeToString(),
                 [f.SerializeToString() for f in t.provenance]))
    for iati, want in tx_facts.items():
        got = [(t.date, t.value.amount_minor, t.provider_org.SerializeToString(),
                [f.SerializeToString() for f in t.provenance])
               for t in projects[iati].transactions]
        assert sorted(got) == sorted(want), iati
