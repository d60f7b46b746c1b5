#!/usr/bin/python3
"""Time torch.load on one file and report its peak memory, as JSON.

    bench_torch.py FILE [--runs 3]

Each run is a fresh child process (so the page cache is warm but the heap is
not): it imports torch, notes its resident set, times torch.load(FILE,
map_location='cpu') and reports ru_maxrss. Prints one line:

    {"file": FILE, "seconds": best wall time of the runs,
     "warm_seconds": best of 3 more torch.load calls in the last run's process,
     "cpu_seconds": process CPU time of the fastest cold run,
     "peak_rss_mb": largest peak RSS of a run (whole process, MiB),
     "baseline_rss_mb": RSS after `import torch`, before loading (MiB),
     "runs": [seconds of each run], "torch_version": ...}
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def once(path):
    import torch
    base = rss_mb()
    c0, t0 = time.process_time(), time.perf_counter()
    obj = torch.load(path, map_location="cpu")
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del obj
    warm = []
    for _ in range(3):  # the same process again: allocator and imports warm
        t0 = time.perf_counter()
        obj = torch.load(path, map_location="cpu")
        warm.append(time.perf_counter() - t0)
        del obj
    print(json.dumps({"seconds": dt, "cpu_seconds": cpu, "warm_seconds": min(warm),
                      "peak_rss_mb": peak, "baseline_rss_mb": base,
                      "torch_version": torch.__version__}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.once:
        once(args.file)
        return
    results = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--once", args.file],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    fastest = min(results, key=lambda r: r["seconds"])
    print(json.dumps({
        "file": args.file,
        "seconds": fastest["seconds"],
        "cpu_seconds": fastest["cpu_seconds"],
        "warm_seconds": min(r["warm_seconds"] for r in results),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in results), 1),
        "baseline_rss_mb": round(min(r["baseline_rss_mb"] for r in results), 1),
        "runs": [round(r["seconds"], 4) for r in results],
        "torch_version": results[0]["torch_version"],
    }))


if __name__ == "__main__":
    main()
