#!/usr/bin/python3
"""check_manifests.py: the rules every rendered Compact manifest must keep.

    /usr/bin/python3 tests/containers/check_manifests.py k8s/overlays/dev k8s/overlays/production
    /usr/bin/python3 tests/containers/check_manifests.py --self-test k8s/overlays/dev

Each argument is a kustomize directory, rendered with `kubectl kustomize`
(kubectl 1.32 with kustomize 5.5), or a file of rendered YAML. Exit 0 when
every rule holds, 1 with one line per violation otherwise, 2 on a usage or
rendering error.

The rules (issue 4):
  - every container has readiness, liveness and startup probes; a container
    serving gRPC (a port named grpc) uses native grpc probes on that port,
    or on its port named probe (the plaintext Health port beside a TLS one)
  - every container, init containers too, has cpu and memory requests and limits
  - securityContext: runAsNonRoot (not uid 0), readOnlyRootFilesystem,
    allowPrivilegeEscalation false, capabilities drop ALL, seccomp
    RuntimeDefault; no privileged, hostNetwork, hostPID or hostIPC
  - terminationGracePeriodSeconds above the service's COMPACT_GRACE_SECONDS
  - compact services set COMPACT_LISTEN and COMPACT_MAX_CONNECTION_AGE_MS > 0
    and carry Prometheus scrape annotations
  - a StatefulSet has volumeClaimTemplates, a headless governing Service and
    a PodDisruptionBudget selecting its pods
  - a Service in front of a gRPC port names that port grpc
  - a Namespace, and a default-deny NetworkPolicy for Ingress and Egress
  - a compact service listens where its pod says: the port of COMPACT_LISTEN
    is its containerPort named grpc, that of COMPACT_HTTP_LISTEN the one named
    http (analytics' dashboard)
  - compact-analytics runs as exactly one replica, with no autoscaler: it
    consumes the event streams in one Redis consumer group, and a second
    replica would split the events between them
  - every edge a pod declares with a label compact.un.org/client-of-<x> is
    allowed both ways: a policy selecting the pod lets it reach <x>'s pods,
    and a policy selecting <x>'s pods admits pods with the label

--self-test breaks a rendered overlay in each of those ways, one at a time,
and fails unless the checker catches every one (a checker that cannot fail
proves nothing).
"""
import copy
import os
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:
    sys.exit("check_manifests: needs PyYAML for /usr/bin/python3 (apt-get install python3-yaml)")

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
DEFAULT_GRACE = 30  # Kubernetes' terminationGracePeriodSeconds default
SERVICE_GRACE_DEFAULT = 10  # COMPACT_GRACE_SECONDS default


def render(target):
    """Rendered documents of a kustomize directory or a YAML file."""
    if os.path.isdir(target):
        kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"
        if not os.access(kubectl, os.X_OK):
            sys.exit("check_manifests: kubectl (1.32, with kustomize) is missing; it is not "
                     "installable from Debian here (kubernetes-client conflicts)")
        out = subprocess.run([kubectl, "kustomize", target], capture_output=True, text=True)
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            sys.exit(f"check_manifests: kubectl kustomize {target} failed")
        text = out.stdout
    else:
        with open(target, encoding="utf-8") as f:
            text = f.read()
    return [d for d in yaml.safe_load_all(text) if d]


def pod_spec(doc):
    """The pod spec of a workload document, or None."""
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec")


def pod_meta(doc):
    if doc.get("kind") == "Pod":
        return doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("metadata") or {}


def name_of(doc):
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_env(container, configmaps):
    """Environment of a container: its configMap envFrom, then its env."""
    env = {}
    for src in container.get("envFrom") or []:
        ref = (src.get("configMapRef") or {}).get("name")
        env.update(configmaps.get(ref, {}))
    for e in container.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
    return env


