#!/usr/bin/python3
"""bench_client.py: the Python side of bench/run.sh.

Run with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf). The
message classes come from `protoc --python_out` into PYDIR (run.sh makes
them). Subcommands:

  wait ADDR SECONDS          poll Health/Check until SERVING (exit 1 on timeout)
  check ADDR                 one Health/Check through grpcio; prints the reply
  create ADDR                creates the benchmark entity; prints its id
  get ADDR ID                one GetEntity through grpcio; prints the acronym
  body-health FILE           writes the gRPC-framed HealthCheckRequest{}
  body-get FILE ID           writes the gRPC-framed GetEntityRequest{id}
  reply-len KIND ADDR [ID]   length of the reply message (health | get)
  summarise NAME H2LOG LATLOG IDLE_KB,IDLE_ANON_KB PEAK_KB MSGLEN SRV_CPU LOAD_CPU REDIS_CPU OTHER_CPU
                             REDIS_GETS
                             checks h2load's output, prints one JSON line
  table FILE                 prints the table of the JSON lines in FILE
"""
import importlib.util
import json
import os
import statistics
import struct
import sys
import time

import grpc

PYDIR = os.environ.get("PYDIR", "")
if PYDIR:
    sys.path.insert(0, PYDIR)

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
MEMBERSHIP = "/compact.membership.v1.Membership/"


def load_health_pb2():
    # grpcio's own `grpc` package hides a generated grpc/health/v1 package,
    # so the generated module is loaded from its file.
    path = os.path.join(PYDIR, "grpc", "health", "v1", "health_pb2.py")
    spec = importlib.util.spec_from_file_location("bench_health_pb2", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_membership_pb2():
    from compact.membership.v1 import membership_pb2
    return membership_pb2


def frame(message_bytes):
    """The gRPC length prefix: flag 0 (not compressed), 4-byte big-endian length."""
    return struct.pack(">BI", 0, len(message_bytes)) + message_bytes


def unary(channel, path, request_cls_unused, response_cls):
    return channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_cls.FromString)


def health_check(addr, timeout=2.0):
    h = load_health_pb2()
    with grpc.insecure_channel(addr) as ch:
        call = unary(ch, HEALTH_CHECK, h.HealthCheckRequest, h.HealthCheckResponse)
        return call(h.HealthCheckRequest(), timeout=timeout)


def cmd_wait(addr, seconds):
    h = load_health_pb2()
    end = time.monotonic() + float(seconds)
    last = "no answer"
    while time.monotonic() < end:
        try:
            reply = health_check(addr, timeout=0.5)
            if reply.status == h.HealthCheckResponse.SERVING:
                return 0
            last = h.HealthCheckResponse.ServingStatus.Name(reply.status)
        except grpc.RpcError as e:
            last = e.code().name
        time.sleep(0.05)
    print(f"{addr}: not SERVING after {seconds}s ({last})", file=sys.stderr)
    return 1


def cmd_check(addr):
    h = load_health_pb2()
    reply = health_check(addr)
    print("Health/Check:", h.HealthCheckResponse.ServingStatus.Name(reply.status))
    return 0 if reply.status == h.HealthCheckResponse.SERVING else 1


def bench_entity(m):
    return m.Entity(
        acronym="BENCHOCT",
        name="Benchmark copy of the United Nations Office of Counter-Terrorism",
        kind=m.ENTITY_KIND_UN_ENTITY,
        joined_on="2018-02-23",
        focal_points=[m.FocalPoint(name="Bench Focal Point", title="Programme Officer",
                                   email="bench.focal@example.org")],
        verified=False,
        source_note="Made up by bench/run.sh for the benchmark; not a real entity.",
    )


def cmd_create(addr):
    m = load_membership_pb2()
    with grpc.insecure_channel(addr) as ch:
        create = unary(ch, MEMBERSHIP + "CreateEntity", m.CreateEntityRequest, m.Entity)
        entity = create(m.CreateEntityRequest(entity=bench_entity(m)), timeout=5)
    print(entity.id)
    return 0


def get_entity(addr, entity_id):
    m = load_membership_pb2()
    with grpc.insecure_channel(addr) as ch:
        get = unary(ch, MEMBERSHIP + "GetEntity", m.GetEntityRequest, m.Entity)
        return get(m.GetEntityRequest(id=entity_id), timeout=5)


