"""Security through the real binaries: who may do what (issue 13).

- The matrix: for every method of every service, generated from the
  services' descriptors and their rule tables (`compact-<name> --auth-rules`),
  no token, an expired token, a token signed by another key, a tampered
  token, a token with a role the rule does not admit, and a token of an
  admitted role scoped to another entity or group: each gets its status
  (UNAUTHENTICATED for the first four, PERMISSION_DENIED for the last two)
  and nothing changes (every service's audit table, which gets a row for
  every committed change, keeps its count).
- What the scopes admit: a focal point its own entity and its projects, a
  chair its own group; verified flags are the secretariat's alone.
- Health and reflection need no token.
- The audit: every change names its actor on the event and in `compactctl
  audit`; only the secretariat and the Committee may read it.
- Fail closed: no key file, no start (unless COMPACT_AUTH=off, logged
  loudly); a service with peers and no key of its own, no start; a key
  removed from the key file stops its tokens within a second.
- Mutual TLS: calls over TLS with a client certificate work, between
  services too; without a certificate, or in plaintext, the connection is
  refused; the plaintext probe port answers Health and nothing else.
- Redis: a wrong password is refused and never logged.
Every suite's logs are searched for every token and password (harness.py).
"""
import json
import os
import sqlite3
import time

import grpc
import pytest
from google.protobuf import field_mask_pb2

import harness
from harness import M, code_of, poll

C = grpc.StatusCode
W = harness.pb("compact/workgroups/v1/workgroups.proto")
P = harness.pb("compact/projects/v1/projects.proto")
EV = harness.pb("compact/events/v1/events.proto")
A = harness.pb("compact/audit/v1/audit.proto")
harness.pb("compact/committee/v1/committee.proto")
harness.pb("compact/analytics/v1/analytics.proto")

ALL = ("membership", "workgroups", "projects", "committee", "analytics")
ROLES = ("secretariat", "committee", "wg-chair", "focal-point", "viewer", "service")
OTHER_ENTITY = "ent_" + "z" * 20
OTHER_GROUP = "wg_" + "z" * 20


def rules_of(name):
    res = harness.run([harness.binary(name), "--auth-rules"])
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def audit_count(suite, name):
    path = os.path.join(suite.data_dir(name), name + ".db")
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM audit").fetchone()[0]
    finally:
        db.close()


def call(suite, name, service, method, request, token=None, metadata=None):
    """One call with `token` (None: none); the code (OK or the error)."""
    desc = harness.service_descriptor(service).FindMethodByName(method)
    rep = harness.message_class(desc.output_type.full_name)
    path = "/%s/%s" % (service, method)
    md = list(metadata or [])
    if token is not None:
        md.append(("authorization", "Bearer " + token))
    ch = suite.raw_channel(name)
    try:
        if desc.server_streaming:
            mc = ch.unary_stream(path, request_serializer=type(request).SerializeToString,
                                 response_deserializer=rep.FromString)
            try:
                for _ in mc(request, metadata=md, timeout=harness.CALL_TIMEOUT):
                    return C.OK
                return C.OK
            except grpc.RpcError as e:
                return e.code()
        mc = ch.unary_unary(path, request_serializer=type(request).SerializeToString,
                            response_deserializer=rep.FromString)
        try:
            mc(request, metadata=md, timeout=harness.CALL_TIMEOUT)
            return C.OK
        except grpc.RpcError as e:
            return e.code()
    finally:
        ch.close()


def code_or_ok(fn, *args, **kw):
    try:
        fn(*args, **kw)
        return C.OK
    except grpc.RpcError as e:
        return e.code()


def set_path(msg, path, value):
    """Sets the string at a rule's field path ("a.b[].c") to `value`."""
    segs = path.split(".")
    for seg in segs[:-1]:
        if seg.endswith("[]"):
            msg = getattr(msg, seg[:-2]).add()
        else:
            msg = getattr(msg, seg)
    last = segs[-1]
    if last.endswith("[]"):
        getattr(msg, last[:-2]).append(value)
    else:
        setattr(msg, last, value)


