#!/usr/bin/python3
"""scale.py: the projects service at scale, durable writes and the mixed
workload, driven by bench/loadgen (gRPC core, distinct requests).

Run with Debian's /usr/bin/python3, pinned to the load CPU, on a Release
build that has bench/loadgen:

    taskset -c 1 /usr/bin/python3 bench/scale.py --build /tmp/build-bench3 \\
        --data /tmp/scale-100k --projects 100000 --transactions 1000000

Setup: a redis-server (CPU --redis-cpu) and the three services (each under
`taskset -c --server-cpu`, COMPACT_LOG_LEVEL=--log-level, peers wired), as
bench/mixed.py does. The data: `compactctl seed`, then CreateProject up to
--projects (load_projects.Maker's projects, distinct, through loadgen, 32
in flight) and RecordTransaction up to --transactions (random projects).
With --data DIR the three databases are copied from there, topped up to
--projects and --transactions if they hold fewer, and kept there again
whenever something was added (Redis starts empty: the first reads fill it).

Steps (--steps, in this order):
  overlaps  FindOverlaps with 256 drafts (include_closed: every project is
            a candidate) at 1 and at 32 in flight
  lists     ListProjects, page of 20, at 1 in flight, with each one filter
            (group, entity, country, pillar, status, a text of the mix, a
            rare text) and none
  gets      GetProject and GetEntity, random ids, 64 in flight, rounds
            interleaved, after a warm-up that fills the cache
  writes    CreateEntity (membership) and RecordTransaction (projects),
            distinct requests, 64 in flight: each acknowledged after its
            flush (group commit), so requests/s is durable writes per second
  mix       the mix of bench/mixed.py (its weights), 64 in flight, for
            --duration seconds, with RSS at its start and end
  burst     2,000 reads in flight at once to projects, then to membership
            (20 connections x 100 streams) for --step-seconds, with each
            service's peak RSS before and after
Each step reports per label calls, requests/s, p50/p99/max (client side),
errors, the CPU of every process, and the services' RSS; --json keeps all.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time

import grpc

import load_projects as lp
import mixed
import plan
from load_projects import P, W, M, harness

SERVICES = mixed.SERVICES
PATHS = {
    "GetEntity": ("membership", "/compact.membership.v1.Membership/GetEntity"),
    "CreateEntity": ("membership", "/compact.membership.v1.Membership/CreateEntity"),
    "GetWorkingGroup": ("workgroups", "/compact.workgroups.v1.WorkingGroups/GetWorkingGroup"),
    "GetProject": ("projects", "/compact.projects.v1.Projects/GetProject"),
    "ListProjects": ("projects", "/compact.projects.v1.Projects/ListProjects"),
    "CreateProject": ("projects", "/compact.projects.v1.Projects/CreateProject"),
    "RecordTransaction": ("projects", "/compact.projects.v1.Projects/RecordTransaction"),
    "FindOverlaps": ("projects", "/compact.projects.v1.Projects/FindOverlaps"),
}


def log(*a):
    print("[scale]", *a, file=sys.stderr, flush=True)


# ---- requests ------------------------------------------------------------------

def group(label, bodies, weight=1, name=None):
    target, path = PATHS[label]
    return plan.Group(name or label, target, path, weight, [b.SerializeToString() for b in bodies])


def transaction_request(r, pid, provider="European Union"):
    kind = r.choice((P.TRANSACTION_TYPE_INCOMING_COMMITMENT, P.TRANSACTION_TYPE_DISBURSEMENT,
                     P.TRANSACTION_TYPE_EXPENDITURE, P.TRANSACTION_TYPE_INCOMING_PLEDGE))
    return P.RecordTransactionRequest(
        project_id=pid,
        transaction=P.Transaction(
            type=kind, date="2024-%02d-%02d" % (r.randint(1, 12), r.randint(1, 28)),
            value=P.Money(currency=r.choice(("USD", "EUR")), amount_minor=r.randint(1, 10000) * 100),
            provider_name=provider, description="bench %d" % r.randint(0, 1 << 30)))


def entity_request(i, tag):
    return M.CreateEntityRequest(entity=M.Entity(
        acronym="B%s%07d" % (tag, i), name="Bench entity %s %d" % (tag, i),
        kind=M.ENTITY_KIND_UN_ENTITY, joined_on="2018-02-23"))


# ---- running loadgen -------------------------------------------------------------

class Bench:
    def __init__(self, a, suite):
        self.a, self.suite = a, suite
        self.targets = {n: suite.addr(n) for n in SERVICES}
        self.dir = tempfile.mkdtemp(prefix="bench-scale-plans-")
        pids = {n: suite.pid(n) for n in SERVICES}
        pids["redis"] = suite.procs["redis"].pid
        self.pids = pids

    def run(self, name, groups, **options):
        path = os.path.join(self.dir, name.replace(" ", "_") + ".plan")
        plan.write(path, groups)
        meter = mixed.CpuMeter(self.pids)
        meter.start()
        out = plan.run(self.a.build, self.targets, path, cpu=self.a.load_cpu, **options)
        out["cpu"] = meter.stop()
        out["rss_kb"] = {n: mixed.proc_status(self.suite.pid(n), "VmRSS") for n in SERVICES}
        out["hwm_kb"] = {n: mixed.proc_status(self.suite.pid(n), "VmHWM") for n in SERVICES}
        os.unlink(path)
        log(name, "\n" + out.pop("summary").rstrip())
        return out


# ---- loading ------------------------------------------------------------------------

def all_project_ids(ch):
    ps = harness.Stub(ch, harness.full_name("projects"))
    return mixed.load_all_ids(ps)


def load(a, bench, world, maker, ch):
    """Tops the data up to --projects and --transactions; returns the project
    ids and whether anything was added."""
    ids = all_project_ids(ch)
    added = False
    todo = a.projects - len(ids)
    if todo > 0:
        log("creating %d projects" % todo)
        bodies = [P.CreateProjectRequest(project=maker.project(len(ids) + i)) for i in range(todo)]
        t0 = time.monotonic()
        bench.run("load projects", [group("CreateProject", bodies)], order="sequence",
                  in_flight=32, connections=4, deadline_ms=120000)
        log("created in %.0f s" % (time.monotonic() - t0))
        ids, added = all_project_ids(ch), True
    have = count_transactions(a, bench)
    todo = a.transactions - have
    if todo > 0:
        log("recording %d transactions" % todo)
        r = random.Random(3)
        bodies = [transaction_request(r, r.choice(ids)) for _ in range(min(todo, 200000))]
        t0 = time.monotonic()
        bench.run("load transactions", [group("RecordTransaction", bodies)], order="sequence",
                  count=todo, in_flight=64, connections=4)
        log("recorded in %.0f s" % (time.monotonic() - t0))
        added = True
    return ids, added


def count_transactions(a, bench):
    import sqlite3
    db = os.path.join(bench.suite.tmp, "projects", "data", "projects.db")
    try:
        with sqlite3.connect("file:%s?mode=ro" % db, uri=True) as c:
            return c.execute("SELECT count(*) FROM transactions").fetchone()[0]
    except sqlite3.Error:
        return 0


# ---- steps --------------------------------------------------------------------------

def step_overlaps(a, bench, world, maker, ids):
    drafts = [P.FindOverlapsRequest(draft=maker.draft(), include_closed=True) for _ in range(256)]
    out = {}
    for c in (1, 32):
        out["c=%d" % c] = bench.run("FindOverlaps c=%d" % c, [group("FindOverlaps", drafts)],
                                    in_flight=c, connections=1 if c == 1 else 4,
                                    duration=a.step_seconds, warmup=2)
    return out


def step_lists(a, bench, world, maker, ids):
    r = random.Random(5)
    kinds = {
        "none": lambda: P.ListProjectsRequest(page_size=20),
        "group": lambda: P.ListProjectsRequest(working_group_id=r.choice(world.groups)[0],
                                               page_size=20),
        "entity": lambda: P.ListProjectsRequest(entity_id=r.choice(world.entities), page_size=20),
        "country": lambda: P.ListProjectsRequest(country=r.choice(lp.COUNTRIES), page_size=20),
        "pillar": lambda: P.ListProjectsRequest(pillar=r.randint(1, 4), page_size=20),
        "status": lambda: P.ListProjectsRequest(status=r.choice([s for s, _ in lp.STATUSES]),
                                                page_size=20),
        "country+status": lambda: P.ListProjectsRequest(
            country=r.choice(lp.COUNTRIES), status=P.ACTIVITY_STATUS_IMPLEMENTATION,
            page_size=20),
        "text (mix)": lambda: P.ListProjectsRequest(text=r.choice(lp.SUBJECTS).split()[0],
                                                    page_size=20),
        "text (rare)": lambda: P.ListProjectsRequest(text="nothing like %d" % r.randint(0, 999),
                                                     page_size=20),
    }
    out = {}
    for k, make in kinds.items():
        reqs = [make() for _ in range(200)]
        out[k] = bench.run("ListProjects(%s)" % k,
                           [group("ListProjects", reqs, name="ListProjects(%s)" % k)],
                           in_flight=1, connections=1, duration=a.step_seconds, warmup=1)
    return out


def step_gets(a, bench, world, maker, ids):
    r = random.Random(9)
    gp = group("GetProject", [P.GetProjectRequest(id=r.choice(ids)) for _ in range(20000)])
    ge = group("GetEntity", [M.GetEntityRequest(id=r.choice(world.entities))
                             for _ in range(20000)])
    out = {"GetProject": [], "GetEntity": []}
    # Every project read once, so that the rounds read the cache.
    bench.run("warm GetProject", [gp], order="sequence", in_flight=64)
    for _ in range(a.rounds):
        for g in (gp, ge):
            out[g.label].append(bench.run(g.label, [g], in_flight=64, connections=4,
                                          duration=a.step_seconds, warmup=1))
    return out


def step_writes(a, bench, world, maker, ids):
    r = random.Random(11)
    n = 400000
    entities = [entity_request(i, "%02d" % (os.getpid() % 100)) for i in range(n)]
    txns = [transaction_request(r, r.choice(ids)) for _ in range(n)]
    out = {"CreateEntity": [], "RecordTransaction": []}
    for rnd in range(a.rounds):
        chunk = slice(rnd * (n // a.rounds), (rnd + 1) * (n // a.rounds))
        for label, bodies in (("CreateEntity", entities[chunk]),
                              ("RecordTransaction", txns[chunk])):
            out[label].append(bench.run(label, [group(label, bodies)], order="sequence",
                                        in_flight=64, connections=4,
                                        count=min(len(bodies), a.write_count)))
    return out


def step_mix(a, bench, world, maker, ids):
    r = random.Random(7)
    n = 4000
    mk = lp.Maker(world, seed=13)
    groups = [
        group("GetEntity", [M.GetEntityRequest(id=r.choice(world.entities)) for _ in range(n)],
              mixed.MIX["GetEntity"]),
        group("GetWorkingGroup", [W.GetWorkingGroupRequest(id=r.choice(world.groups)[0])
                                  for _ in range(n)], mixed.MIX["GetWorkingGroup"]),
        group("GetProject", [P.GetProjectRequest(id=r.choice(ids)) for _ in range(n)],
              mixed.MIX["GetProject"]),
        group("ListProjects", [P.ListProjectsRequest(working_group_id=r.choice(world.groups)[0],
                                                     page_size=20) for _ in range(n)],
              mixed.MIX["ListProjects(group)"], "ListProjects(group)"),
        group("ListProjects", [P.ListProjectsRequest(country=r.choice(lp.COUNTRIES),
                                                     status=P.ACTIVITY_STATUS_IMPLEMENTATION,
                                                     page_size=20) for _ in range(n)],
              mixed.MIX["ListProjects(country,status)"], "ListProjects(country,status)"),
        group("ListProjects", [P.ListProjectsRequest(text=r.choice(lp.SUBJECTS).split()[0],
                                                     page_size=20) for _ in range(n)],
              mixed.MIX["ListProjects(text)"], "ListProjects(text)"),
        # loadgen cycles through a group's bodies, and a second round of
        # creates would all be ALREADY_EXISTS: enough for 300 creates a
        # second (135/s were seen on a quiet machine), warm-up included
        group("CreateProject", [P.CreateProjectRequest(project=mk.project(i, tag="MIX%d" %
                                                                          os.getpid()))
                                for i in range(max(n, int((a.duration + 3) * 300)))],
              mixed.MIX["CreateProject"]),
        group("RecordTransaction", [transaction_request(r, r.choice(ids)) for _ in range(n)],
              mixed.MIX["RecordTransaction"]),
        group("FindOverlaps", [P.FindOverlapsRequest(draft=mk.draft()) for _ in range(n)],
              mixed.MIX["FindOverlaps(draft)"], "FindOverlaps(draft)"),
    ]
    rss0 = {s: mixed.proc_status(bench.suite.pid(s), "VmRSS") for s in SERVICES}
    out = bench.run("mix", groups, in_flight=64, connections=4, duration=a.duration, warmup=3)
    out["rss_start_kb"] = rss0
    return out


def step_burst(a, bench, world, maker, ids):
    """2,000 calls in flight at once to one service (20 connections x 100
    streams, the most a connection may carry), for --step-seconds: projects
    (GetProject and ListProjects by group) and membership (GetEntity) in
    turn, with each service's peak RSS (reset before each burst) before and
    after. Calls past a service's COMPACT_MAX_CALLS (1,000) are refused with
    RESOURCE_EXHAUSTED, which the step counts rather than fails on: what it
    measures is memory."""
    r = random.Random(17)
    n = 4000
    loads = {
        "projects": [
            group("GetProject", [P.GetProjectRequest(id=r.choice(ids)) for _ in range(n)], 2),
            group("ListProjects", [P.ListProjectsRequest(
                working_group_id=r.choice(world.groups)[0], page_size=20) for _ in range(n)], 1,
                "ListProjects(group)")],
        "membership": [
            group("GetEntity", [M.GetEntityRequest(id=r.choice(world.entities))
                                for _ in range(n)])],
    }
    out = {}
    for service, groups in loads.items():
        for s in SERVICES:  # VmHWM is the peak of the process's life: start it again here
            with open("/proc/%d/clear_refs" % bench.suite.pid(s), "w") as f:
                f.write("5")
        hwm0 = {s: mixed.proc_status(bench.suite.pid(s), "VmHWM") for s in SERVICES}
        run = bench.run("burst " + service, groups, in_flight=2000, connections=20,
                        duration=a.step_seconds, warmup=0)
        run["hwm_start_kb"] = hwm0
        out[service] = [run]
    return out


STEPS = {"overlaps": step_overlaps, "lists": step_lists, "gets": step_gets,
         "writes": step_writes, "mix": step_mix, "burst": step_burst}


# ---- the report -----------------------------------------------------------------

def rows_of(run):
    return ["| %s | %d | %.0f | %.2f | %.2f | %.1f | %s |" % (
        g["label"], g["ok"], g["rps"], g["p50_ms"], g["p99_ms"], g["max_ms"],
        ", ".join("%s %d" % kv for kv in sorted(g["errors"].items())) or "0")
        for g in run["groups"]]


def report(a, res):
    out = ["date: %(date)s; machine: %(cpus)d CPUs, %(model)s, %(mem)s RAM, kernel %(kernel)s;"
           " git %(git)s" % res["machine"],
           "command: taskset -c %s /usr/bin/python3 %s" % (res["machine"]["client_cpus"],
                                                           res["machine"]["argv"]),
           "data: %(projects)d projects, %(transactions)d transactions" % res["data"], ""]
    head = ["| call | ok | req/s | p50 ms | p99 ms | max ms | errors |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for name, r in res["steps"].items():
        out.append("### " + name)
        out += head
        runs = []
        for v in (r.values() if isinstance(r, dict) and "groups" not in r else [r]):
            runs += v if isinstance(v, list) else [v]
        for run in runs:
            out += rows_of(run)
        out.append("CPU %% of a core (last run): %s; RSS MiB: %s; peak RSS MiB: %s" % (
            mixed.cpu_line(runs[-1]["cpu"]),
            ", ".join("%s %.1f" % (n, kb / 1024) for n, kb in runs[-1]["rss_kb"].items()),
            ", ".join("%s %.1f" % (n, kb / 1024) for n, kb in runs[-1]["hwm_kb"].items())))
        if name == "burst":
            for service, (run,) in r.items():
                out.append("burst on %s: peak RSS MiB before %s, after %s" % (
                    service, ", ".join("%s %.1f" % (n, kb / 1024)
                                       for n, kb in run["hwm_start_kb"].items()),
                    ", ".join("%s %.1f" % (n, kb / 1024) for n, kb in run["hwm_kb"].items())))
        if name == "mix":
            out.append("RSS MiB at the start of the mix: " + ", ".join(
                "%s %.1f" % (n, kb / 1024) for n, kb in r["rss_start_kb"].items()))
            tot = sum(g["ok"] for g in r["groups"])
            out.append("mix: %d calls in %.0f s: %.0f req/s" % (tot, r["seconds"],
                                                                tot / r["seconds"]))
        out.append("")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="/tmp/build-bench3")
    ap.add_argument("--seed-dir", default=os.path.join(harness.SOURCE_DIR, "seed"))
    ap.add_argument("--data", help="keep the loaded databases here, or copy them from here")
    ap.add_argument("--projects", type=int, default=100000)
    ap.add_argument("--transactions", type=int, default=1000000)
    ap.add_argument("--steps", default="overlaps,lists,gets,writes,mix,burst")
    ap.add_argument("--step-seconds", type=float, default=10)
    ap.add_argument("--duration", type=float, default=60, help="of the mix")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--write-count", type=int, default=100000)
    ap.add_argument("--log-level", default="warn")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--redis-cpu", type=int, default=1)
    ap.add_argument("--load-cpu", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()

    have_data = a.data and os.path.exists(os.path.join(a.data, "projects", "projects.db"))
    suite = mixed.Suite(a.build, a.server_cpu, a.redis_cpu, a.log_level,
                        a.data if have_data else None)
    res = {"args": vars(a), "machine": mixed.machine(a), "steps": {}}
    try:
        suite.start()
        if not have_data:
            log("seed:", suite.seed(os.path.join(a.build, "compactctl"), a.seed_dir))
        chans = {n: grpc.insecure_channel(suite.addr(n), options=harness.CHANNEL_OPTIONS)
                 for n in SERVICES}
        world = lp.World.fetch(chans["membership"], chans["workgroups"])
        maker = lp.Maker(world, seed=1)
        bench = Bench(a, suite)
        ids, added = load(a, bench, world, maker, chans["projects"])
        res["data"] = {"projects": len(ids), "transactions": count_transactions(a, bench)}
        if a.data and added:
            for c in chans.values():
                c.close()
            suite.stop()
            suite.save_data(a.data)
            log("data kept in", a.data)
            suite.close()
            suite = mixed.Suite(a.build, a.server_cpu, a.redis_cpu, a.log_level, a.data)
            suite.start()
            chans = {n: grpc.insecure_channel(suite.addr(n), options=harness.CHANNEL_OPTIONS)
                     for n in SERVICES}
            bench = Bench(a, suite)
        res["rss_after_load_kb"] = {n: mixed.proc_status(suite.pid(n), "VmRSS")
                                    for n in SERVICES}
        for name in a.steps.split(","):
            if name:
                mixed.wait_quiet(600)
                res["steps"][name] = STEPS[name](a, bench, world, maker, ids)
        for c in chans.values():
            c.close()
        res["exit"] = suite.stop()
    finally:
        suite.close(a.keep)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    print("\n".join(report(a, res)))
    return 1 if any(res.get("exit", {}).values()) else 0


if __name__ == "__main__":
    sys.exit(main())
