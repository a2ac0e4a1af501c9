#!/usr/bin/python3
"""callgrind_diff.py: instructions per call of two callgrind dumps, and the
functions whose own (exclusive) instructions per call differ most.

    callgrind_diff.py A.out B.out CALLS [TOP]

Read by bench/instructions.sh. The dumps' "fn=" records carry a function's
own cost lines; "calls=" lines are followed by the inclusive cost of a call,
which is skipped so that every instruction is counted once.
"""
import collections
import os
import re
import sys


def own_costs(path):
    names, cost, fn, after_call = {}, collections.Counter(), None, False
    for line in open(path, errors="replace"):
        m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3)
            if m.group(1) == "fn":
                fn = names.get(m.group(2), m.group(2))
            continue
        if line.startswith("calls="):
            after_call = True
            continue
        if line[:1].isdigit() or line[:1] in "+-*":
            if after_call:
                after_call = False
            elif fn is not None:
                cols = line.split()
                if len(cols) >= 2 and cols[1].isdigit():
                    cost[fn] += int(cols[1])
    return cost


def main(argv):
    a_path, b_path, calls = argv[1], argv[2], int(argv[3])
    top = int(argv[4]) if len(argv) > 4 else 25
    a, b = own_costs(a_path), own_costs(b_path)
    name = lambda p: os.path.basename(p).rsplit(".", 1)[0]
    ta, tb = sum(a.values()) / calls, sum(b.values()) / calls
    print(f"instructions per call: {name(a_path)} {ta:,.0f}, {name(b_path)} {tb:,.0f}"
          f" ({100 * (tb - ta) / ta:+.1f}%)")
    print(f"{name(a_path):>12} {name(b_path):>12} {'diff':>8}  function (own instructions per call)")
    for fn in sorted(set(a) | set(b), key=lambda f: -abs(b[f] - a[f]))[:top]:
        print(f"{a[fn] / calls:12,.0f} {b[fn] / calls:12,.0f} {(b[fn] - a[fn]) / calls:+8,.0f}  {fn[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
