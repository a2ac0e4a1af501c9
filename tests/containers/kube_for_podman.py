#!/usr/bin/python3
"""kube_for_podman.py: the part of a rendered overlay that `podman kube play` can run.

    kubectl kustomize k8s/overlays/dev |
        /usr/bin/python3 tests/containers/kube_for_podman.py --prefix ctk- \
            --publish membership=40051 > play.yaml
    podman kube play --network NET play.yaml

Podman 4.3 plays Pods and PersistentVolumeClaims but not StatefulSets,
Services, ConfigMaps by reference, or native grpc probes. This turns each
StatefulSet replica into the Pod Kubernetes would make (`<name>-<i>`, pod spec
unchanged: image, command, resources, securityContext, volumes) with:
  - a PersistentVolumeClaim `<claim>-<name>-<i>` per volumeClaimTemplate
  - the ConfigMap entries of envFrom written into env
  - addresses of Services (`redis:6379`, `membership-headless:50051`) rewritten
    to the pod they select, since podman resolves pod names but has no Services
  - grpc probes turned into `compact-<name> --health-probe`, the same gRPC
    health check run inside the container (podman has no grpc probe), and
    `sh -c SCRIPT` exec probes into SCRIPT (podman runs exec probes with a shell)
  - with --publish NAME=PORT, the first port of NAME's pods on 127.0.0.1:PORT
  - with --secrets-dir DIR, Secret volumes turned into hostPath volumes of
    files written under DIR from the rendered Secrets (podman 4.3 mounts no
    Secret), readable by the pods' user
Every name gets --prefix, so a test's pods and volumes stay apart from others.
Other kinds (Namespace, Service, PodDisruptionBudget, NetworkPolicy) are left
out: podman has nothing to apply them to; check_manifests.py checks them.
"""
import argparse
import base64
import copy
import os
import re
import sys

import yaml


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def service_hosts(docs, pod_names):
    """Map each Service name (and its cluster DNS forms) to the first pod it selects."""
    hosts = {}
    for svc in (d for d in docs if d.get("kind") == "Service"):
        selector = (svc.get("spec") or {}).get("selector") or {}
        ns = svc["metadata"].get("namespace", "default")
        for sts in (d for d in docs if d.get("kind") == "StatefulSet"):
            labels = sts["spec"]["template"]["metadata"].get("labels") or {}
            if selects(selector, labels):
                name = svc["metadata"]["name"]
                for form in (name, f"{name}.{ns}", f"{name}.{ns}.svc",
                             f"{name}.{ns}.svc.cluster.local"):
                    hosts[form] = pod_names[sts["metadata"]["name"]]
                break
    return hosts


def rewrite_address(value, hosts):
    m = re.fullmatch(r"([A-Za-z0-9.-]+):(\d+)", value)
    if m and m.group(1) in hosts:
        return f"{hosts[m.group(1)]}:{m.group(2)}"
    return value


def container_env(container, configmaps, hosts):
    env = {}
    for src in container.pop("envFrom", None) or []:
        ref = (src.get("configMapRef") or {}).get("name")
        if ref not in configmaps:
            sys.exit(f"kube_for_podman: envFrom names an unknown ConfigMap {ref!r}")
        env.update(configmaps[ref])
    for e in container.get("env") or []:
        if "value" not in e:
            sys.exit(f"kube_for_podman: env {e.get('name')} has no plain value")
        env[e["name"]] = str(e["value"])
    return [{"name": k, "value": rewrite_address(v, hosts)} for k, v in env.items()]


def podman_probe(probe, container):
    """A grpc probe becomes the program's own --health-probe (same gRPC check).
    An exec probe `sh -c SCRIPT` becomes SCRIPT alone: podman joins the words
    of an exec probe with spaces and runs them with a shell (CMD-SHELL), which
    would hand `sh -c` only the script's first word."""
    if probe and "exec" in probe:
        cmd = probe["exec"].get("command") or []
        if len(cmd) == 3 and cmd[0] in ("sh", "/bin/sh") and cmd[1] == "-c":
            out = copy.deepcopy(probe)
            out["exec"]["command"] = [cmd[2]]
            return out
        return probe
    if not probe or "grpc" not in probe:
        return probe
    cmd = container.get("command") or container.get("args") or []
    if not cmd or not str(cmd[0]).startswith("compact-"):
        sys.exit(f"kube_for_podman: grpc probe on {container.get('name')}, not a compact service")
    out = {k: v for k, v in probe.items() if k != "grpc"}
    out["exec"] = {"command": [cmd[0], "--health-probe"]}
    return out


