"""The membership service's API (proto/compact/membership/v1/membership.proto),
every RPC and every error code, through the real binary with real Redis."""
import grpc
import pytest
from google.protobuf import field_mask_pb2

import harness
from harness import ACRONYM_KEY, ENTITY_KEY, M, code_of, create, poll

C = grpc.StatusCode
UN = M.ENTITY_KIND_UN_ENTITY
NON_UN = M.ENTITY_KIND_NON_UN_MEMBER
OBSERVER = M.ENTITY_KIND_OBSERVER
ACTIVE = M.ENTITY_STATUS_ACTIVE
WITHDRAWN = M.ENTITY_STATUS_WITHDRAWN


@pytest.fixture
def stub(suite):
    return suite.stub("membership")


def get(stub, **key):
    return stub.GetEntity(M.GetEntityRequest(**key))


def update(stub, e, paths, etag=""):
    return stub.UpdateEntity(M.UpdateEntityRequest(
        entity=e, update_mask=field_mask_pb2.FieldMask(paths=paths), etag=etag))


def list_all(stub, **filters):
    """Every entity matching the filters, walking the pages."""
    out, token = [], ""
    while True:
        rep = stub.ListEntities(M.ListEntitiesRequest(page_size=1000, page_token=token,
                                                      **filters))
        out.extend(rep.entities)
        token = rep.next_page_token
        if not token:
            return out


def summary(suite):
    return [(f["type"].decode(), f["aggregate_id"].decode(), int(f["aggregate_seq"]))
            for _, f in suite.stream()]


def assert_events_exactly(suite, stub, expected):
    """One more write, then the stream must be exactly `expected` plus that
    write's event: the relay publishes in commit order, so an event of a
    rejected write would show up before it."""
    b = create(stub, "ZZBARRIER")
    want = expected + [("entity.created", b.id, 1)]
    harness.wait_events(suite, len(want))
    assert summary(suite) == want


def ns(ts):
    return ts.ToNanoseconds()


# ---- CreateEntity and GetEntity --------------------------------------------------

def test_create_and_get(suite, stub):
    fp = [M.FocalPoint(name="A. Person", title="Chief", email="a.person@un.org"),
          M.FocalPoint(name="B. Person", title="Officer", email="b.person@un.org")]
    e = create(stub, "UNODC", name="United Nations Office on Drugs and Crime", kind=UN,
               joined_on="2018-02-23", focal_points=fp, verified=True,
               source_note="UN press release, 16 April 2019")
    assert e.id
    assert e.acronym == "UNODC"
    assert e.name == "United Nations Office on Drugs and Crime"
    assert e.kind == UN and e.status == ACTIVE
    assert e.joined_on == "2018-02-23"
    assert list(e.focal_points) == fp
    assert e.verified and e.source_note == "UN press release, 16 April 2019"
    assert e.etag
    assert ns(e.create_time) > 0 and ns(e.update_time) >= ns(e.create_time)
    assert not e.HasField("withdraw_time")

    assert get(stub, id=e.id) == e
    assert get(stub, acronym="UNODC") == e
    assert get(stub, acronym="unodc") == e          # case-insensitive
    other = create(stub, "WCO", kind=NON_UN)
    assert other.id != e.id
    assert get(stub, id=other.id) == other


def test_create_ignores_output_only_fields(stub):
    # Output-only fields in a create are ignored, as in the other services'
    # creates, not refused.
    e = stub.CreateEntity(M.CreateEntityRequest(entity=harness.entity(
        "UNOCT", id="forged-id", status=WITHDRAWN, etag="forged")))
    assert e.id != "forged-id" and e.id.startswith("ent_")
    assert e.status == ACTIVE and e.etag and e.etag != "forged"
    assert list_all(stub) == [e]


