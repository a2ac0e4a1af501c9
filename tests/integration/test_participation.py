"""Membership's history of taking part (issue 12): affiliation and dated
participation periods instead of one kind, per-fact provenance, the count of
who takes part on a day, and the upgrade of a database made before them.

Everything goes through the real compact-membership binary (and compactctl
where it is the client people use); the upgrade test writes a version-1
database with Python's sqlite3 the way the previous release left it, then
starts the current binary on it.
"""
import json
import os
import sqlite3
import datetime

import grpc
import pytest

import harness
from harness import M, code_of

C = grpc.StatusCode
PV = harness.pb("compact/common/v1/provenance.proto")
UN, NON_UN = M.AFFILIATION_UN_SYSTEM, M.AFFILIATION_NON_UN
MEMBER, OBSERVER = M.PARTICIPATION_ROLE_MEMBER, M.PARTICIPATION_ROLE_OBSERVER
SOURCE = PV.Source(publisher="United Nations Office of Counter-Terrorism (UNOCT)",
                   title="UN Global Counter-Terrorism Coordination Compact", date="2022-04",
                   url="https://www.un.org/counterterrorism/global-ct-compact")


def confirmed(field, **kw):
    return PV.Provenance(field=field, status=PV.FACT_STATUS_CONFIRMED, source=SOURCE, **kw)


def assumed(field, note="assumed for the test"):
    return PV.Provenance(field=field, status=PV.FACT_STATUS_ASSUMED, note=note)


def period(role, frm, to="", facts=()):
    return M.Participation(role=role, from_date=frm, to_date=to, provenance=list(facts))


def new_entity(acronym, affiliation=UN, periods=(), facts=(), **kw):
    return M.Entity(acronym=acronym, name="Office of " + acronym, affiliation=affiliation,
                    participation=list(periods), provenance=list(facts), **kw)


def make(stub, *a, **kw):
    return stub.CreateEntity(M.CreateEntityRequest(entity=new_entity(*a, **kw)))


def count(stub, day):
    r = stub.CountEntities(M.CountEntitiesRequest(as_of_date=day))
    assert r.as_of_date == day
    return (r.total, r.members, r.observers, r.un_system, r.non_un, r.confirmed)


def listed(stub, **kw):
    out, token = [], ""
    while True:
        rep = stub.ListEntities(M.ListEntitiesRequest(page_size=2, page_token=token, **kw))
        out.extend(e.acronym for e in rep.entities)
        token = rep.next_page_token
        if not token:
            return out


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


# ---- the record ----------------------------------------------------------------------

def test_create_with_periods_and_provenance_round_trips(suite):
    stub = suite.stub("membership")
    facts = [confirmed("participation", note="named by the cited page"),
             assumed("affiliation", "a UN office; no source cited")]
    periods = [period(OBSERVER, "2019-01-01", "2020-06-01", [assumed("role"), confirmed("from_date")]),
               period(MEMBER, "2020-06-01", facts=[confirmed("role"), confirmed("from_date")])]
    e = make(stub, "UNXA", periods=periods, facts=facts)
    assert e.affiliation == UN
    assert list(e.participation) == periods and list(e.provenance) == facts
    # The deprecated fields are derived: the latest period's role, the first start.
    assert e.kind == M.ENTITY_KIND_UN_ENTITY and e.joined_on == "2019-01-01"
    got = stub.GetEntity(M.GetEntityRequest(acronym="unxa"))
    assert got == e
    # An empty source says nothing and is not kept.
    e2 = make(stub, "UNXB", NON_UN, [period(OBSERVER, "2021-01-01")],
              [PV.Provenance(field="name", status=PV.FACT_STATUS_ASSUMED, note="n",
                             source=PV.Source())])
    assert not e2.provenance[0].HasField("source") and e2.kind == M.ENTITY_KIND_OBSERVER
    assert stub.GetEntity(M.GetEntityRequest(id=e2.id)) == e2