def tampered(token):
    h, p, s = token.split(".")
    payload = json.loads(harness.base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    payload["role"] = "secretariat"
    payload["sub"] = payload["sub"] + "x"
    return "%s.%s.%s" % (h, harness.b64url(json.dumps(payload).encode()), s)


@pytest.fixture(scope="module")
def world():
    """The five services with an entity taking part in a project of a group."""
    s = harness.Suite(services=ALL)
    s.__enter__()
    try:
        mb, wg, ps = s.stub("membership"), s.stub("workgroups"), s.stub("projects")
        e1 = harness.create(mb, "UNOCT")
        e2 = harness.create(mb, "UNODC")
        g1 = wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
            code="BMLE", title="Border management", pillars=[W.STRATEGY_PILLAR_II])))
        p1 = ps.CreateProject(P.CreateProjectRequest(project=P.Project(
            iati_identifier="XM-SEC-1", reporting_org_ref="XM-SEC", title="Border security",
            participants=[P.Participant(entity_id=e1.id, role=P.ORGANISATION_ROLE_ACCOUNTABLE)],
            working_group_ids=[g1.id], recipient_countries=["KE"],
            pillars=[P.STRATEGY_PILLAR_II], start_date="2024-01-01",
            status=P.ACTIVITY_STATUS_IMPLEMENTATION))).project
        yield {"suite": s, "e1": e1, "e2": e2, "g1": g1, "p1": p1}
    except BaseException:
        s.close(test_failed=True)
        raise
    s.close()


def matrix_request(world, rule, input_class):
    """A request for `rule`'s method naming world's own things in its scope."""
    req = input_class()
    if rule["entity"]:
        set_path(req, rule["entity"], world["e1"].id)
    if rule["group"]:
        set_path(req, rule["group"], world["g1"].id)
    if rule["check"]:
        fields = input_class.DESCRIPTOR.fields_by_name
        if "project_id" in fields:
            req.project_id = world["p1"].id
        elif "project" in fields:
            req.project.id = world["p1"].id
        elif "subscription_id" in fields:
            req.subscription_id = "sub_" + "a" * 20
        elif "id" in fields:
            req.id = "cfp_" + "a" * 20
    return req


def test_every_method_refuses_what_it_must(world):
    s = world["suite"]
    before = {n: audit_count(s, n) for n in ALL}
    now = int(time.time())
    good = s.token("secretariat")
    bad_tokens = {
        "no token": None,
        "expired": s.token("secretariat", exp=now - 3600),
        "other key": s.token("secretariat", key=s.secrets.other_key),
        "tampered": tampered(s.token("viewer")),
        "not yet valid": s.token("secretariat", nbf=now + 3600),
        "wrong issuer": s.token("secretariat", iss="somebody"),
        "wrong audience": s.token("secretariat", aud="somebody"),
        "alg none": "%s.%s." % (harness.b64url(b'{"alg":"none","kid":"dev"}'),
                                good.split(".")[1]),
    }
    checked = {"unauthenticated": 0, "wrong role": 0, "scope": 0}
    problems = []
    for name in ALL:
        for table in rules_of(name):
            service = table["service"]
            desc = harness.service_descriptor(service)
            for rule in table["rules"]:
                md = desc.FindMethodByName(rule["method"])
                input_class = harness.message_class(md.input_type.full_name)
                req = matrix_request(world, rule, input_class)
                where = "%s/%s" % (service, rule["method"])
                for what, tok in bad_tokens.items():
                    code = call(s, name, service, rule["method"], req, tok)
                    checked["unauthenticated"] += 1
                    if code != C.UNAUTHENTICATED:
                        problems.append("%s with %s: %s" % (where, what, code))
                admitted = set(rule["roles"]) | set(rule["scoped"])
                wrong = [r for r in ROLES if r not in admitted]
                if wrong:
                    role = "viewer" if "viewer" in wrong else wrong[0]
                    tok = s.token(role, entity=world["e1"].id, groups=[world["g1"].id])
                    code = call(s, name, service, rule["method"], req, tok)
                    checked["wrong role"] += 1
                    if code != C.PERMISSION_DENIED:
                        problems.append("%s as %s: %s" % (where, role, code))
                for role in rule["scoped"]:
                    if role in rule["roles"]:
                        continue
                    tok = s.token(role, entity=world["e2"].id, groups=[OTHER_GROUP])
                    code = call(s, name, service, rule["method"], req, tok)
                    checked["scope"] += 1
                    if code != C.PERMISSION_DENIED:
                        problems.append("%s as %s of another entity/group: %s" % (
                            where, role, code))
    assert not problems, "\n".join(problems)
    print("matrix:", checked)
    assert checked["wrong role"] > 30 and checked["scope"] > 15, checked
    assert {n: audit_count(s, n) for n in ALL} == before, "a refused call changed something"