@pytest.mark.parametrize("change,field", [
    (lambda e: e.ClearField("acronym"), "acronym"),
    (lambda e: e.ClearField("name"), "name"),
    (lambda e: setattr(e, "kind", M.ENTITY_KIND_UNSPECIFIED), "kind"),
    (lambda e: setattr(e, "kind", 42), "kind"),
    (lambda e: setattr(e, "joined_on", "2019-02-30"), "joined_on"),
    (lambda e: setattr(e, "joined_on", "16 April 2019"), "joined_on"),
], ids=["no-acronym", "no-name", "no-kind", "unknown-kind", "impossible-date", "bad-date"])
def test_create_invalid_field(suite, stub, change, field):
    e = harness.entity("UNODC")
    change(e)
    code, msg = code_of(stub.CreateEntity, M.CreateEntityRequest(entity=e))
    assert code == C.INVALID_ARGUMENT
    assert field in msg, msg
    assert list_all(stub) == []
    assert_events_exactly(suite, stub, [])


def test_create_without_entity(stub):
    code, msg = code_of(stub.CreateEntity, M.CreateEntityRequest())
    assert code == C.INVALID_ARGUMENT
    assert "entity" in msg, msg


def test_duplicate_acronym_case_insensitive(suite, stub):
    e = create(stub, "UNODC")
    for acr in ("UNODC", "unodc", "UnOdC"):
        code, _ = code_of(stub.CreateEntity, M.CreateEntityRequest(
            entity=harness.entity(acr)))
        assert code == C.ALREADY_EXISTS, acr
    assert list_all(stub) == [e]
    assert get(stub, acronym="uNoDc") == e
    assert_events_exactly(suite, stub, [("entity.created", e.id, 1)])


def test_get_errors(stub):
    e = create(stub, "UNODC")
    code, msg = code_of(stub.GetEntity, M.GetEntityRequest(id=harness.unknown_id(e.id)))
    assert code == C.NOT_FOUND and harness.unknown_id(e.id) in msg, msg
    code, _ = code_of(stub.GetEntity, M.GetEntityRequest(id="no such id"))
    assert code in (C.NOT_FOUND, C.INVALID_ARGUMENT)
    assert code_of(stub.GetEntity, M.GetEntityRequest(acronym="NOPE"))[0] == C.NOT_FOUND
    assert code_of(stub.GetEntity, M.GetEntityRequest())[0] == C.INVALID_ARGUMENT


# ---- ListEntities ------------------------------------------------------------------

def make_population(stub):
    """23 entities of every kind; every third one withdrawn. Returns the
    entities as they are now, by acronym."""
    kinds = [UN, NON_UN, OBSERVER]
    made = harness.create_many(stub, [
        harness.entity("ENT%02d" % i, kind=kinds[i % 3]) for i in range(23)])
    now = {}
    for i, e in enumerate(made):
        if i % 3 == 1:
            e = stub.WithdrawEntity(M.WithdrawEntityRequest(id=e.id))
        now[e.acronym] = e
    return now


def test_list_filters_and_order(stub):
    pop = make_population(stub)
    every = sorted(pop.values(), key=lambda e: e.acronym)
    assert stub.ListEntities(M.ListEntitiesRequest()).entities[:] == every
    for kind in (UN, NON_UN, OBSERVER):
        want = [e for e in every if e.kind == kind]
        got = stub.ListEntities(M.ListEntitiesRequest(kind=kind))
        assert list(got.entities) == want and not got.next_page_token
    for status in (ACTIVE, WITHDRAWN):
        want = [e for e in every if e.status == status]
        assert list_all(stub, status=status) == want
    want = [e for e in every if e.kind == NON_UN and e.status == WITHDRAWN]
    assert want and list_all(stub, kind=NON_UN, status=WITHDRAWN) == want


@pytest.mark.parametrize("filters", [{}, {"kind": UN}, {"status": ACTIVE},
                                     {"kind": OBSERVER, "status": ACTIVE}],
                         ids=["all", "kind", "status", "kind+status"])
