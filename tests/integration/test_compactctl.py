"""compactctl against a real compact-membership and redis-server.

Every command is run as a person or a container would run it: the real
binary, its exit status, its stdout (parsed when --json) and its stderr. What
the CLI claims to have done is checked through the service's own gRPC API.
"""
import json
import os
import re
import socket
import subprocess
import tempfile
import threading

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
