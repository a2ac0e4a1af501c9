"""Funding participants outside the Compact and per-fact provenance of
groups, projects and transactions (issue 12), through the real binaries: the
provider of a transaction named with an IATI organisation identifier, its
checks, its place in analytics' donor breakdown and overview; the provenance
rules on every record; and the upgrade of projects and workgroups databases
made by the previous release.
"""
import os
import sqlite3

import grpc
import pytest
from google.protobuf import json_format

import harness
from harness import M, code_of, poll

P = harness.pb("compact/projects/v1/projects.proto")
W = harness.pb("compact/workgroups/v1/workgroups.proto")
AN = harness.pb("compact/analytics/v1/analytics.proto")
PV = harness.pb("compact/common/v1/provenance.proto")
C = grpc.StatusCode
THREE = ("membership", "workgroups", "projects")
SOURCE = PV.Source(publisher="United Nations Development Programme (UNDP), Asia and the Pacific",
                   title="New partnership forged between EU, UNDP and UNOCT to prevent violent "
                         "extremism in Southeast Asia", date="2020-08-13",
                   url="https://www.undp.org/asia-pacific/press-releases/new-partnership")
EU = P.Organisation(ref="XI-IATI-EC_FPI", name="European Union (FPI)",
                    type=P.ORGANISATION_TYPE_MULTILATERAL)
NL = P.Organisation(ref="XM-DAC-7", name="Kingdom of the Netherlands",
                    type=P.ORGANISATION_TYPE_GOVERNMENT)


def confirmed(field, note=""):
    return PV.Provenance(field=field, status=PV.FACT_STATUS_CONFIRMED, source=SOURCE, note=note)


def assumed(field, note="illustrative"):
    return PV.Provenance(field=field, status=PV.FACT_STATUS_ASSUMED, note=note)


def world(suite):
    mb = suite.stub("membership")
    a = harness.create(mb, "UNDP")
    b = mb.CreateEntity(M.CreateEntityRequest(entity=M.Entity(
        acronym="FATF", name="Financial Action Task Force", affiliation=M.AFFILIATION_NON_UN,
        participation=[M.Participation(role=M.PARTICIPATION_ROLE_OBSERVER,
                                       from_date="2022-04-01")])))
    c = mb.CreateEntity(M.CreateEntityRequest(entity=M.Entity(
        acronym="GONE", name="Gone", affiliation=M.AFFILIATION_NON_UN,
        participation=[M.Participation(role=M.PARTICIPATION_ROLE_MEMBER,
                                       from_date="2018-02-23", to_date="2020-01-01")])))
    g = suite.stub("workgroups").CreateWorkingGroup(W.CreateWorkingGroupRequest(
        group=W.WorkingGroup(code="PCVE", title="Preventing violent extremism",
                             pillars=[W.STRATEGY_PILLAR_I])))
    return {"UNDP": a.id, "FATF": b.id, "GONE": c.id, "group": g.id}


def new_project(w, iati="XM-COMPACT-PVE", **kw):
    return P.Project(iati_identifier=iati, reporting_org_ref="XM-COMPACT", title="PVE in SEA",
                     participants=[P.Participant(entity_id=w["UNDP"],
                                                 role=P.ORGANISATION_ROLE_IMPLEMENTING)],
                     working_group_ids=[w["group"]], global_scope=True,
                     pillars=[P.STRATEGY_PILLAR_I], start_date="2020-08-13",
                     status=P.ACTIVITY_STATUS_IMPLEMENTATION, **kw)


def record(ps, pid, amount, org=None, **kw):
    t = P.Transaction(type=P.TRANSACTION_TYPE_INCOMING_COMMITMENT, date="2021-01-15",
                      value=P.Money(currency="USD", amount_minor=amount), **kw)
    if org is not None:
        t.provider_org.CopyFrom(org)
    return ps.RecordTransaction(P.RecordTransactionRequest(project_id=pid, transaction=t))


# ---- projects -------------------------------------------------------------------------