def cmd_get(addr, entity_id):
    entity = get_entity(addr, entity_id)
    if entity.id != entity_id or entity.acronym != "BENCHOCT":
        print(f"GetEntity returned the wrong entity: {entity}", file=sys.stderr)
        return 1
    print("GetEntity:", entity.acronym, entity.id)
    return 0


def cmd_body_health(path):
    h = load_health_pb2()
    with open(path, "wb") as f:
        f.write(frame(h.HealthCheckRequest().SerializeToString()))
    return 0


def cmd_body_get(path, entity_id):
    m = load_membership_pb2()
    with open(path, "wb") as f:
        f.write(frame(m.GetEntityRequest(id=entity_id).SerializeToString()))
    return 0


def cmd_reply_len(kind, addr, entity_id=None):
    reply = health_check(addr) if kind == "health" else get_entity(addr, entity_id)
    print(len(reply.SerializeToString()))
    return 0


def h2load_field(text, prefix):
    for line in text.splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    raise SystemExit(f"h2load output has no line starting with {prefix!r}")


def parse_h2load(text):
    """requests/s, done, succeeded, failed, errored, timeout, 2xx, data bytes."""
    finished = h2load_field(text, "finished in")
    rps = float(finished.split(",")[1].split()[0])
    req = h2load_field(text, "requests:")
    counts = {}
    for part in req.split(","):
        n, word = part.split()[:2]
        counts[word] = int(n)
    status = h2load_field(text, "status codes:")
    counts["2xx"] = int(status.split(",")[0].split()[0])
    traffic = h2load_field(text, "traffic:")
    # "... , 1.34MB (1400000) data"
    data_part = traffic.split(",")[-1]
    counts["data"] = int(data_part.split("(")[1].split(")")[0])
    return rps, counts


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def cmd_summarise(name, h2log, latlog, idle_kb, peak_kb, msglen, srv_cpu, load_cpu,
                  redis_cpu, other_cpu, redis_gets):
    with open(h2log) as f:
        text = f.read()
    rps, c = parse_h2load(text)
    problems = []
    if c["failed"] or c["errored"] or c["timeout"]:
        problems.append(f"failed={c['failed']} errored={c['errored']} timeout={c['timeout']}")
    if c["2xx"] != c["succeeded"] or c["succeeded"] == 0:
        problems.append(f"2xx={c['2xx']} of succeeded={c['succeeded']}")
    # Each OK reply carries exactly one framed message; an error status would
    # come back as 200 with no DATA, so the byte count catches it.
    expected = c["succeeded"] * (5 + int(msglen))
    if c["data"] != expected:
        problems.append(f"DATA bytes {c['data']} != {c['succeeded']} x {5 + int(msglen)}")
    lat = []
    with open(latlog) as f:
        for line in f:
            cols = line.split("\t")
            if len(cols) >= 3 and cols[1] != "-1":
                lat.append(int(cols[2]))
    lat.sort()
    row = {
        "target": name, "rps": rps, "requests": c["succeeded"],
        "p50_ms": percentile(lat, 50) / 1000.0, "p99_ms": percentile(lat, 99) / 1000.0,
        "idle_kb": int(idle_kb.split(",")[0]), "idle_anon_kb": int(idle_kb.split(",")[1]),
        "idle_pss_kb": int(idle_kb.split(",")[2]),
        "peak_kb": int(peak_kb),
        "srv_cpu": int(srv_cpu), "load_cpu": int(load_cpu), "redis_cpu": int(redis_cpu),
        "other_cpu": int(other_cpu),
        "redis_gets_per_call": int(redis_gets) / max(1, c["succeeded"]), "problems": problems,
    }
    print(json.dumps(row))
    return 1 if problems else 0


