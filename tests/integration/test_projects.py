"""The projects service's API (proto/compact/projects/v1/projects.proto), every
RPC and every error code, through the real binaries (projects, and the
membership and workgroups services it checks ids with) and a real Redis.

Cross-service cases: an unknown entity or group is INVALID_ARGUMENT naming the
field, a withdrawn entity or closed group FAILED_PRECONDITION; a peer stopped
gives UNAVAILABLE at once and nothing is written; back, calls succeed again
without restarting anything; a peer hung (SIGSTOP) gives DEADLINE_EXCEEDED.

FindOverlaps runs on the real seed projects (seed/projects/projects.json,
loaded the way `compactctl seed` does: "@entity:UNOCT", "@group:BMLE" and
"@project:<IATI id>" resolved to ids) plus near-duplicates that must rank
first and true non-duplicates that must score low."""
import json
import os
import signal

import grpc
import pytest
from google.protobuf import field_mask_pb2, json_format

import harness
from harness import M, code_of, poll

P = harness.pb("compact/projects/v1/projects.proto")
W = harness.pb("compact/workgroups/v1/workgroups.proto")
C = grpc.StatusCode
STREAM = "projects"
PROJECT_KEY = "compact:projects:project:%s"
IATI_KEY = "compact:projects:iati:%s"

ACCOUNTABLE, IMPLEMENTING, FUNDING = (P.ORGANISATION_ROLE_ACCOUNTABLE,
                                      P.ORGANISATION_ROLE_IMPLEMENTING,
                                      P.ORGANISATION_ROLE_FUNDING)
P1, P2, P3, P4 = P.STRATEGY_PILLAR_I, P.STRATEGY_PILLAR_II, P.STRATEGY_PILLAR_III, P.STRATEGY_PILLAR_IV
IMPLEMENTATION, CLOSED = P.ACTIVITY_STATUS_IMPLEMENTATION, P.ACTIVITY_STATUS_CLOSED
ON_TRACK, OFF_TRACK, NO_DATA = (P.INDICATOR_STATE_ON_TRACK, P.INDICATOR_STATE_OFF_TRACK,
                                P.INDICATOR_STATE_NO_DATA)
T = P  # transaction types: P.TRANSACTION_TYPE_...

pytestmark = pytest.mark.suite(services=("membership", "workgroups", "projects"))

GROUP_CODES = {
    "BMLE": ("Border management and law enforcement relating to counter-terrorism", (2, 3)),
    "ETCIP": ("Emerging threats and critical infrastructure protection", (2, 3)),
    "PCVE": ("Preventing and countering violent extremism conducive to terrorism", (1,)),
    "RMME": ("Mobilizing resources for UN counter-terrorism efforts, and monitoring and "
             "evaluation", (3,)),
    "HRRL": ("Promoting and protecting human rights and the rule of law while countering "
             "terrorism and supporting victims of terrorism", (4,)),
    "GENDER": ("Adopting a gender sensitive approach to preventing and countering terrorism",
               (1, 4)),
}


# ---- helpers ----------------------------------------------------------------

@pytest.fixture
def ps(suite):
    return suite.stub("projects")


@pytest.fixture
def mb(suite):
    return suite.stub("membership")


@pytest.fixture
def wg(suite):
    return suite.stub("workgroups", "compact.workgroups.v1.WorkingGroups")


@pytest.fixture
def world(mb, wg):
    """The entities of the membership seed and six working groups, by
    acronym and code."""
    return make_world(mb, wg)


def make_world(mb, wg):
    with open(os.path.join(harness.SOURCE_DIR, "seed/membership/entities.json")) as f:
        seed = json.load(f)
    made = harness.create_many(mb, [json_format.ParseDict(item["entity"], M.Entity())
                                    for item in seed])
    ents = {e.acronym: e.id for e in made}
    groups = {}
    for code, (title, pillars) in GROUP_CODES.items():
        g = wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
            code=code, title=title, pillars=list(pillars))))
        groups[code] = g.id
    return {"entity": ents, "group": groups, "project": {}}


def resolve(node, refs):
    """Replaces "@entity:X", "@group:X", "@project:X" strings by ids, as the
    seed loader of compactctl does."""
    if isinstance(node, dict):
        return {k: resolve(v, refs) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, refs) for v in node]
    if isinstance(node, str) and node.startswith("@") and ":" in node:
        kind, key = node[1:].split(":", 1)
        return refs[kind][key]
    return node


def load_seed(ps, refs):
    """Runs every request of seed/projects/projects.json; returns the
    projects by IATI identifier."""
    with open(os.path.join(harness.SOURCE_DIR, "seed/projects/projects.json")) as f:
        items = json.load(f)
    out = {}
    for item in items:
        req_class = {"CreateProject": P.CreateProjectRequest,
                     "RecordTransaction": P.RecordTransactionRequest}[item["method"]]
        req = json_format.ParseDict(resolve(item["request"], refs), req_class())
        rep = getattr(ps, item["method"])(req)
        p = rep.project if item["method"] == "CreateProject" else rep
        refs["project"][p.iati_identifier] = p.id
        out[p.iati_identifier] = p
    return out


def seed_facts():
    """iati -> what seed/projects/projects.json says of each project: its
    working group codes, partner acronyms, countries, pillars and status,
    and the lowered text the text filter searches (title, summary, themes;
    projects.proto), read from the file as test_seed.py does."""
    with open(os.path.join(harness.SOURCE_DIR, "seed/projects/projects.json")) as f:
        items = json.load(f)
    out = {}
    for item in items:
        if item["method"] != "CreateProject":
            continue
        p = item["request"]["project"]
        out[p["iatiIdentifier"]] = {
            "groups": {g.split(":", 1)[1] for g in p["workingGroupIds"]},
            "entities": {x["entityId"].split(":", 1)[1] for x in p["participants"]},
            "countries": set(p.get("recipientCountries", [])),
            "pillars": {P.StrategyPillar.Value(x) for x in p["pillars"]},
            "status": P.ActivityStatus.Value(p["status"]),
            "text": "\n".join([p["title"], p.get("summary", "")] + p.get("themes", [])).lower(),
        }
    return out