def check_security(where, pod, container):
    errs = []
    psc = pod.get("securityContext") or {}
    csc = container.get("securityContext") or {}

    def eff(key):
        return csc[key] if key in csc else psc.get(key)

    if eff("runAsNonRoot") is not True:
        errs.append(f"{where}: securityContext.runAsNonRoot is not true")
    if eff("runAsUser") == 0:
        errs.append(f"{where}: securityContext.runAsUser is 0 (root)")
    if csc.get("readOnlyRootFilesystem") is not True:
        errs.append(f"{where}: securityContext.readOnlyRootFilesystem is not true")
    if csc.get("allowPrivilegeEscalation") is not False:
        errs.append(f"{where}: securityContext.allowPrivilegeEscalation is not false")
    if csc.get("privileged"):
        errs.append(f"{where}: securityContext.privileged is set")
    drop = ((csc.get("capabilities") or {}).get("drop")) or []
    if "ALL" not in drop:
        errs.append(f"{where}: securityContext.capabilities.drop lacks ALL")
    if (csc.get("capabilities") or {}).get("add"):
        errs.append(f"{where}: securityContext.capabilities.add is not empty")
    if ((eff("seccompProfile") or {}).get("type")) != "RuntimeDefault":
        errs.append(f"{where}: securityContext.seccompProfile.type is not RuntimeDefault")
    return errs


def check_resources(where, container):
    errs = []
    res = container.get("resources") or {}
    for part in ("requests", "limits"):
        for key in ("cpu", "memory"):
            if not (res.get(part) or {}).get(key):
                errs.append(f"{where}: resources.{part}.{key} is missing")
    return errs


def check_probes(where, container):
    errs = []
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        if not container.get(probe):
            errs.append(f"{where}: {probe} is missing")
    grpc_ports = [p.get("containerPort") for p in container.get("ports") or []
                  if p.get("name") == "grpc"]
    probe_ports = [p.get("containerPort") for p in container.get("ports") or []
                   if p.get("name") == "probe"]
    if grpc_ports and probe_ports:
        grpc_ports = probe_ports  # TLS on grpc: probes speak plaintext to the probe port
    for port in grpc_ports:
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            spec = container.get(probe) or {}
            if (spec.get("grpc") or {}).get("port") != port:
                errs.append(f"{where}: {probe} is not a native grpc probe on port {port}")
    return errs


def is_compact_service(container):
    cmd = (container.get("command") or []) + (container.get("args") or [])
    return bool(cmd) and os.path.basename(str(cmd[0])).startswith("compact-")


def listen_port(value):
    """The port of "host:port", or None."""
    host, sep, port = (value or "").rpartition(":")
    return int(port) if sep and port.isdigit() else None


def check_compact_service(where, doc, pod, container, configmaps):
    errs = []
    env = container_env(container, configmaps)
    named = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
    for var, port_name in (("COMPACT_LISTEN", "grpc"), ("COMPACT_HTTP_LISTEN", "http")):
        if port_name in named and listen_port(env.get(var)) != named[port_name]:
            errs.append(f"{where}: {var} {env.get(var)!r} does not listen on the containerPort "
                        f"named {port_name} ({named[port_name]})")
    try:
        grace = int(env.get("COMPACT_GRACE_SECONDS", SERVICE_GRACE_DEFAULT))
    except ValueError:
        grace = None
        errs.append(f"{where}: COMPACT_GRACE_SECONDS is not a number")
    tgp = pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE)
    if grace is not None and not tgp > grace:
        errs.append(f"{where}: terminationGracePeriodSeconds {tgp} is not above "
                    f"COMPACT_GRACE_SECONDS {grace}")
    if not env.get("COMPACT_LISTEN"):
        errs.append(f"{where}: COMPACT_LISTEN is not set")
    try:
        age = int(env.get("COMPACT_MAX_CONNECTION_AGE_MS", "0"))
    except ValueError:
        age = 0
    if age <= 0:
        errs.append(f"{where}: COMPACT_MAX_CONNECTION_AGE_MS is not set above 0")
    ann = pod_meta(doc).get("annotations") or {}
    for key in ("prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path"):
        if key not in ann:
            errs.append(f"{where}: pod annotation {key} is missing")
    return errs


