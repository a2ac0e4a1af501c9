"""Information-sharing in the workgroups service: notices, subscriptions,
WatchNotices and GetDigest, through the real binaries (membership and
workgroups) and a real Redis, with grpcio streams as the watchers.

- PostNotice checks every field (INVALID_ARGUMENT naming it), the author with
  membership, the group (NOT_FOUND, closed: FAILED_PRECONDITION), stores the
  notice and publishes notice.posted;
- who sees what: PUBLIC anyone, COMPACT an active Compact entity,
  GROUP_MEMBERS the group's leaders and members as they are at read or
  delivery time;
- a watching subscriber hears of a notice as it is posted; a non-member
  subscriber of the group does not hear of its members-only notices; an
  entity removed from the group stops hearing them at once; unsubscribing
  ends the watch; an entity withdrawn from the Compact has its watches ended
  by the recheck;
- GetDigest since a time, oldest first, at most 500, `until` to ask again;
- SIGTERM with watches open: they end with OK and the service exits 0 at
  once, not after its grace period.
"""
import re
import threading
import time
import urllib.request

import grpc
import pytest

import harness
from harness import M, code_of, poll

W = harness.pb("compact/workgroups/v1/workgroups.proto")
C = grpc.StatusCode
STREAM_TIMEOUT = 120 * harness.SLOW
METRICS_PORT = harness.free_port()
ENV = {"workgroups": {"COMPACT_METRICS_LISTEN": "127.0.0.1:%d" % METRICS_PORT,
                      "COMPACT_GRACE_SECONDS": "30"},
       "membership": {}}
FAULTS = {"workgroups": "notices.recheck_ms=200"}

pytestmark = pytest.mark.suite(services=("membership", "workgroups"), env=ENV, faults=FAULTS)

PUBLIC, COMPACT, MEMBERS = (W.VISIBILITY_PUBLIC, W.VISIBILITY_COMPACT,
                            W.VISIBILITY_GROUP_MEMBERS)
REPORT, UPDATE = W.NOTICE_KIND_REPORT, W.NOTICE_KIND_UPDATE


# ---- helpers ----------------------------------------------------------------

def email(acronym):
    return "focal.point@%s.example.org" % acronym.lower()


@pytest.fixture
def wg(suite):
    return suite.stub("workgroups")


@pytest.fixture
def mb(suite):
    return suite.stub("membership")


@pytest.fixture
def world(wg, mb):
    """Entities with a focal point each; BMLE led by UNOCT and CTED, with
    UNODC a member; INTERPOL in no group."""
    names = ("UNOCT", "CTED", "UNODC", "INTERPOL", "WCO")
    made = harness.create_many(mb, [harness.entity(a, focal_points=[M.FocalPoint(
        name="Focal point of " + a, title="Officer", email=email(a))]) for a in names])
    e = {a: x.id for a, x in zip(names, made)}
    g = wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
        code="BMLE", title="Border management", pillars=[W.STRATEGY_PILLAR_II]))).id
    wg.SetLeadership(W.SetLeadershipRequest(group_id=g, leadership=W.Leadership(
        chair_entity_id=e["UNOCT"], vice_chair_entity_ids=[e["CTED"]])))
    wg.AddMember(W.AddMemberRequest(group_id=g, entity_id=e["UNODC"], role=W.MEMBER_ROLE_MEMBER))
    other = wg.CreateWorkingGroup(W.CreateWorkingGroupRequest(group=W.WorkingGroup(
        code="ETCIP", title="Emerging threats", pillars=[W.STRATEGY_PILLAR_II]))).id
    return {"entity": e, "group": g, "other": other}


def post(wg, author, title="Meeting report", vis=PUBLIC, group="", kind=REPORT, **kw):
    return wg.PostNotice(W.PostNoticeRequest(notice=W.Notice(
        working_group_id=group, kind=kind, title=title, visibility=vis,
        author_entity_id=author, **kw)))


def subscribe(wg, world, acronym, groups=(), compact_wide=False, mail=None):
    return wg.Subscribe(W.SubscribeRequest(subscription=W.Subscription(
        entity_id=world["entity"][acronym], focal_point_email=mail or email(acronym),
        working_group_ids=list(groups), compact_wide=compact_wide)))