def seed_matching(group=None, entity=None, country=None, pillar=None, status=None, text=None):
    """The IATI ids of the seed projects that ListProjects with these filters
    must list, sorted; never empty (a filter that matches nothing proves
    little)."""
    out = sorted(i for i, f in seed_facts().items()
                 if (group is None or group in f["groups"]) and
                 (entity is None or entity in f["entities"]) and
                 (country is None or country in f["countries"]) and
                 (pillar is None or pillar in f["pillars"]) and
                 (status is None or f["status"] == status) and
                 (text is None or text.lower() in f["text"]))
    assert out, "no seed project matches"
    return out


def project(world, iati="XM-TEST-P1", org="XM-TEST", title="Border security training",
            partners=(("UNOCT", ACCOUNTABLE), ("INTERPOL", IMPLEMENTING)), groups=("BMLE",),
            countries=("KE",), pillars=(P2,), start="2024-01-01", end="2025-12-31", **kw):
    kw.setdefault("status", IMPLEMENTATION)
    return P.Project(
        iati_identifier=iati, reporting_org_ref=org, title=title,
        participants=[P.Participant(entity_id=world["entity"][a], role=r) for a, r in partners],
        working_group_ids=[world["group"][g] for g in groups],
        recipient_countries=list(countries), pillars=list(pillars), start_date=start,
        end_date=end, **kw)


def create(ps, p):
    return ps.CreateProject(P.CreateProjectRequest(project=p))


def get(ps, **key):
    return ps.GetProject(P.GetProjectRequest(**key))


def update(ps, p, paths, etag=""):
    return ps.UpdateProject(P.UpdateProjectRequest(
        project=p, update_mask=field_mask_pb2.FieldMask(paths=paths), etag=etag))


def record(ps, pid, type_, amount, currency="USD", date="2024-02-01", etag="", **kw):
    return ps.RecordTransaction(P.RecordTransactionRequest(project_id=pid, etag=etag,
        transaction=P.Transaction(type=type_, date=date,
                                  value=P.Money(currency=currency, amount_minor=amount), **kw)))


def list_all(ps, page_size=1000, **filters):
    out, token = [], ""
    while True:
        rep = ps.ListProjects(P.ListProjectsRequest(page_size=page_size, page_token=token,
                                                    **filters))
        out.extend(rep.projects)
        token = rep.next_page_token
        if not token:
            return out


def overlaps(ps, **kw):
    return ps.FindOverlaps(P.FindOverlapsRequest(**kw)).overlaps


def summary(suite):
    return [(f["type"].decode(), f["aggregate_id"].decode(), int(f["aggregate_seq"]))
            for _, f in suite.stream(STREAM)]


def assert_nothing_written(suite, ps, world, expected_events):
    """No project row was added, and one more write's event directly follows
    `expected_events` in the stream (an event of a refused write would sit
    before it)."""
    before = {p.id for p in list_all(ps)}
    b = create(ps, project(world, iati="XM-TEST-BARRIER", title="Barrier",
                           partners=(("UNODC", IMPLEMENTING),))).project
    assert {p.id for p in list_all(ps)} == before | {b.id}
    want = expected_events + [("project.created", b.id, 1)]
    harness.wait_events(suite, len(want), service=STREAM)
    assert summary(suite) == want


# ---- CreateProject, GetProject ----------------------------------------------------

def test_create_and_get(suite, ps, world):
    ind = P.Indicator(title="Officers trained", measure=P.INDICATOR_MEASURE_UNIT,
                      baseline=P.Baseline(year=2023, value=0),
                      periods=[P.IndicatorPeriod(period_start="2024-01-01",
                                                 period_end="2024-12-31",
                                                 target=P.IndicatorValue(value=100))])
    p = project(world, summary="Training border police in API/PNR.\nTwo lines.",
                themes=["border security"], budget=P.Money(currency="USD", amount_minor=150000),
                results=[P.Result(type=P.RESULT_TYPE_OUTPUT, title="Training",
                                  indicators=[ind])],
                verified=True, source_note="A test")
    rep = create(ps, p)
    got = rep.project
    assert list(rep.likely_duplicates) == []
    assert got.id.startswith("prj_") and got.etag
    assert got.iati_identifier == "XM-TEST-P1" and got.title == p.title
    assert list(got.participants) == list(p.participants)
    assert list(got.recipient_countries) == ["KE"] and list(got.pillars) == [P2]
    assert got.budget.currency == "USD" and got.budget.amount_minor == 150000
    assert got.results[0].id.startswith("res_")
    assert got.results[0].indicators[0].id.startswith("ind_")
    assert got.results[0].indicators[0].state == NO_DATA
    assert got.create_time.ToNanoseconds() > 0 and got.verified
    harness.wait_published(suite, got.id, "projects")
    assert get(ps, id=got.id) == got
    assert get(ps, iati_identifier="xm-test-p1") == got     # case-insensitive
    assert suite.redis("EXISTS", PROJECT_KEY % got.id) == 1  # read through the cache
    assert get(ps, id=got.id) == got                          # and from it


def test_large_project_is_checked_and_served_from_the_cache(suite, ps, world):
    # A cache hit is answered with the cached bytes once they unpack; a
    # project this large does not fit the stack arena of that check
    # (common/cached_get.c), so the ordinary unpack decides.
    summary = "Border management training across the region. " * 200   # 9,400 characters
    got = create(ps, project(world, iati="XM-TEST-BIG", summary=summary)).project
    harness.wait_published(suite, got.id, "projects")
    assert get(ps, id=got.id) == got                                      # miss: fills
    poll(lambda: len(suite.redis("GET", PROJECT_KEY % got.id) or b"") > 9000,
         what="the large project in Redis")
    assert get(ps, id=got.id) == got                                      # hit
    suite.redis("SET", PROJECT_KEY % got.id, b"\x0a\xff\xff" + b"x" * 9000)  # mangled
    assert get(ps, id=got.id) == got                                      # from the store


