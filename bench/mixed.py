#!/usr/bin/python3
"""mixed.py: a mixed workload over membership, workgroups and projects.

Run with Debian's /usr/bin/python3, pinned to the load CPU:

    taskset -c 1 /usr/bin/python3 bench/mixed.py --build /tmp/build-bench3

Steps: a redis-server (CPU --redis-cpu) and the three services (each under
`taskset -c --server-cpu`, COMPACT_LOG_LEVEL=warn, own data dir in a temp
dir, peers wired with COMPACT_<PEER>_ADDR) on free 127.0.0.1 ports;
`compactctl seed` with the real seed; CreateProject up to --projects
(grpcio futures, --load-in-flight at a time); then, each after waiting for
a quiet machine (no h2load, bench-exp or bench/run.sh running):
  1. the mix for --duration seconds with --concurrency grpc.aio workers,
     each drawing the next RPC by the weights in MIX;
  2. FindOverlaps with a draft, --overlap-calls calls at concurrency 1 and
     at concurrency 8 (include_closed: every project is compared).
Per RPC: count, requests/s, client-side p50/p99 latency, errors; CPU of each
process over each phase; peak RSS (VmHWM) of each service; every service
must exit 0 on SIGTERM. Prints a Markdown report, and JSON with --json FILE.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import grpc

import load_projects as lp
from load_projects import P, W, M, harness

SERVICES = ("membership", "workgroups", "projects")
HZ = os.sysconf("SC_CLK_TCK")
# RPC label -> weight (percent of the calls of the mix).
MIX = {"GetEntity": 20, "GetWorkingGroup": 15, "GetProject": 28,
       "ListProjects(group)": 5, "ListProjects(country,status)": 5, "ListProjects(text)": 3,
       "CreateProject": 5, "RecordTransaction": 17, "FindOverlaps(draft)": 2}


def log(*a):
    print("[mixed]", *a, file=sys.stderr, flush=True)


# ---- processes --------------------------------------------------------------

class Suite:
    """redis-server and the three services, pinned; see the module comment.
    `log_level` is their COMPACT_LOG_LEVEL; with `data_from`, a directory
    holding <service>/<files>, each service starts on a copy of those
    databases (bench/scale.py keeps a loaded data set that way)."""

    def __init__(self, build, server_cpu, redis_cpu, log_level="warn", data_from=None):
        self.build, self.server_cpu, self.redis_cpu = build, server_cpu, redis_cpu
        self.log_level, self.data_from = log_level, data_from
        self.tmp = tempfile.mkdtemp(prefix="bench-mixed-")
        self.redis_port = harness.free_port()
        self.ports = {n: harness.free_port() for n in SERVICES}
        self.procs = {}

    def addr(self, n):
        return "127.0.0.1:%d" % self.ports[n]

    def peer_env(self):
        env = {"COMPACT_REDIS_ADDR": "127.0.0.1:%d" % self.redis_port}
        env.update({"COMPACT_%s_ADDR" % n.upper(): self.addr(n) for n in SERVICES})
        return env

    def start(self):
        d = os.path.join(self.tmp, "redis")
        os.makedirs(d)
        out = open(os.path.join(d, "redis.log"), "wb")
        self.procs["redis"] = harness.spawn(
            ["taskset", "-c", str(self.redis_cpu), harness.REDIS_SERVER, "--port",
             str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", d], harness.child_env(), out, out, cwd=d)
        harness.poll(lambda: self._redis_up(), what="redis-server")
        for n in SERVICES:
            data = os.path.join(self.tmp, n, "data")
            os.makedirs(data)
            if self.data_from:
                src = os.path.join(self.data_from, n)
                for f in os.listdir(src):
                    shutil.copy(os.path.join(src, f), data)
            env = self.peer_env()
            env.pop("COMPACT_%s_ADDR" % n.upper())
            # COMPACT_AUTH=off: the services as before tokens (they refuse
            # to start without keys); bench/security.sh measures tokens.
            env.update(COMPACT_LISTEN=self.addr(n), COMPACT_DATA_DIR=data,
                       COMPACT_LOG_LEVEL=self.log_level, COMPACT_AUTH="off")
            err = open(os.path.join(self.tmp, n, "stderr.log"), "wb")
            self.procs[n] = harness.spawn(
                ["taskset", "-c", str(self.server_cpu),
                 os.path.join(self.build, "compact-" + n)], harness.child_env(env), err, err)
        for n in SERVICES:
            self._wait_serving(n)

    def _redis_up(self):
        try:
            return harness.redis_command(self.redis_port, "PING") == "PONG"
        except (OSError, harness.RedisError):
            return False

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
        harness.poll(ready, timeout=30, what=n + " SERVING", interval=0.1)
        ch.close()

    def stderr(self, n):
        with open(os.path.join(self.tmp, n, "stderr.log"), "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def pid(self, n):
        # the child is setpriv, which execs taskset, which execs the program
        return self.procs[n].pid

    def seed(self, ctl, seed_dir):
        env = self.peer_env()
        env["COMPACT_SEED_DIR"] = seed_dir
        res = harness.run([ctl, "seed"], env=env, timeout=120)
        if res.returncode != 0:
            raise RuntimeError("compactctl seed: %s\n%s" % (res.stdout, res.stderr))
        return res.stdout.strip()

    def stop(self):
        """SIGTERM to every service; returns {name: exit code}."""
        codes = {}
        for n in SERVICES:
            p = self.procs.get(n)
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for n in SERVICES:
            p = self.procs.get(n)
            if p:
                try:
                    codes[n] = p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    codes[n] = p.wait()
        r = self.procs.get("redis")
        if r:
            r.terminate()
            r.wait(30)
        return codes

    def save_data(self, to):
        """Copies the databases to `to`/<service>/ (the services stopped)."""
        for n in SERVICES:
            d = os.path.join(to, n)
            os.makedirs(d, exist_ok=True)
            src = os.path.join(self.tmp, n, "data")
            for f in os.listdir(src):
                shutil.copy(os.path.join(src, f), d)

    def close(self, keep=False):
        harness._kill_all()
        if keep:
            log("work dir kept:", self.tmp)
        else:
            shutil.rmtree(self.tmp, True)


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])     # utime + stime


class CpuMeter:
    """Percent of one CPU each named process used between start() and stop()."""

    def __init__(self, pids):
        self.pids = pids

    def start(self):
        self.t0, self.c0 = time.monotonic(), {n: cpu_ticks(p) for n, p in self.pids.items()}

    def stop(self):
        wall = time.monotonic() - self.t0
        return {n: round(100.0 * (cpu_ticks(p) - self.c0[n]) / HZ / wall)
                for n, p in self.pids.items()}


def proc_comm(pid):
    try:
        with open("/proc/%s/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def wait_quiet(max_wait, poll_every=20):
    """Waits until no other benchmark runs; returns the seconds waited, or
    None when it gave up after max_wait seconds."""
    t0 = time.monotonic()
    checks = (["pgrep", "-x", "h2load"], ["pgrep", "-f", "bench-exp"],
              ["pgrep", "-f", "bench/run.sh"])

    def running(check):
        # a benchmark queued on `flock /tmp/compact-bench.lock` is not running:
        # it waits for the lock this run may hold
        pids = subprocess.run(check, capture_output=True, text=True).stdout.split()
        return any(proc_comm(p) not in ("flock", "") for p in pids)

    while True:
        busy = [c[-1] for c in checks if running(c)]
        if not busy:
            return time.monotonic() - t0
        if time.monotonic() - t0 > max_wait:
            return None
        log("another benchmark is running (%s): waiting" % ", ".join(busy))
        time.sleep(poll_every)


# ---- the workload ------------------------------------------------------------

def percentile(sorted_ms, q):
    if not sorted_ms:
        return float("nan")
    i = min(len(sorted_ms) - 1, max(0, int(round(q / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[i]


class Stats:
    def __init__(self):
        self.lat = {}       # label -> [ms]
        self.err = {}       # label -> {code name: count}

    def ok(self, label, ms):
        self.lat.setdefault(label, []).append(ms)

    def fail(self, label, code):
        e = self.err.setdefault(label, {})
        e[code] = e.get(code, 0) + 1

    def rows(self, seconds):
        out = []
        for label in sorted(set(self.lat) | set(self.err), key=lambda s: (s.split("(")[0], s)):
            ms = sorted(self.lat.get(label, []))
            errs = self.err.get(label, {})
            out.append({"rpc": label, "ok": len(ms), "errors": errs,
                        "rps": len(ms) / seconds, "p50": percentile(ms, 50),
                        "p99": percentile(ms, 99), "max": ms[-1] if ms else float("nan")})
        return out


class Workload:
    """The RPCs of the mix on grpc.aio channels, one per service."""

    def __init__(self, suite, world, maker, project_ids):
        self.world, self.maker = world, maker
        self.project_ids = list(project_ids)
        self.created = 0
        self.ch = {n: grpc.aio.insecure_channel(suite.addr(n), options=harness.CHANNEL_OPTIONS)
                   for n in SERVICES}
        self.mb = harness.Stub(self.ch["membership"], harness.full_name("membership"))
        self.wg = harness.Stub(self.ch["workgroups"], harness.full_name("workgroups"))
        self.ps = harness.Stub(self.ch["projects"], harness.full_name("projects"))
        self.rnd = random.Random(7)

    async def close(self):
        for c in self.ch.values():
            await c.close()

    def request(self, label):
        """(awaitable-producing method, request) of one call of `label`."""
        r = self.rnd
        if label == "GetEntity":
            return self.mb.GetEntity, M.GetEntityRequest(id=r.choice(self.world.entities))
        if label == "GetWorkingGroup":
            return self.wg.GetWorkingGroup, W.GetWorkingGroupRequest(
                id=r.choice(self.world.groups)[0])
        if label == "GetProject":
            return self.ps.GetProject, P.GetProjectRequest(id=r.choice(self.project_ids))
        if label == "ListProjects(group)":
            return self.ps.ListProjects, P.ListProjectsRequest(
                working_group_id=r.choice(self.world.groups)[0], page_size=20)
        if label == "ListProjects(country,status)":
            return self.ps.ListProjects, P.ListProjectsRequest(
                country=r.choice(lp.COUNTRIES), status=P.ACTIVITY_STATUS_IMPLEMENTATION,
                page_size=20)
        if label == "ListProjects(text)":
            return self.ps.ListProjects, P.ListProjectsRequest(
                text=r.choice(lp.SUBJECTS).split()[0], page_size=20)
        if label == "CreateProject":
            self.created += 1
            return self.ps.CreateProject, P.CreateProjectRequest(
                project=self.maker.project(self.created, tag="MIX"))
        if label == "RecordTransaction":
            kind = r.choice((P.TRANSACTION_TYPE_INCOMING_COMMITMENT, P.TRANSACTION_TYPE_DISBURSEMENT,
                             P.TRANSACTION_TYPE_EXPENDITURE, P.TRANSACTION_TYPE_INCOMING_PLEDGE))
            return self.ps.RecordTransaction, P.RecordTransactionRequest(
                project_id=r.choice(self.project_ids),
                transaction=P.Transaction(
                    type=kind, date="2024-%02d-%02d" % (r.randint(1, 12), r.randint(1, 28)),
                    value=P.Money(currency=r.choice(("USD", "EUR")),
                                  amount_minor=r.randint(1, 10000) * 100),
                    provider_name="European Union", description="bench"))
        if label == "FindOverlaps(draft)":
            return self.ps.FindOverlaps, P.FindOverlapsRequest(draft=self.maker.draft())
        raise ValueError(label)

    async def one(self, stats, label):
        method, req = self.request(label)
        t0 = time.perf_counter()
        try:
            rep = await method(req, timeout=30)
        except grpc.aio.AioRpcError as e:
            stats.fail(label, e.code().name)
            return None
        stats.ok(label, (time.perf_counter() - t0) * 1000.0)
        return rep

    async def mix(self, seconds, concurrency, rate=None):
        """`concurrency` workers, each making one call after another (a
        closed loop: the offered load is what the servers answer). With
        `rate`, calls start at that many a second in all, whatever the
        answers' pace (an open loop, at most `concurrency` in flight): the
        load two builds are compared under is then the same."""
        stats = Stats()
        labels, weights = list(MIX), list(MIX.values())
        end = time.monotonic() + seconds
        next_start = [time.monotonic()]

        async def worker():
            while time.monotonic() < end:
                if rate:
                    at = next_start[0]
                    next_start[0] += 1.0 / rate
                    if at >= end:
                        break
                    await asyncio.sleep(max(0.0, at - time.monotonic()))
                label = self.rnd.choices(labels, weights)[0]
                rep = await self.one(stats, label)
                if label == "CreateProject" and rep is not None:
                    self.project_ids.append(rep.project.id)
        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return stats, time.monotonic() - t0

    async def overlaps(self, calls, concurrency):
        """`calls` FindOverlaps (draft, include_closed) at `concurrency`."""
        stats = Stats()
        drafts = [self.maker.draft() for _ in range(64)]
        todo = list(range(calls))
        compared = []

        async def worker():
            while todo:
                i = todo.pop()
                req = P.FindOverlapsRequest(draft=drafts[i % len(drafts)], include_closed=True)
                t0 = time.perf_counter()
                try:
                    rep = await self.ps.FindOverlaps(req, timeout=30)
                except grpc.aio.AioRpcError as e:
                    stats.fail("FindOverlaps", e.code().name)
                    continue
                stats.ok("FindOverlaps", (time.perf_counter() - t0) * 1000.0)
                compared.append(rep.projects_compared)
        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return stats, time.monotonic() - t0, (min(compared), max(compared)) if compared else None


# ---- the report --------------------------------------------------------------

def table(rows):
    out = ["| RPC | calls | req/s | p50 ms | p99 ms | max ms | errors |",
           "|---|---:|---:|---:|---:|---:|---|"]
    tot = 0
    for r in rows:
        tot += r["ok"]
        errs = ", ".join("%s %d" % kv for kv in sorted(r["errors"].items())) or "0"
        out.append("| %s | %d | %.0f | %.2f | %.2f | %.1f | %s |" % (
            r["rpc"], r["ok"], r["rps"], r["p50"], r["p99"], r["max"], errs))
    return out, tot


def cpu_line(cpu):
    return ", ".join("%s %d%%" % kv for kv in cpu.items())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="/tmp/build-bench3")
    ap.add_argument("--seed-dir", default=os.path.join(harness.SOURCE_DIR, "seed"))
    ap.add_argument("--projects", type=int, default=10000, help="projects before the mix")
    ap.add_argument("--load-in-flight", type=int, default=32)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--overlap-calls", type=int, default=500)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--redis-cpu", type=int, default=1)
    ap.add_argument("--quiet-wait", type=float, default=1500)
    ap.add_argument("--json")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    a = ap.parse_args()

    suite = Suite(a.build, a.server_cpu, a.redis_cpu)
    result = {"args": vars(a), "machine": machine(a)}
    # Loading is heavy too: do not start it in the middle of another benchmark.
    if wait_quiet(a.quiet_wait) is None:
        log("gave up waiting for a quiet machine: loading anyway")
    try:
        suite.start()
        log("seed:", suite.seed(os.path.join(a.build, "compactctl"), a.seed_dir))
        chans = {n: grpc.insecure_channel(suite.addr(n), options=harness.CHANNEL_OPTIONS)
                 for n in SERVICES}
        world = lp.World.fetch(chans["membership"], chans["workgroups"])
        maker = lp.Maker(world, seed=1)
        ps = harness.Stub(chans["projects"], harness.full_name("projects"))
        existing = len(load_all_ids(ps))
        ids, secs = lp.load(ps, maker, a.projects - existing, a.load_in_flight)
        ids = load_all_ids(ps)
        log("loaded %d projects in %.1f s; %d in all" % (a.projects - existing, secs, len(ids)))
        result["load"] = {"created": a.projects - existing, "seconds": secs, "total": len(ids),
                          "entities": len(world.entities), "groups": len(world.groups)}
        pids = {n: suite.pid(n) for n in SERVICES}
        pids["redis"] = suite.procs["redis"].pid
        pids["client"] = os.getpid()
        meter = CpuMeter(pids)
        result["runs"] = asyncio.run(measure(a, suite, world, maker, ids, meter))
        result["vmhwm_kb"] = {n: proc_status(suite.pid(n), "VmHWM") for n in SERVICES}
        result["vmrss_kb"] = {n: proc_status(suite.pid(n), "VmRSS") for n in SERVICES}
        for c in chans.values():
            c.close()
        result["exit"] = suite.stop()
        bad = {n: c for n, c in result["exit"].items() if c != 0}
        if bad:
            for n in bad:
                log(n, "stderr:\n" + suite.stderr(n))
    finally:
        suite.close(a.keep)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    print("\n".join(report(a, result)))
    errors = sum(sum(r["errors"].values()) for run in result["runs"].values()
                 for r in run["rows"])
    return 1 if errors or any(result["exit"].values()) else 0


def machine(a):
    sh = lambda c: subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "model": sh("awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo"),
        "mem": sh("awk '/MemTotal/ { printf \"%.1f GiB\", $2 / 1048576 }' /proc/meminfo"),
        "kernel": os.uname().release,
        "git": sh("git -C %s rev-parse --short HEAD" % harness.SOURCE_DIR),
        "python": sys.version.split()[0], "grpcio": grpc.__version__,
        "argv": " ".join(sys.argv),
        "client_cpus": ",".join(map(str, sorted(os.sched_getaffinity(0)))),
    }


def load_all_ids(ps):
    out, token = [], ""
    while True:
        rep = ps.ListProjects(P.ListProjectsRequest(page_size=1000, page_token=token))
        out.extend(p.id for p in rep.projects)
        token = rep.next_page_token
        if not token:
            return out


async def measure(a, suite, world, maker, ids, meter):
    runs = {}
    wl = Workload(suite, world, maker, ids)
    # The overlap runs come first: the mix creates projects, and they are
    # meant to search exactly --projects projects.
    plan = [("overlaps c=1", lambda: wl.overlaps(a.overlap_calls, 1)),
            ("overlaps c=8", lambda: wl.overlaps(a.overlap_calls, 8)),
            ("mix", lambda: wl.mix(a.duration, a.concurrency))]
    for name, run in plan:
        waited = wait_quiet(a.quiet_wait)
        if waited is None:
            log("gave up waiting for a quiet machine: measuring %s anyway" % name)
        if name == "mix":
            await wl.mix(3, a.concurrency)     # warm-up, not recorded
        else:
            await wl.overlaps(20, 1)           # warm-up, not recorded
        meter.start()
        got = await run()
        cpu = meter.stop()
        stats, secs = got[0], got[1]
        runs[name] = {"seconds": secs, "rows": stats.rows(secs), "cpu": cpu,
                      "waited": waited}
        if len(got) > 2:
            runs[name]["compared"] = got[2]
        log(name, "%.1f s" % secs, cpu_line(cpu))
    await wl.close()
    return runs


def report(a, res):
    m = res["machine"]
    out = ["date: %s; machine: %d CPUs, %s, %s RAM, kernel %s; git %s; Python %s, grpcio %s" % (
        m["date"], m["cpus"], m["model"], m["mem"], m["kernel"], m["git"], m["python"],
        m["grpcio"]),
        "command: taskset -c %s /usr/bin/python3 %s" % (m["client_cpus"], m["argv"]),
        "loaded: %(created)d projects in %(seconds).1f s (%(entities)d active entities, "
        "%(groups)d active groups)" % res["load"], ""]
    mix = res["runs"]["mix"]
    rows, tot = table(mix["rows"])
    out.append("Mixed workload: %d projects, %d workers, %.0f s: %d calls, %.0f req/s in all" % (
        res["load"]["total"], a.concurrency, mix["seconds"], tot, tot / mix["seconds"]))
    out += rows
    out.append("CPU (%% of one core): %s" % cpu_line(mix["cpu"]))
    out.append("")
    out.append("| FindOverlaps (draft, include_closed) | calls | calls/s | p50 ms | p99 ms | "
               "max ms | compared | CPU |")
    out.append("|---|---:|---:|---:|---:|---:|---|---|")
    for name in ("overlaps c=1", "overlaps c=8"):
        r = res["runs"][name]
        row = r["rows"][0]
        out.append("| concurrency %s | %d | %.0f | %.2f | %.2f | %.1f | %s | %s |" % (
            name.split("=")[1], row["ok"], row["rps"], row["p50"], row["p99"], row["max"],
            "%d-%d" % tuple(r["compared"]) if r.get("compared") else "?",
            cpu_line(r["cpu"])))
    out.append("")
    out.append("Peak RSS (VmHWM): " + ", ".join("%s %.1f MiB" % (n, kb / 1024.0)
                                                for n, kb in res["vmhwm_kb"].items()))
    out.append("Exit codes after SIGTERM: " + ", ".join("%s %d" % kv
                                                        for kv in res["exit"].items()))
    return out


if __name__ == "__main__":
    sys.exit(main())