def test_pagination_walk(stub, filters):
    pop = make_population(stub)
    want = sorted((e for e in pop.values()
                   if e.kind == filters.get("kind", e.kind)
                   and e.status == filters.get("status", e.status)),
                  key=lambda e: e.acronym)
    got, token, pages = [], "", 0
    while True:
        rep = stub.ListEntities(M.ListEntitiesRequest(page_size=2, page_token=token, **filters))
        pages += 1
        assert len(rep.entities) <= 2
        if rep.next_page_token:
            assert rep.entities, "an empty page before the last"
        got.extend(rep.entities)
        token = rep.next_page_token
        if not token:
            break
        assert pages <= len(want), "the walk does not end"
    assert got == want
    assert pages > 1


def test_page_size_default_and_maximum(stub):
    harness.create_many(stub, [harness.entity("E%04d" % i) for i in range(1005)], batch=32)
    rep = stub.ListEntities(M.ListEntitiesRequest())
    assert len(rep.entities) == 50 and rep.next_page_token
    rep = stub.ListEntities(M.ListEntitiesRequest(page_size=5000))
    assert len(rep.entities) == 1000 and rep.next_page_token
    assert rep.entities[0].acronym == "E0000" and rep.entities[-1].acronym == "E0999"
    rest = stub.ListEntities(M.ListEntitiesRequest(page_size=5000,
                                                   page_token=rep.next_page_token))
    assert [e.acronym for e in rest.entities] == ["E%04d" % i for i in range(1000, 1005)]
    assert not rest.next_page_token


def test_page_token_bound_to_filters(stub):
    make_population(stub)
    rep = stub.ListEntities(M.ListEntitiesRequest(kind=UN, page_size=2))
    token = rep.next_page_token
    assert token
    # Same filters, another page size: fine.
    nxt = stub.ListEntities(M.ListEntitiesRequest(kind=UN, page_size=3, page_token=token))
    assert nxt.entities[0].acronym > rep.entities[-1].acronym
    for other in ({"kind": OBSERVER}, {}, {"kind": UN, "status": ACTIVE}):
        code, msg = code_of(stub.ListEntities, M.ListEntitiesRequest(
            page_size=2, page_token=token, **other))
        assert code == C.INVALID_ARGUMENT, other
        assert "page_token" in msg, msg
    for junk in ("garbage", "\u00e9t\u00e9", "%%%"):
        code, msg = code_of(stub.ListEntities, M.ListEntitiesRequest(
            kind=UN, page_size=2, page_token=junk))
        assert code == C.INVALID_ARGUMENT, junk
        assert "page_token" in msg, msg


def test_list_bad_arguments(stub):
    code, msg = code_of(stub.ListEntities, M.ListEntitiesRequest(page_size=-1))
    assert code == C.INVALID_ARGUMENT and "page_size" in msg, msg
    code, msg = code_of(stub.ListEntities, M.ListEntitiesRequest(kind=42))
    assert code == C.INVALID_ARGUMENT and "kind" in msg, msg
    code, msg = code_of(stub.ListEntities, M.ListEntitiesRequest(status=42))
    assert code == C.INVALID_ARGUMENT and "status" in msg, msg


# ---- UpdateEntity -----------------------------------------------------------------