def check_workload(doc, configmaps):
    pod = pod_spec(doc)
    if pod is None:
        return [f"{name_of(doc)}: no pod template"]
    errs = []
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            errs.append(f"{name_of(doc)}: {key} is set")
    if not pod.get("containers"):
        errs.append(f"{name_of(doc)}: no containers")
    for container in pod.get("containers") or []:
        where = f"{name_of(doc)} container {container.get('name')}"
        errs += check_probes(where, container)
        errs += check_resources(where, container)
        errs += check_security(where, pod, container)
        if is_compact_service(container):
            errs += check_compact_service(where, doc, pod, container, configmaps)
    for container in pod.get("initContainers") or []:
        where = f"{name_of(doc)} init container {container.get('name')}"
        errs += check_resources(where, container)
        errs += check_security(where, pod, container)
    return errs


def check_statefulset(doc, docs):
    errs = []
    spec = doc.get("spec") or {}
    ns = (doc.get("metadata") or {}).get("namespace")
    labels = pod_meta(doc).get("labels") or {}
    if not spec.get("volumeClaimTemplates"):
        errs.append(f"{name_of(doc)}: no volumeClaimTemplates (its store needs a volume)")
    governing = [d for d in docs if d.get("kind") == "Service"
                 and d["metadata"].get("name") == spec.get("serviceName")
                 and d["metadata"].get("namespace") == ns]
    if not governing or (governing[0].get("spec") or {}).get("clusterIP") != "None":
        errs.append(f"{name_of(doc)}: serviceName {spec.get('serviceName')!r} is not a "
                    "headless Service")
    pdbs = [d for d in docs if d.get("kind") == "PodDisruptionBudget"
            and d["metadata"].get("namespace") == ns
            and selects(((d.get("spec") or {}).get("selector") or {}).get("matchLabels"), labels)]
    if not pdbs:
        errs.append(f"{name_of(doc)}: no PodDisruptionBudget selects its pods")
    return errs


def check_services(docs):
    errs = []
    workloads = [d for d in docs if d.get("kind") in WORKLOAD_KINDS]
    for svc in (d for d in docs if d.get("kind") == "Service"):
        selector = (svc.get("spec") or {}).get("selector") or {}
        for wl in workloads:
            if not selects(selector, pod_meta(wl).get("labels") or {}):
                continue
            grpc = {p.get("containerPort") for c in (pod_spec(wl) or {}).get("containers") or []
                    for p in c.get("ports") or [] if p.get("name") == "grpc"}
            for port in (svc.get("spec") or {}).get("ports") or []:
                target = port.get("targetPort", port.get("port"))
                if (target in grpc or target == "grpc") and port.get("name") != "grpc":
                    errs.append(f"{name_of(svc)}: the port in front of gRPC is not named grpc")
    return errs


def check_namespace_and_policies(docs):
    errs = []
    if not any(d.get("kind") == "Namespace" for d in docs):
        errs.append("no Namespace")
    deny = [d for d in docs if d.get("kind") == "NetworkPolicy"
            and (d.get("spec") or {}).get("podSelector") in ({}, None)
            and set((d.get("spec") or {}).get("policyTypes") or []) == {"Ingress", "Egress"}
            and not (d.get("spec") or {}).get("ingress")
            and not (d.get("spec") or {}).get("egress")]
    if not deny:
        errs.append("no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)")
    return errs


SINGLE_CONSUMERS = ("compact-analytics",)   # programs that must run as one replica


def program_of(doc):
    containers = (pod_spec(doc) or {}).get("containers") or []
    cmd = (containers[0].get("command") or []) if containers else []
    return os.path.basename(str(cmd[0])) if cmd else None