@pytest.mark.suite(services=THREE)
def test_provider_org_and_provenance_are_recorded_and_read_back(suite):
    w = world(suite)
    ps = suite.stub("projects")
    facts = [confirmed("title"), confirmed("participants", "UNDP and UNOCT"),
             assumed("budget"), assumed("budget.currency", "dollars assumed")]
    p = ps.CreateProject(P.CreateProjectRequest(project=new_project(
        w, provenance=facts, budget=P.Money(currency="USD", amount_minor=100)))).project
    assert list(p.provenance) == facts
    tfacts = [confirmed("provider_org"), assumed("provider_org.type", "type assumed"),
              assumed("value"), assumed("date")]
    p = record(ps, p.id, 4_000_000_00, EU, provenance=tfacts)
    t = p.transactions[0]
    assert t.WhichOneof("provider") == "provider_org" and t.provider_org == EU
    assert list(t.provenance) == tfacts
    # Without an identifier, an organisation is still named, and typed.
    p = record(ps, p.id, 100, P.Organisation(name="A foundation",
                                             type=P.ORGANISATION_TYPE_FOUNDATION))
    assert p.transactions[1].provider_org.ref == ""
    got = ps.GetProject(P.GetProjectRequest(id=p.id))
    assert got == p
    # The provenance of a project is updatable; an empty source is dropped.
    u = ps.UpdateProject(P.UpdateProjectRequest(
        project=P.Project(id=p.id, provenance=[
            PV.Provenance(field="start_date", status=PV.FACT_STATUS_ASSUMED, note="launch",
                          source=PV.Source())]),
        update_mask={"paths": ["provenance"]}))
    assert [(f.field, f.HasField("source")) for f in u.provenance] == [("start_date", False)]
    assert ps.GetProject(P.GetProjectRequest(id=p.id)) == u
    # compactctl names the organisation with its identifier.
    res = suite.ctl("--json", "funding", "record", p.id, "--type", "incoming-commitment",
                    "--date", "2022-01-01", "--amount", "12.50", "--currency", "USD",
                    "--provider-org-ref", "XM-DAC-7", "--provider-org-name",
                    "Kingdom of the Netherlands", "--provider-org-type", "government")
    assert res.returncode == 0, res.stderr
    last = ps.GetProject(P.GetProjectRequest(id=p.id)).transactions
    assert [t.provider_org for t in last if t.date == "2022-01-01"] == [NL]


BAD_TX = [
    (dict(org=P.Organisation(ref="XM-DAC-7")), "transaction.provider_org.name"),
    (dict(org=P.Organisation(ref="xm-dac-7", name="NL")), "transaction.provider_org.ref"),
    (dict(org=P.Organisation(ref="NL", name="NL")), "transaction.provider_org.ref"),
    (dict(org=P.Organisation(ref="XM-DAC 7", name="NL")), "transaction.provider_org.ref"),
    (dict(org=P.Organisation(ref="XM-" + "7" * 100, name="NL")), "transaction.provider_org.ref"),
    (dict(org=P.Organisation(name="NL", type=12)), "transaction.provider_org.type"),
    (dict(org=P.Organisation(name="NL"), provenance=[assumed("provider_org.iati")]),
     'transaction.provenance[0].field: "iati" is not a field of compact.projects.v1.Organisation'),
    (dict(org=NL, provenance=[PV.Provenance(field="value", status=PV.FACT_STATUS_CONFIRMED)]),
     "transaction.provenance[0].source"),
]


@pytest.mark.suite(services=THREE)
@pytest.mark.parametrize("kw,needle", BAD_TX, ids=[
    "no-name", "lower-case-agency", "no-agency", "space", "too-long", "unknown-type",
    "unknown-path", "confirmed-no-source"])
def test_bad_provider_or_facts_refused_naming_the_field(suite, kw, needle):
    w = world(suite)
    ps = suite.stub("projects")
    p = ps.CreateProject(P.CreateProjectRequest(project=new_project(w))).project
    code, msg = code_of(record, ps, p.id, 100, **kw)
    assert code == C.INVALID_ARGUMENT and needle in msg, msg
    assert not ps.GetProject(P.GetProjectRequest(id=p.id)).transactions


