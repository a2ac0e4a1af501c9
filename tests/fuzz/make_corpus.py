#!/usr/bin/python3
"""make_corpus.py: writes the seed corpus of the libFuzzer harnesses.

    /usr/bin/python3 tests/fuzz/make_corpus.py

Every file of tests/fuzz/corpus/<target>/ is written here, from scratch,
except the regression inputs (files named regress-*: inputs that once found
a bug, kept as they are). Seeds are small and deterministic, so running the
script again changes nothing unless the script or the APIs changed.

The requests are built with the Python classes protoc generates from proto/
(as tests/integration/harness.py does), so they are what a real client
sends. They name the harnesses' fixtures (the ids and keys below, which
tests/fuzz/fuzz_<service>.c writes into each fresh store), so that most of
them get past NOT_FOUND to the handlers' rules; `COMPACT_LOG_LEVEL=debug
build-fuzz/tests/fuzz/fuzz_<service> FILE...` shows what each one got.

Input formats (each harness's header says more):
  membership, workgroups, projects  one byte: the row of the service's method
                                     table (services/<svc>/<svc>_service.c),
                                     then the request's bytes
  page_token    one byte (key buffer and page size), then the token's text
  cached_entry  one byte (service, key, path), then the cache entry's bytes
  metrics_http  one byte of flags (0x01: half-close), then the HTTP bytes
"""
import base64
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")

# The harnesses' fixtures (tests/fuzz/fuzz_<service>.c).
ENT_ACTIVE = "ent_aaaaaaaaaaaaaaaaaaaa"     # UNOCT
ENT_WITHDRAWN = "ent_bbbbbbbbbbbbbbbbbbbb"  # OLDORG
ENT_VICE = "ent_cccccccccccccccccccc"       # workgroups: vice-chair; projects: donor
ENT_OBSERVER = "ent_dddddddddddddddddddd"   # workgroups: an observer member
ENT_OTHER = "ent_eeeeeeeeeeeeeeeeeeee"      # in no fixture
GROUP = "wg_aaaaaaaaaaaaaaaaaaaa"           # BMLE, active
GROUP_CLOSED = "wg_bbbbbbbbbbbbbbbbbbbb"    # OLD, closed
ITEM = "wpi_aaaaaaaaaaaaaaaaaaaa"
DECISION = "dec_aaaaaaaaaaaaaaaaaaaa/effects/1"  # workgroups: on the terms of reference
SUBSCRIPTION = "sub_aaaaaaaaaaaaaaaaaaaa"   # workgroups: the observer's, of BMLE
PROJECT = "prj_aaaaaaaaaaaaaaaaaaaa"        # XM-DAC-47066-FUZZ-1
PROJECT_CLOSED = "prj_bbbbbbbbbbbbbbbbbbbb"  # XM-DAC-47066-FUZZ-2
RESULT = "res_aaaaaaaaaaaaaaaaaaaa"
INDICATOR = "ind_aaaaaaaaaaaaaaaaaaaa"


# ---- generated message modules ------------------------------------------------

def load_protos():
    """The generated module of every proto under proto/, by its path."""
    gen = tempfile.mkdtemp(prefix="compact-fuzz-pb-")
    try:
        root = os.path.join(ROOT, "proto")
        protos = sorted(os.path.relpath(os.path.join(d, f), root)
                        for d, _, files in os.walk(root) for f in files
                        if f.endswith(".proto"))
        subprocess.run(["protoc", "-I" + root, "-I/usr/include", "--python_out=" + gen]
                       + protos, check=True)
        sys.path.insert(0, gen)
        mods = {}
        # The proto package "grpc" would clash with grpcio's: load by file.
        for p in protos:
            name = "compact_fuzz_pb." + p[:-len(".proto")].replace("/", ".") + "_pb2"
            spec = importlib.util.spec_from_file_location(
                name, os.path.join(gen, p[:-len(".proto")] + "_pb2.py"))
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
            mods[p] = mod
        return mods
    finally:
        shutil.rmtree(gen, True)