def test_create_sorts_pillars_and_ignores_output_only(ps, world):
    p = project(world, pillars=(P3, P2), id="prj_forgedforgedforgedfo", etag="forged")
    p.transactions.add(type=T.TRANSACTION_TYPE_DISBURSEMENT, date="2024-01-01",
                       value=P.Money(currency="USD", amount_minor=5))
    got = create(ps, p).project
    assert list(got.pillars) == [P2, P3]
    assert got.id != p.id and got.etag != "forged" and len(got.transactions) == 0


@pytest.mark.parametrize("change,field,code", [
    (lambda p: p.ClearField("title"), "project.title", C.INVALID_ARGUMENT),
    (lambda p: setattr(p, "iati_identifier", "XX-OTHER-1"), "project.iati_identifier",
     C.INVALID_ARGUMENT),
    (lambda p: setattr(p, "iati_identifier", "XM-TEST-a b"), "project.iati_identifier",
     C.INVALID_ARGUMENT),
    (lambda p: p.recipient_countries.append("UK"), "project.recipient_countries[1]",
     C.INVALID_ARGUMENT),
    (lambda p: p.recipient_countries.__setitem__(0, "ke"), "project.recipient_countries[0]",
     C.INVALID_ARGUMENT),
    (lambda p: p.recipient_countries.append("KE"), "project.recipient_countries[1]",
     C.INVALID_ARGUMENT),
    (lambda p: setattr(p, "global_scope", True), "project.recipient_countries",
     C.INVALID_ARGUMENT),
    (lambda p: p.ClearField("recipient_countries"), "project.recipient_countries",
     C.INVALID_ARGUMENT),
    (lambda p: setattr(p, "end_date", "2023-12-31"), "project.end_date", C.INVALID_ARGUMENT),
    (lambda p: setattr(p, "start_date", "2024-02-30"), "project.start_date",
     C.INVALID_ARGUMENT),
    (lambda p: setattr(p, "status", 7), "project.status", C.INVALID_ARGUMENT),
    (lambda p: p.ClearField("pillars"), "project.pillars", C.INVALID_ARGUMENT),
    (lambda p: p.pillars.append(P2), "project.pillars[1]", C.INVALID_ARGUMENT),
    (lambda p: p.ClearField("working_group_ids"), "project.working_group_ids",
     C.INVALID_ARGUMENT),
    (lambda p: p.working_group_ids.append(p.working_group_ids[0]),
     "project.working_group_ids[1]", C.INVALID_ARGUMENT),
    (lambda p: p.working_group_ids.append("BMLE"), "project.working_group_ids[1]",
     C.INVALID_ARGUMENT),
    (lambda p: setattr(p.participants[1], "role", 0), "project.participants[1].role",
     C.INVALID_ARGUMENT),
    (lambda p: [setattr(a, "role", FUNDING) for a in p.participants], "project.participants",
     C.INVALID_ARGUMENT),
    (lambda p: p.budget.CopyFrom(P.Money(currency="XXX", amount_minor=1)),
     "project.budget.currency", C.INVALID_ARGUMENT),
    (lambda p: p.budget.CopyFrom(P.Money(currency="USD", amount_minor=-1)),
     "project.budget.amount_minor", C.INVALID_ARGUMENT),
    (lambda p: p.results.add(type=4, title="x"), "project.results[0].type",
     C.INVALID_ARGUMENT),
    (lambda p: p.results.add(type=1, title="x").indicators.add(title="i"),
     "project.results[0].indicators[0].measure", C.INVALID_ARGUMENT),
], ids=["no-title", "iati-other-org", "iati-space", "country-UK", "country-lower",
        "country-repeat", "global-and-countries", "no-countries", "end-before-start",
        "bad-date", "bad-status", "no-pillar", "repeat-pillar", "no-group", "repeat-group",
        "group-not-an-id", "no-role", "no-lead", "currency-XXX", "negative-budget",
        "result-type", "indicator-measure"])
def test_create_invalid(suite, ps, world, change, field, code):
    p = project(world)
    change(p)
    c, msg = code_of(ps.CreateProject, P.CreateProjectRequest(project=p))
    assert c == code, msg
    assert msg.startswith(field + ":"), msg
    assert_nothing_written(suite, ps, world, [])


def test_create_without_project(ps):
    c, msg = code_of(ps.CreateProject, P.CreateProjectRequest())
    assert c == C.INVALID_ARGUMENT and "project" in msg


def test_iati_identifier_unique(suite, ps, world):
    first = create(ps, project(world)).project
    c, msg = code_of(create, ps, project(world, iati="xm-test-P1", org="xm-test"))
    assert c == C.ALREADY_EXISTS and first.id in msg
    assert_nothing_written(suite, ps, world, [("project.created", first.id, 1)])


def test_get_errors(ps, world):
    p = create(ps, project(world)).project
    assert code_of(get, ps, id="prj_bad")[0] == C.INVALID_ARGUMENT
    c, msg = code_of(get, ps, id=harness.unknown_id(p.id))
    assert c == C.NOT_FOUND and "id" in msg
    assert code_of(get, ps, iati_identifier="XM-NOPE-1")[0] == C.NOT_FOUND
    assert code_of(ps.GetProject, P.GetProjectRequest())[0] == C.INVALID_ARGUMENT


# ---- ids checked with membership and workgroups ------------------------------------