@pytest.mark.suite(services=THREE)
def test_project_provenance_checked_on_create_and_update(suite):
    w = world(suite)
    ps = suite.stub("projects")
    code, msg = code_of(ps.CreateProject, P.CreateProjectRequest(project=new_project(
        w, provenance=[assumed("budgett")])))
    assert code == C.INVALID_ARGUMENT and 'project.provenance[0].field: "budgett"' in msg, msg
    p = ps.CreateProject(P.CreateProjectRequest(project=new_project(w))).project
    code, msg = code_of(ps.UpdateProject, P.UpdateProjectRequest(
        project=P.Project(id=p.id, provenance=[assumed("title"), assumed("title")]),
        update_mask={"paths": ["provenance"]}))
    assert code == C.INVALID_ARGUMENT and "project.provenance[1].field" in msg, msg
    res = suite.ctl("funding", "record", p.id, "--type", "incoming-commitment", "--date",
                    "2022-01-01", "--amount", "1", "--currency", "USD", "--provider", "EU",
                    "--provider-org-ref", "XI-IATI-EC_FPI")
    assert res.returncode == 2 and "give one provider" in res.stderr, res.stderr
    res = suite.ctl("funding", "record", p.id, "--type", "incoming-commitment", "--date",
                    "2022-01-01", "--amount", "1", "--currency", "USD",
                    "--provider-org-ref", "XI-IATI-EC_FPI")
    assert res.returncode == 2 and "--provider-org-name" in res.stderr, res.stderr


# ---- working groups ----------------------------------------------------------------------

@pytest.mark.suite(services=("membership", "workgroups"))
def test_group_provenance_fact_by_fact(suite):
    ws = suite.stub("workgroups")
    facts = [confirmed("title"), assumed("code", "an abbreviation used by later pages"),
             assumed("leadership.chair_entity_id"), confirmed("terms_of_reference.approved_on")]
    g = ws.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
        code="BMLE", title="Border management", pillars=[W.STRATEGY_PILLAR_II],
        provenance=facts)))
    assert list(g.provenance) == facts
    assert ws.GetWorkingGroup(W.GetWorkingGroupRequest(code="bmle")).provenance == g.provenance
    u = ws.UpdateWorkingGroup(W.UpdateWorkingGroupRequest(
        group=W.WorkingGroup(id=g.id, provenance=facts[:1]),
        update_mask={"paths": ["provenance"]}))
    assert list(u.provenance) == facts[:1] and u.code == "BMLE"
    for bad, needle in (([assumed("leadership.chair")], 'group.provenance[0].field: "chair"'),
                        ([assumed("members.role")], "group.provenance[0].field"),
                        ([PV.Provenance(field="title", status=PV.FACT_STATUS_CONFIRMED,
                                        source=PV.Source(publisher="UN", title="t", date="2019",
                                                         url="ftp://x"))],
                         "group.provenance[0].source.url")):
        code, msg = code_of(ws.UpdateWorkingGroup, W.UpdateWorkingGroupRequest(
            group=W.WorkingGroup(id=g.id, provenance=bad), update_mask={"paths": ["provenance"]}))
        assert code == C.INVALID_ARGUMENT and needle in msg, msg


# ---- analytics ----------------------------------------------------------------------------

# The dashboard's fixed port (8054) is left off: tests run side by side.
@pytest.mark.suite(services=THREE + ("analytics",),
                   env={"analytics": {"COMPACT_HTTP_LISTEN": ""}})