BAD = [
    (lambda e: setattr(e, "affiliation", 0), "entity.affiliation"),
    (lambda e: setattr(e, "affiliation", 9), "entity.affiliation"),
    (lambda e: e.participation.append(period(0, "2019-01-01")), "entity.participation[0].role"),
    (lambda e: e.participation.append(period(MEMBER, "")), "entity.participation[0].from_date"),
    (lambda e: e.participation.append(period(MEMBER, "2019-02-30")),
     "entity.participation[0].from_date"),
    (lambda e: e.participation.append(period(MEMBER, "2019-01-01", "2019-01-01")),
     "entity.participation[0].to_date: must be after"),
    (lambda e: e.participation.extend([period(MEMBER, "2019-01-01"), period(OBSERVER, "2020-01-01")]),
     "entity.participation[0].to_date: must be set: only the last period may be open"),
    (lambda e: e.participation.extend([period(MEMBER, "2019-01-01", "2020-01-01"),
                                       period(OBSERVER, "2019-06-01")]),
     "entity.participation[1].from_date: 2019-06-01 is before entity.participation[0].to_date"),
    (lambda e: e.participation.extend([period(MEMBER, "2019-01-01")] * 21),
     "entity.participation"),
    (lambda e: e.provenance.append(PV.Provenance(field="nmae", status=PV.FACT_STATUS_ASSUMED,
                                                  note="x")),
     'entity.provenance[0].field: "nmae" is not a field of compact.membership.v1.Entity'),
    (lambda e: e.provenance.append(PV.Provenance(field="participation.role",
                                                  status=PV.FACT_STATUS_ASSUMED, note="x")),
     "entity.provenance[0].field"),
    (lambda e: e.provenance.append(PV.Provenance(field="name", status=PV.FACT_STATUS_CONFIRMED)),
     "entity.provenance[0].source: must be set for a CONFIRMED fact"),
    (lambda e: e.provenance.append(PV.Provenance(field="name", status=PV.FACT_STATUS_ASSUMED)),
     "entity.provenance[0].note"),
    (lambda e: e.provenance.append(PV.Provenance(field="name")), "entity.provenance[0].status"),
    (lambda e: e.provenance.append(PV.Provenance(
        field="name", status=PV.FACT_STATUS_CONFIRMED,
        source=PV.Source(publisher="UN", title="T", date="2019", url="www.un.org"))),
     "entity.provenance[0].source.url: not an http:// or https:// address"),
    (lambda e: e.provenance.append(PV.Provenance(
        field="name", status=PV.FACT_STATUS_CONFIRMED,
        source=PV.Source(publisher="UN", title="T", date="16 April 2019", url="https://un.org"))),
     "entity.provenance[0].source.date"),
    (lambda e: e.provenance.append(PV.Provenance(
        field="name", status=PV.FACT_STATUS_CONFIRMED,
        source=PV.Source(title="T", date="2019", url="https://un.org"))),
     "entity.provenance[0].source.publisher"),
    (lambda e: e.provenance.extend([assumed("name"), assumed("name")]),
     'entity.provenance[1].field: "name" is already stated by entity.provenance[0]'),
    (lambda e: e.participation.append(period(MEMBER, "2019-01-01",
                                             facts=[assumed("role"), assumed("end")])),
     'entity.participation[0].provenance[1].field: "end" is not a field of '
     'compact.membership.v1.Participation'),
]


@pytest.mark.parametrize("mutate,needle", BAD, ids=[
    "no-affiliation", "unknown-affiliation", "no-role", "no-from", "impossible-from",
    "empty-period", "open-not-last", "overlap", "too-many", "unknown-field", "path-into-repeated",
    "confirmed-no-source", "assumed-no-note", "no-status", "bad-url", "bad-date", "no-publisher",
    "repeated-fact", "period-fact-field"])