def test_unknown_and_withdrawn_entities(suite, ps, mb, world):
    p = project(world)
    ghost = harness.unknown_id(world["entity"]["UNOCT"])
    p.participants[1].entity_id = ghost
    c, msg = code_of(create, ps, p)
    assert c == C.INVALID_ARGUMENT
    assert msg.startswith("project.participants[1].entity_id:") and ghost in msg
    mb.WithdrawEntity(M.WithdrawEntityRequest(id=world["entity"]["WCO"]))
    p = project(world, partners=(("UNOCT", ACCOUNTABLE), ("WCO", IMPLEMENTING)))
    c, msg = code_of(create, ps, p)
    assert c == C.FAILED_PRECONDITION and "withdrawn" in msg and "WCO" in msg
    assert_nothing_written(suite, ps, world, [])


def test_unknown_and_closed_groups(suite, ps, wg, world):
    p = project(world)
    ghost = harness.unknown_id(world["group"]["BMLE"])
    p.working_group_ids[0] = ghost
    c, msg = code_of(create, ps, p)
    assert c == C.INVALID_ARGUMENT
    assert msg.startswith("project.working_group_ids[0]:") and ghost in msg
    g = wg.GetWorkingGroup(W.GetWorkingGroupRequest(code="ETCIP"))
    g.status = W.GROUP_STATUS_CLOSED
    wg.UpdateWorkingGroup(W.UpdateWorkingGroupRequest(
        group=g, update_mask=field_mask_pb2.FieldMask(paths=["status"])))
    c, msg = code_of(create, ps, project(world, groups=("BMLE", "ETCIP")))
    assert c == C.FAILED_PRECONDITION and "ETCIP" in msg and "closed" in msg
    assert_nothing_written(suite, ps, world, [])


def test_membership_stopped_then_back(suite, ps, world):
    p = create(ps, project(world)).project
    suite.stop("membership")
    c, msg = code_of(create, ps, project(world, iati="XM-TEST-P2"))
    assert c == C.UNAVAILABLE and "membership" in msg
    # Adding a partner needs membership; a change that adds no id does not.
    p2 = P.Project(id=p.id, participants=list(p.participants) + [
        P.Participant(entity_id=world["entity"]["CTED"], role=IMPLEMENTING)])
    assert code_of(update, ps, p2, ["participants"])[0] == C.UNAVAILABLE
    renamed = update(ps, P.Project(id=p.id, title="Renamed"), ["title"])
    assert renamed.title == "Renamed"
    assert [x.id for x in list_all(ps)] == [p.id]
    suite.start("membership")
    # The channel reconnects by itself: no restart of projects.
    again = poll(lambda: _try(lambda: create(ps, project(world, iati="XM-TEST-P2"))),
                 what="CreateProject once membership is back")
    assert again.project.iati_identifier == "XM-TEST-P2"
    assert update(ps, p2, ["participants"]).participants[-1].entity_id == world["entity"]["CTED"]


def _try(fn):
    try:
        return fn()
    except grpc.RpcError as e:
        if e.code() != C.UNAVAILABLE:
            raise
        return None


def test_workgroups_stopped_then_back(suite, ps, world):
    suite.stop("workgroups")
    c, msg = code_of(create, ps, project(world))
    assert c == C.UNAVAILABLE and "workgroups" in msg
    assert list_all(ps) == []
    suite.start("workgroups")
    got = poll(lambda: _try(lambda: create(ps, project(world))),
               what="CreateProject once workgroups is back")
    assert got.project.id


@pytest.mark.suite(services=("membership", "workgroups", "projects"),
                   env={"projects": {"COMPACT_PEER_TIMEOUT_MS": "500"}})
def test_membership_hung_deadline(suite, ps, world):
    suite.signal("membership", signal.SIGSTOP)
    try:
        c, msg = code_of(create, ps, project(world))
        assert c == C.DEADLINE_EXCEEDED and "membership" in msg
    finally:
        suite.signal("membership", signal.SIGCONT)
    assert list_all(ps) == []
    assert create(ps, project(world)).project.id


# ---- ListProjects -------------------------------------------------------------------

def test_list_filters_and_pages(suite, ps, world):
    seeded = load_seed(ps, world)
    everything = list_all(ps)
    assert [p.iati_identifier for p in everything] == sorted(seeded, key=str.lower)
    ids = lambda **f: sorted(p.iati_identifier for p in list_all(ps, **f))
    # What each filter must list, from the seed file itself; every one of
    # them leaves some seed projects out.
    for got, want in [
            (ids(working_group_id=world["group"]["RMME"]), seed_matching(group="RMME")),
            (ids(entity_id=world["entity"]["IPU"]), seed_matching(entity="IPU")),
            (ids(country="PH"), seed_matching(country="PH")),
            (ids(pillar=P4), seed_matching(pillar=P4)),
            (ids(status=CLOSED), seed_matching(status=CLOSED)),
            (ids(text="PASSENGER"), seed_matching(text="passenger")),
            (ids(text="aviation security"), seed_matching(text="aviation security")),  # a theme
            (ids(pillar=P2, working_group_id=world["group"]["BMLE"]),
             seed_matching(pillar=P2, group="BMLE"))]:
        assert got == want and len(want) < len(seeded)
    pages = []
    rep = ps.ListProjects(P.ListProjectsRequest(page_size=3))
    while True:
        pages.append([p.id for p in rep.projects])
        if not rep.next_page_token:
            break
        rep = ps.ListProjects(P.ListProjectsRequest(page_size=3,
                                                    page_token=rep.next_page_token))
    assert [len(x) for x in pages] == [min(3, len(seeded) - i) for i in range(0, len(seeded), 3)]
    assert len(pages) > 1
    assert sum(pages, []) == [p.id for p in everything]
    token = ps.ListProjects(P.ListProjectsRequest(page_size=1)).next_page_token
    c, msg = code_of(ps.ListProjects, P.ListProjectsRequest(page_token=token, status=CLOSED))
    assert c == C.INVALID_ARGUMENT and "page_token" in msg
    for bad, field in [(dict(country="XK"), "country"), (dict(entity_id="UNOCT"), "entity_id"),
                       (dict(working_group_id="wg_x"), "working_group_id"),
                       (dict(pillar=9), "pillar"), (dict(status=8), "status"),
                       (dict(page_size=-1), "page_size"),
                       (dict(page_token="garbage"), "page_token")]:
        c, msg = code_of(ps.ListProjects, P.ListProjectsRequest(**bad))
        assert c == C.INVALID_ARGUMENT and msg.startswith(field), (bad, msg)


