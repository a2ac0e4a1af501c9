"""compactctl against a real compact-membership and redis-server.

Every command is run as a person or a container would run it: the real
binary, its exit status, its stdout (parsed when --json) and its stderr. What
the CLI claims to have done is checked through the service's own gRPC API.
"""
import datetime
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import harness
from harness import M

CTL = os.path.join(harness.BUILD_DIR, "compactctl")
KIND_UN = "ENTITY_KIND_UN_ENTITY"
KIND_NON_UN = "ENTITY_KIND_NON_UN_MEMBER"
KIND_OBSERVER = "ENTITY_KIND_OBSERVER"
UNKNOWN_ID = "ent_" + "a" * 20  # well-formed, never assigned in a fresh store


def ctl_alone(*args, env=None, input=None):
    """compactctl with no service configured (usage, help, unreachable)."""
    return harness.run([CTL] + [str(a) for a in args], env=env, input=input)


def ctl_with(suite, *args, input=None, cwd=None, env=None):
    """suite.ctl() with standard input and a working directory. (harness.run
    gives its children /dev/null as standard input.)"""
    e = suite.peer_env() if suite else {}
    e.update(env or {})
    p = subprocess.run([CTL] + [str(a) for a in args], input=input, cwd=cwd,
                       env=harness.child_env(e), capture_output=True, text=True,
                       timeout=harness.CALL_TIMEOUT)
    harness.check_sanitizer("compactctl " + " ".join(args), p.stderr)
    return p


def ok(res):
    assert res.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
        res.returncode, res.stdout, res.stderr)
    return res


def ok_json(suite, *args, **kw):
    return json.loads(ok(suite.ctl("--json", *args, **kw)).stdout)


def fails(res, code=1):
    assert res.returncode == code, "expected exit %d, got %d\nstdout:\n%s\nstderr:\n%s" % (
        code, res.returncode, res.stdout, res.stderr)
    return res


def create(suite, acronym, kind="un", *extra):
    if "--joined" not in extra:
        extra += ("--joined", "2018-02-23")
    return ok_json(suite, "entities", "create", "--acronym", acronym,
                   "--name", "Office of " + acronym, "--kind", kind, *extra)


def stub(suite):
    return suite.stub("membership")


def fields(text):
    """The "name: value" lines of `entities get` as {name: [values]}, after
    checking that every value starts in the same column."""
    out, columns = {}, set()
    for line in text.rstrip("\n").split("\n"):
        m = re.match(r"^([a-z_]+):( +)(.*)$", line)
        assert m, "not a field line: %r" % line
        columns.add(len(m.group(1)) + 1 + len(m.group(2)))
        out.setdefault(m.group(1), []).append(m.group(3))
    assert len(columns) == 1, "values not aligned:\n" + text
    return out


def table(text):
    """The rows of a text table as lists of cells (cells are split on runs of
    two or more spaces, so single spaces inside a NAME survive)."""
    lines = text.rstrip("\n").split("\n")
    return [re.split(r" {2,}", line.rstrip()) for line in lines]


# ---- no server needed -----------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["--help"], ["-h"], ["entities", "--help"], ["entities", "list", "--help"],
    ["entities", "get", "--help"], ["entities", "create", "--help"],
    ["entities", "update", "--help"], ["entities", "withdraw", "--help"],
    ["health", "--help"], ["seed", "--help"], ["--json", "entities", "get", "-h"],
    ["entities", "create", "--acronym", "X", "--help"],
])
def test_help_goes_to_stdout_and_exits_0(args):
    res = ok(ctl_alone(*args))
    assert res.stdout.startswith("usage: compactctl"), res.stdout
    assert res.stderr == ""
    if args[0] == "entities":
        verb = args[1] if args[1] != "--help" else "list"
        assert "usage: compactctl entities " + verb in res.stdout


def test_overall_help_lists_every_command():
    out = ok(ctl_alone("--help")).stdout
    for cmd in ("health", "entities list", "entities get", "entities create",
                "entities update", "entities withdraw", "seed", "--addr", "--json",
                "--timeout-ms", "COMPACT_MEMBERSHIP_ADDR"):
        assert cmd in out, cmd


@pytest.mark.parametrize("args,message,usage_of", [
    ([], None, "usage: compactctl [--addr"),
    (["bogus"], 'unknown command "bogus"', "usage: compactctl [--addr"),
    (["entities"], "which verb", "usage: compactctl entities list"),
    (["entities", "lst"], 'unknown verb "lst"', "usage: compactctl entities get"),
    (["--bogus", "health"], "unknown flag --bogus", "usage: compactctl [--addr"),
    (["entities", "list", "--bogus"], "unknown flag --bogus", "usage: compactctl entities list"),
    (["entities", "list", "--page-size"], "--page-size needs a value",
     "usage: compactctl entities list"),
    (["entities", "list", "--page-size", "0"], "--page-size", "usage: compactctl entities list"),
    (["entities", "list", "--kind", "martian"], "--kind", "usage: compactctl entities list"),
    (["entities", "list", "--status", "asleep"], "--status", "usage: compactctl entities list"),
    (["entities", "list", "extra"], 'unexpected argument "extra"',
     "usage: compactctl entities list"),
    (["entities", "get"], "missing ID or ACRONYM", "usage: compactctl entities get"),
    (["entities", "get", "A", "B"], "expected one ID or ACRONYM",
     "usage: compactctl entities get"),
    (["entities", "create", "--name", "X", "--kind", "un"], "--acronym, --name and --kind",
     "usage: compactctl entities create"),
    (["entities", "create", "--acronym", "X", "--name", "Y", "--kind", "un",
      "--from-json", "-"], "--from-json takes no other", "usage: compactctl entities create"),
    (["entities", "create", "--acronym", "X", "--name", "Y", "--kind", "un",
      "--focal", "a|b|c|d"], "--focal", "usage: compactctl entities create"),
    (["entities", "update", "ent_x"], "nothing to update", "usage: compactctl entities update"),
    (["entities", "update", "--name", "N"], "missing ID", "usage: compactctl entities update"),
    (["entities", "withdraw"], "missing ID", "usage: compactctl entities withdraw"),
    (["health", "nowhere"], 'unknown service "nowhere"', "usage: compactctl health"),
    (["seed", "--file"], "--file needs a value", "usage: compactctl seed"),
    (["--timeout-ms", "-5", "health"], "--timeout-ms", "usage: compactctl [--addr"),
    (["entities", "list", "--timeout-ms", "soon"], "--timeout-ms",
     "usage: compactctl entities list"),
])
def test_usage_errors_exit_2_with_the_usage(args, message, usage_of):
    res = fails(ctl_alone(*args), 2)
    assert res.stdout == ""
    if message:
        assert res.stderr.startswith("compactctl: ") and message in res.stderr, res.stderr
    assert usage_of in res.stderr, res.stderr


def closed_port():
    """A port on which nothing listens (bound, then closed)."""
    return harness.free_port()