def titles(notices):
    return [n.title for n in notices]


def list_notices(wg, **kw):
    return list(wg.ListNotices(W.ListNoticesRequest(page_size=1000, **kw)).notices)


def watches():
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % METRICS_PORT,
                                timeout=harness.CALL_TIMEOUT) as r:
        text = r.read().decode()
    m = re.search(r"^compact_workgroups_notice_watches (\S+)$", text, re.M)
    assert m, "no watch gauge in:\n" + text
    return int(float(m.group(1)))


class Watch:
    """A WatchNotices stream read on a thread of its own."""

    def __init__(self, suite, sub_id):
        self.channel = suite.new_channel("workgroups")
        stub = suite.stub("workgroups", channel=self.channel)
        self.call = stub.WatchNotices(W.WatchNoticesRequest(subscription_id=sub_id),
                                      timeout=STREAM_TIMEOUT)
        self.got = []
        self.error = None
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for n in self.call:
                self.got.append(n)
        except grpc.RpcError as e:
            self.error = e
        finally:
            self.ended.set()

    def titles(self):
        return titles(self.got)

    def wait_for(self, title):
        poll(lambda: title in self.titles() or self.ended.is_set(),
             what="notice %r on the watch" % title)
        assert title in self.titles(), (title, self.titles(), self.error)

    def wait_end(self):
        assert self.ended.wait(harness.STOP_TIMEOUT), "the watch did not end"
        return self.error.code() if self.error else C.OK

    def close(self):
        self.call.cancel()
        self.ended.wait(harness.STOP_TIMEOUT)
        self.channel.close()


@pytest.fixture
def watching(suite):
    """watch(sub_id) opens a watch and waits until the server holds it."""
    opened = []

    def watch(sub_id, expect=None):
        before = watches()
        w = Watch(suite, sub_id)
        opened.append(w)
        poll(lambda: watches() > before or w.ended.is_set(), what="the watch to start")
        assert not w.ended.is_set(), w.error
        return w
    yield watch
    for w in opened:
        w.close()


# ---- PostNotice -------------------------------------------------------------------

def test_post_notice_stores_and_publishes(suite, wg, world):
    e, g = world["entity"], world["group"]
    n = post(wg, e["UNOCT"], "Work plan 2024-2026", MEMBERS, g, kind=W.NOTICE_KIND_WORK_PLAN,
             body="Approved by the Committee.\nSee the annex.",
             document_url="https://www.un.org/counterterrorism/plan.pdf",
             decision_ref="dec_abcdefghijklmnopqrst/effects/3")
    assert n.id.startswith("ntc_") and n.post_time.seconds > 0
    assert (n.working_group_id, n.visibility, n.author_entity_id, n.body) == (
        g, MEMBERS, e["UNOCT"], "Approved by the Committee.\nSee the annex.")
    whole = post(wg, e["CTED"], "To every entity", COMPACT)
    assert whole.working_group_id == "" and whole.post_time.ToNanoseconds() > n.post_time.ToNanoseconds()
    harness.wait_published(suite, whole.id, service="workgroups")
    events = [harness.decode_event(f) for _, f in suite.stream("workgroups")
              if f["aggregate_id"].decode() in (n.id, whole.id)]
    assert [(ev.aggregate_type, ev.type, ev.aggregate_id) for ev in events] == [
        ("notice", "notice.posted", n.id), ("notice", "notice.posted", whole.id)]
    assert W.Notice.FromString(events[0].state) == n