def test_analytics_counts_who_takes_part_today_and_keys_donors_by_identifier(suite):
    w = world(suite)   # UNDP member (UN), FATF observer (non-UN), GONE ended in 2020
    ps = suite.stub("projects")
    p = ps.CreateProject(P.CreateProjectRequest(project=new_project(w))).project
    record(ps, p.id, 300, EU)
    record(ps, p.id, 200, P.Organisation(ref="XI-IATI-EC_FPI", name="European Commission FPI"))
    record(ps, p.id, 50, P.Organisation(name="European Union"))
    ps.RecordTransaction(P.RecordTransactionRequest(project_id=p.id, transaction=P.Transaction(
        type=P.TRANSACTION_TYPE_INCOMING_COMMITMENT, date="2021-01-15",
        value=P.Money(currency="USD", amount_minor=7), provider_name="European Union")))
    record(ps, p.id, 11, None, provider_entity_id=w["UNDP"])
    an = suite.stub("analytics")

    def overview():
        o = an.GetOverview(AN.GetOverviewRequest())
        return o if o.projects == 1 and o.entities == 2 else None
    o = poll(overview, what="the overview to count the entities and the project")
    assert (o.entities, o.members, o.observers, o.un_entities, o.non_un_entities) == (2, 1, 1, 1, 1)

    def donors():
        b = an.GetFundingBreakdown(AN.GetFundingBreakdownRequest(by=AN.BREAKDOWN_BY_DONOR))
        rows = {r.key: (r.label, r.money.by_currency[0].committed_minor) for r in b.rows}
        return rows if sum(v for _, v in rows.values()) == 568 else None
    rows = poll(donors, what="the donor breakdown of 5.68 USD")
    assert rows == {
        # one donor, two spellings, named by the one that sorts first: the
        # same whatever order its transactions come in (facts.c)
        "org:XI-IATI-EC_FPI": ("European Commission FPI", 500),
        "name:European Union": ("European Union", 57),         # named only: apart
        w["UNDP"]: ("UNDP", 11),
    }, rows


# ---- existing databases upgrade ------------------------------------------------------------

PROJECTS_V1 = """
CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL,
  applied_at TEXT NOT NULL, PRIMARY KEY (component, version));
CREATE TABLE projects (id TEXT PRIMARY KEY, iati_identifier TEXT NOT NULL,
  iati_key TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 6), start_date TEXT NOT NULL,
  end_date TEXT NOT NULL, search_text TEXT NOT NULL, create_time_ms INTEGER NOT NULL,
  update_time_ms INTEGER NOT NULL, version INTEGER NOT NULL CHECK (version >= 1),
  body BLOB NOT NULL) STRICT;
CREATE TABLE project_groups (group_id TEXT NOT NULL, project_id TEXT NOT NULL
  REFERENCES projects (id) ON DELETE CASCADE, PRIMARY KEY (group_id, project_id))
  STRICT, WITHOUT ROWID;
CREATE TABLE project_entities (entity_id TEXT NOT NULL, project_id TEXT NOT NULL
  REFERENCES projects (id) ON DELETE CASCADE, PRIMARY KEY (entity_id, project_id))
  STRICT, WITHOUT ROWID;
CREATE TABLE project_countries (country TEXT NOT NULL CHECK (length(country) = 2),
  project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  PRIMARY KEY (country, project_id)) STRICT, WITHOUT ROWID;
CREATE TABLE project_pillars (pillar INTEGER NOT NULL CHECK (pillar BETWEEN 1 AND 4),
  project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  PRIMARY KEY (pillar, project_id)) STRICT, WITHOUT ROWID;
CREATE TABLE transactions (id TEXT PRIMARY KEY, project_id TEXT NOT NULL
  REFERENCES projects (id) ON DELETE CASCADE,
  type INTEGER NOT NULL CHECK (type BETWEEN 1 AND 13), date TEXT NOT NULL,
  currency TEXT NOT NULL CHECK (length(currency) = 3),
  amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0), provider_name TEXT,
  provider_entity_id TEXT, catalytic INTEGER NOT NULL CHECK (catalytic IN (0, 1)),
  description TEXT NOT NULL, verified INTEGER NOT NULL CHECK (verified IN (0, 1)),
  source_note TEXT NOT NULL, record_time_ms INTEGER NOT NULL,
  CHECK (provider_name IS NULL OR provider_entity_id IS NULL)) STRICT;
INSERT INTO schema_migrations VALUES ('projects', 1, '2025-01-01T00:00:00Z');
"""

def fresh_dir(suite, name):
    suite.stop(name)
    d = suite.data_dir(name)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    return d