def test_create_refuses_bad_history_and_facts_naming_the_field(suite, mutate, needle):
    stub = suite.stub("membership")
    e = new_entity("BAD")
    mutate(e)
    code, msg = code_of(stub.CreateEntity, M.CreateEntityRequest(entity=e))
    assert code == C.INVALID_ARGUMENT and needle in msg, msg
    assert not stub.ListEntities(M.ListEntitiesRequest()).entities


def test_update_replaces_periods_and_facts_and_refuses_bad_ones(suite):
    stub = suite.stub("membership")
    e = make(stub, "UNXC", periods=[period(MEMBER, "2018-02-23")])
    u = stub.UpdateEntity(M.UpdateEntityRequest(
        entity=new_entity("ignored", NON_UN, [period(OBSERVER, "2018-02-23", "2022-01-01"),
                                               period(MEMBER, "2022-01-01")],
                          [assumed("affiliation")], id=e.id),
        update_mask={"paths": ["affiliation", "participation", "provenance"]}))
    assert u.acronym == "UNXC" and u.affiliation == NON_UN and len(u.participation) == 2
    assert u.kind == M.ENTITY_KIND_NON_UN_MEMBER and u.joined_on == "2018-02-23"
    assert [p.field for p in u.provenance] == ["affiliation"]
    code, msg = code_of(stub.UpdateEntity, M.UpdateEntityRequest(
        entity=new_entity("x", periods=[period(MEMBER, "2019-01-01", "2018-01-01")], id=e.id),
        update_mask={"paths": ["participation"]}))
    assert code == C.INVALID_ARGUMENT and "entity.participation[0].to_date" in msg, msg
    code, msg = code_of(stub.UpdateEntity, M.UpdateEntityRequest(
        entity=M.Entity(id=e.id), update_mask={"paths": ["affiliation"]}))
    assert code == C.INVALID_ARGUMENT and "entity.affiliation" in msg, msg
    assert stub.GetEntity(M.GetEntityRequest(id=e.id)) == u


# ---- older clients: kind and joined_on --------------------------------------------------

def test_kind_and_joined_on_still_work_and_stand_for_the_new_fields(suite):
    stub = suite.stub("membership")
    un = harness.create(stub, "OLDUN")        # kind UN_ENTITY, joined 2018-02-23
    assert un.affiliation == UN and un.kind == M.ENTITY_KIND_UN_ENTITY
    assert [(p.role, p.from_date, p.to_date) for p in un.participation] == [
        (MEMBER, "2018-02-23", "")]
    obs = harness.create(stub, "OLDOBS", kind=M.ENTITY_KIND_OBSERVER, joined_on="2020-05-01")
    # An observer's kind said nothing of the affiliation: not recorded.
    assert obs.affiliation == M.AFFILIATION_UNSPECIFIED and obs.kind == M.ENTITY_KIND_OBSERVER
    assert [(p.role, p.from_date) for p in obs.participation] == [(OBSERVER, "2020-05-01")]
    bare = harness.create(stub, "OLDBARE", kind=M.ENTITY_KIND_NON_UN_MEMBER, joined_on="")
    assert bare.affiliation == NON_UN and not bare.participation and bare.joined_on == ""
    # The new fields win over the old when both are given.
    both = stub.CreateEntity(M.CreateEntityRequest(entity=M.Entity(
        acronym="BOTH", name="Both", kind=M.ENTITY_KIND_OBSERVER, joined_on="2001-01-01",
        affiliation=UN, participation=[period(MEMBER, "2019-01-01")])))
    assert both.kind == M.ENTITY_KIND_UN_ENTITY and both.joined_on == "2019-01-01"

    # Updates: kind sets the affiliation and the latest period's role,
    # joined_on moves the first period's start.
    u = stub.UpdateEntity(M.UpdateEntityRequest(
        entity=M.Entity(id=un.id, kind=M.ENTITY_KIND_OBSERVER, joined_on="2019-03-01"),
        update_mask={"paths": ["kind", "joined_on"]}))
    assert u.affiliation == UN and u.kind == M.ENTITY_KIND_OBSERVER
    assert [(p.role, p.from_date) for p in u.participation] == [(OBSERVER, "2019-03-01")]
    u = stub.UpdateEntity(M.UpdateEntityRequest(
        entity=M.Entity(id=bare.id, joined_on="2021-10-08"), update_mask={"paths": ["joined_on"]}))
    assert [(p.role, p.from_date) for p in u.participation] == [(MEMBER, "2021-10-08")]
    code, msg = code_of(stub.UpdateEntity, M.UpdateEntityRequest(
        entity=M.Entity(id=bare.id, joined_on=""), update_mask={"paths": ["joined_on"]}))
    assert code == C.INVALID_ARGUMENT and "entity.joined_on: cannot be cleared" in msg, msg
    none = harness.create(stub, "NOPERIOD", joined_on="")
    code, msg = code_of(stub.UpdateEntity, M.UpdateEntityRequest(
        entity=M.Entity(id=none.id, kind=M.ENTITY_KIND_OBSERVER), update_mask={"paths": ["kind"]}))
    assert code == C.INVALID_ARGUMENT and "entity.kind" in msg, msg
    # With participation in the same mask, joined_on is ignored.
    u = stub.UpdateEntity(M.UpdateEntityRequest(
        entity=M.Entity(id=both.id, joined_on="2030-01-01"),
        update_mask={"paths": ["joined_on", "participation"]}))
    assert not u.participation and u.joined_on == "" and u.kind == M.ENTITY_KIND_UN_ENTITY