def test_health_and_reflection_need_no_token(world):
    s = world["suite"]
    for name in ALL:
        ch = s.raw_channel(name)
        try:
            st = harness.Stub(ch, harness.HEALTH).Check(
                harness.health_pb2.HealthCheckRequest(service=""))
            assert st.status == harness.SERVING
            R = harness.reflection_v1_pb2
            mc = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                  request_serializer=R.ServerReflectionRequest.SerializeToString,
                                  response_deserializer=R.ServerReflectionResponse.FromString)
            rep = next(mc(iter([R.ServerReflectionRequest(list_services="")]),
                          timeout=harness.CALL_TIMEOUT))
            names = {x.name for x in rep.list_services_response.service}
            assert "compact.audit.v1.Audit" in names and harness.HEALTH in names
        finally:
            ch.close()


def test_scopes_admit_their_own(world):
    s, e1, g1, p1 = world["suite"], world["e1"], world["g1"], world["p1"]
    fp = s.token("focal-point", subject="fp@unoct", entity=e1.id)
    chair = s.token("wg-chair", subject="chair@bmle", entity=e1.id, groups=[g1.id])
    with s.channel_with("membership", fp) as ch:
        mb = s.stub("membership", channel=ch)
        e = mb.UpdateEntity(M.UpdateEntityRequest(
            entity=M.Entity(id=e1.id, name="UN Office of Counter-Terrorism"),
            update_mask=field_mask_pb2.FieldMask(paths=["name"])))
        assert e.name == "UN Office of Counter-Terrorism"
        # Verified flags are the secretariat's alone: set, or named by the mask.
        for verified, paths in ((True, ["name"]), (False, ["verified"]), (False, ["*"])):
            code, details = code_of(mb.UpdateEntity, M.UpdateEntityRequest(
                entity=M.Entity(id=e1.id, name="x", verified=verified),
                update_mask=field_mask_pb2.FieldMask(paths=paths)))
            assert code == C.PERMISSION_DENIED and "verified" in details, details
        code, details = code_of(mb.UpdateEntity, M.UpdateEntityRequest(
            entity=M.Entity(id=world["e2"].id, name="x"),
            update_mask=field_mask_pb2.FieldMask(paths=["name"])))
        assert code == C.PERMISSION_DENIED and "entity.id" in details, details
    with s.channel_with("projects", fp) as ch:
        ps = s.stub("projects", channel=ch)
        p = ps.RecordTransaction(P.RecordTransactionRequest(
            project_id=p1.id, transaction=P.Transaction(
                type=P.TRANSACTION_TYPE_DISBURSEMENT, date="2024-03-01",
                value=P.Money(currency="USD", amount_minor=150000))))
        assert len(p.transactions) == 1
        code, details = code_of(ps.RecordTransaction, P.RecordTransactionRequest(
            project_id=p1.id, transaction=P.Transaction(
                type=P.TRANSACTION_TYPE_DISBURSEMENT, date="2024-03-01", verified=True,
                value=P.Money(currency="USD", amount_minor=1))))
        assert code == C.PERMISSION_DENIED and "transaction.verified" in details
    with s.channel_with("workgroups", chair) as ch:
        wg = s.stub("workgroups", channel=ch)
        g = wg.AddMember(W.AddMemberRequest(group_id=g1.id, entity_id=world["e2"].id,
                                            role=W.MEMBER_ROLE_MEMBER))
        assert any(m.entity_id == world["e2"].id for m in g.members)
        code, _ = code_of(wg.UpdateWorkingGroup, W.UpdateWorkingGroupRequest(
            group=W.WorkingGroup(id=g1.id, title="x"),
            update_mask=field_mask_pb2.FieldMask(paths=["title"])))
        assert code == C.PERMISSION_DENIED


