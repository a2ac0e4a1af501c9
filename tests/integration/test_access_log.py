"""The access log as deployed (info, metrics on): every call still gets its
line, failures with their code and message, while the lines are written in
batches (common/rpc/rpc_access_log.c) rather than one write(2) per call."""
import threading

import grpc
import pytest

import harness
from harness import M, code_of, create, poll

SVC = "compact.membership.v1.Membership"
DEPLOYED = {"COMPACT_LOG_LEVEL": "info",
            "COMPACT_METRICS_LISTEN": "127.0.0.1:%d" % harness.free_port()}


@pytest.mark.suite(env=DEPLOYED)
def test_failed_call_logged_while_running(suite):
    """A failed call's line reaches stderr while the service runs, with its
    code and message, within the batch's flush interval (polled, not timed)."""
    stub = suite.stub("membership")
    e = create(stub, "UNODC")
    missing = harness.unknown_id(e.id)
    code, _ = code_of(stub.GetEntity, M.GetEntityRequest(id=missing))
    assert code == grpc.StatusCode.NOT_FOUND
    code, _ = code_of(stub.GetEntity, M.GetEntityRequest(id="not an id"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT

    def failed():
        lines = [l for l in suite.call_logs("membership", "GetEntity") if l["code"] != "OK"]
        return lines if len(lines) == 2 else None
    lines = poll(failed, what="the log lines of the two failed GetEntity calls")
    assert [l["code"] for l in lines] == ["NOT_FOUND", "INVALID_ARGUMENT"], lines
    for l in lines:
        assert l["level"] == "info" and l["msg"] == "call", l
        assert l["method"] == "/%s/GetEntity" % SVC, l
        assert l["message"], l
        assert isinstance(l["duration_ms"], (int, float)) and l["duration_ms"] >= 0, l
    assert missing in lines[0]["message"], lines[0]
    # The OK calls before them are logged too, in order.
    calls = suite.call_logs("membership")
    assert [(c["method"].rsplit("/", 1)[1], c["code"]) for c in calls][-3:] == \
        [("CreateEntity", "OK"), ("GetEntity", "NOT_FOUND"), ("GetEntity", "INVALID_ARGUMENT")]


@pytest.mark.suite(env=dict(DEPLOYED, COMPACT_REDIS_TIMEOUT_MS="10000"),
                   faults="redis.delay_ms=1000")
def test_server_side_failure_logged_at_warn(suite):
    stub = suite.stub("membership")
    e = create(stub, "UNODC")
    code, _ = code_of(stub.GetEntity, M.GetEntityRequest(id=e.id), timeout=0.2)
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    line = poll(lambda: [l for l in suite.call_logs("membership", "GetEntity")
                         if l["code"] != "OK"],
                what="the log line of the late GetEntity")[0]
    assert line["code"] in ("DEADLINE_EXCEEDED", "CANCELLED"), line
    assert line["level"] == "warn" or line["code"] == "CANCELLED", line


@pytest.mark.suite(env=DEPLOYED)
def test_every_call_logged_under_load(suite):
    """Thousands of calls from several threads, OK and failed, with other
    lines of the loop in between: every call has exactly one whole line, in
    batches, and the last ones are written at shutdown."""
    stub = suite.stub("membership")
    e = create(stub, "UNODC")
    missing = harness.unknown_id(e.id)
    per_thread, threads = 400, 4
    errors = []

    def work(k):
        try:
            futs = []
            for i in range(per_thread):
                req = M.GetEntityRequest(id=missing if i % 10 == k else e.id)
                futs.append(stub.GetEntity.future(req))
                if len(futs) == 32:
                    for f in futs:
                        f.exception()
                    futs = []
            for f in futs:
                f.exception()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    suite.stop("membership")
    raw = suite.raw_log("membership")
    lines = [l for l in raw.split("\n") if l.strip()]
    assert len(suite.logs("membership")) == len(lines), "a line is not whole JSON"
    gets = suite.call_logs("membership", "GetEntity")
    assert len(gets) == per_thread * threads, len(gets)
    failed = [l for l in gets if l["code"] == "NOT_FOUND"]
    assert len(failed) == per_thread // 10 * threads, len(failed)
    assert all(l["message"] for l in failed)


@pytest.mark.suite(env=DEPLOYED)
def test_idle_line_written_without_more_calls(suite):
    """One call on an idle server: its line is written by the timer, not
    held until the next call or shutdown."""
    stub = suite.stub("membership")
    create(stub, "UNODC")
    line = poll(lambda: suite.call_logs("membership", "CreateEntity"),
                what="the line of the only call")[0]
    assert line["code"] == "OK", line