def test_withdraw_ends_the_open_period_today(suite):
    stub = suite.stub("membership")
    e = make(stub, "UNXW", periods=[period(MEMBER, "2018-02-23")])
    w = stub.WithdrawEntity(M.WithdrawEntityRequest(id=e.id))
    assert [(p.from_date, p.to_date) for p in w.participation] == [("2018-02-23", today())]
    assert count(stub, "2018-02-23")[0] == 1 and count(stub, today())[0] == 0
    assert stub.GetEntity(M.GetEntityRequest(id=e.id)) == w


# ---- who takes part on a day ---------------------------------------------------------------

def history(stub):
    """Five entities with a history; returns them by acronym."""
    ok = [confirmed("role"), confirmed("from_date")]
    out = {}
    out["A"] = make(stub, "A", UN, [period(MEMBER, "2018-02-23", facts=ok)])
    out["B"] = make(stub, "B", UN, [period(OBSERVER, "2019-01-01", "2021-01-01", ok + [assumed("to_date")]),
                                    period(MEMBER, "2021-01-01", facts=ok)])
    out["C"] = make(stub, "C", NON_UN, [period(MEMBER, "2021-10-08",
                                               facts=[assumed("role"), confirmed("from_date")])])
    out["D"] = make(stub, "D", NON_UN, [period(OBSERVER, "2022-04-01", "2023-01-01",
                                               ok + [confirmed("to_date")])])
    out["E"] = make(stub, "E", UN)           # registered, never taking part
    return out


def test_count_entities_on_a_day_by_role_affiliation_and_confirmation(suite):
    stub = suite.stub("membership")
    history(stub)
    #                       total members observers un non_un confirmed
    assert count(stub, "2018-02-22") == (0, 0, 0, 0, 0, 0)
    assert count(stub, "2018-02-23") == (1, 1, 0, 1, 0, 1)
    assert count(stub, "2020-12-31") == (2, 1, 1, 2, 0, 1)   # B observer, to_date assumed
    assert count(stub, "2021-01-01") == (2, 2, 0, 2, 0, 2)   # B's second period starts
    assert count(stub, "2021-10-31") == (3, 3, 0, 2, 1, 2)   # C's role is assumed
    assert count(stub, "2022-04-30") == (4, 3, 1, 2, 2, 3)
    assert count(stub, "2023-01-01") == (3, 3, 0, 2, 1, 2)   # D's period ended (excluded)
    r = stub.CountEntities(M.CountEntitiesRequest())
    assert r.as_of_date == today() and r.total == 3
    for bad in ("2021-13-01", "yesterday", "2021-02-29"):
        code, msg = code_of(stub.CountEntities, M.CountEntitiesRequest(as_of_date=bad))
        assert code == C.INVALID_ARGUMENT and "as_of_date" in msg, msg