def cmd_table(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    targets = []
    for r in rows:
        if r["target"] not in targets:
            targets.append(r["target"])
    print(f"{'target':<46} {'runs':>4} {'req/s (median)':>15} {'min..max':>17} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'idle RSS':>9} {'(anon)':>7} {'(PSS)':>7} {'peak RSS':>9} "
          f"{'srv CPU':>7} "
          f"{'h2load':>6} {'redis':>5} {'other':>5}")
    med = {}
    for t in targets:
        rs = [r for r in rows if r["target"] == t]
        rps = [r["rps"] for r in rs]
        m = statistics.median(rps)
        med[t] = m
        # latency and RSS of the run whose throughput is the median one
        mid = sorted(rs, key=lambda r: r["rps"])[len(rs) // 2]
        print(f"{t:<46} {len(rs):>4} {m:>15,.0f} {min(rps):>8,.0f}..{max(rps):>7,.0f} "
              f"{mid['p50_ms']:>7.2f} {mid['p99_ms']:>7.2f} "
              f"{max(r['idle_kb'] for r in rs) / 1024:>6.1f} MB "
              f"{max(r['idle_anon_kb'] for r in rs) / 1024:>4.1f} MB "
              f"{max(r.get('idle_pss_kb', 0) for r in rs) / 1024:>4.1f} MB "
              f"{max(r['peak_kb'] for r in rs) / 1024:>6.1f} MB "
              f"{mid['srv_cpu']:>6}% {mid['load_cpu']:>5}% {mid['redis_cpu']:>4}% "
              f"{mid['other_cpu']:>4}%")
        if mid.get("redis_gets_per_call"):
            print(f"  Redis GETs per call: {mid['redis_gets_per_call']:.3f} (concurrent gets of one"
                  f" key share a GET in flight)")
        for r in rs:
            if r["other_cpu"] > 10:
                print(f"  NOISE: a run of {t} shared the machine ({r['other_cpu']}% of a CPU"
                      f" used by other processes)")
            if r["problems"]:
                print(f"  PROBLEM in a run of {t}: {'; '.join(r['problems'])}")
    print("idle RSS: VmRSS before load (after one call), the largest over the runs; (anon): its"
          " RssAnon part, the rest being shared library pages; (PSS): proportional set size."
          " peak RSS: VmHWM after the run.")
    print("CPU columns: percent of one CPU during the median run (server, h2load, redis,"
          " everything else on the machine = noise)")
    anon = {t: max(r["idle_anon_kb"] for r in rows if r["target"] == t) for t in targets}
    for suffix in ("", " [SCHED_BATCH]"):
        bare_anon = anon.get("bare gRPC-core loop Health/Check" + suffix)
        for t in ("membership Health/Check" + suffix, "membership GetEntity (cached)" + suffix):
            if bare_anon and t in anon:
                print(f"idle private memory (RssAnon) of {t} over the bare loop's: "
                      f"{(anon[t] - bare_anon) / 1024:+.2f} MiB (aim <= +1 MiB)")
        bare = med.get("bare gRPC-core loop Health/Check" + suffix)
        ours = med.get("membership Health/Check" + suffix)
        get = med.get("membership GetEntity (cached)" + suffix)
        if bare and ours:
            print(f"runtime Health/Check / bare loop{suffix}: {100 * ours / bare:.1f}% (aim >= 85%)")
        if ours and get:
            print(f"cached GetEntity / runtime Health/Check{suffix}: {100 * get / ours:.1f}%"
                  f" (aim >= 80%)")
        for what in ("membership Health/Check", "membership GetEntity (cached)"):
            base = med.get(what + " [base]" + suffix)
            for conf in ("", " [no idle limit]"):
                now = med.get(what + suffix + conf)
                if now and base:
                    print(f"{what}{suffix}{conf} against the base revision: {100 * now / base:.1f}%")
    # Other configurations (run.sh's KIND@CONF) against the quiet one.
    for t in targets:
        for conf in (" [info, stderr /dev/null]", " [info, stderr pipe]",
                     " [deployed: info, pipe, metrics]", " [no idle limit]"):
            if t.endswith(conf) and med.get(t[:-len(conf)]):
                quiet = t[:-len(conf)]
                print(f"{t} / {quiet}: {100 * med[t] / med[quiet]:.1f}%"
                      + (" (aim >= 95%)" if "deployed" in conf else ""))
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmds = {
        "wait": cmd_wait, "check": cmd_check, "create": cmd_create, "get": cmd_get,
        "body-health": cmd_body_health, "body-get": cmd_body_get, "reply-len": cmd_reply_len,
        "summarise": cmd_summarise, "table": cmd_table,
    }
    fn = cmds.get(argv[1])
    if fn is None:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return fn(*argv[2:])
    except grpc.RpcError as e:
        print(f"{argv[1]}: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