@pytest.mark.suite(services=THREE)
def test_a_version_1_projects_database_upgrades(suite):
    w = world(suite)
    d = fresh_dir(suite, "projects")
    pid = "prj_aaaaaaaaaaaaaaaaaaaa"
    body = new_project(w, iati="XM-COMPACT-OLD", id=pid).SerializeToString()
    db = sqlite3.connect(os.path.join(d, "projects.db"))
    db.executescript(PROJECTS_V1)
    db.execute("INSERT INTO projects VALUES (?, 'XM-COMPACT-OLD', 'xm-compact-old', 'PVE in SEA',"
               " 2, '2020-08-13', '', 'pve in sea', 1500000000000, 1500000000000, 2, ?)",
               (pid, body))
    db.execute("INSERT INTO project_groups VALUES (?, ?)", (w["group"], pid))
    db.execute("INSERT INTO project_entities VALUES (?, ?)", (w["UNDP"], pid))
    db.execute("INSERT INTO project_pillars VALUES (1, ?)", (pid,))
    db.execute("INSERT INTO transactions VALUES ('trn_aaaaaaaaaaaaaaaaaaaa', ?, 11, '2021-01-15',"
               " 'EUR', 400, 'European Union', NULL, 0, '', 1, 'old', 1500000000000)", (pid,))
    db.commit()
    db.close()
    suite.start("projects")
    ps = suite.stub("projects")
    p = ps.GetProject(P.GetProjectRequest(iati_identifier="xm-compact-old"))
    assert [(t.WhichOneof("provider"), t.provider_name, t.verified, list(t.provenance))
            for t in p.transactions] == [("provider_name", "European Union", True, [])]
    assert [(t.currency, t.committed_minor) for t in p.totals] == [("EUR", 400)]
    p = record(ps, p.id, 100, NL, provenance=[assumed("value")])
    assert [t.provider_org for t in p.transactions][1] == NL
    assert ps.GetProject(P.GetProjectRequest(id=p.id)) == p
    db = sqlite3.connect(os.path.join(d, "projects.db"))
    try:
        # 3: the provider_org columns; 4: the list indexes and text search;
        # 5: transactions keyed by their project, in recording order
        assert db.execute("SELECT max(version) FROM schema_migrations"
                          " WHERE component = 'projects'").fetchone()[0] == 5
        assert db.execute("SELECT project_id, seq, id FROM transactions"
                          " ORDER BY project_id, date, seq").fetchall() == [
            (pid, 1, "trn_aaaaaaaaaaaaaaaaaaaa"), (pid, 2, p.transactions[1].id)]
        with pytest.raises(sqlite3.OperationalError, match="rowid"):
            db.execute("SELECT rowid FROM transactions")
        # The CHECKs added with the columns keep one provider a transaction.
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("UPDATE transactions SET provider_org_name = 'x'"
                       " WHERE provider_name IS NOT NULL")
    finally:
        db.close()


@pytest.mark.suite(services=("membership", "workgroups"))
def test_a_version_1_workgroups_database_upgrades(suite):
    ws = suite.stub("workgroups")
    g = ws.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
        code="RMME", title="Resources", pillars=[W.STRATEGY_PILLAR_III], verified=True)))
    d = suite.data_dir("workgroups")
    suite.stop("workgroups")
    # Make it a version-1 database: what versions 2 (decisions' references,
    # leadership terms, notices) and 3 (provenance) made goes, with their records.
    db = sqlite3.connect(os.path.join(d, "workgroups.db"))
    db.executescript(harness.WORKGROUPS_DOWN_TO_V1)
    db.close()
    suite.start("workgroups")
    ws = suite.stub("workgroups")
    got = ws.GetWorkingGroup(W.GetWorkingGroupRequest(id=g.id))
    assert got.code == "RMME" and got.verified and not got.provenance
    u = ws.UpdateWorkingGroup(W.UpdateWorkingGroupRequest(
        group=W.WorkingGroup(id=g.id, provenance=[assumed("code")]),
        update_mask={"paths": ["provenance"]}))
    assert [f.field for f in u.provenance] == ["code"]