def check_single_consumers(docs):
    errs = []
    for doc in docs:
        if doc.get("kind") not in WORKLOAD_KINDS or program_of(doc) not in SINGLE_CONSUMERS:
            continue
        if doc.get("kind") not in ("StatefulSet", "Deployment", "Pod"):
            errs.append(f"{name_of(doc)}: {program_of(doc)} must run as one pod")
        replicas = (doc.get("spec") or {}).get("replicas", 1)
        if doc.get("kind") != "Pod" and replicas != 1:
            errs.append(f"{name_of(doc)}: replicas {replicas}: {program_of(doc)} consumes the "
                        "event streams in one consumer group and must run as exactly 1")
        for hpa in (d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"):
            ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
            if ref.get("kind") == doc.get("kind") and ref.get("name") == doc["metadata"]["name"]:
                errs.append(f"{name_of(hpa)}: scales {name_of(doc)}, which must stay at 1")
    return errs


def policy_rules(policies, labels, direction):
    """The ingress or egress rules of every policy selecting pods with `labels`."""
    out = []
    for pol in policies:
        spec = pol.get("spec") or {}
        sel = (spec.get("podSelector") or {}).get("matchLabels")
        if sel is None or all(labels.get(k) == v for k, v in sel.items()):
            out += spec.get(direction) or []
    return out


def peer_selects(rule_peers, labels):
    """Whether one of a rule's peers (its `to` or `from`) is a podSelector of
    this namespace matching `labels`."""
    for peer in rule_peers or []:
        if "namespaceSelector" in peer:
            continue
        if selects((peer.get("podSelector") or {}).get("matchLabels"), labels):
            return True
    return False


def check_edges(docs):
    errs = []
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    pods = {}   # app.kubernetes.io/name -> pod labels
    for doc in docs:
        if doc.get("kind") in WORKLOAD_KINDS:
            labels = pod_meta(doc).get("labels") or {}
            if labels.get("app.kubernetes.io/name"):
                pods[labels["app.kubernetes.io/name"]] = labels
    prefix = "compact.un.org/client-of-"
    for name, labels in sorted(pods.items()):
        for key, value in sorted(labels.items()):
            if not key.startswith(prefix) or value != "true":
                continue
            target = key[len(prefix):]
            if target not in pods:
                errs.append(f"pods {name}: label {key}, but no workload {target}")
                continue
            if not any(peer_selects(r.get("to"), pods[target])
                       for r in policy_rules(policies, labels, "egress")):
                errs.append(f"pods {name}: label {key}, but no NetworkPolicy lets them reach "
                            f"{target}")
            if not any(peer_selects(r.get("from"), labels)
                       for r in policy_rules(policies, pods[target], "ingress")):
                errs.append(f"pods {target}: no NetworkPolicy admits their clients "
                            f"({key}), such as {name}")
    return errs


def check(docs):
    configmaps = {d["metadata"]["name"]: {k: str(v) for k, v in (d.get("data") or {}).items()}
                  for d in docs if d.get("kind") == "ConfigMap"}
    errs = check_namespace_and_policies(docs) + check_services(docs)
    errs += check_single_consumers(docs) + check_edges(docs)
    for doc in docs:
        if doc.get("kind") in WORKLOAD_KINDS:
            errs += check_workload(doc, configmaps)
        if doc.get("kind") == "StatefulSet":
            errs += check_statefulset(doc, docs)
    return errs


# --- self-test: each mutation must be caught ----------------------------------
def first(docs, pred):
    return next(d for d in docs if pred(d))


def service_container(docs):
    for d in docs:
        if d.get("kind") in WORKLOAD_KINDS:
            for c in (pod_spec(d) or {}).get("containers") or []:
                if is_compact_service(c):
                    return d, c
    raise SystemExit("check_manifests: self-test needs a compact service in the manifests")


def mutations():
    def drop_probe(docs):
        service_container(docs)[1].pop("readinessProbe")

    def tcp_probe(docs):
        c = service_container(docs)[1]
        c["livenessProbe"] = {"tcpSocket": {"port": 50051}}

    def drop_limits(docs):
        service_container(docs)[1]["resources"].pop("limits")

    def drop_startup_redis(docs):
        wl = first(docs, lambda d: d.get("kind") == "StatefulSet"
                   and not is_compact_service(pod_spec(d)["containers"][0]))
        pod_spec(wl)["containers"][0].pop("startupProbe")

    def root(docs):
        d, c = service_container(docs)
        c["securityContext"]["runAsNonRoot"] = False
        pod_spec(d)["securityContext"]["runAsNonRoot"] = False

    def writable_root(docs):
        service_container(docs)[1]["securityContext"]["readOnlyRootFilesystem"] = False

    def escalation(docs):
        service_container(docs)[1]["securityContext"].pop("allowPrivilegeEscalation")

    def caps(docs):
        service_container(docs)[1]["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}

    def seccomp(docs):
        d, c = service_container(docs)
        c["securityContext"].pop("seccompProfile", None)
        pod_spec(d)["securityContext"].pop("seccompProfile", None)

    def short_grace(docs):
        pod_spec(service_container(docs)[0])["terminationGracePeriodSeconds"] = 10

    def no_conn_age(docs):
        service_container(docs)[1].setdefault("env", []).append(
            {"name": "COMPACT_MAX_CONNECTION_AGE_MS", "value": "0"})

    def no_pdb(docs):
        docs[:] = [d for d in docs if d.get("kind") != "PodDisruptionBudget"]

    def no_deny(docs):
        docs[:] = [d for d in docs if not (d.get("kind") == "NetworkPolicy"
                                           and d["metadata"]["name"] == "default-deny")]

    def unnamed_port(docs):
        svc = first(docs, lambda d: d.get("kind") == "Service"
                    and any(p.get("name") == "grpc" for p in d["spec"]["ports"]))
        svc["spec"]["ports"][0]["name"] = "api"

    def no_pvc(docs):
        service_container(docs)[0]["spec"].pop("volumeClaimTemplates")

    def analytics(docs):
        return first(docs, lambda d: d.get("kind") == "StatefulSet"
                     and program_of(d) == "compact-analytics")

    def two_analytics(docs):
        analytics(docs)["spec"]["replicas"] = 2

    def scaled_analytics(docs):
        docs.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                     "metadata": {"name": "analytics", "namespace": "compact"},
                     "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                                 "name": "analytics"},
                              "minReplicas": 1, "maxReplicas": 3}})

    def http_elsewhere(docs):
        pod_spec(analytics(docs))["containers"][0]["env"].append(
            {"name": "COMPACT_HTTP_LISTEN", "value": "0.0.0.0:9999"})

    def no_egress_to_projects(docs):
        pol = first(docs, lambda d: d.get("kind") == "NetworkPolicy"
                    and d["metadata"]["name"] == "analytics")
        pol["spec"]["egress"] = [r for r in pol["spec"]["egress"] if not any(
            (p.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/name")
            == "projects" for p in r.get("to") or [])]

    def projects_shut(docs):
        pol = first(docs, lambda d: d.get("kind") == "NetworkPolicy"
                    and d["metadata"]["name"] == "projects")
        pol["spec"]["ingress"] = []

    return [drop_probe, tcp_probe, drop_limits, drop_startup_redis, root, writable_root,
            escalation, caps, seccomp, short_grace, no_conn_age, no_pdb, no_deny,
            unnamed_port, no_pvc, two_analytics, scaled_analytics, http_elsewhere,
            no_egress_to_projects, projects_shut]


def self_test(docs):
    base = check(docs)
    if base:
        print("\n".join(base))
        print("check_manifests self-test: the unbroken manifests already fail")
        return 1
    missed = []
    for mutate in mutations():
        broken = copy.deepcopy(docs)
        mutate(broken)
        errs = check(broken)
        print(f"  {mutate.__name__:20s} -> {errs[0] if errs else 'NOT CAUGHT'}")
        if not errs:
            missed.append(mutate.__name__)
    if missed:
        print(f"check_manifests self-test FAILED: not caught: {', '.join(missed)}")
        return 1
    print(f"check_manifests self-test: all {len(mutations())} broken variants caught")
    return 0


def main(argv):
    args = argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    if args[0] == "--self-test":
        return self_test(render(args[1])) if len(args) == 2 else 2
    failed = 0
    for target in args:
        docs = render(target)
        errs = check(docs)
        kinds = sorted({d.get("kind") for d in docs})
        if errs:
            failed = 1
            print(f"{target}: {len(errs)} violation(s)")
            for e in errs:
                print(f"  {e}")
        else:
            print(f"{target}: OK ({len(docs)} objects: {', '.join(kinds)})")
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv))
