"""harness.py: run the real Compact binaries against a real redis-server.

What it gives a test
--------------------
- Python message classes generated at import time from proto/ with protoc
  (`membership_pb2`, `events_pb2`, `health_pb2`, `reflection_v1alpha_pb2`,
  `reflection_v1_pb2`; any other with `pb("path/to/x.proto")`). Calls go
  through plain grpcio multi-callables built from the service descriptors, so
  no grpc_tools is needed.
- `Suite`: a context manager (and the `suite` fixture in conftest.py) that
  starts its own redis-server and the services on free 127.0.0.1 ports, waits
  until each one's health Check says SERVING, and on exit sends SIGTERM and
  requires exit code 0 and a stderr free of sanitizer reports.

Security, on by default as in a deployment: each suite makes its own token
signing keys (`Secrets`), starts the services with authentication on
(COMPACT_AUTH_KEYS_FILE and a service key of their own for their peers), and
Redis with an ACL user and a password file. `suite.channel()` and
`suite.new_channel()` send a secretariat token with every call, as does
`suite.ctl()` (COMPACT_TOKEN); `suite.token(role=...)` mints others and
`suite.channel_with(name, token)` uses one. With `tls=True` the services
serve mutual TLS (certificates from scripts/dev-secrets.sh) and the
channels present the client's certificate. At close, every log the suite's
processes wrote is searched for every token it minted and for the Redis
password: a secret in a log fails the test.

Ownership and cleanup
---------------------
Every child process is started through `setpriv --pdeathsig KILL`, so it dies
with the pytest process even when pytest is killed; an atexit hook kills
whatever is still registered; `Suite.close()` runs in a finally. A test never
leaves a process behind.

Timeouts here are upper bounds against hangs, never assertions about speed;
they are multiplied under the sanitizer build.
"""

import atexit
import fcntl
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import grpc
from google.protobuf import descriptor_pb2, symbol_database

# ---- where things are -------------------------------------------------------

SOURCE_DIR = os.environ.get("COMPACT_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("COMPACT_BUILD_DIR", "")
REDIS_SERVER = "/usr/bin/redis-server"
SETPRIV = shutil.which("setpriv")


def _sanitized_build():
    try:
        with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
            return any(line.strip().upper() in ("COMPACT_SANITIZE:BOOL=ON",
                                                "COMPACT_SANITIZE:BOOL=TRUE")
                       for line in f)
    except OSError:
        return False


SANITIZED = _sanitized_build()
# Bounds against hangs only; the sanitizer build is several times slower.
SLOW = 4 if SANITIZED else 1
START_TIMEOUT = 30 * SLOW
STOP_TIMEOUT = 30 * SLOW
CALL_TIMEOUT = 20 * SLOW

# Full gRPC names of each service's own API.
SERVICE_FULL_NAMES = {
    "membership": "compact.membership.v1.Membership",
    "workgroups": "compact.workgroups.v1.WorkingGroups",
    "projects": "compact.projects.v1.Projects",
    "analytics": "compact.analytics.v1.Analytics",
}
# Services that also serve HTTP of their own (COMPACT_HTTP_LISTEN): each gets
# a free port, see Suite.http_url().
HTTP_SERVICES = ("analytics",)
HEALTH = "grpc.health.v1.Health"
REFLECTION_V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
# Quick reconnects: services are started and restarted on fixed ports.
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0),
                   ("grpc.initial_reconnect_backoff_ms", 50),
                   ("grpc.max_reconnect_backoff_ms", 500)]


def binary(name):
    """Path of a built program: "membership" -> <build>/compact-membership;
    "compactctl" -> <build>/compactctl."""
    if name.startswith("compact") or "/" in name:
        return os.path.join(BUILD_DIR, name)
    return os.path.join(BUILD_DIR, "compact-" + name)


def full_name(service):
    return SERVICE_FULL_NAMES.get(service) or "compact.%s.v1.%s" % (
        service, service.capitalize())


# What takes a workgroups database back to schema version 1, as an older
# build left it: the tables and columns of versions 2 (decisions' references,
# leadership terms, notices) and 3 (provenance), and their records. For the
# upgrade tests.
WORKGROUPS_DOWN_TO_V1 = """
    DROP INDEX groups_by_established_by; ALTER TABLE groups DROP COLUMN established_by;
    DROP INDEX terms_of_reference_by_decision;
    ALTER TABLE terms_of_reference DROP COLUMN decision_ref;
    DROP TABLE approved_work_plan_items; DROP TABLE approved_work_plans;
    DROP TABLE leadership_term_vice_chairs; DROP TABLE leadership_terms;
    DROP TABLE subscription_groups; DROP TABLE subscriptions; DROP TABLE notices;
    DROP TABLE provenance;
    DELETE FROM schema_migrations WHERE component = 'workgroups' AND version >= 2;
"""


# ---- generated message modules ----------------------------------------------

_GEN_DIR = tempfile.mkdtemp(prefix="compact-pb-")
atexit.register(shutil.rmtree, _GEN_DIR, True)
_MODULES = {}