@pytest.mark.parametrize("change,field", [
    (lambda n: setattr(n, "title", ""), "notice.title"),
    (lambda n: setattr(n, "title", "t" * 301), "notice.title"),
    (lambda n: setattr(n, "title", "two\nlines"), "notice.title"),
    (lambda n: setattr(n, "body", "b" * 20001), "notice.body"),
    (lambda n: setattr(n, "kind", 0), "notice.kind"),
    (lambda n: setattr(n, "kind", 42), "notice.kind"),
    (lambda n: setattr(n, "visibility", 0), "notice.visibility"),
    (lambda n: setattr(n, "document_url", "http://www.un.org/plan.pdf"), "notice.document_url"),
    (lambda n: setattr(n, "document_url", "https://"), "notice.document_url"),
    (lambda n: setattr(n, "document_url", "https://un.org/a b"), "notice.document_url"),
    (lambda n: setattr(n, "author_entity_id", ""), "notice.author_entity_id"),
    (lambda n: setattr(n, "author_entity_id", "UNOCT"), "notice.author_entity_id"),
    (lambda n: setattr(n, "working_group_id", "BMLE"), "notice.working_group_id"),
    (lambda n: (setattr(n, "working_group_id", ""), setattr(n, "visibility", MEMBERS)),
     "notice.working_group_id"),
    (lambda n: setattr(n, "decision_ref", "decision 3"), "notice.decision_ref"),
], ids=["no-title", "long-title", "multi-line-title", "long-body", "no-kind", "unknown-kind",
        "no-visibility", "http", "no-host", "space-in-url", "no-author", "author-not-an-id",
        "group-not-an-id", "members-only-to-everyone", "bad-decision-ref"])
def test_post_notice_invalid(wg, world, change, field):
    n = W.Notice(working_group_id=world["group"], kind=REPORT, title="Report",
                 visibility=PUBLIC, author_entity_id=world["entity"]["UNOCT"])
    change(n)
    code, msg = code_of(wg.PostNotice, W.PostNoticeRequest(notice=n))
    assert code == C.INVALID_ARGUMENT
    assert msg.startswith(field + ":"), msg
    assert list_notices(wg) == []


def test_post_notice_checks_author_and_group(wg, mb, world):
    e, g = world["entity"], world["group"]
    code, msg = code_of(post, wg, harness.unknown_id(e["UNOCT"]))
    assert code == C.INVALID_ARGUMENT and msg.startswith("notice.author_entity_id: no entity"), msg
    code, msg = code_of(post, wg, e["UNOCT"], group=harness.unknown_id(g))
    assert code == C.NOT_FOUND and msg.startswith("notice.working_group_id:"), msg
    mb.WithdrawEntity(M.WithdrawEntityRequest(id=e["WCO"]))
    code, msg = code_of(post, wg, e["WCO"], group=g)
    assert code == C.FAILED_PRECONDITION and "withdrawn" in msg, msg
    wg.UpdateWorkingGroup(W.UpdateWorkingGroupRequest(
        group=W.WorkingGroup(id=g, status=W.GROUP_STATUS_CLOSED),
        update_mask={"paths": ["status"]}))
    code, msg = code_of(post, wg, e["UNOCT"], group=g)
    assert code == C.FAILED_PRECONDITION and msg.startswith("notice.working_group_id:"), msg
    assert list_notices(wg) == []


def test_post_notice_request_id_answers_a_retry_once(wg, world):
    req = W.PostNoticeRequest(request_id="retry-1", notice=W.Notice(
        kind=UPDATE, title="Once", visibility=PUBLIC, author_entity_id=world["entity"]["CTED"]))
    first = wg.PostNotice(req)
    assert wg.PostNotice(req) == first
    assert titles(list_notices(wg)) == ["Once"]


# ---- who sees what -------------------------------------------------------------------