def test_update_fields_and_etag(suite, stub):
    e = create(stub, "UNODC", kind=UN)
    # Only masked fields change, even when others are set in the request.
    req = M.Entity(id=e.id, name="New name", kind=OBSERVER, source_note="ignored")
    u1 = update(stub, req, ["name"])
    assert u1.name == "New name" and u1.kind == UN and u1.source_note == e.source_note
    assert u1.etag and u1.etag != e.etag
    assert u1.create_time == e.create_time and ns(u1.update_time) >= ns(e.update_time)
    assert get(stub, id=e.id) == u1               # no stale cached copy

    # A stale etag is refused and changes nothing.
    code, _ = code_of(update, stub, M.Entity(id=e.id, name="Stale"), ["name"], etag=e.etag)
    assert code == C.ABORTED
    assert get(stub, id=e.id) == u1

    # The current etag is accepted; several fields at once.
    fp = [M.FocalPoint(name="C. Person", title="Director", email="c@unodc.org")]
    u2 = update(stub, M.Entity(id=e.id, kind=NON_UN, joined_on="2021-10-01",
                               focal_points=fp, verified=True, source_note="confirmed"),
                ["kind", "joined_on", "focal_points", "verified", "source_note"],
                etag=u1.etag)
    assert (u2.kind, u2.joined_on, list(u2.focal_points), u2.verified, u2.source_note) == \
        (NON_UN, "2021-10-01", fp, True, "confirmed")
    assert u2.name == "New name" and u2.etag not in (e.etag, u1.etag)
    assert get(stub, acronym="unodc") == u2

    # Clearing a repeated field through the mask.
    u3 = update(stub, M.Entity(id=e.id), ["focal_points"], etag=u2.etag)
    assert list(u3.focal_points) == []
    assert_events_exactly(suite, stub, [("entity.created", e.id, 1),
                                        ("entity.updated", e.id, 2),
                                        ("entity.updated", e.id, 3),
                                        ("entity.updated", e.id, 4)])


def test_update_acronym(suite, stub):
    e = create(stub, "UNOCT")
    harness.wait_published(suite, e.id)
    assert get(stub, acronym="unoct") == e       # cached under the old acronym
    poll(lambda: suite.redis("EXISTS", ACRONYM_KEY % "unoct") == 1,
         what="the acronym key in Redis")
    u = update(stub, M.Entity(id=e.id, acronym="UNOCT2"), ["acronym"])
    assert u.acronym == "UNOCT2"
    assert code_of(stub.GetEntity, M.GetEntityRequest(acronym="UNOCT"))[0] == C.NOT_FOUND
    assert get(stub, acronym="unoct2") == u
    # The old acronym is free again, case-insensitively.
    assert create(stub, "unoct").acronym == "unoct"


def test_update_errors_change_nothing(suite, stub):
    e = create(stub, "UNODC")
    other = create(stub, "WCO")
    cases = [
        (M.Entity(id=harness.unknown_id(e.id), name="x"), ["name"], C.NOT_FOUND, ()),
        (M.Entity(name="x"), ["name"], C.INVALID_ARGUMENT, ("id",)),
        (M.Entity(id=e.id, name=""), ["name"], C.INVALID_ARGUMENT, ("name",)),
        (M.Entity(id=e.id, acronym=""), ["acronym"], C.INVALID_ARGUMENT, ("acronym",)),
        (M.Entity(id=e.id, kind=M.ENTITY_KIND_UNSPECIFIED), ["kind"], C.INVALID_ARGUMENT,
         ("kind",)),
        (M.Entity(id=e.id, joined_on="2019-13-01"), ["joined_on"], C.INVALID_ARGUMENT,
         ("joined_on",)),
        (M.Entity(id=e.id, name="x"), ["bogus"], C.INVALID_ARGUMENT, ("bogus", "update_mask")),
        (M.Entity(id=e.id, status=WITHDRAWN), ["status"], C.INVALID_ARGUMENT,
         ("status", "update_mask")),
        (M.Entity(id=e.id, acronym="wco"), ["acronym"], C.ALREADY_EXISTS, ()),
    ]
    for ent, paths, want, fields in cases:
        code, msg = code_of(update, stub, ent, paths)
        assert code == want, (ent, paths, msg)
        if fields:
            assert any(f in msg for f in fields), (paths, msg)
        assert get(stub, id=e.id) == e
        assert get(stub, id=other.id) == other
    code, msg = code_of(stub.UpdateEntity, M.UpdateEntityRequest(
        update_mask=field_mask_pb2.FieldMask(paths=["name"])))
    assert code == C.INVALID_ARGUMENT and "entity" in msg, msg
    assert_events_exactly(suite, stub, [("entity.created", e.id, 1),
                                        ("entity.created", other.id, 1)])