def test_pages_hold_under_concurrent_writes(suite, ps, world):
    """Keyset paging (page.h): projects created and changed between two
    pages neither repeat nor hide a project that was there when the listing
    began. One created before the cursor is not listed; one created after it
    is, once, in its place."""
    load_seed(ps, world)
    before = [p.id for p in list_all(ps)]
    seen, late, earlies, token, n = [], [], [], "", 0
    while True:
        rep = ps.ListProjects(P.ListProjectsRequest(page_size=2, page_token=token))
        seen += [p.id for p in rep.projects]
        token = rep.next_page_token
        if not token:
            break
        n += 1
        # between pages: one project sorting before every other, one after,
        # and money on the last project listed (a write that moves nothing)
        early = create(ps, project(world, iati="AA-TEST-%d" % n, org="AA-TEST",
                                   title="Early project %d" % n)).project
        late.append(create(ps, project(world, iati="ZZ-TEST-%d" % n, org="ZZ-TEST",
                                       title="Late project %d" % n)).project.id)
        record(ps, rep.projects[-1].id, T.TRANSACTION_TYPE_DISBURSEMENT, 1000 + n)
        earlies.append(early.id)
    assert n >= 3 and len(seen) == len(set(seen))
    assert [i for i in seen if i in set(before)] == before
    assert [i for i in seen if i not in set(before)] == late
    assert not set(earlies) & set(seen)
    assert len(list_all(ps)) == len(before) + 2 * n


@pytest.mark.suite(services=("membership", "workgroups", "projects"), metrics=("projects",))
def test_listed_projects_are_current(suite, ps, world):
    """ListProjects keeps the projects it packed, by version (msgcache.h): a
    project changed after a listing (money recorded, its title updated) is
    listed as it now is, exactly as GetProject answers it, and the others as
    they were. The second listing of the same projects comes from memory."""
    load_seed(ps, world)
    first = {p.id: p for p in list_all(ps, page_size=5)}
    before = suite.metrics("projects")
    assert {p.id: p for p in list_all(ps, page_size=5)} == first  # again, from the cache
    after = suite.metrics("projects")
    hits = "compact_projects_list_cache_hits_total"
    assert after[hits] - before[hits] >= len(first)
    assert after["compact_projects_list_cache_bytes"] > 0
    changed = sorted(first)[:3]
    for pid in changed:
        record(ps, pid, T.TRANSACTION_TYPE_DISBURSEMENT, 4242)
    update(ps, P.Project(id=changed[0], title="Retitled after the listing"), ["title"])
    now = {p.id: p for p in list_all(ps, page_size=5)}
    assert set(now) == set(first)
    for pid, p in now.items():
        assert p == get(ps, id=pid)
    for pid in changed:
        assert now[pid].etag != first[pid].etag
        assert len(now[pid].transactions) == len(first[pid].transactions) + 1
    assert now[changed[0]].title == "Retitled after the listing"
    assert all(now[pid] == first[pid] for pid in set(first) - set(changed))


# ---- UpdateProject --------------------------------------------------------------

def test_update(suite, ps, mb, world):
    p = create(ps, project(world)).project
    get(ps, id=p.id)                                   # now cached
    changed = P.Project(id=p.id, title="Border security and API/PNR training",
                        recipient_countries=["KE", "UG"], end_date="", status=CLOSED)
    up = update(ps, changed, ["title", "recipientCountries", "end_date", "status"],
                etag=p.etag)
    assert up.title == changed.title and list(up.recipient_countries) == ["KE", "UG"]
    assert up.end_date == "" and up.status == CLOSED and up.etag != p.etag
    assert up.summary == p.summary and list(up.participants) == list(p.participants)
    assert get(ps, id=p.id) == up                      # the cache was invalidated
    c, msg = code_of(update, ps, changed, ["title"], etag=p.etag)
    assert c == C.ABORTED and "etag" in msg
    # A partner that withdrew later does not block edits that keep it.
    mb.WithdrawEntity(M.WithdrawEntityRequest(id=world["entity"]["INTERPOL"]))
    assert update(ps, P.Project(id=p.id, summary="Still with INTERPOL"), ["summary"]).summary
    assert update(ps, P.Project(id=p.id, global_scope=True), ["global_scope",
                                                             "recipient_countries"]).global_scope
    events = [("project.created", p.id, 1), ("project.updated", p.id, 2),
              ("project.updated", p.id, 3), ("project.updated", p.id, 4)]
    for paths, field in [([], "update_mask"), (["nope"], "update_mask"),
                         (["id"], "update_mask"), (["iati_identifier"], "update_mask"),
                         (["transactions"], "update_mask"), (["results"], "update_mask"),
                         (["title"], "project.title")]:
        c, msg = code_of(update, ps, P.Project(id=p.id), paths)
        assert c == C.INVALID_ARGUMENT and msg.startswith(field), (paths, msg)
    c, msg = code_of(update, ps, P.Project(id=p.id, global_scope=False), ["global_scope"])
    assert c == C.INVALID_ARGUMENT and "recipient_countries" in msg
    c, msg = code_of(update, ps, P.Project(id=harness.unknown_id(p.id), title="x"), ["title"])
    assert c == C.NOT_FOUND and "project.id" in msg
    assert_nothing_written(suite, ps, world, events)


# ---- RecordTransaction ---------------------------------------------------------

