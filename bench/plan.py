#!/usr/bin/python3
"""plan.py: the input of bench/loadgen (groups of prepared requests) and its
saved replies.

A plan is a list of groups; each group is one kind of call:
    Group(label, target, path, weight, bodies)
where `target` names a --target of loadgen, `path` is the gRPC method
("/compact.projects.v1.Projects/GetProject"), `weight` its share of a mix,
and `bodies` the packed requests (bytes), sent in turn.

    write(path, groups)            the file loadgen --plan reads
    replies(path)                  [(index, bytes)] from loadgen --save
    run(build, targets, plan, **options) -> dict   runs loadgen, returns its JSON

The file format is described in bench/loadgen.c.
"""

import collections
import json
import os
import struct
import subprocess

Group = collections.namedtuple("Group", "label target path weight bodies")


def _str(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b


def write(path, groups):
    with open(path, "wb") as f:
        f.write(b"CPLAN1\n")
        f.write(struct.pack("<I", len(groups)))
        for g in groups:
            f.write(_str(g.label) + _str(g.target) + _str(g.path))
            f.write(struct.pack("<II", g.weight, len(g.bodies)))
            for b in g.bodies:
                f.write(struct.pack("<I", len(b)))
                f.write(b)


def replies(path):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        index, n = struct.unpack_from("<II", data, at)
        out.append((index, data[at + 8:at + 8 + n]))
        at += 8 + n
    return out


def run(build, targets, plan_path, cpu=None, **options):
    """Runs build/bench/loadgen with --target name=addr for each of
    `targets` (a dict) and --option value for each of `options` (underscores
    become dashes); returns the JSON it printed. Raises on failure."""
    cmd = [os.path.join(build, "bench", "loadgen"), "--plan", plan_path]
    for name, addr in targets.items():
        cmd += ["--target", "%s=%s" % (name, addr)]
    for k, v in options.items():
        if v is not None:
            cmd += ["--" + k.replace("_", "-"), str(v)]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        raise RuntimeError("loadgen failed (%d): %s" % (res.returncode, res.stderr[-2000:]))
    out = json.loads(res.stdout)
    out["summary"] = res.stderr
    return out