def test_list_notices_as_readers_see_them(wg, mb, world):
    e, g, other = world["entity"], world["group"], world["other"]
    post(wg, e["UNOCT"], "public of BMLE", PUBLIC, g)
    post(wg, e["UNOCT"], "compact of BMLE", COMPACT, g)
    post(wg, e["UNOCT"], "members of BMLE", MEMBERS, g)
    post(wg, e["CTED"], "to the Compact", COMPACT)
    post(wg, e["CTED"], "public of ETCIP", PUBLIC, other)

    assert titles(list_notices(wg)) == ["public of ETCIP", "public of BMLE"]  # newest first
    assert titles(list_notices(wg, reader_entity_id=e["INTERPOL"])) == [
        "public of ETCIP", "to the Compact", "compact of BMLE", "public of BMLE"]
    everything = ["public of ETCIP", "to the Compact", "members of BMLE", "compact of BMLE",
                  "public of BMLE"]
    for leader_or_member in ("UNOCT", "CTED", "UNODC"):
        assert titles(list_notices(wg, reader_entity_id=e[leader_or_member])) == everything
    assert titles(list_notices(wg, working_group_id=g, reader_entity_id=e["UNODC"])) == [
        "members of BMLE", "compact of BMLE", "public of BMLE"]

    # Membership as it is now: removed, UNODC no longer sees the group's own.
    wg.RemoveMember(W.RemoveMemberRequest(group_id=g, entity_id=e["UNODC"]))
    assert "members of BMLE" not in titles(list_notices(wg, reader_entity_id=e["UNODC"]))

    # Pages, newest first, none lost or repeated.
    seen, token = [], ""
    while True:
        rep = wg.ListNotices(W.ListNoticesRequest(reader_entity_id=e["UNOCT"], page_size=2,
                                                  page_token=token))
        seen += titles(rep.notices)
        token = rep.next_page_token
        if not token:
            break
    assert seen == everything

    code, msg = code_of(wg.ListNotices, W.ListNoticesRequest(reader_entity_id="UNODC"))
    assert code == C.INVALID_ARGUMENT and msg.startswith("reader_entity_id:"), msg
    code, msg = code_of(wg.ListNotices, W.ListNoticesRequest(
        reader_entity_id=harness.unknown_id(e["UNODC"])))
    assert code == C.INVALID_ARGUMENT and msg.startswith("reader_entity_id: no entity"), msg
    code, _ = code_of(wg.ListNotices, W.ListNoticesRequest(working_group_id=harness.unknown_id(g)))
    assert code == C.NOT_FOUND
    mb.WithdrawEntity(M.WithdrawEntityRequest(id=e["INTERPOL"]))
    code, msg = code_of(wg.ListNotices, W.ListNoticesRequest(reader_entity_id=e["INTERPOL"]))
    assert code == C.FAILED_PRECONDITION and "withdrawn" in msg, msg


# ---- subscriptions ---------------------------------------------------------------------

def test_subscribe_checks_entity_focal_point_and_groups(wg, mb, world):
    e, g = world["entity"], world["group"]
    s = subscribe(wg, world, "UNODC", [g], mail=email("UNODC").upper())  # case does not matter
    assert s.id.startswith("sub_") and list(s.working_group_ids) == [g] and s.create_time.seconds
    code, msg = code_of(subscribe, wg, world, "UNODC", [g], mail="someone@else.example.org")
    assert code == C.FAILED_PRECONDITION
    assert msg.startswith("subscription.focal_point_email:"), msg
    code, msg = code_of(subscribe, wg, world, "UNODC", [g, harness.unknown_id(g)])
    assert code == C.INVALID_ARGUMENT
    assert msg.startswith("subscription.working_group_ids[1]: no working group"), msg
    code, msg = code_of(subscribe, wg, world, "UNODC", [g, g])
    assert code == C.INVALID_ARGUMENT and msg.startswith("subscription.working_group_ids[1]:")
    code, msg = code_of(subscribe, wg, world, "UNODC")
    assert code == C.INVALID_ARGUMENT and msg.startswith("subscription.working_group_ids:")
    code, msg = code_of(subscribe, wg, world, "UNODC", [g], mail="not an address")
    assert code == C.INVALID_ARGUMENT and msg.startswith("subscription.focal_point_email:")
    code, msg = code_of(wg.Subscribe, W.SubscribeRequest(subscription=W.Subscription(
        entity_id=harness.unknown_id(e["UNODC"]), focal_point_email=email("UNODC"),
        compact_wide=True)))
    assert code == C.INVALID_ARGUMENT and msg.startswith("subscription.entity_id: no entity")
    mb.WithdrawEntity(M.WithdrawEntityRequest(id=e["WCO"]))
    code, msg = code_of(subscribe, wg, world, "WCO", compact_wide=True)
    assert code == C.FAILED_PRECONDITION and msg.startswith("subscription.entity_id:"), msg

    wg.Unsubscribe(W.UnsubscribeRequest(subscription_id=s.id))
    code, _ = code_of(wg.Unsubscribe, W.UnsubscribeRequest(subscription_id=s.id))
    assert code == C.NOT_FOUND
    code, msg = code_of(wg.Unsubscribe, W.UnsubscribeRequest(subscription_id="sub_x"))
    assert code == C.INVALID_ARGUMENT and msg.startswith("subscription_id:")