def test_record_transactions_and_totals(suite, ps, world):
    p = create(ps, project(world)).project
    record(ps, p.id, T.TRANSACTION_TYPE_INCOMING_PLEDGE, 500000, provider_name="Qatar")
    record(ps, p.id, T.TRANSACTION_TYPE_INCOMING_COMMITMENT, 300000, provider_name="Qatar")
    record(ps, p.id, T.TRANSACTION_TYPE_INCOMING_COMMITMENT, 100000, catalytic=True,
           provider_entity_id=world["entity"]["UNOCT"])
    record(ps, p.id, T.TRANSACTION_TYPE_INCOMING_FUNDS, 250000)
    record(ps, p.id, T.TRANSACTION_TYPE_DISBURSEMENT, 120000)
    record(ps, p.id, T.TRANSACTION_TYPE_EXPENDITURE, 80000, date="2024-03-01")
    record(ps, p.id, T.TRANSACTION_TYPE_EXPENDITURE, -5000, date="2024-03-02",
           description="correction")
    last = record(ps, p.id, T.TRANSACTION_TYPE_INCOMING_COMMITMENT, 7000, currency="EUR",
                  provider_name="European Union")
    assert [(t.currency, t.pledged_minor, t.committed_minor, t.received_minor,
             t.disbursed_minor, t.spent_minor, t.catalytic_minor) for t in last.totals] == [
        ("EUR", 0, 7000, 0, 0, 0, 0), ("USD", 500000, 400000, 250000, 120000, 75000, 100000)]
    assert len(last.transactions) == 8
    assert all(t.id.startswith("trn_") and t.record_time.seconds for t in last.transactions)
    unoct = [t for t in last.transactions if t.WhichOneof("provider") == "provider_entity_id"]
    assert unoct[0].provider_entity_id == world["entity"]["UNOCT"] and unoct[0].catalytic
    assert get(ps, id=p.id) == last
    events = [("project.created", p.id, 1)] + [
        ("project.transaction_recorded", p.id, i) for i in range(2, 10)]
    bad = [
        (dict(type_=T.TRANSACTION_TYPE_EXPENDITURE, amount=-100000), C.FAILED_PRECONDITION,
         "transaction.value.amount_minor"),
        (dict(type_=T.TRANSACTION_TYPE_EXPENDITURE, amount=0), C.INVALID_ARGUMENT,
         "transaction.value.amount_minor"),
        (dict(type_=0, amount=5), C.INVALID_ARGUMENT, "transaction.type"),
        (dict(type_=14, amount=5), C.INVALID_ARGUMENT, "transaction.type"),
        (dict(type_=1, amount=5, currency="usd"), C.INVALID_ARGUMENT,
         "transaction.value.currency"),
        (dict(type_=1, amount=5, date="2024-13-01"), C.INVALID_ARGUMENT, "transaction.date"),
        (dict(type_=1, amount=10 ** 15), C.INVALID_ARGUMENT, "transaction.value.amount_minor"),
        (dict(type_=1, amount=5, provider_entity_id=harness.unknown_id(world["entity"]["UNOCT"])),
         C.INVALID_ARGUMENT, "transaction.provider_entity_id"),
        (dict(type_=1, amount=5, etag=p.etag), C.ABORTED, "etag"),
    ]
    for kw, code, field in bad:
        c, msg = code_of(record, ps, p.id, **kw)
        assert c == code and msg.startswith(field), (kw, msg)
    c, msg = code_of(record, ps, harness.unknown_id(p.id), 1, 5)
    assert c == C.NOT_FOUND and "project_id" in msg
    c, msg = code_of(ps.RecordTransaction, P.RecordTransactionRequest(project_id=p.id))
    assert c == C.INVALID_ARGUMENT and "transaction" in msg
    assert_nothing_written(suite, ps, world, events)


# ---- results and indicators ------------------------------------------------------