def secret_volumes(spec, secrets, secrets_dir, pod_name):
    """Secret volumes become hostPath directories holding the same files."""
    for vol in spec.get("volumes") or []:
        src = vol.pop("secret", None)
        if src is None:
            continue
        name = src["secretName"]
        if name not in secrets:
            sys.exit(f"kube_for_podman: a volume names an unknown Secret {name!r}")
        if not secrets_dir:
            sys.exit("kube_for_podman: Secret volumes need --secrets-dir")
        data = secrets[name]
        items = src.get("items") or [{"key": k, "path": k} for k in data]
        d = os.path.abspath(os.path.join(secrets_dir, f"{pod_name}-{vol['name']}"))
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        for item in items:
            path = os.path.join(d, item["path"])
            with open(path, "wb") as f:
                f.write(base64.b64decode(data[item["key"]]))
            os.chmod(path, 0o644)
        vol["hostPath"] = {"path": d, "type": "Directory"}


def make_pod(sts, index, prefix, configmaps, hosts, publish, secrets=None, secrets_dir=None):
    name = sts["metadata"]["name"]
    template = copy.deepcopy(sts["spec"]["template"])
    spec = template["spec"]
    pod_name = f"{prefix}{name}-{index}"
    spec["hostname"] = pod_name
    for key in ("enableServiceLinks", "automountServiceAccountToken"):
        spec.pop(key, None)
    (spec.get("securityContext") or {}).pop("fsGroupChangePolicy", None)
    for container in spec["containers"]:
        container["env"] = container_env(container, configmaps, hosts)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if probe in container:
                container[probe] = podman_probe(container[probe], container)
        # Podman binds declared containerPorts on the host, where the pods'
        # shared port numbers (metrics: 9464) would collide, and on every
        # address: keep only the first port of a container the test
        # publishes, and only on 127.0.0.1. Pods reach each other directly.
        ports = (container.get("ports") or [])[:1]
        if name in publish and ports and container is spec["containers"][0]:
            ports[0]["hostPort"] = publish[name]
            ports[0]["hostIP"] = "127.0.0.1"
            container["ports"] = ports
        else:
            container.pop("ports", None)
    secret_volumes(spec, secrets or {}, secrets_dir, pod_name)
    claims = []
    for tmpl in sts["spec"].get("volumeClaimTemplates") or []:
        claim = f"{prefix}{tmpl['metadata']['name']}-{name}-{index}"
        spec.setdefault("volumes", []).append(
            {"name": tmpl["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})
        claims.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": claim}, "spec": copy.deepcopy(tmpl["spec"])})
    meta = template.get("metadata") or {}
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": pod_name, "labels": meta.get("labels") or {},
                        "annotations": meta.get("annotations") or {}},
           "spec": spec}
    return claims + [pod]


def convert(docs, prefix, publish, secrets_dir=None):
    configmaps = {d["metadata"]["name"]: {k: str(v) for k, v in (d.get("data") or {}).items()}
                  for d in docs if d.get("kind") == "ConfigMap"}
    secrets = {d["metadata"]["name"]: d.get("data") or {}
               for d in docs if d.get("kind") == "Secret"}
    statefulsets = [d for d in docs if d.get("kind") == "StatefulSet"]
    if not statefulsets:
        sys.exit("kube_for_podman: no StatefulSet in the input")
    unknown = set(publish) - {s["metadata"]["name"] for s in statefulsets}
    if unknown:
        sys.exit(f"kube_for_podman: --publish names no StatefulSet: {', '.join(sorted(unknown))}")
    pod_names = {s["metadata"]["name"]: f"{prefix}{s['metadata']['name']}-0"
                 for s in statefulsets}
    hosts = service_hosts(docs, pod_names)
    out = []
    for sts in statefulsets:
        for index in range(int(sts["spec"].get("replicas", 1))):
            out += make_pod(sts, index, prefix, configmaps, hosts, publish, secrets,
                            secrets_dir)
    # Volumes first: a pod's claim must exist when the pod is played.
    return sorted(out, key=lambda d: d["kind"] != "PersistentVolumeClaim")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?", default="-", help="rendered YAML (default stdin)")
    parser.add_argument("--prefix", default="", help="prefix for pod and volume names")
    parser.add_argument("--publish", action="append", default=[], metavar="NAME=PORT",
                        help="publish the first port of StatefulSet NAME on 127.0.0.1:PORT")
    parser.add_argument("--secrets-dir", default=None,
                        help="write the Secrets' files here and mount them as hostPath")
    args = parser.parse_args()
    publish = {}
    for item in args.publish:
        name, _, port = item.partition("=")
        if not port.isdigit():
            parser.error(f"--publish {item}: expected NAME=PORT")
        publish[name] = int(port)
    text = sys.stdin.read() if args.input == "-" else open(args.input, encoding="utf-8").read()
    docs = [d for d in yaml.safe_load_all(text) if d]
    yaml.safe_dump_all(convert(docs, args.prefix, publish, args.secrets_dir), sys.stdout,
                       sort_keys=False)


if __name__ == "__main__":
    main()