def test_list_entities_as_of_a_day_by_role_and_affiliation(suite):
    stub = suite.stub("membership")
    history(stub)
    assert listed(stub) == ["A", "B", "C", "D", "E"]
    assert listed(stub, as_of_date="2020-12-31") == ["A", "B"]
    assert listed(stub, as_of_date="2020-12-31", role=OBSERVER) == ["B"]
    assert listed(stub, as_of_date="2022-04-30", affiliation=NON_UN) == ["C", "D"]
    assert listed(stub, as_of_date="2022-04-30", role=MEMBER, affiliation=NON_UN) == ["C"]
    assert listed(stub, affiliation=UN) == ["A", "B", "E"]
    assert listed(stub, role=MEMBER) == ["A", "B", "C"]      # today
    assert listed(stub, role=OBSERVER) == []
    # A page token is bound to the filters that made it.
    rep = stub.ListEntities(M.ListEntitiesRequest(page_size=1, as_of_date="2022-04-30"))
    code, msg = code_of(stub.ListEntities, M.ListEntitiesRequest(
        page_size=1, as_of_date="2022-04-01", page_token=rep.next_page_token))
    assert code == C.INVALID_ARGUMENT and "page_token" in msg, msg
    for req, field in ((M.ListEntitiesRequest(as_of_date="2022-4-1"), "as_of_date"),
                       (M.ListEntitiesRequest(role=7), "role"),
                       (M.ListEntitiesRequest(affiliation=7), "affiliation")):
        code, msg = code_of(stub.ListEntities, req)
        assert code == C.INVALID_ARGUMENT and field in msg, msg


# ---- compactctl ----------------------------------------------------------------------------

def ctl_ok(suite, *args):
    res = suite.ctl(*args)
    assert res.returncode == 0, res.stderr
    return res