def test_audit_names_the_actor(world):
    s, e1 = world["suite"], world["e1"]
    fp = s.token("focal-point", subject="audited@unoct", entity=e1.id)
    with s.channel_with("membership", fp) as ch:
        s.stub("membership", channel=ch).UpdateEntity(M.UpdateEntityRequest(
            entity=M.Entity(id=e1.id, source_note="UNOCT website, 2024"),
            update_mask=field_mask_pb2.FieldMask(paths=["source_note"])))
    rep = s.stub("membership", "compact.audit.v1.Audit").ListChanges(
        A.ListChangesRequest(aggregate_id=e1.id))
    first, last = rep.changes[0], rep.changes[-1]
    assert first.type == "entity.created" and first.actor.role == "secretariat"
    assert first.actor.subject == "harness@unoct"
    assert last.actor.subject == "audited@unoct" and last.actor.role == "focal-point"
    assert last.actor.entity_id == e1.id and last.actor.peer.startswith("ipv4:127.0.0.1:")
    # The same on the published event.
    entries = poll(lambda: [harness.decode_event(f) for _, f in s.stream("membership")
                            if harness.decode_event(f).event_id == last.event_id],
                   what="the event in the stream")
    assert entries[0].actor.subject == "audited@unoct"
    # compactctl audit, and who may read it.
    out = s.ctl("audit", e1.id)
    assert out.returncode == 0, out.stderr
    assert "audited@unoct" in out.stdout and "focal-point" in out.stdout
    for role, ok in (("committee", True), ("viewer", False), ("focal-point", False)):
        res = s.ctl("audit", e1.id, env={"COMPACT_TOKEN": s.token(role, entity=e1.id)})
        assert (res.returncode == 0) == ok, res.stderr
        if not ok:
            assert "PERMISSION_DENIED" in res.stderr
    # A peer call is made as the calling service: a project naming e1 is
    # written only once membership has confirmed e1 to projects.
    before = audit_count(s, "projects")
    s.stub("projects").CreateProject(P.CreateProjectRequest(project=P.Project(
        iati_identifier="XM-SEC-AUDIT", reporting_org_ref="XM-SEC", title="Audited project",
        participants=[P.Participant(entity_id=e1.id, role=P.ORGANISATION_ROLE_ACCOUNTABLE)],
        working_group_ids=[world["g1"].id], recipient_countries=["KE"],
        pillars=[P.STRATEGY_PILLAR_II], start_date="2024-01-01",
        status=P.ACTIVITY_STATUS_IMPLEMENTATION)))
    assert audit_count(s, "projects") == before + 1


# ---- fail closed ---------------------------------------------------------------

def test_no_keys_file_no_start(tmp_path):
    env = {"COMPACT_LISTEN": "127.0.0.1:%d" % harness.free_port(),
           "COMPACT_DATA_DIR": str(tmp_path), "COMPACT_REDIS_ADDR": "127.0.0.1:1"}
    res = harness.run([harness.binary("membership")], env=env)
    assert res.returncode != 0 and "COMPACT_AUTH_KEYS_FILE" in res.stderr, res.stderr
    env["COMPACT_AUTH_KEYS_FILE"] = str(tmp_path / "missing.json")
    res = harness.run([harness.binary("membership")], env=env)
    assert res.returncode != 0 and "missing.json" in res.stderr, res.stderr
    # A service with peers needs its own key too.
    keys = tmp_path / "keys.json"
    keys.write_text('{"keys":[%s]}' % json.dumps(harness.jwk_of(
        harness.ec.generate_private_key(harness.ec.SECP256R1()), "dev")))
    env["COMPACT_AUTH_KEYS_FILE"] = str(keys)
    res = harness.run([harness.binary("workgroups")], env=env)
    assert res.returncode != 0 and "COMPACT_AUTH_SERVICE_KEY_FILE" in res.stderr, res.stderr


@pytest.mark.suite(auth=False)
def test_auth_off_is_loud_and_open(suite):
    assert any("AUTHENTICATION IS OFF" in l.get("msg", "") for l in suite.logs("membership"))
    ch = suite.raw_channel("membership")
    try:
        harness.create(suite.stub("membership", channel=ch), "UNOCT")
    finally:
        ch.close()


