#!/usr/bin/python3
"""pth's nn forward passes against PyTorch on the same machine, both on 2 threads.

    /usr/bin/python3 testdata/gen/bench_nn.py [--no-install] [--runs N]

Measures, in one run:
  * torchvision ResNet-18 forward on one 1x3x224x224 image (eval, no_grad)
  * Linear(4096, 4096) on a batch of 64
for PyTorch (torch.set_num_threads(2)) and for pth (`go test -bench` with GOMAXPROCS=2),
and prints Markdown tables with the ratios: wall time on 2 threads, and CPU time per call on 1
thread (which stays meaningful on a busy shared machine, where wall time does not). Debian's python3-torch links the reference
BLAS unless libopenblas0-pthread is installed (about 40x slower for the Linear), so the
script installs it first (apt-get, needs root) unless --no-install is given.
"""
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def ensure_openblas():
    if subprocess.call(["dpkg", "-s", "libopenblas0-pthread"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
        return True
    try:
        subprocess.check_call(["apt-get", "install", "-y", "libopenblas0-pthread"], stdout=subprocess.DEVNULL)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        print("could not install libopenblas0-pthread (%s); PyTorch uses the reference BLAS" % e, file=sys.stderr)
        return False


def timed(fn, runs):
    """Best and median wall ms, and mean process CPU ms, over runs (after a warm-up)."""
    fn()
    wall, cpu0 = [], time.process_time()
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t) * 1e3)
    cpu = (time.process_time() - cpu0) * 1e3 / runs
    wall.sort()
    return {"best": wall[0], "median": wall[len(wall) // 2], "cpu": cpu}


def torch_bench(runs, threads):
    import torch
    import torchvision
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    out = {}
    m = torchvision.models.resnet18().eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        out["resnet18_224"] = timed(lambda: m(x), runs)
        lin = torch.nn.Linear(4096, 4096)
        xb = torch.randn(64, 4096)
        out["linear_4096_b64"] = timed(lambda: lin(xb), runs)
    # The BLAS actually mapped (Debian's torch links libblas.so.3, an alternative).
    with open("/proc/self/maps") as f:
        out["blas"] = sorted({l.split()[-1] for l in f if "blas" in l.lower() and "/" in l})
    return out


def go_bench(runs, procs):
    env = dict(os.environ, GOMAXPROCS=str(procs))
    res = {}
    for pkg, name, key in [("./examples/resnet", "BenchmarkResNet18$", "resnet18_224"),
                           ("./nn", "BenchmarkLinear4096$", "linear_4096_b64")]:
        outp = subprocess.check_output(["go", "test", pkg, "-run", "^$", "-bench", name, "-benchtime", "%dx" % runs,
                                        "-count", "3"], cwd=ROOT, env=env, text=True)
        ns = sorted(float(m.group(1)) / 1e6 for m in re.finditer(r"\s([\d.]+) ns/op", outp))
        cpu = [float(m.group(1)) for m in re.finditer(r"\s([\d.]+) cpu-ms/op", outp)]
        res[key] = {"best": ns[0], "median": ns[len(ns) // 2], "cpu": sum(cpu) / len(cpu)}
    return res


LABELS = [("resnet18_224", "ResNet-18 forward, 1×3×224×224"), ("linear_4096_b64", "Linear(4096, 4096), batch 64")]


def main():
    runs = 10
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])
    openblas = False if "--no-install" in sys.argv else ensure_openblas()
    t2, g2 = torch_bench(runs, 2), go_bench(max(3, runs // 2), 2)
    t1, g1 = torch_bench(runs, 1), go_bench(max(3, runs // 2), 1)
    load = os.getloadavg()
    blas = "OpenBLAS pthread" if openblas else "reference BLAS"
    print("2 threads, wall time:\n")
    print("| workload | PyTorch 1.13 (%s) best / median ms | pth best / median ms | pth / PyTorch (best) |" % blas)
    print("|---|---|---|---|")
    for key, label in LABELS:
        print("| %s | %.1f / %.1f | %.1f / %.1f | %.2f× |" % (label, t2[key]["best"], t2[key]["median"],
                                                          g2[key]["best"], g2[key]["median"], g2[key]["best"] / t2[key]["best"]))
    print("\n1 thread, mean CPU time per call (user+system; robust to other load on the machine):\n")
    print("| workload | PyTorch 1.13 (%s) cpu ms | pth cpu ms | pth / PyTorch |" % blas)
    print("|---|---|---|---|")
    for key, label in LABELS:
        print("| %s | %.1f | %.1f | %.2f× |" % (label, t1[key]["cpu"], g1[key]["cpu"], g1[key]["cpu"] / t1[key]["cpu"]))
    print()
    print("load average after the run: %.1f %.1f %.1f" % load)
    print(json.dumps({"torch2": t2, "pth2": g2, "torch1": t1, "pth1": g1, "loadavg": load}))


if __name__ == "__main__":
    main()