def test_compactctl_count_list_create_and_get(suite):
    created = json.loads(ctl_ok(suite, "--json", "entities", "create", "--acronym", "FATF",
                                "--name", "Financial Action Task Force", "--affiliation",
                                "non-un", "--period", "observer:2022-04-01").stdout)
    assert created["affiliation"] == "AFFILIATION_NON_UN"
    assert created["participation"] == [{"role": "PARTICIPATION_ROLE_OBSERVER",
                                         "fromDate": "2022-04-01"}]
    ctl_ok(suite, "entities", "create", "--acronym", "UNOCT", "--name", "UNOCT",
           "--affiliation", "un", "--period", "member:2018-02-23")
    out = ctl_ok(suite, "entities", "count", "--as-of", "2022-04-30").stdout
    rows = {k.rstrip(":"): v for k, v in (line.split(None, 1) for line in out.strip().splitlines())}
    assert rows == {"as_of_date": "2022-04-30", "total": "2", "members": "1", "observers": "1",
                    "un_system": "1", "non_un": "1", "confirmed": "0"}
    counted = json.loads(ctl_ok(suite, "--json", "entities", "count", "--as-of",
                                "2018-02-23").stdout)
    assert counted["total"] == 1 and counted["asOfDate"] == "2018-02-23"
    arr = json.loads(ctl_ok(suite, "--json", "entities", "list", "--as-of", "2021-01-01").stdout)
    assert [e["acronym"] for e in arr] == ["UNOCT"]
    arr = json.loads(ctl_ok(suite, "--json", "entities", "list", "--role", "observer").stdout)
    assert [e["acronym"] for e in arr] == ["FATF"]
    u = json.loads(ctl_ok(suite, "--json", "entities", "update", "FATF", "--period",
                          "observer:2022-04-01:2023-01-01", "--period",
                          "member:2023-01-01").stdout)
    assert [p["role"] for p in u["participation"]] == ["PARTICIPATION_ROLE_OBSERVER",
                                                        "PARTICIPATION_ROLE_MEMBER"]
    # Facts come in JSON (--from-json) and show on get, one line each.
    path = os.path.join(suite.tmp, "ipu.json")
    with open(path, "w") as f:
        json.dump({"acronym": "IPU", "name": "Inter-Parliamentary Union",
                   "affiliation": "AFFILIATION_NON_UN",
                   "participation": [{"role": "PARTICIPATION_ROLE_MEMBER",
                                      "fromDate": "2021-10-08",
                                      "provenance": [{"field": "from_date",
                                                      "status": "FACT_STATUS_ASSUMED",
                                                      "note": "first day seen"}]}],
                   "provenance": [{"field": "participation", "status": "FACT_STATUS_CONFIRMED",
                                   "source": json_source()}]}, f)
    ctl_ok(suite, "entities", "create", "--from-json", path)
    lines = ctl_ok(suite, "entities", "get", "ipu").stdout.splitlines()
    facts = [l.split(None, 1)[1] for l in lines if l.startswith("fact:")]
    assert facts == [
        "participation: confirmed (United Nations Office of Counter-Terrorism (UNOCT), "
        "UN Global Counter-Terrorism Coordination Compact, 2022-04, "
        "https://www.un.org/counterterrorism/global-ct-compact)",
        "participation[0].from_date: assumed: first day seen"]
    assert ["affiliation:", "non-un"] in [l.split() for l in lines]
    assert ["participation:", "member", "2021-10-08", ".."] in [l.split() for l in lines]
    for args, needle in ((["entities", "count", "--as-of"], "as-of"),
                         (["entities", "create", "--acronym", "X", "--name", "Y",
                           "--affiliation", "martian"], "--affiliation"),
                         (["entities", "create", "--acronym", "X", "--name", "Y",
                           "--affiliation", "un", "--period", "chair:2020-01-01"], "--period"),
                         (["entities", "list", "--role", "chair"], "--role")):
        res = suite.ctl(*args)
        assert res.returncode == 2 and needle in res.stderr, res.stderr


def json_source():
    return {"publisher": SOURCE.publisher, "title": SOURCE.title, "date": SOURCE.date,
            "url": SOURCE.url}


# ---- an existing database upgrades ----------------------------------------------------------

# The schema the previous release made (entity_store.c, migration 1), as it
# left a database: written here as it was, so that the upgrade is tested
# against what is on disk, not against the current code.
V1 = """
CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL,
  applied_at TEXT NOT NULL, PRIMARY KEY (component, version));
CREATE TABLE entities (id TEXT PRIMARY KEY, acronym TEXT NOT NULL,
  acronym_lower TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  kind INTEGER NOT NULL CHECK (kind IN (1, 2, 3)), status INTEGER NOT NULL CHECK (status IN (1, 2)),
  joined_on TEXT NOT NULL DEFAULT '',
  verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
  source_note TEXT NOT NULL DEFAULT '', create_time_ms INTEGER NOT NULL,
  update_time_ms INTEGER NOT NULL, withdraw_time_ms INTEGER,
  version INTEGER NOT NULL CHECK (version >= 1)) STRICT;
CREATE TABLE focal_points (entity_id TEXT NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
  position INTEGER NOT NULL, name TEXT NOT NULL, title TEXT NOT NULL, email TEXT NOT NULL,
  PRIMARY KEY (entity_id, position)) STRICT, WITHOUT ROWID;
INSERT INTO schema_migrations VALUES ('membership', 1, '2025-01-01T00:00:00Z');
"""

