"""The analytics dashboard in a real browser: Debian's chromium driven by
tests/browser/dashboard_driver.mjs (playwright-core, installed by `npm ci`
in tests/browser, which scripts/test.sh runs), against the real services.

The page's figures (data-testid / data-value) must equal what the RPCs
answer: overview counts and US dollar stages, funding rows, participation
cells, coverage, alerts and monitoring; again after a filter applied through
the form; a write shows without a reload (server-sent events); the
automated accessibility checks pass. Screenshots and a PDF are kept in
<build>/test-artifacts/dashboard/ (the path is printed).

Node, node_modules or chromium missing fail the test, with what to run:
never a silent skip.
"""
import json
import os
import select
import shutil
import subprocess
import time

import pytest

import analytics_world as aw
import harness
from analytics_world import A, World
from harness import poll

BROWSER_DIR = os.path.join(harness.SOURCE_DIR, "tests", "browser")
DRIVER = os.path.join(BROWSER_DIR, "dashboard_driver.mjs")
CHROMIUM = os.environ.get("COMPACT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.path.join(harness.BUILD_DIR or ".", "test-artifacts", "dashboard")
COMMAND_TIMEOUT = 90 * harness.SLOW

pytestmark = pytest.mark.suite(services=aw.ALL)


def require_browser():
    """The node binary, or a failure saying what to install."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: scripts/deps.sh test installs Debian's nodejs "
                    "and npm when no node is on PATH", pytrace=False)
    if not os.path.isfile(os.path.join(BROWSER_DIR, "node_modules", "playwright-core",
                                       "package.json")):
        pytest.fail("tests/browser/node_modules is missing: run `npm ci` in tests/browser "
                    "(scripts/test.sh does)", pytrace=False)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("no chromium at %s: scripts/deps.sh test installs it" % CHROMIUM,
                    pytrace=False)
    return node


class Driver:
    """dashboard_driver.mjs over stdin/stdout, one JSON line each way."""

    def __init__(self, node):
        self.err_path = os.path.join(ARTIFACTS, "driver.stderr.log")
        self._err = open(self.err_path, "wb")
        self.p = harness.spawn([node, DRIVER], harness.child_env(), subprocess.PIPE,
                               self._err, cwd=BROWSER_DIR, stdin=subprocess.PIPE)
        self._buf = b""

    def send(self, cmd, **kw):
        """The answer to one command; fails unless it says ok."""
        msg = dict(kw, cmd=cmd)
        self.p.stdin.write((json.dumps(msg) + "\n").encode())
        self.p.stdin.flush()
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.p.poll() is not None:
                raise AssertionError("driver: no answer to %r (exit %s); stderr:\n%s" % (
                    msg, self.p.poll(), self.stderr()))
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk and self.p.poll() is None:
                    self.p.wait(5)
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        ans = json.loads(line)
        assert ans.get("ok"), "driver: %r answered %r\nstderr:\n%s" % (msg, ans, self.stderr())
        return ans

    def stderr(self):
        self._err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def close(self):
        try:
            if self.p.poll() is None:
                self.p.stdin.write(b'{"cmd":"close"}\n')
                self.p.stdin.close()
                self.p.wait(60)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()
            self.p.wait()
        finally:
            harness._forget(self.p)
            self._err.close()


# ---- what the page must show: data-testid -> data-value, from the RPCs ----------------

STAGE_KEYS = (("pledged", "pledged_minor"), ("committed", "committed_minor"),
              ("received", "received_minor"), ("disbursed", "disbursed_minor"),
              ("spent", "spent_minor"))
TRACK = (("on-track", "on_track"), ("off-track", "off_track"), ("no-data", "no_data"))
ROLE_NAMES = {v: k for k, v in A.Role.items()}


def num(x):
    """A double as the page writes it (JavaScript's String(number))."""
    return float(x)


def expected_figures(an, f):
    """{testid: value} for the filter f (an A.Filter)."""
    want = {}
    o = an.GetOverview(A.GetOverviewRequest(filter=f))
    for tid, v in [("overview-entities", o.entities), ("overview-members", o.members),
                   ("overview-observers", o.observers), ("overview-un-entities", o.un_entities),
                   ("overview-non-un-entities", o.non_un_entities),
                   ("overview-working-groups", o.working_groups),
                   ("overview-projects", o.projects)]:
        want[tid] = str(v)
    for c in o.projects_by_status:
        want["overview-status-" + c.key] = str(c.count)
    usd = o.money.usd
    for key, field in STAGE_KEYS:
        want["overview-%s-usd" % key] = str(getattr(usd, field))
    want["overview-budget-usd"] = str(usd.budget_minor)
    want["overview-funding-gap-usd"] = str(usd.funding_gap_minor)
    want["overview-delivery-rate"] = num(usd.delivery_rate)
    want["overview-usd-complete"] = "true" if o.money.usd_complete else "false"
    want["overview-catalytic-share"] = num(o.catalytic_share)
    want["overview-catalytic-usd"] = str(usd.catalytic_minor)
    for st in o.money.by_currency:
        for key, field in STAGE_KEYS + (("budget", "budget_minor"),
                                        ("funding-gap", "funding_gap_minor")):
            want["overview-currency-%s-%s" % (st.currency, key)] = str(getattr(st, field))
    for by, dim in ((A.BREAKDOWN_BY_GROUP, "group"), (A.BREAKDOWN_BY_PILLAR, "pillar")):
        fb = an.GetFundingBreakdown(A.GetFundingBreakdownRequest(by=by, filter=f))
        want["funding-%s-rows" % dim] = str(len(fb.rows))
        for r in fb.rows:
            p = "funding-row-%s-" % r.key
            want[p + "projects"] = str(r.projects)
            for key, field in STAGE_KEYS:
                want[p + key] = str(getattr(r.money.usd, field))
            want[p + "budget"] = str(r.money.usd.budget_minor)
            want[p + "funding-gap"] = str(r.money.usd.funding_gap_minor)
            want[p + "delivery-rate"] = num(r.money.usd.delivery_rate)
            want[p + "usd-complete"] = "true" if r.money.usd_complete else "false"
    part = an.GetParticipation(A.GetParticipationRequest(filter=f))
    want["participation-entities"] = str(len(part.entities))
    want["participation-groups"] = str(len(part.groups))
    want["participation-cells"] = str(len(part.cells))
    for c in part.cells:
        want["participation-cell-%s-%s" % (c.entity_id, c.working_group_id)] = \
            ROLE_NAMES[c.role]
    for e in part.entities:
        want["participation-entity-%s-groups" % e.entity_id] = str(e.groups)
        want["participation-entity-%s-projects" % e.entity_id] = str(e.projects)
    cov = an.GetCoverage(A.GetCoverageRequest(filter=f))
    want["coverage-countries"] = str(len({c.country for c in cov.cells}))
    want["coverage-global-cells"] = str(len(getattr(cov, "global")))
    for c in cov.cells:
        want["coverage-cell-%s-%d-projects" % (c.country, c.pillar)] = str(c.projects)
        want["coverage-cell-%s-%d-committed-usd" % (c.country, c.pillar)] = \
            str(c.committed_usd_minor)
    for c in getattr(cov, "global"):
        want["coverage-global-%d-projects" % c.pillar] = str(c.projects)
        want["coverage-global-%d-committed-usd" % c.pillar] = str(c.committed_usd_minor)
    al = an.ListDuplicationAlerts(A.ListDuplicationAlertsRequest(filter=f))
    want["alerts-count"] = str(len(al.alerts))
    want["alerts-likely-count"] = str(sum(a.likely_duplicate for a in al.alerts))
    for a in al.alerts:
        p = "alert-%s-%s-" % (a.project_id, a.other_project_id)
        want[p + "score"] = num(a.score)
        want[p + "likely"] = "true" if a.likely_duplicate else "false"
    mon = an.GetMonitoring(A.GetMonitoringRequest(filter=f))
    for key, field in TRACK:
        want["monitoring-total-" + key] = str(getattr(mon.total, field))
        for g in mon.by_group:
            want["monitoring-group-%s-%s" % (g.key, key)] = str(getattr(g, field))
        for p in mon.by_project:
            want["monitoring-project-%s-%s" % (p.key, key)] = str(getattr(p, field))
    want["freshness-events-applied"] = str(o.freshness.events_applied)
    return want


def compare(driver, an, f, what):
    """The page's figures equal the RPCs' (a few tries: the page may be one
    live update behind the RPC for a moment)."""
    def problems():
        got = driver.send("figures")["figures"]
        want = expected_figures(an, f)
        bad = []
        for tid, v in sorted(want.items()):
            g = got.get(tid)
            if g is None:
                bad.append("%s: not on the page (want %r)" % (tid, v))
            elif (num(g) if isinstance(v, float) else g) != v:
                bad.append("%s: page %r, RPC %r" % (tid, g, v))
        return bad, len(want)
    last = [None]

    def ok():
        last[0] = problems()
        return not last[0][0]
    try:
        poll(ok, timeout=30 * harness.SLOW, what=what, interval=0.5)
    except AssertionError as e:
        raise AssertionError("%s:\n%s" % (e, "\n".join(last[0][0]))) from None
    return last[0][1]


def test_dashboard_shows_the_rpc_figures(suite):
    node = require_browser()
    os.makedirs(ARTIFACTS, exist_ok=True)
    print("dashboard test artefacts: " + ARTIFACTS)
    an = suite.stub("analytics")
    aw.wait_consuming(an)
    world = World(suite)
    aw.build_basic(world)
    world.put_rate(an, "EUR", "2024-01-01", 1085000)
    aw.wait_figures(world, an)
    t1, t2 = world.projects["TRAVEL-1"].id, world.projects["TRAVEL-2"].id
    poll(lambda: any({a.project_id, a.other_project_id} == {t1, t2} for a in
                     an.ListDuplicationAlerts(A.ListDuplicationAlertsRequest()).alerts),
         what="the alert of the near-identical projects")

    driver = Driver(node)
    try:
        opened = driver.send("open", url=suite.http_url("analytics", "/"))
        assert not opened.get("page_errors"), opened
        assert not opened.get("external_requests"), opened
        n = compare(driver, an, A.Filter(), "the page to show the RPCs' figures")
        assert n > 80, n          # the comparison covers the whole page
        driver.send("screenshot", path=os.path.join(ARTIFACTS, "all.png"), full_page=True)

        # A filter through the form: the page shows the filtered answers.
        g = world.gid("BMLE")
        driver.send("filter", group=g, year=2024)
        compare(driver, an, A.Filter(working_group_id=g, year=2024),
                "the filtered page to show the filtered RPCs' figures")
        driver.send("screenshot", path=os.path.join(ARTIFACTS, "bmle-2024.png"),
                    full_page=True)

        # A write shows without a reload.
        before = driver.send("figures")["figures"]["overview-entities"]
        world.entity("UNDP")
        changed = driver.send("wait_change", testid="overview-entities", **{"from": before},
                              timeout_ms=30000 * harness.SLOW)
        assert changed["value"] == str(int(before) + 1), changed
        compare(driver, an, A.Filter(working_group_id=g, year=2024), "the page after a write")

        a11y = driver.send("a11y")
        assert a11y["passed"], json.dumps(a11y["checks"], indent=1)
        pdf = driver.send("pdf", path=os.path.join(ARTIFACTS, "dashboard.pdf"))
        assert pdf["bytes"] > 1000 and pdf["pages"] >= 1, pdf
        driver.send("screenshot", path=os.path.join(ARTIFACTS, "viewport.png"))
    finally:
        driver.close()
    for f in ("all.png", "bmle-2024.png", "viewport.png", "dashboard.pdf"):
        assert os.path.getsize(os.path.join(ARTIFACTS, f)) > 1000, f