# ---- WatchNotices ------------------------------------------------------------------------

def test_a_watching_member_hears_and_a_non_member_does_not(suite, wg, world, watching):
    e, g = world["entity"], world["group"]
    member = watching(subscribe(wg, world, "UNODC", [g]).id)
    outsider = watching(subscribe(wg, world, "INTERPOL", [g], compact_wide=True).id)

    post(wg, e["UNOCT"], "members only", MEMBERS, g)
    post(wg, e["UNOCT"], "public", PUBLIC, g)
    post(wg, e["CTED"], "to the Compact", COMPACT)
    post(wg, e["CTED"], "of another group", PUBLIC, world["other"])
    member.wait_for("public")
    outsider.wait_for("to the Compact")
    # Delivered in the order posted: had the outsider heard the members-only
    # notice, it would be before "public".
    assert member.titles() == ["members only", "public"]          # not compact_wide
    assert outsider.titles() == ["public", "to the Compact"]
    assert member.got[0] == list_notices(wg, reader_entity_id=e["UNODC"])[-1]


def test_removed_from_the_group_stops_hearing_at_once(suite, wg, world, watching):
    e, g = world["entity"], world["group"]
    w = watching(subscribe(wg, world, "UNODC", [g]).id)
    post(wg, e["UNOCT"], "before", MEMBERS, g)
    w.wait_for("before")
    wg.RemoveMember(W.RemoveMemberRequest(group_id=g, entity_id=e["UNODC"]))
    post(wg, e["UNOCT"], "after", MEMBERS, g)
    post(wg, e["UNOCT"], "public after", PUBLIC, g)
    w.wait_for("public after")
    assert w.titles() == ["before", "public after"]
    # Back in the group (as an observer): it hears again.
    wg.AddMember(W.AddMemberRequest(group_id=g, entity_id=e["UNODC"],
                                    role=W.MEMBER_ROLE_OBSERVER))
    post(wg, e["UNOCT"], "again", MEMBERS, g)
    w.wait_for("again")
    assert not w.ended.is_set()


def test_unsubscribe_ends_the_watch(suite, wg, world, watching):
    s = subscribe(wg, world, "UNODC", [world["group"]])
    w = watching(s.id)
    wg.Unsubscribe(W.UnsubscribeRequest(subscription_id=s.id))
    assert w.wait_end() == C.OK
    poll(lambda: watches() == 0, what="no watch left")
    code, _ = code_of(lambda: list(suite.stub("workgroups").WatchNotices(
        W.WatchNoticesRequest(subscription_id=s.id), timeout=harness.CALL_TIMEOUT)))
    assert code == C.NOT_FOUND


def test_a_withdrawn_entity_s_watch_ends(suite, wg, mb, world, watching):
    s = subscribe(wg, world, "INTERPOL", compact_wide=True)
    w = watching(s.id)
    mb.WithdrawEntity(M.WithdrawEntityRequest(id=world["entity"]["INTERPOL"]))
    assert w.wait_end() == C.FAILED_PRECONDITION            # at the next recheck
    assert "INTERPOL" in w.error.details(), w.error.details()
    code, msg = code_of(lambda: list(suite.stub("workgroups").WatchNotices(
        W.WatchNoticesRequest(subscription_id=s.id), timeout=harness.CALL_TIMEOUT)))
    assert code == C.FAILED_PRECONDITION and "withdrawn" in msg, msg