def test_removed_key_stops_its_tokens(suite):
    tok = suite.token("viewer")
    with suite.channel_with("membership", tok) as ch:
        mb = suite.stub("membership", channel=ch)
        mb.ListEntities(M.ListEntitiesRequest())
        new = harness.ec.generate_private_key(harness.ec.SECP256R1())
        suite.secrets.write_keys([("2026-b", new), ("service", suite.secrets.service_key)])
        # Read again within a second: the cached token goes with its key.
        poll(lambda: code_or_ok(mb.ListEntities, M.ListEntitiesRequest()) ==
             C.UNAUTHENTICATED, timeout=10, what="the removed key's token refused")
        fresh = suite.token("viewer", key=new, kid="2026-b")
    with suite.channel_with("membership", fresh) as ch:
        suite.stub("membership", channel=ch).ListEntities(M.ListEntitiesRequest())
    suite.admin_token = suite.token("secretariat", key=new, kid="2026-b")
    suite._channels.clear()


# ---- TLS ------------------------------------------------------------------------

@pytest.mark.suite(services=("membership", "workgroups"), tls=True)
def test_mutual_tls(suite):
    mb = suite.stub("membership")
    e = harness.create(mb, "UNOCT")
    # workgroups -> membership over mutual TLS, with the service's token.
    wg = suite.stub("workgroups")
    g = wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
        code="BMLE", title="Border management", pillars=[W.STRATEGY_PILLAR_II])))
    g = wg.AddMember(W.AddMemberRequest(group_id=g.id, entity_id=e.id,
                                        role=W.MEMBER_ROLE_MEMBER))
    assert g.members[0].entity_id == e.id
    # Without a client certificate: refused during the handshake.
    for name in ("membership", "workgroups"):
        nocert = suite.channel_with(name, suite.admin_token,
                                    credentials=suite.secrets.channel_credentials(
                                        with_cert=False))
        try:
            code, _ = code_of(harness.Stub(nocert, harness.HEALTH).Check,
                              harness.health_pb2.HealthCheckRequest(), timeout=5)
            assert code == C.UNAVAILABLE
        finally:
            nocert.close()
        # Plaintext to the TLS port: refused too.
        plain = grpc.insecure_channel(suite.addr(name))
        try:
            code, _ = code_of(harness.Stub(plain, harness.HEALTH).Check,
                              harness.health_pb2.HealthCheckRequest(), timeout=5)
            assert code == C.UNAVAILABLE
        finally:
            plain.close()
    # The probe port: Health, and nothing else even with a token.
    probe = suite.health_channel("membership")
    try:
        assert harness.Stub(probe, harness.HEALTH).Check(
            harness.health_pb2.HealthCheckRequest()).status == harness.SERVING
        get = probe.unary_unary("/compact.membership.v1.Membership/GetEntity",
                                request_serializer=M.GetEntityRequest.SerializeToString,
                                response_deserializer=M.Entity.FromString)
        code, details = code_of(get, M.GetEntityRequest(id=e.id),
                                metadata=[("authorization", "Bearer " + suite.admin_token)],
                                timeout=5)
        assert code == C.UNAUTHENTICATED and "plaintext" in details
    finally:
        probe.close()
    # The container health check uses the probe port.
    env = {"COMPACT_LISTEN": suite.addr("membership"),
           "COMPACT_PROBE_LISTEN": "127.0.0.1:%d" % suite._svc["membership"].probe_port}
    assert harness.run([suite.bin("membership"), "--health-probe"], env=env).returncode == 0
    # compactctl over mutual TLS.
    res = suite.ctl("entities", "get", e.id)
    assert res.returncode == 0 and "UNOCT" in res.stdout, res.stderr
    res = suite.ctl("health")
    assert res.returncode == 0, res.stderr


# ---- Redis ----------------------------------------------------------------------

