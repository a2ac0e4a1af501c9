"""GET /metrics (common/metrics*.c) through the real membership binary: the
counters move by exactly the calls made, the histogram agrees with them, the
gauges tell the truth, other paths are 404, and shutdown stays clean with
scrapers connected."""
import re
import socket
import time
import urllib.error
import urllib.request

import grpc
import pytest

import harness
from harness import M, code_of, create, poll

SVC = "compact.membership.v1.Membership"
METRICS_PORT = harness.free_port()
ENV = {"COMPACT_METRICS_LISTEN": "127.0.0.1:%d" % METRICS_PORT}
URL = "http://127.0.0.1:%d" % METRICS_PORT

_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"')


def scrape(path="/metrics"):
    with urllib.request.urlopen(URL + path, timeout=harness.CALL_TIMEOUT) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def parse(text):
    """{(name, ((label, value), ...)): float}; also checks that every sample
    follows its family's # HELP and # TYPE lines."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        m = _LINE.match(line)
        assert m, "not an exposition line: %r" % line
        name, labels, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or family in typed, "no # TYPE before %r" % line
        key = (name, tuple(sorted(_LABEL.findall(labels or ""))))
        assert key not in out, "duplicate series %r" % line
        out[key] = float(value)
    return out


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def calls(samples, method, code):
    return value(samples, "compact_rpc_calls_total", method=SVC + "/" + method, code=code)


def hist_count(samples, method):
    return value(samples, "compact_rpc_call_duration_seconds_count", method=SVC + "/" + method)


@pytest.mark.suite(env=ENV)
def test_counters_histogram_and_gauges(suite):
    status, ctype, text = scrape()
    assert status == 200
    assert ctype == "text/plain; version=0.0.4; charset=utf-8"
    for family, kind in [("compact_rpc_calls_total", "counter"),
                         ("compact_rpc_call_duration_seconds", "histogram"),
                         ("compact_rpc_calls_in_flight", "gauge"),
                         ("compact_cache_hits_total", "counter"),
                         ("compact_cache_misses_total", "counter"),
                         ("compact_cache_errors_total", "counter"),
                         ("compact_cache_coalesced_total", "counter"),
                         ("compact_cache_connected", "gauge"),
                         ("compact_outbox_pending_events", "gauge"),
                         ("compact_store_healthy", "gauge"),
                         ("compact_health_serving", "gauge"),
                         ("process_start_time_seconds", "gauge")]:
        assert "# TYPE %s %s\n" % (family, kind) in text, family
        assert "# HELP %s " % family in text, family
    before = parse(text)

    stub = suite.stub("membership")
    a = create(stub, "UNODC")
    create(stub, "OICT")
    code, _ = code_of(stub.CreateEntity, M.CreateEntityRequest(entity=harness.entity("")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert stub.GetEntity(M.GetEntityRequest(id=a.id)).acronym == "UNODC"
    code, _ = code_of(stub.GetEntity, M.GetEntityRequest(id=harness.unknown_id(a.id)))
    assert code == grpc.StatusCode.NOT_FOUND
    code, _ = code_of(harness.raw_method(suite.channel("membership"), "/x.y.Z/Nothing"), b"",
                      timeout=harness.CALL_TIMEOUT)
    assert code == grpc.StatusCode.UNIMPLEMENTED

    want = {("CreateEntity", "OK"): 2, ("CreateEntity", "INVALID_ARGUMENT"): 1,
            ("GetEntity", "OK"): 1, ("GetEntity", "NOT_FOUND"): 1}

    def moved():
        # A call is counted when the server frees it, just after the client
        # has its answer: poll until every counter got there.
        s = parse(scrape()[2])
        done = all(calls(s, m, c) - calls(before, m, c) == n for (m, c), n in want.items())
        other = value(s, "compact_rpc_calls_total", method="other", code="UNIMPLEMENTED")
        return s if done and other == 1 else None
    after = poll(moved, what="the call counters to move")

    # Exactly these, and nothing else of the service's own API moved.
    for (name, labels), v in after.items():
        if name == "compact_rpc_calls_total" and dict(labels)["method"].startswith(SVC):
            m, c = dict(labels)["method"][len(SVC) + 1:], dict(labels)["code"]
            assert v - before.get((name, labels), 0.0) == want.get((m, c), 0), (m, c)
    for method, n in (("CreateEntity", 3), ("GetEntity", 2)):
        assert hist_count(after, method) - hist_count(before, method) == n
        full = SVC + "/" + method
        inf = value(after, "compact_rpc_call_duration_seconds_bucket", method=full, le="+Inf")
        assert inf == hist_count(after, method)
        assert value(after, "compact_rpc_call_duration_seconds_sum", method=full) > 0
        buckets = sorted((float(dict(l)["le"]), v) for (nm, l), v in after.items()
                         if nm == "compact_rpc_call_duration_seconds_bucket"
                         and dict(l)["method"] == full)
        assert [v for _, v in buckets] == sorted(v for _, v in buckets)   # cumulative
    assert value(after, "compact_rpc_calls_in_flight") == 0
    assert value(after, "compact_health_serving") == 1
    assert value(after, "compact_store_healthy") == 1
    start = value(after, "process_start_time_seconds")
    assert time.time() - 3600 < start <= time.time()

    # Two events were committed; the relay publishes them to Redis.
    s = poll(lambda: (lambda s: s if value(s, "compact_outbox_pending_events") == 0
                      and value(s, "compact_cache_connected") == 1 else None)(
        parse(scrape()[2])), what="outbox drained and cache connected")
    assert len(suite.stream("membership")) == 2
    # GetEntity read through the cache: a miss or a hit, counted once.
    looked = sum(value(s, n) - value(before, n)
                 for n in ("compact_cache_hits_total", "compact_cache_misses_total"))
    assert looked >= 1


@pytest.mark.suite(env=ENV)
def test_other_paths_and_methods(suite):
    for path in ("/", "/metrics/x", "/metricsx", "/health"):
        with pytest.raises(urllib.error.HTTPError) as e:
            scrape(path)
        assert e.value.code == 404, path
    req = urllib.request.Request(URL + "/metrics", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=harness.CALL_TIMEOUT)
    assert e.value.code == 405
    # The query string is not part of the path.
    assert scrape("/metrics?x=1")[0] == 200


@pytest.mark.suite(env=ENV)
def test_gauges_follow_redis(suite):
    poll(lambda: value(parse(scrape()[2]), "compact_cache_connected") == 1,
         what="cache connected")
    suite.stop_redis()
    poll(lambda: value(parse(scrape()[2]), "compact_cache_connected") == 0,
         what="cache disconnected")
    assert value(parse(scrape()[2]), "compact_health_serving") == 1   # Redis is optional


@pytest.mark.suite(env=ENV)
def test_sigterm_with_scrapers_connected(suite):
    # One connection that never sends a request, one with half a request.
    idle = socket.create_connection(("127.0.0.1", METRICS_PORT), timeout=10)
    half = socket.create_connection(("127.0.0.1", METRICS_PORT), timeout=10)
    half.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    assert scrape()[0] == 200   # both are accepted by now: the loop is in order
    try:
        suite.stop("membership")   # exit code 0, no sanitizer report
        for s in (idle, half):
            assert s.recv(100) == b""   # closed by the server
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", METRICS_PORT), timeout=10).close()
    finally:
        idle.close()
        half.close()