def test_results_indicators_and_states(suite, ps, world):
    p = create(ps, project(world)).project
    r = ps.AddResult(P.AddResultRequest(project_id=p.id, result=P.Result(
        type=P.RESULT_TYPE_OUTCOME, title="Borders are safer", indicators=[
            P.Indicator(title="States with a passenger information unit",
                        measure=P.INDICATOR_MEASURE_UNIT)])))
    res = r.results[0]
    up_id = res.indicators[0].id
    r = ps.AddIndicator(P.AddIndicatorRequest(project_id=p.id, result_id=res.id,
                                              indicator=P.Indicator(
        title="Incidents at border posts", measure=P.INDICATOR_MEASURE_UNIT, descending=True)))
    down_id = r.results[0].indicators[1].id
    r = ps.AddIndicator(P.AddIndicatorRequest(project_id=p.id, result_id=res.id,
                                              indicator=P.Indicator(
        title="Quality of cooperation", measure=P.INDICATOR_MEASURE_QUALITATIVE)))
    qual_id = r.results[0].indicators[2].id

    def report(ind, start, end, etag="", **values):
        return ps.ReportIndicatorValue(P.ReportIndicatorValueRequest(
            project_id=p.id, indicator_id=ind, period_start=start, period_end=end, etag=etag,
            **{k: P.IndicatorValue(value=v) for k, v in values.items()}))

    def state(rep, ind):
        return [i.state for x in rep.results for i in x.indicators if i.id == ind][0]

    rep = report(up_id, "2024-01-01", "2024-12-31", target=10)
    assert state(rep, up_id) == NO_DATA                   # a target, no actual yet
    rep = report(up_id, "2024-01-01", "2024-12-31", actual=9)
    assert state(rep, up_id) == ON_TRACK                  # 9 >= 90% of 10
    rep = report(up_id, "2025-01-01", "2025-12-31", target=20, actual=17.9)
    assert state(rep, up_id) == OFF_TRACK                 # the latest period decides
    rep = report(up_id, "2023-01-01", "2023-12-31", target=5, actual=5)
    assert state(rep, up_id) == OFF_TRACK                 # an older period does not
    periods = [x for x in rep.results[0].indicators if x.id == up_id][0].periods
    assert [q.period_start for q in periods] == ["2023-01-01", "2024-01-01", "2025-01-01"]
    rep = report(down_id, "2024-01-01", "2024-12-31", target=10, actual=11)
    assert state(rep, down_id) == ON_TRACK                # lower is better, within 10%
    rep = report(down_id, "2024-01-01", "2024-12-31", actual=12)
    assert state(rep, down_id) == OFF_TRACK
    rep = report(qual_id, "2024-01-01", "2024-12-31", target=1, actual=1)
    assert state(rep, qual_id) == NO_DATA                 # no numeric rule
    assert get(ps, id=p.id) == rep
    n_events = 1 + 3 + 7
    assert len(harness.wait_events(suite, n_events, service=STREAM)) == n_events
    events = summary(suite)
    types = [t for t, _, _ in events]
    assert types.count("project.indicator_reported") == 7
    assert types.count("project.updated") == 3

    bad = [
        (lambda: report(up_id, "2024-06-01", "2025-06-30", actual=1), C.FAILED_PRECONDITION,
         "period_start"),
        (lambda: report(up_id, "2024-01-01", "2023-12-31", actual=1), C.INVALID_ARGUMENT,
         "period_end"),
        (lambda: report(up_id, "2026-01-01", "2026-12-31"), C.INVALID_ARGUMENT, "actual"),
        (lambda: report(up_id, "2026-01-01", "2026-12-31", actual=float("nan")),
         C.INVALID_ARGUMENT, "actual.value"),
        (lambda: report(harness.unknown_id(up_id), "2026-01-01", "2026-12-31", actual=1),
         C.NOT_FOUND, "indicator_id"),
        (lambda: report(up_id, "2026-01-01", "2026-12-31", etag=p.etag, actual=1), C.ABORTED,
         "etag"),
        (lambda: ps.AddIndicator(P.AddIndicatorRequest(
            project_id=p.id, result_id=harness.unknown_id(res.id),
            indicator=P.Indicator(title="x", measure=1))), C.NOT_FOUND, "result_id"),
        (lambda: ps.AddIndicator(P.AddIndicatorRequest(
            project_id=p.id, result_id=res.id, indicator=P.Indicator(title="x"))),
         C.INVALID_ARGUMENT, "indicator.measure"),
        (lambda: ps.AddResult(P.AddResultRequest(project_id=p.id, result=P.Result(
            type=P.RESULT_TYPE_IMPACT))), C.INVALID_ARGUMENT, "result.title"),
        (lambda: ps.AddResult(P.AddResultRequest(
            project_id=harness.unknown_id(p.id), result=P.Result(type=1, title="t"))),
         C.NOT_FOUND, "project_id"),
    ]
    for call, code, field in bad:
        c, msg = code_of(call)
        assert c == code and msg.startswith(field), (field, msg)
    assert_nothing_written(suite, ps, world, events)


# ---- FindOverlaps -----------------------------------------------------------------

def near_duplicates(world):
    """Drafts that repeat a seed project: (draft, the IATI id it repeats)."""
    e, g = world["entity"], world["group"]
    travel = P.Project(
        title="Countering terrorist travel: API and PNR passenger data systems in East Africa",
        summary="Builds the capacity of border agencies to collect and analyse Advance "
                "Passenger Information and Passenger Name Record data to detect terrorist "
                "travel, with goTravel and passenger information units.",
        working_group_ids=[g["BMLE"]],
        participants=[P.Participant(entity_id=e[a], role=IMPLEMENTING)
                      for a in ("UNOCT", "ICAO", "INTERPOL")],
        recipient_countries=["KE", "UG", "ET"], pillars=[P2, P3], start_date="2024-01-01",
        end_date="2026-12-31", themes=["API/PNR", "terrorist travel"])
    weapons = P.Project(
        title="Preventing terrorists from acquiring weapons: regional workshops on the "
              "resolution 2370 guidelines",
        summary="Regional workshops with Member States on the technical guidelines to "
                "implement Security Council resolution 2370 on preventing terrorists from "
                "acquiring weapons, small arms and explosives.",
        working_group_ids=[g["BMLE"]],
        participants=[P.Participant(entity_id=e["CTED"], role=ACCOUNTABLE),
                      P.Participant(entity_id=e["UNIDIR"], role=IMPLEMENTING)],
        global_scope=True, pillars=[P2], start_date="2023-01-01", end_date="2024-06-30")
    infrastructure = P.Project(
        title="Good practices for protecting critical infrastructure against terrorist attacks",
        summary="Updating the compendium of good practices on the protection of critical "
                "infrastructure such as energy and transport systems against terrorist attacks.",
        working_group_ids=[g["ETCIP"]],
        participants=[P.Participant(entity_id=e["UNOCT"], role=ACCOUNTABLE),
                      P.Participant(entity_id=e["INTERPOL"], role=IMPLEMENTING)],
        global_scope=True, pillars=[P2, P3], start_date="2018-01-01", end_date="2019-12-31")
    return [(travel, "XM-COMPACT-CTTP"), (weapons, "XM-COMPACT-SCR2370-GUIDELINES"),
            (infrastructure, "XM-COMPACT-CIP-COMPENDIUM")]


def non_duplicates(world):
    """Real Compact work that none of the seed projects does."""
    e, g = world["entity"], world["group"]
    gender = P.Project(
        title="Gender-sensitive approaches for women police officers in the Sahel",
        summary="Mentoring and leadership training for women in national police forces, "
                "and gender analysis of counter-terrorism strategies.",
        working_group_ids=[g["GENDER"]],
        participants=[P.Participant(entity_id=e["UN Women"], role=ACCOUNTABLE)],
        recipient_countries=["ML", "NE", "BF"], pillars=[P4], start_date="2024-01-01",
        end_date="2025-12-31", themes=["gender"])
    maritime = P.Project(
        title="Maritime security of ports against piracy and smuggling",
        summary="Port facility security assessments and ship inspections with coast guards.",
        participants=[P.Participant(entity_id=e["IMO"], role=ACCOUNTABLE)],
        recipient_countries=["SO", "YE"], pillars=[P3], start_date="2025-01-01")
    return [gender, maritime]