# ---- WithdrawEntity ---------------------------------------------------------------

def test_withdraw(suite, stub):
    e = create(stub, "IPU", kind=NON_UN)
    assert get(stub, id=e.id) == e               # now cached
    w = stub.WithdrawEntity(M.WithdrawEntityRequest(id=e.id))
    assert w.status == WITHDRAWN and w.HasField("withdraw_time")
    assert w.etag != e.etag and ns(w.withdraw_time) >= ns(e.create_time)
    assert get(stub, id=e.id) == w               # the cached copy was dropped
    code, _ = code_of(stub.WithdrawEntity, M.WithdrawEntityRequest(id=e.id))
    assert code == C.FAILED_PRECONDITION
    code, _ = code_of(stub.WithdrawEntity, M.WithdrawEntityRequest(id=harness.unknown_id(e.id)))
    assert code == C.NOT_FOUND
    code, msg = code_of(stub.WithdrawEntity, M.WithdrawEntityRequest())
    assert code == C.INVALID_ARGUMENT and "id" in msg, msg

    f = create(stub, "FATF", kind=OBSERVER)
    f2 = update(stub, M.Entity(id=f.id, name="Financial Action Task Force"), ["name"])
    code, _ = code_of(stub.WithdrawEntity, M.WithdrawEntityRequest(id=f.id, etag=f.etag))
    assert code == C.ABORTED
    assert get(stub, id=f.id) == f2
    fw = stub.WithdrawEntity(M.WithdrawEntityRequest(id=f.id, etag=f2.etag))
    assert fw.status == WITHDRAWN
    assert [x.acronym for x in list_all(stub, status=WITHDRAWN)] == ["FATF", "IPU"]
    assert list_all(stub, status=ACTIVE) == []
    assert_events_exactly(suite, stub, [("entity.created", e.id, 1),
                                        ("entity.withdrawn", e.id, 2),
                                        ("entity.created", f.id, 1),
                                        ("entity.updated", f.id, 2),
                                        ("entity.withdrawn", f.id, 3)])


# ---- BatchGetEntities --------------------------------------------------------------

def test_batch_get(stub):
    a, b, c = harness.create_many(stub, [harness.entity(x) for x in ("UNDP", "UNESCO", "UNICRI")])
    rep = stub.BatchGetEntities(M.BatchGetEntitiesRequest(ids=[c.id, a.id, b.id]))
    assert list(rep.entities) == [c, a, b] and list(rep.missing_ids) == []

    m1, m2 = harness.unknown_id(a.id, 1), harness.unknown_id(a.id, 2)
    code, msg = code_of(stub.BatchGetEntities, M.BatchGetEntitiesRequest(
        ids=[a.id, m1, b.id]))
    assert code == C.NOT_FOUND and m1 in msg, msg

    rep = stub.BatchGetEntities(M.BatchGetEntitiesRequest(
        ids=[c.id, m1, a.id, m2], allow_missing=True))
    assert list(rep.entities) == [c, a]
    assert list(rep.missing_ids) == [m1, m2]

    many = [a.id] + [harness.unknown_id(a.id, i) for i in range(1000)]
    code, msg = code_of(stub.BatchGetEntities, M.BatchGetEntitiesRequest(
        ids=many, allow_missing=True))
    assert code == C.INVALID_ARGUMENT and "ids" in msg, msg
    rep = stub.BatchGetEntities(M.BatchGetEntitiesRequest(ids=many[:1000], allow_missing=True))
    assert list(rep.entities) == [a] and list(rep.missing_ids) == many[1:1000]