def test_a_watch_that_is_not_read_is_cut_off(suite, wg, world):
    """The bounded queue: a client that asks for a stream and reads nothing
    is ended by the server (RESOURCE_EXHAUSTED) instead of growing it."""
    s = subscribe(wg, world, "UNODC", [world["group"]])
    # No window growth on the client (BDP probing): flow control holds the
    # server's writes as soon as the client's 64 KiB window is full.
    ch = harness._AuthChannel(grpc.insecure_channel(
        suite.addr("workgroups"), options=harness.CHANNEL_OPTIONS + [("grpc.http2.bdp_probe", 0)]),
        suite.admin_token)
    try:
        call = suite.stub("workgroups", channel=ch).WatchNotices(
            W.WatchNoticesRequest(subscription_id=s.id), timeout=STREAM_TIMEOUT)
        poll(lambda: watches() == 1, what="the watch to start")
        body = "\U0001F310" * 20000                           # 80 kB a notice
        for i in range(200):
            post(wg, world["entity"]["UNOCT"], "flood %d" % i, PUBLIC, world["group"], body=body)
            if watches() == 0:
                break
        poll(lambda: watches() == 0, what="the unread watch to be cut off")
        call.cancel()
    finally:
        ch.close()
    assert suite.proc("workgroups").poll() is None


# ---- GetDigest ---------------------------------------------------------------------------

def test_digest_since_a_time(suite, wg, world):
    e, g = world["entity"], world["group"]
    s = subscribe(wg, world, "INTERPOL", [g], compact_wide=True)
    old = post(wg, e["UNOCT"], "old", PUBLIC, g)
    since = old.post_time
    post(wg, e["UNOCT"], "members only", MEMBERS, g)
    a = post(wg, e["UNOCT"], "new public", PUBLIC, g)
    b = post(wg, e["CTED"], "new to the Compact", COMPACT)
    post(wg, e["CTED"], "of another group", PUBLIC, world["other"])

    d = wg.GetDigest(W.GetDigestRequest(subscription_id=s.id, since=since))
    assert titles(d.notices) == ["new public", "new to the Compact"]   # oldest first
    assert not d.truncated and d.until.ToMilliseconds() >= b.post_time.ToMilliseconds()
    again = wg.GetDigest(W.GetDigestRequest(subscription_id=s.id, since=d.until))
    assert list(again.notices) == [] and again.until == d.until
    later = post(wg, e["UNOCT"], "later", PUBLIC, g)
    last = wg.GetDigest(W.GetDigestRequest(subscription_id=s.id, since=d.until))
    assert titles(last.notices) == ["later"] and last.until == later.post_time
    assert a.post_time.ToMilliseconds() > since.ToMilliseconds()

    code, msg = code_of(wg.GetDigest, W.GetDigestRequest(subscription_id=s.id))
    assert code == C.INVALID_ARGUMENT and msg.startswith("since:"), msg
    code, msg = code_of(wg.GetDigest, W.GetDigestRequest(subscription_id="nope", since=since))
    assert code == C.INVALID_ARGUMENT and msg.startswith("subscription_id:"), msg
    bad = W.GetDigestRequest(subscription_id=s.id)
    bad.since.seconds = -5
    code, msg = code_of(wg.GetDigest, bad)
    assert code == C.INVALID_ARGUMENT and msg.startswith("since:"), msg


def test_digest_of_more_than_500(suite, wg, world):
    e = world["entity"]
    s = subscribe(wg, world, "CTED", compact_wide=True)
    first = post(wg, e["CTED"], "n0", COMPACT)
    since = W.GetDigestRequest().since.__class__(seconds=first.post_time.seconds - 1)
    for i in range(1, 505, 16):
        futs = [wg.PostNotice.future(W.PostNoticeRequest(notice=W.Notice(
            kind=UPDATE, title="n%d" % j, visibility=COMPACT, author_entity_id=e["CTED"])))
            for j in range(i, min(i + 16, 505))]
        [f.result() for f in futs]
    d = wg.GetDigest(W.GetDigestRequest(subscription_id=s.id, since=since))
    assert len(d.notices) == 500 and d.truncated
    assert d.until == d.notices[-1].post_time
    times = [n.post_time.ToMilliseconds() for n in d.notices]
    assert times == sorted(set(times))                       # oldest first, all distinct
    rest = wg.GetDigest(W.GetDigestRequest(subscription_id=s.id, since=d.until))
    assert len(rest.notices) == 5 and not rest.truncated
    assert sorted(titles(d.notices) + titles(rest.notices)) == sorted("n%d" % i for i in range(505))