def test_wrong_redis_password_refused_and_never_logged(suite, tmp_path):
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password-0123456789\n")
    suite.restart("membership", env={"COMPACT_REDIS_PASSWORD_FILE": str(wrong)})
    poll(lambda: any("AUTH refused" in l.get("error", "") for l in suite.logs("membership")),
         what="the refused AUTH in the log")
    # The service serves from SQLite without Redis.
    harness.create(suite.stub("membership"), "UNOCT")
    text = suite.raw_log("membership")
    assert "not-the-password" not in text and suite.secrets.redis_password not in text
    suite.restart("membership", env={})
    poll(lambda: any(l.get("msg") == "redis connected" for l in suite.logs("membership")),
         what="redis connected with the right password")


def test_analytics_counts_changes_per_actor(world):
    s, e1 = world["suite"], world["e1"]
    AN = harness.pb("compact/analytics/v1/analytics.proto")
    # Changes made before analytics set up its consumer group reach it by its
    # first rebuild, which knows no actor: write only after that rebuild.
    poll(lambda: any(l.get("msg", "").startswith("rebuilt:") for l in s.logs("analytics")),
         what="analytics' first rebuild")
    fp = s.token("focal-point", subject="counted@unoct", entity=e1.id)
    with s.channel_with("membership", fp) as ch:
        for note in ("one", "two"):
            s.stub("membership", channel=ch).UpdateEntity(M.UpdateEntityRequest(
                entity=M.Entity(id=e1.id, source_note=note),
                update_mask=field_mask_pb2.FieldMask(paths=["source_note"])))
    an = s.stub("analytics")

    def counted():
        rep = an.ListChangesByActor(AN.ListChangesByActorRequest())
        by = {(a.subject, a.role): a.changes for a in rep.actors}
        return by if by.get(("counted@unoct", "focal-point")) == 2 else None
    by = poll(counted, what="analytics counting the focal point's two changes")
    # Every count names a role (events before the consumer's group existed
    # reached analytics by a rebuild, which counts no actor).
    assert all(role for (_, role) in by), by
    for role in ("viewer", "focal-point", "wg-chair"):
        with s.channel_with("analytics", s.token(role, entity=e1.id, groups=["wg_x"])) as ch:
            code, _ = code_of(s.stub("analytics", channel=ch).ListChangesByActor,
                              AN.ListChangesByActorRequest())
            assert code == C.PERMISSION_DENIED


def test_a_focal_point_follows_groups_for_its_own_entity(world):
    s, e1, e2, g1 = world["suite"], world["e1"], world["e2"], world["g1"]
    from google.protobuf import timestamp_pb2
    fp = s.token("focal-point", subject="follower@unoct", entity=e1.id)
    other = s.token("focal-point", subject="follower@unodc", entity=e2.id)
    s.stub("membership").UpdateEntity(M.UpdateEntityRequest(
        entity=M.Entity(id=e1.id, focal_points=[M.FocalPoint(
            name="A. Focal", title="Focal point", email="fp@unoct.example")]),
        update_mask=field_mask_pb2.FieldMask(paths=["focal_points"])))
    with s.channel_with("workgroups", fp) as ch:
        wg = s.stub("workgroups", channel=ch)
        sub = wg.Subscribe(W.SubscribeRequest(subscription=W.Subscription(
            entity_id=e1.id, focal_point_email="fp@unoct.example", working_group_ids=[g1.id])))
        digest = wg.GetDigest(W.GetDigestRequest(subscription_id=sub.id,
                                                 since=timestamp_pb2.Timestamp(seconds=1)))
        assert digest.until.seconds > 0
        code, _ = code_of(wg.Subscribe, W.SubscribeRequest(subscription=W.Subscription(
            entity_id=e2.id, focal_point_email="x@unodc.example", working_group_ids=[g1.id])))
        assert code == C.PERMISSION_DENIED
    with s.channel_with("workgroups", other) as ch:
        wg = s.stub("workgroups", channel=ch)
        for call_, req in ((wg.GetDigest, W.GetDigestRequest(
                subscription_id=sub.id, since=timestamp_pb2.Timestamp(seconds=1))),
                           (wg.Unsubscribe, W.UnsubscribeRequest(subscription_id=sub.id))):
            code, details = code_of(call_, req)
            assert code == C.PERMISSION_DENIED and "subscription_id" in details, details