PB = load_protos()
M = PB["compact/membership/v1/membership.proto"]
W = PB["compact/workgroups/v1/workgroups.proto"]
P = PB["compact/projects/v1/projects.proto"]
PV = PB["compact/common/v1/provenance.proto"]
SOURCE = PV.Source(publisher="United Nations Office of Counter-Terrorism (UNOCT)",
                   title="UN Global Counter-Terrorism Coordination Compact", date="2022-04",
                   url="https://www.un.org/counterterrorism/global-ct-compact")
from google.protobuf import field_mask_pb2, timestamp_pb2  # noqa: E402 (after sys.path)


def mask(*paths):
    return field_mask_pb2.FieldMask(paths=list(paths))


# ---- page tokens, as common/handler/page.c makes them ------------------------

FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211


def fnv1a(h, data):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) % (1 << 64)
    return h


def filter_hash(values):
    h = FNV_OFFSET
    for v in values:
        b = v.encode()
        h = fnv1a(h, len(b).to_bytes(8, "little"))
        h = fnv1a(h, b)
    return h


def page_token(values, key, version=1, corrupt=False):
    raw = bytes([version]) + filter_hash(values).to_bytes(8, "big") + key.encode()
    h = fnv1a(fnv1a(FNV_OFFSET, b"compact-page-token"), raw)
    raw += ((h ^ (h >> 32)) & 0xffffffff ^ (1 if corrupt else 0)).to_bytes(4, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# ---- writing --------------------------------------------------------------------

def reset(target):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if not f.startswith("regress-"):
            os.remove(os.path.join(d, f))
    return d


def write(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def method_rows(service):
    """The method table's names in order, from services/<svc>/<svc>_service.c."""
    with open(os.path.join(ROOT, "services", service, service + "_service.c")) as f:
        return re.findall(r'\{\.name = "(\w+)", \.handler', f.read())


def service_corpus(service, seeds):
    """seeds: (method, tag, message or raw bytes) triples."""
    d = reset(service)
    rows = method_rows(service)
    for method, tag, msg in seeds:
        body = msg if isinstance(msg, bytes) else msg.SerializeToString()
        write(d, "%s-%s" % (method, tag), bytes([rows.index(method)]) + body)
    # One input that does not decode: the server refuses it before any handler.
    write(d, "undecodable", bytes([0]) + b"\x0a\xff\xff\xff\xff\x0f")
    return len(seeds) + 1


# ---- membership ------------------------------------------------------------------

def membership():
    fp = M.FocalPoint(name="Jane Doe", title="Officer", email="jane.doe@example.org")
    new = M.Entity(acronym="UNODC", name="United Nations Office on Drugs and Crime",
                   kind=M.ENTITY_KIND_UN_ENTITY, joined_on="2017-06-15", focal_points=[fp],
                   verified=True, source_note="The Compact's list of entities.")
    filters = ["membership.entities", "0", "0", "0", "", "0"]
    period = M.Participation(
        role=M.PARTICIPATION_ROLE_MEMBER, from_date="2018-02-23", to_date="2021-10-08",
        provenance=[PV.Provenance(field="from_date", status=PV.FACT_STATUS_CONFIRMED,
                                  source=SOURCE)])
    facts = [PV.Provenance(field="participation", status=PV.FACT_STATUS_CONFIRMED, source=SOURCE),
             PV.Provenance(field="affiliation", status=PV.FACT_STATUS_ASSUMED, note="assumed")]
    history = M.Entity(acronym="IPU", name="Inter-Parliamentary Union",
                       affiliation=M.AFFILIATION_NON_UN,
                       participation=[period, M.Participation(
                           role=M.PARTICIPATION_ROLE_OBSERVER, from_date="2021-10-08")],
                       provenance=facts)
    return service_corpus("membership", [
        ("CreateEntity", "history", M.CreateEntityRequest(entity=history)),
        ("CreateEntity", "overlapping-periods", M.CreateEntityRequest(entity=M.Entity(
            acronym="X", name="X", affiliation=M.AFFILIATION_UN_SYSTEM,
            participation=[M.Participation(role=M.PARTICIPATION_ROLE_MEMBER,
                                           from_date="2020-01-01", to_date="2021-01-01"),
                           M.Participation(role=M.PARTICIPATION_ROLE_MEMBER,
                                           from_date="2020-06-01")]))),
        ("CreateEntity", "bad-fact", M.CreateEntityRequest(entity=M.Entity(
            acronym="Y", name="Y", affiliation=M.AFFILIATION_UN_SYSTEM,
            provenance=[PV.Provenance(field="participation.role",
                                      status=PV.FACT_STATUS_CONFIRMED)]))),
        ("ListEntities", "as-of", M.ListEntitiesRequest(
            as_of_date="2022-04-30", role=M.PARTICIPATION_ROLE_MEMBER,
            affiliation=M.AFFILIATION_UN_SYSTEM)),
        ("UpdateEntity", "participation", M.UpdateEntityRequest(
            entity=M.Entity(id=ENT_ACTIVE, affiliation=M.AFFILIATION_NON_UN,
                            participation=[period], provenance=facts),
            update_mask=mask("affiliation", "participation", "provenance"))),
        ("UpdateEntity", "legacy-kind", M.UpdateEntityRequest(
            entity=M.Entity(id=ENT_ACTIVE, kind=M.ENTITY_KIND_OBSERVER, joined_on="2019-01-01"),
            update_mask=mask("kind", "joined_on"))),
        ("CountEntities", "day", M.CountEntitiesRequest(as_of_date="2018-02-23")),
        ("CountEntities", "today", M.CountEntitiesRequest()),
        ("CreateEntity", "valid", M.CreateEntityRequest(entity=new)),
        ("CreateEntity", "acronym-taken", M.CreateEntityRequest(
            entity=M.Entity(acronym="unoct", name="Again", kind=M.ENTITY_KIND_OBSERVER))),
        ("CreateEntity", "bad-email", M.CreateEntityRequest(entity=M.Entity(
            acronym="WCO", name="World Customs Organization", kind=M.ENTITY_KIND_NON_UN_MEMBER,
            focal_points=[M.FocalPoint(name="X", email="not-an-address")]))),
        ("CreateEntity", "empty", M.CreateEntityRequest()),
        ("GetEntity", "id", M.GetEntityRequest(id=ENT_ACTIVE)),
        ("GetEntity", "acronym", M.GetEntityRequest(acronym="unoct")),
        ("GetEntity", "unknown", M.GetEntityRequest(id=ENT_OTHER)),
        ("GetEntity", "bad-id", M.GetEntityRequest(id="ent_UPPER")),
        ("ListEntities", "all", M.ListEntitiesRequest()),
        ("ListEntities", "withdrawn", M.ListEntitiesRequest(
            kind=M.ENTITY_KIND_OBSERVER, status=M.ENTITY_STATUS_WITHDRAWN, page_size=1)),
        ("ListEntities", "page-2", M.ListEntitiesRequest(
            page_size=1, page_token=page_token(filters, "oldorg"))),
        ("ListEntities", "stale-token", M.ListEntitiesRequest(
            kind=M.ENTITY_KIND_UN_ENTITY, page_token=page_token(filters, "oldorg"))),
        ("UpdateEntity", "name", M.UpdateEntityRequest(
            entity=M.Entity(id=ENT_ACTIVE, name="Office of Counter-Terrorism"),
            update_mask=mask("name"))),
        ("UpdateEntity", "focal-points", M.UpdateEntityRequest(
            entity=M.Entity(id=ENT_ACTIVE, focal_points=[fp, fp]),
            update_mask=mask("focal_points"))),
        ("UpdateEntity", "acronym-taken", M.UpdateEntityRequest(
            entity=M.Entity(id=ENT_ACTIVE, acronym="OldOrg"), update_mask=mask("acronym"))),
        ("UpdateEntity", "output-only", M.UpdateEntityRequest(
            entity=M.Entity(id=ENT_ACTIVE), update_mask=mask("status"))),
        ("UpdateEntity", "stale-etag", M.UpdateEntityRequest(
            entity=M.Entity(id=ENT_ACTIVE, verified=True), update_mask=mask("verified"),
            etag='"stale"')),
        ("WithdrawEntity", "active", M.WithdrawEntityRequest(id=ENT_ACTIVE)),
        ("WithdrawEntity", "withdrawn", M.WithdrawEntityRequest(id=ENT_WITHDRAWN)),
        ("BatchGetEntities", "both", M.BatchGetEntitiesRequest(ids=[ENT_ACTIVE, ENT_WITHDRAWN])),
        ("BatchGetEntities", "missing", M.BatchGetEntitiesRequest(
            ids=[ENT_OTHER, ENT_ACTIVE, ENT_ACTIVE], allow_missing=True)),
    ])


# ---- workgroups ------------------------------------------------------------------

def workgroups():
    new = W.WorkingGroup(code="CTED", title="Countering Terrorist Financing",
                         mandate="Line one.\nLine two.",
                         pillars=[W.STRATEGY_PILLAR_II, W.STRATEGY_PILLAR_IV],
                         verified=True,
                         provenance=[PV.Provenance(field="title", status=PV.FACT_STATUS_CONFIRMED,
                                                   source=SOURCE),
                                     PV.Provenance(field="leadership.chair_entity_id",
                                                   status=PV.FACT_STATUS_ASSUMED, note="a lead")])
    item = W.WorkPlanItem(title="A workshop", description="With the member States.",
                          owner_entity_id=ENT_ACTIVE, due_on="2024-10-01",
                          project_ids=["prj_aaaaaaaaaaaaaaaaaaaa"])
    return service_corpus("workgroups", [
        ("CreateWorkingGroup", "valid", W.CreateWorkingGroupRequest(group=new)),
        ("CreateWorkingGroup", "code-taken", W.CreateWorkingGroupRequest(
            group=W.WorkingGroup(code="bmle", title="Again", pillars=[W.STRATEGY_PILLAR_I]))),
        ("CreateWorkingGroup", "pillar-twice", W.CreateWorkingGroupRequest(
            group=W.WorkingGroup(code="XX", title="X",
                                 pillars=[W.STRATEGY_PILLAR_I, W.STRATEGY_PILLAR_I]))),
        ("GetWorkingGroup", "id", W.GetWorkingGroupRequest(id=GROUP)),
        ("GetWorkingGroup", "code", W.GetWorkingGroupRequest(code="bmle")),
        ("ListWorkingGroups", "all", W.ListWorkingGroupsRequest()),
        ("ListWorkingGroups", "by-entity", W.ListWorkingGroupsRequest(
            entity_id=ENT_OBSERVER, pillar=W.STRATEGY_PILLAR_II, status=W.GROUP_STATUS_ACTIVE)),
        ("ListWorkingGroups", "page-2", W.ListWorkingGroupsRequest(
            page_size=1, page_token=page_token(["workgroups.groups", "0", "0", ""], "bmle"))),
        ("UpdateWorkingGroup", "title", W.UpdateWorkingGroupRequest(
            group=W.WorkingGroup(id=GROUP, title="Border Management"), update_mask=mask("title"))),
        ("UpdateWorkingGroup", "close", W.UpdateWorkingGroupRequest(
            group=W.WorkingGroup(id=GROUP, status=W.GROUP_STATUS_CLOSED),
            update_mask=mask("status"))),
        ("UpdateWorkingGroup", "pillars-closed", W.UpdateWorkingGroupRequest(
            group=W.WorkingGroup(id=GROUP_CLOSED, pillars=[W.STRATEGY_PILLAR_III]),
            update_mask=mask("pillars"))),
        ("SetLeadership", "new-chair", W.SetLeadershipRequest(
            group_id=GROUP, leadership=W.Leadership(chair_entity_id=ENT_OBSERVER,
                                                   vice_chair_entity_ids=[ENT_VICE]))),
        ("SetLeadership", "chair-is-vice", W.SetLeadershipRequest(
            group_id=GROUP, leadership=W.Leadership(chair_entity_id=ENT_VICE,
                                                   vice_chair_entity_ids=[ENT_VICE]))),
        ("AddMember", "new", W.AddMemberRequest(group_id=GROUP, entity_id=ENT_OTHER,
                                                role=W.MEMBER_ROLE_MEMBER)),
        ("AddMember", "already", W.AddMemberRequest(group_id=GROUP, entity_id=ENT_ACTIVE,
                                                    role=W.MEMBER_ROLE_OBSERVER)),
        ("RemoveMember", "observer", W.RemoveMemberRequest(group_id=GROUP,
                                                           entity_id=ENT_OBSERVER)),
        ("RemoveMember", "chair", W.RemoveMemberRequest(group_id=GROUP, entity_id=ENT_ACTIVE)),
        ("ApproveTermsOfReference", "v2", W.ApproveTermsOfReferenceRequest(
            group_id=GROUP, terms_of_reference=W.TermsOfReference(
                text="Revised terms.", approved_on="2024-02-29"))),
        ("ApproveTermsOfReference", "bad-date", W.ApproveTermsOfReferenceRequest(
            group_id=GROUP, terms_of_reference=W.TermsOfReference(
                text="Revised terms.", approved_on="2023-02-29"))),
        ("ListTermsOfReference", "all", W.ListTermsOfReferenceRequest(group_id=GROUP)),
        ("ListTermsOfReference", "forged-token", W.ListTermsOfReferenceRequest(
            group_id=GROUP, page_token=page_token(
                ["workgroups.terms_of_reference", GROUP], "-2147483648"))),
        ("AddWorkPlanItem", "valid", W.AddWorkPlanItemRequest(group_id=GROUP, item=item)),
        ("UpdateWorkPlanItem", "done", W.UpdateWorkPlanItemRequest(
            group_id=GROUP, item=W.WorkPlanItem(id=ITEM, status=W.WORK_ITEM_STATUS_DONE),
            update_mask=mask("status"))),
        ("UpdateWorkPlanItem", "projects", W.UpdateWorkPlanItemRequest(
            group_id=GROUP, item=W.WorkPlanItem(id=ITEM, title="Renamed", project_ids=[
                "prj_bbbbbbbbbbbbbbbbbbbb", "prj_aaaaaaaaaaaaaaaaaaaa"]),
            update_mask=mask("project_ids", "title"))),
        ("BatchGetWorkingGroups", "both", W.BatchGetWorkingGroupsRequest(
            ids=[GROUP, GROUP_CLOSED, "wg_cccccccccccccccccccc"], allow_missing=True)),
        ("ApproveTermsOfReference", "decided", W.ApproveTermsOfReferenceRequest(
            group_id=GROUP, terms_of_reference=W.TermsOfReference(
                text="The group's terms of reference.", approved_on="2023-01-15",
                decision_ref=DECISION))),
        ("ApproveTermsOfReference", "decided-other", W.ApproveTermsOfReferenceRequest(
            group_id=GROUP, terms_of_reference=W.TermsOfReference(
                text="Other terms.", approved_on="2023-01-15", decision_ref=DECISION))),
        ("ApproveWorkPlan", "valid", W.ApproveWorkPlanRequest(group_id=GROUP, plan=W.ApprovedWorkPlan(
            period_start="2024-01-01", period_end="2026-12-31", approved_on="2024-01-24",
            item_ids=[ITEM], decision_ref="dec_aaaaaaaaaaaaaaaaaaaa/effects/2"))),
        ("ApproveWorkPlan", "no-items", W.ApproveWorkPlanRequest(group_id=GROUP, plan=W.ApprovedWorkPlan(
            period_start="2024-01-01", period_end="2026-12-31", approved_on="2024-01-24"))),
        ("SetLeadership", "effective-early", W.SetLeadershipRequest(
            group_id=GROUP, effective_on="2020-01-01", leadership=W.Leadership(
                chair_entity_id=ENT_OBSERVER, vice_chair_entity_ids=[ENT_VICE]))),
        ("PostNotice", "members", W.PostNoticeRequest(notice=W.Notice(
            working_group_id=GROUP, kind=W.NOTICE_KIND_REPORT, title="Report",
            visibility=W.VISIBILITY_GROUP_MEMBERS, author_entity_id=ENT_ACTIVE,
            document_url="https://www.un.org/report.pdf"))),
        ("ListNotices", "public", W.ListNoticesRequest()),
        ("ListNotices", "group", W.ListNoticesRequest(working_group_id=GROUP, page_size=1)),
        ("Subscribe", "valid", W.SubscribeRequest(subscription=W.Subscription(
            entity_id=ENT_ACTIVE, focal_point_email="jane.doe@example.org",
            working_group_ids=[GROUP], compact_wide=True))),
        ("Unsubscribe", "fixture", W.UnsubscribeRequest(subscription_id=SUBSCRIPTION)),
        ("WatchNotices", "fixture", W.WatchNoticesRequest(subscription_id=SUBSCRIPTION)),
        ("GetDigest", "fixture", W.GetDigestRequest(subscription_id=SUBSCRIPTION,
                                                    since={"seconds": 1600000000})),
    ])


# ---- projects --------------------------------------------------------------------

def projects():
    usd = P.Money(currency="USD", amount_minor=500000)
    indicator = P.Indicator(
        title="Officers certified", measure=P.INDICATOR_MEASURE_PERCENTAGE,
        baseline=P.Baseline(year=2022, value=10.5),
        periods=[P.IndicatorPeriod(period_start="2024-01-01", period_end="2024-06-30",
                                   target=P.IndicatorValue(value=50))])
    result = P.Result(type=P.RESULT_TYPE_OUTCOME, title="Better screening",
                      indicators=[indicator])
    new = P.Project(
        iati_identifier="XM-DAC-47066-NEW-1", reporting_org_ref="XM-DAC-47066",
        title="Border security training in the Sahel",
        summary="Training for border officers.", working_group_ids=[GROUP],
        participants=[P.Participant(entity_id=ENT_ACTIVE, role=P.ORGANISATION_ROLE_IMPLEMENTING)],
        recipient_countries=["ML", "NE"], pillars=[P.STRATEGY_PILLAR_II],
        themes=["border security"], start_date="2024-01-01", end_date="2026-12-31",
        status=P.ACTIVITY_STATUS_PIPELINE, budget=usd, results=[result])
    list_filters = ["projects.projects", "", "", "", "0", "0", ""]
    return service_corpus("projects", [
        ("CreateProject", "valid", P.CreateProjectRequest(project=new)),
        ("CreateProject", "no-participants", P.CreateProjectRequest(
            project=P.Project(title="T", start_date="2024-01-01", status=1,
                              pillars=[1], working_group_ids=[GROUP]))),
        ("GetProject", "id", P.GetProjectRequest(id=PROJECT)),
        ("GetProject", "iati", P.GetProjectRequest(iati_identifier="xm-dac-47066-fuzz-1")),
        ("ListProjects", "all", P.ListProjectsRequest()),
        ("ListProjects", "filters", P.ListProjectsRequest(
            working_group_id=GROUP, entity_id=ENT_ACTIVE, country="KE",
            pillar=P.STRATEGY_PILLAR_II, status=P.ACTIVITY_STATUS_IMPLEMENTATION,
            text="border")),
        ("ListProjects", "page-2", P.ListProjectsRequest(
            page_size=1, page_token=page_token(list_filters, "xm-dac-47066-fuzz-1"))),
        ("UpdateProject", "title", P.UpdateProjectRequest(
            project=P.Project(id=PROJECT, title="Border security training, phase two"),
            update_mask=mask("title"))),
        ("UpdateProject", "dates", P.UpdateProjectRequest(
            project=P.Project(id=PROJECT, start_date="2026-01-01", end_date="2025-01-01"),
            update_mask=mask("start_date", "end_date"))),
        ("UpdateProject", "results-refused", P.UpdateProjectRequest(
            project=P.Project(id=PROJECT, results=[result]), update_mask=mask("results"))),
        ("UpdateProject", "status-budget", P.UpdateProjectRequest(
            project=P.Project(id=PROJECT, status=P.ACTIVITY_STATUS_FINALISATION,
                              budget=P.Money(currency="EUR", amount_minor=1),
                              themes=["aviation security", "border security"],
                              recipient_countries=["KE"], global_scope=False),
            update_mask=mask("status", "budget", "themes", "recipient_countries"))),
        ("RecordTransaction", "named-provider", P.RecordTransactionRequest(
            project_id=PROJECT, transaction=P.Transaction(
                type=P.TRANSACTION_TYPE_DISBURSEMENT, date="2023-03-01",
                value=P.Money(currency="USD", amount_minor=2500000),
                provider_name="A Member State",
                decision_ref="dec_aaaaaaaaaaaaaaaaaaaa/effects/1"))),
        ("RecordTransaction", "catalytic-named", P.RecordTransactionRequest(
            project_id=PROJECT, transaction=P.Transaction(
                type=P.TRANSACTION_TYPE_INCOMING_COMMITMENT, date="2023-03-01",
                value=P.Money(currency="USD", amount_minor=2500000),
                provider_name="A Member State", catalytic=True))),
        ("RecordTransaction", "org-provider", P.RecordTransactionRequest(
            project_id=PROJECT, transaction=P.Transaction(
                type=P.TRANSACTION_TYPE_INCOMING_COMMITMENT, date="2023-03-01",
                value=P.Money(currency="EUR", amount_minor=400),
                provider_org=P.Organisation(ref="XI-IATI-EC_FPI", name="European Union",
                                            type=P.ORGANISATION_TYPE_MULTILATERAL),
                provenance=[PV.Provenance(field="provider_org", status=PV.FACT_STATUS_CONFIRMED,
                                          source=SOURCE),
                            PV.Provenance(field="value", status=PV.FACT_STATUS_ASSUMED,
                                          note="illustrative")]))),
        ("RecordTransaction", "entity-provider", P.RecordTransactionRequest(
            project_id=PROJECT, transaction=P.Transaction(
                type=P.TRANSACTION_TYPE_INCOMING_FUNDS, date="2023-03-01",
                value=P.Money(currency="EUR", amount_minor=-5),
                provider_entity_id=ENT_VICE))),
        ("AddResult", "valid", P.AddResultRequest(project_id=PROJECT, result=result)),
        ("AddIndicator", "valid", P.AddIndicatorRequest(
            project_id=PROJECT, result_id=RESULT, indicator=indicator)),
        ("ReportIndicatorValue", "actual", P.ReportIndicatorValueRequest(
            project_id=PROJECT, indicator_id=INDICATOR, period_start="2023-01-01",
            period_end="2023-12-31", actual=P.IndicatorValue(value=87, comment="Q4"))),
        ("ReportIndicatorValue", "new-period", P.ReportIndicatorValueRequest(
            project_id=PROJECT, indicator_id=INDICATOR, period_start="2024-01-01",
            period_end="2024-12-31", target=P.IndicatorValue(value=120))),
        ("FindOverlaps", "project", P.FindOverlapsRequest(project_id=PROJECT,
                                                          include_closed=True)),
        ("FindOverlaps", "draft", P.FindOverlapsRequest(
            draft=new, limit=5, min_score=0.05)),
        ("FindOverlaps", "bad-limit", P.FindOverlapsRequest(project_id=PROJECT_CLOSED,
                                                            limit=-1)),
    ])


# ---- page tokens -----------------------------------------------------------------

def page_tokens():
    d = reset("page_token")
    filters = ["fuzz.list", "kind=1"]  # fuzz_page_token.c's FILTERS
    seeds = {
        "valid": (5, page_token(filters, "unoct")),
        "valid-empty-key": (5, page_token(filters, "")),
        "valid-small-buffer": (2, page_token(filters, "a-longer-key")),
        "valid-no-buffer": (0, page_token(filters, "k")),
        "valid-max-key": (6, page_token(filters, "k" * 512)),
        "valid-utf8": (4, page_token(filters, "caf\u00e9 \u2603")),
        "stale": (5, page_token(["fuzz.list", "kind=2"], "unoct")),
        "bad-checksum": (5, page_token(filters, "unoct", corrupt=True)),
        "bad-version": (5, page_token(filters, "unoct", version=2)),
        "truncated": (5, page_token(filters, "unoct")[:-3]),
        "padded": (5, page_token(filters, "unoct") + "=="),
        "not-base64": (5, "not a token!"),
        "empty": (13, ""),
        "negative-page-size": (45, ""),
        "long-key": (6, "k" * 600),
    }
    for name, (mode, text) in seeds.items():
        write(d, name, bytes([mode]) + text.encode())
    return len(seeds)


# ---- cache entries ---------------------------------------------------------------

def cached_entries():
    d = reset("cached_entry")
    entity = M.Entity(id=ENT_ACTIVE, acronym="UNOCT", name="Office of Counter-Terrorism",
                      kind=1, status=1, etag='"e1"',
                      create_time=timestamp_pb2.Timestamp(seconds=1700000000),
                      focal_points=[M.FocalPoint(name="A", email="a@example.org")])
    group = W.WorkingGroup(id=GROUP, code="BMLE", title="Border Management", pillars=[2, 3],
                           leadership=W.Leadership(chair_entity_id=ENT_ACTIVE),
                           members=[W.Member(entity_id=ENT_ACTIVE, role=1)])
    project = P.Project(id=PROJECT, iati_identifier="XM-DAC-47066-FUZZ-1", title="T",
                        participants=[P.Participant(entity_id=ENT_ACTIVE, role=4)],
                        totals=[P.FundingTotals(currency="USD", pledged_minor=5)])
    big = P.Project(id=PROJECT, title="Big", themes=["theme %d" % i for i in range(400)])
    seeds = {
        "entity": (0x00, entity.SerializeToString()),
        "entity-by-acronym": (0x10, entity.SerializeToString()),
        "entity-message": (0x20, entity.SerializeToString()),
        "entity-truncated": (0x00, entity.SerializeToString()[:-4]),
        "entity-wrong-type": (0x00, b"\x22\x05\x08\x01\x10\x02\x00"),
        "entity-unknown-field": (0x00, entity.SerializeToString() + b"\xf8\x07\x01"),
        "group": (0x01, group.SerializeToString()),
        "group-by-code": (0x11, group.SerializeToString()),
        "group-message": (0x21, group.SerializeToString()),
        "project": (0x02, project.SerializeToString()),
        "project-by-iati": (0x12, project.SerializeToString()),
        "project-big": (0x02, big.SerializeToString()),  # past the 8 KiB arena
        "project-big-message": (0x22, big.SerializeToString()),
        "empty": (0x00, b""),
        "garbage": (0x01, b"\xff\xff\xff\xff"),
    }
    for name, (mode, data) in seeds.items():
        write(d, name, bytes([mode]) + data)
    return len(seeds)


# ---- HTTP requests ---------------------------------------------------------------

def http_requests():
    d = reset("metrics_http")
    host = b"Host: 127.0.0.1\r\n"
    seeds = {
        "get": (1, b"GET /metrics HTTP/1.1\r\n" + host + b"\r\n"),
        "get-open": (0, b"GET /metrics HTTP/1.1\r\n" + host + b"\r\n"),
        "get-1.0": (1, b"GET /metrics HTTP/1.0\r\n\r\n"),
        "head": (1, b"HEAD /metrics HTTP/1.1\r\n" + host + b"\r\n"),
        "post": (1, b"POST /metrics HTTP/1.1\r\n" + host + b"Content-Length: 3\r\n\r\nabc"),
        "chunked": (1, b"POST /metrics HTTP/1.1\r\n" + host +
                    b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        "not-found": (1, b"GET / HTTP/1.1\r\n" + host + b"\r\n"),
        "dot-segments": (1, b"GET /x/../metrics/./?q=%2e%2e HTTP/1.1\r\n" + host + b"\r\n"),
        "absolute-uri": (1, b"GET http://127.0.0.1/metrics HTTP/1.1\r\n\r\n"),
        "pipelined": (1, b"GET /metrics HTTP/1.1\r\n" + host + b"\r\n" +
                      b"GET /metrics HTTP/1.1\r\n" + host + b"\r\n"),
        "upgrade": (1, b"GET /metrics HTTP/1.1\r\n" + host +
                    b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"),
        "expect": (1, b"PUT /metrics HTTP/1.1\r\n" + host +
                   b"Expect: 100-continue\r\nContent-Length: 10\r\n\r\n"),
        "h2-preface": (1, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        "partial": (1, b"GET /metr"),
        "partial-open": (0, b"GET /metrics HTTP/1.1\r\nHost: "),
        "bad-line": (1, b"\x00\x01 / HTTP/9.9\r\n\r\n"),
        "long-header": (1, b"GET /metrics HTTP/1.1\r\nX-Long: " + b"a" * 3000 + b"\r\n\r\n"),
        "empty": (1, b""),
    }
    for name, (flags, data) in seeds.items():
        write(d, name, bytes([flags]) + data)
    return len(seeds)


def main():
    counts = {
        "membership": membership(),
        "workgroups": workgroups(),
        "projects": projects(),
        "page_token": page_tokens(),
        "cached_entry": cached_entries(),
        "metrics_http": http_requests(),
    }
    for target, n in counts.items():
        print("%-13s %3d seeds in tests/fuzz/corpus/%s/" % (target, n, target))


if __name__ == "__main__":
    main()
