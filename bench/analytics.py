#!/usr/bin/python3
"""analytics.py: the analytics benchmark (issue 11).

Run with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf), as root
(it installs nghttp2-client for h2load if missing), pinned to the load CPU:

    taskset -c 1 /usr/bin/python3 bench/analytics.py [--transactions 1000000]

Steps, with the DEFAULT configuration (authentication on, Redis with its ACL
user): a Release build in --build (like bench/run.sh); secrets made by
scripts/dev-secrets.sh in a temp dir and a secretariat token from
`compactctl token issue`; a redis-server (CPU --redis-cpu) and membership,
workgroups, projects and analytics (each `taskset -c --server-cpu`,
COMPACT_LOG_LEVEL=warn) on free 127.0.0.1 ports; `compactctl seed`;
--projects projects through CreateProject (bench/load_projects.py).

1. events/s: analytics is stopped (SIGTERM) once it has applied the
   projects, --transactions RecordTransaction calls are made with
   bench/grpc_load (--bodies: one distinct request per call, round robin over
   the projects, capped at --load-seconds), then analytics starts again and
   works off the backlog from its stored stream positions. Its metrics
   (compact_analytics_events_applied_total) are read every 0.25 s until
   everything is applied: events/s over that span, and analytics' CPU.
2. GetOverview and GetFundingBreakdown(by group) at concurrency 1
   (bench/grpc_load, 1 channel x 1 call: p50/p99, every status checked), and
   their throughput against grpc.health.v1.Health/Check on the same server
   with h2load (-c --conns -m --streams, the token in a header), interleaved
   over --rounds rounds; each reply's size is checked (a gRPC error would
   carry no message). Server CPU per call from /proc.
3. the JSON API: GET /api/overview with h2load over HTTP/1.1 (what H2O
   serves on the dashboard port), --rounds rounds.
4. event lag under the mixed workload of bench/mixed.py (its Workload, with
   the token): for --mix-seconds a probe process records a transaction dated
   in PROBE_YEAR (no other transaction is) on a project of its own every
   --probe-every seconds and polls GetOverview(filter year=PROBE_YEAR) until
   the money shows it: lag = first answer showing it - the transaction's
   record_time (set by projects just before its commit). Also from the
   client's send and from the RecordTransaction reply.
Prints a Markdown report, and JSON with --json FILE.

The catch-up alone, again and again (loading 10,000 projects takes minutes):
--save-backlog DIR stops once the transactions are in (analytics stopped
with its backlog still to apply) and keeps every service's data, the
secrets (a run issues its own token) and Redis' dump.rdb in DIR; then

    taskset -c 1 /usr/bin/python3 bench/analytics.py --catchup-from DIR \
        --builds /tmp/base-rel,/tmp/new-rel --rounds 3 [--perf /tmp/prof]

starts the suite from a copy of DIR for each build in turn, each round
(interleaved), and measures analytics working off the backlog: events/s
from its spawn, its CPU, events per CPU-second, its peak RSS; --perf records a profile
of analytics meanwhile (perf record --call-graph --perf-call-graph).
The seed is loaded without the committee's file: the suite runs no
committee.
"""

import argparse
import asyncio
import glob
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import load_projects as lp  # noqa: E402
import mixed  # noqa: E402
from load_projects import P, harness  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, ".."))
A = harness.pb("compact/analytics/v1/analytics.proto")
SERVICES = ("membership", "workgroups", "projects", "analytics")
HZ = os.sysconf("SC_CLK_TCK")
PROBE_YEAR = 2001
HEALTH = "/grpc.health.v1.Health/Check"
OVERVIEW = "/compact.analytics.v1.Analytics/GetOverview"
BREAKDOWN = "/compact.analytics.v1.Analytics/GetFundingBreakdown"
DONORS = [("GB-GOV-1", "United Kingdom"), ("XM-DAC-7", "Netherlands"),
          ("XI-IATI-EC_FPI", "European Commission FPI"), ("US-GOV-1", "United States"),
          ("XM-DAC-5-7", "Germany"), ("XM-DAC-4-1", "France"), ("XM-DAC-301-1", "Canada"),
          ("XM-DAC-701-1", "Japan"), ("XM-DAC-8-1", "Norway"), ("XM-DAC-10-1", "Sweden"),
          ("XM-DAC-11-1", "Switzerland"), ("XM-DAC-801-1", "Australia"),
          ("XM-DAC-18-1", "Denmark"), ("XM-DAC-6-4", "Italy"), ("XM-DAC-50-1", "Spain")]
TYPES = (P.TRANSACTION_TYPE_INCOMING_PLEDGE, P.TRANSACTION_TYPE_INCOMING_COMMITMENT,
         P.TRANSACTION_TYPE_INCOMING_FUNDS, P.TRANSACTION_TYPE_DISBURSEMENT,
         P.TRANSACTION_TYPE_EXPENDITURE)
TYPE_WEIGHTS = (10, 30, 15, 20, 25)


def log(*a):
    print("[analytics-bench]", *a, file=sys.stderr, flush=True)


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def cpu_ticks(pid):
    return mixed.cpu_ticks(pid)


# ---- the suite ---------------------------------------------------------------