ROWS = [  # id, acronym, kind, status, joined_on, withdraw_time_ms
    ("ent_aaaaaaaaaaaaaaaaaaaa", "UNODC", 1, 1, "2018-02-23", None),
    ("ent_bbbbbbbbbbbbbbbbbbbb", "INTERPOL", 2, 1, "2018-02-23", None),
    ("ent_cccccccccccccccccccc", "FATF", 3, 1, "2022-04-01", None),
    ("ent_dddddddddddddddddddd", "GONE", 1, 2, "2019-01-01", 1577836800000),  # 2020-01-01
    ("ent_eeeeeeeeeeeeeeeeeeee", "NEVER", 2, 2, "2021-01-01", 1577836800000),  # left before
    ("ent_ffffffffffffffffffff", "NODATE", 1, 1, "", None),
]


def write_v1(data_dir):
    db = sqlite3.connect(os.path.join(data_dir, "membership.db"))
    db.executescript(V1)
    for eid, acr, kind, status, joined, wt in ROWS:
        db.execute("INSERT INTO entities VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'old note',"
                   " 1500000000000, 1500000000000, ?, 3)",
                   (eid, acr, acr.lower(), "Office of " + acr, kind, status, joined, wt))
    db.execute("INSERT INTO focal_points VALUES ('ent_aaaaaaaaaaaaaaaaaaaa', 0, 'Ada', 'FP',"
               " 'ada@example.org')")
    db.commit()
    db.close()


def test_a_version_1_database_upgrades(suite):
    suite.stop("membership")
    data_dir = suite.data_dir("membership")
    for name in os.listdir(data_dir):
        os.unlink(os.path.join(data_dir, name))
    write_v1(data_dir)
    suite.start("membership")
    stub = suite.stub("membership")
    got = {e.acronym: e for e in stub.ListEntities(M.ListEntitiesRequest(page_size=50)).entities}
    assert sorted(got) == sorted(r[1] for r in ROWS)
    assert got["UNODC"].affiliation == UN and got["INTERPOL"].affiliation == NON_UN
    assert got["FATF"].affiliation == M.AFFILIATION_UNSPECIFIED
    assert [(e.kind) for e in (got["UNODC"], got["INTERPOL"], got["FATF"])] == [
        M.ENTITY_KIND_UN_ENTITY, M.ENTITY_KIND_NON_UN_MEMBER, M.ENTITY_KIND_OBSERVER]
    per = {a: [(p.role, p.from_date, p.to_date) for p in e.participation] for a, e in got.items()}
    assert per == {"UNODC": [(MEMBER, "2018-02-23", "")],
                   "INTERPOL": [(MEMBER, "2018-02-23", "")],
                   "FATF": [(OBSERVER, "2022-04-01", "")],
                   "GONE": [(MEMBER, "2019-01-01", "2020-01-01")],
                   "NEVER": [], "NODATE": []}
    # Nothing old is claimed: no provenance, no confirmed period.
    assert all(not e.provenance for e in got.values())
    assert got["UNODC"].joined_on == "2018-02-23" and got["NODATE"].joined_on == ""
    assert got["UNODC"].verified and got["UNODC"].source_note == "old note"
    assert [f.email for f in got["UNODC"].focal_points] == ["ada@example.org"]
    assert count(stub, "2019-06-01") == (3, 3, 0, 2, 1, 0)
    assert count(stub, "2022-04-30") == (3, 2, 1, 1, 1, 0)
    # The old etag (version 3) still names the row; a write moves it on.
    u = stub.UpdateEntity(M.UpdateEntityRequest(
        entity=M.Entity(id=got["FATF"].id, affiliation=NON_UN), etag=got["FATF"].etag,
        update_mask={"paths": ["affiliation"]}))
    assert u.affiliation == NON_UN and u.kind == M.ENTITY_KIND_OBSERVER
    db = sqlite3.connect(os.path.join(data_dir, "membership.db"))
    try:
        assert db.execute("SELECT max(version) FROM schema_migrations"
                          " WHERE component = 'membership'").fetchone()[0] == 3
    finally:
        db.close()