def _generate():
    proto_root = os.path.join(SOURCE_DIR, "proto")
    protos = []
    for root, _dirs, files in os.walk(proto_root):
        for f in files:
            if f.endswith(".proto"):
                protos.append(os.path.relpath(os.path.join(root, f), proto_root))
    protos.sort()
    res = subprocess.run(["protoc", "-I" + proto_root, "-I/usr/include",
                          "--python_out=" + _GEN_DIR] + protos,
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError("protoc failed:\n" + res.stderr)
    sys.path.insert(0, _GEN_DIR)
    # The proto package "grpc" would clash with grpcio's own package, so every
    # module is loaded from its file under a name of its own.
    for p in protos:
        path = os.path.join(_GEN_DIR, p[:-len(".proto")] + "_pb2.py")
        name = "compact_pb." + p[:-len(".proto")].replace("/", ".") + "_pb2"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        _MODULES[p] = mod


_generate()


def pb(proto_path):
    """The generated module of `proto_path` (relative to proto/)."""
    return _MODULES[proto_path]


membership_pb2 = pb("compact/membership/v1/membership.proto")
events_pb2 = pb("compact/events/v1/events.proto")
health_pb2 = pb("grpc/health/v1/health.proto")
reflection_v1alpha_pb2 = pb("grpc/reflection/v1alpha/reflection.proto")
reflection_v1_pb2 = pb("grpc/reflection/v1/reflection.proto")

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def message_class(full):
    """The message class of a full protobuf name, e.g. 'compact.membership.v1.Entity'."""
    return symbol_database.Default().GetSymbol(full)


def service_descriptor(full):
    return symbol_database.Default().pool.FindServiceByName(full)


class _Method:
    """A grpcio multi-callable with a default timeout, so a hung server fails
    the test instead of holding it until ctest's timeout."""

    def __init__(self, callable_, timeout):
        self._c = callable_
        self._timeout = timeout

    def _kw(self, kw):
        kw.setdefault("timeout", self._timeout)
        return kw

    def __call__(self, request, **kw):
        return self._c(request, **self._kw(kw))

    def with_call(self, request, **kw):
        return self._c.with_call(request, **self._kw(kw))

    def future(self, request, **kw):
        return self._c.future(request, **self._kw(kw))


class Stub:
    """Attributes named after the methods of service `full` on `channel`:
    stub.GetEntity(request, timeout=...), .future(...), .with_call(...)."""

    def __init__(self, channel, full, timeout=CALL_TIMEOUT):
        desc = service_descriptor(full)
        for m in desc.methods:
            path = "/%s/%s" % (full, m.name)
            req = message_class(m.input_type.full_name)
            rep = message_class(m.output_type.full_name)
            kinds = (m.client_streaming, m.server_streaming)
            factory = {(False, False): channel.unary_unary,
                       (False, True): channel.unary_stream,
                       (True, False): channel.stream_unary,
                       (True, True): channel.stream_stream}[kinds]
            mc = factory(path, request_serializer=req.SerializeToString,
                         response_deserializer=rep.FromString)
            setattr(self, m.name, _Method(mc, timeout))


def raw_method(channel, path):
    """A unary multi-callable that sends bytes as they are and returns bytes."""
    return channel.unary_unary(path, request_serializer=None, response_deserializer=None)


# ---- small helpers ----------------------------------------------------------

def poll(fn, timeout=None, what="condition", interval=0.05):
    """Calls fn() until it returns something truthy and returns that; fails
    with `what` when `timeout` seconds (default START_TIMEOUT) pass first.
    Exceptions from fn propagate."""
    deadline = time.monotonic() + (timeout or START_TIMEOUT)
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


_PORTS_HELD = {}  # port -> the open lock file that reserves it for this process
_PORT_LOCK_DIR = os.path.join(tempfile.gettempdir(), "compact-test-ports")


def free_port():
    """A port free now on 127.0.0.1 and reserved for this process until it
    exits. It lies below the kernel's ephemeral range (32768 and up), so that
    neither a port 0 bind nor a client connection's local port takes it; and
    it is held by an flock on a file named after it, so that no other test
    process (ctest runs them in parallel) is given it while this one may still
    start a service on it, stop it and start it again on the same port."""
    rng = random.SystemRandom()
    os.makedirs(_PORT_LOCK_DIR, exist_ok=True)
    while True:
        port = rng.randrange(20000, 32000)
        if port in _PORTS_HELD:
            continue
        lock = open(os.path.join(_PORT_LOCK_DIR, str(port)), "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                lock.close()
                continue
        _PORTS_HELD[port] = lock
        return port


_SANITIZER_RE = re.compile(
    r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"WARNING: ThreadSanitizer|AddressSanitizer:DEADLYSIGNAL|SUMMARY: \w+Sanitizer)")


def sanitizer_report(text):
    """The sanitizer report in `text` (from its first line on), or None."""
    m = _SANITIZER_RE.search(text or "")
    if not m:
        return None
    start = text.rfind("\n", 0, m.start()) + 1
    # ASan reports open with a "=====" rule line just before the error line.
    prev = text.rfind("\n", 0, max(start - 1, 0)) + 1
    if text[prev:start].startswith("="):
        start = prev
    return text[start:]


def check_sanitizer(what, text):
    """Fails with the report if `text` (a program's stderr) holds one."""
    rep = sanitizer_report(text)
    if rep:
        raise AssertionError("%s: sanitizer report:\n%s" % (what, rep))


def child_env(extra=None):
    """The environment for a child: ours without COMPACT_* settings and proxies."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("COMPACT_") and k.lower() not in
           ("http_proxy", "https_proxy", "all_proxy", "grpc_proxy")}
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.update(extra or {})
    return env


_LIVE = set()           # every child process still running
_LIVE_LOCK = threading.Lock()


def _kill_all():
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for p in procs:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass


atexit.register(_kill_all)


def spawn(argv, env, stdout, stderr, cwd=None, stdin=subprocess.DEVNULL):
    """Starts a child that dies with us (SIGKILL when our thread exits)."""
    if SETPRIV:
        argv = [SETPRIV, "--pdeathsig", "KILL", "--"] + list(argv)
    p = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr, cwd=cwd,
                         stdin=stdin)
    with _LIVE_LOCK:
        _LIVE.add(p)
    return p


def _forget(p):
    with _LIVE_LOCK:
        _LIVE.discard(p)


def run(argv, env=None, timeout=None, input=None):
    """Runs a program to completion (killed at `timeout`), returns the
    CompletedProcess with text stdout/stderr; fails on a sanitizer report."""
    p = spawn(argv, child_env(env), subprocess.PIPE, subprocess.PIPE,
              stdin=subprocess.DEVNULL if input is None else subprocess.PIPE)
    try:
        out, err = p.communicate(input=None if input is None else input.encode(),
                                 timeout=timeout or CALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("%s did not finish; stderr:\n%s" % (argv, err.decode(errors="replace")))
    finally:
        _forget(p)
    res = subprocess.CompletedProcess(argv, p.returncode, out.decode(errors="replace"),
                                      err.decode(errors="replace"))
    check_sanitizer(" ".join(argv), res.stderr)
    return res


# ---- Redis ------------------------------------------------------------------

class RedisError(Exception):
    pass


def _resp_encode(args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


def _resp_read(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("redis closed the connection")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        raise RedisError(body.decode())
    if kind == b":":
        return int(body)
    if kind == b"$":
        n = int(body)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(body)
        if n < 0:
            return None
        return [_resp_read(f) for _ in range(n)]
    raise RedisError("bad reply line %r" % line)


REDIS_AUTH = {}   # port -> (user, password) of a redis-server started with an ACL user


def redis_command(port, *args, timeout=10):
    """One command on a fresh connection (AUTH first when the server on
    `port` has an ACL user). Bulk strings come back as bytes, status replies
    as str, errors raise RedisError."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        auth = REDIS_AUTH.get(port)
        if auth:
            s.sendall(_resp_encode(("AUTH",) + auth))
        s.sendall(_resp_encode(args))
        with s.makefile("rb") as f:
            if auth:
                _resp_read(f)
            return _resp_read(f)


def stream_entries(port, stream):
    """XRANGE stream - +, as a list of (id str, {field str: value bytes})."""
    out = []
    for eid, fields in redis_command(port, "XRANGE", stream, "-", "+") or []:
        d = {fields[i].decode(): fields[i + 1] for i in range(0, len(fields), 2)}
        out.append((eid.decode(), d))
    return out


# ---- secrets: token keys, tokens, Redis password, TLS ------------------------

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature  # noqa: E402
import base64  # noqa: E402
import secrets as _pysecrets  # noqa: E402

ISSUER = "compact"
AUDIENCE = "compact"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_of(key, kid):
    nums = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": b64url(nums.x.to_bytes(32, "big")), "y": b64url(nums.y.to_bytes(32, "big"))}


def sign_jwt(key, header, payload):
    """A compact JWS of the two dicts (or raw str parts), ES256 with `key`."""
    h = header if isinstance(header, str) else b64url(json.dumps(header).encode())
    p = payload if isinstance(payload, str) else b64url(json.dumps(payload).encode())
    der = key.sign(("%s.%s" % (h, p)).encode(), ec.ECDSA(hashes.SHA256()))
    r, s_ = decode_dss_signature(der)
    return "%s.%s.%s" % (h, p, b64url(r.to_bytes(32, "big") + s_.to_bytes(32, "big")))


class Secrets:
    """What one suite trusts: a token key ("dev"), the services' own key
    ("service"), a key nobody trusts ("other"), the Redis ACL user's
    password, and with tls=True a CA with a certificate per service and one
    for clients. Files in `dir`; every secret handed out is remembered so
    that the logs can be searched for it."""

    def __init__(self, dir, tls=False, names=()):
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.service_key = ec.generate_private_key(ec.SECP256R1())
        self.other_key = ec.generate_private_key(ec.SECP256R1())
        self.keys_file = os.path.join(dir, "keys.json")
        self.write_keys([("dev", self.key), ("service", self.service_key)])
        self.service_key_file = self._pem(self.service_key, "service.pem")
        self.signing_key_file = self._pem(self.key, "dev.pem")
        self.redis_user = "compact"
        self.redis_password = _pysecrets.token_hex(24)
        self.redis_password_file = os.path.join(dir, "redis.password")
        with open(self.redis_password_file, "w") as f:
            f.write(self.redis_password + "\n")
        self.given = [self.redis_password]
        self.tls_dir = None
        if tls:
            self.tls_dir = os.path.join(dir, "tls")
            res = subprocess.run(["bash", os.path.join(SOURCE_DIR, "scripts", "dev-secrets.sh"),
                                  "--tls-only", self.tls_dir] + list(names) + ["client"],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                raise RuntimeError("dev-secrets.sh failed:\n" + res.stderr)

    def _pem(self, key, name):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        return path

    def write_keys(self, pairs):
        """Replaces the key file (a new inode, as an operator's mv would)."""
        tmp = self.keys_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"keys": [jwk_of(k, kid) for kid, k in pairs]}, f)
        os.replace(tmp, self.keys_file)

    def token(self, role="secretariat", subject=None, entity=None, groups=None, ttl=3600,
              key=None, kid="dev", exp=None, nbf=None, iss=ISSUER, aud=AUDIENCE, header=None):
        now = int(time.time())
        payload = {"iss": iss, "aud": aud, "sub": subject or "test-%s" % role, "role": role,
                   "iat": now, "exp": exp if exp is not None else now + ttl}
        if nbf is not None:
            payload["nbf"] = nbf
        if entity:
            payload["entity_id"] = entity
        if groups:
            payload["group_ids"] = list(groups)
        t = sign_jwt(key or self.key, header or {"alg": "ES256", "typ": "JWT", "kid": kid},
                     payload)
        self.given.append(t)
        return t

    def tls_files(self, name):
        d = self.tls_dir
        return {"cert": os.path.join(d, name + ".pem"), "key": os.path.join(d, name + ".key"),
                "ca": os.path.join(d, "ca.pem")}

    def channel_credentials(self, name="client", with_cert=True):
        f = self.tls_files(name)
        read = lambda p: open(p, "rb").read()  # noqa: E731
        if with_cert:
            return grpc.ssl_channel_credentials(read(f["ca"]), read(f["key"]), read(f["cert"]))
        return grpc.ssl_channel_credentials(read(f["ca"]))


class _TokenAuth(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                 grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds "authorization: Bearer <token>" to every call of a channel."""

    def __init__(self, token):
        self.token = token

    def _details(self, d):
        md = list(d.metadata or [])
        if self.token and not any(k == "authorization" for k, _ in md):
            md.append(("authorization", "Bearer " + self.token))
        return _CallDetails(d.method, d.timeout, md, d.credentials,
                            getattr(d, "wait_for_ready", None), getattr(d, "compression", None))

    def intercept_unary_unary(self, cont, d, req):
        return cont(self._details(d), req)

    def intercept_unary_stream(self, cont, d, req):
        return cont(self._details(d), req)

    def intercept_stream_unary(self, cont, d, reqs):
        return cont(self._details(d), reqs)

    def intercept_stream_stream(self, cont, d, reqs):
        return cont(self._details(d), reqs)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


class _AuthChannel:
    """A channel sending a token with every call; close() closes the real
    one (grpc.intercept_channel's wrapper alone leaves it open)."""

    def __init__(self, raw, token):
        self._raw = raw
        self._ch = grpc.intercept_channel(raw, _TokenAuth(token)) if token else raw

    def __getattr__(self, name):
        return getattr(self._ch, name)

    def close(self):
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


# ---- metrics ------------------------------------------------------------------

_METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def metrics_text(text):
    """Prometheus text -> {"name" or 'name{labels}' as written: float}."""
    out = {}
    for line in text.splitlines():
        m = _METRIC_RE.match(line.strip())
        if m and not line.startswith("#"):
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def scrape_metrics(addr):
    """GET http://<addr>/metrics, parsed by metrics_text()."""
    with urllib.request.urlopen("http://%s/metrics" % addr, timeout=CALL_TIMEOUT) as r:
        return metrics_text(r.read().decode())


# ---- the suite --------------------------------------------------------------

class _Service:
    def __init__(self, name, port, data_dir):
        self.name = name
        self.port = port
        self.data_dir = data_dir
        self.proc = None
        self.run_no = 0
        self.log_path = None
        self.log_paths = []
        self.faults = None
        self.env = {}
        self.http_port = None  # COMPACT_HTTP_LISTEN's port (analytics' dashboard)
        self.checked = True   # exit of the last run judged (or no run yet)
        self.probe_port = None  # with TLS: the plaintext Health port


class Suite:
    """Redis plus the named services; see the module comment.

    services: names such as "membership" (binary <build>/compact-<name>).
    faults:   COMPACT_FAULTS for every service (a str), or {name: str}.
    env:      extra environment for every service, or {name: {..}} when its
              keys are service names.
    wait:     "serving" (default) waits for health SERVING; "answer" only for
              any health answer (for a service meant to be NOT_SERVING);
              "exit" not at all (for a run meant to end by itself, see
              expect_exit()).
    redis_appendonly: run redis-server with its append-only file (as
              production does), so that a Redis stopped and started again
              comes back with its old data; by default it restarts empty.
    metrics:  True (every service) or service names: COMPACT_METRICS_LISTEN
              on a port picked now, read with metrics(name).
    """

    def __init__(self, services=("membership",), faults=None, env=None, wait="serving",
                 redis_appendonly=False, metrics=False, auth=True, tls=False,
                 redis_auth=True):
        if not BUILD_DIR:
            raise RuntimeError("COMPACT_BUILD_DIR is not set (ctest sets it)")
        self.names = list(services)
        self.wait = wait
        self.tmp = tempfile.mkdtemp(prefix="compact-suite-")
        self.auth = auth
        self.tls = tls
        self.redis_auth = redis_auth
        self.secrets = Secrets(os.path.join(self.tmp, "secrets"), tls=tls, names=self.names)
        self.admin_token = self.secrets.token("secretariat", subject="harness@unoct")
        self.redis_port = free_port()
        self.redis_proc = None
        self._redis_paused = False
        self.redis_appendonly = redis_appendonly
        self._paused = set()    # services stopped with pause()
        self._channels = {}
        self._svc = {}
        for n in self.names:
            s = _Service(n, free_port(), os.path.join(self.tmp, n, "data"))
            os.makedirs(s.data_dir)
            if n in HTTP_SERVICES:
                s.http_port = free_port()
            s.faults = faults.get(n) if isinstance(faults, dict) else faults
            if env and all(k in self.names for k in env):
                s.env = dict(env.get(n, {}))
            else:
                s.env = dict(env or {})
            if metrics is True or (metrics and n in metrics):
                s.env.setdefault("COMPACT_METRICS_LISTEN", "127.0.0.1:%d" % free_port())
            self._svc[n] = s
        self._closed = False

    # -- context manager
    def __enter__(self):
        try:
            self.start_redis()
            for n in self.names:
                self.start(n)
        except BaseException:
            self.close(test_failed=True)
            raise
        return self

    def __exit__(self, et, ev, tb):
        self.close(test_failed=et is not None)
        return False

    # -- accessors
    def addr(self, name):
        return "127.0.0.1:%d" % self._svc[name].port

    def bin(self, name):
        return binary(name)

    def http_url(self, name, path=""):
        """http://127.0.0.1:<port><path> of the service's own HTTP server
        (COMPACT_HTTP_LISTEN; services in HTTP_SERVICES get a free port)."""
        port = self._svc[name].http_port
        assert port, "%s serves no HTTP in this suite" % name
        return "http://127.0.0.1:%d%s" % (port, path)

    def proc(self, name):
        return self._svc[name].proc

    def data_dir(self, name):
        return self._svc[name].data_dir

    def channel(self, name):
        """One shared channel (one HTTP/2 connection) per service run, sending
        the secretariat's token."""
        ch = self._channels.get(name)
        if ch is None:
            ch = self.channel_with(name, self.admin_token)
            self._channels[name] = ch
        return ch

    def new_channel(self, name):
        """A channel of its own, sending the secretariat's token; the caller
        closes it."""
        return self.channel_with(name, self.admin_token)

    def raw_channel(self, name, credentials=None):
        """A channel of its own with no token; over TLS with the client's
        certificate when the suite has TLS (or `credentials`)."""
        if self.tls or credentials is not None:
            creds = credentials or self.secrets.channel_credentials()
            return grpc.secure_channel(self.addr(name), creds, options=CHANNEL_OPTIONS)
        return grpc.insecure_channel(self.addr(name), options=CHANNEL_OPTIONS)

    def channel_with(self, name, token, credentials=None):
        """A channel of its own sending `token` (None: none); closed by the
        caller."""
        return _AuthChannel(self.raw_channel(name, credentials), token)

    def token(self, role="secretariat", **kw):
        """A token this suite's services trust (see Secrets.token)."""
        return self.secrets.token(role, **kw)

    def stub(self, name, service=None, channel=None):
        """Stub of `service` (default: the service's own API) on `name`."""
        return Stub(channel or self.channel(name), service or full_name(name))

    def health_channel(self, name):
        """A channel for Health alone: the plaintext probe port with TLS."""
        s = self._svc[name]
        if self.tls:
            return grpc.insecure_channel("127.0.0.1:%d" % s.probe_port, options=CHANNEL_OPTIONS)
        return self.new_channel(name)

    def health(self, name, service="", timeout=None):
        """The status of one health Check (raises grpc.RpcError on failure)."""
        rep = self.stub(name, HEALTH).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout or CALL_TIMEOUT)
        return rep.status

    def peer_env(self):
        """COMPACT_REDIS_ADDR and COMPACT_<NAME>_ADDR of every service, for
        clients such as compactctl."""
        env = {"COMPACT_REDIS_ADDR": "127.0.0.1:%d" % self.redis_port,
               "COMPACT_TOKEN": self.admin_token}
        for n in self.names:
            env["COMPACT_%s_ADDR" % n.upper()] = self.addr(n)
        if self.tls:
            f = self.secrets.tls_files("client")
            env.update({"COMPACT_TLS_CA": f["ca"], "COMPACT_TLS_CERT": f["cert"],
                        "COMPACT_TLS_KEY": f["key"]})
        return env

    def ctl(self, *args, env=None, timeout=None, input=None):
        """Runs compactctl with peer_env() (plus `env`); returns the
        CompletedProcess (text). Fails on a sanitizer report."""
        e = self.peer_env()
        e.update(env or {})
        return run([self.bin("compactctl")] + [str(a) for a in args], env=e,
                   timeout=timeout, input=input)

    # -- logs
    def raw_log(self, name, run=None):
        """stderr of the current run (or of run number `run`, from 1)."""
        s = self._svc[name]
        path = s.log_paths[run - 1] if run else s.log_path
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")

    def logs(self, name, run=None):
        """The complete JSON lines of stderr, parsed; other lines skipped."""
        out = []
        for line in self.raw_log(name, run).split("\n"):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def call_logs(self, name, method=None, run=None):
        """Per-call log lines, optionally of one method ("GetEntity" or a full path)."""
        out = []
        for l in self.logs(name, run):
            if "method" not in l or "code" not in l:
                continue
            if method and not (l["method"] == method or l["method"].endswith("/" + method)):
                continue
            out.append(l)
        return out

    # -- Redis
    def start_redis(self, appendonly=None):
        """Starts redis-server on the suite's port and directory. appendonly
        (default: the suite's redis_appendonly) keeps every write in the
        append-only file, fsynced at once, and loads it at start."""
        d = os.path.join(self.tmp, "redis")
        os.makedirs(d, exist_ok=True)
        if appendonly is None:
            appendonly = self.redis_appendonly
        persistence = (["--appendonly", "yes", "--appendfsync", "always"] if appendonly
                       else ["--appendonly", "no"])
        log = open(os.path.join(d, "redis.log"), "ab")
        argv = [REDIS_SERVER, "--port", str(self.redis_port), "--bind", "127.0.0.1",
                "--save", ""] + persistence + ["--dir", d]
        if self.redis_auth:
            # The services' ACL user; the default user is off, so nothing
            # else gets in. The password reaches Redis in a config file, not
            # on its command line (ps would show it).
            conf = os.path.join(d, "acl.conf")
            with open(conf, "w") as f:
                f.write("user default off\nuser %s on >%s ~* &* +@all\n" % (
                    self.secrets.redis_user, self.secrets.redis_password))
            argv[1:1] = [conf]
            REDIS_AUTH[self.redis_port] = (self.secrets.redis_user, self.secrets.redis_password)
        try:
            self.redis_proc = spawn(argv, child_env(), log, log, cwd=d)
        finally:
            log.close()
        self._redis_paused = False

        def up():
            if self.redis_proc.poll() is not None:
                raise AssertionError("redis-server exited: " + self._tail(
                    os.path.join(d, "redis.log")))
            try:
                return self.redis("PING") == "PONG"
            except (OSError, RedisError):
                return False
        poll(up, what="redis-server on port %d" % self.redis_port)

    def stop_redis(self):
        p = self.redis_proc
        if p is None:
            return
        self.resume_redis()
        p.terminate()
        try:
            p.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        _forget(p)
        self.redis_proc = None

    def pause_redis(self):
        """SIGSTOP: Redis holds connections open but answers nothing."""
        self.redis_proc.send_signal(signal.SIGSTOP)
        self._redis_paused = True

    def resume_redis(self):
        if self._redis_paused and self.redis_proc is not None:
            self.redis_proc.send_signal(signal.SIGCONT)
        self._redis_paused = False

    def redis(self, *args):
        return redis_command(self.redis_port, *args)

    def stream(self, service="membership"):
        """The entries of "compact:events:<service>" (see stream_entries)."""
        return stream_entries(self.redis_port, "compact:events:" + service)

    # -- services
    def _service_env(self, s):
        env = {
            "COMPACT_LISTEN": self.addr(s.name),
            "COMPACT_REDIS_ADDR": "127.0.0.1:%d" % self.redis_port,
            "COMPACT_DATA_DIR": s.data_dir,
            "COMPACT_LOG_LEVEL": "debug",
        }
        sec = self.secrets
        if self.auth:
            env.update({"COMPACT_AUTH_KEYS_FILE": sec.keys_file,
                        "COMPACT_AUTH_SERVICE_KEY_FILE": sec.service_key_file,
                        "COMPACT_AUTH_SERVICE_KID": "service"})
        else:
            env["COMPACT_AUTH"] = "off"
        if self.redis_auth:
            env.update({"COMPACT_REDIS_USER": sec.redis_user,
                        "COMPACT_REDIS_PASSWORD_FILE": sec.redis_password_file})
        if self.tls:
            f = sec.tls_files(s.name)
            s.probe_port = getattr(s, "probe_port", None) or free_port()
            env.update({"COMPACT_TLS_CERT": f["cert"], "COMPACT_TLS_KEY": f["key"],
                        "COMPACT_TLS_CA": f["ca"],
                        "COMPACT_PROBE_LISTEN": "127.0.0.1:%d" % s.probe_port})
        for n in self.names:
            if n != s.name:
                env["COMPACT_%s_ADDR" % n.upper()] = self.addr(n)
        if s.http_port:
            env["COMPACT_HTTP_LISTEN"] = "127.0.0.1:%d" % s.http_port
        if s.faults:
            env["COMPACT_FAULTS"] = s.faults
        env.update(s.env)
        return child_env(env)

    def start(self, name, wait=None):
        """Starts the service (again) on its port and data dir and waits for
        health (wait: "serving", "answer", "exit" or None; default the
        suite's)."""
        s = self._svc[name]
        assert s.proc is None or s.proc.poll() is not None, name + " is running"
        for attempt in range(3):
            s.run_no += 1
            s.log_path = os.path.join(self.tmp, name, "stderr.%d.log" % s.run_no)
            s.log_paths.append(s.log_path)
            log = open(s.log_path, "wb")
            try:
                s.proc = spawn([self.bin(name)], self._service_env(s), log, log)
            finally:
                log.close()
            s.checked = False
            self._channels.pop(name, None)
            try:
                self._wait_health(name, wait or self.wait)
                return
            except _PortTaken:
                # Somebody took the free port between our probe and the bind.
                _forget(s.proc)
                s.checked = True
                s.port = free_port()
                if s.http_port:
                    s.http_port = free_port()
        raise AssertionError("%s: could not bind a port:\n%s" % (name, self.raw_log(name)))

    def _wait_health(self, name, wait):
        s = self._svc[name]
        if not wait or wait == "exit":
            return
        self._wait_listening(name)
        ch = self.health_channel(name)
        try:
            check = Stub(ch, HEALTH).Check
            req = health_pb2.HealthCheckRequest(service="")

            def ready():
                if s.proc.poll() is not None:
                    text = self.raw_log(name)
                    if re.search(r"address already in use|EADDRINUSE", text, re.I):
                        raise _PortTaken()
                    raise AssertionError("%s exited with %s while starting:\n%s" % (
                        name, s.proc.returncode, text))
                try:
                    st = check(req, timeout=1 * SLOW).status
                except grpc.RpcError:
                    return False
                return st == SERVING if wait == "serving" else True
            try:
                poll(ready, timeout=START_TIMEOUT, what="%s health %s" % (name, wait),
                     interval=0.1)
            except AssertionError as e:
                if s.proc.poll() is None and "timed out" in str(e):
                    raise AssertionError("%s\n%s stderr:\n%s" % (e, name, self.raw_log(name)))
                raise
        finally:
            ch.close()

    def _wait_listening(self, name):
        """Polls with plain TCP connects until the port accepts: a gRPC
        channel whose first attempts were refused can sit out gRPC's
        reconnect backoff even after the server is up."""
        s = self._svc[name]

        def listening():
            if s.proc.poll() is not None:
                return True     # _wait_health reports the exit
            try:
                socket.create_connection(("127.0.0.1", s.port), timeout=1).close()
                return True
            except OSError:
                return False
        poll(listening, timeout=START_TIMEOUT, what="%s to listen" % name, interval=0.02)

    def signal(self, name, sig=signal.SIGTERM):
        self._svc[name].proc.send_signal(sig)

    def pause(self, name):
        """SIGSTOP the service: its sockets stay open, it answers nothing.
        stop() and close() send SIGCONT first."""
        self._svc[name].proc.send_signal(signal.SIGSTOP)
        self._paused.add(name)

    def resume(self, name):
        if name in self._paused:
            self._paused.discard(name)
            p = self._svc[name].proc
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGCONT)

    def kill(self, name):
        """SIGKILL (kill -9) the service and reap it; its exit is not judged
        (no exit code or sanitizer report can be asked of a killed process).
        Returns the exit status (-9). start() runs it again on its data."""
        s = self._svc[name]
        self._paused.discard(name)
        ch = self._channels.pop(name, None)
        if ch is not None:
            ch.close()
        s.proc.send_signal(signal.SIGKILL)
        try:
            rc = s.proc.wait(STOP_TIMEOUT)
        finally:
            _forget(s.proc)
            s.checked = True
        return rc

    def expect_exit(self, name, timeout=None):
        """For a run meant to end by itself (a refused start): waits for the
        exit, requires a stderr free of sanitizer reports and returns the
        exit code, which the caller judges (teardown will not)."""
        rc = self.wait_exit(name, timeout)
        s = self._svc[name]
        s.checked = True
        check_sanitizer(name, self.raw_log(name))
        return rc

    def metrics(self, name):
        """The service's /metrics, parsed by metrics_text(); the service must
        have COMPACT_METRICS_LISTEN in its env."""
        addr = self._svc[name].env.get("COMPACT_METRICS_LISTEN")
        assert addr, "%s has no COMPACT_METRICS_LISTEN" % name
        return scrape_metrics(addr)

    def wait_exit(self, name, timeout=None):
        """Waits for the service to exit and returns its exit code (fails if
        it does not exit in time). Does not judge the code; see stop()."""
        s = self._svc[name]
        try:
            rc = s.proc.wait(timeout or STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.wait()
            _forget(s.proc)
            raise AssertionError("%s did not exit after SIGTERM; stderr:\n%s" % (
                name, self._tail(s.log_path)))
        _forget(s.proc)
        ch = self._channels.pop(name, None)
        if ch is not None:
            ch.close()
        return rc

    def check_exit(self, name):
        """Fails unless the exited service returned 0 with no sanitizer report."""
        s = self._svc[name]
        s.checked = True
        rc = s.proc.returncode
        text = self.raw_log(name)
        rep = sanitizer_report(text)
        if rep:
            raise AssertionError("%s (exit code %s): sanitizer report:\n%s" % (name, rc, rep))
        if rc != 0:
            raise AssertionError("%s exited with %s; stderr:\n%s" % (name, rc,
                                                                    self._tail(s.log_path)))

    def stop(self, name):
        """SIGTERM, then require exit code 0 and no sanitizer report."""
        s = self._svc[name]
        if s.proc is None:
            return
        self.resume(name)
        if s.proc.poll() is None:
            # Our idle connection would only slow the server's shutdown down.
            ch = self._channels.pop(name, None)
            if ch is not None:
                ch.close()
            s.proc.terminate()
        self.wait_exit(name)
        if not s.checked:
            self.check_exit(name)

    def expect_crash(self, name):
        """The service's current run is meant to die (a crash the test causes):
        waits for it to exit and returns its exit code, which is not judged."""
        rc = self.wait_exit(name)
        self._svc[name].checked = True
        return rc

    def restart(self, name, faults=None, env=None, wait=None):
        """stop() then start(); `faults`/`env` replace the service's own
        settings when given ("" clears the faults)."""
        self.stop(name)
        s = self._svc[name]
        if faults is not None:
            s.faults = faults
        if env is not None:
            s.env = dict(env)
        self.start(name, wait)

    # -- teardown
    def log_files(self):
        """Every log the suite's processes wrote: the services' stderr, Redis's."""
        out = [p for n in self.names for p in self._svc[n].log_paths]
        out.append(os.path.join(self.tmp, "redis", "redis.log"))
        return out

    def secrets_in_logs(self):
        """[(file: what)] for every minted token (or its signature) and the
        Redis password found in a log; [] when none is."""
        found = []
        for path in self.log_files():
            try:
                with open(path, "rb") as f:
                    text = f.read().decode(errors="replace")
            except OSError:
                continue
            for secret in self.secrets.given:
                parts = [secret] + ([secret.rsplit(".", 1)[1]] if secret.count(".") == 2 else [])
                if any(p and p in text for p in parts):
                    found.append("%s holds %s" % (os.path.basename(os.path.dirname(path)) + "/" +
                                                  os.path.basename(path),
                                                  "a token" if "." in secret else
                                                  "the Redis password"))
        return found

    def _tail(self, path, lines=150):
        try:
            with open(path, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        rep = sanitizer_report(text)
        if rep:
            return rep
        return "\n".join(text.split("\n")[-lines:])

    def close(self, test_failed=False):
        """Stops everything; raises AssertionError listing what went wrong
        (non-zero exit, sanitizer report). With test_failed, prints each
        service's stderr so that pytest shows it."""
        if self._closed:
            return
        self._closed = True
        problems = []
        for ch in self._channels.values():
            ch.close()
        self._channels.clear()
        self.resume_redis()
        for n in list(self._paused):
            self.resume(n)
        for n in self.names:
            s = self._svc[n]
            if s.proc is None:
                continue
            try:
                self.stop(n)
            except AssertionError as e:
                problems.append(str(e))
            finally:
                if s.proc.poll() is None:
                    s.proc.kill()
                    s.proc.wait()
                _forget(s.proc)
        try:
            self.stop_redis()
        except Exception as e:  # noqa: BLE001 - teardown must go on
            problems.append("redis: %s" % e)
        if test_failed:
            for n in self.names:
                for i, path in enumerate(self._svc[n].log_paths, 1):
                    print("==== %s stderr (run %d) ====" % (n, i))
                    print(self._tail(path, 300))
        leaked = self.secrets_in_logs()
        if leaked:
            problems.append("secrets in logs: " + "; ".join(leaked))
        REDIS_AUTH.pop(self.redis_port, None)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if problems:
            raise AssertionError("\n\n".join(problems))


class _PortTaken(Exception):
    pass


# ---- call helpers -----------------------------------------------------------

def code_of(fn, *args, **kw):
    """Runs a call expected to fail; returns (grpc.StatusCode, details).
    Fails if the call succeeds."""
    try:
        rep = fn(*args, **kw)
    except grpc.RpcError as e:
        return e.code(), e.details() or ""
    raise AssertionError("call succeeded unexpectedly: %r" % (rep,))



def scaled(seconds):
    """An upper bound of `seconds` on the plain build, several times that
    under the sanitizers (see SLOW). For bounds against hangs only."""
    return seconds * SLOW


def outcome(fn, *args, **kw):
    """Runs a call; returns (grpc.StatusCode, reply or details): OK and the
    reply, or the failure's code and details."""
    try:
        return grpc.StatusCode.OK, fn(*args, **kw)
    except grpc.RpcError as e:
        return e.code(), e.details() or ""


# ---- reflection -----------------------------------------------------------------

REFLECTION_MODULES = {REFLECTION_V1ALPHA: reflection_v1alpha_pb2, REFLECTION_V1: reflection_v1_pb2}


def reflect(channel, full, requests, timeout=None):
    """Sends `requests` (dicts of ServerReflectionRequest fields) on one
    ServerReflectionInfo stream of reflection service `full`
    (REFLECTION_V1ALPHA or REFLECTION_V1); returns the responses."""
    mod = REFLECTION_MODULES[full]
    reqs = [mod.ServerReflectionRequest(**r) for r in requests]
    return list(Stub(channel, full).ServerReflectionInfo(iter(reqs), timeout=timeout))


def file_descriptors(response):
    """The FileDescriptorProtos of one file_descriptor_response, by name."""
    assert response.WhichOneof("message_response") == "file_descriptor_response", response
    out = {}
    for raw in response.file_descriptor_response.file_descriptor_proto:
        fdp = descriptor_pb2.FileDescriptorProto()
        fdp.ParseFromString(raw)
        out[fdp.name] = fdp
    return out


# ---- the event streams -------------------------------------------------------------

def stream_events(suite, service):
    """The events of compact:events:<service>, decoded from each entry's
    "event" field alone (the other fields may change form): a list of
    (entry id, events_pb2.Event) in stream order."""
    return [(eid, decode_event(f)) for eid, f in suite.stream(service)]


def event_key(ev):
    """What identifies one change: (aggregate id, aggregate sequence)."""
    return ev.aggregate_id, ev.aggregate_sequence


def wait_event_keys(suite, service, keys, timeout=None):
    """Polls until every (aggregate id, sequence) of `keys` is in the stream
    of `service`; returns the decoded events (see stream_events)."""
    keys = set(keys)

    def there():
        evs = stream_events(suite, service)
        return evs if keys <= {event_key(e) for _, e in evs} else None
    return poll(there, timeout, what="%d events in compact:events:%s" % (len(keys), service))


# ---- membership helpers ------------------------------------------------------

M = membership_pb2
ENTITY_KEY = "compact:membership:entity:%s"
ACRONYM_KEY = "compact:membership:acronym:%s"
EVENTS_STREAM = "compact:events:membership"


def entity(acronym, name=None, kind=None, joined_on="2018-02-23", **kw):
    """An Entity for CreateEntity with plausible defaults."""
    return M.Entity(acronym=acronym, name=name or "Office of " + acronym,
                    kind=M.ENTITY_KIND_UN_ENTITY if kind is None else kind,
                    joined_on=joined_on, **kw)


def create(stub, acronym, **kw):
    return stub.CreateEntity(M.CreateEntityRequest(entity=entity(acronym, **kw)))


def create_many(stub, entities, batch=16):
    """Creates the Entity messages, `batch` calls in flight at a time (well
    under any cap on calls); returns the created entities in order."""
    out = []
    for i in range(0, len(entities), batch):
        futs = [stub.CreateEntity.future(M.CreateEntityRequest(entity=e))
                for e in entities[i:i + batch]]
        out.extend(f.result() for f in futs)
    return out


def stream_id(eid):
    """(ms, seq) of a stream entry id "<ms>-<seq>", as Redis assigns them
    (outbox.h: delivery does not rest on the ids; they only order entries)."""
    m = re.match(r"^(\d+)-(\d+)$", eid)
    assert m, "stream id %r is not <ms>-<seq>" % eid
    return int(m.group(1)), int(m.group(2))


def decode_event(fields):
    """The compact.events.v1.Event of one stream entry's fields."""
    ev = events_pb2.Event()
    ev.ParseFromString(fields["event"])
    return ev


def wait_events(suite, n, service="membership", timeout=None):
    """Polls until the stream holds at least n entries; returns them all."""
    return poll(lambda: (lambda e: e if len(e) >= n else None)(suite.stream(service)),
                timeout, what="%d entries in compact:events:%s" % (n, service))


def wait_published(suite, aggregate_id, service="membership"):
    """Polls until the stream holds an event of `aggregate_id`. A write's
    event is published after a flush of its own (common/outbox.c), and its
    publish drops the aggregate's cache keys once more: a test that reads
    through the cache and then looks at Redis waits for this first."""
    poll(lambda: any(f["aggregate_id"].decode() == aggregate_id
                     for _, f in suite.stream(service)),
         what="an event of %s in compact:events:%s" % (aggregate_id, service))


_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def unknown_id(like, n=0):
    """A well-formed id that names no entity: `like` (a real id) with its
    last characters replaced, keeping the server's id alphabet (lower-case
    base32), so that the server answers NOT_FOUND rather than refusing the
    id's form. Distinct n give distinct ids."""
    tail = ""
    n += 1 << 20    # 5 characters, never the same as a fresh random tail
    while n:
        tail = _ID_ALPHABET[n % 32] + tail
        n //= 32
    cand = like[:-len(tail)] + tail
    if cand == like:
        cand = like[:-len(tail)] + tail[::-1]
    return cand
