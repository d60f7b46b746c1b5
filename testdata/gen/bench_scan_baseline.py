#!/usr/bin/python3
"""Baseline for the scan benchmark in BENCHMARKS.md: what deny-list scanners such as
picklescan do at their core — open the zip with Python's zipfile and walk every .pkl
record's opcodes with pickletools.genops, collecting GLOBAL/STACK_GLOBAL names.
Prints the best of 5 wall times in milliseconds.

    /usr/bin/python3 testdata/gen/bench_scan_baseline.py FILE.pt
"""
import pickletools
import sys
import time
import zipfile


def scan(path):
    names = set()
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if info.filename.endswith(".pkl"):
                last = []
                for op, arg, _ in pickletools.genops(z.read(info)):
                    if op.name == "GLOBAL":
                        names.add(arg.replace(" ", "."))
                    elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
                        last = (last + [arg])[-2:]
                    elif op.name == "STACK_GLOBAL" and len(last) == 2:
                        names.add(".".join(last))
    return names


best = None
for _ in range(5):
    t0 = time.perf_counter()
    found = scan(sys.argv[1])
    dt = time.perf_counter() - t0
    best = dt if best is None else min(best, dt)
print("%s: %d globals, best of 5: %.1f ms" % (sys.argv[1], len(found), best * 1e3))