def test_find_overlaps_realistic(suite, ps, world):
    seeded = load_seed(ps, world)
    for draft, original in near_duplicates(world):
        found = overlaps(ps, draft=draft, include_closed=True)
        assert found[0].iati_identifier == original, (draft.title, found)
        assert found[0].likely_duplicate and found[0].score >= 0.5, found[0]
        assert all(not o.likely_duplicate for o in found[1:]), found
        reasons = {r.factor for r in found[0].reasons}
        assert P.OVERLAP_FACTOR_TEXT in reasons and P.OVERLAP_FACTOR_WORKING_GROUP in reasons
        text = [r for r in found[0].reasons if r.factor == P.OVERLAP_FACTOR_TEXT][0]
        assert text.shared and text.detail
        assert [r.contribution for r in found[0].reasons] == sorted(
            (r.contribution for r in found[0].reasons), reverse=True)
    for draft in non_duplicates(world):
        rep = ps.FindOverlaps(P.FindOverlapsRequest(draft=draft, include_closed=True,
                                                    min_score=0.01))
        found = rep.overlaps
        # Compared with every seed project, and some come back (with a
        # score this low), so that the checks below have something to check.
        assert rep.projects_compared == len(seeded) and found, (draft.title, rep)
        assert not any(o.likely_duplicate for o in found), (draft.title, found)
        assert all(o.score < 0.3 for o in found), (draft.title, found)
    # Closed projects are left out unless asked for.
    infrastructure, closed = near_duplicates(world)[2]
    assert seed_facts()[closed]["status"] == CLOSED
    assert closed not in [o.iati_identifier for o in overlaps(ps, draft=infrastructure)]
    # A saved project is compared with the others, never with itself.
    cttp = seeded["XM-COMPACT-CTTP"]
    rep = ps.FindOverlaps(P.FindOverlapsRequest(project_id=cttp.id, include_closed=True,
                                                min_score=0.01, limit=100))
    assert cttp.id not in [o.project_id for o in rep.overlaps]
    assert rep.projects_compared == len(seeded) - 1
    # First comes a seed project of CTTP's own working group.
    facts = seed_facts()
    same_group = [i for i, f in facts.items()
                  if i != "XM-COMPACT-CTTP" and f["groups"] & facts["XM-COMPACT-CTTP"]["groups"]]
    assert same_group and rep.overlaps[0].iati_identifier in same_group, (same_group, rep)
    assert not rep.overlaps[0].likely_duplicate
    # Creating the near-duplicate warns but does not refuse.
    travel = near_duplicates(world)[0][0]
    travel.iati_identifier, travel.reporting_org_ref = "XM-TEST-TRAVEL-EA", "XM-TEST"
    travel.status = IMPLEMENTATION
    rep = create(ps, travel)
    assert [o.iati_identifier for o in rep.likely_duplicates] == ["XM-COMPACT-CTTP"]
    assert get(ps, id=rep.project.id).title == travel.title
    # ... and the index has it at once; after a restart it is rebuilt from SQLite.
    before = overlaps(ps, draft=near_duplicates(world)[0][0], limit=3)
    assert rep.project.id in [o.project_id for o in before]
    suite.restart("projects")
    ps = suite.stub("projects")
    assert overlaps(ps, draft=near_duplicates(world)[0][0], limit=3) == before


def test_find_overlaps_errors(ps, world):
    p = create(ps, project(world)).project
    for req, code, field in [
        (P.FindOverlapsRequest(), C.INVALID_ARGUMENT, "subject"),
        (P.FindOverlapsRequest(draft=P.Project()), C.INVALID_ARGUMENT, "draft"),
        (P.FindOverlapsRequest(draft=P.Project(recipient_countries=["ZZ"])),
         C.INVALID_ARGUMENT, "draft.recipient_countries[0]"),
        (P.FindOverlapsRequest(project_id="prj_nope"), C.INVALID_ARGUMENT, "project_id"),
        (P.FindOverlapsRequest(project_id=harness.unknown_id(p.id)), C.NOT_FOUND, "project_id"),
        (P.FindOverlapsRequest(draft=P.Project(title="x"), limit=-1), C.INVALID_ARGUMENT,
         "limit"),
        (P.FindOverlapsRequest(draft=P.Project(title="x"), min_score=1.5), C.INVALID_ARGUMENT,
         "min_score"),
    ]:
        c, msg = code_of(ps.FindOverlaps, req)
        assert c == code and msg.startswith(field), (req, msg)
    # A draft with only a title is compared on its words alone.
    rep = ps.FindOverlaps(P.FindOverlapsRequest(draft=P.Project(title="border security"),
                                                limit=500))
    assert [o.project_id for o in rep.overlaps] == [p.id] and rep.projects_compared == 1


# ---- events --------------------------------------------------------------------

def test_events_carry_the_project(suite, ps, world):
    p = create(ps, project(world)).project
    u = update(ps, P.Project(id=p.id, title="Renamed"), ["title"])
    entries = harness.wait_events(suite, 2, service=STREAM)
    evs = [harness.decode_event(f) for _, f in entries]
    assert [(e.type, e.aggregate_type, e.aggregate_sequence) for e in evs] == [
        ("project.created", "project", 1), ("project.updated", "project", 2)]
    assert evs[1].state_type == "compact.projects.v1.Project"
    state = P.Project()
    state.ParseFromString(evs[1].state)
    assert state == u