@pytest.mark.parametrize("args", [
    ["entities", "list"], ["entities", "get", "UNOCT"], ["--json", "entities", "get", "ent_1"],
    ["entities", "create", "--acronym", "X", "--name", "Y", "--kind", "un"],
    ["entities", "withdraw", "ent_1"],
])
def test_unreachable_server_names_the_address(args):
    addr = "127.0.0.1:%d" % closed_port()
    res = fails(ctl_alone("--addr", addr, *args))
    assert res.stdout == ""
    assert res.stderr.startswith("compactctl: UNAVAILABLE: cannot reach membership at " + addr), \
        res.stderr


def test_health_unreachable_exits_1_naming_the_address():
    addr = "127.0.0.1:%d" % closed_port()
    res = fails(ctl_alone("health", env={"COMPACT_MEMBERSHIP_ADDR": addr}))
    assert res.stdout == ""
    assert "UNAVAILABLE" in res.stderr and addr in res.stderr, res.stderr


def test_silent_server_ends_with_deadline_exceeded():
    """A peer that accepts TCP connections but never speaks HTTP/2: the call
    can only end by its deadline, and the message says so."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        addr = "127.0.0.1:%d" % srv.getsockname()[1]
        held = []
        stop = threading.Event()

        def accept():
            srv.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(srv.accept()[0])
                except OSError:
                    pass
        t = threading.Thread(target=accept, daemon=True)
        t.start()
        try:
            res = fails(ctl_alone("--addr", addr, "--timeout-ms", "300", "entities", "get", "X"))
        finally:
            stop.set()
            t.join()
            for c in held:
                c.close()
    assert res.stderr.startswith(
        "compactctl: DEADLINE_EXCEEDED: no answer from membership at %s within 300 ms" % addr), \
        res.stderr


# ---- health ------------------------------------------------------------------------

def test_health_serving(suite):
    assert ok(suite.ctl("health")).stdout == "SERVING\n"
    assert ok(suite.ctl("health", "membership")).stdout == "SERVING\n"
    assert ok(suite.ctl("health", "compact.membership.v1.Membership")).stdout == "SERVING\n"
    assert ok_json(suite, "health", "membership") == {
        "service": "compact.membership.v1.Membership", "status": "SERVING"}
    # --addr wins over COMPACT_MEMBERSHIP_ADDR.
    res = suite.ctl("--addr", suite.addr("membership"), "health",
                    env={"COMPACT_MEMBERSHIP_ADDR": "127.0.0.1:%d" % closed_port()})
    assert ok(res).stdout == "SERVING\n"


@pytest.mark.suite(faults="store.probe", wait="answer")
def test_health_not_serving_exits_1(suite):
    res = fails(suite.ctl("health"))
    assert res.stdout == "NOT_SERVING\n"
    assert json.loads(fails(suite.ctl("health", "membership", "--json")).stdout)["status"] == \
        "NOT_SERVING"


# ---- entities create and get ---------------------------------------------------------

def test_create_with_flags_then_get_by_id_and_acronym(suite):
    e = create(suite, "UNOCT", "un", "--joined", "2018-02-23",
               "--focal", "Ana Diaz|Coordinator|ana@example.org",
               "--focal", " Bo Li | Officer | bo@example.org ",
               "--verified", "--source-note", "un.org/counterterrorism")
    assert e["id"].startswith("ent_")
    assert e["acronym"] == "UNOCT" and e["name"] == "Office of UNOCT"
    assert e["kind"] == KIND_UN and e["status"] == "ENTITY_STATUS_ACTIVE"
    assert e["joinedOn"] == "2018-02-23" and e["verified"] is True
    assert e["sourceNote"] == "un.org/counterterrorism" and e["etag"]
    assert e["focalPoints"] == [
        {"name": "Ana Diaz", "title": "Coordinator", "email": "ana@example.org"},
        {"name": "Bo Li", "title": "Officer", "email": "bo@example.org"}]

    # What the server stored, through its own API.
    stored = stub(suite).GetEntity(M.GetEntityRequest(id=e["id"]))
    assert stored.acronym == "UNOCT" and stored.verified
    assert [f.email for f in stored.focal_points] == ["ana@example.org", "bo@example.org"]

    assert ok_json(suite, "entities", "get", e["id"]) == e
    assert ok_json(suite, "entities", "get", "unoct") == e  # acronyms: any case
    # Global flags after the command work too.
    assert json.loads(ok(suite.ctl("entities", "get", "UNOCT", "--json")).stdout) == e


def test_get_prints_aligned_field_lines(suite):
    e = create(suite, "INTERPOL", "non-un", "--focal", "C. Dupont|Liaison|cd@example.org")
    f = fields(ok(suite.ctl("entities", "get", "INTERPOL")).stdout)
    assert f["id"] == [e["id"]]
    assert f["acronym"] == ["INTERPOL"] and f["name"] == ["Office of INTERPOL"]
    assert f["kind"] == ["non-un"] and f["status"] == ["active"]
    assert f["verified"] == ["no"] and f["etag"] == [e["etag"]]
    assert f["focal_point"] == ["C. Dupont | Liaison | cd@example.org"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", f["create_time"][0])
    assert "withdraw_time" not in f and "source_note" not in f

    # An entity without a joining date: no joined_on line, "-" in the table.
    ok(suite.ctl("entities", "create", "--acronym", "NODATE", "--name", "No Date",
                 "--kind", "observer"))
    assert "joined_on" not in fields(ok(suite.ctl("entities", "get", "NODATE")).stdout)
    rows = table(ok(suite.ctl("entities", "list", "--kind", "observer")).stdout)
    assert rows[1][1:] == ["NODATE", "observer", "active", "-", "no", "No Date"]


def test_create_prints_field_lines_without_json(suite):
    res = ok(suite.ctl("entities", "create", "--acronym", "WCO", "--name",
                       "World Customs Organization", "--kind", "non-un"))
    f = fields(res.stdout)
    assert f["acronym"] == ["WCO"] and f["kind"] == ["non-un"]
    assert f["id"][0].startswith("ent_")


def test_create_from_json_file_and_stdin(suite, tmp_path):
    req = {"entity": {"acronym": "UNODC", "name": "UN Office on Drugs and Crime",
                      "kind": "ENTITY_KIND_UN_ENTITY", "joinedOn": "2018-02-23",
                      "focalPoints": [{"name": "A", "title": "B", "email": "a@example.org"}],
                      "verified": True, "sourceNote": "unodc.org"}}
    path = tmp_path / "req.json"
    path.write_text(json.dumps(req))
    e = ok_json(suite, "entities", "create", "--from-json", str(path))
    assert e["acronym"] == "UNODC" and e["verified"] is True
    assert e["focalPoints"] == req["entity"]["focalPoints"]

    # A bare Entity on standard input, with snake_case names and an enum number.
    bare = {"acronym": "OSCE", "name": "Organization for Security and Co-operation in Europe",
            "kind": 3, "joined_on": "2020-01-01"}
    e2 = json.loads(ok(ctl_with(suite, "--json", "entities", "create", "--from-json", "-",
                                input=json.dumps(bare))).stdout)
    assert e2["acronym"] == "OSCE" and e2["kind"] == KIND_OBSERVER
    assert e2["joinedOn"] == "2020-01-01"


def test_create_from_bad_json(suite, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"entity": {"acronym": ')
    res = fails(suite.ctl("entities", "create", "--from-json", str(bad)))
    assert res.stderr.startswith("compactctl: %s:" % bad), res.stderr

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"entity": {"acronym": "X", "name": "Y", "kind": "MARTIAN"}}))
    res = fails(suite.ctl("entities", "create", "--from-json", str(wrong)))
    assert "kind" in res.stderr and "MARTIAN" in res.stderr, res.stderr

    res = fails(ctl_with(suite, "entities", "create", "--from-json", "-", input="[1, 2]"))
    assert "expected a JSON object" in res.stderr

    res = fails(suite.ctl("entities", "create", "--from-json", str(tmp_path / "nope.json")))
    assert res.stderr.startswith("compactctl: ") and "nope.json" in res.stderr
    # Nothing reached the server.
    assert len(stub(suite).ListEntities(M.ListEntitiesRequest()).entities) == 0


def test_server_errors_carry_the_status_name_and_message(suite):
    create(suite, "UNDP")
    res = fails(suite.ctl("entities", "create", "--acronym", "undp", "--name", "Again",
                          "--kind", "un"))
    assert res.stdout == ""
    assert re.match(r"^compactctl: ALREADY_EXISTS: \S", res.stderr), res.stderr

    res = fails(suite.ctl("entities", "get", "NOBODY"))
    assert re.match(r"^compactctl: NOT_FOUND: \S", res.stderr), res.stderr
    res = fails(suite.ctl("entities", "get", UNKNOWN_ID))
    assert res.stderr.startswith("compactctl: NOT_FOUND: "), res.stderr
    res = fails(suite.ctl("entities", "get", "ent_malformed"))
    assert re.match(r"^compactctl: INVALID_ARGUMENT: id: \S", res.stderr), res.stderr

    res = fails(suite.ctl("entities", "create", "--acronym", "BAD", "--name", "Bad date",
                          "--kind", "un", "--joined", "2018-13-45"))
    assert res.stderr.startswith("compactctl: INVALID_ARGUMENT: "), res.stderr
    assert "joined_on" in res.stderr, res.stderr
    assert res.stderr.count("\n") == 1  # one line, no usage: the server refused


# ---- entities list ---------------------------------------------------------------

def test_list_table_filters_and_json(suite):
    ids = {a: create(suite, a, k)["id"] for a, k in
           [("UNICEF", "un"), ("INTERPOL", "non-un"), ("OSCE", "observer"), ("DPPA", "un")]}

    rows = table(ok(suite.ctl("entities", "list")).stdout)
    assert rows[0] == ["ID", "ACRONYM", "KIND", "STATUS", "JOINED", "VERIFIED", "NAME"]
    assert [r[1] for r in rows[1:]] == ["DPPA", "INTERPOL", "OSCE", "UNICEF"]
    assert rows[3] == [ids["OSCE"], "OSCE", "observer", "active", "2018-02-23", "no",
                       "Office of OSCE"]
    # Columns line up: each header starts where its cells start.
    text = ok(suite.ctl("entities", "list")).stdout.split("\n")
    start = text[0].index("NAME")
    assert all(line[start:].startswith("Office of ") for line in text[1:] if line)

    arr = ok_json(suite, "entities", "list", "--kind", "un")
    assert [e["acronym"] for e in arr] == ["DPPA", "UNICEF"]
    assert all(e["kind"] == KIND_UN for e in arr)
    arr = ok_json(suite, "entities", "list", "--kind", "observer")
    assert [e["id"] for e in arr] == [ids["OSCE"]]


def test_list_empty_prints_the_header_or_an_empty_array(suite):
    assert table(ok(suite.ctl("entities", "list")).stdout) == [
        ["ID", "ACRONYM", "KIND", "STATUS", "JOINED", "VERIFIED", "NAME"]]
    assert ok_json(suite, "entities", "list") == []


def test_list_pages_and_all(suite):
    acronyms = ["E%02d" % i for i in range(7)]
    for a in acronyms:
        create(suite, a)
    res = ok(suite.ctl("--json", "entities", "list", "--page-size", "3"))
    first = json.loads(res.stdout)
    assert [e["acronym"] for e in first] == acronyms[:3]
    m = re.search(r"--page-token (\S+)", res.stderr)
    assert m, res.stderr
    second = ok_json(suite, "entities", "list", "--page-size", "3", "--page-token", m.group(1))
    assert [e["acronym"] for e in second] == acronyms[3:6]

    every = ok_json(suite, "entities", "list", "--page-size", "3", "--all")
    assert [e["acronym"] for e in every] == acronyms
    rows = table(ok(suite.ctl("entities", "list", "--all", "--page-size", "2")).stdout)
    assert [r[1] for r in rows[1:]] == acronyms
    # --all reaches the end: no hint about more pages.
    assert "--page-token" not in suite.ctl("entities", "list", "--all", "--page-size", "2").stderr


# ---- entities update and withdraw ----------------------------------------------------

def test_update_changes_only_the_fields_given(suite):
    e = create(suite, "UNESCO", "un", "--focal", "A|B|a@example.org", "--source-note", "x")
    u = ok_json(suite, "entities", "update", e["id"], "--name", "UN Educational, Scientific "
                "and Cultural Organization", "--verified")
    assert u["name"].startswith("UN Educational") and u["verified"] is True
    assert u["kind"] == KIND_UN and u["acronym"] == "UNESCO"
    assert u["focalPoints"] == e["focalPoints"] and u["sourceNote"] == "x"
    assert u["etag"] != e["etag"]

    # By acronym; focal points replaced; kind and joined date.
    u2 = ok_json(suite, "entities", "update", "unesco", "--focal", "C|D|c@example.org",
                 "--focal", "E|F|e@example.org", "--kind", "observer", "--joined", "2019-05-01")
    assert [f["email"] for f in u2["focalPoints"]] == ["c@example.org", "e@example.org"]
    assert u2["kind"] == KIND_OBSERVER and u2["joinedOn"] == "2019-05-01"

    u3 = ok_json(suite, "entities", "update", e["id"], "--clear-focal", "--unverified",
                 "--acronym", "UNESCO2")
    assert "focalPoints" not in u3 and u3.get("verified", False) is False
    stored = stub(suite).GetEntity(M.GetEntityRequest(id=e["id"]))
    assert stored.acronym == "UNESCO2" and len(stored.focal_points) == 0
    assert stored.name.startswith("UN Educational")


def test_update_and_withdraw_with_etags(suite):
    e = create(suite, "UNHCR")
    res = fails(suite.ctl("entities", "update", e["id"], "--name", "X", "--etag", "stale"))
    assert res.stderr.startswith("compactctl: ABORTED: "), res.stderr
    u = ok_json(suite, "entities", "update", e["id"], "--name", "UN Refugee Agency",
                "--etag", e["etag"])
    assert u["name"] == "UN Refugee Agency"

    res = fails(suite.ctl("entities", "withdraw", e["id"], "--etag", e["etag"]))
    assert res.stderr.startswith("compactctl: ABORTED: "), res.stderr
    w = ok_json(suite, "entities", "withdraw", e["id"], "--etag", u["etag"])
    assert w["status"] == "ENTITY_STATUS_WITHDRAWN" and w["withdrawTime"]

    f = fields(ok(suite.ctl("entities", "get", e["id"])).stdout)
    assert f["status"] == ["withdrawn"] and "withdraw_time" in f
    assert [x["id"] for x in ok_json(suite, "entities", "list", "--status", "withdrawn")] == \
        [e["id"]]
    assert ok_json(suite, "entities", "list", "--status", "active") == []


def test_withdraw_by_acronym_and_unknown(suite):
    create(suite, "UNITAR")
    f = fields(ok(suite.ctl("entities", "withdraw", "UNITAR")).stdout)
    assert f["status"] == ["withdrawn"]
    res = fails(suite.ctl("entities", "withdraw", "NOBODY"))
    assert res.stderr.startswith("compactctl: NOT_FOUND: "), res.stderr
    res = fails(suite.ctl("entities", "update", UNKNOWN_ID, "--name", "N"))
    assert res.stderr.startswith("compactctl: NOT_FOUND: "), res.stderr


# ---- seed ----------------------------------------------------------------------------

def seed_items(*acronyms):
    return [{"entity": {"acronym": a, "name": "Office of " + a,
                        "kind": "ENTITY_KIND_UN_ENTITY", "joinedOn": "2018-02-23"}}
            for a in acronyms]


def write_seed_dir(root, items):
    d = os.path.join(root, "membership")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "entities.json"), "w") as f:
        json.dump(items, f)
    return root


def test_seed_is_idempotent(suite, tmp_path):
    path = tmp_path / "entities.json"
    path.write_text(json.dumps(seed_items("UNOCT", "UNODC", "UNICRI")))
    res = ok(suite.ctl("seed", "--file", str(path)))
    assert res.stdout == "membership: created 3, already present 0, failed 0\n"
    res = ok(suite.ctl("seed", "--file", str(path)))
    assert res.stdout == "membership: created 0, already present 3, failed 0\n"
    assert ok_json(suite, "seed", "--file", str(path)) == {
        "membership": {"created": 0, "alreadyPresent": 3, "failed": 0}}
    stored = stub(suite).ListEntities(M.ListEntitiesRequest()).entities
    assert [e.acronym for e in stored] == ["UNICRI", "UNOCT", "UNODC"]


def test_seed_counts_failures_and_exits_1(suite, tmp_path):
    items = seed_items("GOOD1") + [
        {"entity": {"acronym": "BADKIND", "name": "x", "kind": "MARTIAN"}},
        {"entity": {"acronym": "BADDATE", "name": "x", "kind": "ENTITY_KIND_UN_ENTITY",
                    "joinedOn": "2018-13-45"}},
    ] + seed_items("GOOD2")
    path = tmp_path / "entities.json"
    path.write_text(json.dumps(items))
    res = fails(suite.ctl("seed", "--file", str(path)))
    assert res.stdout == "membership: created 2, already present 0, failed 2\n"
    assert "BADKIND" in res.stderr
    assert re.search(r"BADDATE: INVALID_ARGUMENT: ", res.stderr), res.stderr
    assert sorted(e.acronym for e in stub(suite).ListEntities(
        M.ListEntitiesRequest()).entities) == ["GOOD1", "GOOD2"]


def test_seed_default_paths(suite, tmp_path):
    seed_dir = write_seed_dir(str(tmp_path / "env"), seed_items("ENVSEED"))
    res = ok(suite.ctl("seed", env={"COMPACT_SEED_DIR": seed_dir}))
    assert res.stdout == "membership: created 1, already present 0, failed 0\n"

    # COMPACT_SEED_DIR that lacks the file is an error, not a fallback.
    res = fails(suite.ctl("seed", env={"COMPACT_SEED_DIR": str(tmp_path / "empty")}))
    assert "COMPACT_SEED_DIR" in res.stderr

    # Else ./seed, relative to the working directory.
    cwd = tmp_path / "cwd"
    write_seed_dir(str(cwd / "seed"), seed_items("CWDSEED"))
    res = ok(ctl_with(suite, "seed", cwd=str(cwd)))
    assert res.stdout == "membership: created 1, already present 0, failed 0\n"


def test_seed_from_stdin_and_not_an_array(suite):
    res = ok(ctl_with(suite, "seed", "--file", "-", input=json.dumps(seed_items("STDIN"))))
    assert res.stdout == "membership: created 1, already present 0, failed 0\n"
    res = fails(ctl_with(suite, "seed", "--file", "-", input='{"entity": {}}'))
    assert "expected a JSON array" in res.stderr


def test_seed_unreachable_fails_every_item(tmp_path):
    path = tmp_path / "entities.json"
    path.write_text(json.dumps(seed_items("A1", "A2", "A3")))
    addr = "127.0.0.1:%d" % closed_port()
    res = fails(ctl_alone("--addr", addr, "seed", "--file", str(path)))
    assert res.stdout == "membership: created 0, already present 0, failed 3\n"
    assert "compactctl: UNAVAILABLE: cannot reach membership at " + addr in res.stderr


def test_seed_the_project_seed_file(suite):
    path = os.path.join(harness.SOURCE_DIR, "seed", "membership", "entities.json")
    if not os.path.exists(path):
        pytest.skip("seed/membership/entities.json is not in the tree yet")
    with open(path) as f:
        items = json.load(f)
    assert isinstance(items, list) and items
    res = ok(suite.ctl("seed", "--file", path))
    assert res.stdout == "membership: created %d, already present 0, failed 0\n" % len(items)
    listed = ok_json(suite, "entities", "list", "--all")
    assert len(listed) == len(items)
    res = ok(suite.ctl("seed", "--file", path))
    assert res.stdout == "membership: created 0, already present %d, failed 0\n" % len(items)


# ---- analytics -----------------------------------------------------------------------
#
# `compactctl analytics ...` against the four real services, loaded with the
# real seed (seed/, as scripts/run.sh loads it). What the CLI prints is
# checked against figures computed here from the seed files themselves (the
# funding stages of projects.proto, the rates of seed/analytics/rates.json,
# the conversion rules of services/analytics/rates.h), and what it writes
# through analytics' own gRPC API. The dashboard's HTTP port is off
# (COMPACT_HTTP_LISTEN ""), so that parallel runs never meet on 8054.

AN = harness.pb("compact/analytics/v1/analytics.proto")
FOUR = ("membership", "workgroups", "projects", "analytics")
NO_HTTP = {"analytics": {"COMPACT_HTTP_LISTEN": ""}}
SEED_DIR = os.path.join(harness.SOURCE_DIR, "seed")
STAGE_OF_TYPE = {"TRANSACTION_TYPE_INCOMING_PLEDGE": "pledged",
                 "TRANSACTION_TYPE_INCOMING_COMMITMENT": "committed",
                 "TRANSACTION_TYPE_INCOMING_FUNDS": "received",
                 "TRANSACTION_TYPE_DISBURSEMENT": "disbursed",
                 "TRANSACTION_TYPE_EXPENDITURE": "spent"}
MONEY_HEADERS = ["CURRENCY", "BUDGET", "PLEDGED", "COMMITTED", "RECEIVED", "DISBURSED",
                 "SPENT", "GAP", "DELIVERY"]
DECIMALS = {"JPY": 0}   # every other currency the seed uses has two
FRESH_RE = (r"^as of \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, lag \d+ ms, \d+ events applied, "
            r"sources reachable$")


def seed_file(path):
    with open(os.path.join(SEED_DIR, path)) as f:
        return json.load(f)


def seed_rates():
    """currency -> [(valid_from, usd_micros)] sorted, from seed/analytics/rates.json."""
    out = {}
    for e in seed_file("analytics/rates.json"):
        assert e["method"] == "PutExchangeRate", e
        r = e["request"]["rate"]
        out.setdefault(r["currency"], []).append((r["validFrom"], int(r["usdMicros"])))
    return {c: sorted(v) for c, v in out.items()}


def to_usd_cents(rates, currency, date, minor):
    """services/analytics/rates.h: the rate of the date (before the first
    one: the first), half away from zero, in integers."""
    if currency == "USD":
        return minor
    table = rates[currency]
    micros = table[0][1]
    for valid_from, m in table:
        if valid_from <= date:
            micros = m
    num = minor * micros * 100
    den = 10 ** DECIMALS.get(currency, 2) * 1000000
    q = (abs(num) + den // 2) // den
    return q if num >= 0 else -q


def seed_figures(rates, year=0, group=None):
    """{currency or "USD*": {stage: minor}} of the seed's projects and
    transactions (a transaction counts in its date's year, a budget in its
    project's start year), and the number of projects."""
    groups_of, start_of, money = {}, {}, {}
    projects = 0

    def add(cur, stage, date, minor):
        money.setdefault(cur, {}).setdefault(stage, 0)
        money[cur][stage] += minor
        money.setdefault("USD*", {}).setdefault(stage, 0)
        money["USD*"][stage] += to_usd_cents(rates, cur, date, minor)

    for e in seed_file("projects/projects.json"):
        r = e["request"]
        if e["method"] == "CreateProject":
            p = r["project"]
            key = "@project:" + p["iatiIdentifier"]
            groups_of[key] = {g.split(":", 1)[1] for g in p["workingGroupIds"]}
            start_of[key] = p["startDate"]
            if group and group not in groups_of[key]:
                continue
            if not year or int(p["startDate"][:4]) == year:
                projects += 1
                if p.get("budget"):
                    add(p["budget"]["currency"], "budget", p["startDate"],
                        int(p["budget"]["amountMinor"]))
            continue
        t = r["transaction"]
        if group and group not in groups_of[r["projectId"]]:
            continue
        if year and int(t["date"][:4]) != year:
            continue
        stage = STAGE_OF_TYPE.get(t["type"])
        if stage:
            add(t["value"]["currency"], stage, t["date"], int(t["value"]["amountMinor"]))
    return money, projects


def major(currency, minor):
    """Minor units as compactctl prints them: "4,000,000.00"."""
    d = DECIMALS.get(currency, 2)
    sign, a = ("-" if minor < 0 else ""), abs(minor)
    whole = "{:,}".format(a // 10 ** d)
    return sign + whole + ("." + str(a % 10 ** d).rjust(d, "0") if d else "")


def seed_all(suite):
    res = ok(suite.ctl("seed", env={"COMPACT_SEED_DIR": SEED_DIR}, timeout=120 * harness.SLOW))
    assert "analytics: created %d, already present 0, failed 0\n" % len(
        seed_file("analytics/rates.json")) in res.stdout, res.stdout
    return res


def settled_overview(suite, rates):
    """Waits until analytics' figures hold the whole seed (every project,
    the US dollar equivalent of every commitment), and returns the Overview."""
    want, n = seed_figures(rates)
    stub = suite.stub("analytics")

    def done():
        o = stub.GetOverview(AN.GetOverviewRequest())
        return o if (o.projects == n and o.money.usd.committed_minor ==
                     want["USD*"]["committed"] and o.money.usd_complete) else None
    return harness.poll(done, what="analytics to apply the seed's events")


def blocks(text):
    """The blank-line separated blocks of an output."""
    return [b for b in text.rstrip("\n").split("\n\n")]


def money_rows(text_block):
    """The rows of a money table (without its USD* note line), by currency."""
    lines = text_block.split("\n")
    assert lines[-1].startswith("USD*: the US dollar equivalent at the dated exchange rates"), \
        text_block
    rows = table("\n".join(lines[:-1]))
    return rows[0], rows[1:], lines[-1]


# -- without a server

@pytest.mark.parametrize("args,usage_of", [
    (["analytics", "--help"], "usage: compactctl analytics overview"),
    (["analytics", "overview", "--help"], "usage: compactctl analytics overview"),
    (["analytics", "funding", "-h"], "usage: compactctl analytics funding --by"),
    (["analytics", "alerts", "--help"], "usage: compactctl analytics alerts"),
    (["analytics", "rebuild", "--help"], "usage: compactctl analytics rebuild"),
    (["analytics", "rates", "--help"], "usage: compactctl analytics rates list"),
    (["analytics", "rates", "put", "--help"], "usage: compactctl analytics rates list"),
    (["--json", "analytics", "rates", "list", "-h"], "usage: compactctl analytics rates list"),
])
def test_analytics_help_goes_to_stdout_and_exits_0(args, usage_of):
    res = ok(ctl_alone(*args))
    assert res.stdout.startswith(usage_of), res.stdout
    assert res.stderr == ""


def test_overall_help_lists_the_analytics_commands():
    out = ok(ctl_alone("--help")).stdout
    for cmd in ("analytics overview", "analytics funding", "analytics alerts",
                "analytics rebuild", "analytics rates"):
        assert "\n  " + cmd + " " in out, cmd
    # Listed before seed, which loads analytics' rates last.
    assert out.index("analytics rates") < out.index("\n  seed ")
    assert "analytics/rates.json" in ok(ctl_alone("seed", "--help")).stdout


@pytest.mark.parametrize("args,message,usage_of", [
    (["analytics"], "which verb", "usage: compactctl analytics overview"),
    (["analytics", "summary"], 'unknown verb "summary"', "usage: compactctl analytics rates"),
    (["analytics", "overview", "extra"], 'unexpected argument "extra"',
     "usage: compactctl analytics overview"),
    (["analytics", "overview", "--year", "soon"], "--year: expected a year",
     "usage: compactctl analytics overview"),
    (["analytics", "overview", "--year"], "--year needs a value",
     "usage: compactctl analytics overview"),
    (["analytics", "overview", "--pillar", "V"], "--pillar: expected I, II, III or IV",
     "usage: compactctl analytics overview"),
    (["analytics", "overview", "--by", "group"], "unknown flag --by",
     "usage: compactctl analytics overview"),
    (["analytics", "funding"], "--by is required", "usage: compactctl analytics funding"),
    (["analytics", "funding", "--by", "week"], '--by: expected group, pillar, entity, donor '
     'or year, got "week"', "usage: compactctl analytics funding"),
    (["analytics", "alerts", "--limit", "0"], "--limit: expected 1 to 100",
     "usage: compactctl analytics alerts"),
    (["analytics", "alerts", "--limit", "101"], "--limit: expected 1 to 100",
     "usage: compactctl analytics alerts"),
    (["analytics", "rebuild", "--year", "2020"], "unknown flag --year",
     "usage: compactctl analytics rebuild"),
    (["analytics", "rates"], "rates: which verb? list or put", "usage: compactctl analytics rates"),
    (["analytics", "rates", "drop"], 'rates: unknown verb "drop"',
     "usage: compactctl analytics rates"),
    (["analytics", "rates", "list", "EUR"], 'unexpected argument "EUR"',
     "usage: compactctl analytics rates"),
    (["analytics", "rates", "put", "--currency", "EUR", "--usd", "1.08"],
     "--currency, --valid-from and --usd are required", "usage: compactctl analytics rates"),
    (["analytics", "rates", "put", "--currency", "EUR", "--valid-from", "2024-01-01",
      "--usd", "1.0800001"], '--usd: expected US dollars per unit above 0 with at most 6 '
     'decimals, such as 1.08, got "1.0800001"', "usage: compactctl analytics rates"),
    (["analytics", "rates", "put", "--currency", "EUR", "--valid-from", "2024-01-01",
      "--usd", "-1.08"], '--usd: expected', "usage: compactctl analytics rates"),
    (["analytics", "rates", "put", "--currency", "EUR", "--valid-from", "2024-01-01",
      "--usd", "0.000"], '--usd: expected', "usage: compactctl analytics rates"),
    (["analytics", "rates", "put", "--currency", "EUR", "--valid-from", "2024-01-01",
      "--usd", "1e3"], '--usd: expected', "usage: compactctl analytics rates"),
    (["analytics", "rates", "put", "--currency", "EUR", "--valid-from", "2024-01-01",
      "--usd", "1.0.8"], '--usd: expected', "usage: compactctl analytics rates"),
    (["analytics", "rates", "put", "--currency", "EUR", "--valid-from", "2024-01-01",
      "--usd", "99999999999999999999"], '--usd: expected', "usage: compactctl analytics rates"),
    (["seed", "--service", "nowhere"], "--service: expected membership, workgroups, projects "
     "or analytics", "usage: compactctl seed"),
])
def test_analytics_usage_errors_exit_2_with_the_usage(args, message, usage_of):
    res = fails(ctl_alone(*args), 2)
    assert res.stdout == ""
    assert res.stderr.startswith("compactctl: ") and message in res.stderr, res.stderr
    assert usage_of in res.stderr, res.stderr


@pytest.mark.parametrize("args", [
    ["analytics", "overview"], ["analytics", "funding", "--by", "year"],
    ["analytics", "alerts"], ["analytics", "rebuild"], ["analytics", "rates", "list"],
    ["--json", "analytics", "rates", "put", "--currency", "EUR", "--valid-from",
     "2024-01-01", "--usd", "1.08"],
    # A code is looked up in analytics itself: the same address, the same message.
    ["analytics", "overview", "--group", "BMLE"],
])
def test_analytics_unreachable_names_the_address(args):
    addr = "127.0.0.1:%d" % closed_port()
    res = fails(ctl_alone(*args, env={"COMPACT_ANALYTICS_ADDR": addr}))
    assert res.stdout == ""
    assert res.stderr.startswith("compactctl: UNAVAILABLE: cannot reach analytics at " + addr), \
        res.stderr


# -- against the seeded suite

@pytest.mark.suite(services=FOUR, env=NO_HTTP)
def test_analytics_overview_shows_the_seed(suite):
    rates = seed_rates()
    seed_all(suite)
    o = settled_overview(suite, rates)
    want, n = seed_figures(rates)
    # Who takes part today, in which role, UN or not: from the seed's
    # participation periods and affiliations, as analytics counts them.
    today = datetime.date.today().isoformat()

    def role_today(e):
        for p in e.get("participation", []):
            if p["fromDate"] <= today and (not p.get("toDate") or today < p["toDate"]):
                return p["role"]
        return None
    entities = [i["entity"] for i in seed_file("membership/entities.json")
                if role_today(i["entity"])]
    members = sum(role_today(e) == "PARTICIPATION_ROLE_MEMBER" for e in entities)
    observers = sum(role_today(e) == "PARTICIPATION_ROLE_OBSERVER" for e in entities)
    un = sum(e.get("affiliation") == "AFFILIATION_UN_SYSTEM" for e in entities)
    non_un = sum(e.get("affiliation") == "AFFILIATION_NON_UN" for e in entities)

    out = ok(suite.ctl("analytics", "overview")).stdout
    head, status, money = blocks(out)
    f = fields(head)
    assert re.match(FRESH_RE, f["freshness"][0]), f["freshness"]
    assert "filter" not in f
    assert f["entities"] == [str(len(entities))]
    assert f["members"] == [str(members)]
    assert f["observers"] == [str(observers)]
    assert f["un_entities"] == [str(un)] and f["non_un_entities"] == [str(non_un)]
    open_groups = [e for e in seed_file("workgroups/groups.json")
                   if e["method"] == "CreateWorkingGroup"
                   and e["request"]["group"].get("status") != "GROUP_STATUS_CLOSED"]
    assert f["working_groups"] == [str(len(open_groups))]
    assert f["projects"] == [str(n)]
    assert re.match(r"^\d+\.\d% of committed \(USD\*\)$", f["catalytic_share"][0])

    statuses = {}
    for e in seed_file("projects/projects.json"):
        if e["method"] == "CreateProject":
            s = e["request"]["project"]["status"].split("_")[-1].capitalize()
            statuses[s] = statuses.get(s, 0) + 1
    rows = table(status)
    assert rows[0] == ["STATUS", "PROJECTS"]
    assert [r[0] for r in rows[1:]] == ["Pipeline", "Implementation", "Finalisation", "Closed",
                                        "Cancelled", "Suspended"]
    assert {r[0]: int(r[1]) for r in rows[1:] if r[1] != "0"} == statuses

    header, rows, note = money_rows(money)
    assert header == MONEY_HEADERS
    # One row per currency of the seed, in currency order, then USD*.
    assert [r[0] for r in rows] == sorted(c for c in want if c != "USD*") + ["USD*"]
    assert note.endswith("(compactctl analytics rates list)")   # complete: no "incomplete"
    stages = ["budget", "pledged", "committed", "received", "disbursed", "spent"]
    for r in rows:
        cur = r[0]
        assert r[1:7] == [major(cur, want[cur].get(s, 0)) for s in stages], (cur, r)
        gap = max(want[cur].get("budget", 0) - want[cur].get("committed", 0), 0)
        assert r[7] == major(cur, gap), (cur, r)
    # The USD* committed is the US dollars plus the euros at the seed's rate
    # of the commitment's month, to the cent.
    assert rows[-1][3] == major("USD", o.money.usd.committed_minor)
    assert want["USD*"]["committed"] != want["USD"]["committed"]

    j = ok_json(suite, "analytics", "overview")
    assert j["projects"] == str(n) and j["money"]["usdComplete"] is True
    assert j["money"]["usd"]["currency"] == "USD*"
    assert j["money"]["usd"]["committedMinor"] == str(want["USD*"]["committed"])
    assert {m["currency"]: m.get("committedMinor", "0") for m in j["money"]["byCurrency"]} == {
        c: str(v.get("committed", 0)) for c, v in want.items() if c != "USD*"}
    assert j["freshness"]["sourcesReachable"] is True
    assert int(j["freshness"]["eventsApplied"]) > 0


@pytest.mark.suite(services=FOUR, env=NO_HTTP)
def test_analytics_filters_by_group_code_or_id_year_and_pillar(suite):
    rates = seed_rates()
    seed_all(suite)
    settled_overview(suite, rates)
    bmle = suite.stub("workgroups").GetWorkingGroup(
        harness.pb("compact/workgroups/v1/workgroups.proto").GetWorkingGroupRequest(
            code="BMLE"))

    def no_freshness(j):
        j.pop("freshness")
        return j

    by_code = no_freshness(ok_json(suite, "analytics", "overview", "--group", "bmle"))
    by_id = no_freshness(ok_json(suite, "analytics", "overview", "--group", bmle.id))
    assert by_code == by_id
    assert by_code["filter"] == {"workingGroupId": bmle.id}
    want, n = seed_figures(rates, group="BMLE")
    assert by_code["projects"] == str(n)
    assert by_code["money"]["usd"]["committedMinor"] == str(want["USD*"]["committed"])

    head = fields(blocks(ok(suite.ctl("analytics", "overview", "--group", "BMLE", "--year",
                                      "2021", "--pillar", "II")).stdout)[0])
    assert head["filter"] == ["year 2021, group BMLE (%s), pillar II" % bmle.id]
    j = ok_json(suite, "analytics", "overview", "--pillar", "2", "--year", "2021")
    assert j["filter"] == {"year": 2021, "pillar": 2}
    assert no_freshness(j) == no_freshness(ok_json(suite, "analytics", "overview", "--pillar",
                                                   "ii", "--year", "2021"))

    res = fails(suite.ctl("analytics", "overview", "--group", "NOPE"))
    assert res.stdout == ""
    assert res.stderr == ('compactctl: NOT_FOUND: --group: analytics knows no working group '
                          'with code "NOPE"\n')
    res = fails(suite.ctl("analytics", "funding", "--by", "group", "--group",
                          harness.unknown_id(bmle.id)))
    assert res.stderr.startswith("compactctl: NOT_FOUND: "), res.stderr
    res = fails(suite.ctl("analytics", "overview", "--year", "1800"))
    assert res.stderr.startswith("compactctl: INVALID_ARGUMENT: filter.year: "), res.stderr


@pytest.mark.suite(services=FOUR, env=NO_HTTP)
def test_analytics_funding_by_group_and_year(suite):
    rates = seed_rates()
    seed_all(suite)
    settled_overview(suite, rates)
    codes = sorted({g.split(":", 1)[1] for e in seed_file("projects/projects.json")
                    if e["method"] == "CreateProject"
                    for g in e["request"]["project"]["workingGroupIds"]})

    out = ok(suite.ctl("analytics", "funding", "--by", "group")).stdout
    head, body = blocks(out)
    assert re.match(FRESH_RE, fields(head)["freshness"][0])
    header, rows, _ = money_rows(body)
    assert header == ["GROUP", "PROJECTS"] + MONEY_HEADERS
    # A group's first line carries its code and projects; its other
    # currencies follow with empty lead cells; USD* closes it.
    got, current = {}, None
    for r in rows:
        if r[0]:
            current = r[0]
            got[current] = {"projects": int(r[1]), "lines": {}}
            cells = r[2:]
        else:
            cells = r[1:]   # the two empty lead cells are one run of spaces
        assert len(cells) == len(MONEY_HEADERS), r
        got[current]["lines"][cells[0]] = cells
    assert sorted(got) == codes
    for code in codes:
        want, n = seed_figures(rates, group=code)
        assert got[code]["projects"] == n, code
        assert list(got[code]["lines"])[-1] == "USD*", code
        for cur, cells in got[code]["lines"].items():
            assert cells[3] == major(cur, want.get(cur, {}).get("committed", 0)), (code, cur)
    # Largest US dollar equivalent committed first.
    usd = [int(got[c]["lines"]["USD*"][3].replace(",", "").replace(".", "")) for c in got]
    assert usd == sorted(usd, reverse=True)

    j = ok_json(suite, "analytics", "funding", "--by", "year")
    assert j["by"] == "BREAKDOWN_BY_YEAR"
    years = sorted({int(e["request"]["transaction"]["date"][:4])
                    for e in seed_file("projects/projects.json")
                    if e["method"] == "RecordTransaction"})
    for y in years:
        want, _ = seed_figures(rates, year=y)
        row = next(r for r in j["rows"] if r["key"] == str(y))
        assert row["money"]["usd"].get("committedMinor", "0") == str(
            want["USD*"].get("committed", 0)), y
    # --year filters the transactions of a breakdown too.
    j2 = ok_json(suite, "analytics", "funding", "--by", "group", "--year", str(years[0]))
    assert j2["filter"] == {"year": years[0]}
    total = sum(int(r["money"]["usd"].get("committedMinor", "0")) for r in j2["rows"])
    want, _ = seed_figures(rates, year=years[0])
    assert total >= want["USD*"].get("committed", 0)   # a project counts in each of its groups


@pytest.mark.suite(services=FOUR, env=NO_HTTP)
def test_analytics_alerts_and_rebuild(suite):
    rates = seed_rates()
    seed_all(suite)
    settled_overview(suite, rates)
    stub = suite.stub("analytics")
    n_projects = seed_figures(rates)[1]

    def stable():
        a = stub.ListDuplicationAlerts(AN.ListDuplicationAlertsRequest()).alerts
        time.sleep(0.5)
        b = stub.ListDuplicationAlerts(AN.ListDuplicationAlertsRequest()).alerts
        return list(b) if a and list(a) == list(b) else None
    alerts = harness.poll(stable, what="duplication alerts to settle")

    head, body = blocks(ok(suite.ctl("analytics", "alerts")).stdout)
    assert re.match(FRESH_RE, fields(head)["freshness"][0])
    rows = table(body)
    assert rows[0] == ["SCORE", "DUPLICATE", "PROJECT", "OTHER", "REASONS"]
    assert len(rows) == 1 + len(alerts)
    for r, a in zip(rows[1:], alerts):
        assert r[0] == "%.2f" % a.score
        assert r[1] == ("likely" if a.likely_duplicate else "-")
        assert r[2:4] == [a.project_title, a.other_project_title]
        assert r[4] == ", ".join(a.reasons)
    one = ok_json(suite, "analytics", "alerts", "--limit", "1")
    assert len(one["alerts"]) == 1 and one["alerts"][0]["projectId"] == alerts[0].project_id

    f = fields(ok(suite.ctl("analytics", "rebuild")).stdout)
    assert re.match(FRESH_RE, f["freshness"][0])
    assert f["projects"] == [str(n_projects)]
    assert f["working_groups"] == ["8"]
    assert f["entities"] == [str(len(seed_file("membership/entities.json")))]
    assert f["differences"] == ["0"]      # every event had arrived
    j = ok_json(suite, "analytics", "rebuild")
    assert j.get("differences", "0") == "0"     # proto3 JSON leaves zeros out
    assert j["projects"] == str(n_projects)


@pytest.mark.suite(services=FOUR, env=NO_HTTP)
def test_analytics_rates_list_put_and_the_seed(suite):
    rates = seed_rates()
    n_rates = sum(len(v) for v in rates.values())
    res = seed_all(suite)
    settled_overview(suite, rates)
    stub = suite.stub("analytics")

    rows = table(ok(suite.ctl("analytics", "rates", "list")).stdout)
    assert rows[0] == ["CURRENCY", "FROM", "USD", "VERIFIED", "NOTE"]
    assert len(rows) == 1 + n_rates
    assert {r[0] for r in rows[1:]} >= {"EUR", "GBP", "CHF", "JPY", "SEK", "NOK", "DKK", "CAD",
                                        "AUD"}
    jpy = [r for r in rows[1:] if r[0] == "JPY"]
    assert [r[1] for r in jpy] == [d for d, _ in rates["JPY"]]
    # Millionths printed exactly: 9174 -> 0.009174, 1111000 -> 1.111.
    assert jpy[0][2] == "0.%06d" % rates["JPY"][0][1]
    eur = ok_json(suite, "analytics", "rates", "list", "--currency", "EUR")
    assert [(r["validFrom"], int(r["usdMicros"])) for r in eur] == rates["EUR"]
    for r in eur:   # none of them taken from the published table here
        assert r.get("verified", False) is False
        assert r["sourceNote"].startswith(
            "illustrative: close to the published UN operational rate for "), r
        assert r["sourceNote"].endswith(
            "https://treasury.un.org/operationalrates/OperationalRates.php"), r

    # put: --usd is taken by digits, exactly.
    for usd, micros in (("1.08", 1080000), ("0.000001", 1), ("12345.678901", 12345678901),
                        ("2", 2000000)):
        f = fields(ok(suite.ctl("analytics", "rates", "put", "--currency", "NZD",
                                "--valid-from", "2024-01-01", "--usd", usd,
                                "--note", "test " + usd)).stdout)
        assert f["currency"] == ["NZD"] and f["valid_from"] == ["2024-01-01"]
        assert f["verified"] == ["no"] and f["source_note"] == ["test " + usd]
        held = stub.ListExchangeRates(AN.ListExchangeRatesRequest(currency="NZD")).rates
        assert [(r.valid_from, r.usd_micros) for r in held] == [("2024-01-01", micros)]
    j = ok_json(suite, "analytics", "rates", "put", "--currency", "NZD", "--valid-from",
                "2024-02-01", "--usd", "0.61", "--verified", "--note", "UN Treasury")
    assert j == {"currency": "NZD", "validFrom": "2024-02-01", "usdMicros": "610000",
                 "verified": True, "sourceNote": "UN Treasury"}
    res = fails(suite.ctl("analytics", "rates", "put", "--currency", "USD", "--valid-from",
                          "2024-01-01", "--usd", "1"))
    assert res.stderr.startswith("compactctl: INVALID_ARGUMENT: rate.currency: "), res.stderr
    res = fails(suite.ctl("analytics", "rates", "put", "--currency", "EUR", "--valid-from",
                          "2024-13-01", "--usd", "1"))
    assert res.stderr.startswith("compactctl: INVALID_ARGUMENT: rate.valid_from"), res.stderr

    # A rate the figures use: the seed's euro commitment converts at it.
    want, _ = seed_figures(rates)
    eur_tx = [e["request"]["transaction"] for e in seed_file("projects/projects.json")
              if e["method"] == "RecordTransaction"
              and e["request"]["transaction"]["value"]["currency"] == "EUR"]
    assert eur_tx, "the seed has a euro transaction"
    month = next(d for d, _ in reversed(rates["EUR"]) if d <= eur_tx[0]["date"])
    ok(suite.ctl("analytics", "rates", "put", "--currency", "EUR", "--valid-from", month,
                 "--usd", "2"))
    rate_id = "EUR:" + month

    def events_of(aggregate_id):
        return [f for _, f in suite.stream("analytics")
                if f["aggregate_id"].decode() == aggregate_id]
    # Its events: the seed's put, then this one.
    harness.poll(lambda: len(events_of(rate_id)) == 2, what="the event of the euro rate put")
    changed = dict(rates, EUR=[(d, 2000000 if d == month else m) for d, m in rates["EUR"]])
    new, _ = seed_figures(changed)
    assert new["USD*"]["committed"] != want["USD*"]["committed"]
    harness.poll(lambda: stub.GetOverview(AN.GetOverviewRequest()).money.usd.committed_minor ==
                 new["USD*"]["committed"], what="the figures at the new euro rate")
    _, rows, _ = money_rows(blocks(ok(suite.ctl("analytics", "overview")).stdout)[2])
    assert rows[-1][0] == "USD*" and rows[-1][3] == major("USD", new["USD*"]["committed"])

    # The seed again: the changed rate is put back, the others are held
    # already and not sent: one event of analytics' own, for the euro rate.
    before = len(suite.stream("analytics"))
    res = ok(suite.ctl("seed", "--service", "analytics", env={"COMPACT_SEED_DIR": SEED_DIR}))
    assert res.stdout == "analytics: created 1, already present %d, failed 0\n" % (n_rates - 1)
    assert res.stderr == ""
    harness.poll(lambda: stub.GetOverview(AN.GetOverviewRequest()).money.usd.committed_minor ==
                 want["USD*"]["committed"], what="the figures at the seed's euro rate")
    res = ok(suite.ctl("seed", "--service", "analytics", env={"COMPACT_SEED_DIR": SEED_DIR}))
    assert res.stdout == "analytics: created 0, already present %d, failed 0\n" % n_rates
    # A sentinel write after both runs: once its event is in the stream, every
    # earlier one is (the outbox relays in order), and there is exactly one.
    ok(suite.ctl("analytics", "rates", "put", "--currency", "NZD", "--valid-from",
                 "2024-03-01", "--usd", "0.6"))
    harness.poll(lambda: len(events_of("NZD:2024-03-01")) == 1, what="the sentinel's event")
    assert len(events_of(rate_id)) == 3
    assert len(suite.stream("analytics")) == before + 2