# ---- the cache and durability -------------------------------------------------------

def keyspace_hits(suite):
    info = suite.redis("INFO", "stats").decode()
    for line in info.splitlines():
        if line.startswith("keyspace_hits:"):
            return int(line.split(":")[1])
    raise AssertionError("no keyspace_hits in INFO")


def test_cache_read_through(suite, stub):
    e = create(stub, "UNWOMEN", name="UN Women")
    harness.wait_published(suite, e.id)
    assert get(stub, id=e.id) == e
    poll(lambda: suite.redis("EXISTS", ENTITY_KEY % e.id) == 1, what="the entity key")
    assert get(stub, acronym="UNWOMEN") == e
    poll(lambda: suite.redis("EXISTS", ACRONYM_KEY % "unwomen") == 1, what="the acronym key")
    ttl = suite.redis("TTL", ENTITY_KEY % e.id)
    assert ttl > 0, "cached reads must expire"
    # A read now comes from Redis.
    before = keyspace_hits(suite)
    assert get(stub, id=e.id) == e
    assert keyspace_hits(suite) > before
    # An update is seen at once, by id and by acronym.
    u = update(stub, M.Entity(id=e.id, name="UN-Women"), ["name"])
    assert get(stub, id=e.id) == u
    assert get(stub, acronym="unwomen") == u


def test_mangled_cache_entry_reads_the_store(suite, stub):
    e = create(stub, "UNICRI")
    harness.wait_published(suite, e.id)
    for junk in (b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x12\x80"):  # not an Entity
        suite.redis("SET", ENTITY_KEY % e.id, junk)
        assert get(stub, id=e.id) == e
    # The good entry written back by that read is served as it is.
    suite.redis("DEL", ENTITY_KEY % e.id)
    assert get(stub, id=e.id) == e
    poll(lambda: suite.redis("EXISTS", ENTITY_KEY % e.id) == 1, what="the entity key")
    assert M.Entity.FromString(suite.redis("GET", ENTITY_KEY % e.id)) == e
    assert get(stub, id=e.id) == e


def test_restart_keeps_everything(suite, stub):
    e = create(stub, "OHCHR")
    u = update(stub, M.Entity(id=e.id, verified=True), ["verified"])
    w = stub.WithdrawEntity(M.WithdrawEntityRequest(id=create(stub, "UNHCR").id))
    suite.restart("membership")
    stub = suite.stub("membership")
    assert get(stub, id=e.id) == u
    assert get(stub, acronym="unhcr") == w
    assert list_all(stub) == [u, w]
    code, _ = code_of(stub.CreateEntity, M.CreateEntityRequest(entity=harness.entity("ohchr")))
    assert code == C.ALREADY_EXISTS


def test_failed_commit_acknowledges_nothing(suite, stub):
    e = create(stub, "UNICEF")
    harness.wait_events(suite, 1)
    suite.restart("membership", faults="store.commit")
    stub = suite.stub("membership")
    attempts = [
        lambda: create(stub, "UNFPA"),
        lambda: update(stub, M.Entity(id=e.id, name="changed"), ["name"]),
        lambda: stub.WithdrawEntity(M.WithdrawEntityRequest(id=e.id)),
    ]
    for attempt in attempts:
        # The commit refused (common/store.c): nothing of the change is kept.
        code, details = code_of(attempt)
        assert code == C.UNAVAILABLE, (code, details)
        assert "could not be committed; nothing was written" in details, details
    suite.restart("membership", faults="")
    stub = suite.stub("membership")
    assert list_all(stub) == [e]
    assert code_of(stub.GetEntity, M.GetEntityRequest(acronym="UNFPA"))[0] == C.NOT_FOUND
    u = update(stub, M.Entity(id=e.id, name="changed"), ["name"])
    assert_events_exactly(suite, stub, [("entity.created", e.id, 1),
                                        ("entity.updated", u.id, 2)])