# ---- shutdown --------------------------------------------------------------------------------

def test_sigterm_with_open_watches_exits_at_once(suite, wg, world):
    subs = [subscribe(wg, world, a, [world["group"]]).id for a in ("UNOCT", "CTED", "UNODC")]
    ws = [Watch(suite, sid) for sid in subs]
    try:
        poll(lambda: watches() == 3, what="three watches")
        start = time.monotonic()
        suite.signal("workgroups")
        assert suite.wait_exit("workgroups") == 0
        took = time.monotonic() - start
        suite.check_exit("workgroups")
        assert took < 10, "took %.1f s: the watches held the grace period (30 s)" % took
        assert [w.wait_end() for w in ws] == [C.OK] * 3
    finally:
        for w in ws:
            w.close()


# ---- compactctl ----------------------------------------------------------------------------

def test_compactctl_notices(suite, wg, world):
    g = world["group"]
    out = suite.ctl("notices", "subscribe", "--entity", "UNODC", "--email", email("UNODC"),
                    "--group", "BMLE")
    assert out.returncode == 0, out.stderr
    sub = re.search(r"^id:\s+(sub_\S+)$", out.stdout, re.M).group(1)

    watcher = harness.spawn([suite.bin("compactctl"), "notices", "watch", sub, "--for",
                             str(20 * harness.SLOW)],
                            harness.child_env(suite.peer_env()), __import__("subprocess").PIPE,
                            __import__("subprocess").PIPE)
    try:
        poll(lambda: watches() == 1, what="compactctl's watch")
        out = suite.ctl("notices", "post", "--group", "BMLE", "--kind", "report", "--title",
                        "Workshop report", "--visibility", "members", "--author", "UNOCT",
                        "--url", "https://www.un.org/report.pdf")
        assert out.returncode == 0, out.stderr
        assert re.search(r"^visibility:\s+members$", out.stdout, re.M), out.stdout
        bad = suite.ctl("notices", "post", "--kind", "report", "--title", "x", "--visibility",
                        "members", "--author", "UNOCT")
        assert bad.returncode == 1 and "notice.working_group_id" in bad.stderr, bad.stderr
        poll(lambda: any(n.title == "Workshop report" for n in list_notices(
            wg, reader_entity_id=world["entity"]["UNODC"])), what="the notice")
        suite.signal  # (nothing: the watch ends by --for or by being ended below)
        out = suite.ctl("notices", "unsubscribe", sub)
        assert out.returncode == 0, out.stderr
        stdout, stderr = watcher.communicate(timeout=harness.STOP_TIMEOUT)
        assert watcher.returncode == 0, stderr
        lines = stdout.decode().splitlines()
        assert len(lines) == 1 and "Workshop report" in lines[0] and g in lines[0], lines
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()

    listed = suite.ctl("notices", "list", "--reader", "UNODC", "--group", "BMLE")
    assert listed.returncode == 0 and "Workshop report" in listed.stdout, listed.stderr
    public = suite.ctl("notices", "list")
    assert public.returncode == 0 and "Workshop report" not in public.stdout

    out = suite.ctl("notices", "subscribe", "--entity", "UNOCT", "--email", email("UNOCT"),
                    "--group", "BMLE")
    sub2 = re.search(r"^id:\s+(sub_\S+)$", out.stdout, re.M).group(1)
    digest = suite.ctl("notices", "digest", sub2, "--since", "2000-01-01")
    assert digest.returncode == 0, digest.stderr
    assert "Workshop report" in digest.stdout and "until: " in digest.stdout
    bad = suite.ctl("notices", "digest", sub2, "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr
    assert suite.ctl("notices", "--help").returncode in (0, 2)
    help_ = suite.ctl("--help")
    assert all(v in help_.stdout for v in ("notices post", "notices watch", "notices digest",
                                          "notices subscribe", "groups approve-plan"))