class Suite:
    """redis-server and the four services, default configuration, pinned."""

    def __init__(self, build, server_cpu, redis_cpu, saved=None):
        """`saved`: a directory left by --save-backlog, copied to start from."""
        self.build, self.server_cpu, self.redis_cpu = build, server_cpu, redis_cpu
        self.tmp = tempfile.mkdtemp(prefix="bench-analytics-")
        self.sec = os.path.join(self.tmp, "secrets")
        self.ctl = os.path.join(build, "compactctl")
        if saved:  # its secrets; a token of its own (the saved one expires)
            shutil.copytree(saved, self.tmp, dirs_exist_ok=True)
        else:
            subprocess.run([os.path.join(ROOT, "scripts", "dev-secrets.sh"), self.sec]
                           + list(SERVICES) + ["client"], check=True, stdout=subprocess.DEVNULL)
        self.token = subprocess.run(
            [self.ctl, "token", "issue", "--key", os.path.join(self.sec, "auth", "dev.pem"),
             "--subject", "bench@unoct", "--role", "secretariat", "--ttl", "14400"],
            check=True, capture_output=True, text=True).stdout.strip()
        self.redis_port = harness.free_port()
        self.ports = {n: harness.free_port() for n in SERVICES}
        self.http_port = harness.free_port()
        self.metrics_port = harness.free_port()
        self.procs = {}
        self.runs = {n: 0 for n in SERVICES}
        with open(os.path.join(self.sec, "redis", "password")) as f:
            harness.REDIS_AUTH[self.redis_port] = ("compact", f.read().strip())

    def addr(self, n):
        return "127.0.0.1:%d" % self.ports[n]

    def peer_env(self):
        env = {"COMPACT_REDIS_ADDR": "127.0.0.1:%d" % self.redis_port,
               "COMPACT_REDIS_USER": "compact",
               "COMPACT_REDIS_PASSWORD_FILE": os.path.join(self.sec, "redis", "password"),
               "COMPACT_TOKEN": self.token}
        env.update({"COMPACT_%s_ADDR" % n.upper(): self.addr(n) for n in SERVICES})
        return env

    def start_redis(self):
        d = os.path.join(self.tmp, "redis")
        os.makedirs(d, exist_ok=True)     # a saved backlog brings its dump.rdb
        out = open(os.path.join(d, "redis.log"), "wb")
        self.procs["redis"] = harness.spawn(
            ["taskset", "-c", str(self.redis_cpu), harness.REDIS_SERVER, "--port",
             str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", d, "--aclfile", os.path.join(self.sec, "redis", "users.acl")],
            harness.child_env(), out, out, cwd=d)
        harness.poll(lambda: self._redis_up(), what="redis-server", timeout=300)

    def _redis_up(self):
        try:
            return harness.redis_command(self.redis_port, "PING") == "PONG"
        except (OSError, harness.RedisError):
            return False

    def start(self, n, wait=True):
        data = os.path.join(self.tmp, n, "data")
        os.makedirs(data, exist_ok=True)
        env = self.peer_env()
        env.pop("COMPACT_%s_ADDR" % n.upper())
        env.pop("COMPACT_TOKEN")
        env.update(COMPACT_LISTEN=self.addr(n), COMPACT_DATA_DIR=data, COMPACT_LOG_LEVEL="warn",
                   COMPACT_AUTH_KEYS_FILE=os.path.join(self.sec, "auth", "keys.json"),
                   COMPACT_AUTH_SERVICE_KEY_FILE=os.path.join(self.sec, "auth", "service.pem"),
                   COMPACT_AUTH_SERVICE_KID="service")
        if n == "analytics":
            env.update(COMPACT_HTTP_LISTEN="127.0.0.1:%d" % self.http_port,
                       COMPACT_METRICS_LISTEN="127.0.0.1:%d" % self.metrics_port)
        self.runs[n] += 1
        err = open(os.path.join(self.tmp, n, "stderr.%d.log" % self.runs[n]), "wb")
        self.procs[n] = harness.spawn(
            ["taskset", "-c", str(self.server_cpu), os.path.join(self.build, "compact-" + n)],
            harness.child_env(env), err, err)
        if wait:
            self._wait_serving(n)

    def _wait_serving(self, n):
        ch = grpc.insecure_channel(self.addr(n), options=harness.CHANNEL_OPTIONS)
        check = harness.Stub(ch, harness.HEALTH).Check

        def ready():
            if self.procs[n].poll() is not None:
                raise RuntimeError("%s exited:\n%s" % (n, self.stderr(n)))
            try:
                return check(harness.health_pb2.HealthCheckRequest(), timeout=1).status == \
                    harness.SERVING
            except grpc.RpcError:
                return False
        harness.poll(ready, timeout=60, what=n + " SERVING", interval=0.1)
        ch.close()

    def stop(self, n):
        p = self.procs.pop(n)
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait()

    def alive(self, n):
        code = self.procs[n].poll()
        if code is not None:
            raise RuntimeError("%s exited with %s:\n%s" % (n, code, self.stderr(n)))

    def stderr(self, n):
        with open(os.path.join(self.tmp, n, "stderr.%d.log" % self.runs[n]), "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def pid(self, n):
        return self.procs[n].pid

    def channel(self, n):
        return harness._AuthChannel(
            grpc.insecure_channel(self.addr(n), options=harness.CHANNEL_OPTIONS), self.token)

    def seed(self, seed_dir):
        env = self.peer_env()
        # Without the committee's file: the suite runs no committee (seed
        # skips a service whose file is missing).
        own = os.path.join(self.tmp, "seed")
        shutil.copytree(seed_dir, own, ignore=lambda d, names: [
            n for n in names if n == "committee" and os.path.samefile(d, seed_dir)])
        env["COMPACT_SEED_DIR"] = own
        res = harness.run([self.ctl, "seed"], env=env, timeout=300)
        if res.returncode != 0:
            raise RuntimeError("compactctl seed: %s\n%s" % (res.stdout, res.stderr))
        return res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""

    def metrics(self):
        if self.procs["analytics"].poll() is not None:
            raise RuntimeError("analytics exited:\n" + self.stderr("analytics"))
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics_port,
                                    timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            m = re.match(r"^(compact_analytics_\w+|process_\w+) ([0-9.e+-]+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def close(self, keep=False):
        for n in list(self.procs):
            if n != "redis":
                code = self.stop(n)
                if code != 0:
                    log("%s exited %s:\n%s" % (n, code, self.stderr(n)))
        r = self.procs.pop("redis", None)
        if r:
            r.terminate()
            r.wait(30)
        harness._kill_all()
        if keep:
            log("work dir kept:", self.tmp)
        else:
            shutil.rmtree(self.tmp, True)


# ---- load ----------------------------------------------------------------------

def write_bodies(path, ids, n, seed=11):
    """n distinct RecordTransactionRequest bodies, round robin over the
    projects `ids`, for grpc_load --bodies."""
    r = random.Random(seed)
    types = r.choices(TYPES, TYPE_WEIGHTS, k=n)
    with open(path, "wb") as f:
        for i in range(n):
            t = P.Transaction(
                type=types[i], date="%d-%02d-%02d" % (r.randint(2016, 2026), r.randint(1, 12),
                                                      r.randint(1, 28)),
                value=P.Money(currency="USD" if r.random() < 0.75 else "EUR",
                              amount_minor=r.randint(1, 2000) * 10000),
                description="bench")
            if r.random() < 0.8:
                ref, name = r.choice(DONORS)
                t.provider_org.ref, t.provider_org.name = ref, name
            else:
                t.provider_name = r.choice(DONORS)[1]
            b = P.RecordTransactionRequest(project_id=ids[i % len(ids)],
                                           transaction=t).SerializeToString()
            f.write(struct.pack("<I", len(b)) + b)


def grpc_load(a, suite, args):
    cmd = ["taskset", "-c", str(a.load_cpu), os.path.join(a.build, "bench", "grpc_load"),
           "--token", suite.token] + [str(x) for x in args]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError("grpc_load %s: %s %s" % (args, res.stdout, res.stderr))
    return json.loads(res.stdout.strip().splitlines()[-1])


def wait_applied(suite, target, timeout, every=0.25, still=30):
    """Polls analytics' metrics until events_applied >= target, or it has
    not moved for `still` seconds, or `timeout`. Returns [(t, applied)]."""
    samples, t0 = [], time.monotonic()
    last_change = t0
    while True:
        try:
            m = suite.metrics()
        except OSError:             # not listening yet
            if time.monotonic() - t0 > 60:
                raise
            time.sleep(0.05)
            continue
        t = time.monotonic()
        n = m.get("compact_analytics_events_applied_total", 0)
        if samples and n != samples[-1][1]:
            last_change = t
        samples.append((t, n))
        if n >= target or t - t0 > timeout or (n and t - last_change > still):
            return samples
        time.sleep(every)


# ---- the probe (its own process) --------------------------------------------------

def probe_main(addr_projects, addr_analytics, token, project_id, seconds, every, out_path):
    ch_p = harness._AuthChannel(grpc.insecure_channel(addr_projects), token)
    ch_a = harness._AuthChannel(grpc.insecure_channel(addr_analytics), token)
    ps = harness.Stub(ch_p, harness.full_name("projects"))
    an = harness.Stub(ch_a, "compact.analytics.v1.Analytics")
    req = A.GetOverviewRequest(filter=A.Filter(year=PROBE_YEAR))

    def committed():
        o = an.GetOverview(req, timeout=10)
        tot = sum(s.committed_minor for s in o.money.by_currency if s.currency == "USD")
        return tot, o.freshness.event_lag_ms

    base, _ = committed()
    rows, end, k = [], time.monotonic() + seconds, 0
    while time.monotonic() < end:
        k += 1
        amount = 100 * k
        t_send = time.time()
        rep = ps.RecordTransaction(P.RecordTransactionRequest(
            project_id=project_id, transaction=P.Transaction(
                type=P.TRANSACTION_TYPE_INCOMING_COMMITMENT, date="%d-06-01" % PROBE_YEAR,
                value=P.Money(currency="USD", amount_minor=amount),
                provider_name="probe", description="probe %d" % k)), timeout=30)
        t_ack = time.time()
        rt = [t for t in rep.transactions if t.description == "probe %d" % k][0].record_time
        t_rec = rt.seconds + rt.nanos / 1e9
        base += amount
        polls = 0
        while True:
            tot, lag = committed()
            polls += 1
            if tot >= base or time.time() - t_send > 30:
                break
        t_vis = time.time()
        # not visible after 30 s: counted as such (its lag is at least that), and
        # the money is taken as what analytics shows, so that the next probes count
        rows.append({"send": t_send, "record": t_rec, "ack": t_ack, "visible": t_vis,
                     "polls": polls, "gauge_lag_ms": lag, "stuck": tot < base})
        base = min(base, tot)
        time.sleep(max(0.0, every - (time.time() - t_send)))
    with open(out_path, "w") as f:
        json.dump(rows, f)


def stream_entry_ms(port, stream, aggregate_id, start_ms):
    """The times (ms, the first part of the entry id: when Redis added it) of
    the entries of `aggregate_id` in `stream` from `start_ms` on, in order."""
    out, start = [], "%d-0" % start_ms
    while True:
        page = harness.redis_command(port, "XRANGE", stream, start, "+", "COUNT", "500")
        for eid, fields in page or []:
            kv = dict(zip(fields[::2], fields[1::2]))
            if kv.get(b"aggregate_id") == aggregate_id.encode():
                out.append(int(eid.split(b"-")[0]))
        if not page or len(page) < 500:
            return out
        start = "(" + page[-1][0].decode()


# ---- h2load ----------------------------------------------------------------------

def h2load(a, args):
    cmd = ["taskset", "-c", str(a.load_cpu), "h2load"] + [str(x) for x in args]
    res = subprocess.run(cmd, capture_output=True, text=True)
    out = res.stdout
    if res.returncode != 0:
        raise RuntimeError("h2load: %s %s" % (out, res.stderr))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored", out)
    st = re.search(r"status codes: (\d+) 2xx", out)
    tr = re.search(r"traffic: .*\((\d+)\) data", out)
    rps = re.search(r"finished in [0-9.]+m?s, ([0-9.]+) req/s", out)
    return {"done": int(m.group(3)), "succeeded": int(m.group(4)), "failed": int(m.group(5)),
            "2xx": int(st.group(1)) if st else 0, "data": int(tr.group(1)) if tr else 0,
            "rps": float(rps.group(1))}


def framed(body):
    return b"\x00" + struct.pack(">I", len(body)) + body


# ---- measurements ----------------------------------------------------------------

def measure_rpcs(a, suite, work):
    """c=1 latency (grpc_load) and throughput vs Health/Check (h2load), rounds."""
    bodies = {"health": b"", "overview": b"",
              "breakdown": A.GetFundingBreakdownRequest(by=A.BREAKDOWN_BY_GROUP)
              .SerializeToString()}
    paths = {"health": HEALTH, "overview": OVERVIEW, "breakdown": BREAKDOWN}
    ch = suite.channel("analytics")
    replies = {
        "health": len(harness.Stub(ch, harness.HEALTH).Check(
            harness.health_pb2.HealthCheckRequest()).SerializeToString()),
        "overview": len(harness.Stub(ch, "compact.analytics.v1.Analytics").GetOverview(
            A.GetOverviewRequest()).SerializeToString()),
        "breakdown": len(harness.Stub(ch, "compact.analytics.v1.Analytics").GetFundingBreakdown(
            A.GetFundingBreakdownRequest(by=A.BREAKDOWN_BY_GROUP)).SerializeToString())}
    ch.close()
    for k, b in bodies.items():
        with open(os.path.join(work, k + ".bin"), "wb") as f:
            f.write(b)
        with open(os.path.join(work, k + ".h2"), "wb") as f:
            f.write(framed(b))
    pid = suite.pid("analytics")
    rows = []
    for rnd in range(1, a.rounds + 1):
        for k in ("health", "overview", "breakdown"):
            r = grpc_load(a, suite, ["--target", suite.addr("analytics"), "--method", paths[k],
                                     "--body", os.path.join(work, k + ".bin"), "--conns", 1,
                                     "--streams", 1, "--seconds", a.duration, "--warmup", 1])
            rows.append({"round": rnd, "what": k, "kind": "c1", **r})
            suite.alive("analytics")
            log("round %d %s c=1: %s" % (rnd, k, r))
        for k in ("health", "overview", "breakdown"):
            args = ["-c", a.conns, "-m", a.streams, "-d", os.path.join(work, k + ".h2"),
                    "-H", "content-type: application/grpc", "-H", "te: trailers",
                    "-H", "authorization: Bearer " + suite.token,
                    "http://%s%s" % (suite.addr("analytics"), paths[k])]
            h2load(a, ["-D", 2] + args)         # warm-up
            c0, t0 = cpu_ticks(pid), time.monotonic()
            o0 = cpu_ticks(suite.pid("projects"))
            h = h2load(a, ["-D", int(a.duration)] + args)
            cpu = (cpu_ticks(pid) - c0) / HZ / (time.monotonic() - t0)
            h["projects_cpu"] = (cpu_ticks(suite.pid("projects")) - o0) / HZ / (
                time.monotonic() - t0)
            want = replies[k] + 5
            good = h["2xx"] == h["done"] and h["done"] > 0 and h["data"] == want * h["done"]
            suite.alive("analytics")
            rows.append({"round": rnd, "what": k, "kind": "tput", "cpu": cpu,
                         "reply_bytes": want, "good": good, **h})
            log("round %d %s h2load: %.0f req/s, CPU %.0f%%, replies %s" % (
                rnd, k, h["rps"], 100 * cpu, "ok" if good else "NOT ALL GOOD %s" % h))
        # the JSON API
        args = ["--h1", "-c", a.http_conns, "http://127.0.0.1:%d/api/overview" % suite.http_port]
        h2load(a, ["-D", 2] + args)             # warm-up
        c0, t0 = cpu_ticks(pid), time.monotonic()
        h = h2load(a, ["-D", int(a.duration)] + args)
        cpu = (cpu_ticks(pid) - c0) / HZ / (time.monotonic() - t0)
        rows.append({"round": rnd, "what": "json", "kind": "tput", "cpu": cpu,
                     "good": h["2xx"] == h["done"] and h["done"] > 0, **h})
        log("round %d /api/overview h2load --h1: %.0f req/s, CPU %.0f%%, %s" % (
            rnd, h["rps"], 100 * cpu, h))
        suite.alive("analytics")
    return rows, replies


async def run_mix(suite, world, maker, ids, seconds, concurrency, rate=None):
    class AuthInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
        async def intercept_unary_unary(self, cont, d, req):
            md = list(d.metadata or []) + [("authorization", "Bearer " + suite.token)]
            d = grpc.aio.ClientCallDetails(d.method, d.timeout, md, d.credentials,
                                           d.wait_for_ready)
            return await cont(d, req)

    class Workload(mixed.Workload):
        def __init__(self):
            self.world, self.maker = world, maker
            self.project_ids = list(ids)
            self.created = 0
            self.ch = {n: grpc.aio.insecure_channel(suite.addr(n),
                                                    options=harness.CHANNEL_OPTIONS,
                                                    interceptors=[AuthInterceptor()])
                       for n in mixed.SERVICES}
            self.mb = harness.Stub(self.ch["membership"], harness.full_name("membership"))
            self.wg = harness.Stub(self.ch["workgroups"], harness.full_name("workgroups"))
            self.ps = harness.Stub(self.ch["projects"], harness.full_name("projects"))
            self.rnd = random.Random(7)

    wl = Workload()
    await wl.mix(3, concurrency, rate)        # warm-up
    stats, secs = await wl.mix(seconds, concurrency, rate)
    await wl.close()
    return stats.rows(secs), secs


def measure_mix(a, suite, chans, maker, probe_id, work):
    """The mixed workload for --mix-seconds with the probe beside it: the
    mix's table, every service's CPU, and the probe's event lag, split at
    the stream entry."""
    world = lp.World.fetch(chans["membership"], chans["workgroups"])
    ps = harness.Stub(chans["projects"], harness.full_name("projects"))
    ids = mixed.load_all_ids(ps)
    ids.remove(probe_id)
    probe_out = os.path.join(work, "probe.json")
    probe = multiprocessing.get_context("spawn").Process(
        target=probe_main, args=(suite.addr("projects"), suite.addr("analytics"),
                                 suite.token, probe_id, a.mix_seconds + 3, a.probe_every,
                                 probe_out))
    pids = {n: suite.pid(n) for n in SERVICES}
    c0 = {n: cpu_ticks(p) for n, p in pids.items()}
    t0 = time.monotonic()
    probe.start()
    rows, secs = asyncio.run(run_mix(suite, world, maker, ids, a.mix_seconds, a.concurrency,
                                     a.mix_rate))
    probe.join(120)
    suite.alive("analytics")
    wall = time.monotonic() - t0
    with open(probe_out) as f:
        pr = json.load(f)
    lags = {k: [1000 * (p["visible"] - p[k]) for p in pr] for k in ("record", "send", "ack")}
    # Where the lag goes: commit to the stream (projects' flush and relay),
    # and the stream to visible (Redis, analytics' read, apply, answer).
    added = stream_entry_ms(suite.redis_port, "compact:events:projects", probe_id,
                            int(1000 * pr[0]["send"]) - 1000) if pr else []
    if len(added) == len(pr):
        lags["record_to_stream"] = [a_ms - 1000 * p["record"] for p, a_ms in zip(pr, added)]
        lags["stream_to_visible"] = [1000 * p["visible"] - a_ms for p, a_ms in zip(pr, added)]
    else:
        log("probe: %d stream entries for %d probes: no split" % (len(added), len(pr)))
    mix = {"rows": rows, "seconds": secs,
           "cpu": {n: (cpu_ticks(p) - c0[n]) / HZ / wall for n, p in pids.items()},
           "probes": len(pr),
           "lag_ms": {k: {"p50": pct(v, 50), "p99": pct(v, 99), "max": max(v)}
                      for k, v in lags.items()},
           "gauge_lag_ms": {"p50": pct([p["gauge_lag_ms"] for p in pr], 50),
                            "p99": pct([p["gauge_lag_ms"] for p in pr], 99)},
           "polls_p50": pct([p["polls"] for p in pr], 50),
           "stuck": sum(1 for p in pr if p.get("stuck"))}
    log("mix lag:", mix["lag_ms"])
    return mix


def wait_alerts(suite, limit=300):
    """Every project event queues the project for a FindOverlaps question to
    projects (duplication alerts), which runs on the servers' CPU: waits
    (at most `limit` s) until that queue is empty."""
    t0 = time.monotonic()
    c0 = cpu_ticks(suite.pid("projects"))
    while True:
        waiting = suite.metrics().get("compact_analytics_alerts_waiting", 0)
        if waiting == 0 or time.monotonic() - t0 > limit:
            break
        time.sleep(0.5)
    return {"seconds": time.monotonic() - t0, "left": waiting,
            "projects_cpu_s": (cpu_ticks(suite.pid("projects")) - c0) / HZ}


def pct(xs, q):
    return mixed.percentile(sorted(xs), q)


# ---- the catch-up alone, from a saved backlog -------------------------------------------

def save_backlog(a, suite, applied0, backlog, probe_id):
    """Keeps what the catch-up starts from: every service's data, the
    secrets, and Redis' streams (SAVE: dump.rdb), in
    --save-backlog, so that --catchup-from can run it again and again."""
    harness.redis_command(suite.redis_port, "SAVE", timeout=600)
    for n in ("membership", "workgroups", "projects"):
        suite.stop(n)
    r = suite.procs.pop("redis")
    r.terminate()
    r.wait(60)
    with open(os.path.join(suite.tmp, "backlog.json"), "w") as f:
        json.dump({"applied0": applied0, "backlog": backlog, "probe_id": probe_id}, f)
    shutil.copytree(suite.tmp, a.save_backlog, dirs_exist_ok=True)
    log("backlog of %d events saved in %s" % (backlog, a.save_backlog))


def catchup_once(a, build, rnd, perf_out):
    """One catch-up of the saved backlog by `build`: events/s and CPU."""
    with open(os.path.join(a.catchup_from, "backlog.json")) as f:
        meta = json.load(f)
    suite = Suite(build, a.server_cpu, a.redis_cpu, saved=a.catchup_from)
    perf = None
    try:
        suite.start_redis()
        for n in ("membership", "workgroups", "projects"):
            suite.start(n)
        target = meta["applied0"] + meta["backlog"]
        t0 = time.monotonic()
        suite.start("analytics", wait=False)
        pid = suite.pid("analytics")
        if perf_out:
            perf = subprocess.Popen(["perf", "record", "--call-graph", a.perf_call_graph, "-F",
                                     "999", "-o", perf_out, "-p", str(pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples = wait_applied(suite, target, 1800, every=0.1)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(120)
        span = samples[-1][0] - t0
        first = [s for s in samples if s[1] > meta["applied0"]]
        first = first[0] if first else samples[-1]
        applied = samples[-1][1] - meta["applied0"]
        row = {"round": rnd, "build": build, "backlog": meta["backlog"], "applied": applied,
               "seconds": span, "events_per_s": applied / span,
               "steady_events_per_s": (samples[-1][1] - first[1]) / (samples[-1][0] - first[0])
               if samples[-1][0] > first[0] else 0,
               "first_applied_after_s": first[0] - t0,
               "cpu": cpu_ticks(pid) / HZ / span, "reached": samples[-1][1] >= target,
               "loadavg": open("/proc/loadavg").read().split()[:3]}
        row["per_cpu_s"] = applied / (row["cpu"] * span) if row["cpu"] else 0
        row["vmhwm_mib"] = mixed.proc_status(pid, "VmHWM") / 1024
        log("round %(round)d %(build)s: %(applied)d of %(backlog)d in %(seconds).2f s: "
            "%(events_per_s).0f events/s (%(steady_events_per_s).0f/s after the first), "
            "CPU %(cpu).2f, %(per_cpu_s).0f per CPU-second, peak RSS %(vmhwm_mib).1f MiB" % row)
        return row
    finally:
        if perf and perf.poll() is None:
            perf.kill()
        suite.close()


def interleaved(a, once):
    """once(build, round, k) for each build (--builds, k its index) in each
    round, in turn; the rows, with the command and time, in --json."""
    builds = a.builds.split(",") if a.builds else [a.build]
    res = {"argv": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "git": sh("git -C %s rev-parse --short HEAD" % ROOT), "rows": []}
    for rnd in range(1, a.rounds + 1):
        for k, b in enumerate(builds):
            res["rows"].append(once(b, rnd, k))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    return builds, res


def catchup_main(a):
    builds, res = interleaved(a, lambda b, rnd, k: catchup_once(
        a, b, rnd, "%s.%d.%d.data" % (a.perf, k, rnd) if a.perf else None))
    print("| build | events/s (rounds) | median | CPU | events per CPU-second (median) "
          "| peak RSS MiB (max) |")
    print("|---|---|---:|---:|---:|---:|")
    for b in builds:
        rows = [r for r in res["rows"] if r["build"] == b]
        print("| %s | %s | %.0f | %.0f%% | %.0f | %.1f |" % (
            b, " ".join("%.0f" % r["events_per_s"] for r in rows),
            statistics.median(r["events_per_s"] for r in rows),
            100 * statistics.median(r["cpu"] for r in rows),
            statistics.median(r["per_cpu_s"] for r in rows),
            max(r["vmhwm_mib"] for r in rows)))
    return 0 if all(r["reached"] for r in res["rows"]) else 1


# ---- the event lag alone, from a saved backlog ---------------------------------------

def warnings_of(suite, n):
    """The messages of the warn and error lines `n` wrote this run, counted."""
    out = {}
    with open(os.path.join(suite.tmp, n, "stderr.%d.log" % suite.runs[n]), "rb") as f:
        for line in f:
            m = re.search(rb'"level":"(?:warn|error)".*?"msg":"([^"]*)"', line)
            if m:
                out[m.group(1).decode()] = out.get(m.group(1).decode(), 0) + 1
    return out


def keep_logs(suite, prefix):
    """Every service's stderr and Redis' log, copied to PREFIX.logs/."""
    d = prefix + ".logs"
    os.makedirs(d, exist_ok=True)
    for n in list(SERVICES) + ["redis"]:
        for f in glob.glob(os.path.join(suite.tmp, n, "*.log")):
            shutil.copy(f, os.path.join(d, n + "." + os.path.basename(f)))
    log("probes not visible after 30 s; logs kept in", d)


def lag_once(a, build, rnd):
    """`build` starts from the saved backlog, works it off, answers the
    FindOverlaps questions it made, then the mix and the probe run."""
    with open(os.path.join(a.lag_from, "backlog.json")) as f:
        meta = json.load(f)
    suite = Suite(build, a.server_cpu, a.redis_cpu, saved=a.lag_from)
    try:
        suite.start_redis()
        for n in SERVICES:
            suite.start(n)
        wait_applied(suite, meta["applied0"] + meta["backlog"], 1800)
        drain = wait_alerts(suite)
        chans = {n: suite.channel(n) for n in SERVICES}
        world = lp.World.fetch(chans["membership"], chans["workgroups"])
        traces = []
        if a.trace_syncs:
            # perf trace: every fsync/fdatasync of 1 ms or more, and which thread
            for n in ("projects", "analytics"):
                out = "%s.%s.%d.%s.txt" % (a.trace_syncs, os.path.basename(build), rnd, n)
                traces.append(subprocess.Popen(
                    ["perf", "trace", "-p", str(suite.pid(n)), "-e", "fsync,fdatasync",
                     "--duration", "1", "-o", out], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL))
        if a.perf:
            # a profile of every service during the mix (where the servers' core goes)
            out = "%s.%s.%d.data" % (a.perf, os.path.basename(build), rnd)
            pids = ",".join(str(suite.pid(n)) for n in SERVICES)
            traces.append(subprocess.Popen(
                ["perf", "record", "-F", "499", "--call-graph", a.perf_call_graph, "-p", pids,
                 "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        mix = measure_mix(a, suite, chans, lp.Maker(world, seed=1), meta["probe_id"],
                          suite.tmp)
        for t in traces:
            t.send_signal(signal.SIGINT)
            t.wait(30)
        if a.trace_syncs:  # which lines are the loop's: its thread id is the pid
            for n in ("projects", "analytics"):
                out = "%s.%s.%d.%s.txt" % (a.trace_syncs, os.path.basename(build), rnd, n)
                with open(out, "a") as f:
                    f.write("# the loop thread: %d\n" % suite.pid(n))
        for c in chans.values():
            c.close()
        calls = {r["rpc"]: r for r in mix["rows"]}
        row = {"round": rnd, "build": build, "alerts_drain": drain, "mix": mix,
               "req_per_s": sum(r["ok"] for r in mix["rows"]) / mix["seconds"],
               "record_p50_ms": calls.get("RecordTransaction", {}).get("p50"),
               "vmhwm_kb": {n: mixed.proc_status(suite.pid(n), "VmHWM") for n in SERVICES},
               "loadavg": open("/proc/loadavg").read().split()[:3]}
        row["warnings"] = {n: warnings_of(suite, n) for n in SERVICES}
        if mix["stuck"]:
            keep_logs(suite, "%s.%s.%d" % (a.json or "/tmp/lag", os.path.basename(build), rnd))
        lag = mix["lag_ms"]
        log("round %d %s: mix %.0f req/s; lag from record_time p50 %.1f p99 %.1f ms; to the "
            "stream p99 %s; stream to visible p99 %s" % (
                rnd, build, row["req_per_s"], lag["record"]["p50"], lag["record"]["p99"],
                lag.get("record_to_stream", {}).get("p99"),
                lag.get("stream_to_visible", {}).get("p99")))
        return row
    finally:
        suite.close()


def lag_main(a):
    _, res = interleaved(a, lambda b, rnd, k: lag_once(a, b, rnd))
    print("| round | build | mix req/s | RecordTransaction p50 ms | lag p50 / p99 ms "
          "| record_time to stream p50 / p99 | stream to visible p50 / p99 | max |")
    print("|---|---|---:|---:|---|---|---|---:|")
    for r in res["rows"]:
        lag = r["mix"]["lag_ms"]
        two = lambda k: "%.1f / %.1f" % (lag[k]["p50"], lag[k]["p99"]) if k in lag else "-"
        print("| %d | %s | %.0f | %.1f | %s | %s | %s | %.0f |" % (
            r["round"], r["build"], r["req_per_s"], r["record_p50_ms"] or 0, two("record"), two("record_to_stream"),
            two("stream_to_visible"), lag["record"]["max"]))
    for r in res["rows"]:
        if any(r["warnings"].values()):
            print("round %d %s: warnings %s" % (r["round"], r["build"], r["warnings"]))
        if r["mix"]["stuck"]:
            print("round %d %s: %d probes not visible after 30 s" % (
                r["round"], r["build"], r["mix"]["stuck"]))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="/tmp/build-anbench")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--seed-dir", default=os.path.join(ROOT, "seed"))
    ap.add_argument("--projects", type=int, default=10000)
    ap.add_argument("--transactions", type=int, default=1000000)
    ap.add_argument("--load-seconds", type=float, default=600,
                    help="at most this long for the transactions")
    ap.add_argument("--load-conns", type=int, default=4)
    ap.add_argument("--load-streams", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=8)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--streams", type=int, default=16)
    ap.add_argument("--http-conns", type=int, default=16)
    ap.add_argument("--mix-seconds", type=float, default=60)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--mix-rate", type=float, default=None,
                    help="the mix's calls a second in all (open loop, at most --concurrency "
                         "in flight); by default each worker calls again once answered")
    ap.add_argument("--probe-every", type=float, default=0.1)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--load-cpu", type=int, default=1)
    ap.add_argument("--redis-cpu", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--save-backlog", metavar="DIR",
                    help="stop once the transactions are in and keep the data in DIR")
    ap.add_argument("--catchup-from", metavar="DIR",
                    help="only the catch-up, from a --save-backlog DIR, --rounds times")
    ap.add_argument("--lag-from", metavar="DIR",
                    help="a --save-backlog DIR: each build (--builds) in turn, --rounds "
                    "times, works it off, then the mix and the probe run (the lag alone)")
    ap.add_argument("--trace-syncs", metavar="PREFIX",
                    help="with --lag-from: perf trace of projects' and analytics' syncs of "
                    "1 ms or more during the mix, in PREFIX.<build>.<round>.<service>.txt")
    ap.add_argument("--builds", help="with --catchup-from: build dirs, comma-separated, "
                    "interleaved per round (default --build)")
    ap.add_argument("--perf", metavar="PREFIX",
                    help="with --catchup-from: perf record -g analytics during each catch-up; with "
                    "--lag-from: every service during the mix")
    ap.add_argument("--perf-call-graph", default="dwarf,16384",
                    help="perf record --call-graph (a Release build has no frame pointers)")
    a = ap.parse_args()
    if a.catchup_from:
        return catchup_main(a)
    if a.lag_from:
        return lag_main(a)

    t_start = time.monotonic()
    if not shutil.which("h2load"):
        subprocess.run("apt-get install -y nghttp2-client >/dev/null || (apt-get update "
                       ">/dev/null && apt-get install -y nghttp2-client >/dev/null)",
                       shell=True, check=True)
    if not a.skip_build:
        log("building (Release) in", a.build)
        subprocess.run(["cmake", "-S", ROOT, "-B", a.build, "-DCMAKE_BUILD_TYPE=Release",
                        "-DCOMPACT_TESTS=OFF"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", a.build, "-j2", "--target"]
                       + ["compact-" + n for n in SERVICES] + ["compactctl", "grpc_load"],
                       check=True, stdout=subprocess.DEVNULL)
    res = {"args": vars(a), "machine": {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "model": sh("awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo"),
        "kernel": os.uname().release,
        "git": sh("git -C %s rev-parse --short HEAD" % ROOT),
        "dirty": bool(sh("git -C %s status --porcelain -uno" % ROOT)),
        "argv": " ".join(sys.argv), "loadavg_start": open("/proc/loadavg").read().split()[:3]}}
    suite = Suite(a.build, a.server_cpu, a.redis_cpu)
    work = os.path.join(suite.tmp, "work")
    os.makedirs(work)
    try:
        suite.start_redis()
        for n in SERVICES:
            suite.start(n)
        log("ports:", suite.ports, "http", suite.http_port, "metrics", suite.metrics_port)
        log("seed:", suite.seed(a.seed_dir))
        chans = {n: suite.channel(n) for n in SERVICES}
        world = lp.World.fetch(chans["membership"], chans["workgroups"])
        maker = lp.Maker(world, seed=1)
        ps = harness.Stub(chans["projects"], harness.full_name("projects"))
        existing = len(mixed.load_all_ids(ps))
        _, secs = lp.load(ps, maker, a.projects - existing, 32)
        ids = mixed.load_all_ids(ps)
        log("loaded %d projects in %.1f s; %d in all" % (a.projects - existing, secs, len(ids)))
        res["projects"] = {"created": a.projects - existing, "seconds": secs, "total": len(ids)}
        # the probe's project, made now so that the backlog is transactions only
        # A year filter keeps the projects running that year: the probe's alone runs in it.
        pp = maker.project(0, tag="PROBE")
        pp.start_date, pp.end_date = "%d-01-01" % PROBE_YEAR, "%d-12-31" % PROBE_YEAR
        probe_id = ps.CreateProject(P.CreateProjectRequest(project=pp)).project.id

        # analytics applies what there is, then stops
        stream_len = lambda: sum(int(harness.redis_command(
            suite.redis_port, "XLEN", "compact:events:" + s)) for s in SERVICES[:3])
        time.sleep(1)
        before = stream_len()
        samples = wait_applied(suite, before, 600, still=5)
        log("analytics applied %d events (streams hold %d)" % (samples[-1][1], before))
        applied0 = samples[-1][1]
        code = suite.stop("analytics")
        log("analytics stopped, exit", code)

        # the transactions
        bodies = os.path.join(work, "transactions.bin")
        t0 = time.monotonic()
        write_bodies(bodies, ids, a.transactions)
        log("wrote %d request bodies in %.1f s" % (a.transactions, time.monotonic() - t0))
        c0 = {n: cpu_ticks(suite.pid(n)) for n in ("projects", "redis")}
        t0 = time.monotonic()
        load = grpc_load(a, suite, ["--target", suite.addr("projects"), "--method",
                                    "/compact.projects.v1.Projects/RecordTransaction",
                                    "--bodies", bodies, "--count", a.transactions,
                                    "--conns", a.load_conns, "--streams", a.load_streams,
                                    "--seconds", a.load_seconds, "--warmup", 0])
        wall = time.monotonic() - t0
        load["cpu"] = {n: (cpu_ticks(suite.pid(n)) - c0[n]) / HZ / wall for n in c0}
        os.remove(bodies)
        time.sleep(2)      # the outbox relay publishes the last ones
        after = stream_len()
        load["stream_events_added"] = after - before
        load["redis_used_memory"] = sh("redis-cli --user compact --pass $(cat %s) -p %d info "
                                       "memory 2>/dev/null | grep '^used_memory_human'" % (
                                           os.path.join(suite.sec, "redis", "password"),
                                           suite.redis_port))
        res["transactions"] = load
        log("transactions:", load)
        if a.save_backlog:
            save_backlog(a, suite, applied0, after - before, probe_id)
            return 0

        # events/s: analytics works off the backlog
        # From the spawn: analytics reads the streams before it says SERVING.
        target = applied0 + (after - before)
        t0 = time.monotonic()
        suite.start("analytics", wait=False)
        pid = suite.pid("analytics")
        samples = wait_applied(suite, target, 1800)
        done = samples[-1][0]
        cpu = cpu_ticks(pid) / HZ      # its whole life: start-up and catch-up
        suite._wait_serving("analytics")
        first = [s for s in samples if s[1] > applied0]
        first = first[0] if first else samples[-1]
        last = samples[-1]
        span = done - t0
        # the steady part: from the first sample with events applied to the last
        steady = last[0] - first[0]
        res["catchup"] = {"backlog": target - applied0, "applied": last[1] - applied0,
                          "seconds": span, "events_per_s": (last[1] - applied0) / span,
                          "first_applied_after_s": first[0] - t0,
                          "steady_events_per_s": (last[1] - first[1]) / steady
                          if steady > 0 else 0,
                          "cpu": cpu / span,
                          "samples": [(round(t - t0, 2), n - applied0) for t, n in samples],
                          "reached": last[1] >= target, "metrics": suite.metrics()}
        log("catch-up: %(applied)d of %(backlog)d events in %(seconds).1f s from the spawn: "
            "%(events_per_s).0f events/s (%(steady_events_per_s).0f/s after the first), "
            "%(cpu).2f CPU" % res["catchup"])

        # The RPCs are measured once analytics' FindOverlaps questions are answered.
        res["alerts_drain"] = wait_alerts(suite)
        log("alerts queue:", res["alerts_drain"])

        # RPCs and the JSON API
        res["rpc_rows"], res["reply_bytes"] = measure_rpcs(a, suite, work)

        # event lag under the mixed workload
        res["mix"] = measure_mix(a, suite, chans, maker, probe_id, work)
        for c in chans.values():
            c.close()
        res["vmhwm_kb"] = {n: mixed.proc_status(suite.pid(n), "VmHWM") for n in SERVICES}
        res["exit"] = {n: suite.stop(n) for n in SERVICES}
    finally:
        res["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        res["wall_s"] = time.monotonic() - t_start
        if a.json:
            with open(a.json, "w") as f:
                json.dump(res, f, indent=1, default=str)
        suite.close(a.keep)
    print("\n".join(report(a, res)))
    return 1 if any(res.get("exit", {}).values()) else 0


def report(a, res):
    m = res["machine"]
    out = ["date: %s; %d CPUs, %s, kernel %s; git %s%s; load average %s at start, %s at end; "
           "wall %.0f s" % (m["date"], m["cpus"], m["model"], m["kernel"], m["git"],
                            " (work tree has changes)" if m["dirty"] else "",
                            " ".join(m["loadavg_start"]), " ".join(m["loadavg_end"]),
                            res["wall_s"]),
           "command: taskset -c %d /usr/bin/python3 %s" % (a.load_cpu, m["argv"]), ""]
    p = res["projects"]
    out.append("projects: %d created in %.1f s (%d in all)" % (p["created"], p["seconds"],
                                                                p["total"]))
    t = res["transactions"]
    out.append("transactions: %d recorded in %.1f s (%.0f/s; grpc_load %d x %d in flight; "
               "p50 %.1f ms, p99 %.1f ms; projects CPU %.0f%%, redis %.0f%%); events added to "
               "the streams: %d; Redis %s" % (
                   t["calls"], t["seconds"], t["calls_per_s"], a.load_conns, a.load_streams,
                   t["p50_us"] / 1000, t["p99_us"] / 1000, 100 * t["cpu"]["projects"],
                   100 * t["cpu"]["redis"], t["stream_events_added"], t["redis_used_memory"]))
    c = res["catchup"]
    out.append("backlog: %d events; analytics started again: %d applied in %.1f s from its "
               "spawn: **%.0f events/s** (the first after %.2f s; %.0f/s from then), analytics "
               "at %.0f%% of one CPU over the span%s" % (
                   c["backlog"], c["applied"], c["seconds"], c["events_per_s"],
                   c["first_applied_after_s"], c["steady_events_per_s"], 100 * c["cpu"],
                   "" if c["reached"] else " (NOT all applied)"))
    if "alerts_drain" in res:
        d = res["alerts_drain"]
        out.append("then analytics' FindOverlaps questions (duplication alerts) for the changed "
                   "projects: %.1f s until none waited (%d left), projects CPU %.1f s" % (
                       d["seconds"], d["left"], d["projects_cpu_s"]))
    out.append("")
    rows = res["rpc_rows"]
    out.append("| call | c=1 p50 ms | c=1 p99 ms | c=1 calls/s | h2load req/s (median) | "
               "min..max | vs Health/Check | server CPU | µs CPU/call | replies |")
    out.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---|")
    med = {}
    for k in ("health", "overview", "breakdown", "json"):
        c1 = [r for r in rows if r["what"] == k and r["kind"] == "c1"]
        tp = [r for r in rows if r["what"] == k and r["kind"] == "tput"]
        med[k] = statistics.median(r["rps"] for r in tp)
        usc = statistics.median(1e6 * r["cpu"] / r["rps"] for r in tp)
        name = {"health": "Health/Check", "overview": "GetOverview",
                "breakdown": "GetFundingBreakdown(by group)",
                "json": "GET /api/overview (HTTP/1.1)"}[k]
        out.append("| %s | %s | %s | %s | %.0f | %.0f..%.0f | %s | %.0f%% | %.1f | %s |" % (
            name,
            "%.3f" % statistics.median(r["p50_us"] / 1000 for r in c1) if c1 else "-",
            "%.3f" % statistics.median(r["p99_us"] / 1000 for r in c1) if c1 else "-",
            "%.0f" % statistics.median(r["calls_per_s"] for r in c1) if c1 else "-",
            med[k], min(r["rps"] for r in tp), max(r["rps"] for r in tp),
            "%.0f%%" % (100 * med[k] / med["health"]) if k != "json" else "-",
            100 * statistics.median(r["cpu"] for r in tp), usc,
            "all good" if all(r["good"] for r in tp) else "NOT ALL GOOD"))
    out.append("")
    out.append("per round (req/s): " + "; ".join(
        "%d: %s" % (rnd, ", ".join("%s %.0f" % (r["what"], r["rps"]) for r in rows
                                   if r["round"] == rnd and r["kind"] == "tput"))
        for rnd in range(1, a.rounds + 1)))
    out.append("")
    mx = res["mix"]
    tot = sum(r["ok"] for r in mx["rows"])
    out.append("mixed workload: %d workers, %.0f s, %d calls, %.0f req/s, errors %s; CPU %s" % (
        a.concurrency, mx["seconds"], tot, tot / mx["seconds"],
        sum(sum(r["errors"].values()) for r in mx["rows"]),
        ", ".join("%s %.0f%%" % (n, 100 * v) for n, v in mx["cpu"].items())))
    out += mixed.table(mx["rows"])[0]
    out.append("")
    out.append("event lag (probe, %d transactions, %d not visible after 30 s): | from | p50 ms "
               "| p99 ms | max ms |" % (mx["probes"], mx.get("stuck", 0)))
    for k, label in (("record", "record_time (commit)"), ("ack", "the reply"),
                     ("send", "the client's send"),
                     ("record_to_stream", "split: record_time to the stream entry (Redis' time)"),
                     ("stream_to_visible", "split: the stream entry to visible")):
        v = mx["lag_ms"].get(k)
        if v is None:
            continue
        out.append("| %s | %.1f | %.1f | %.1f |" % (label, v["p50"], v["p99"], v["max"]))
    out.append("analytics' own event_lag_ms on the answers: p50 %s, p99 %s; polls per probe "
               "p50 %s" % (mx["gauge_lag_ms"]["p50"], mx["gauge_lag_ms"]["p99"],
                           mx["polls_p50"]))
    out.append("peak RSS: " + ", ".join("%s %.1f MiB" % (n, kb / 1024.0)
                                        for n, kb in res["vmhwm_kb"].items()))
    out.append("exit codes after SIGTERM: " + ", ".join("%s %d" % kv
                                                        for kv in res["exit"].items()))
    return out


if __name__ == "__main__":
    sys.exit(main())
